//! The graph-walk limits and the Docker media types the one graph walker
//! ([`crate::copy`], every direction between registries and layouts) treats like OCI's.

/// Deepest nesting of indexes followed by [`crate::copy::copy`] (an index of indexes of
/// manifests is depth 2). Real artifacts use at most 2; a cycle or a hostile chain stops here.
pub const MAX_INDEX_DEPTH: usize = 4;

/// Docker's manifest list, treated like an OCI index.
pub const MEDIA_TYPE_DOCKER_LIST: &str =
    "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker's image manifest, treated like an OCI manifest.
pub const MEDIA_TYPE_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
