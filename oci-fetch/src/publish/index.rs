//! Index create: an OCI image index over manifests already pushed to the same repository, with
//! a platform and annotations per entry — the multi-artifact index Ironic searches (disk images
//! per architecture and `disktype`).
//!
//! Each entry's descriptor carries the source manifest's media type, digest, size and artifact
//! type. Its platform is the one given, else the one read from the source's image config when
//! the source was pushed with `--artifact-platform`. Its annotations are the source manifest's
//! own (without `org.opencontainers.image.created`) overlaid with the ones given.

use oci_ref::media_type::{OCI_IMAGE_CONFIG, OCI_INDEX};
use std::collections::BTreeMap;

use bytes::Bytes;
use oci_ref::TagOrDigest;

use oci_ref::model::{ANNOTATION_CREATED, Descriptor, ImageIndex, Platform};

use super::push::Pushed;
use super::store::Store;
use super::{PublishError, to_json};

/// Largest image config read to learn an entry's platform: `--artifact-platform` configs are
/// tens of bytes; real image configs are a few KiB. Larger ones are not read (no platform).
pub const MAX_PLATFORM_CONFIG_BYTES: u64 = 64 * 1024;

/// One entry of an index to create.
#[derive(Debug, Clone)]
pub struct IndexEntry {
    /// The source manifest (tag or digest in the same repository).
    pub source: TagOrDigest,
    /// Its platform; `None` reads it from the source's image config when there is one.
    pub platform: Option<Platform>,
    /// Annotations for the entry (win over the source manifest's).
    pub annotations: BTreeMap<String, String>,
}

/// What to create.
#[derive(Debug, Clone, Default)]
pub struct IndexRequest {
    /// The entries, in order.
    pub entries: Vec<IndexEntry>,
    /// `artifactType` of the index.
    pub artifact_type: Option<String>,
    /// Annotations of the index itself.
    pub annotations: BTreeMap<String, String>,
}

#[derive(serde::Deserialize)]
struct Peek {
    #[serde(rename = "artifactType")]
    artifact_type: Option<String>,
    config: Option<Descriptor>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

/// Builds the index from `req` and pushes it under `tag` (by digest when `None`).
///
/// # Errors
///
/// [`PublishError::InvalidArgument`] for an invalid tag, [`PublishError::InvalidManifest`] when an
/// entry's source is not a manifest, and the store's errors ([`PublishError::Registry`],
/// [`PublishError::Layout`]) when reading a source or pushing the index fails.
pub async fn create_index<'a>(
    store: impl Into<Store<'a>>,
    tag: Option<&str>,
    req: &IndexRequest,
) -> Result<Pushed, PublishError> {
    let store = store.into();
    let tag = match tag {
        Some(t) => Some(
            TagOrDigest::tag(t).map_err(|_| PublishError::invalid("tag", t, "not a valid tag"))?,
        ),
        None => None,
    };
    let mut manifests = Vec::with_capacity(req.entries.len());
    for entry in &req.entries {
        let m = store.fetch_manifest(&entry.source).await?;
        let d = m.descriptor;
        let invalid = || PublishError::InvalidManifest {
            digest: d.digest.clone(),
            expected: "manifest",
        };
        let peek: Peek = serde_json::from_slice(&m.bytes).map_err(|_| invalid())?;
        let mut desc = Descriptor::new(&d.media_type, d.digest.clone(), d.size);
        desc.artifact_type = peek
            .artifact_type
            .clone()
            .or_else(|| peek.config.as_ref().map(|c| c.media_type.clone()));
        desc.annotations = peek.annotations.clone();
        desc.annotations.remove(ANNOTATION_CREATED);
        desc.annotations.extend(entry.annotations.clone());
        desc.platform = match &entry.platform {
            Some(p) => Some(p.clone()),
            None => match &peek.config {
                Some(c)
                    if c.media_type == OCI_IMAGE_CONFIG && c.size <= MAX_PLATFORM_CONFIG_BYTES =>
                {
                    platform_from_config(store, c).await?
                }
                _ => None,
            },
        };
        manifests.push(desc);
    }
    let index = ImageIndex {
        artifact_type: req.artifact_type.clone(),
        annotations: req.annotations.clone(),
        ..ImageIndex::new(manifests)
    };
    let bytes = to_json(&index)?;
    let pushed = store
        .push_manifest(
            tag.as_ref(),
            Bytes::from(bytes.clone()),
            OCI_INDEX,
            index.artifact_type.as_deref(),
        )
        .await?;
    let mut descriptor = Descriptor::new(OCI_INDEX, pushed.digest.clone(), pushed.size);
    descriptor.artifact_type = index.artifact_type;
    Ok(Pushed {
        descriptor,
        manifest: bytes,
        blobs: Vec::new(),
        subject_confirmed: pushed.subject_confirmed,
    })
}

/// Reads `os`/`architecture`/`variant` from a small image config blob; `None` when it has no
/// usable platform.
async fn platform_from_config(
    store: Store<'_>,
    config: &Descriptor,
) -> Result<Option<Platform>, PublishError> {
    let body = store
        .fetch_small_blob(&config.digest, config.size, MAX_PLATFORM_CONFIG_BYTES)
        .await?;
    Ok(serde_json::from_slice::<Platform>(&body)
        .ok()
        .filter(|p| p.os.is_some() && p.architecture.is_some()))
}
