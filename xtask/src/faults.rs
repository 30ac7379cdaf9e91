//! `cargo xtask faults`: the fault matrix and the soak of `conformance`, printed with counts.
//!
//! ```text
//! cargo xtask faults [--soak N] [-- TEST-ARGS…]
//! ```
//!
//! Runs `cargo test -p conformance --test conformance faults -- --nocapture` with
//! `OCI_FAULTS_PRINT=1` (the matrix prints every cell and a summary line) and
//! `OCI_FAULTS_SOAK=N` (default [`DEFAULT_SOAK`] concurrent pulls). A registry is provisioned
//! first when the machine lacks one, as `cargo xtask test` does.

use anyhow::{Context as _, bail};

use crate::{cargo, provision, run};

/// Pulls in the soak unless `--soak` says otherwise (the issue's figure).
const DEFAULT_SOAK: usize = 200;

/// Entry point of the `faults` task.
pub(crate) fn run_task(args: &[String]) -> anyhow::Result<()> {
    let mut soak = DEFAULT_SOAK;
    let mut rest: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--soak" => {
                let n = it.next().context("--soak needs a number")?;
                soak = n
                    .parse()
                    .with_context(|| format!("--soak {n:?} is not a number"))?;
            }
            "--" => {
                rest.extend(it.by_ref().cloned());
            }
            other => bail!("unknown argument {other:?} (usage: faults [--soak N] [-- TEST-ARGS…])"),
        }
    }
    let env = provision::provision()?;
    let mut cmd = cargo();
    cmd.args([
        "test",
        "-p",
        "conformance",
        "--test",
        "conformance",
        "faults",
        "--",
        "--nocapture",
        "--test-threads",
        "1",
    ])
    .args(&rest)
    .env("OCI_FAULTS_PRINT", "1")
    .env("OCI_FAULTS_SOAK", soak.to_string());
    for (k, v) in &env {
        cmd.env(k, v);
    }
    run(&mut cmd)
}
