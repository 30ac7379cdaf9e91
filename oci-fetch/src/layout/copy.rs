//! Copying a whole artifact graph (index → manifests → config and layers) into a layout.

use futures_util::StreamExt;
use oci_ref::media_type::{DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST};

use super::{LayoutError, OciLayout};
use crate::descriptor::Descriptor;
use crate::download::DownloadOptions;
use crate::many::DEFAULT_CONCURRENCY;
use crate::source::BlobSource;

/// Deepest nesting of indexes followed by [`OciLayout::copy_graph`] (an index of indexes of
/// manifests is depth 2). Real artifacts use at most 2; a cycle or a hostile chain stops here.
pub const MAX_INDEX_DEPTH: usize = 4;

/// What a graph copy did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CopyStats {
    /// Blobs (manifests included) written.
    pub written: usize,
    /// Blobs already present and verified, so not written.
    pub skipped: usize,
}

impl OciLayout {
    /// Copies `root` (an index, a manifest or a plain blob) and everything it references from
    /// `source` into this layout, each blob verified and written at most once. Tag the root
    /// afterwards with [`OciLayout::tag`]. The source must serve manifests by digest too (an
    /// OCI layout does; a registry adapter routes manifest media types to the manifest
    /// endpoint). Referrers (`subject`) are not followed.
    pub async fn copy_graph(
        &self,
        source: &dyn BlobSource,
        root: &Descriptor,
        opts: &DownloadOptions,
    ) -> Result<CopyStats, LayoutError> {
        let mut stats = CopyStats::default();
        let mut count = |written: bool| {
            if written {
                stats.written += 1;
            } else {
                stats.skipped += 1;
            }
        };
        let mut stack = vec![(root.clone(), 0usize)];
        while let Some((desc, depth)) = stack.pop() {
            count(self.write_blob(source, &desc, opts).await?);
            match desc.media_type.as_str() {
                OCI_INDEX | DOCKER_MANIFEST_LIST => {
                    if depth >= MAX_INDEX_DEPTH {
                        return Err(LayoutError::TooDeep {
                            digest: desc.digest,
                            limit: MAX_INDEX_DEPTH,
                        });
                    }
                    let index = self.read_index(&desc).await?;
                    stack.extend(index.manifests.into_iter().rev().map(|d| (d, depth + 1)));
                }
                OCI_MANIFEST | DOCKER_MANIFEST => {
                    let manifest = self.read_manifest(&desc).await?;
                    let leaves: Vec<Descriptor> = std::iter::once(manifest.config)
                        .chain(manifest.layers)
                        .collect();
                    let mut results = futures_util::stream::iter(&leaves)
                        .map(|d| self.write_blob(source, d, opts))
                        .buffer_unordered(DEFAULT_CONCURRENCY);
                    while let Some(r) = results.next().await {
                        count(r?);
                    }
                }
                _ => {}
            }
        }
        Ok(stats)
    }
}
