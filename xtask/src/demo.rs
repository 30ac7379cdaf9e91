//! `cargo xtask demo`: the README's example over HTTP against a local registry.
//!
//! Builds `oci-fetch`, starts a CNCF distribution registry process (`OCI_CONFORMANCE_REGISTRY_BIN`,
//! else `registry` or `docker-registry` on `PATH`) on a free loopback port with filesystem
//! storage in a temporary directory, copies the example layout's tags into it, then resolves
//! and pulls from it, printing every command before running it. The registry is killed and
//! its storage removed at the end, also on failure.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// How long the registry may take to accept connections.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

/// The example layout's tags copied into the registry.
const TAGS: [&str; 3] = ["fedora-42", "fedora-42-kernel", "fedora-42-ramdisk"];

/// Kills the registry and removes the scratch directory when dropped.
struct Scratch {
    dir: PathBuf,
    registry: Option<Child>,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(mut child) = self.registry.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn registry_bin() -> anyhow::Result<PathBuf> {
    if let Some(bin) = std::env::var_os("OCI_CONFORMANCE_REGISTRY_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["registry", "docker-registry"] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    bail!(
        "no distribution registry found: set OCI_CONFORMANCE_REGISTRY_BIN or install one \
         (Debian/Ubuntu: apt-get install docker-registry)"
    )
}

fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding a loopback port")?;
    Ok(listener.local_addr()?.port())
}

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

    let registry = registry_bin()?;
    let dir = std::env::temp_dir().join(format!("oci-fetch-demo-{}", std::process::id()));
    let mut scratch = Scratch {
        dir: dir.clone(),
        registry: None,
    };
    let storage = dir.join("storage");
    std::fs::create_dir_all(&storage).with_context(|| format!("creating {}", storage.display()))?;
    let port = free_port()?;
    let host = format!("127.0.0.1:{port}");
    let config = dir.join("config.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n\
             http:\n  addr: {host}\n",
            serde_json::to_string(&storage.display().to_string())?
        ),
    )?;
    let log = std::fs::File::create(dir.join("registry.log"))?;
    println!(
        "$ {} serve {}   # on http://{host}",
        registry.display(),
        config.display()
    );
    let child = Command::new(&registry)
        .arg("serve")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("could not start {}", registry.display()))?;
    scratch.registry = Some(child);
    let started = Instant::now();
    while TcpStream::connect(&host).is_err() {
        if let Some(child) = scratch.registry.as_mut()
            && let Some(status) = child.try_wait()?
        {
            let log = std::fs::read_to_string(dir.join("registry.log")).unwrap_or_default();
            bail!("the registry exited with {status}: {log}");
        }
        if started.elapsed() > STARTUP_TIMEOUT {
            bail!("the registry did not listen on {host} within {STARTUP_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }

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
    drop(scratch);
    println!("\nregistry stopped, {} removed", dir.display());
    Ok(())
}
