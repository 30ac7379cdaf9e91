//! Unique repository names, so that tests can share one registry (the `external` backend).

use std::sync::atomic::{AtomicU64, Ordering};

/// Namespace every repository created by the suite lives under.
pub const REPO_NAMESPACE: &str = "conformance";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Returns a repository name no other test (in this or a concurrent run) uses.
///
/// The shape is `conformance/<label>-<pid>-<counter>-<random>`, e.g.
/// `conformance/smoke-4242-0-9f3a61c2`. `label` should be a short lower-case word naming the test;
/// characters outside `[a-z0-9]` are replaced by `-` so the result is always a valid repository name
/// (distribution's path-component grammar).
pub fn unique_repo(label: &str) -> String {
    let label: String = label
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '-',
        })
        .collect();
    let label = label.trim_matches('-');
    let label = if label.is_empty() { "test" } else { label };
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{REPO_NAMESPACE}/{label}-{}-{count}-{}",
        std::process::id(),
        crate::random_hex(4)
    )
}
