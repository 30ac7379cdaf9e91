//! What the `oci-auth` fuzz targets check on one input. Included (`#[path]`) by the targets in
//! `fuzz/fuzz_targets/` and by the corpus replay in `oci-auth/tests/oci_auth/fuzzed.rs`, so a
//! replay runs exactly what was fuzzed. Nothing may panic; each function's asserts are the
//! properties its target holds.

#![allow(dead_code)]

use std::time::{Duration, SystemTime};

use oci_auth::config::{AuthFile, decode_auth, normalize_key, server_key};
use oci_auth::helper_protocol::{
    CREDENTIALS_NOT_FOUND, KNOWN_MESSAGES, failure_excerpt, is_not_found, parse_get_response,
};
use oci_auth::token_response::{self, parse_retry_after, remaining_lifetime};
use oci_auth::{
    Credential, DEFAULT_TOKEN_LIFETIME, MAX_TOKEN_LENGTH, MAX_TOKEN_LIFETIME, Scope, challenge,
};
use oci_ref::rfc3339::parse as parse_rfc3339;

/// `WWW-Authenticate` values: accepted challenges survive their display round trip.
pub(crate) fn www_authenticate(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(challenges) = challenge::parse(text) {
        for c in &challenges {
            let _ = (c.realm(), c.service(), c.scope(), c.error(), c.token68());
            let shown = c.to_string();
            let again = challenge::parse(&shown)
                .unwrap_or_else(|e| panic!("{shown:?} does not parse: {e}"));
            assert_eq!(again.len(), 1, "one challenge displays as one: {shown:?}");
            assert_eq!(&again[0], c, "display round trip of {shown:?}");
        }
    }
    let lines: Vec<&str> = text.split('\n').collect();
    let _ = challenge::parse_all(&lines);
}

/// docker `config.json` / containers `auth.json` bytes, then every lookup a keychain makes.
pub(crate) fn auth_config(data: &[u8]) {
    if let Ok(file) = AuthFile::parse(data) {
        let _ = format!("{file:?}");
        for entry in file.auths() {
            let _ = file.find(&entry.normalized, None);
            let _ = file.helper_for(&entry.normalized);
            let _ = normalize_key(&entry.key);
        }
        let _ = file.find("registry.example", Some("library/busybox"));
        let _ = file.creds_store();
        let _ = file.cred_helpers();
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = decode_auth(text);
        let _ = normalize_key(text);
        let _ = server_key(text);
    }
}

/// A token-server answer: an accepted token is bounded, header-safe and hidden from `Debug`;
/// its lifetime stays within bounds; `issued_at` and `Retry-After` parsing never overflows.
pub(crate) fn token_response(data: &[u8]) {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    if let Ok(r) = token_response::parse(data) {
        let token = r.token.expose();
        assert!(!token.is_empty() && token.len() <= MAX_TOKEN_LENGTH);
        assert!(
            token.bytes().all(|b| (0x21..0x7f).contains(&b)),
            "header-safe token"
        );
        assert!((DEFAULT_TOKEN_LIFETIME..=MAX_TOKEN_LIFETIME).contains(&r.expires_in));
        assert!(remaining_lifetime(&r, now) <= r.expires_in);
        assert!(
            format!("{r:?}").contains("token: Secret(<redacted>)"),
            "Debug hides the token"
        );
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_rfc3339(text);
    if let Some(d) = parse_retry_after(text, now) {
        let trimmed = text.trim_matches([' ', '\t']);
        if trimmed.bytes().all(|b| b.is_ascii_digit()) {
            assert_eq!(d.as_secs(), trimmed.parse::<u64>().unwrap_or(u64::MAX));
        }
    }
}

/// A credential helper's output: an accepted answer is a non-empty secret `Debug` hides; the
/// excerpt an error may repeat is always a fixed text.
pub(crate) fn helper_protocol(data: &[u8]) {
    if let Ok(Some(c)) = parse_get_response(data) {
        let secret = match &c {
            Credential::Basic { password, .. } => password,
            Credential::IdentityToken(token) => token,
            other => panic!("a helper answer became {other:?}"),
        };
        assert!(
            !secret.is_empty(),
            "an empty secret is anonymous, not a credential"
        );
        assert!(
            format!("{c:?}").contains("Secret(<redacted>)"),
            "Debug hides the secret"
        );
    }
    let excerpt = failure_excerpt(data);
    let fixed = KNOWN_MESSAGES.contains(&excerpt.as_str())
        || excerpt == "no output"
        || excerpt.starts_with("its message is withheld");
    assert!(fixed, "excerpt {excerpt:?} is not a fixed text");
    if is_not_found(data) {
        assert_eq!(excerpt, CREDENTIALS_NOT_FOUND);
    }
}

/// A challenge's `scope` parameter: accepted scopes survive their display round trip, and
/// `Scope::merge` keeps every scope covered and is idempotent.
pub(crate) fn scope(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Scope::parse(text);
    if let Ok(scopes) = Scope::parse_list(text) {
        for s in &scopes {
            let shown = s.to_string();
            let again =
                Scope::parse(&shown).unwrap_or_else(|e| panic!("{shown:?} does not parse: {e}"));
            assert_eq!(&again, s, "display round trip of {shown:?}");
        }
        let merged = Scope::merge(&scopes);
        for s in &scopes {
            assert!(merged.iter().any(|m| m.covers(s)), "{s} lost by merge");
        }
        assert_eq!(Scope::merge(&merged), merged, "merge is idempotent");
    }
}
