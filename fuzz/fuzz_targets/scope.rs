//! Fuzz target: any UTF-8 input as a challenge's `scope` parameter through
//! `oci_auth::Scope::parse_list` and `Scope::parse`. Nothing may panic; every accepted scope
//! survives its display round trip, and `Scope::merge` keeps every scope covered and is
//! idempotent.
//!
//! Run from the repository root: `RUSTC_BOOTSTRAP=1 cargo fuzz run scope`.
//! The corpus `fuzz/corpus/scope` is replayed by `cargo test -p oci-auth`.
//! Check: `scope` in `fuzz/checks/oci_auth.rs`, also run by the corpus replay test.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../checks/oci_auth.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::scope(data));
