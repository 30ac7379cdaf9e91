//! The request loop every endpoint goes through: retries outside, authentication inside,
//! redirects innermost (the oras-go layering).
//!
//! - **Retries**: see [`crate::RetryPolicy`]. Bodies are [`Bytes`], so a retried request
//!   re-sends the same bytes without re-reading anything.
//! - **Authentication**: the cached authorization (if any) is sent first; a `401` from the
//!   registry's origin runs the challenge once and retries; a second `401` whose challenge says
//!   `error="invalid_token"` invalidates the cache and runs the challenge once more. There is no
//!   loop: the last `401` becomes an unauthorized [`Error::Registry`].
//! - **Redirects**: reqwest's automatic redirects are off; we follow at most
//!   [`crate::Limits::max_redirects`] hops ourselves and send `Authorization` only to the
//!   registry's own origin or to an origin configured as trusted.
//! - **Errors**: URLs in errors and logs are redacted ([`crate::urls`]); an HTTP library error
//!   becomes the source of [`Error::Transport`] only with its own copy of the URL removed.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, Response, StatusCode};
use url::Url;

use crate::client::Inner;
use crate::error::{Error, Limit, Protocol, TransportKind, method_name, parse_error_body};
use crate::urls;
use oci_auth::token_response::parse_retry_after;

/// One logical request to a registry.
#[derive(Debug, Clone)]
pub(crate) struct Req {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<Bytes>,
    /// Safe to repeat after a 5xx/408 (GET, HEAD, DELETE, manifest PUT).
    pub(crate) idempotent: bool,
}

impl Req {
    pub(crate) fn new(method: Method, url: Url) -> Req {
        let idempotent = matches!(method, Method::GET | Method::HEAD | Method::DELETE);
        Req {
            method,
            url,
            headers: HeaderMap::new(),
            body: None,
            idempotent,
        }
    }

    pub(crate) fn header(mut self, name: header::HeaderName, value: HeaderValue) -> Req {
        self.headers.insert(name, value);
        self
    }

    pub(crate) fn body(mut self, body: Bytes) -> Req {
        self.body = Some(body);
        self
    }

    pub(crate) fn idempotent(mut self, idempotent: bool) -> Req {
        self.idempotent = idempotent;
        self
    }
}

/// Where a request goes and with which permissions.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// Registry as named in references (`docker.io`, `localhost:5000`).
    pub(crate) registry: String,
    /// `scheme://host[:port]` of the registry's API host.
    pub(crate) origin: String,
    pub(crate) plain_http: bool,
    pub(crate) scopes: Vec<oci_auth::Scope>,
}

impl Inner {
    /// Sends `req` with retries, authentication and redirects. Returns any final response,
    /// error statuses included, except that transport failures are errors.
    pub(crate) async fn send(&self, target: &Target, req: Req) -> Result<Response, Error> {
        let policy = &self.config.retry;
        let mut attempt = 0u32;
        let mut waited = Duration::ZERO;
        loop {
            attempt += 1;
            let result = self.send_authenticated(target, &req).await;
            let retry_after = match &result {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let retry = status == 429
                        || (req.idempotent && (status == 408 || (500..=599).contains(&status)));
                    if !retry {
                        return result;
                    }
                    resp.headers()
                        .get(header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, SystemTime::now()))
                }
                Err(e) => {
                    let retry = match e {
                        Error::Transport {
                            kind: TransportKind::Connect,
                            ..
                        } => true,
                        Error::Transport {
                            kind: TransportKind::Timeout,
                            ..
                        } => req.idempotent,
                        // The token exchange failed for a reason that may pass (the token
                        // server's 429/5xx, a cut or stalled answer): nothing reached the
                        // registry yet, so any request may be repeated.
                        Error::Auth { source, .. } => source.is_retryable(),
                        _ => false,
                    };
                    if !retry {
                        return result;
                    }
                    match e {
                        Error::Auth { source, .. } => source.retry_after(),
                        _ => None,
                    }
                }
            };
            let Some(delay) = policy.delay(attempt, waited, retry_after) else {
                return result;
            };
            tracing::debug!(attempt, ?delay, url = %self.redact(&req.url, target), "retrying");
            drop(result);
            tokio::time::sleep(delay).await;
            waited += delay;
        }
    }

    /// Sends an idempotent `req` that must succeed and reads its body, capped at `max` bytes.
    ///
    /// [`Inner::send`] retries what happens before the status line; this also retries when the
    /// body breaks off or stalls (a cut connection, a read timeout), repeating the whole request
    /// under the same [`crate::RetryPolicy`]. Non-idempotent requests are read once.
    pub(crate) async fn get_body(
        &self,
        target: &Target,
        req: Req,
        max: u64,
    ) -> Result<Body, BodyError> {
        let policy = &self.config.retry;
        let mut attempt = 0u32;
        let mut waited = Duration::ZERO;
        loop {
            attempt += 1;
            let resp = self.send(target, req.clone()).await?;
            if !resp.status().is_success() {
                return Err(self.status_error(&req.method, target, resp).await.into());
            }
            let url = self.redact(resp.url(), target);
            let headers = resp.headers().clone();
            let error = match read_capped(resp, max, &req.method, &url).await {
                Ok(bytes) => {
                    return Ok(Body { headers, bytes });
                }
                Err(CappedError::TooLarge(_)) => return Err(BodyError::TooLarge),
                Err(CappedError::Other(e)) => e,
            };
            let delay = if req.idempotent && error.is_retryable() {
                policy.delay(attempt, waited, None)
            } else {
                None
            };
            let Some(delay) = delay else {
                return Err(error.into());
            };
            tracing::debug!(attempt, ?delay, %url, "body broke off, retrying");
            tokio::time::sleep(delay).await;
            waited += delay;
        }
    }

    async fn send_authenticated(&self, target: &Target, req: &Req) -> Result<Response, Error> {
        let first = self
            .auth
            .authorize(&target.registry, &target.scopes)
            .await
            .map_err(|source| Error::Auth {
                url: self.redact(&req.url, target),
                source,
            })?;
        let resp = self.send_redirects(target, req, first.as_ref()).await?;
        if !self.is_registry_401(target, &resp) {
            return Ok(resp);
        }
        let challenges = www_authenticate(resp.headers());
        drop(resp);
        let auth = self.challenge(target, req, &challenges).await?;
        let resp = self.send_redirects(target, req, Some(&auth)).await?;
        if !self.is_registry_401(target, &resp) {
            return Ok(resp);
        }
        let challenges = www_authenticate(resp.headers());
        drop(resp);
        if challenges.iter().any(|c| c.contains("invalid_token")) {
            self.auth.invalidate(&target.registry, &target.scopes);
            let auth = self.challenge(target, req, &challenges).await?;
            let resp = self.send_redirects(target, req, Some(&auth)).await?;
            if !self.is_registry_401(target, &resp) {
                return Ok(resp);
            }
        }
        Err(Error::Auth {
            url: self.redact(&req.url, target),
            source: self.auth.rejection(&target.registry),
        })
    }

    async fn challenge(
        &self,
        target: &Target,
        req: &Req,
        challenges: &[String],
    ) -> Result<oci_auth::Authorization, Error> {
        self.auth
            .challenge(
                &target.registry,
                &target.scopes,
                challenges,
                target.plain_http,
            )
            .await
            .map_err(|source| Error::Auth {
                url: self.redact(&req.url, target),
                source,
            })
    }

    fn is_registry_401(&self, target: &Target, resp: &Response) -> bool {
        resp.status() == StatusCode::UNAUTHORIZED && urls::origin(resp.url()) == target.origin
    }

    async fn send_redirects(
        &self,
        target: &Target,
        req: &Req,
        auth: Option<&oci_auth::Authorization>,
    ) -> Result<Response, Error> {
        let max = self.config.limits.max_redirects;
        let mut url = req.url.clone();
        let mut method = req.method.clone();
        let mut body = req.body.clone();
        for _hop in 0..=max {
            let hop_origin = urls::origin(&url);
            let http = self.http_for(&url);
            let mut rb = http
                .request(method.clone(), url.clone())
                .headers(req.headers.clone());
            if let Some(a) = auth
                && (hop_origin == target.origin || self.config.is_trusted_origin(&hop_origin))
            {
                rb = rb.header(header::AUTHORIZATION, a.header_value());
            }
            if let Some(b) = &body {
                rb = rb.body(b.clone());
            } else if matches!(method, Method::POST | Method::PUT | Method::PATCH) {
                rb = rb.header(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
            }
            let resp = rb
                .send()
                .await
                .map_err(|e| self.transport(&method, &url, target, e))?;
            let status = resp.status();
            if !status.is_redirection() || status == StatusCode::NOT_MODIFIED {
                log_warnings(resp.headers());
                return Ok(resp);
            }
            let next = resp
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| {
                    Error::protocol(&self.redact(&url, target), Protocol::MissingLocation)
                })?;
            let next = url
                .join(next)
                .map_err(|_| Error::protocol(&self.redact(&url, target), Protocol::InvalidUrl))?;
            if !matches!(next.scheme(), "http" | "https") {
                return Err(Error::protocol(
                    &self.redact(&url, target),
                    Protocol::InvalidUrl,
                ));
            }
            if status == StatusCode::SEE_OTHER
                || (matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND)
                    && method == Method::POST)
            {
                if method != Method::HEAD {
                    method = Method::GET;
                }
                body = None;
            }
            tracing::debug!(from = %self.redact(&url, target), to = %self.redact(&next, target), "redirect");
            url = next;
        }
        Err(Error::limit(
            &self.redact(&req.url, target),
            Limit::Redirects,
            u64::from(max),
        ))
    }

    pub(crate) fn http_for(&self, url: &Url) -> &reqwest::Client {
        match &self.insecure_http {
            Some(insecure)
                if self
                    .config
                    .registry_options(&urls::authority(url))
                    .skip_tls_verify =>
            {
                insecure
            }
            _ => &self.http,
        }
    }

    pub(crate) fn redact(&self, url: &Url, target: &Target) -> String {
        urls::redact(url, &target.origin)
    }

    pub(crate) fn transport(
        &self,
        method: &Method,
        url: &Url,
        target: &Target,
        e: reqwest::Error,
    ) -> Error {
        transport_error(method, &self.redact(url, target), e)
    }

    /// Turns an error status into [`Error::Registry`], reading at most
    /// [`crate::error::MAX_ERROR_BODY_BYTES`] of the body.
    pub(crate) async fn status_error(
        &self,
        method: &Method,
        target: &Target,
        resp: Response,
    ) -> Error {
        let url = self.redact(resp.url(), target);
        let status = resp.status().as_u16();
        let body = if *method == Method::HEAD {
            Bytes::new()
        } else {
            read_capped(
                resp,
                crate::error::MAX_ERROR_BODY_BYTES as u64,
                method,
                &url,
            )
            .await
            .unwrap_or_else(|e| match e {
                CappedError::TooLarge(partial) => partial,
                CappedError::Other(_) => Bytes::new(),
            })
        };
        Error::Registry {
            method: method_name(method),
            url,
            status,
            errors: parse_error_body(&body),
        }
    }
}

/// Turns an HTTP library error into [`Error::Transport`] for the (redacted) `url`.
///
/// The HTTP library's error carries the full URL it was sending to, user info and query
/// included (a presigned storage URL's signature, an upload's `_state`); it is dropped here so
/// that no part of the `source()` chain shows more than the redacted `url` field does.
pub(crate) fn transport_error(method: &Method, url: &str, e: reqwest::Error) -> Error {
    let kind = if e.is_timeout() {
        TransportKind::Timeout
    } else if is_plain_http_answer(&e) {
        TransportKind::PlainHttpServer
    } else if e.is_connect() {
        TransportKind::Connect
    } else if e.is_body() || e.is_decode() {
        TransportKind::Body
    } else {
        TransportKind::Request
    };
    Error::Transport {
        method: method_name(method),
        url: url.to_owned(),
        kind,
        source: Box::new(e.without_url()),
    }
}

/// Whether a TLS handshake failed because the server answered in plain HTTP: rustls reads the
/// first bytes of `HTTP/1.1 400 …` as a record of an invalid content type. The rustls error sits
/// inside an `io::Error`, whose `source()` skips it, so both are looked through; where a layer
/// of the HTTP stack keeps only the message, rustls's text for that error is recognised.
fn is_plain_http_answer(e: &reqwest::Error) -> bool {
    /// `rustls::Error::InvalidMessage(InvalidContentType)` as rustls displays it.
    const RUSTLS_TEXT: &str = "received corrupt message of type InvalidContentType";
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        let inner = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|i| i as &(dyn std::error::Error + 'static));
        for candidate in [Some(err), inner].into_iter().flatten() {
            if let Some(rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType)) =
                candidate.downcast_ref::<rustls::Error>()
            {
                return true;
            }
            if candidate.to_string().contains(RUSTLS_TEXT) {
                return true;
            }
        }
        next = err.source();
    }
    false
}

/// Longest `Warning` header text logged
/// ([distribution-spec v1.1 § Warnings](https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#warnings):
/// at most 4096 bytes in total).
const MAX_WARNING_BYTES: usize = 4096;

/// Logs registry `Warning: 299 - "text"` headers; no automated action is taken, as the spec asks.
fn log_warnings(headers: &HeaderMap) {
    let mut budget = MAX_WARNING_BYTES;
    for v in headers
        .get_all(header::WARNING)
        .iter()
        .filter_map(|v| v.to_str().ok())
    {
        let text: String = v.chars().filter(|c| !c.is_control()).take(budget).collect();
        budget = budget.saturating_sub(text.len());
        tracing::warn!(warning = %text, "registry warning");
        if budget == 0 {
            break;
        }
    }
}

fn www_authenticate(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect()
}

/// A successful answer read whole by [`Inner::get_body`].
pub(crate) struct Body {
    pub(crate) headers: HeaderMap,
    pub(crate) bytes: Bytes,
}

/// Why [`Inner::get_body`] failed.
pub(crate) enum BodyError {
    /// The body exceeded the cap; the caller names the limit.
    TooLarge,
    /// Anything else.
    Other(Error),
}

impl From<Error> for BodyError {
    fn from(e: Error) -> BodyError {
        BodyError::Other(e)
    }
}

/// Why [`read_capped`] stopped.
pub(crate) enum CappedError {
    /// The body exceeded the cap; the bytes read so far (at most the cap) are kept.
    TooLarge(Bytes),
    /// The body broke off.
    Other(Error),
}

/// Reads a body into memory, stopping as soon as it exceeds `max` bytes (the rest is never read;
/// the connection is dropped). A `Content-Length` above `max` fails before reading anything.
pub(crate) async fn read_capped(
    mut resp: Response,
    max: u64,
    method: &Method,
    url: &str,
) -> Result<Bytes, CappedError> {
    if resp.content_length().is_some_and(|n| n > max) {
        return Err(CappedError::TooLarge(Bytes::new()));
    }
    let mut buf = Vec::with_capacity(resp.content_length().unwrap_or(0).min(max) as usize);
    loop {
        let chunk = resp
            .chunk()
            .await
            .map_err(|e| CappedError::Other(transport_error(method, url, e)))?;
        let Some(chunk) = chunk else {
            return Ok(Bytes::from(buf));
        };
        let room = max.saturating_sub(buf.len() as u64) as usize;
        if chunk.len() > room {
            buf.extend_from_slice(&chunk[..room]);
            return Err(CappedError::TooLarge(Bytes::from(buf)));
        }
        buf.extend_from_slice(&chunk);
    }
}
