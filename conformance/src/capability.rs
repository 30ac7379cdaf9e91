//! The capability report: which checks passed against which registry.
//!
//! Every check records its outcome with [`record`] or [`probe`]. An outcome is printed as a line
//! `CAPABILITY backend=<b> check=<name> result=<yes|no>` (visible with `--nocapture`) and, when
//! [`ENV_REPORT`] names a file, appended to it as one JSON object per line:
//!
//! ```json
//! {"backend":"process","check":"blob-push-pull","result":"yes","detail":""}
//! ```
//!
//! `cargo xtask conformance` sets [`ENV_REPORT`], runs the suite and prints the collected table.
//! New checks (referrers API, chunked upload, cross-repository mount, delete, tag pagination,
//! catalog…) only pick a new `check` name; the report needs no change. Names are lower-case
//! words joined by `-`.

use std::io::Write as _;

pub use crate::backend::ENV_REPORT;
use crate::registry::Registry;

/// Whether the registry supports a capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Support {
    /// The check passed.
    Yes,
    /// The check failed, or the registry does not offer the feature.
    No,
}

impl Support {
    /// `yes` or `no`.
    pub fn as_str(self) -> &'static str {
        match self {
            Support::Yes => "yes",
            Support::No => "no",
        }
    }
}

/// Records one outcome (see the module docs). Failing to write the report file is reported on
/// stderr and otherwise ignored: the test's own assertion decides whether it fails.
pub fn record(registry: &Registry, check: &str, support: Support, detail: &str) {
    let backend = registry.backend().name();
    println!(
        "CAPABILITY backend={backend} check={check} result={}",
        support.as_str()
    );
    let Some(path) = std::env::var_os(ENV_REPORT) else {
        return;
    };
    let line = serde_json::json!({
        "backend": backend,
        "check": check,
        "result": support.as_str(),
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

/// Runs `check_body`, records `yes` if it succeeds and `no` (with the error) if it fails, and
/// returns its result unchanged.
pub async fn probe<T>(
    registry: &Registry,
    check: &str,
    check_body: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    let result = check_body.await;
    match &result {
        Ok(_) => record(registry, check, Support::Yes, ""),
        Err(e) => record(registry, check, Support::No, &format!("{e:#}")),
    }
    result
}
