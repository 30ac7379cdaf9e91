//! Fuzz target: any UTF-8 input through `Reference::parse` and `Digest::parse`. Accepted input
//! must survive the display round trip; nothing may panic.
//!
//! Run from the repository root: `RUSTC_BOOTSTRAP=1 cargo fuzz run reference`.
//! The corpus `fuzz/corpus/reference` is replayed by `cargo test -p oci-ref`.
//! Check: `reference` in `fuzz/checks/oci_ref.rs`, also run by the corpus replay test.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../checks/oci_ref.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::reference(data));
