//! Fuzz target: any UTF-8 input through `oci_auth::challenge::parse` (one `WWW-Authenticate`
//! value) and `parse_all` (the value split into several header lines). Nothing may panic, and
//! every accepted challenge must survive its display round trip.
//!
//! Run from the repository root: `RUSTC_BOOTSTRAP=1 cargo fuzz run www_authenticate`.
//! Check: `www_authenticate` in `fuzz/checks/oci_auth.rs`, also run by the corpus replay test.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../checks/oci_auth.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::www_authenticate(data));
