//! Backend selection: which kind of real registry a run uses, from the environment.

use std::fmt;

/// Environment variable choosing the backend: `auto` (default), `docker`, `process`, `external`.
pub const ENV_BACKEND: &str = "OCI_CONFORMANCE_BACKEND";
/// Environment variable naming the image of the `docker` backend (default [`DEFAULT_IMAGE`]).
pub const ENV_IMAGE: &str = "OCI_CONFORMANCE_IMAGE";
/// Environment variable naming the distribution binary of the `process` backend.
pub const ENV_REGISTRY_BIN: &str = "OCI_CONFORMANCE_REGISTRY_BIN";
/// Environment variable with the base URL of the `external` backend (e.g. `http://127.0.0.1:5000`).
pub const ENV_URL: &str = "OCI_CONFORMANCE_URL";
/// Optional user name for the `external` backend.
pub const ENV_USERNAME: &str = "OCI_CONFORMANCE_USERNAME";
/// Optional password for the `external` backend.
pub const ENV_PASSWORD: &str = "OCI_CONFORMANCE_PASSWORD";
/// Environment variable naming a file where checks append `CAPABILITY` lines (see
/// [`crate::capability`]).
pub const ENV_REPORT: &str = "OCI_CONFORMANCE_REPORT";

/// Image of the `docker` backend when [`ENV_IMAGE`] is unset: the CNCF distribution registry.
pub const DEFAULT_IMAGE: &str = "registry:2";

/// Binary names the `process` backend looks for on `PATH` when [`ENV_REGISTRY_BIN`] is unset:
/// upstream's `registry` and Debian's `docker-registry` (package `docker-registry`).
pub const REGISTRY_BIN_NAMES: [&str; 2] = ["registry", "docker-registry"];

/// A kind of real registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// A container from [`ENV_IMAGE`] on the local Docker daemon.
    Docker,
    /// A CNCF distribution binary spawned as a child process on a free loopback port.
    Process,
    /// A registry the user runs, at [`ENV_URL`].
    External,
}

impl Backend {
    /// The name used in [`ENV_BACKEND`].
    pub fn name(self) -> &'static str {
        match self {
            Backend::Docker => "docker",
            Backend::Process => "process",
            Backend::External => "external",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What [`ENV_BACKEND`] asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Selection {
    /// Every backend that is available here (docker and/or process); fail if none is.
    Auto,
    /// Exactly this backend; fail if it is not available.
    Only(Backend),
}

impl Selection {
    /// Reads [`ENV_BACKEND`]; unset or empty means [`Selection::Auto`].
    pub fn from_env() -> anyhow::Result<Self> {
        match std::env::var(ENV_BACKEND) {
            Ok(value) => Self::parse(&value),
            Err(std::env::VarError::NotPresent) => Ok(Selection::Auto),
            Err(std::env::VarError::NotUnicode(_)) => {
                anyhow::bail!("{ENV_BACKEND} is not valid UTF-8")
            }
        }
    }

    /// Parses a backend selection: `auto`, `docker`, `process` or `external`.
    pub fn parse(value: &str) -> anyhow::Result<Self> {
        Ok(match value.trim() {
            "" | "auto" => Selection::Auto,
            "docker" => Selection::Only(Backend::Docker),
            "process" => Selection::Only(Backend::Process),
            "external" => Selection::Only(Backend::External),
            other => anyhow::bail!(
                "{ENV_BACKEND}={other:?} is not one of auto, docker, process, external"
            ),
        })
    }
}

/// Reads an environment variable, treating unset and empty the same.
pub(crate) fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}
