//! [`Env`]: the environment variables credential discovery reads, injectable for tests.
//!
//! Discovery never reads the process environment behind the caller's back: [`Env::process`]
//! takes one snapshot, and tests build an [`Env`] from a list of variables instead of mutating the
//! (shared, racy) process environment.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind};

/// A snapshot of environment variables.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: BTreeMap<OsString, OsString>,
}

impl Env {
    /// A snapshot of the current process environment.
    pub fn process() -> Env {
        Env::from_vars(std::env::vars_os())
    }

    /// An environment holding exactly these variables.
    pub fn from_vars<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Env
    where
        K: Into<OsString>,
        V: Into<OsString>,
    {
        Env {
            vars: vars
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// A variable's value; unset and empty are both `None`.
    pub fn var(&self, name: &str) -> Option<&OsStr> {
        self.vars
            .get(OsStr::new(name))
            .map(OsString::as_os_str)
            .filter(|v| !v.is_empty())
    }

    /// `$HOME`.
    pub fn home(&self) -> Option<PathBuf> {
        self.var("HOME").map(PathBuf::from)
    }

    /// The docker config file: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NoHome`] when neither `DOCKER_CONFIG` nor `HOME` is set.
    pub fn docker_config_path(&self) -> Result<PathBuf, Error> {
        if let Some(dir) = self.var("DOCKER_CONFIG") {
            return Ok(Path::new(dir).join("config.json"));
        }
        let home = self.home().ok_or(ErrorKind::NoHome {
            what: "~/.docker/config.json",
        })?;
        Ok(home.join(".docker").join("config.json"))
    }

    /// The containers auth files, in lookup order: `$REGISTRY_AUTH_FILE`,
    /// `$XDG_RUNTIME_DIR/containers/auth.json`, `$XDG_CONFIG_HOME/containers/auth.json` (default
    /// `~/.config/containers/auth.json`). Variables that are unset are skipped.
    pub fn containers_auth_paths(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        if let Some(f) = self.var("REGISTRY_AUTH_FILE") {
            out.push(PathBuf::from(f));
        }
        if let Some(d) = self.var("XDG_RUNTIME_DIR") {
            out.push(Path::new(d).join("containers").join("auth.json"));
        }
        let config_home = self
            .var("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| self.home().map(|h| h.join(".config")));
        if let Some(c) = config_home {
            out.push(c.join("containers").join("auth.json"));
        }
        out
    }

    /// The directories searched for `docker-credential-<name>` programs: `$PATH`.
    pub fn helper_search_path(&self) -> Vec<PathBuf> {
        self.var("PATH")
            .map(|p| std::env::split_paths(p).collect())
            .unwrap_or_default()
    }
}

/// A path for messages, with the home directory shortened to `~`.
pub(crate) fn display_path(path: &Path) -> String {
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty())
        && let Ok(rest) = path.strip_prefix(&home)
    {
        return format!("~/{}", rest.display());
    }
    path.display().to_string()
}
