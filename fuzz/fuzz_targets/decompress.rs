//! Fuzz target: the decompressors of `oci_fetch::decompress`. The first byte picks gzip or
//! zstd; the rest is the compressed stream, decompressed under small limits (so bombs end as
//! `TooLarge`, never as an allocation failure). Nothing may panic and the output never passes
//! the limit.
//!
//! Run from the repository root: `RUSTC_BOOTSTRAP=1 cargo fuzz run decompress`.
//! Check: `decompress` in `fuzz/checks/oci_fetch.rs`, also run by the corpus replay test.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../checks/oci_fetch.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::decompress(data));
