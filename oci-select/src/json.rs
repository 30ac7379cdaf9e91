//! Lenient serde shapes of the three JSON documents candidates are built from, and their error
//! mapping. Private: the public types live in [`crate::candidate`].

use std::collections::BTreeMap;

use oci_ref::Digest;
use serde::Deserialize;

use crate::error::{CandidateError, Document};
use oci_ref::model::Platform;

/// Parses `bytes` as `T`, mapping serde's error to a structured [`CandidateError::Json`].
pub(crate) fn parse<'de, T: Deserialize<'de>>(
    document: Document,
    bytes: &'de [u8],
) -> Result<T, CandidateError> {
    serde_json::from_slice(bytes).map_err(|e| CandidateError::Json {
        document,
        line: e.line(),
        column: e.column(),
        detail: e.to_string(),
    })
}

/// Parses a digest field, naming the field on failure.
pub(crate) fn digest(
    document: Document,
    field: &str,
    value: &str,
) -> Result<Digest, CandidateError> {
    Digest::parse(value).map_err(|source| CandidateError::InvalidDigest {
        document,
        field: field.to_owned(),
        value: value.to_owned(),
        source,
    })
}

#[derive(Deserialize)]
pub(crate) struct Index {
    pub(crate) manifests: Option<Vec<IndexEntry>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IndexEntry {
    pub(crate) media_type: Option<String>,
    pub(crate) digest: Option<String>,
    pub(crate) size: Option<u64>,
    pub(crate) artifact_type: Option<String>,
    pub(crate) platform: Option<Platform>,
    pub(crate) annotations: Option<BTreeMap<String, String>>,
    pub(crate) config: Option<Descriptor>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Descriptor {
    pub(crate) media_type: Option<String>,
    pub(crate) digest: Option<String>,
    pub(crate) size: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LayerDescriptor {
    pub(crate) media_type: Option<String>,
    pub(crate) digest: String,
    pub(crate) size: Option<u64>,
    pub(crate) annotations: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Manifest {
    pub(crate) media_type: Option<String>,
    pub(crate) artifact_type: Option<String>,
    pub(crate) config: Option<Descriptor>,
    pub(crate) layers: Option<Vec<LayerDescriptor>>,
    pub(crate) annotations: Option<BTreeMap<String, String>>,
}

/// An image config blob: the platform fields sit at the top level.
#[derive(Deserialize)]
pub(crate) struct Config {
    #[serde(flatten)]
    platform: Platform,
}

impl Config {
    pub(crate) fn into_platform(self) -> Platform {
        self.platform
    }
}

/// Just enough of a document to tell an index from a manifest.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Shape {
    pub(crate) media_type: Option<String>,
    pub(crate) manifests: Option<serde::de::IgnoredAny>,
    pub(crate) layers: Option<serde::de::IgnoredAny>,
    pub(crate) config: Option<serde::de::IgnoredAny>,
}
