//! Replays the fuzz corpus `fuzz/corpus/decompress` (seeds and minimised findings) through
//! what the `decompress` fuzz target does, each input under a time bound.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use oci_fetch::decompress::{DecompressLimits, decompress_blocking};
use oci_ref::media_type::Compression;

/// A hang guard, not a performance target (the output is capped at [`MAX_OUTPUT`]).
const INPUT_TIME_LIMIT: Duration = Duration::from_millis(250);

/// The fuzz target's output cap.
const MAX_OUTPUT: u64 = 4 * 1024 * 1024;

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/decompress");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// The target's input format: the first byte picks the compression (bit 0) and whether the
/// magic is prepended (bit 1 clear); the rest is the stream.
fn check(file: &Path) {
    let data = std::fs::read(file).expect("readable corpus file");
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let compression = if selector & 1 == 0 {
        Compression::Gzip
    } else {
        Compression::Zstd
    };
    let mut input = Vec::new();
    if selector & 2 == 0 {
        input.extend_from_slice(compression.magic());
    }
    input.extend_from_slice(rest);
    let limits = DecompressLimits {
        max_output: MAX_OUTPUT,
        max_ratio: 64,
        ratio_floor: 64 * 1024,
    };
    let start = Instant::now();
    let mut out = Vec::new();
    let result = decompress_blocking(
        compression,
        &input[..],
        input.len() as u64,
        &mut out,
        &limits,
    );
    let elapsed = start.elapsed();
    assert!(
        elapsed < INPUT_TIME_LIMIT,
        "{} took {elapsed:?}",
        file.display()
    );
    if let Ok(n) = result {
        assert_eq!(n, out.len() as u64, "{}", file.display());
        assert!(
            n <= limits.limit_for(input.len() as u64),
            "{}",
            file.display()
        );
    }
}

#[test]
fn decompress_corpus_replays() {
    let files = corpus();
    assert!(files.len() >= 2, "the decompress corpus has its seeds");
    for file in &files {
        check(file);
    }
    // The seeds are real streams, which must decompress.
    for seed in ["gzip", "zstd"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fuzz/corpus/decompress")
            .join(seed);
        let data = std::fs::read(&path).expect("seed file");
        let compression = if data[0] & 1 == 0 {
            Compression::Gzip
        } else {
            Compression::Zstd
        };
        let mut input = compression.magic().to_vec();
        input.extend_from_slice(&data[1..]);
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
