//! `cargo xtask registry-image`: builds a local Docker image of the CNCF distribution registry
//! from the distribution binary on this machine, without pulling anything.
//!
//! The image is a root filesystem holding the binary (at `/bin/registry`), the shared libraries
//! `ldd` lists plus the dynamic loader, and a configuration at `/etc/docker/registry/config.yml`
//! listening on `0.0.0.0:5000` with filesystem storage under `/var/lib/registry`. It is tarred
//! and loaded with `docker import`, tagged `localhost/distribution:<version>` (the version the
//! binary reports), then started once to check that `/v2/` answers.
//!
//! Flags: `--force` (rebuild even if the tag exists), `--bin PATH` (binary to package; default
//! `OCI_CONFORMANCE_REGISTRY_BIN`, else `registry` or `docker-registry` on `PATH`), `--tag TAG`.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};

/// Repository part of the default tag.
const IMAGE_REPO: &str = "localhost/distribution";
/// Binary names looked up on `PATH` (upstream, Debian).
const BIN_NAMES: [&str; 2] = ["registry", "docker-registry"];
/// How long the check waits for the container's `/v2/`.
const CHECK_TIMEOUT: Duration = Duration::from_secs(30);

/// Configuration baked into the image; the conformance harness mounts its own over it.
const IMAGE_CONFIG: &str = "version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: 0.0.0.0:5000
";

/// Runs the task with its arguments (everything after `registry-image`).
pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    let mut force = false;
    let mut bin = None;
    let mut tag = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--force" => force = true,
            "--bin" => bin = Some(PathBuf::from(args.next().context("--bin needs a path")?)),
            "--tag" => tag = Some(args.next().context("--tag needs a value")?.clone()),
            "-h" | "--help" => {
                println!(
                    "cargo xtask registry-image [--force] [--bin PATH] [--tag TAG]\n\
                     Builds {IMAGE_REPO}:<version> from the local distribution binary."
                );
                return Ok(());
            }
            other => bail!("registry-image: unknown argument {other:?}"),
        }
    }
    let bin = match bin {
        Some(bin) => bin,
        None => find_binary().context(
            "no distribution binary found: install one (Debian: apt-get install docker-registry) \
             or pass --bin PATH",
        )?,
    };
    let tag = match tag {
        Some(tag) => tag,
        None => format!("{IMAGE_REPO}:{}", binary_version(&bin)?),
    };
    docker_ok()?;
    if !force && image_exists(&tag)? {
        println!("{tag} already exists (use --force to rebuild)");
    } else {
        let previous = image_id(&tag);
        build(&bin, &tag)?;
        println!("built {tag}");
        // A rebuild leaves the previous image untagged; remove it (ignored if still in use).
        if let Some(previous) = previous.filter(|id| image_id(&tag).as_ref() != Some(id)) {
            let _ = Command::new("docker")
                .args(["image", "rm", &previous])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
    check(&tag)?;
    println!("{tag} answers /v2/; use it with OCI_CONFORMANCE_IMAGE={tag}");
    Ok(())
}

fn find_binary() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("OCI_CONFORMANCE_REGISTRY_BIN").filter(|b| !b.is_empty()) {
        return Some(PathBuf::from(bin));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| BIN_NAMES.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// The version the binary reports (`docker-registry github.com/docker/distribution 2.8.2+ds1`
/// gives `2.8.2`), restricted to characters valid in a tag.
fn binary_version(bin: &Path) -> anyhow::Result<String> {
    let out = output(Command::new(bin).arg("--version"))?;
    let version = out
        .split_whitespace()
        .find(|word| {
            word.trim_start_matches('v')
                .starts_with(|c: char| c.is_ascii_digit())
        })
        .map(|word| {
            word.trim_start_matches('v')
                .split('+')
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .filter(|v| {
            !v.is_empty()
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
        })
        .with_context(|| format!("no version in `{} --version` output {out:?}", bin.display()))?;
    Ok(version)
}

fn docker_ok() -> anyhow::Result<()> {
    output(Command::new("docker").args(["version", "--format", "{{.Server.Version}}"])).context(
        "the Docker daemon is not usable (is `docker` installed and the daemon running?)",
    )?;
    Ok(())
}

fn image_exists(tag: &str) -> anyhow::Result<bool> {
    let status = Command::new("docker")
        .args(["image", "inspect", tag])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("running docker image inspect")?;
    Ok(status.success())
}

fn image_id(tag: &str) -> Option<String> {
    output(Command::new("docker").args(["image", "inspect", "--format", "{{.Id}}", tag]))
        .ok()
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty())
}

fn build(bin: &Path, tag: &str) -> anyhow::Result<()> {
    let work = TempDir::new("oci-registry-image")?;
    let root = work.path.join("rootfs");
    for dir in ["bin", "etc/docker/registry", "var/lib/registry", "tmp"] {
        std::fs::create_dir_all(root.join(dir)).with_context(|| format!("creating {dir}"))?;
    }
    copy_into(bin, &root, Path::new("/bin/registry"))?;
    for lib in shared_libraries(bin)? {
        copy_into(&lib, &root, &lib)?;
    }
    std::fs::write(root.join("etc/docker/registry/config.yml"), IMAGE_CONFIG)
        .context("writing config.yml")?;
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(root.join("tmp"), std::fs::Permissions::from_mode(0o1777))
            .context("chmod /tmp")?;
    }
    let tarball = work.path.join("rootfs.tar");
    run_ok(
        Command::new("tar")
            .arg("--numeric-owner")
            .args(["--owner=0", "--group=0", "-C"])
            .arg(&root)
            .arg("-cf")
            .arg(&tarball)
            .arg("."),
    )?;
    run_ok(
        Command::new("docker")
            .arg("import")
            .args([
                "--change",
                r#"CMD ["/bin/registry", "serve", "/etc/docker/registry/config.yml"]"#,
            ])
            .args(["--change", "EXPOSE 5000/tcp"])
            .args(["--change", "WORKDIR /"])
            .args([
                "--message",
                "CNCF distribution registry packaged by cargo xtask registry-image",
            ])
            .arg(&tarball)
            .arg(tag),
    )?;
    Ok(())
}

/// Copies `src` to `root` + `dest` (an absolute path), creating parent directories and keeping
/// the mode. Symbolic links are followed: the image gets the real file under the linked name.
fn copy_into(src: &Path, root: &Path, dest: &Path) -> anyhow::Result<()> {
    let relative = dest.strip_prefix("/").unwrap_or(dest);
    let target = root.join(relative);
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::copy(src, &target)
        .with_context(|| format!("copying {} to {}", src.display(), target.display()))?;
    Ok(())
}

/// Absolute paths of the shared libraries and loader `ldd` lists (none for a static binary).
fn shared_libraries(bin: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let out = Command::new("ldd")
        .arg(bin)
        .output()
        .context("running ldd")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        // `ldd` fails with "not a dynamic executable" on static binaries: nothing to copy.
        return Ok(Vec::new());
    }
    let mut libs = Vec::new();
    for line in text.lines() {
        // `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)` or `/lib64/ld-linux-x86-64.so.2 (0x…)`.
        let path = match line.split_once("=>") {
            Some((_, rest)) => rest.split_whitespace().next(),
            None => line.split_whitespace().next(),
        };
        if let Some(path) = path.filter(|p| p.starts_with('/')) {
            libs.push(PathBuf::from(path));
        } else if line.contains("not found") {
            bail!("ldd cannot resolve a library of {}: {line}", bin.display());
        }
    }
    Ok(libs)
}

/// Starts the image once, checks that `/v2/` answers 200 on its mapped port, removes it.
fn check(tag: &str) -> anyhow::Result<()> {
    let id = output(Command::new("docker").args(["run", "-d", "-p", "127.0.0.1::5000", tag]))?
        .trim()
        .to_owned();
    let container = Container { id };
    let port_line = output(Command::new("docker").args(["port", &container.id, "5000/tcp"]))?;
    let addr = port_line
        .lines()
        .find(|l| l.starts_with("127.0.0.1:"))
        .with_context(|| format!("no loopback port mapping in {port_line:?}"))?
        .trim()
        .to_owned();
    let start = Instant::now();
    loop {
        match http_status(&addr, "/v2/") {
            Ok(200) => return Ok(()),
            Ok(status) => bail!("{tag}: GET http://{addr}/v2/ answered {status}"),
            Err(e) if start.elapsed() > CHECK_TIMEOUT => {
                let logs = Command::new("docker")
                    .args(["logs", &container.id])
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
                    .unwrap_or_default();
                bail!("{tag}: /v2/ did not answer within {CHECK_TIMEOUT:?}: {e}\n{logs}");
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// Status code of a plain HTTP/1.0 GET (enough for a loopback health check without a client).
fn http_status(addr: &str, path: &str) -> anyhow::Result<u16> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut head = [0u8; 64];
    let n = stream.read(&mut head)?;
    let line = String::from_utf8_lossy(&head[..n]);
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("not an HTTP status line: {line:?}"))?;
    Ok(status)
}

/// A container removed on drop.
struct Container {
    id: String,
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", &self.id])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A temporary directory removed on drop (xtask keeps its dependencies few).
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn new(prefix: &str) -> anyhow::Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let path = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self { path })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Runs a command, failing with its stderr unless it succeeds; returns stdout.
fn output(command: &mut Command) -> anyhow::Result<String> {
    let out = command
        .output()
        .with_context(|| format!("running {command:?}"))?;
    ensure!(
        out.status.success(),
        "{command:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs a command with inherited output, failing unless it succeeds.
fn run_ok(command: &mut Command) -> anyhow::Result<()> {
    let status = command
        .status()
        .with_context(|| format!("running {command:?}"))?;
    ensure!(status.success(), "{command:?} failed ({status})");
    Ok(())
}
