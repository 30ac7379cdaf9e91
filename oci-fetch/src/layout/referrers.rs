//! Referrers inside an OCI layout: the manifests listed in `index.json` whose `subject` is a
//! given digest.
//!
//! An image layout has no referrers API and no fallback tags
//! ([image-spec v1.1.1 § image-layout](https://github.com/opencontainers/image-spec/blob/v1.1.1/image-layout.md)).
//! `oras attach --oci-layout` lists the referrer in `index.json` without a ref name, and
//! `oras discover --oci-layout` finds it by reading the listed manifests; this does the same, so
//! layouts written by either tool read the same way in both.

use std::collections::BTreeSet;

use oci_ref::Digest;
use serde::Deserialize;

use oci_ref::media_type::{OCI_INDEX, OCI_MANIFEST};

use super::{LayoutError, MAX_MANIFEST_SIZE, OciLayout, parse_json};
use crate::descriptor::{ANNOTATION_REF_NAME, Descriptor};

/// Media types of the `index.json` entries read while looking for referrers.
const MANIFEST_TYPES: [&str; 2] = [OCI_MANIFEST, OCI_INDEX];

/// The fields of a manifest or index a referrers listing needs.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Peek {
    artifact_type: Option<String>,
    config: Option<PeekConfig>,
    subject: Option<PeekSubject>,
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PeekConfig {
    media_type: String,
}

#[derive(Deserialize)]
struct PeekSubject {
    digest: String,
}

impl OciLayout {
    /// The manifests in `index.json` that refer to `subject`, as descriptors like the referrers
    /// API returns them (`artifactType` from the manifest, else its config media type;
    /// the manifest's annotations), each once, in `index.json` order. With `artifact_type`,
    /// only referrers of that type. Every manifest listed is read verified, at most
    /// [`MAX_MANIFEST_SIZE`] bytes each.
    ///
    /// # Errors
    ///
    /// The errors of [`OciLayout::index`] and [`OciLayout::read_blob`] for `index.json` and each
    /// manifest listed.
    pub async fn referrers(
        &self,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>, LayoutError> {
        let index = self.index().await?;
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for entry in index.manifests {
            if !MANIFEST_TYPES.contains(&entry.media_type.as_str())
                || !seen.insert(entry.digest.clone())
            {
                continue;
            }
            let bytes = self.read_blob(&entry, MAX_MANIFEST_SIZE).await?;
            let peek: Peek = parse_json(&self.blob_path(&entry.digest), &bytes)?;
            if peek.subject.as_ref().map(|s| s.digest.as_str()) != Some(subject.as_str()) {
                continue;
            }
            let kind = peek.artifact_type.or(peek.config.map(|c| c.media_type));
            if artifact_type.is_some() && kind.as_deref() != artifact_type {
                continue;
            }
            let mut d = Descriptor::new(entry.media_type, entry.digest, entry.size);
            d.artifact_type = kind;
            d.annotations = peek.annotations;
            d.annotations.remove(ANNOTATION_REF_NAME);
            out.push(d);
        }
        Ok(out)
    }
}
