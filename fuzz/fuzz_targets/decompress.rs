//! Fuzz target: the decompressors of `oci_fetch::decompress`. The first byte picks gzip or
//! zstd; the rest is the compressed stream, decompressed under small limits (so bombs end as
//! `TooLarge`, never as an allocation failure). Nothing may panic and the output never passes
//! the limit.
//!
//! Run from the repository root: `RUSTC_BOOTSTRAP=1 cargo fuzz run decompress`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use oci_fetch::decompress::{DecompressLimits, decompress_blocking};
use oci_ref::media_type::Compression;

/// Output cap for one input: large enough for real streams, small enough to keep runs fast.
const MAX_OUTPUT: u64 = 4 * 1024 * 1024;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let compression = if selector & 1 == 0 {
        Compression::Gzip
    } else {
        Compression::Zstd
    };
    // Let the fuzzer reach past the magic check without having to guess it.
    let mut input = Vec::with_capacity(rest.len() + 4);
    if selector & 2 == 0 {
        input.extend_from_slice(compression.magic());
    }
    input.extend_from_slice(rest);
    let limits = DecompressLimits {
        max_output: MAX_OUTPUT,
        max_ratio: 64,
        ratio_floor: 64 * 1024,
    };
    let mut out = Vec::new();
    let compressed = input.len() as u64;
    if let Ok(n) = decompress_blocking(compression, &input[..], compressed, &mut out, &limits) {
        assert_eq!(n, out.len() as u64, "reported size matches the output");
        assert!(n <= limits.limit_for(compressed), "output within the limit");
    }
    let _ = Compression::from_magic(data);
});
