//! Replays the fuzz corpus (`fuzz/corpus/reference`) and the committed fuzz findings
//! (`tests/ref/fuzzed`) through the parsers, each input under a time bound.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use oci_ref::{Digest, Reference};

use crate::assert_round_trip;

/// A hang guard, not a performance target: parsing is linear, so any input taking this long
/// means a loop gone wrong.
const INPUT_TIME_LIMIT: Duration = Duration::from_millis(250);

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// What the fuzz target does with one input, plus the time bound.
fn check(file: &Path) {
    let bytes = std::fs::read(file).expect("readable fixture");
    let text = String::from_utf8_lossy(&bytes);
    let start = Instant::now();
    let reference = Reference::parse(&text);
    let digest = Digest::parse(&text);
    let elapsed = start.elapsed();
    assert!(
        elapsed < INPUT_TIME_LIMIT,
        "{} took {elapsed:?}",
        file.display()
    );
    if let Ok(r) = reference {
        assert_round_trip(&r);
    }
    if let Ok(d) = digest {
        assert_eq!(Digest::parse(&format!("{d}")), Ok(d), "{}", file.display());
    }
}

#[test]
fn fuzz_corpus_replays() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/reference");
    let files = files(&dir);
    assert!(
        files.len() >= 10,
        "the seed corpus in {} is missing",
        dir.display()
    );
    files.iter().for_each(|f| check(f));
}

#[test]
fn fuzz_findings_replay() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ref/fuzzed");
    let files = files(&dir);
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files.iter().for_each(|f| check(f));
}
