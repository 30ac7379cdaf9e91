//! Fuzz target: any UTF-8 input as a `Retry-After` value through
//! `oci_auth::token_response::parse_retry_after`, and the resulting delay through `RetryPolicy::delay`.
//! Nothing may panic (no overflow on huge delay-seconds or far-future dates), and a delay
//! longer than the policy's total wait budget is never granted.
//!
//! Run from the repository root: `RUSTC_BOOTSTRAP=1 cargo fuzz run retry_after`.

#![no_main]

use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use oci_auth::token_response::parse_retry_after;
use oci_client::RetryPolicy;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let retry_after = parse_retry_after(text, now);
    let policy = RetryPolicy::default();
    if let Some(d) = policy.delay(1, Duration::ZERO, retry_after) {
        assert!(d <= policy.max_total_wait, "granted {d:?} beyond the budget");
    }
});
