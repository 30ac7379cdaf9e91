//! `cargo xtask conformance`: runs the conformance suite against a chosen registry and reports
//! what it found.
//!
//! ```text
//! cargo xtask conformance [--url URL | --local-registry] [--backend auto|docker|process|external]
//!                         [--image IMAGE] [--username USER --password-stdin]
//!                         [--junit FILE] [--json FILE] [--known-failure CHECK]… [-- TEST-ARGS…]
//! ```
//!
//! `--url` selects the `external` backend; `--local-registry` starts a distribution process on
//! loopback and runs the external mode against it (what CI does), with distribution 2.8's known
//! deviations acknowledged (`--known-failure distribution-2.8`). `--known-failure CHECK` reports
//! that check's failure as known, with its paragraph, without counting it. The suite runs as
//! `cargo test -p conformance --test conformance` with the `OCI_CONFORMANCE_*` variables set and
//! backtraces off; its output goes to a log file. Each check appends one JSON line to the file
//! named by `OCI_CONFORMANCE_REPORT`, which this task reads back ([`report`]) into a table on
//! stdout, and on request a JUnit file and a JSON report. The report always prints; the exit
//! status is non-zero only for real failures: a failed check, or a failed test.

mod report;

use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail, ensure};

use crate::local_registry::LocalRegistry;

/// Stands for CNCF distribution 2.8's known failures in `--known-failure` (the conformance
/// crate's `capability::DISTRIBUTION_2_8`, which expands it).
const DISTRIBUTION_2_8: &str = "distribution-2.8";

/// Parsed command line.
#[derive(Debug, Default)]
struct Options {
    url: Option<String>,
    local_registry: bool,
    backend: Option<String>,
    image: Option<String>,
    username: Option<String>,
    password_stdin: bool,
    junit: Option<PathBuf>,
    json: Option<PathBuf>,
    known_failures: Vec<String>,
    test_args: Vec<String>,
}

const USAGE: &str = "cargo xtask conformance [--url URL | --local-registry]\n\
    \x20   [--backend auto|docker|process|external] [--image IMAGE]\n\
    \x20   [--username USER --password-stdin] [--junit FILE] [--json FILE]\n\
    \x20   [--known-failure CHECK]... [-- TEST-ARGS]";

fn parse(args: &[String]) -> anyhow::Result<Option<Options>> {
    let mut options = Options::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .cloned()
                .with_context(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--url" => options.url = Some(value("--url")?),
            "--local-registry" => options.local_registry = true,
            "--backend" => options.backend = Some(value("--backend")?),
            "--image" => options.image = Some(value("--image")?),
            "--username" => options.username = Some(value("--username")?),
            "--password-stdin" => options.password_stdin = true,
            "--junit" => options.junit = Some(value("--junit")?.into()),
            "--json" => options.json = Some(value("--json")?.into()),
            "--known-failure" => options.known_failures.push(value("--known-failure")?),
            "--" => {
                options.test_args = args.cloned().collect();
                break;
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            other => bail!("conformance: unknown argument {other:?} (see --help)"),
        }
    }
    ensure!(
        !(options.local_registry && options.url.is_some()),
        "--local-registry starts its own registry: leave out --url"
    );
    Ok(Some(options))
}

fn backend(options: &Options) -> anyhow::Result<String> {
    let external = options.url.is_some() || options.local_registry;
    Ok(match (external, options.backend.as_deref()) {
        (true, None | Some("external")) => "external".to_owned(),
        (true, Some(other)) => bail!("--url selects the external backend, not {other:?}"),
        (false, Some("external")) => bail!("--backend external needs --url"),
        (false, Some(b @ ("auto" | "docker" | "process"))) => b.to_owned(),
        (false, Some(other)) => bail!("unknown backend {other:?}"),
        (false, None) => "auto".to_owned(),
    })
}

/// Runs the task with its arguments (everything after `conformance`).
pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    let Some(mut options) = parse(args)? else {
        return Ok(());
    };
    let backend = backend(&options)?;
    ensure!(
        options.username.is_some() == options.password_stdin,
        "--username and --password-stdin go together"
    );
    let local = if options.local_registry {
        // The registry is the distribution binary: its known deviations are acknowledged.
        options.known_failures.push(DISTRIBUTION_2_8.to_owned());
        Some(LocalRegistry::start("conformance")?)
    } else {
        None
    };
    let url = match (&local, &options.url) {
        (Some(local), _) => Some(format!("http://{}", local.host)),
        (None, url) => url.clone(),
    };

    let scratch = std::env::temp_dir().join(format!(
        "oci-conformance-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    ));
    std::fs::create_dir_all(&scratch)?;
    let report_path = scratch.join("report.jsonl");
    let log_path = scratch.join("cargo-test.log");
    let mut command = test_command(&options, &backend, url.as_deref(), &report_path)?;
    eprintln!(
        "$ cargo test -p conformance --test conformance   # output in {}",
        log_path.display()
    );
    let log = std::fs::File::create(&log_path)?;
    let status = command
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .context("running cargo test -p conformance")?;
    drop(local);

    let mut report = report::Report::default();
    match std::fs::read_to_string(&report_path) {
        Ok(text) => report.add_lines(&text)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", report_path.display())),
    }
    let output = std::fs::read_to_string(&log_path).unwrap_or_default();
    report.add_test_output(&output);
    let target = url
        .clone()
        .unwrap_or_else(|| format!("backend selection {backend}"));
    println!(
        "{}",
        report.table(&format!("conformance report for {target}"))
    );
    if let Some(path) = &options.junit {
        std::fs::write(path, report.junit("oci-conformance"))
            .with_context(|| format!("writing {}", path.display()))?;
        println!("JUnit report: {}", path.display());
    }
    if let Some(path) = &options.json {
        let json = serde_json::to_string_pretty(&report.json(&target))?;
        std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
        println!("JSON report: {}", path.display());
    }
    let failed = report.failed_checks();
    let failed_tests = report.test_failures.len();
    if status.success() && failed == 0 {
        let _ = std::fs::remove_dir_all(&scratch);
        return Ok(());
    }
    if failed == 0 && failed_tests == 0 {
        // Not a test failure: the suite did not build or did not run.
        let tail: Vec<&str> = output.lines().rev().take(40).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!(
            "cargo test failed ({status}) before any test failed:\n{}",
            tail.join("\n")
        );
    }
    // The report above says what failed: end with one line and the status, no error trace.
    eprintln!(
        "conformance: {failed} check(s) and {failed_tests} test(s) failed (test output: {})",
        log_path.display()
    );
    std::process::exit(1)
}

/// `cargo test -p conformance --test conformance` with the suite's environment.
fn test_command(
    options: &Options,
    backend: &str,
    url: Option<&str>,
    report: &PathBuf,
) -> anyhow::Result<Command> {
    let mut command = crate::cargo();
    command
        .args(["test", "-p", "conformance", "--test", "conformance"])
        .args(&options.test_args)
        .stdin(Stdio::null())
        .env("RUST_BACKTRACE", "0")
        .env("RUST_LIB_BACKTRACE", "0")
        .env("OCI_CONFORMANCE_BACKEND", backend)
        .env("OCI_CONFORMANCE_REPORT", report);
    if let Some(url) = url {
        command.env("OCI_CONFORMANCE_URL", url);
    }
    if let Some(image) = &options.image {
        command.env("OCI_CONFORMANCE_IMAGE", image);
    }
    if !options.known_failures.is_empty() {
        command.env(
            "OCI_CONFORMANCE_KNOWN_FAILURES",
            options.known_failures.join(","),
        );
    }
    if let Some(username) = &options.username {
        let mut password = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut password)
            .context("reading the password from stdin")?;
        let password = password.trim_end_matches(['\r', '\n']);
        command
            .env("OCI_CONFORMANCE_USERNAME", username)
            .env("OCI_CONFORMANCE_PASSWORD", password);
    }
    Ok(command)
}
