//! A CNCF distribution registry process on a free loopback port, for the tasks that need one
//! (`demo`, `conformance --local-registry`): filesystem storage and deletes enabled, in a
//! scratch directory. Dropping it kills the process and removes the directory.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// How long the registry may take to accept connections.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

/// A running registry process and its scratch directory.
pub(crate) struct LocalRegistry {
    /// `127.0.0.1:<port>`.
    pub(crate) host: String,
    /// The scratch directory (configuration, storage, log); removed on drop.
    pub(crate) dir: PathBuf,
    child: Option<Child>,
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The distribution binary: `OCI_CONFORMANCE_REGISTRY_BIN`, else `registry` or `docker-registry`
/// on `PATH`.
fn registry_bin() -> anyhow::Result<PathBuf> {
    crate::provision::find_registry_binary().context(
        "no distribution registry found: set OCI_CONFORMANCE_REGISTRY_BIN or install one \
         (Debian/Ubuntu: apt-get install docker-registry)",
    )
}

fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding a loopback port")?;
    Ok(listener.local_addr()?.port())
}

impl LocalRegistry {
    /// Starts the registry in a new scratch directory named after `purpose`, and waits until it
    /// accepts connections.
    ///
    /// # Errors
    ///
    /// No registry binary, the scratch directory cannot be written, the process exits or does
    /// not listen within [`STARTUP_TIMEOUT`].
    pub(crate) fn start(purpose: &str) -> anyhow::Result<Self> {
        let registry = registry_bin()?;
        let dir = std::env::temp_dir().join(format!("oci-{purpose}-{}", std::process::id()));
        let storage = dir.join("storage");
        std::fs::create_dir_all(&storage)
            .with_context(|| format!("creating {}", storage.display()))?;
        let host = format!("127.0.0.1:{}", free_port()?);
        let mut local = Self {
            host,
            dir,
            child: None,
        };
        let config = local.dir.join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n\
                 storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
                 http:\n  addr: {}\n",
                serde_json::to_string(&storage.display().to_string())?,
                local.host
            ),
        )?;
        let log_path = local.dir.join("registry.log");
        let log = std::fs::File::create(&log_path)?;
        println!(
            "$ {} serve {}   # on http://{}",
            registry.display(),
            config.display(),
            local.host
        );
        let child = Command::new(&registry)
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("could not start {}", registry.display()))?;
        local.child = Some(child);
        let started = Instant::now();
        while TcpStream::connect(&local.host).is_err() {
            if let Some(child) = local.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                bail!("the registry exited with {status}: {log}");
            }
            if started.elapsed() > STARTUP_TIMEOUT {
                bail!(
                    "the registry did not listen on {} within {STARTUP_TIMEOUT:?}",
                    local.host
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(local)
    }
}
