//! [`Authorization`]: a ready `Authorization` header value, redacted in `Debug`.

use std::fmt;

use base64::Engine as _;
use reqwest::header::HeaderValue;

use crate::secret::Secret;

/// An `Authorization` header value to send to a registry.
///
/// `Debug` shows only the scheme; the header value is marked sensitive so HTTP stacks don't log
/// it either.
#[derive(Clone)]
pub struct Authorization {
    scheme: &'static str,
    value: HeaderValue,
}

impl Authorization {
    /// `Bearer <token>`; `None` if the token cannot be a header value.
    pub(crate) fn bearer(token: &Secret) -> Option<Authorization> {
        Authorization::build("Bearer", format!("Bearer {}", token.expose()))
    }

    /// `Basic base64(user:password)`.
    pub(crate) fn basic(username: &str, password: &Secret) -> Option<Authorization> {
        let encoded = base64::engine::general_purpose::STANDARD
            .encode(format!("{username}:{}", password.expose()));
        Authorization::build("Basic", format!("Basic {encoded}"))
    }

    fn build(scheme: &'static str, text: String) -> Option<Authorization> {
        let mut value = HeaderValue::from_str(&text).ok()?;
        value.set_sensitive(true);
        Some(Authorization { scheme, value })
    }

    /// The header value (marked sensitive).
    pub fn header_value(&self) -> HeaderValue {
        self.value.clone()
    }

    /// `"Bearer"` or `"Basic"`.
    pub fn scheme(&self) -> &'static str {
        self.scheme
    }
}

impl fmt::Debug for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Authorization({} <redacted>)", self.scheme)
    }
}
