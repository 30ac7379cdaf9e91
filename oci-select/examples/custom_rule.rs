//! A contributor's own rule: prefer the newest `org.opencontainers.image.created`.
//!
//! The annotation is read from the index entry when it is there, else from the fetched manifest
//! (ORAS writes it on the manifest), so the rule declares that it needs the manifest for
//! entries without it. It ranks, so the resolver fetches every surviving candidate's manifest.
//!
//! Run with `cargo run -p oci-select --example custom_rule`.

use oci_select::{Candidate, ManifestFacts, Platform, Policy, Rank, Rule, Verdict};

/// The pre-defined annotation holding an RFC 3339 creation time.
const CREATED: &str = "org.opencontainers.image.created";

/// Prefers the newest `org.opencontainers.image.created`; candidates without one come last.
#[derive(Debug)]
struct Newest;

impl Newest {
    fn created(candidate: &Candidate) -> Option<&str> {
        candidate.annotation(CREATED).or_else(|| {
            candidate
                .manifest()
                .and_then(|m| m.annotations().get(CREATED))
                .map(String::as_str)
        })
    }
}

impl Rule for Newest {
    fn name(&self) -> &str {
        "newest"
    }

    fn describe(&self) -> String {
        format!("newest {CREATED}")
    }

    fn needs_manifest(&self, candidate: &Candidate) -> bool {
        candidate.annotation(CREATED).is_none()
    }

    fn evaluate(&self, candidate: &Candidate) -> Verdict {
        match Self::created(candidate) {
            // RFC 3339 timestamps in UTC with the same precision sort as text; a stricter rule
            // would parse them and reject malformed ones with a reason.
            Some(t) => Verdict::Rank(Rank::text(t, t).descending()),
            None => Verdict::Abstain,
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let digest = |c: char| format!("sha256:{}", c.to_string().repeat(64)).parse();
    let amd64 = Platform::new("linux", "amd64");
    let mut candidates = vec![
        Candidate::new(0, digest('a')?)
            .with_platform(amd64.clone())
            .with_annotation(CREATED, "2026-01-01T00:00:00Z"),
        Candidate::new(1, digest('b')?).with_platform(amd64.clone()),
        Candidate::new(2, digest('c')?)
            .with_platform(Platform::new("linux", "arm64"))
            .with_annotation(CREATED, "2026-09-01T00:00:00Z"),
    ];
    let policy = Policy::platform("linux", "amd64", None).with(Newest);

    // The resolver's loop: fetch what the plan requires, attach, ask again.
    loop {
        let plan = policy.fetch_plan(&candidates);
        if plan.is_complete() {
            break;
        }
        for i in plan.required {
            // Here a resolver would GET the manifest by digest; this one is made up.
            let facts = ManifestFacts::with_layers(Vec::new())
                .with_annotation(CREATED, "2026-03-01T00:00:00Z");
            if let Some(c) = candidates.get_mut(i) {
                c.attach_manifest(facts);
            }
        }
    }

    let selection = policy.select(&candidates)?;
    println!("{}", selection.explanation);
    Ok(())
}
