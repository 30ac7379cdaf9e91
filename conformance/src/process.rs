//! The `process` backend: a CNCF distribution binary spawned on a free loopback port.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::Context as _;

use crate::backend::{ENV_REGISTRY_BIN, REGISTRY_BIN_NAMES, env_nonempty};
use crate::config::{self, Layout};
use crate::options::Auth;

/// How many times a start is retried when the chosen port was taken between probing and binding.
const START_ATTEMPTS: usize = 3;

/// Lines of the registry's log quoted in a start error.
const LOG_TAIL_LINES: usize = 20;

/// A running registry child process; killed and its storage removed on drop.
#[derive(Debug)]
pub(crate) struct ProcessGuard {
    child: Child,
    // Dropped after the child is killed (field order), removing config and storage.
    _dir: tempfile::TempDir,
}

impl ProcessGuard {
    /// The registry's storage directory (`rootdirectory` of the filesystem driver).
    pub(crate) fn storage(&self) -> std::path::PathBuf {
        self._dir.path().join("storage")
    }
}

impl Drop for ProcessGuard {
    fn drop(&mut self) {
        // Errors mean the process is already gone; nothing else to clean up.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Finds the distribution binary: [`ENV_REGISTRY_BIN`], else `registry` or `docker-registry` on
/// `PATH`.
pub(crate) fn find_binary() -> Option<PathBuf> {
    if let Some(bin) = env_nonempty(ENV_REGISTRY_BIN) {
        return Some(PathBuf::from(bin));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| REGISTRY_BIN_NAMES.iter().map(move |name| dir.join(name)))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Starts the registry and waits until `/v2/` answers; returns the guard and `host:port`.
pub(crate) async fn start(
    auth: &Auth,
    proxy_remote_url: Option<&str>,
) -> anyhow::Result<(ProcessGuard, String)> {
    let bin = find_binary().with_context(|| {
        format!(
            "no distribution binary: set {ENV_REGISTRY_BIN} or put one of {REGISTRY_BIN_NAMES:?} \
             on PATH (Debian: apt-get install docker-registry)"
        )
    })?;
    let mut last_err = None;
    for _ in 0..START_ATTEMPTS {
        match start_once(&bin, auth, proxy_remote_url).await {
            Ok(started) => return Ok(started),
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.unwrap_or_else(|| anyhow::anyhow!("registry did not start")))
}

async fn start_once(
    bin: &Path,
    auth: &Auth,
    proxy_remote_url: Option<&str>,
) -> anyhow::Result<(ProcessGuard, String)> {
    let dir = tempfile::Builder::new()
        .prefix("oci-conformance-")
        .tempdir()
        .context("creating temporary registry directory")?;
    let port = free_port()?;
    let host = format!("127.0.0.1:{port}");
    let storage = dir.path().join("storage");
    std::fs::create_dir(&storage).context("creating storage directory")?;
    let dir_str = dir
        .path()
        .to_str()
        .context("temporary directory path is not UTF-8")?;
    let storage_str = storage.to_str().context("storage path is not UTF-8")?;
    let layout = Layout {
        listen: &host,
        storage: storage_str,
        auth_dir: dir_str,
    };
    config::write(dir.path(), &layout, auth, proxy_remote_url)?;
    let log_path = dir.path().join("registry.log");
    let log = File::create(&log_path).context("creating registry log file")?;
    let log_err = log
        .try_clone()
        .context("duplicating registry log file handle")?;
    let child = Command::new(bin)
        .arg("serve")
        .arg(dir.path().join(config::CONFIG_FILE))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .with_context(|| format!("spawning {}", bin.display()))?;
    let mut guard = ProcessGuard { child, _dir: dir };
    let base_url = format!("http://{host}");
    let ready = crate::wait::until_ready(&base_url, || {
        std::future::ready(match guard.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(anyhow::anyhow!(
                "{} exited with {status} before answering /v2/:\n{}",
                bin.display(),
                log_tail(&log_path)
            )),
            Err(e) => Err(anyhow::anyhow!("waiting for {}: {e}", bin.display())),
        })
    })
    .await;
    match ready {
        Ok(()) => Ok((guard, host)),
        Err(e) => {
            let _ = guard.child.kill();
            Err(e)
        }
    }
}

/// A loopback port that was free a moment ago (the OS picks it; the listener is closed again).
fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding a probe socket")?;
    Ok(listener
        .local_addr()
        .context("probe socket address")?
        .port())
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
}
