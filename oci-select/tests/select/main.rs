//! Integration tests for `oci-select`; modules mirror `src`.

mod candidate;
mod document;
mod file;
mod format;
mod fuzzed;
mod ironic;
mod policy;
mod properties;
mod rules;

use oci_ref::Digest;
use oci_ref::model::Descriptor;
use oci_select::{Candidate, Explanation, ManifestFacts, Platform, Policy};

/// A sha256 digest whose hex starts with `prefix` (hex digits) and is padded with `0`.
pub(crate) fn digest(prefix: &str) -> Digest {
    let hex = format!("{prefix:0<64}");
    Digest::parse(&format!("sha256:{hex}")).expect("test digests are valid")
}

/// A sha256 digest numbered `n`.
pub(crate) fn digest_n(n: usize) -> Digest {
    digest(&format!("{n:x}"))
}

/// An index entry with a platform and an optional `disktype`.
pub(crate) fn entry(
    position: usize,
    prefix: &str,
    arch: &str,
    disktype: Option<&str>,
) -> Candidate {
    let c = Candidate::new(position, digest(prefix))
        .with_media_type("application/vnd.oci.image.manifest.v1+json")
        .with_platform(Platform::new("linux", arch));
    match disktype {
        Some(d) => c.with_annotation("disktype", d),
        None => c,
    }
}

/// Manifest facts of a single-layer artifact.
pub(crate) fn one_layer(prefix: &str, media_type: &str, title: &str) -> ManifestFacts {
    ManifestFacts::with_layers(vec![
        Descriptor::new(media_type, digest(prefix), 1000)
            .with_annotation("org.opencontainers.image.title", title),
    ])
    .with_config_media_type("application/vnd.oci.empty.v1+json")
}

/// Manifest facts with `n` layers.
pub(crate) fn layers(n: usize) -> ManifestFacts {
    ManifestFacts::with_layers(
        (0..n)
            .map(|i| {
                Descriptor::new(
                    "application/vnd.oci.image.layer.v1.tar",
                    digest(&format!("e{i}")),
                    10,
                )
            })
            .collect(),
    )
}

/// Runs the resolver's loop: attach the facts `fetch` gives for each required candidate until
/// the plan is complete. Returns the indices fetched, in order.
pub(crate) fn resolve_loop(
    policy: &Policy,
    candidates: &mut [Candidate],
    mut fetch: impl FnMut(&Candidate) -> ManifestFacts,
) -> Vec<usize> {
    let mut fetched = Vec::new();
    for _ in 0..=candidates.len() {
        let plan = policy.fetch_plan(candidates);
        if plan.is_complete() {
            break;
        }
        for i in plan.required {
            let facts = fetch(&candidates[i]);
            candidates[i].attach_manifest(facts);
            fetched.push(i);
        }
    }
    fetched
}

/// The explanation as people see it.
pub(crate) fn table(explanation: &Explanation) -> String {
    explanation.to_string()
}
