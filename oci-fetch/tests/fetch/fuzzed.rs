//! Replays the fuzz corpus `fuzz/corpus/decompress` (seeds and minimised findings) through
//! the check the `decompress` fuzz target runs (`fuzz/checks/oci_fetch.rs`), each input under
//! a time bound.

use oci_fetch::decompress::{DecompressLimits, decompress_blocking};
use oci_testkit::corpus;

#[path = "../../../fuzz/checks/oci_fetch.rs"]
mod checks;

#[test]
fn decompress_corpus_replays() {
    let n = corpus::replay("decompress", checks::decompress);
    assert!(n >= 2, "the decompress corpus has its seeds");
    // The seeds are real streams, which must decompress.
    for seed in ["gzip", "zstd"] {
        let data = corpus::file("decompress", seed);
        let (compression, input) = checks::decompress_input(&data).expect("a seed");
        let mut out = Vec::new();
        decompress_blocking(
            compression,
            &input[..],
            input.len() as u64,
            &mut out,
            &DecompressLimits::default(),
        )
        .unwrap_or_else(|e| panic!("{seed} seed decompresses: {e}"));
        assert_eq!(out, format!("hello {seed}").as_bytes());
    }
}
