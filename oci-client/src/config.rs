//! Client configuration: user agent, timeouts, TLS, per-registry options, limits, retries.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use crate::retry::RetryPolicy;

/// Largest manifest read, in bytes; enforced while reading, before the body is buffered.
///
/// The distribution spec says clients and registries SHOULD support manifests of at least 4 MB
/// ([distribution-spec v1.1 § Pushing Manifests](https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-manifests));
/// oras-go and containers/image use 4 MiB.
pub const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;

/// Largest single page of a tag, catalog or referrers listing, in bytes.
///
/// Pages are JSON that must be parsed whole; the cap keeps a hostile registry from making us
/// buffer an endless body. Same value as [`MAX_MANIFEST_BYTES`] (a referrers page is an index).
pub const MAX_PAGE_BYTES: u64 = 4 * 1024 * 1024;

/// Most pages followed through `Link` headers in one listing.
///
/// [distribution-spec v1.1 § Listing Tags](https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#listing-tags)
/// puts no bound on pagination; a registry that always sends a `Link` would otherwise keep us
/// forever.
pub const MAX_PAGES: u32 = 10_000;

/// Most redirects followed for one request (browsers and Go's `net/http` use 10).
pub const MAX_REDIRECTS: u32 = 10;

/// Default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Default read timeout: the longest wait for any bytes of a response. Not a total timeout, so
/// large blobs can take as long as they need while data keeps flowing.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Default user agent.
pub const DEFAULT_USER_AGENT: &str = concat!("oci-client/", env!("CARGO_PKG_VERSION"));

/// Size and count limits. Every field defaults to the constant of the same name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// See [`MAX_MANIFEST_BYTES`].
    pub max_manifest_bytes: u64,
    /// See [`MAX_PAGE_BYTES`].
    pub max_page_bytes: u64,
    /// See [`MAX_PAGES`].
    pub max_pages: u32,
    /// See [`MAX_REDIRECTS`].
    pub max_redirects: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_manifest_bytes: MAX_MANIFEST_BYTES,
            max_page_bytes: MAX_PAGE_BYTES,
            max_pages: MAX_PAGES,
            max_redirects: MAX_REDIRECTS,
        }
    }
}

/// Options for one registry, keyed by its `host[:port]` as written in references.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RegistryOptions {
    /// Talk plain HTTP instead of HTTPS.
    pub plain_http: bool,
    /// Accept any TLS certificate (`--insecure`). Dangerous; for test registries only.
    pub skip_tls_verify: bool,
}

/// Everything a [`crate::Client`] is built from. Build one with [`ClientConfig::builder`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub(crate) user_agent: String,
    pub(crate) connect_timeout: Duration,
    pub(crate) read_timeout: Duration,
    pub(crate) ca_files: Vec<PathBuf>,
    pub(crate) ca_pems: Vec<Vec<u8>>,
    pub(crate) registries: HashMap<String, RegistryOptions>,
    pub(crate) trusted_redirect_origins: HashSet<String>,
    pub(crate) retry: RetryPolicy,
    pub(crate) limits: Limits,
    pub(crate) keychain: Option<oci_auth::Keychain>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            read_timeout: DEFAULT_READ_TIMEOUT,
            ca_files: Vec::new(),
            ca_pems: Vec::new(),
            registries: HashMap::new(),
            trusted_redirect_origins: HashSet::new(),
            retry: RetryPolicy::default(),
            limits: Limits::default(),
            keychain: None,
        }
    }
}

impl ClientConfig {
    /// A builder starting from the defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            config: ClientConfig::default(),
        }
    }

    /// The options for `registry` (`host[:port]`), defaults when none were configured.
    pub fn registry_options(&self, registry: &str) -> RegistryOptions {
        self.registries.get(registry).cloned().unwrap_or_default()
    }

    /// The limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    pub(crate) fn is_trusted_origin(&self, origin: &str) -> bool {
        self.trusted_redirect_origins.contains(origin)
    }
}

/// Builds a [`ClientConfig`], then a [`crate::Client`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    config: ClientConfig,
}

impl ClientBuilder {
    /// Sets the `User-Agent`.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.config.user_agent = user_agent.into();
        self
    }

    /// Sets the connect timeout (default [`DEFAULT_CONNECT_TIMEOUT`]).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// Sets the read timeout (default [`DEFAULT_READ_TIMEOUT`]).
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.config.read_timeout = timeout;
        self
    }

    /// Trusts the CA certificates in a PEM file, in addition to the system roots.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.ca_files.push(path.into());
        self
    }

    /// Trusts the CA certificates in PEM bytes, in addition to the system roots.
    pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.config.ca_pems.push(pem.into());
        self
    }

    /// Talks plain HTTP to `registry` (`host[:port]`).
    pub fn plain_http(mut self, registry: &str) -> Self {
        self.config
            .registries
            .entry(registry.to_owned())
            .or_default()
            .plain_http = true;
        self
    }

    /// Accepts any TLS certificate from `registry` (`host[:port]`).
    pub fn skip_tls_verify(mut self, registry: &str) -> Self {
        self.config
            .registries
            .entry(registry.to_owned())
            .or_default()
            .skip_tls_verify = true;
        self
    }

    /// Sets all options for `registry` at once.
    pub fn registry(mut self, registry: &str, options: RegistryOptions) -> Self {
        self.config.registries.insert(registry.to_owned(), options);
        self
    }

    /// Lets `Authorization` follow redirects to `origin` (`scheme://host[:port]`, e.g.
    /// `https://cdn.example`), like Ironic's `secure_cdn_registries`. By default credentials
    /// never leave the registry's own origin.
    pub fn trust_redirect_origin(mut self, origin: &str) -> Self {
        self.config
            .trusted_redirect_origins
            .insert(origin.trim_end_matches('/').to_owned());
        self
    }

    /// Sets the retry policy.
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.config.retry = retry;
        self
    }

    /// Sets the limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.config.limits = limits;
        self
    }

    /// Uses `keychain` for credentials (default: [`oci_auth::Keychain::from_env`]).
    pub fn keychain(mut self, keychain: oci_auth::Keychain) -> Self {
        self.config.keychain = Some(keychain);
        self
    }

    /// The configuration built so far.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Builds the client.
    ///
    /// # Errors
    ///
    /// As [`Client::new`](crate::Client::new).
    pub fn build(self) -> Result<crate::Client, crate::Error> {
        crate::Client::new(self.config)
    }
}
