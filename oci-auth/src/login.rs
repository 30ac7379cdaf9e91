//! `login` / `logout`: storing and removing credentials where docker and oras keep them.
//!
//! [`store_credentials`] and [`erase_credentials`] follow the config file: when it names a
//! credential helper for the registry (`credHelpers[host]`, else `credsStore`), the secret goes
//! to that helper (`docker-credential-<name> store` / `erase`) and never into the file — a
//! plain-text entry left there for the registry is removed. Otherwise, and always for the
//! file-only [`login`] and [`logout`], the file's `auths[registry].auth` is written or removed.
//!
//! The file is edited as JSON (every other key stays as it was), written to a temporary file
//! created with mode `0600` in the same directory, synced, and renamed over the original, so a
//! crash leaves either the old or the new file, never half of one. User names and registry
//! names with control characters are refused before the file is touched: a stored line break
//! would come back out of every tool that reads or prints the file.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::config::{AuthFile, normalize_key, server_key};
use crate::error::{Error, ErrorKind};
use crate::helper::{self, HELPER_TIMEOUT};
use crate::keychain::{read_capped, read_file};
use crate::secret::Secret;

/// Where [`store_credentials`] put credentials, or [`erase_credentials`] removed them from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialStore {
    /// The `auths` section of this docker config file.
    ConfigFile(PathBuf),
    /// The credential helper program (`docker-credential-<name>`) the config file names.
    Helper(String),
}

impl std::fmt::Display for CredentialStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CredentialStore::ConfigFile(p) => f.write_str(&crate::env::display_path(p)),
            CredentialStore::Helper(h) => write!(f, "credential helper {h}"),
        }
    }
}

/// Stores `username`/`password` for `registry` as docker and oras do: through the credential
/// helper the docker config file at `path` names for the registry (`credHelpers`, else
/// `credsStore`; the helper is looked for in `helper_path`), else in the file's `auths` (see
/// [`login`]). Returns where they went.
///
/// # Errors
///
/// Those of [`login`] (invalid names, an unreadable or broken file), and for a helper
/// [`ErrorKind::HelperNotFound`], [`ErrorKind::HelperFailed`] or [`ErrorKind::HelperTimeout`]
/// (after [`HELPER_TIMEOUT`]). No error holds the password.
pub async fn store_credentials(
    path: &Path,
    registry: &str,
    username: &str,
    password: &Secret,
    helper_path: &[PathBuf],
) -> Result<CredentialStore, Error> {
    check_username(username)?;
    check_registry(registry)?;
    let file = read_file(path)?;
    let Some(name) = file.as_ref().and_then(|f| f.helper_for(registry)) else {
        login(path, registry, username, password)?;
        return Ok(CredentialStore::ConfigFile(path.to_owned()));
    };
    helper::store(
        name,
        registry,
        username,
        password,
        helper_path,
        HELPER_TIMEOUT,
    )
    .await?;
    // The secret lives in the helper now; a plain-text copy beside it would outlive a logout.
    remove_entry(path, registry)?;
    Ok(CredentialStore::Helper(
        crate::helper_protocol::program_name(name),
    ))
}

/// Removes the credentials for `registry` as docker and oras do: through the credential helper
/// the file at `path` names for it (`erase`), and any `auths` entry for it in the file. Returns
/// where they were removed from (the helper when it held them, else the file).
///
/// # Errors
///
/// [`ErrorKind::NotLoggedIn`] (`is_not_found()`) when neither held credentials for the
/// registry; the helper's errors as for [`store_credentials`]; those of [`logout`].
pub async fn erase_credentials(
    path: &Path,
    registry: &str,
    helper_path: &[PathBuf],
) -> Result<CredentialStore, Error> {
    check_registry(registry)?;
    let file = read_file(path)?;
    let erased_by_helper = match file.as_ref().and_then(|f| f.helper_for(registry)) {
        Some(name) => helper::erase(name, registry, helper_path, HELPER_TIMEOUT)
            .await?
            .then(|| crate::helper_protocol::program_name(name)),
        None => None,
    };
    let removed_from_file = remove_entry(path, registry)?;
    match (erased_by_helper, removed_from_file) {
        (Some(helper), _) => Ok(CredentialStore::Helper(helper)),
        (None, true) => Ok(CredentialStore::ConfigFile(path.to_owned())),
        (None, false) => Err(ErrorKind::NotLoggedIn {
            registry: registry.to_owned(),
            path: path.to_owned(),
        }
        .into()),
    }
}

/// [`logout`] that answers `false` instead of [`ErrorKind::NotLoggedIn`].
fn remove_entry(path: &Path, registry: &str) -> Result<bool, Error> {
    match logout(path, registry) {
        Ok(()) => Ok(true),
        Err(e) if matches!(e.kind(), ErrorKind::NotLoggedIn { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Stores `username`/`password` for `registry` in the docker config file at `path` (created if
/// missing, with its directory). Docker Hub is stored under `https://index.docker.io/v1/`.
/// Entries for the same registry under other spellings are replaced.
///
/// A user name that is empty, holds `:` or any control character (CR, LF, NUL, …) is refused
/// with [`ErrorKind::InvalidCredential`] before the file is read or written; the error does not
/// repeat the user name or the password.
///
/// # Errors
///
/// [`ErrorKind::InvalidCredential`] for a bad user name, [`ErrorKind::InvalidRegistry`] for a
/// registry that is not a host name, [`ErrorKind::ConfigRead`]/[`ErrorKind::ConfigParse`] when the
/// existing file cannot be read or parsed, [`ErrorKind::ConfigWrite`] when the new file cannot be
/// written.
pub fn login(path: &Path, registry: &str, username: &str, password: &Secret) -> Result<(), Error> {
    check_username(username)?;
    check_registry(registry)?;
    let mut doc = read_json(path)?;
    let auths = auths_mut(path, &mut doc)?;
    let host = normalize_key(registry);
    auths.retain(|k, _| normalize_key(k) != host);
    let mut entry = serde_json::Map::new();
    entry.insert(
        "auth".to_owned(),
        AuthFile::auth_value(username, password).into(),
    );
    auths.insert(server_key(registry), entry.into());
    write_atomic(path, &doc)
}

fn check_username(username: &str) -> Result<(), Error> {
    if username.is_empty() {
        return Err(ErrorKind::InvalidCredential {
            reason: "the user name is empty",
        }
        .into());
    }
    if username.contains(':') {
        return Err(ErrorKind::InvalidCredential {
            reason: "the user name contains ':'",
        }
        .into());
    }
    if username.chars().any(char::is_control) {
        return Err(ErrorKind::InvalidCredential {
            reason: "the user name contains a control character (a line break, NUL, …)",
        }
        .into());
    }
    Ok(())
}

/// Removes the stored credentials for `registry` from the file at `path`. Fails with
/// [`ErrorKind::NotLoggedIn`] (`is_not_found()`) if there were none.
///
/// # Errors
///
/// [`ErrorKind::NotLoggedIn`] when the file has no credentials for `registry`,
/// [`ErrorKind::InvalidRegistry`], [`ErrorKind::ConfigRead`]/[`ErrorKind::ConfigParse`] and
/// [`ErrorKind::ConfigWrite`] as for [`login`].
pub fn logout(path: &Path, registry: &str) -> Result<(), Error> {
    check_registry(registry)?;
    let not_logged_in = || {
        Error::from(ErrorKind::NotLoggedIn {
            registry: registry.to_owned(),
            path: path.to_owned(),
        })
    };
    if !path.exists() {
        return Err(not_logged_in());
    }
    let mut doc = read_json(path)?;
    let auths = auths_mut(path, &mut doc)?;
    let host = normalize_key(registry);
    let before = auths.len();
    auths.retain(|k, _| normalize_key(k) != host);
    if auths.len() == before {
        return Err(not_logged_in());
    }
    write_atomic(path, &doc)
}

fn check_registry(registry: &str) -> Result<(), Error> {
    let bad = |reason| {
        Error::from(ErrorKind::InvalidRegistry {
            registry: crate::scope::truncate(registry, 100),
            reason,
        })
    };
    if registry.is_empty() {
        return Err(bad("empty"));
    }
    if registry
        .bytes()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control() || b == b'@')
    {
        return Err(bad("contains whitespace, a control character or '@'"));
    }
    Ok(())
}

fn read_json(path: &Path) -> Result<serde_json::Value, Error> {
    let bytes = match read_capped(path) {
        Ok(Some(b)) => b,
        Ok(None) => {
            return Err(ErrorKind::ConfigRead {
                path: path.to_owned(),
                reason: "file too large".to_owned(),
            }
            .into());
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(serde_json::json!({})),
        Err(e) => {
            return Err(ErrorKind::ConfigRead {
                path: path.to_owned(),
                reason: e.to_string(),
            }
            .into());
        }
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::json!({}));
    }
    // Validate the whole file the way lookups will read it, so login never blesses a broken file.
    AuthFile::parse(&bytes).map_err(|e| {
        Error::from(ErrorKind::ConfigParse {
            path: path.to_owned(),
            reason: e.0,
        })
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        ErrorKind::ConfigParse {
            path: path.to_owned(),
            reason: format!("invalid JSON at line {} column {}", e.line(), e.column()),
        }
        .into()
    })
}

fn auths_mut<'a>(
    path: &Path,
    doc: &'a mut serde_json::Value,
) -> Result<&'a mut serde_json::Map<String, serde_json::Value>, Error> {
    let parse_err = |reason: &str| -> Error {
        ErrorKind::ConfigParse {
            path: path.to_owned(),
            reason: reason.to_owned(),
        }
        .into()
    };
    let obj = doc
        .as_object_mut()
        .ok_or_else(|| parse_err("the top level is not a JSON object"))?;
    let auths = obj.entry("auths").or_insert_with(|| serde_json::json!({}));
    if auths.is_null() {
        *auths = serde_json::json!({});
    }
    auths
        .as_object_mut()
        .ok_or_else(|| parse_err("\"auths\" is not a JSON object"))
}

fn write_atomic(path: &Path, doc: &serde_json::Value) -> Result<(), Error> {
    use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
    // A symlinked config (dotfile managers) is updated where it points, not replaced by a file.
    let resolved = std::fs::canonicalize(path).ok();
    let path = resolved.as_deref().unwrap_or(path);
    let write_err = |e: std::io::Error| {
        Error::from(ErrorKind::ConfigWrite {
            path: path.to_owned(),
            reason: e.to_string(),
        })
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(write_err)?;
    let mut text = serde_json::to_vec_pretty(doc)
        .map_err(|e| write_err(std::io::Error::other(e.to_string())))?;
    text.push(b'\n');
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{file_name}.tmp-{}-{n}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(&text)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(write_err)
}
