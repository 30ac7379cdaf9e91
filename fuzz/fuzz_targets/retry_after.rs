//! Fuzz target: any UTF-8 input as a `Retry-After` value through
//! `oci_client::parse_retry_after`, and the resulting delay through `RetryPolicy::delay`.
//! Nothing may panic (no overflow on huge delay-seconds or far-future dates), and a delay
//! longer than the policy's total wait budget is never granted.
//!
//! Run from the repository root: `RUSTC_BOOTSTRAP=1 cargo fuzz run retry_after`.
//! Check: `retry_after` in `fuzz/checks/oci_client.rs`, also run by the corpus replay test.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../checks/oci_client.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::retry_after(data));
