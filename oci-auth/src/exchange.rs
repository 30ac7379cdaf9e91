//! The token exchange with a `Bearer` realm: GET with Basic credentials, or the OAuth2 POST
//! form ([distribution token spec], [OAuth2 variant]).
//!
//! - [`Credential::Anonymous`]: `GET realm?service=…&scope=…&scope=…` without credentials.
//! - [`Credential::Basic`]: the same GET with HTTP Basic; if the realm answers 404 or 405 to the
//!   GET, the POST form with `grant_type=password` is tried once.
//! - [`Credential::IdentityToken`]: the POST form with `grant_type=refresh_token`.
//!
//! The answer is read with a size cap ([`MAX_TOKEN_RESPONSE_BYTES`]), the whole exchange
//! (redirects included) with a time limit ([`TOKEN_REQUEST_TIMEOUT`] by default).
//!
//! # Redirects
//!
//! A realm that answers `301`, `302`, `303`, `307` or `308` is followed here, hop by hop, at
//! most [`MAX_TOKEN_REDIRECTS`] times; a relative `Location` is resolved against the URL that
//! answered. The rules:
//!
//! - `Authorization` (Basic) goes only to the realm's own origin (scheme, host and port); a hop
//!   to another origin is sent without it, and gets it back if a later hop returns.
//! - The POST form carries a password or refresh token: it is re-sent only on a `307`/`308` to
//!   the realm's own origin. A `307`/`308` to another origin, and any `301`/`302`/`303` (which
//!   would turn the form into a `GET`), fail with [`ErrorKind::TokenRedirectRefused`].
//! - A hop to plain `http://` fails with [`ErrorKind::TokenRedirectRefused`] unless the
//!   registry was marked plain-HTTP/insecure.
//! - A missing or unusable `Location` fails with [`ErrorKind::TokenRedirectInvalid`]; one hop
//!   too many with [`ErrorKind::TokenRedirectLimit`].
//!
//! These errors are neither retryable nor "unauthorized".
//!
//! The caller's [`reqwest::Client`] should have automatic redirects off
//! (`reqwest::redirect::Policy::none()`, as `oci-client`'s has), so that every hop comes back
//! here. A client that follows redirects itself still never re-sends the credential form (its
//! body cannot be replayed, so a `307`/`308` comes back here), and a `GET` it followed to plain
//! HTTP or a form it turned into a `GET` is refused once the answer arrives; but it decides the
//! hop limit of `GET`s itself, and where it sends `Authorization` on them.
//!
//! # Failures
//!
//! The exchange never retries. It classifies ([`Error::is_retryable`]) and reports the
//! token server's `Retry-After` ([`Error::retry_after`]); the caller decides.
//!
//! [distribution token spec]: https://distribution.github.io/distribution/spec/auth/token/
//! [OAuth2 variant]: https://distribution.github.io/distribution/spec/auth/oauth/

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use reqwest::StatusCode;
use url::Url;

use crate::credential::{Credential, CredentialSource};
use crate::error::{Error, ErrorKind, RedirectRefusal};
use crate::scope::{Scope, truncate};
use crate::secret::Secret;
use crate::token_response::{self, TokenResponse};

/// Largest token-server response body read, in bytes; enforced while reading.
///
/// A token response is a small JSON object: a JWT of a few KiB (with an `x5c` certificate chain,
/// perhaps 10 KiB), an expiry and maybe a refresh token. A hostile or broken realm must not make
/// us buffer megabytes.
pub const MAX_TOKEN_RESPONSE_BYTES: usize = 256 * 1024;

/// Default time limit for one token exchange (connect, send, read the whole answer).
pub const TOKEN_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The `client_id` sent in OAuth2 POST requests (required there by the spec).
pub const DEFAULT_CLIENT_ID: &str = "oci-auth";

/// Most redirects followed from a token realm in one exchange.
///
/// A realm is one endpoint: a moved or load-balanced token service redirects once or twice.
/// Five hops leave room for a chain of those, while a redirect loop fails after six requests,
/// long before [`TOKEN_REQUEST_TIMEOUT`]. (`oci-client` allows 10 for registry requests, where
/// blob storage adds hops of its own.)
pub const MAX_TOKEN_REDIRECTS: u32 = 5;

/// Everything needed for one exchange.
pub(crate) struct Exchange<'a> {
    pub(crate) http: &'a reqwest::Client,
    pub(crate) registry: &'a str,
    pub(crate) realm: &'a Url,
    pub(crate) service: Option<&'a str>,
    pub(crate) scopes: &'a [Scope],
    pub(crate) credential: &'a Credential,
    pub(crate) source: &'a CredentialSource,
    pub(crate) client_id: &'a str,
    pub(crate) timeout: Duration,
    /// The registry was explicitly marked plain-HTTP/insecure: hops to `http://` are allowed.
    pub(crate) plain_http: bool,
}

enum Form<'a> {
    Password {
        username: &'a str,
        password: &'a Secret,
    },
    Refresh {
        token: &'a Secret,
    },
}

impl Exchange<'_> {
    fn realm_text(&self) -> String {
        let mut u = self.realm.clone();
        u.set_query(None);
        u.set_fragment(None);
        u.to_string()
    }

    /// Runs the exchange within the time limit.
    pub(crate) async fn run(&self) -> Result<TokenResponse, Error> {
        match tokio::time::timeout(self.timeout, self.run_inner()).await {
            Ok(r) => r,
            Err(_) => Err(ErrorKind::TokenTimeout {
                registry: self.registry.to_owned(),
                realm: self.realm_text(),
                timeout: self.timeout,
            }
            .into()),
        }
    }

    async fn run_inner(&self) -> Result<TokenResponse, Error> {
        match self.credential {
            Credential::Anonymous => self.finish(self.get(None).await?).await,
            Credential::Basic { username, password } => {
                let encoded = base64::engine::general_purpose::STANDARD
                    .encode(format!("{username}:{}", password.expose()));
                let basic = sensitive(&format!("Basic {encoded}"))?;
                let resp = self.get(Some(&basic)).await?;
                let status = resp.status();
                if (status == StatusCode::NOT_FOUND || status == StatusCode::METHOD_NOT_ALLOWED)
                    && !username.is_empty()
                {
                    tracing::debug!(
                        registry = self.registry, %status,
                        "token GET refused, trying the OAuth2 password grant"
                    );
                    return self
                        .finish(self.post(Form::Password { username, password }).await?)
                        .await;
                }
                self.finish(resp).await
            }
            Credential::IdentityToken(token) => {
                self.finish(self.post(Form::Refresh { token }).await?).await
            }
            Credential::RegistryToken(_) => Err(ErrorKind::CredentialMismatch {
                registry: self.registry.to_owned(),
                scheme: "token-exchange".to_owned(),
                credential: self.credential.describe(),
                credentials_from: self.source.clone(),
            }
            .into()),
        }
    }

    async fn get(
        &self,
        basic: Option<&reqwest::header::HeaderValue>,
    ) -> Result<reqwest::Response, Error> {
        let mut url = self.realm.clone();
        url.set_fragment(None);
        {
            let mut q = url.query_pairs_mut();
            if let Some(s) = self.service {
                q.append_pair("service", s);
            }
            for s in self.scopes {
                q.append_pair("scope", &s.to_string());
            }
        }
        self.send(url, basic, None).await
    }

    async fn post(&self, form: Form<'_>) -> Result<reqwest::Response, Error> {
        let scope = self
            .scopes
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ");
        // The serializer is not `Send`: finish it before any `.await`.
        let body = {
            let mut body = url::form_urlencoded::Serializer::new(String::new());
            match form {
                Form::Password { username, password } => {
                    body.append_pair("grant_type", "password");
                    body.append_pair("username", username);
                    body.append_pair("password", password.expose());
                }
                Form::Refresh { token } => {
                    body.append_pair("grant_type", "refresh_token");
                    body.append_pair("refresh_token", token.expose());
                }
            }
            body.append_pair("service", self.service.unwrap_or_default());
            body.append_pair("client_id", self.client_id);
            if !scope.is_empty() {
                body.append_pair("scope", &scope);
            }
            body.finish()
        };
        let mut url = self.realm.clone();
        url.set_fragment(None);
        self.send(url, None, Some(&body)).await
    }

    /// Sends one token request and follows the realm's redirects by hand (see the module docs).
    /// `form` is the credential form of a POST; without it the request is a GET, with `basic`
    /// sent to the realm's own origin only.
    async fn send(
        &self,
        first: Url,
        basic: Option<&reqwest::header::HeaderValue>,
        form: Option<&str>,
    ) -> Result<reqwest::Response, Error> {
        let mut url = first;
        for _hop in 0..=MAX_TOKEN_REDIRECTS {
            let mut req = match form {
                // A streamed body cannot be replayed: a client that follows redirects itself
                // hands a 307/308 back instead of re-sending the credentials.
                Some(body) => self
                    .http
                    .post(url.clone())
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(reqwest::Body::wrap(body.to_owned())),
                None => self.http.get(url.clone()),
            };
            if let Some(b) = basic
                && url.origin() == self.realm.origin()
            {
                req = req.header(reqwest::header::AUTHORIZATION, b.clone());
            }
            let resp = req.send().await.map_err(|e| self.transport(&e, &url))?;
            if resp.url().as_str() != url.as_str() {
                // The client followed redirects itself; judge where it ended up.
                self.check_followed(resp.url(), form.is_some())?;
            }
            let status = resp.status();
            if !is_followed_redirect(status) {
                return Ok(resp);
            }
            let next = self.location(status, &url, &resp)?;
            self.check_hop(status, &next, form.is_some())?;
            tracing::debug!(
                registry = self.registry,
                status = status.as_u16(),
                to = %origin_text(&next),
                "token realm redirected"
            );
            url = next;
        }
        Err(ErrorKind::TokenRedirectLimit {
            registry: self.registry.to_owned(),
            realm: self.realm_text(),
            limit: MAX_TOKEN_REDIRECTS,
        }
        .into())
    }

    /// The next URL of a redirect answer: its `Location`, resolved against `url`.
    fn location(
        &self,
        status: StatusCode,
        url: &Url,
        resp: &reqwest::Response,
    ) -> Result<Url, Error> {
        let invalid = |reason: &'static str| -> Error {
            ErrorKind::TokenRedirectInvalid {
                registry: self.registry.to_owned(),
                realm: self.realm_text(),
                status: status.as_u16(),
                reason,
            }
            .into()
        };
        let values = resp.headers().get_all(reqwest::header::LOCATION);
        let mut values = values.iter();
        let value = values.next().ok_or_else(|| invalid("no Location header"))?;
        if values.next().is_some() {
            return Err(invalid("more than one Location header"));
        }
        let value = value
            .to_str()
            .map_err(|_| invalid("the Location is not visible ASCII"))?;
        let mut next = url
            .join(value.trim())
            .map_err(|_| invalid("the Location is not a valid URL"))?;
        if !matches!(next.scheme(), "http" | "https") || next.host().is_none() {
            return Err(invalid("the Location is not an http(s) URL"));
        }
        if !next.username().is_empty() || next.password().is_some() {
            return Err(invalid("the Location contains user information"));
        }
        next.set_fragment(None);
        Ok(next)
    }

    /// The rules for following one hop to `next` (see the module docs).
    fn check_hop(&self, status: StatusCode, next: &Url, has_form: bool) -> Result<(), Error> {
        if next.scheme() == "http" && !self.plain_http {
            return Err(self.refused(next, RedirectRefusal::Downgrade));
        }
        if has_form {
            if !matches!(
                status,
                StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT
            ) {
                return Err(self.refused(next, RedirectRefusal::CredentialFormMethodChange));
            }
            if next.origin() != self.realm.origin() {
                return Err(self.refused(next, RedirectRefusal::CredentialFormToOtherOrigin));
            }
        }
        Ok(())
    }

    /// The rules applied to where a client that follows redirects itself ended up.
    fn check_followed(&self, last: &Url, has_form: bool) -> Result<(), Error> {
        if last.scheme() == "http" && !self.plain_http {
            return Err(self.refused(last, RedirectRefusal::Downgrade));
        }
        if has_form {
            // The form body cannot be replayed, so the client only follows a 301/302/303,
            // turning the POST into a GET without the form.
            return Err(self.refused(last, RedirectRefusal::CredentialFormMethodChange));
        }
        Ok(())
    }

    fn refused(&self, location: &Url, reason: RedirectRefusal) -> Error {
        ErrorKind::TokenRedirectRefused {
            registry: self.registry.to_owned(),
            realm: self.realm_text(),
            location: origin_text(location),
            reason,
        }
        .into()
    }

    async fn finish(&self, mut resp: reqwest::Response) -> Result<TokenResponse, Error> {
        let status = resp.status();
        let realm = self.realm_text();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(ErrorKind::Unauthorized {
                registry: self.registry.to_owned(),
                credentials_from: self.source.clone(),
                detail: Some(format!("token server {realm} answered {}", status.as_u16())),
            }
            .into());
        }
        if !status.is_success() {
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| token_response::parse_retry_after(v, SystemTime::now()));
            return Err(ErrorKind::TokenStatus {
                registry: self.registry.to_owned(),
                realm,
                status: status.as_u16(),
                retry_after,
            }
            .into());
        }
        let too_large = || -> Error {
            ErrorKind::TokenResponseTooLarge {
                registry: self.registry.to_owned(),
                realm: self.realm_text(),
                limit: MAX_TOKEN_RESPONSE_BYTES,
            }
            .into()
        };
        if resp
            .content_length()
            .is_some_and(|l| l > MAX_TOKEN_RESPONSE_BYTES as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        let url = resp.url().clone();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.transport(&e, &url))? {
            if body.len() + chunk.len() > MAX_TOKEN_RESPONSE_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        token_response::parse(&body).map_err(|reason| {
            ErrorKind::InvalidTokenResponse {
                registry: self.registry.to_owned(),
                realm: self.realm_text(),
                reason: reason.to_owned(),
            }
            .into()
        })
    }

    /// Classifies a client error for a request to `url`.
    fn transport(&self, e: &reqwest::Error, url: &Url) -> Error {
        if e.is_timeout() {
            return ErrorKind::TokenTimeout {
                registry: self.registry.to_owned(),
                realm: self.realm_text(),
                timeout: self.timeout,
            }
            .into();
        }
        if e.is_redirect() {
            return self.refused(e.url().unwrap_or(url), RedirectRefusal::ClientPolicy);
        }
        if e.is_builder() {
            // A URL the client cannot send to: nothing was sent, and trying again cannot help.
            return ErrorKind::InvalidRealm {
                registry: self.registry.to_owned(),
                realm: truncate(&origin_text(url), 200),
                reason: "the HTTP client cannot send a request to this URL",
            }
            .into();
        }
        let reason = if e.is_connect() {
            "cannot connect"
        } else if e.is_body() || e.is_decode() {
            "the answer broke off while it was read"
        } else {
            "the request failed (connection closed or reset)"
        };
        ErrorKind::TokenRequest {
            registry: self.registry.to_owned(),
            realm: self.realm_text(),
            reason: reason.to_owned(),
        }
        .into()
    }
}

/// The redirect statuses followed by hand.
fn is_followed_redirect(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::MOVED_PERMANENTLY
            | StatusCode::FOUND
            | StatusCode::SEE_OTHER
            | StatusCode::TEMPORARY_REDIRECT
            | StatusCode::PERMANENT_REDIRECT
    )
}

/// `scheme://host[:port]` of `url`: what an error may say about a redirect target.
fn origin_text(url: &Url) -> String {
    url.origin().ascii_serialization()
}

fn sensitive(text: &str) -> Result<reqwest::header::HeaderValue, Error> {
    let mut v =
        reqwest::header::HeaderValue::from_str(text).map_err(|_| ErrorKind::InvalidCredential {
            reason: "the credential contains characters not allowed in an HTTP header",
        })?;
    v.set_sensitive(true);
    Ok(v)
}
