//! `cargo xtask demo`: the README's example over HTTP against a local registry.
//!
//! Builds `oci-fetch`, starts a CNCF distribution registry process (`OCI_CONFORMANCE_REGISTRY_BIN`,
//! else `registry` or `docker-registry` on `PATH`) on a free loopback port with filesystem
//! storage in a temporary directory, copies the example layout's tags into it, then resolves
//! and pulls from it, printing every command before running it. The registry is killed and
//! its storage removed at the end, also on failure.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::local_registry::LocalRegistry;

/// The example layout's tags copied into the registry.
const TAGS: [&str; 3] = ["fedora-42", "fedora-42-kernel", "fedora-42-ramdisk"];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Runs `oci-fetch args…`, showing the command first.
fn oci_fetch(bin: &Path, args: &[&str]) -> anyhow::Result<()> {
    println!("\n$ oci-fetch {}", args.join(" "));
    let status = Command::new(bin)
        .args(args)
        .status()
        .with_context(|| format!("could not start {}", bin.display()))?;
    if !status.success() {
        bail!("oci-fetch {} failed with {status}", args.join(" "));
    }
    Ok(())
}

/// `cargo xtask demo`.
pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    if let Some(a) = args.first() {
        bail!("demo takes no arguments, got {a:?}");
    }
    let root = workspace_root();
    crate::run(
        crate::cargo()
            .current_dir(&root)
            .args(["build", "-p", "oci-fetch"]),
    )?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let bin = target.join("debug").join("oci-fetch");

    let registry = LocalRegistry::start("fetch-demo")?;
    let host = registry.host.clone();
    let dir = registry.dir.clone();

    let layout = root.join("examples").join("machine-images");
    let layout = layout.display().to_string();
    for tag in TAGS {
        let src = format!("{layout}:{tag}");
        let dst = format!("{host}/demo/machine-images:{tag}");
        oci_fetch(
            &bin,
            &["copy", "--plain-http", "--from-oci-layout", &src, &dst],
        )?;
    }
    let reference = format!("{host}/demo/machine-images:fedora-42");
    oci_fetch(
        &bin,
        &[
            "resolve",
            "--plain-http",
            &reference,
            "--arch",
            "aarch64",
            "--explain",
        ],
    )?;
    let out = dir.join("pulled");
    let out = out.display().to_string();
    oci_fetch(
        &bin,
        &[
            "pull",
            "--plain-http",
            &reference,
            "--arch",
            "aarch64",
            "-o",
            &out,
        ],
    )?;
    println!("\n$ ls -l {out}");
    let mut entries: Vec<_> = std::fs::read_dir(&out)?
        .filter_map(Result::ok)
        .map(|e| (e.file_name(), e.metadata().map(|m| m.len()).unwrap_or(0)))
        .collect();
    entries.sort();
    for (name, len) in entries {
        println!("{len:>10}  {}", name.to_string_lossy());
    }
    drop(registry);
    println!("\nregistry stopped, {} removed", dir.display());
    Ok(())
}
