//! Development tasks for the `oci-*` workspace: `cargo xtask <task>`.
//!
//! This is the one entry point for everything a contributor or CI runs. Tasks:
//!
//! - `test`: provision a local registry if the machine lacks one, then run every test
//!   (the README's test command).
//! - `lint`: `fmt --check`, clippy with `-D warnings`, docs with `-D warnings`, `cargo check`
//!   of the fuzz crate (stable is enough to compile it), tidy.
//! - `ci`: `lint`, then `test`.
//! - `tidy`: the project's structural rules (also run by `cargo test` as a test).
//! - `conformance`: the conformance suite against a chosen registry, with a capability report.
//! - `demo`: the README example over HTTP against a local registry it starts.
//! - `bench`: benchmarks against the transport limit and the peers (`BENCHMARKS.md`).
//! - `registry-image`: build a local `distribution` image without pulling anything.
//! - `faults`: the fault matrix and soak of `conformance`, printed with counts.
//! - `fuzz`: the `cargo fuzz` targets, a few minutes each.
//! - `dist-docs --out DIR`: the `oci-fetch` man page and shell completions, generated.

mod bench;
mod conformance;
mod demo;
mod dist_docs;
mod faults;
mod fuzz;
mod local_registry;
mod provision;
mod registry_image;
mod tidy;

use std::process::Command;

use anyhow::{Context, bail};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((task, rest)) = args.split_first() else {
        print_help();
        bail!("no task given");
    };
    match task.as_str() {
        "test" => test(rest),
        "ci" => ci(rest),
        "lint" => lint(),
        "tidy" => tidy::run(),
        "conformance" => conformance::run(rest),
        "bench" => bench::run(rest),
        "demo" => demo::run(rest),
        "registry-image" => registry_image::run(rest),
        "faults" => faults::run_task(rest),
        "fuzz" => fuzz::run_task(rest),
        "dist-docs" => dist_docs::run(rest),
        "help" | "--help" | "-h" => {
            print_help();
            Ok(())
        }
        other => {
            print_help();
            bail!("unknown task {other:?}")
        }
    }
}

fn print_help() {
    eprintln!(
        "usage: cargo xtask <task> [args]\n\n\
         tasks:\n  \
         test             provision a local registry if needed, then run every test\n  \
         ci               lint, then test\n  \
         lint             fmt check, clippy -D warnings, docs -D warnings, fuzz check, tidy\n  \
         tidy             check the workspace's structural rules\n  \
         conformance      the conformance suite (--url URL, --local-registry); table, --junit, --json\n  \
         bench            benchmarks against curl and the peers (see BENCHMARKS.md)\n  \
         demo             the README example over HTTP against a local registry it starts\n  \
         registry-image   build a local distribution registry image with docker import\n  \
         faults           the fault matrix and soak through a fault proxy (--soak N), with counts\n  \
         fuzz             run the cargo-fuzz targets (--minutes N, --target T)\n  \
         dist-docs        write the oci-fetch man page and shell completions (--out DIR)"
    );
}

/// `cargo xtask test`: provision, then `cargo test --workspace`.
fn test(args: &[String]) -> anyhow::Result<()> {
    let env = provision::provision()?;
    let mut cmd = cargo();
    cmd.args(["test", "--workspace", "--no-fail-fast"])
        .args(args);
    for (k, v) in &env {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

/// `cargo xtask ci`: everything CI runs: [`lint()`], then [`test()`].
fn ci(args: &[String]) -> anyhow::Result<()> {
    lint()?;
    test(args)
}

/// `cargo xtask lint`: formatting, clippy, docs, the fuzz crate and tidy, in order of cost.
fn lint() -> anyhow::Result<()> {
    run(cargo().args(["fmt", "--all", "--check"]))?;
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    run(cargo()
        .args([
            "doc",
            "--workspace",
            "--no-deps",
            "--document-private-items",
        ])
        .env("RUSTDOCFLAGS", "-D warnings"))?;
    fuzz::check()?;
    tidy::run()
}

pub(crate) fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
}

pub(crate) fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let shown = format!("{cmd:?}");
    eprintln!("$ {shown}");
    let status = cmd
        .status()
        .with_context(|| format!("could not start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed with {status}");
    }
    Ok(())
}
