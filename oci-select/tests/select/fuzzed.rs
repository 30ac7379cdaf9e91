//! Replays the fuzz corpus `fuzz/corpus/select` (seeds and minimised findings) through what the
//! `select` fuzz target does: candidate building from an index or a manifest, then the Ironic
//! policy's `explain` and `select`. Each input under a time bound.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use oci_ref::Digest;
use oci_select::{Candidate, DownloadSource, ManifestFacts, Policy};

/// A hang guard, not a performance target: every step is linear in the input.
const INPUT_TIME_LIMIT: Duration = Duration::from_millis(250);

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/select");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn run(candidates: &[Candidate]) {
    for source in [DownloadSource::Local, DownloadSource::Http] {
        for arch in [None, Some("x86_64"), Some("aarch64")] {
            let policy = Policy::ironic(source, arch);
            let explanation = policy.explain(candidates);
            let _ = explanation.to_string();
            let _ = policy.select(candidates);
        }
    }
}

fn check(file: &Path) {
    let data = std::fs::read(file).expect("readable corpus file");
    let start = Instant::now();
    if let Ok(candidates) = Candidate::from_index(&data) {
        run(&candidates);
    }
    if let Ok(facts) = ManifestFacts::from_json(&data) {
        let digest: Digest = DIGEST.parse().expect("fixed digest parses");
        let size = Some(data.len() as u64);
        if let Ok(c) = Candidate::from_manifest(digest.clone(), facts.clone(), size, Some(&data)) {
            run(&[c]);
        }
        if let Ok(c) = Candidate::from_manifest(digest, facts, None, None) {
            run(&[c]);
        }
    }
    let elapsed = start.elapsed();
    assert!(
        elapsed < INPUT_TIME_LIMIT,
        "{} took {elapsed:?}",
        file.display()
    );
}

#[test]
fn select_corpus_replays() {
    let files = corpus();
    assert!(files.len() >= 2, "the select corpus has its seeds");
    for file in &files {
        check(file);
    }
}
