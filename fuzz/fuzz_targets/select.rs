//! Fuzz target: manifest and index JSON through candidate building and selection:
//! `Candidate::from_index`, `ManifestFacts::from_json` + `Candidate::from_manifest`, then the
//! Ironic policy's `explain` and `select`. Nothing may panic, and `select` must agree with
//! `explain` about whether anything was chosen.
//!
//! Run from the repository root: `RUSTC_BOOTSTRAP=1 cargo fuzz run select`.

#![no_main]

use libfuzzer_sys::fuzz_target;
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

fuzz_target!(|data: &[u8]| {
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
});
