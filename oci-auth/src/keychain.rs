//! [`Keychain`]: where credentials come from, and in which order.
//!
//! Lookup for a registry, first hit wins:
//!
//! 1. a credential the caller supplied ([`Keychain::with_credential`], e.g. a pull secret or
//!    command-line flags);
//! 2. the credentials files, in order: the docker config (`$DOCKER_CONFIG/config.json`, else
//!    `~/.docker/config.json`), then the containers auth files (`$REGISTRY_AUTH_FILE`,
//!    `$XDG_RUNTIME_DIR/containers/auth.json`, `~/.config/containers/auth.json`) — or exactly the
//!    one file given to [`Keychain::from_file`];
//! 3. the credential helper a file names for the registry (`credHelpers[host]`, else
//!    `credsStore`) — asked *before* that file's own `auths` entry, as docker and oras do: a
//!    file that names a helper keeps its secrets there, and an `auths` entry beside it is a
//!    stale leftover or a placeholder; the entry is the fallback when the helper holds nothing;
//! 4. anonymous.
//!
//! In short: caller (flags) > config files (each with the helpers it names) > anonymous.
//!
//! Files are read when the keychain is built: a file that does not exist is skipped, a file that
//! exists but cannot be read or parsed is an error naming it (never a silent anonymous pull).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{AuthFile, MAX_CONFIG_FILE_BYTES, normalize_key};
use crate::credential::{Credential, CredentialSource};
use crate::env::Env;
use crate::error::{Error, ErrorKind};
use crate::helper::{self, HELPER_TIMEOUT};

#[derive(Debug, Clone)]
struct Loaded {
    path: PathBuf,
    file: AuthFile,
    source: CredentialSource,
}

/// Where credentials come from. Cheap to clone; immutable once built.
#[derive(Debug, Clone)]
pub struct Keychain {
    caller: Vec<(String, Credential, String)>,
    files: Vec<Loaded>,
    searched: Vec<PathBuf>,
    helper_path: Vec<PathBuf>,
    helper_timeout: Duration,
}

impl Keychain {
    /// Anonymous only: no files, no helpers (until [`Keychain::with_credential`]).
    pub fn empty() -> Keychain {
        Keychain {
            caller: Vec::new(),
            files: Vec::new(),
            searched: Vec::new(),
            helper_path: Vec::new(),
            helper_timeout: HELPER_TIMEOUT,
        }
    }

    /// The docker config and containers auth files found through the process environment
    /// (see the module docs), helpers searched on `$PATH`.
    ///
    /// # Errors
    ///
    /// As [`Keychain::from_environment`].
    pub fn from_env() -> Result<Keychain, Error> {
        Keychain::from_environment(&Env::process())
    }

    /// Like [`Keychain::from_env`] with an explicit environment (tests, embedding).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::ConfigRead`] when a config file that exists cannot be read (or is larger than
    /// [`MAX_CONFIG_FILE_BYTES`]), [`ErrorKind::ConfigParse`]
    /// when one is not a valid docker or containers auth file. Missing files are skipped.
    pub fn from_environment(env: &Env) -> Result<Keychain, Error> {
        let mut k = Keychain::empty().with_helper_path(env.helper_search_path());
        if let Ok(path) = env.docker_config_path() {
            k.load_optional(path, CredentialSource::DockerConfig)?;
        }
        for path in env.containers_auth_paths() {
            k.load_optional(path, CredentialSource::ContainersAuth)?;
        }
        Ok(k)
    }

    /// Exactly one file (`--registry-config`, `--auth-file`), docker or containers format. It
    /// must exist. Helpers are searched on the process `$PATH`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::ConfigRead`] when the file does not exist or cannot be read,
    /// [`ErrorKind::ConfigParse`] when it is not a valid docker or containers auth file.
    pub fn from_file(path: &Path) -> Result<Keychain, Error> {
        let mut k = Keychain::empty().with_helper_path(Env::process().helper_search_path());
        let file = read_file(path)?.ok_or_else(|| ErrorKind::ConfigRead {
            path: path.to_owned(),
            reason: "no such file".to_owned(),
        })?;
        k.searched.push(path.to_owned());
        k.files.push(Loaded {
            path: path.to_owned(),
            file,
            source: CredentialSource::File(path.to_owned()),
        });
        Ok(k)
    }

    /// Adds a credential for `registry` that wins over every file (a pull secret).
    /// `registry` is matched like `auths` keys (`docker.io` = `index.docker.io`). Messages say it
    /// came from `the caller`; see [`Keychain::with_credential_from`] to say more.
    pub fn with_credential(self, registry: &str, credential: Credential) -> Keychain {
        self.with_credential_from(registry, credential, "the caller")
    }

    /// Like [`Keychain::with_credential`], with `origin` saying where the caller got the
    /// credential (e.g. the command-line flags that gave it): errors read "rejected the
    /// credentials from {origin}". `origin` must hold no secret.
    pub fn with_credential_from(
        mut self,
        registry: &str,
        credential: Credential,
        origin: impl Into<String>,
    ) -> Keychain {
        let key = normalize_key(registry);
        self.caller.retain(|(k, _, _)| *k != key);
        self.caller.push((key, credential, origin.into()));
        self
    }

    /// The directories searched for `docker-credential-<name>` programs.
    pub fn with_helper_path(mut self, dirs: Vec<PathBuf>) -> Keychain {
        self.helper_path = dirs;
        self
    }

    /// How long a helper may take (default [`HELPER_TIMEOUT`]).
    pub fn with_helper_timeout(mut self, timeout: Duration) -> Keychain {
        self.helper_timeout = timeout;
        self
    }

    /// The files that were looked for, in lookup order (for messages).
    pub fn searched_files(&self) -> &[PathBuf] {
        &self.searched
    }

    /// A one-line list of the files credentials were looked for in (`no credentials file`
    /// when there were none, as with [`Keychain::empty`]). Caller-supplied credentials are not
    /// listed: a registry they were given for never gets this far.
    pub fn describe_search(&self) -> String {
        if self.searched.is_empty() {
            return "no credentials file".to_owned();
        }
        let parts: Vec<String> = self
            .searched
            .iter()
            .map(|p| crate::env::display_path(p))
            .collect();
        parts.join(", ")
    }

    /// The credential for `registry` (and `repository`, for namespaced `auth.json` keys), and
    /// where it came from. Runs a credential helper if the configuration names one.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::HelperNotFound`], [`ErrorKind::HelperFailed`], [`ErrorKind::HelperTimeout`] or
    /// [`ErrorKind::HelperOutput`] when the credential helper configured for `registry` cannot be
    /// run or answers badly, and [`ErrorKind::ConfigParse`] when a stored `auth` value does not
    /// decode. No credential at all is not an error ([`Credential::Anonymous`]).
    pub async fn credential_for(
        &self,
        registry: &str,
        repository: Option<&str>,
    ) -> Result<(Credential, CredentialSource), Error> {
        let key = normalize_key(registry);
        if let Some((_, c, origin)) = self.caller.iter().find(|(k, _, _)| *k == key) {
            return Ok((c.clone(), CredentialSource::Caller(origin.clone())));
        }
        for f in &self.files {
            if let Some(h) = f.file.helper_for(registry)
                && let Some(c) =
                    helper::get(h, registry, &self.helper_path, self.helper_timeout).await?
            {
                let source = CredentialSource::Helper(crate::helper_protocol::program_name(h));
                return Ok((c, source));
            }
            if let Some(e) = f.file.find(registry, repository)
                && let Some(c) = &e.credential
            {
                return Ok((c.clone(), f.source.clone()));
            }
        }
        Ok((Credential::Anonymous, CredentialSource::Anonymous))
    }

    fn load_optional(
        &mut self,
        path: PathBuf,
        source: fn(PathBuf) -> CredentialSource,
    ) -> Result<(), Error> {
        if self.files.iter().any(|f| f.path == path) {
            return Ok(());
        }
        self.searched.push(path.clone());
        if let Some(file) = read_file(&path)? {
            self.files.push(Loaded {
                source: source(path.clone()),
                path,
                file,
            });
        }
        Ok(())
    }
}

/// Reads and parses a credentials file; `Ok(None)` if it does not exist.
pub(crate) fn read_file(path: &Path) -> Result<Option<AuthFile>, Error> {
    let read_err = |reason: String| {
        Error::from(ErrorKind::ConfigRead {
            path: path.to_owned(),
            reason,
        })
    };
    let bytes = match read_capped(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(read_err(e.to_string())),
    };
    let bytes =
        bytes.ok_or_else(|| read_err(format!("larger than {MAX_CONFIG_FILE_BYTES} bytes")))?;
    AuthFile::parse(&bytes).map(Some).map_err(|e| {
        ErrorKind::ConfigParse {
            path: path.to_owned(),
            reason: e.0,
        }
        .into()
    })
}

/// Reads at most [`MAX_CONFIG_FILE_BYTES`]; `Ok(None)` when the file is larger.
pub(crate) fn read_capped(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read as _;
    let f = std::fs::File::open(path)?;
    if f.metadata()?.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "is a directory",
        ));
    }
    let mut buf = Vec::new();
    f.take(MAX_CONFIG_FILE_BYTES + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > MAX_CONFIG_FILE_BYTES {
        return Ok(None);
    }
    Ok(Some(buf))
}
