//! URL helpers: registry base URLs, origins, redaction for errors.

use url::Url;

/// The origin of `url` as `scheme://host[:port]` (port only when not the scheme's default).
pub(crate) fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// `url` made safe for errors and logs: no user info, no fragment, and no query string unless it
/// is on the registry's own origin (presigned storage URLs carry signatures in the query).
pub(crate) fn redact(url: &Url, registry_origin: &str) -> String {
    let mut u = url.clone();
    // Both setters only fail on URLs that cannot have credentials; ignoring is correct there.
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_fragment(None);
    if origin(&u) != registry_origin {
        u.set_query(None);
    } else if u.query().is_some_and(|q| q.contains("_state=")) {
        // distribution's upload locations carry an HMAC-signed session state.
        let kept: Vec<(String, String)> = u
            .query_pairs()
            .filter(|(k, _)| k != "_state")
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        if kept.is_empty() {
            u.set_query(None);
        } else {
            u.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    u.to_string()
}

/// The `host[:port]` of `url` as written in references (explicit port kept even if default).
pub(crate) fn authority(url: &Url) -> String {
    let host = match url.host() {
        Some(url::Host::Ipv6(a)) => format!("[{a}]"),
        Some(h) => h.to_string(),
        None => String::new(),
    };
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    }
}

/// Percent-encodes a query parameter value.
pub(crate) fn encode_query_value(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}
