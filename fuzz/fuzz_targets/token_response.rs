//! Fuzz target: any bytes as a token-server answer through `oci_auth::token_response::parse`,
//! then the lifetime arithmetic on what it accepted; UTF-8 input also as an `issued_at` through
//! `parse_rfc3339` and as a `Retry-After` value through `parse_retry_after`. Nothing may panic
//! (no overflow on absurd `expires_in`, far-future dates or huge delay-seconds), an accepted
//! token is never longer than `MAX_TOKEN_LENGTH`, fits a header and never shows in `Debug`, and
//! its lifetime stays within `DEFAULT_TOKEN_LIFETIME..=MAX_TOKEN_LIFETIME`.
//!
//! Run from the repository root: `RUSTC_BOOTSTRAP=1 cargo fuzz run token_response`.
//! The corpus `fuzz/corpus/token_response` is replayed by `cargo test -p oci-auth`.
//! Check: `token_response` in `fuzz/checks/oci_auth.rs`, also run by the corpus replay test.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../checks/oci_auth.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::token_response(data));
