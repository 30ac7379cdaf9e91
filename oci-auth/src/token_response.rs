//! Token-server answers: decoding and lifetime. Pure, no IO.
//!
//! [Distribution token docs](https://distribution.github.io/distribution/spec/auth/token/#token-response-fields):
//! `token` or its OAuth2 alias `access_token` (one must be present; `token` wins when both are),
//! `expires_in` in seconds (default 60, and never less than 60), `issued_at` in RFC 3339.
//!
//! An error answer's `Retry-After` header is read by [`parse_retry_after`].

use std::time::{Duration, SystemTime};

use serde::Deserialize;

use crate::secret::Secret;

/// Lifetime assumed when the token server sends no `expires_in`, and the minimum honoured
/// (distribution token spec: "tokens should never last less than 60 seconds").
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(60);

/// Longest token lifetime believed, however long `expires_in` says. Bounds the cache against
/// absurd values (and `Instant` arithmetic against overflow); a token that really lives longer
/// is simply fetched again after a day.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// Longest bearer token accepted, in bytes. Real tokens (JWTs with a certificate chain) are a
/// few KiB; the token goes into every request header, and hyper's default limit for a whole
/// request head is far below this bound's multiples.
pub const MAX_TOKEN_LENGTH: usize = 64 * 1024;

/// A decoded token response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenResponse {
    /// The bearer token.
    pub token: Secret,
    /// How long it is valid from `issued_at` (or from receipt).
    pub expires_in: Duration,
    /// When the server says it issued the token.
    pub issued_at: Option<SystemTime>,
    /// A refresh token, when the server sent one.
    pub refresh_token: Option<Secret>,
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
    #[serde(default)]
    issued_at: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
}

/// Decodes a token response body. The error never contains the body.
///
/// # Errors
///
/// A fixed description (never the body) when the body is not a JSON object, has neither a
/// non-empty `token` nor `access_token`, carries a token longer than [`MAX_TOKEN_LENGTH`] or
/// with characters not allowed in an HTTP header, or an `expires_in` that is not a usable
/// number of seconds.
pub fn parse(body: &[u8]) -> Result<TokenResponse, &'static str> {
    let raw: Raw = serde_json::from_slice(body).map_err(|_| "body is not a JSON object")?;
    let token = raw
        .token
        .filter(|t| !t.is_empty())
        .or(raw.access_token.filter(|t| !t.is_empty()))
        .ok_or("neither \"token\" nor \"access_token\" is present")?;
    if token.len() > MAX_TOKEN_LENGTH {
        return Err("token is longer than MAX_TOKEN_LENGTH");
    }
    if token.bytes().any(|b| !(0x21..0x7f).contains(&b)) {
        return Err("token contains characters not allowed in an HTTP header");
    }
    let expires_in = match raw.expires_in {
        None | Some(serde_json::Value::Null) => DEFAULT_TOKEN_LIFETIME,
        Some(serde_json::Value::Number(n)) => match n.as_u64() {
            Some(s) => Duration::from_secs(s.min(MAX_TOKEN_LIFETIME.as_secs())),
            // Negative: nonsense, use the default. Fractional: whole seconds are enough.
            None if n.as_i64().is_some() => DEFAULT_TOKEN_LIFETIME,
            None => match n.as_f64() {
                Some(f) if f.is_finite() && f >= 0.0 => {
                    Duration::from_secs(f.min(MAX_TOKEN_LIFETIME.as_secs_f64()) as u64)
                }
                _ => return Err("\"expires_in\" is not a usable number of seconds"),
            },
        },
        Some(_) => return Err("\"expires_in\" is not a number"),
    }
    .clamp(DEFAULT_TOKEN_LIFETIME, MAX_TOKEN_LIFETIME);
    let issued_at = match raw.issued_at.filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => {
            Some(oci_ref::rfc3339::parse(&s).ok_or("\"issued_at\" is not an RFC 3339 time")?)
        }
    };
    Ok(TokenResponse {
        token: Secret::new(token),
        expires_in,
        issued_at,
        refresh_token: raw.refresh_token.filter(|t| !t.is_empty()).map(Secret::new),
    })
}

/// How long the token remains valid, seen from `now`: `expires_in` minus the time elapsed since
/// `issued_at`. An `issued_at` in the future (clock skew) counts as `now`; one so old that the
/// token is already expired gives zero.
pub fn remaining_lifetime(resp: &TokenResponse, now: SystemTime) -> Duration {
    let elapsed = resp
        .issued_at
        .and_then(|at| now.duration_since(at).ok())
        .unwrap_or(Duration::ZERO);
    resp.expires_in.saturating_sub(elapsed)
}

/// Parses a `Retry-After` value ([RFC 9110 § 10.2.3](https://www.rfc-editor.org/rfc/rfc9110#section-10.2.3)):
/// delay-seconds (`120`) or an HTTP-date (`Wed, 21 Oct 2015 07:28:00 GMT`, and the obsolete
/// RFC 850 and asctime forms), counted from `now`. A date in the past gives zero;
/// anything else (empty, signed, fractional, garbage) gives `None`. Nothing is capped here
/// (delay-seconds beyond `u64` saturate): bounding the wait is the caller's retry policy.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim_matches([' ', '\t']);
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}
