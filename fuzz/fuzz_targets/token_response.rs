//! Fuzz target: any bytes as a token-server answer through `oci_auth::token_response::parse`,
//! then the lifetime arithmetic on what it accepted; UTF-8 input also as an `issued_at` through
//! `oci_ref::rfc3339::parse` and as a `Retry-After` value through `parse_retry_after`. Nothing may panic
//! (no overflow on absurd `expires_in`, far-future dates or huge delay-seconds), an accepted
//! token is never longer than `TOKEN_LENGTH_MAX`, fits a header and never shows in `Debug`, and
//! its lifetime stays within `DEFAULT_TOKEN_LIFETIME..=TOKEN_LIFETIME_MAX`.
//!
//! Run from the repository root: `RUSTC_BOOTSTRAP=1 cargo fuzz run token_response`.
//! The corpus `fuzz/corpus/token_response` is replayed by `cargo test -p oci-auth`.

#![no_main]

use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use oci_auth::token_response::{self, parse_retry_after, remaining_lifetime};
use oci_ref::rfc3339::parse as parse_rfc3339;
use oci_auth::{DEFAULT_TOKEN_LIFETIME, TOKEN_LENGTH_MAX, TOKEN_LIFETIME_MAX};

fuzz_target!(|data: &[u8]| {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    if let Ok(r) = token_response::parse(data) {
        let token = r.token.expose();
        assert!(!token.is_empty() && token.len() <= TOKEN_LENGTH_MAX);
        assert!(
            token.bytes().all(|b| (0x21..0x7f).contains(&b)),
            "header-safe token"
        );
        assert!((DEFAULT_TOKEN_LIFETIME..=TOKEN_LIFETIME_MAX).contains(&r.expires_in));
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
});
