//! Fuzz target: any bytes as a credential helper's output through
//! `oci_auth::helper_protocol::parse_get_response`, `failure_excerpt` and `is_not_found`.
//! Nothing may panic; an accepted answer is a Basic credential or an identity token with a
//! non-empty secret that `Debug` hides; and the excerpt an error may repeat is always one of the
//! fixed texts, never the helper's output (which may hold the secret it was about to return).
//!
//! Run from the repository root: `RUSTC_BOOTSTRAP=1 cargo fuzz run helper_protocol`.
//! The corpus `fuzz/corpus/helper_protocol` is replayed by `cargo test -p oci-auth`.
//! Check: `helper_protocol` in `fuzz/checks/oci_auth.rs`, also run by the corpus replay test.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../checks/oci_auth.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::helper_protocol(data));
