//! [`Client`]: one connection pool and one token cache, shared by every [`Repository`] handle.

use std::sync::Arc;

use oci_ref::Reference;
use reqwest::Method;
use url::Url;

use crate::config::ClientConfig;
use crate::error::Error;
use crate::pager::{Listing, Pager};
use crate::referrers::ReferrersStates;
use crate::repository::Repository;
use crate::transport::{Req, Target};

/// A registry client. Cheap to clone (an `Arc`); clones share the connection pool and the
/// token cache.
#[derive(Debug, Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    /// Only built when some registry is configured with `skip_tls_verify`.
    pub(crate) insecure_http: Option<reqwest::Client>,
    pub(crate) auth: oci_auth::Authenticator,
    pub(crate) config: ClientConfig,
    /// What was learned about each repository's referrers (see the `referrers` module).
    pub(crate) referrers: ReferrersStates,
}

impl Client {
    /// A client with the default configuration and credentials from the environment.
    ///
    /// # Errors
    ///
    /// As [`Client::new`].
    pub fn new_default() -> Result<Client, Error> {
        Client::new(ClientConfig::default())
    }

    /// Builds a client from `config`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the configuration cannot be turned into an HTTP client (an unreadable
    /// or invalid CA certificate, an invalid proxy or user agent) or the credential files of the
    /// environment cannot be read.
    pub fn new(config: ClientConfig) -> Result<Client, Error> {
        install_crypto_provider();
        let http = http_client(&config, false)?;
        let insecure_http = if config.registries.values().any(|o| o.skip_tls_verify) {
            Some(http_client(&config, true)?)
        } else {
            None
        };
        let keychain = match &config.keychain {
            Some(k) => k.clone(),
            None => oci_auth::Keychain::from_env().map_err(|e| Error::Config {
                what: "loading registry credentials",
                source: Some(Box::new(e)),
            })?,
        };
        let auth = oci_auth::Authenticator::new(http.clone(), keychain);
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                insecure_http,
                auth,
                config,
                referrers: ReferrersStates::default(),
            }),
        })
    }

    /// The configuration this client was built from.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// A handle on the repository of `reference` (its tag and digest are ignored).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when the registry or repository cannot form a request URL.
    pub fn repository(&self, reference: &Reference) -> Result<Repository, Error> {
        Repository::new(self.clone(), reference.registry(), reference.repository())
    }

    /// Checks that `registry` speaks the distribution API (`GET /v2/`, authenticating if asked).
    ///
    /// `registry` is `host[:port]` as in references; anything else (control characters,
    /// whitespace, a path, user info) is [`Error::InvalidInput`] and nothing is sent.
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] when the registry cannot be reached or the connection breaks (after the
    /// retries of the client's [`RetryPolicy`](crate::RetryPolicy)), [`Error::Auth`] when
    /// authentication fails, [`Error::Registry`] for an error status (see [`Error::is_not_found`],
    /// [`Error::is_unauthorized`]); [`Error::InvalidInput`] when `registry` is not `host[:port]`.
    pub async fn ping(&self, registry: &str) -> Result<(), Error> {
        let target = self.target(registry, Vec::new())?;
        let url = self.base_url(registry)?;
        let resp = self.inner.send(&target, Req::new(Method::GET, url)).await?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(self.inner.status_error(&Method::GET, &target, resp).await)
        }
    }

    /// The repositories of `registry` (`GET /v2/_catalog`), page by page. `page_size` is sent
    /// as `n`; the `Link` header is followed. Many registries disable or restrict the catalog.
    /// `registry` is checked as in [`Client::ping`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when `registry` is not `host[:port]`; each page may then fail as
    /// [`Client::catalog`] does.
    pub fn catalog_pages(
        &self,
        registry: &str,
        page_size: Option<u32>,
    ) -> Result<impl futures_util::Stream<Item = Result<Vec<String>, Error>> + Send + 'static, Error>
    {
        let target = self.target(registry, vec![oci_auth::Scope::catalog()])?;
        let mut url = self.base_url(registry)?;
        url.set_path("/v2/_catalog");
        if let Some(n) = page_size {
            url.set_query(Some(&format!("n={n}")));
        }
        Ok(Pager::new(self.inner.clone(), target, url).string_pages(Listing::Catalog))
    }

    /// All repositories of `registry`; see [`Client::catalog_pages`].
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] when the registry cannot be reached or the connection breaks (after the
    /// retries of the client's [`RetryPolicy`](crate::RetryPolicy)), [`Error::Auth`] when
    /// authentication fails, [`Error::Registry`] for an error status (see [`Error::is_not_found`],
    /// [`Error::is_unauthorized`]); [`Error::InvalidInput`] for a bad `registry`,
    /// [`Error::LimitExceeded`] beyond [`Limits::max_pages`](crate::Limits::max_pages) or
    /// [`Limits::max_page_bytes`](crate::Limits::max_page_bytes), [`Error::Protocol`] for invalid
    /// JSON, a `Link` to another origin or a pagination loop.
    pub async fn catalog(
        &self,
        registry: &str,
        page_size: Option<u32>,
    ) -> Result<Vec<String>, Error> {
        crate::pager::collect(self.catalog_pages(registry, page_size)?).await
    }

    pub(crate) fn plain_http(&self, registry: &str) -> bool {
        self.inner.config.registry_options(registry).plain_http
    }

    /// `scheme://api-host/v2/` for `registry`.
    ///
    /// Every registry name given as text goes through here before a request is built, so it is
    /// checked against the reference grammar's `host[:port]` first: URL parsing would silently
    /// drop tabs and line breaks (`"host:5000\n"` would reach `host:5000`) and read `/`, `@`
    /// or `?` as parts of a URL.
    pub(crate) fn base_url(&self, registry: &str) -> Result<Url, Error> {
        let invalid = || Error::InvalidInput {
            what: "registry host",
            source: None,
        };
        check_registry(registry)?;
        let scheme = if self.plain_http(registry) {
            "http"
        } else {
            "https"
        };
        let host = oci_ref::api_host(registry);
        let url = Url::parse(&format!("{scheme}://{host}/v2/")).map_err(|_| invalid())?;
        if url.host().is_none() {
            return Err(invalid());
        }
        Ok(url)
    }

    pub(crate) fn target(
        &self,
        registry: &str,
        scopes: Vec<oci_auth::Scope>,
    ) -> Result<Target, Error> {
        let base = self.base_url(registry)?;
        Ok(Target {
            registry: registry.to_owned(),
            origin: crate::urls::origin(&base),
            plain_http: self.plain_http(registry),
            scopes,
        })
    }
}

/// Checks that `registry` is a `host[:port]` of the reference grammar (a DNS name, an IPv4
/// address or a bracketed IPv6 address, and an optional port).
fn check_registry(registry: &str) -> Result<(), Error> {
    // `Reference::new` validates each part it is given; the repository and tag are placeholders
    // that always pass, so any error is about the registry.
    oci_ref::Reference::new(registry, "x", Some(oci_ref::DEFAULT_TAG), None)
        .map(drop)
        .map_err(|e| Error::InvalidInput {
            what: "registry host",
            source: Some(Box::new(e)),
        })
}

/// Installs rustls' `ring` provider as the process default, unless one is installed already.
///
/// [`Client::new`] calls it. Other code that builds its own `reqwest` clients in a process that
/// links this crate must call it first: this crate enables reqwest's `rustls-no-provider`, and
/// Cargo's feature unification makes that apply to every reqwest client in the build.
pub fn install_crypto_provider() {
    // Ignoring the error is right: it only says a provider was installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn http_client(config: &ClientConfig, skip_verify: bool) -> Result<reqwest::Client, Error> {
    let mut b = reqwest::Client::builder()
        .user_agent(config.user_agent.clone())
        .connect_timeout(config.connect_timeout)
        .read_timeout(config.read_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .tls_backend_rustls();
    for path in &config.ca_files {
        let pem = std::fs::read(path).map_err(|e| Error::Config {
            what: "reading a CA certificate file",
            source: Some(Box::new(e)),
        })?;
        b = add_pem(b, &pem)?;
    }
    for pem in &config.ca_pems {
        b = add_pem(b, pem)?;
    }
    if skip_verify {
        b = b.tls_danger_accept_invalid_certs(true);
    }
    b.build().map_err(|e| Error::Config {
        what: "building the HTTP client",
        source: Some(Box::new(e.without_url())),
    })
}

fn add_pem(b: reqwest::ClientBuilder, pem: &[u8]) -> Result<reqwest::ClientBuilder, Error> {
    let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| Error::Config {
        what: "parsing PEM CA certificates",
        source: Some(Box::new(e.without_url())),
    })?;
    if certs.is_empty() {
        return Err(Error::Config {
            what: "a CA file without certificates",
            source: None,
        });
    }
    Ok(certs.into_iter().fold(b, |b, c| b.add_root_certificate(c)))
}
