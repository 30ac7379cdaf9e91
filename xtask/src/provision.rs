//! Provisioning for `cargo xtask test`: make sure a real registry can be had on this machine.
//!
//! Order: Docker (a local `registry:2`, or an image built from the distribution binary) and a
//! distribution binary for the process backend; on Debian as root, `apt-get install
//! docker-registry` when no binary is found. The conformance tests themselves choose and
//! start the backends; this only makes them available.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::bail;

/// The tag `cargo xtask registry-image` gives the image it builds.
pub(crate) const LOCAL_IMAGE: &str = "localhost/distribution:2.8.2";

/// Environment variables for the test run.
pub(crate) type Env = Vec<(String, String)>;

/// Makes a registry available and returns the environment the tests need to find it.
pub(crate) fn provision() -> anyhow::Result<Env> {
    let mut env = Env::new();
    if std::env::var("OCI_CONFORMANCE_BACKEND").as_deref() == Ok("external") {
        eprintln!("provision: external registry requested; nothing to provision");
        return Ok(env);
    }
    if find_registry_binary().is_none() {
        install_registry_binary()?;
    }
    provision_peers()?;
    let binary = find_registry_binary();
    eprintln!(
        "provision: distribution binary: {}",
        binary
            .as_ref()
            .map_or("none".to_owned(), |p| p.display().to_string())
    );
    if docker_usable() && std::env::var_os("OCI_CONFORMANCE_IMAGE").is_none() {
        if image_present("registry:2") {
            eprintln!("provision: docker backend uses registry:2");
        } else if binary.is_some() {
            crate::registry_image::run(&[])?;
            env.push(("OCI_CONFORMANCE_IMAGE".to_owned(), LOCAL_IMAGE.to_owned()));
            eprintln!("provision: docker backend uses {LOCAL_IMAGE}");
        }
    } else if !docker_usable() {
        eprintln!("provision: no usable Docker daemon; the docker backend will be skipped");
    }
    Ok(env)
}

/// The distribution binary the process backend would use.
pub(crate) fn find_registry_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("OCI_CONFORMANCE_REGISTRY_BIN") {
        return Some(PathBuf::from(p));
    }
    ["registry", "docker-registry"]
        .iter()
        .find_map(|name| which(name))
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The interop peers of the conformance suite: `skopeo` and `openssl` (Debian packages) and
/// ORAS's Python client (`oras` on PyPI). Installed when missing and the machine allows it;
/// otherwise the tests that need them fail and say how to get them.
fn provision_peers() -> anyhow::Result<()> {
    let missing: Vec<&str> = ["skopeo", "openssl"]
        .into_iter()
        .filter(|tool| which(tool).is_none())
        .collect();
    if !missing.is_empty() && can_apt() {
        eprintln!("provision: installing {} with apt-get", missing.join(", "));
        apt_install(&missing)?;
    }
    let has_oras = Command::new("python3")
        .args(["-c", "import oras"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !has_oras && which("python3").is_some() {
        eprintln!("provision: installing ORAS's Python client with pip");
        crate::run(Command::new("python3").args(["-m", "pip", "install", "--quiet", "oras"]))?;
    }
    Ok(())
}

fn can_apt() -> bool {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    is_root && which("apt-get").is_some()
}

fn apt_install(packages: &[&str]) -> anyhow::Result<()> {
    crate::run(Command::new("apt-get").args(["update", "-qq"]))?;
    crate::run(
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

fn install_registry_binary() -> anyhow::Result<()> {
    if !can_apt() {
        bail!(
            "no CNCF distribution registry binary found and cannot install one here: \
             install Debian's `docker-registry` package (or put a `registry` binary on PATH, \
             or set OCI_CONFORMANCE_REGISTRY_BIN), or point the suite at a registry with \
             OCI_CONFORMANCE_BACKEND=external OCI_CONFORMANCE_URL=..."
        );
    }
    eprintln!("provision: installing docker-registry with apt-get");
    crate::run(Command::new("apt-get").args(["update", "-qq"]))?;
    crate::run(
        Command::new("apt-get")
            .args([
                "install",
                "-y",
                "-qq",
                "--no-install-recommends",
                "docker-registry",
            ])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

/// Whether a Docker daemon answers.
pub(crate) fn docker_usable() -> bool {
    Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn image_present(image: &str) -> bool {
    Command::new("docker")
        .args(["image", "inspect", image])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}
