//! Telling an index from a single manifest: [`classify`].

use oci_ref::media_type;

use crate::error::{CandidateError, Document};
use crate::json;
#[cfg(doc)]
use crate::{Candidate, ManifestFacts};

/// Media types of documents that list manifests: the OCI image index and the Docker manifest
/// list.
const INDEX_MEDIA_TYPES: &[&str] = &media_type::INDEX_TYPES;

/// Media types of single image manifests (OCI and Docker schema 2).
const MANIFEST_MEDIA_TYPES: &[&str] = &media_type::MANIFEST_TYPES;

/// Whether the document a tag resolved to is an index (→ [`Candidate::from_index`]) or a single
/// manifest (→ [`ManifestFacts::from_json`] and [`Candidate::from_manifest`]).
///
/// Decided by the response's `Content-Type` when it names a known type, else by the JSON
/// `mediaType` field, else by shape (`manifests` means an index; `layers` or `config` a
/// manifest).
///
/// # Deviation
///
/// Ironic reads only the JSON `mediaType`, and only when the index's `manifests` is empty, so a
/// manifest without `mediaType` (it is optional) fails there. Here it is recognised.
///
/// # Errors
///
/// [`CandidateError::Json`] when the bytes are not JSON, and [`CandidateError::UnknownDocument`]
/// when neither the content type nor the body says manifest or index.
pub fn classify(content_type: Option<&str>, bytes: &[u8]) -> Result<Document, CandidateError> {
    let essence = content_type.map(|t| t.split(';').next().unwrap_or("").trim());
    if let Some(t) = essence {
        if INDEX_MEDIA_TYPES.contains(&t) {
            return Ok(Document::Index);
        }
        if MANIFEST_MEDIA_TYPES.contains(&t) {
            return Ok(Document::Manifest);
        }
    }
    let shape: json::Shape = json::parse(Document::Manifest, bytes)?;
    match shape.media_type.as_deref() {
        Some(t) if INDEX_MEDIA_TYPES.contains(&t) => return Ok(Document::Index),
        Some(t) if MANIFEST_MEDIA_TYPES.contains(&t) => return Ok(Document::Manifest),
        _ => {}
    }
    if shape.manifests.is_some() {
        Ok(Document::Index)
    } else if shape.layers.is_some() || shape.config.is_some() {
        Ok(Document::Manifest)
    } else {
        Err(CandidateError::UnknownDocument {
            content_type: content_type.map(str::to_owned),
            media_type: shape.media_type,
        })
    }
}
