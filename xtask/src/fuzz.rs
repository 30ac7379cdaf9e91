//! `cargo xtask fuzz`: runs the `cargo fuzz` targets of `fuzz/` one after another.
//!
//! ```text
//! cargo xtask fuzz [--minutes N] [--target T]… [-- LIBFUZZER-ARGS…]
//! ```
//!
//! Each target runs for `--minutes` (default [`DEFAULT_MINUTES`]) with
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run -O T <work dir> fuzz/corpus/T -- -max_total_time=…`:
//! new inputs go to a scratch directory under `fuzz/target/`, so the committed corpora stay
//! small; the committed corpus is read as seeds. Crashes land in `fuzz/artifacts/T/` (libFuzzer's
//! default); minimise one with `cargo fuzz tmin T <file>`, fix it, and add it to
//! `fuzz/corpus/T/` so the crate's `fuzzed` test replays it.

use std::path::Path;

use anyhow::{Context as _, bail};

use crate::{run, tidy::workspace_root};

/// Minutes per target unless `--minutes` says otherwise.
const DEFAULT_MINUTES: u64 = 2;

/// Every target in `fuzz/Cargo.toml`, in the order they run.
pub(crate) const TARGETS: [&str; 11] = [
    "reference",
    "www_authenticate",
    "auth_config",
    "token_response",
    "helper_protocol",
    "scope",
    "registries_conf",
    "select",
    "link_header",
    "retry_after",
    "decompress",
];

pub(crate) fn run_task(args: &[String]) -> anyhow::Result<()> {
    let mut minutes = DEFAULT_MINUTES;
    let mut targets: Vec<String> = Vec::new();
    let mut extra: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--minutes" => {
                let n = it.next().context("--minutes needs a number")?;
                minutes = n
                    .parse()
                    .with_context(|| format!("--minutes {n:?} is not a number"))?;
            }
            "--target" => {
                let t = it.next().context("--target needs a name")?;
                if !TARGETS.contains(&t.as_str()) {
                    bail!("unknown fuzz target {t:?}; targets: {}", TARGETS.join(", "));
                }
                targets.push(t.clone());
            }
            "--" => extra.extend(it.by_ref().cloned()),
            other => bail!(
                "unknown argument {other:?} (usage: fuzz [--minutes N] [--target T]… [-- ARGS…])"
            ),
        }
    }
    if targets.is_empty() {
        targets = TARGETS.iter().map(|t| (*t).to_owned()).collect();
    }
    let fuzz_dir = workspace_root().join("fuzz");
    for target in &targets {
        run_one(&fuzz_dir, target, minutes.saturating_mul(60), &extra)?;
    }
    eprintln!(
        "fuzz: {} target(s), {minutes} minute(s) each, no crash",
        targets.len()
    );
    Ok(())
}

/// `cargo check` of the fuzz crate, so that it cannot rot between fuzzing runs: its targets
/// compile on stable (only running them needs `cargo fuzz` and nightly features). The crate is a
/// workspace of its own; it shares this workspace's target directory (unless `CARGO_TARGET_DIR`
/// says otherwise), so only libFuzzer and the thin targets are compiled again, once.
pub(crate) fn check() -> anyhow::Result<()> {
    let root = workspace_root();
    let mut cmd = crate::cargo();
    cmd.arg("check")
        .arg("--manifest-path")
        .arg(root.join("fuzz").join("Cargo.toml"));
    if std::env::var_os("CARGO_TARGET_DIR").is_none() {
        cmd.arg("--target-dir").arg(root.join("target"));
    }
    run(&mut cmd)
}

fn run_one(fuzz_dir: &Path, target: &str, seconds: u64, extra: &[String]) -> anyhow::Result<()> {
    let work = fuzz_dir.join("target").join("xtask-corpus").join(target);
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let seeds = fuzz_dir.join("corpus").join(target);
    let mut cmd = std::process::Command::new("cargo");
    cmd.current_dir(fuzz_dir)
        .env("RUSTC_BOOTSTRAP", "1")
        .args(["fuzz", "run", "-O", target])
        .arg(&work)
        .arg(&seeds)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .args(["-timeout=5", "-rss_limit_mb=2048", "-print_final_stats=1"])
        .args(extra);
    run(&mut cmd)
}
