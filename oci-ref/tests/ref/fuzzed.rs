//! Replays the fuzz corpus (`fuzz/corpus/reference`) and the committed fuzz findings
//! (`tests/ref/fuzzed`) through the check the `reference` fuzz target runs
//! (`fuzz/checks/oci_ref.rs`), each input under a time bound.

use std::path::Path;

use oci_testkit::corpus;

#[path = "../../../fuzz/checks/oci_ref.rs"]
mod checks;

#[test]
fn fuzz_corpus_replays() {
    let n = corpus::replay("reference", checks::reference);
    assert!(n >= 10, "the seed corpus of `reference` is missing");
}

#[test]
fn fuzz_findings_replay() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ref/fuzzed");
    let n = corpus::replay_dir(&dir, checks::reference);
    assert!(n > 0, "no fixtures in {}", dir.display());
}
