//! [`Authenticator`]: answers `401`s, owns the token cache.
//!
//! # The caller's retry rule (the caller never loops)
//!
//! 1. Send the request with [`Authenticator::cached`]'s header if there is one (or ask
//!    [`Authenticator::authorize`], which can also fetch a token before it is needed).
//! 2. On `401`, call [`Authenticator::challenge`] with the `WWW-Authenticate` values and retry
//!    **once** with the header it returns.
//! 3. If the retry is `401` with `error="invalid_token"` (an expired or revoked token), call
//!    [`Authenticator::invalidate`], then `challenge` once more and retry once more.
//! 4. Any further `401` is final: report [`Authenticator::rejection`].
//!
//! # Cancel safety
//!
//! Dropping a `challenge`/`authorize` future abandons its token fetch; the cache is left without
//! an entry for that key and the next caller fetches again. Concurrent callers needing the same
//! registry and scope set wait for one fetch and share its result.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use url::Url;

use crate::authorization::Authorization;
use crate::challenge;
use crate::credential::{Credential, CredentialSource};
use crate::error::{Error, ErrorKind};
use crate::exchange::{DEFAULT_CLIENT_ID, Exchange, TOKEN_REQUEST_TIMEOUT};
use crate::keychain::Keychain;
use crate::scope::{Scope, truncate};
use crate::token_response;

/// How long before its expiry a cached token stops being handed out (at most half its
/// lifetime), so a request never leaves with a token that expires in flight.
pub const TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(10);

/// How long a docker `registrytoken` (sent as it is, without expiry information) is reused
/// before the keychain is asked again.
pub const REGISTRY_TOKEN_REUSE: Duration = Duration::from_secs(300);

/// Most token-cache entries kept; beyond this, expired entries are dropped, and if that is not
/// enough the cache starts over. One entry exists per registry and scope set in use.
pub const MAX_TOKEN_CACHE_ENTRIES: usize = 1024;

/// Tunables for an [`Authenticator`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AuthenticatorOptions {
    /// Time limit for one token exchange (default [`TOKEN_REQUEST_TIMEOUT`]).
    pub token_timeout: Duration,
    /// See [`TOKEN_REFRESH_MARGIN`].
    pub refresh_margin: Duration,
    /// `client_id` for OAuth2 POST requests (default [`DEFAULT_CLIENT_ID`]).
    pub client_id: String,
}

impl Default for AuthenticatorOptions {
    fn default() -> AuthenticatorOptions {
        AuthenticatorOptions {
            token_timeout: TOKEN_REQUEST_TIMEOUT,
            refresh_margin: TOKEN_REFRESH_MARGIN,
            client_id: DEFAULT_CLIENT_ID.to_owned(),
        }
    }
}

type Key = (String, String);

#[derive(Clone)]
struct Entry {
    auth: Authorization,
    refresh_at: Instant,
    fetched_at: Instant,
}

#[derive(Default)]
struct Slot {
    fetch: tokio::sync::Mutex<()>,
    entry: Mutex<Option<Entry>>,
}

impl Slot {
    fn entry(&self) -> Option<Entry> {
        self.entry
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
    fn set(&self, e: Option<Entry>) {
        *self.entry.lock().unwrap_or_else(PoisonError::into_inner) = e;
    }
}

#[derive(Clone)]
struct BearerInfo {
    realm: Url,
    service: Option<String>,
    plain_http: bool,
}

#[derive(Default)]
struct State {
    slots: HashMap<Key, Arc<Slot>>,
    basic: HashMap<String, Authorization>,
    bearer: HashMap<String, BearerInfo>,
    sources: HashMap<String, CredentialSource>,
}

struct Inner {
    http: reqwest::Client,
    keychain: Keychain,
    options: AuthenticatorOptions,
    state: Mutex<State>,
}

/// Answers registry `401`s and caches what it obtained. Cheap to clone (shared state); use one
/// per client so every operation shares the token cache.
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

fn scope_key(registry: &str, scopes: &[Scope]) -> Key {
    let canonical = Scope::merge(scopes)
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ");
    (registry.to_owned(), canonical)
}

fn first_repository(scopes: &[Scope]) -> Option<&str> {
    scopes.iter().find_map(Scope::repository_name)
}

impl Authenticator {
    /// An authenticator using `http` for token requests (its TLS settings, proxies and
    /// timeouts apply) and `keychain` for credentials.
    ///
    /// Build `http` with automatic redirects off (`reqwest::redirect::Policy::none()`), as
    /// `oci-client` does: the token exchange then follows the realm's redirects itself, under
    /// its own rules (Basic only to the realm's origin, no credential form to another origin,
    /// no downgrade to plain HTTP, at most [`crate::MAX_TOKEN_REDIRECTS`] hops). A client that
    /// follows redirects itself still never gets to re-send the credential form, and a
    /// downgrade it followed is refused; but for `GET`s its own hop limit applies, and reqwest
    /// decides where `Authorization` goes.
    pub fn new(http: reqwest::Client, keychain: Keychain) -> Authenticator {
        Authenticator::with_options(http, keychain, AuthenticatorOptions::default())
    }

    /// Like [`Authenticator::new`] with explicit options.
    pub fn with_options(
        http: reqwest::Client,
        keychain: Keychain,
        options: AuthenticatorOptions,
    ) -> Authenticator {
        Authenticator {
            inner: Arc::new(Inner {
                http,
                keychain,
                options,
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// The keychain credentials come from.
    pub fn keychain(&self) -> &Keychain {
        &self.inner.keychain
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A header obtained earlier for this registry and scope set that is still fresh (tokens are
    /// no longer handed out [`TOKEN_REFRESH_MARGIN`] before they expire). A `Basic` header
    /// applies to every scope of its registry.
    pub fn cached(&self, registry: &str, scopes: &[Scope]) -> Option<Authorization> {
        let key = scope_key(registry, scopes);
        let slot = {
            let st = self.state();
            if let Some(b) = st.basic.get(registry) {
                return Some(b.clone());
            }
            st.slots.get(&key).cloned()
        }?;
        slot.entry()
            .filter(|e| Instant::now() < e.refresh_at)
            .map(|e| e.auth)
    }

    /// A header to send before any `401`: the cached one if fresh; otherwise, if this registry
    /// answered a `Bearer` challenge before, a token fetched for `scopes` now (saving a round
    /// trip for new scopes and refreshing before expiry); otherwise `None` (send without one).
    ///
    /// # Errors
    ///
    /// The errors of the token exchange ([`Authenticator::challenge`]) when a token must be fetched
    /// now: credentials, token endpoint status, timeout, response, redirects.
    pub async fn authorize(
        &self,
        registry: &str,
        scopes: &[Scope],
    ) -> Result<Option<Authorization>, Error> {
        if let Some(a) = self.cached(registry, scopes) {
            return Ok(Some(a));
        }
        let info = self.state().bearer.get(registry).cloned();
        match info {
            Some(info) => self
                .bearer(registry, scopes, scopes, &info, false)
                .await
                .map(Some),
            None => Ok(None),
        }
    }

    /// Answers a `401`: parses the `WWW-Authenticate` values, finds credentials, does the token
    /// exchange (or prepares `Basic`), caches and returns the header to retry with.
    ///
    /// `plain_http` says the caller explicitly marked this registry plain-HTTP/insecure: only
    /// then may credentials or token requests go to an `http://` realm. The caller retries once
    /// and never loops (see the module docs).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NoUsableChallenge`] when no challenge is `Basic` or `Bearer`,
    /// [`ErrorKind::InvalidRealm`] or [`ErrorKind::InsecureTransport`] for a realm that is not a
    /// valid URL or is `http://` without `plain_http`, [`ErrorKind::CredentialsRequired`] when
    /// `Basic` is asked for and none are known, the keychain's errors, and the token exchange's:
    /// [`ErrorKind::TokenRequest`], [`ErrorKind::TokenTimeout`], [`ErrorKind::TokenStatus`]
    /// (401/403 as [`ErrorKind::Unauthorized`]), redirect refusals and limits,
    /// [`ErrorKind::TokenResponseTooLarge`] and [`ErrorKind::InvalidTokenResponse`].
    pub async fn challenge(
        &self,
        registry: &str,
        scopes: &[Scope],
        www_authenticate: &[String],
        plain_http: bool,
    ) -> Result<Authorization, Error> {
        let unusable = |reason: String| -> Error {
            ErrorKind::NoUsableChallenge {
                registry: registry.to_owned(),
                reason,
            }
            .into()
        };
        if www_authenticate.is_empty() {
            return Err(unusable("no WWW-Authenticate header".to_owned()));
        }
        let challenges =
            challenge::parse_all(www_authenticate).map_err(|e| unusable(e.to_string()))?;
        if let Some(b) = challenges.iter().find(|c| c.is_bearer()) {
            let realm = b
                .realm()
                .ok_or_else(|| unusable("Bearer challenge without realm".to_owned()))?;
            let realm = check_realm(registry, realm, plain_http)?;
            let mut wanted = scopes.to_vec();
            if let Some(s) = b.scope() {
                match Scope::parse_list(s) {
                    Ok(extra) => wanted.extend(extra),
                    Err(e) => {
                        tracing::warn!(registry, error = %e, "ignoring the challenge's scope")
                    }
                }
            }
            let info = BearerInfo {
                realm,
                service: b.service().map(str::to_owned),
                plain_http,
            };
            self.state()
                .bearer
                .insert(registry.to_owned(), info.clone());
            return self.bearer(registry, scopes, &wanted, &info, true).await;
        }
        if challenges.iter().any(|c| c.is_basic()) {
            return self.basic(registry, scopes).await;
        }
        let schemes: Vec<String> = challenges
            .iter()
            .map(|c| truncate(c.scheme(), 40))
            .collect();
        Err(unusable(format!(
            "unsupported scheme(s): {}",
            schemes.join(", ")
        )))
    }

    /// Forgets a cached header that the registry rejected (`invalid_token`, expired).
    pub fn invalidate(&self, registry: &str, scopes: &[Scope]) {
        let key = scope_key(registry, scopes);
        let mut st = self.state();
        st.basic.remove(registry);
        if let Some(slot) = st.slots.get(&key) {
            slot.set(None);
        }
    }

    /// The error to report when the registry still answers `401` after the retries: names the
    /// registry and where the credentials came from.
    pub fn rejection(&self, registry: &str) -> Error {
        let source = self
            .state()
            .sources
            .get(registry)
            .cloned()
            .unwrap_or(CredentialSource::Anonymous);
        if source == CredentialSource::Anonymous {
            return ErrorKind::CredentialsRequired {
                registry: registry.to_owned(),
                searched: self.inner.keychain.describe_search(),
            }
            .into();
        }
        ErrorKind::Unauthorized {
            registry: registry.to_owned(),
            credentials_from: source,
            detail: None,
        }
        .into()
    }

    async fn bearer(
        &self,
        registry: &str,
        key_scopes: &[Scope],
        wanted: &[Scope],
        info: &BearerInfo,
        only_newer: bool,
    ) -> Result<Authorization, Error> {
        let key = scope_key(registry, key_scopes);
        let slot = self.slot(key);
        let start = Instant::now();
        let _fetching = slot.fetch.lock().await;
        if let Some(e) = slot.entry() {
            let now = Instant::now();
            if now < e.refresh_at && (!only_newer || e.fetched_at >= start) {
                return Ok(e.auth);
            }
        }
        let (credential, source) = self
            .inner
            .keychain
            .credential_for(registry, first_repository(wanted))
            .await?;
        self.state()
            .sources
            .insert(registry.to_owned(), source.clone());
        let (auth, lifetime) = match &credential {
            Credential::RegistryToken(t) => {
                let auth = Authorization::bearer(t).ok_or(ErrorKind::InvalidCredential {
                    reason: "the registry token contains characters not allowed in a header",
                })?;
                (auth, REGISTRY_TOKEN_REUSE)
            }
            _ => {
                if !credential.is_anonymous() && info.realm.scheme() == "http" && !info.plain_http {
                    return Err(ErrorKind::InsecureTransport {
                        registry: registry.to_owned(),
                        url: info.realm.to_string(),
                    }
                    .into());
                }
                let merged = Scope::merge(wanted);
                let resp = Exchange {
                    http: &self.inner.http,
                    registry,
                    realm: &info.realm,
                    service: info.service.as_deref(),
                    scopes: &merged,
                    credential: &credential,
                    source: &source,
                    client_id: &self.inner.options.client_id,
                    timeout: self.inner.options.token_timeout,
                    plain_http: info.plain_http,
                }
                .run()
                .await?;
                let auth = Authorization::bearer(&resp.token).ok_or_else(|| {
                    Error::from(ErrorKind::InvalidTokenResponse {
                        registry: registry.to_owned(),
                        realm: info.realm.to_string(),
                        reason: "the token is not a valid header value".to_owned(),
                    })
                })?;
                let mut lifetime = token_response::remaining_lifetime(&resp, SystemTime::now());
                if lifetime <= self.inner.options.refresh_margin {
                    // issued_at far in the past: the token server's clock is behind ours. The
                    // registry judges expiry by its own clock; count from receipt instead.
                    tracing::debug!(
                        registry,
                        "token issued_at is in the past; counting its lifetime from now"
                    );
                    lifetime = resp.expires_in;
                }
                (auth, lifetime)
            }
        };
        let now = Instant::now();
        let margin = self.inner.options.refresh_margin.min(lifetime / 2);
        slot.set(Some(Entry {
            auth: auth.clone(),
            refresh_at: now + (lifetime - margin),
            fetched_at: now,
        }));
        Ok(auth)
    }

    async fn basic(&self, registry: &str, scopes: &[Scope]) -> Result<Authorization, Error> {
        let (credential, source) = self
            .inner
            .keychain
            .credential_for(registry, first_repository(scopes))
            .await?;
        self.state()
            .sources
            .insert(registry.to_owned(), source.clone());
        match &credential {
            Credential::Basic { username, password } => {
                let auth = Authorization::basic(username, password).ok_or(
                    ErrorKind::InvalidCredential {
                        reason: "the credential contains characters not allowed in a header",
                    },
                )?;
                self.state().basic.insert(registry.to_owned(), auth.clone());
                Ok(auth)
            }
            Credential::Anonymous => Err(ErrorKind::CredentialsRequired {
                registry: registry.to_owned(),
                searched: self.inner.keychain.describe_search(),
            }
            .into()),
            other => Err(ErrorKind::CredentialMismatch {
                registry: registry.to_owned(),
                scheme: "Basic".to_owned(),
                credential: other.describe(),
                credentials_from: source,
            }
            .into()),
        }
    }

    fn slot(&self, key: Key) -> Arc<Slot> {
        let mut st = self.state();
        if st.slots.len() >= MAX_TOKEN_CACHE_ENTRIES && !st.slots.contains_key(&key) {
            let now = Instant::now();
            st.slots
                .retain(|_, s| s.entry().is_some_and(|e| now < e.refresh_at));
            if st.slots.len() >= MAX_TOKEN_CACHE_ENTRIES {
                st.slots.clear();
            }
        }
        st.slots.entry(key).or_default().clone()
    }
}

fn check_realm(registry: &str, realm: &str, plain_http: bool) -> Result<Url, Error> {
    let invalid = |reason: &'static str| -> Error {
        ErrorKind::InvalidRealm {
            registry: registry.to_owned(),
            realm: truncate(realm, 200),
            reason,
        }
        .into()
    };
    let url = Url::parse(realm).map_err(|_| invalid("not an absolute URL"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("the URL contains user information"));
    }
    if url.host().is_none() {
        return Err(invalid("the URL has no host"));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if plain_http => Ok(url),
        "http" => Err(ErrorKind::InsecureTransport {
            registry: registry.to_owned(),
            url: truncate(realm, 200),
        }
        .into()),
        _ => Err(invalid(
            "the scheme must be https (or http for a plain-http registry)",
        )),
    }
}
