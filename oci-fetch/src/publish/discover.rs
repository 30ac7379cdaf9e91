//! Discover: the referrers tree of a manifest, walked recursively (API or the `sha256-<hex>`
//! tag-schema fallback, whichever the registry offers), and its `tree`, `json` and `table`
//! renderings.
//!
//! The artifact-type filter applies at every level, like a search: a node is shown when its
//! type matches, and its own referrers are filtered the same way.

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::fmt::Write as _;

use oci_ref::{Digest, TagOrDigest};
use serde::Serialize;

use super::PublishError;
use super::store::Store;

/// Deepest level walked when no `--depth` is given: referrer chains in practice are 2-3 deep
/// (signature of an SBOM of an image); a hostile registry must not send us on an endless walk.
pub const MAX_DISCOVER_DEPTH: usize = 32;

/// Most nodes a tree may hold: every node costs one request, so a hostile or huge referrers
/// graph ends with [`PublishError::TooManyReferrers`] instead of running unbounded.
pub const MAX_DISCOVER_NODES: usize = 10_000;

/// Options of [`discover`].
#[derive(Debug, Clone, Default)]
pub struct DiscoverOptions {
    /// Only referrers of this artifact type (at every level).
    pub artifact_type: Option<String>,
    /// How many levels below the subject; `None` means up to [`MAX_DISCOVER_DEPTH`].
    pub depth: Option<usize>,
}

/// One manifest in the tree: the subject at the root, referrers below. This is the `-o json`
/// contract: `digest`, `mediaType`, `artifactType` (null when none), `size`, `annotations`
/// (omitted when empty) and `referrers` (the same objects, nested).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReferrerNode {
    /// Manifest digest.
    pub digest: Digest,
    /// Manifest media type.
    pub media_type: String,
    /// Artifact type (the manifest's, else its config media type).
    pub artifact_type: Option<String>,
    /// Manifest size.
    pub size: u64,
    /// Annotations of the referrer descriptor.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Manifests referring to this one.
    pub referrers: Vec<ReferrerNode>,
}

/// The artifact type of a manifest body: `artifactType`, else `config.mediaType`.
pub(crate) fn artifact_type_of(bytes: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    v.get("artifactType")
        .and_then(|t| t.as_str())
        .or_else(|| {
            v.get("config")
                .and_then(|c| c.get("mediaType"))
                .and_then(|t| t.as_str())
        })
        .map(str::to_owned)
}

/// Walks the referrers tree of `subject` in `store` (a `&Repository` or a `&OciLayout`).
///
/// # Errors
///
/// [`PublishError::TooManyReferrers`] past [`MAX_DISCOVER_NODES`], and the store's errors
/// ([`PublishError::Registry`], [`PublishError::Layout`]).
pub async fn discover<'a>(
    store: impl Into<Store<'a>>,
    subject: &TagOrDigest,
    options: &DiscoverOptions,
) -> Result<ReferrerNode, PublishError> {
    let store = store.into();
    let manifest = store.fetch_manifest(subject).await?;
    let d = manifest.descriptor;
    let mut root = ReferrerNode {
        digest: d.digest,
        media_type: d.media_type,
        artifact_type: artifact_type_of(&manifest.bytes),
        size: d.size,
        annotations: BTreeMap::new(),
        referrers: Vec::new(),
    };
    let depth = options
        .depth
        .unwrap_or(MAX_DISCOVER_DEPTH)
        .min(MAX_DISCOVER_DEPTH);
    let mut seen = BTreeSet::from([root.digest.clone()]);
    let mut count = 0usize;
    walk(store, &mut root, options, depth, &mut seen, &mut count).await?;
    Ok(root)
}

/// Fills `node.referrers` down to `depth` levels, iteratively level by level.
async fn walk(
    store: Store<'_>,
    root: &mut ReferrerNode,
    options: &DiscoverOptions,
    depth: usize,
    seen: &mut BTreeSet<Digest>,
    count: &mut usize,
) -> Result<(), PublishError> {
    // Breadth-first over paths (indices into nested `referrers`), so recursion depth in Rust
    // stays constant whatever the registry returns.
    let mut frontier: Vec<Vec<usize>> = vec![Vec::new()];
    for _ in 0..depth {
        let mut next = Vec::new();
        for path in frontier {
            let node = node_at(root, &path);
            let found = store
                .referrers(&node.digest, options.artifact_type.as_deref())
                .await?;
            for r in found {
                let digest = r.digest.clone();
                // A hostile fallback index may list a manifest under its own descendants.
                if !seen.insert(digest.clone()) {
                    continue;
                }
                *count += 1;
                if *count > MAX_DISCOVER_NODES {
                    return Err(PublishError::TooManyReferrers {
                        limit: MAX_DISCOVER_NODES,
                    });
                }
                let child = ReferrerNode {
                    digest,
                    media_type: r.media_type,
                    artifact_type: r.artifact_type,
                    size: r.size,
                    annotations: r.annotations,
                    referrers: Vec::new(),
                };
                let parent = node_at(root, &path);
                parent.referrers.push(child);
                let mut child_path = path.clone();
                child_path.push(parent.referrers.len() - 1);
                next.push(child_path);
            }
        }
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    Ok(())
}

fn node_at<'a>(root: &'a mut ReferrerNode, path: &[usize]) -> &'a mut ReferrerNode {
    let mut node = root;
    for &i in path {
        node = &mut node.referrers[i];
    }
    node
}

/// Renders the tree like `oras discover -o tree`: the subject line, then referrers grouped by
/// artifact type, each digest under its type, their referrers below.
pub fn render_tree(subject_name: &str, root: &ReferrerNode) -> String {
    let mut out = format!("{subject_name}\n");
    render_children(&mut out, root, "");
    out
}

fn render_children(out: &mut String, node: &ReferrerNode, prefix: &str) {
    let mut groups: Vec<(&str, Vec<&ReferrerNode>)> = Vec::new();
    for r in &node.referrers {
        let t = r.artifact_type.as_deref().unwrap_or("<unknown>");
        match groups.iter_mut().find(|(k, _)| *k == t) {
            Some((_, v)) => v.push(r),
            None => groups.push((t, vec![r])),
        }
    }
    let n = groups.len();
    for (i, (t, members)) in groups.into_iter().enumerate() {
        let last = i + 1 == n;
        let _ = writeln!(out, "{prefix}{}{t}", if last { "└── " } else { "├── " });
        let group_prefix = format!("{prefix}{}", if last { "    " } else { "│   " });
        let m = members.len();
        for (j, r) in members.into_iter().enumerate() {
            let last = j + 1 == m;
            let _ = writeln!(
                out,
                "{group_prefix}{}{}",
                if last { "└── " } else { "├── " },
                r.digest
            );
            let child_prefix = format!("{group_prefix}{}", if last { "    " } else { "│   " });
            render_children(out, r, &child_prefix);
        }
    }
}

/// Renders the direct referrers as a table (`ARTIFACT TYPE`, `DIGEST`), like
/// `oras discover -o table`.
pub fn render_table(root: &ReferrerNode) -> String {
    let header = "ARTIFACT TYPE";
    let width = root
        .referrers
        .iter()
        .map(|r| r.artifact_type.as_deref().unwrap_or("<unknown>").len())
        .chain([header.len()])
        .max()
        .unwrap_or(header.len());
    let mut out = format!("{header:width$}  DIGEST\n");
    for r in &root.referrers {
        let t = r.artifact_type.as_deref().unwrap_or("<unknown>");
        let _ = writeln!(out, "{t:width$}  {}", r.digest);
    }
    out
}
