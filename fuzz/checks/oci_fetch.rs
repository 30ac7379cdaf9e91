//! What the `oci-fetch` fuzz target checks on one input. Included (`#[path]`) by
//! `fuzz/fuzz_targets/decompress.rs` and by the corpus replay in
//! `oci-fetch/tests/fetch/fuzzed.rs`, so a replay runs exactly what was fuzzed.

#![allow(dead_code)]

use oci_fetch::decompress::{DecompressLimits, decompress_blocking};
use oci_ref::media_type::Compression;

/// Output cap for one input: large enough for real streams, small enough to keep runs fast.
pub(crate) const MAX_OUTPUT: u64 = 4 * 1024 * 1024;

/// The input format: the first byte picks gzip (bit 0 clear) or zstd, and whether the magic is
/// prepended (bit 1 clear, so the fuzzer reaches past the magic check without guessing it);
/// the rest is the stream. `None` for an empty input.
pub(crate) fn decompress_input(data: &[u8]) -> Option<(Compression, Vec<u8>)> {
    let (&selector, rest) = data.split_first()?;
    let compression = if selector & 1 == 0 {
        Compression::Gzip
    } else {
        Compression::Zstd
    };
    let mut input = Vec::with_capacity(rest.len() + 4);
    if selector & 2 == 0 {
        input.extend_from_slice(compression.magic());
    }
    input.extend_from_slice(rest);
    Some((compression, input))
}

/// Decompresses under small limits (bombs end as `TooLarge`, never as an allocation failure):
/// nothing panics, the reported size is the output's, and the output never passes the limit.
pub(crate) fn decompress(data: &[u8]) {
    let Some((compression, input)) = decompress_input(data) else {
        return;
    };
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
}
