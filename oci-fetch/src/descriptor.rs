//! Descriptors, and the image manifest and index shapes the fetch engine reads.
//!
//! [`Descriptor`] is `oci-client`'s (the one definition in the workspace), re-exported here.
//! See [image-spec v1.1 descriptor](https://github.com/opencontainers/image-spec/blob/v1.1.0/descriptor.md).
//! Code that rewrites JSON documents (the layout's `index.json`) edits them as generic JSON so
//! unknown fields survive.

use serde::Deserialize;

pub use oci_client::{ANNOTATION_TITLE, Descriptor};

/// The annotation naming an entry of a layout's `index.json` (`org.opencontainers.image.ref.name`).
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";

/// An image manifest, as far as pulling its layers needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    /// The config descriptor.
    pub config: Descriptor,
    /// The layers, in order.
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    /// The artifact type, if set.
    #[serde(default)]
    pub artifact_type: Option<String>,
    /// The manifest this one refers to, if any.
    #[serde(default)]
    pub subject: Option<Descriptor>,
}

/// An image index, as far as finding manifests needs.
#[derive(Debug, Clone, Deserialize)]
pub struct ImageIndex {
    /// The manifests listed.
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
}
