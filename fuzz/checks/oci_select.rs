//! What the `select` fuzz target checks on one input. Included (`#[path]`) by
//! `fuzz/fuzz_targets/select.rs` and by the replay in `oci-select/tests/select/fuzzed.rs`.

#![allow(dead_code)]

use oci_ref::Digest;
use oci_select::{Candidate, DownloadSource, ManifestFacts, Policy};

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

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

/// Manifest and index JSON through candidate building, then the Ironic policy's `explain` and
/// `select` for every download source and a few architectures. Nothing may panic.
pub(crate) fn select(data: &[u8]) {
    if let Ok(candidates) = Candidate::from_index(data) {
        run(&candidates);
    }
    if let Ok(facts) = ManifestFacts::from_json(data) {
        let digest: Digest = DIGEST.parse().expect("fixed digest parses");
        let size = Some(data.len() as u64);
        if let Ok(c) = Candidate::from_manifest(digest.clone(), facts.clone(), size, Some(data)) {
            run(&[c]);
        }
        if let Ok(c) = Candidate::from_manifest(digest, facts, None, None) {
            run(&[c]);
        }
    }
}
