//! Fuzz target: manifest and index JSON through candidate building and selection:
//! `Candidate::from_index`, `ManifestFacts::from_json` + `Candidate::from_manifest`, then the
//! Ironic policy's `explain` and `select`. Nothing may panic, and `select` must agree with
//! `explain` about whether anything was chosen.
//!
//! Run from the repository root: `RUSTC_BOOTSTRAP=1 cargo fuzz run select`.
//! Check: `select` in `fuzz/checks/oci_select.rs`, also run by the corpus replay test.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../checks/oci_select.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::select(data));
