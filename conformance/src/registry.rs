//! The fixture: a running real registry, from whichever backend the environment selects.

use anyhow::Context as _;

use crate::backend::{
    Backend, ENV_BACKEND, ENV_IMAGE, ENV_PASSWORD, ENV_REGISTRY_BIN, ENV_URL, ENV_USERNAME,
    Selection, env_nonempty,
};
use crate::docker::{self, DockerGuard};
use crate::options::{Auth, Credentials, RegistryOptions, Secret};
use crate::process::{self, ProcessGuard};

/// A running real registry. Dropping it stops and removes what it started (child process,
/// container, temporary storage), also when the test panics.
#[derive(Debug)]
pub struct Registry {
    backend: Backend,
    host: String,
    base_url: String,
    credentials: Option<Credentials>,
    _guard: Guard,
}

#[derive(Debug)]
enum Guard {
    Process(#[allow(dead_code, reason = "held for its Drop")] ProcessGuard),
    Docker(#[allow(dead_code, reason = "held for its Drop")] DockerGuard),
    External,
}

impl Registry {
    /// Starts (or, for `external`, connects to) one registry with default options, from the
    /// backend [`ENV_BACKEND`] selects; under `auto` the first available of docker, process.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(&RegistryOptions::default()).await
    }

    /// Like [`Registry::start`], with options (authentication).
    pub async fn start_with(options: &RegistryOptions) -> anyhow::Result<Self> {
        let backend = match Selection::from_env()? {
            Selection::Only(backend) => backend,
            Selection::Auto => *available_backends()
                .await?
                .first()
                .context("available_backends returned no backend")?,
        };
        Self::start_backend(backend, options).await
    }

    /// Starts a registry on exactly this backend.
    pub async fn start_backend(
        backend: Backend,
        options: &RegistryOptions,
    ) -> anyhow::Result<Self> {
        let credentials = credentials_for(&options.auth);
        let (guard, host) = match backend {
            Backend::Process => {
                let proxy = options.proxy_remote_url.as_deref();
                let (guard, host) = process::start(&options.auth, proxy)
                    .await
                    .context("starting the process backend")?;
                (Guard::Process(guard), host)
            }
            Backend::Docker => {
                anyhow::ensure!(
                    options.proxy_remote_url.is_none(),
                    "a pull-through cache of a loopback registry needs the process backend"
                );
                let (guard, host) = docker::start(&options.auth)
                    .await
                    .context("starting the docker backend")?;
                (Guard::Docker(guard), host)
            }
            Backend::External => return Self::external(options),
        };
        Ok(Self {
            backend,
            base_url: format!("http://{host}"),
            host,
            credentials,
            _guard: guard,
        })
    }

    /// The file holding blob `digest` in a `process` backend registry's storage, for tests
    /// that corrupt what the registry serves (a real registry never lies on its own). `None`
    /// for the other backends, whose storage is out of reach.
    pub fn blob_file(&self, digest: &oci_ref::Digest) -> Option<std::path::PathBuf> {
        let Guard::Process(guard) = &self._guard else {
            return None;
        };
        let hex = digest.encoded();
        Some(guard.storage().join(format!(
            "docker/registry/v2/blobs/{}/{}/{hex}/data",
            digest.algorithm().as_str(),
            hex.get(..2)?
        )))
    }

    fn external(options: &RegistryOptions) -> anyhow::Result<Self> {
        anyhow::ensure!(
            options.auth == Auth::None,
            "the external backend cannot reconfigure the user's registry; tests needing {:?} \
             authentication need the docker or process backend",
            options.auth
        );
        let url = env_nonempty(ENV_URL)
            .with_context(|| format!("{ENV_BACKEND}=external needs {ENV_URL}"))?;
        let parsed = reqwest::Url::parse(url.trim())
            .with_context(|| format!("{ENV_URL}={url:?} is not a URL"))?;
        anyhow::ensure!(
            matches!(parsed.scheme(), "http" | "https")
                && matches!(parsed.path(), "" | "/")
                && parsed.query().is_none(),
            "{ENV_URL} must be http(s)://host[:port] without a path, got {url:?}"
        );
        let host_name = parsed.host_str().context("registry URL has no host")?;
        let host = match parsed.port() {
            Some(port) => format!("{host_name}:{port}"),
            None => host_name.to_owned(),
        };
        let credentials = match (env_nonempty(ENV_USERNAME), std::env::var(ENV_PASSWORD).ok()) {
            (Some(username), Some(password)) => Some(Credentials {
                username,
                password: Secret::new(password),
            }),
            (None, None) => None,
            _ => anyhow::bail!("set both {ENV_USERNAME} and {ENV_PASSWORD}, or neither"),
        };
        Ok(Self {
            backend: Backend::External,
            base_url: format!("{}://{host}", parsed.scheme()),
            host,
            credentials,
            _guard: Guard::External,
        })
    }

    /// Which backend provides this registry.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Base URL without a trailing slash, e.g. `http://127.0.0.1:40123`; the API is at
    /// `{base_url}/v2/`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The registry host as it appears in references, e.g. `127.0.0.1:40123`.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Credentials a test may use: the first htpasswd user, or the external registry's
    /// `OCI_CONFORMANCE_USERNAME`/`_PASSWORD`; `None` for an open registry.
    pub fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }
}

fn credentials_for(auth: &Auth) -> Option<Credentials> {
    match auth {
        Auth::Htpasswd { users } => users.first().map(|(username, password)| Credentials {
            username: username.clone(),
            password: password.clone(),
        }),
        Auth::None | Auth::Token { .. } => None,
    }
}

/// The backends this run uses: with [`ENV_BACKEND`] set, exactly that one; under `auto` every
/// one that works here, docker first (a daemon answers and the image is present or pullable), then
/// process (a distribution binary is found). Fails, never returns an empty list, when there is
/// none, saying how to get one.
pub async fn available_backends() -> anyhow::Result<Vec<Backend>> {
    match Selection::from_env()? {
        Selection::Only(backend) => Ok(vec![backend]),
        Selection::Auto => {
            let mut found = Vec::new();
            let docker_reason = match docker::probe().await {
                Ok(()) => {
                    found.push(Backend::Docker);
                    None
                }
                Err(e) => Some(format!("{e:#}")),
            };
            if process::find_binary().is_some() {
                found.push(Backend::Process);
            }
            if found.is_empty() {
                anyhow::bail!(
                    "no real registry available for the conformance tests.\n\
                     - docker backend: {docker}\n\
                     - process backend: no `registry` or `docker-registry` on PATH and \
                     {ENV_REGISTRY_BIN} unset\n\
                     Get one of: `apt-get install docker-registry` (Debian/Ubuntu); \
                     `cargo xtask registry-image` then {ENV_IMAGE}=localhost/distribution:<version>; \
                     a Docker daemon that can pull registry:2; or point at your own registry with \
                     {ENV_BACKEND}=external {ENV_URL}=http://host:port.",
                    docker = docker_reason.unwrap_or_default(),
                );
            }
            Ok(found)
        }
    }
}

/// Runs `body` once against a fresh registry on every backend [`available_backends`] returns, so
/// one `cargo test` covers docker and process when both work. Stops at the first failure, naming
/// the backend.
pub async fn for_each_backend<F>(options: &RegistryOptions, mut body: F) -> anyhow::Result<()>
where
    F: AsyncFnMut(&Registry) -> anyhow::Result<()>,
{
    for backend in available_backends().await? {
        let registry = Registry::start_backend(backend, options).await?;
        body(&registry)
            .await
            .with_context(|| format!("on the {backend} backend ({})", registry.base_url()))?;
    }
    Ok(())
}
