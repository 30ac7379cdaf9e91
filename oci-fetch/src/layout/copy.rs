//! The graph-walk limit of the one graph walker ([`crate::copy`], every direction between
//! registries and layouts). Docker's media types, walked like OCI's, are in
//! `oci_ref::media_type`.

/// Deepest nesting of indexes followed by [`crate::copy::copy`] (an index of indexes of
/// manifests is depth 2). Real artifacts use at most 2; a cycle or a hostile chain stops here.
pub const MAX_INDEX_DEPTH: usize = 4;
