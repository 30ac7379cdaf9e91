//! The capability report: what each check found against which registry.
//!
//! Every check records one [`Outcome`] under a name `<area>/<check>` (lower-case words joined by
//! `-`, e.g. `pull/blob-range-suffix`); the area groups the report (`pull`, `push`, `discovery`,
//! `management`, `data`, and the stack's own areas `client`, `auth`, `resolve`, `mirror`,
//! `interop`, `faults`, `harness`). An outcome is printed as a line
//! `CAPABILITY backend=<b> check=<name> result=<outcome>` (visible with `--nocapture`) and, when
//! [`ENV_REPORT`] names a file, appended to it as one JSON object per line:
//!
//! ```json
//! {"backend":"process","check":"pull/blob-range","result":"passed","detail":""}
//! ```
//!
//! `cargo xtask conformance` sets [`ENV_REPORT`], runs the suite and turns the collected lines
//! into a table, a JUnit file and a JSON report. New checks only pick a new name; the report needs
//! no change.
//!
//! # Outcomes
//!
//! - [`Outcome::Passed`]: the registry did what the spec asks.
//! - [`Outcome::Failed`]: it did not; `detail` is one paragraph naming the request, the response
//!   status and what was expected. Only failures make the suite fail.
//! - [`Outcome::Unsupported`]: an optional API or behaviour the registry does not offer (the
//!   referrers API on distribution 2.8.2, `Range`, tag pagination…); what the spec allows a
//!   registry to lack, so not a failure.
//! - [`Outcome::KnownFailure`]: a failure listed as known for the registry under test
//!   ([`known_failures`]: distribution 2.8.2's deviations on the provisioned backends, and
//!   whatever the operator lists); shown with its paragraph, not counted.
//! - [`Outcome::NotApplicable`]: the check needs a registry this harness provisions (htpasswd, a
//!   token server, a fault proxy, a mirror whose storage it can corrupt) and the run is against
//!   the `external` backend; see [`provisioned_only`].

use std::io::Write as _;

pub use crate::backend::ENV_REPORT;
use crate::backend::{Backend, Selection};
use crate::registry::Registry;

/// What one check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// The check passed.
    Passed,
    /// The check needs a provisioned registry and the run is against an external one.
    NotApplicable,
    /// The registry lacks an optional API or behaviour; not a failure.
    Unsupported,
    /// The check failed in a way listed as known for this registry (see [`known_failures`]):
    /// reported with its paragraph, not counted as a failure.
    KnownFailure,
    /// The registry (or our stack against it) did something the check does not allow.
    Failed,
}

impl Outcome {
    /// The name used in reports: `passed`, `not-applicable`, `unsupported`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::NotApplicable => "not-applicable",
            Outcome::Unsupported => "unsupported",
            Outcome::KnownFailure => "known-failure",
            Outcome::Failed => "failed",
        }
    }

    /// [`Outcome::Passed`] when `supported`, else [`Outcome::Unsupported`]: for optional
    /// behaviour that a registry may lack.
    pub fn supported_if(supported: bool) -> Self {
        if supported {
            Outcome::Passed
        } else {
            Outcome::Unsupported
        }
    }
}

/// Records one outcome of `check` against `registry` (see the module docs).
pub fn record(registry: &Registry, check: &str, outcome: Outcome, detail: &str) {
    record_for(registry.backend(), check, outcome, detail);
}

/// Records one outcome for a backend without a running registry (used for checks that are not
/// applicable). Failing to write the report file is reported on stderr and otherwise ignored:
/// the test's own assertion decides whether it fails.
pub fn record_for(backend: Backend, check: &str, outcome: Outcome, detail: &str) {
    let backend = backend.name();
    println!(
        "CAPABILITY backend={backend} check={check} result={}",
        outcome.as_str()
    );
    let Some(path) = std::env::var_os(ENV_REPORT) else {
        return;
    };
    let line = serde_json::json!({
        "backend": backend,
        "check": check,
        "result": outcome.as_str(),
        "detail": detail,
    })
    .to_string()
        + "\n";
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        // One write per line: O_APPEND keeps lines of concurrent tests whole.
        .and_then(|mut file| file.write_all(line.as_bytes()));
    if let Err(e) = written {
        eprintln!(
            "cannot append to capability report {}: {e}",
            path.to_string_lossy()
        );
    }
}

/// Runs `check_body`, records [`Outcome::Passed`] if it succeeds and [`Outcome::Failed`] (with
/// the error) if it fails, and returns its result unchanged.
///
/// # Errors
///
/// The error of `check_body`.
pub async fn probe<T>(
    registry: &Registry,
    check: &str,
    check_body: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    let result = check_body.await;
    match &result {
        Ok(_) => record(registry, check, Outcome::Passed, ""),
        Err(e) => record(registry, check, Outcome::Failed, &format!("{e:#}")),
    }
    result
}

/// Runs a check whose body decides its own outcome: `Ok((outcome, detail))` is recorded as is,
/// an error as [`Outcome::Failed`] with the error as detail, or as [`Outcome::KnownFailure`] when
/// the check is one of [`known_failures`] for this registry. Returns `Err` only for a failure.
///
/// # Errors
///
/// The error of `check_body`, unless the failure is a known one.
pub async fn check(
    registry: &Registry,
    check: &str,
    check_body: impl Future<Output = anyhow::Result<(Outcome, String)>>,
) -> anyhow::Result<Outcome> {
    match check_body.await {
        Ok((outcome, detail)) => {
            record(registry, check, outcome, &detail);
            Ok(outcome)
        }
        Err(e)
            if known_failures(registry.backend())
                .iter()
                .any(|k| k == check) =>
        {
            record(registry, check, Outcome::KnownFailure, &format!("{e:#}"));
            Ok(Outcome::KnownFailure)
        }
        Err(e) => {
            record(registry, check, Outcome::Failed, &format!("{e:#}"));
            Err(e)
        }
    }
}

/// Environment variable listing checks (comma-separated names) whose failure is known for the
/// registry under test; `cargo xtask conformance --known-failure CHECK` sets it. The name
/// [`DISTRIBUTION_2_8`] stands for [`DISTRIBUTION_2_8_KNOWN_FAILURES`].
pub const ENV_KNOWN_FAILURES: &str = "OCI_CONFORMANCE_KNOWN_FAILURES";

/// The name, in [`ENV_KNOWN_FAILURES`], of CNCF distribution 2.8's known failures.
pub const DISTRIBUTION_2_8: &str = "distribution-2.8";

/// Where CNCF distribution 2.8.2, the registry the `docker` and `process` backends provision,
/// departs from distribution-spec v1.1.1. Each is reported as a known failure, with its
/// paragraph, on those backends (and on `external` when [`ENV_KNOWN_FAILURES`] names
/// [`DISTRIBUTION_2_8`]).
///
/// - `pull/manifest-invalid-digest`: `GET /v2/<name>/manifests/sha256:totallywrong` answers 500
///   (the reference is looked up as a tag path); the spec's suite expects 400 or 404.
/// - `push/chunked-out-of-order`: `Content-Range` on `PATCH` is ignored, so a chunk that does not
///   start where the upload ends is appended (202) instead of refused with 416.
pub const DISTRIBUTION_2_8_KNOWN_FAILURES: [&str; 2] =
    ["pull/manifest-invalid-digest", "push/chunked-out-of-order"];

/// The checks whose failure is known for `backend`: [`DISTRIBUTION_2_8_KNOWN_FAILURES`] on the
/// provisioned backends, plus the names in [`ENV_KNOWN_FAILURES`] on every backend.
pub fn known_failures(backend: Backend) -> Vec<String> {
    let listed = std::env::var(ENV_KNOWN_FAILURES).unwrap_or_default();
    let mut names: Vec<&str> = listed
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    if matches!(backend, Backend::Docker | Backend::Process) {
        names.push(DISTRIBUTION_2_8);
    }
    names
        .into_iter()
        .flat_map(|name| match name {
            DISTRIBUTION_2_8 => DISTRIBUTION_2_8_KNOWN_FAILURES.to_vec(),
            check => vec![check],
        })
        .map(str::to_owned)
        .collect()
}

/// Whether this run provisions its registries. Against the `external` backend, records each of
/// `checks` as [`Outcome::NotApplicable`] with `needs` (what the checks need that an external
/// registry cannot give) and returns `false`: the caller returns without running them.
///
/// # Errors
///
/// [`crate::ENV_BACKEND`] is set to something that is not a backend.
pub fn provisioned_only(checks: &[&str], needs: &str) -> anyhow::Result<bool> {
    if Selection::from_env()? != Selection::Only(Backend::External) {
        return Ok(true);
    }
    for name in checks {
        record_for(
            Backend::External,
            name,
            Outcome::NotApplicable,
            &format!("needs a provisioned registry: {needs}"),
        );
    }
    Ok(false)
}
