//! Replay of the fuzz corpora (`fuzz/corpus/<target>/`: seeds and minimised findings).
//!
//! A corpus is replayed through the same check function the fuzz target calls: the checks live
//! in `fuzz/checks/<crate>.rs`, included by the fuzz targets and by each crate's `fuzzed` test
//! module (`#[path]`), so a replay can never drift from what was fuzzed.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A hang guard per input, not a performance target: every checked parser is linear in its
/// input (and decompression is capped).
pub const INPUT_TIME_LIMIT: Duration = Duration::from_millis(250);

/// The corpus directory of `target`.
pub fn dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
}

/// One corpus file of `target`, by name (a seed or a committed finding).
pub fn file(target: &str, name: &str) -> Vec<u8> {
    let path = dir(target).join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Every corpus file of `target`, sorted by path, with its bytes.
pub fn files(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    files_in(&dir(target))
}

/// Every file in `dir`, sorted by path, with its bytes.
pub fn files_in(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).expect("readable corpus file");
            (p, bytes)
        })
        .collect()
}

/// Runs `check` on every input of `target`'s corpus, each within [`INPUT_TIME_LIMIT`]; a
/// failing input is named in the panic. Returns how many inputs were replayed.
pub fn replay(target: &str, check: impl Fn(&[u8])) -> usize {
    replay_dir(&dir(target), check)
}

/// Like [`replay`], for every file in `dir` (findings committed elsewhere).
pub fn replay_dir(dir: &Path, check: impl Fn(&[u8])) -> usize {
    let files = files_in(dir);
    for (file, data) in &files {
        let start = Instant::now();
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| check(data))) {
            eprintln!("fuzz corpus input {} fails its check", file.display());
            resume_unwind(panic);
        }
        let elapsed = start.elapsed();
        assert!(
            elapsed < INPUT_TIME_LIMIT,
            "{} took {elapsed:?}",
            file.display()
        );
    }
    files.len()
}
