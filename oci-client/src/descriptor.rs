//! The one content descriptor of the workspace: media type, digest, size, artifact type and
//! annotations, used by manifests fetched here and by resolve, download, pull, layout and copy
//! in `oci-fetch`.
//!
//! See [image-spec v1.1 descriptor](https://github.com/opencontainers/image-spec/blob/v1.1.0/descriptor.md).
//! Unknown fields are ignored when reading. The digest is typed ([`Digest`]), so a descriptor
//! that parses has a valid one. Manifests are kept as the bytes received (see
//! [`crate::Manifest`]); a descriptor never stands in for re-serialising one.

use std::collections::BTreeMap;

use oci_ref::Digest;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The annotation naming a layer's file (`org.opencontainers.image.title`).
pub const ANNOTATION_TITLE: &str = "org.opencontainers.image.title";

/// A content descriptor: media type, digest, size and annotations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// The media type of the referenced content.
    pub media_type: String,
    /// The digest of the referenced content.
    #[serde(serialize_with = "ser_digest", deserialize_with = "de_digest")]
    pub digest: Digest,
    /// The size in bytes of the referenced content.
    pub size: u64,
    /// The artifact type, when the descriptor points to an artifact manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Descriptor {
    /// A descriptor without annotations.
    pub fn new(media_type: impl Into<String>, digest: Digest, size: u64) -> Descriptor {
        Descriptor {
            media_type: media_type.into(),
            digest,
            size,
            artifact_type: None,
            annotations: BTreeMap::new(),
        }
    }

    /// Adds an annotation (builder style).
    pub fn with_annotation(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.annotations.insert(key.into(), value.into());
        self
    }

    /// The `org.opencontainers.image.title` annotation, if any.
    pub fn title(&self) -> Option<&str> {
        self.annotations.get(ANNOTATION_TITLE).map(String::as_str)
    }
}

fn ser_digest<S: Serializer>(d: &Digest, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(d.as_str())
}

fn de_digest<'de, D: Deserializer<'de>>(d: D) -> Result<Digest, D::Error> {
    let s = String::deserialize(d)?;
    Digest::parse(&s).map_err(serde::de::Error::custom)
}
