//! `cargo xtask conformance`: runs the conformance suite against a chosen registry and prints a
//! capability report.
//!
//! ```text
//! cargo xtask conformance [--url URL] [--backend auto|docker|process|external]
//!                         [--image IMAGE] [--username USER --password-stdin] [-- TEST-ARGS…]
//! ```
//!
//! `--url` selects the `external` backend. The suite runs as `cargo test -p conformance` with the
//! `OCI_CONFORMANCE_*` variables set; each check appends one JSON line
//! (`{"backend","check","result","detail"}`) to the file named by `OCI_CONFORMANCE_REPORT`, which
//! this task reads back into a table. Checks it does not know yet appear in the table too, so new
//! checks need no change here; [`EXPECTED_CHECKS`] only makes missing ones visible.

use std::collections::BTreeMap;
use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context as _, bail, ensure};

/// Checks every run is expected to report, in report order.
const EXPECTED_CHECKS: [&str; 3] = ["reachable", "blob-push-pull", "manifest-push-pull"];

/// Parsed command line.
#[derive(Debug, Default)]
struct Options {
    url: Option<String>,
    backend: Option<String>,
    image: Option<String>,
    username: Option<String>,
    password_stdin: bool,
    test_args: Vec<String>,
}

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
            "--backend" => options.backend = Some(value("--backend")?),
            "--image" => options.image = Some(value("--image")?),
            "--username" => options.username = Some(value("--username")?),
            "--password-stdin" => options.password_stdin = true,
            "--" => {
                options.test_args = args.cloned().collect();
                break;
            }
            "-h" | "--help" => {
                println!(
                    "cargo xtask conformance [--url URL] [--backend auto|docker|process|external]\n\
                     \x20                       [--image IMAGE] [--username USER --password-stdin] [-- TEST-ARGS]"
                );
                return Ok(None);
            }
            other => bail!("conformance: unknown argument {other:?} (see --help)"),
        }
    }
    Ok(Some(options))
}

/// Runs the task with its arguments (everything after `conformance`).
pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    let Some(options) = parse(args)? else {
        return Ok(());
    };
    let backend = match (&options.url, options.backend.as_deref()) {
        (Some(_), None | Some("external")) => "external".to_owned(),
        (Some(_), Some(other)) => bail!("--url selects the external backend, not {other:?}"),
        (None, Some("external")) => bail!("--backend external needs --url"),
        (None, Some(b @ ("auto" | "docker" | "process"))) => b.to_owned(),
        (None, Some(other)) => bail!("unknown backend {other:?}"),
        (None, None) => "auto".to_owned(),
    };
    ensure!(
        options.username.is_some() == options.password_stdin,
        "--username and --password-stdin go together"
    );

    let report = std::env::temp_dir().join(format!(
        "oci-conformance-report-{}-{}.jsonl",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    ));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["test", "-p", "conformance"])
        .args(&options.test_args)
        .env("OCI_CONFORMANCE_BACKEND", &backend)
        .env("OCI_CONFORMANCE_REPORT", &report);
    if let Some(url) = &options.url {
        command.env("OCI_CONFORMANCE_URL", url);
    }
    if let Some(image) = &options.image {
        command.env("OCI_CONFORMANCE_IMAGE", image);
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
    let status = command
        .status()
        .context("running cargo test -p conformance")?;
    let outcomes = read_report(&report);
    let _ = std::fs::remove_file(&report);
    print_report(&backend, options.url.as_deref(), &outcomes?);
    ensure!(status.success(), "conformance tests failed ({status})");
    Ok(())
}

/// `(backend, check)` → passed (all recorded outcomes were `yes`) and the first failure detail.
type Outcomes = BTreeMap<(String, String), (bool, String)>;

fn read_report(path: &PathBuf) -> anyhow::Result<Outcomes> {
    let mut outcomes = Outcomes::new();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(outcomes),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let value: serde_json::Value =
            serde_json::from_str(line).with_context(|| format!("report line {line:?}"))?;
        let field = |name: &str| value.get(name).and_then(|v| v.as_str()).unwrap_or_default();
        let key = (field("backend").to_owned(), field("check").to_owned());
        let passed = field("result") == "yes";
        let entry = outcomes.entry(key).or_insert((true, String::new()));
        if !passed && entry.0 {
            *entry = (false, field("detail").to_owned());
        }
    }
    Ok(outcomes)
}

fn print_report(backend: &str, url: Option<&str>, outcomes: &Outcomes) {
    println!();
    match url {
        Some(url) => println!("capability report for {url} (backend {backend})"),
        None => println!("capability report (backend selection {backend})"),
    }
    let mut backends: Vec<&str> = outcomes.keys().map(|(b, _)| b.as_str()).collect();
    backends.dedup();
    if backends.is_empty() {
        println!("  no check reported anything: no registry was reached");
        return;
    }
    for b in backends {
        println!("  [{b}]");
        let known = EXPECTED_CHECKS.iter().map(|c| (*c).to_owned());
        let extra = outcomes
            .keys()
            .filter(|(ob, c)| ob == b && !EXPECTED_CHECKS.contains(&c.as_str()))
            .map(|(_, c)| c.clone());
        for check in known.chain(extra) {
            match outcomes.get(&(b.to_owned(), check.clone())) {
                Some((true, _)) => println!("    {check:<24} yes"),
                Some((false, detail)) => {
                    let first = detail.lines().next().unwrap_or_default();
                    println!("    {check:<24} no   {first}");
                }
                None => println!("    {check:<24} not run"),
            }
        }
    }
}
