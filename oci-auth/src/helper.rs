//! Running a `docker-credential-<name>` program (IO half of [`crate::helper_protocol`]): `get`
//! for lookups, `store` and `erase` for `login` and `logout`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::credential::Credential;
use crate::error::{Error, ErrorKind};
use crate::helper_protocol;
use crate::secret::Secret;

/// How long a credential helper may take to answer `get`.
///
/// Helpers talk to a local keyring or run a cloud CLI (`gcloud`, `aws ecr`), which can take a few
/// seconds on a cold start; a helper stuck on a password prompt must not hang a pull forever.
pub const HELPER_TIMEOUT: Duration = Duration::from_secs(30);

/// Most bytes read from a helper's stdout or stderr.
///
/// A `get` answer is a small JSON object (tokens of a few KiB); a helper printing more is broken.
pub const MAX_HELPER_OUTPUT_BYTES: u64 = 1024 * 1024;

/// `ETXTBSY`: the program file is still open for writing somewhere (typically a script written
/// a moment ago while another thread forked). Spawning is retried a few times.
const ETXTBSY: i32 = 26;

fn find_program(name: &str, search_path: &[PathBuf]) -> Option<PathBuf> {
    search_path
        .iter()
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Starts `path ACTION` with piped stdio, killed when dropped. A helper binary still being written
/// (`ETXTBSY`, as right after an install) is tried again a few times.
async fn spawn(path: &Path, action: &str) -> std::io::Result<tokio::process::Child> {
    let mut attempt = 0;
    loop {
        let spawned = tokio::process::Command::new(path)
            .arg(action)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn();
        match spawned {
            Err(e) if e.raw_os_error() == Some(ETXTBSY) && attempt < 5 => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(20 * attempt)).await;
            }
            other => return other,
        }
    }
}

/// Writes `request` to the helper, reads its stdout and stderr (each up to
/// [`MAX_HELPER_OUTPUT_BYTES`]) and waits for it to exit.
async fn exchange(
    child: &mut tokio::process::Child,
    request: &str,
) -> (std::io::Result<std::process::ExitStatus>, Vec<u8>, Vec<u8>) {
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading its stdin is not an error by itself.
        let _ = stdin.write_all(request.as_bytes()).await;
        drop(stdin);
    }
    let mut out = Vec::new();
    let mut err = Vec::new();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let read_out = async {
        if let Some(s) = stdout {
            let _ = s.take(MAX_HELPER_OUTPUT_BYTES).read_to_end(&mut out).await;
        }
    };
    let read_err = async {
        if let Some(s) = stderr {
            let _ = s.take(MAX_HELPER_OUTPUT_BYTES).read_to_end(&mut err).await;
        }
    };
    tokio::join!(read_out, read_err);
    let status = child.wait().await;
    (status, out, err)
}

/// What a helper run ended with: its exit status and both outputs.
struct Ran {
    status: std::process::ExitStatus,
    out: Vec<u8>,
    err: Vec<u8>,
}

/// Runs `docker-credential-<helper> ACTION` for `registry` with `request` on its stdin, under
/// `timeout`. Errors name the helper, never its output.
async fn run(
    helper: &str,
    action: &str,
    registry: &str,
    request: &str,
    search_path: &[PathBuf],
    timeout: Duration,
) -> Result<Ran, Error> {
    let program = helper_protocol::program_name(helper);
    let Some(path) = find_program(&program, search_path) else {
        return Err(ErrorKind::HelperNotFound {
            helper: program,
            registry: registry.to_owned(),
        }
        .into());
    };
    let failed = |message: String| -> Error {
        ErrorKind::HelperFailed {
            helper: program.clone(),
            registry: registry.to_owned(),
            message,
        }
        .into()
    };
    let mut child = spawn(&path, action)
        .await
        .map_err(|e| failed(format!("cannot start {}: {e}", path.display())))?;
    let (status, out, err) =
        match tokio::time::timeout(timeout, exchange(&mut child, request)).await {
            Ok(r) => r,
            Err(_) => {
                return Err(ErrorKind::HelperTimeout {
                    helper: program,
                    registry: registry.to_owned(),
                    timeout,
                }
                .into());
            }
        };
    let status = status.map_err(|e| failed(format!("waiting for it failed: {e}")))?;
    Ok(Ran { status, out, err })
}

impl Ran {
    /// Whether the helper failed saying it holds nothing for the server.
    fn not_found(&self) -> bool {
        !self.status.success()
            && (helper_protocol::is_not_found(&self.out)
                || helper_protocol::is_not_found(&self.err))
    }

    /// `Ok` if the helper succeeded, else [`ErrorKind::HelperFailed`] with its exit status and
    /// a safe excerpt of its message.
    fn success(&self, helper: &str, action: &str, registry: &str) -> Result<(), Error> {
        if self.status.success() {
            return Ok(());
        }
        let text = if self.out.iter().any(|b| !b.is_ascii_whitespace()) {
            &self.out
        } else {
            &self.err
        };
        let code = self
            .status
            .code()
            .map_or_else(|| "a signal".to_owned(), |c| format!("status {c}"));
        Err(ErrorKind::HelperFailed {
            helper: helper_protocol::program_name(helper),
            registry: registry.to_owned(),
            message: format!(
                "`{action}` exited with {code}: {}",
                helper_protocol::failure_excerpt(text)
            ),
        }
        .into())
    }
}

/// Runs `docker-credential-<helper> get` for `registry`. `Ok(None)` means the helper holds no
/// credentials for it (anonymous access).
pub(crate) async fn get(
    helper: &str,
    registry: &str,
    search_path: &[PathBuf],
    timeout: Duration,
) -> Result<Option<Credential>, Error> {
    let request = helper_protocol::get_request(registry);
    let ran = run(helper, "get", registry, &request, search_path, timeout).await?;
    if ran.not_found() {
        return Ok(None);
    }
    ran.success(helper, "get", registry)?;
    helper_protocol::parse_get_response(&ran.out).map_err(|reason| {
        ErrorKind::HelperOutput {
            helper: helper_protocol::program_name(helper),
            registry: registry.to_owned(),
            reason: reason.to_owned(),
        }
        .into()
    })
}

/// Runs `docker-credential-<helper> store` for `registry` with `username`/`password`.
pub(crate) async fn store(
    helper: &str,
    registry: &str,
    username: &str,
    password: &Secret,
    search_path: &[PathBuf],
    timeout: Duration,
) -> Result<(), Error> {
    let request = helper_protocol::store_request(registry, username, password);
    let ran = run(helper, "store", registry, &request, search_path, timeout).await?;
    ran.success(helper, "store", registry)
}

/// Runs `docker-credential-<helper> erase` for `registry`. `Ok(false)` when the helper held
/// nothing for it.
pub(crate) async fn erase(
    helper: &str,
    registry: &str,
    search_path: &[PathBuf],
    timeout: Duration,
) -> Result<bool, Error> {
    let request = helper_protocol::get_request(registry);
    let ran = run(helper, "erase", registry, &request, search_path, timeout).await?;
    if ran.not_found() {
        return Ok(false);
    }
    ran.success(helper, "erase", registry)?;
    Ok(true)
}
