//! What selection chooses between: [`Candidate`], its [`Platform`] and, once fetched, its
//! [`ManifestFacts`].
//!
//! Candidates are built from the JSON bytes the resolver received ([`Candidate::from_index`],
//! [`Candidate::from_manifest`]) or field by field with the `with_*` builders (tests, other
//! sources). Parsing is lenient about optional fields and strict about the ones selection relies
//! on: every digest must be valid, or the whole document is refused with a typed error.

use std::collections::BTreeMap;

use oci_ref::Digest;
use oci_ref::media_type::{DOCKER_IMAGE_CONFIG, OCI_EMPTY, OCI_IMAGE_CONFIG};
use oci_ref::model::Descriptor;

use crate::error::{CandidateError, Document};
use crate::json;

/// The layer annotation naming the file a layer holds (defined once, in [`oci_ref::model`]).
pub use oci_ref::model::ANNOTATION_TITLE;

/// The index-entry annotation Ironic reads the disk format from (`qcow2`, `raw`, …), as written
/// by podman's `machine-os` images. The name is exactly this, case-sensitive.
pub const ANNOTATION_DISKTYPE: &str = "disktype";

/// The platform an index entry or image config declares: the workspace's one [`Platform`]
/// (every field optional when read; selection says what it does when one is missing).
pub use oci_ref::model::Platform;

/// What a fetched image manifest says, as far as selection cares.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ManifestFacts {
    media_type: Option<String>,
    artifact_type: Option<String>,
    config_media_type: Option<String>,
    config_digest: Option<Digest>,
    config_size: Option<u64>,
    layers: Vec<Descriptor>,
    annotations: BTreeMap<String, String>,
}

impl ManifestFacts {
    /// Parses an image manifest's JSON bytes (OCI or Docker schema 2).
    ///
    /// The bytes must already be verified against the digest they were fetched by; this
    /// function does no IO and no hashing.
    ///
    /// # Errors
    ///
    /// [`CandidateError::Json`] when the bytes are not a JSON manifest,
    /// [`CandidateError::InvalidDigest`] when the config or a layer digest is not valid.
    pub fn from_json(bytes: &[u8]) -> Result<ManifestFacts, CandidateError> {
        let raw: json::Manifest = json::parse(Document::Manifest, bytes)?;
        ManifestFacts::from_raw(raw)
    }

    fn from_raw(raw: json::Manifest) -> Result<ManifestFacts, CandidateError> {
        let (config_media_type, config_digest, config_size) = match raw.config {
            Some(c) => (
                c.media_type,
                c.digest
                    .map(|d| json::digest(Document::Manifest, "config", &d))
                    .transpose()?,
                c.size,
            ),
            None => (None, None, None),
        };
        let layers = raw
            .layers
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, l)| {
                let digest = json::digest(Document::Manifest, &format!("layers[{i}]"), &l.digest)?;
                Ok(Descriptor {
                    annotations: l.annotations.unwrap_or_default(),
                    ..Descriptor::new(
                        l.media_type.unwrap_or_default(),
                        digest,
                        l.size.unwrap_or(0),
                    )
                })
            })
            .collect::<Result<Vec<_>, CandidateError>>()?;
        Ok(ManifestFacts {
            media_type: raw.media_type,
            artifact_type: raw.artifact_type.filter(|s| !s.is_empty()),
            config_media_type,
            config_digest,
            config_size,
            layers,
            annotations: raw.annotations.unwrap_or_default(),
        })
    }

    /// Facts with the given layers and nothing else (for tests and custom sources).
    pub fn with_layers(layers: Vec<Descriptor>) -> ManifestFacts {
        ManifestFacts {
            layers,
            ..ManifestFacts::default()
        }
    }

    /// Sets the config media type.
    pub fn with_config_media_type(mut self, media_type: impl Into<String>) -> ManifestFacts {
        self.config_media_type = Some(media_type.into());
        self
    }

    /// Sets the manifest-level `artifactType`.
    pub fn with_artifact_type(mut self, artifact_type: impl Into<String>) -> ManifestFacts {
        self.artifact_type = Some(artifact_type.into());
        self
    }

    /// Adds a manifest annotation.
    pub fn with_annotation(
        mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> ManifestFacts {
        self.annotations.insert(key.into(), value.into());
        self
    }

    /// The manifest's own `mediaType` field, if present.
    pub fn media_type(&self) -> Option<&str> {
        self.media_type.as_deref()
    }

    /// The manifest's `artifactType` (empty values are treated as absent).
    pub fn artifact_type(&self) -> Option<&str> {
        self.artifact_type.as_deref()
    }

    /// `config.mediaType`.
    pub fn config_media_type(&self) -> Option<&str> {
        self.config_media_type.as_deref()
    }

    /// `config.digest`, for fetching the config blob.
    pub fn config_digest(&self) -> Option<&Digest> {
        self.config_digest.as_ref()
    }

    /// `config.size`.
    pub fn config_size(&self) -> Option<u64> {
        self.config_size
    }

    /// Whether the config is an image config (OCI or Docker), whose blob carries a platform.
    /// The resolver fetches the config blob only when this is true.
    pub fn has_image_config(&self) -> bool {
        matches!(
            self.config_media_type.as_deref(),
            Some(OCI_IMAGE_CONFIG | DOCKER_IMAGE_CONFIG)
        )
    }

    /// The layers, in manifest order (a layer without `mediaType` or `size` reads as `""` or
    /// 0: selection sees what the manifest says, and downloads check the real size).
    pub fn layers(&self) -> &[Descriptor] {
        &self.layers
    }

    /// The manifest annotations.
    pub fn annotations(&self) -> &BTreeMap<String, String> {
        &self.annotations
    }

    /// Config size plus every layer size: Ironic's size for a container ("bootc") image.
    /// Saturates instead of overflowing on hostile sizes.
    pub fn total_size(&self) -> u64 {
        self.layers
            .iter()
            .fold(self.config_size.unwrap_or(0), |acc, l| {
                acc.saturating_add(l.size)
            })
    }

    /// Whether this manifest is an OCI artifact by its own content: a non-empty `artifactType`,
    /// or the empty config.
    pub fn is_oci_artifact(&self) -> bool {
        self.artifact_type.is_some() || self.config_media_type.as_deref() == Some(OCI_EMPTY)
    }
}

/// One thing selection can choose: an index entry, or the single manifest a tag points at.
///
/// Descriptor-level fields (digest, media type, size, artifact type, platform, annotations) are
/// known from the start; [`ManifestFacts`] only once the resolver fetched the manifest
/// (see [`Policy::fetch_plan`](crate::Policy::fetch_plan)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    position: usize,
    digest: Digest,
    media_type: Option<String>,
    size: Option<u64>,
    artifact_type: Option<String>,
    config_media_type: Option<String>,
    platform: Option<Platform>,
    annotations: BTreeMap<String, String>,
    manifest: Option<ManifestFacts>,
}

impl Candidate {
    /// A candidate with only a position and a digest; add the rest with the `with_*` builders.
    pub fn new(position: usize, digest: Digest) -> Candidate {
        Candidate {
            position,
            digest,
            media_type: None,
            size: None,
            artifact_type: None,
            config_media_type: None,
            platform: None,
            annotations: BTreeMap::new(),
            manifest: None,
        }
    }

    /// One candidate per entry of an image index (or Docker manifest list), in index order.
    ///
    /// An index without entries gives an empty list (Ironic refuses it as an invalid
    /// reference; that decision belongs to the caller). An entry whose digest is missing or
    /// invalid refuses the whole index.
    ///
    /// # Deviation
    ///
    /// Ironic's test fixtures embed `config` and `layers` in index entries and Ironic uses them
    /// instead of fetching the manifest. Here only the embedded `config.mediaType` is read (it
    /// feeds the same artifact test Ironic runs on the descriptor); layers always come from the
    /// fetched, digest-verified manifest, so a hostile index cannot substitute them.
    ///
    /// # Errors
    ///
    /// [`CandidateError::Json`] when the bytes are not a JSON index,
    /// [`CandidateError::MissingDigest`] or [`CandidateError::InvalidDigest`] when an entry's
    /// digest is absent or not valid (the whole index is refused).
    pub fn from_index(bytes: &[u8]) -> Result<Vec<Candidate>, CandidateError> {
        let raw: json::Index = json::parse(Document::Index, bytes)?;
        raw.manifests
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(position, d)| {
                let field = format!("manifests[{position}]");
                let digest = match d.digest {
                    Some(s) => json::digest(Document::Index, &field, &s)?,
                    None => {
                        return Err(CandidateError::MissingDigest {
                            document: Document::Index,
                            field,
                        });
                    }
                };
                Ok(Candidate {
                    position,
                    digest,
                    media_type: d.media_type,
                    size: d.size,
                    artifact_type: d.artifact_type.filter(|s| !s.is_empty()),
                    config_media_type: d.config.and_then(|c| c.media_type),
                    platform: d.platform,
                    annotations: d.annotations.unwrap_or_default(),
                    manifest: None,
                })
            })
            .collect()
    }

    /// The single candidate for a tag that points directly at a manifest (the ORAS
    /// one-tag-one-artifact model, Ironic's "single manifest" case).
    ///
    /// `digest` is the manifest's digest (computed or verified by the caller). Annotations,
    /// `artifactType` and config media type come from the manifest; the platform comes from
    /// `config` when given and the manifest [has an image config](ManifestFacts::has_image_config)
    /// (as `oras push --artifact-platform` writes). Pass `None` to skip the config.
    ///
    /// # Errors
    ///
    /// [`CandidateError::Json`] when `config` is given, the manifest has an image config, and the
    /// config bytes are not a JSON object.
    pub fn from_manifest(
        digest: Digest,
        manifest: ManifestFacts,
        manifest_size: Option<u64>,
        config: Option<&[u8]>,
    ) -> Result<Candidate, CandidateError> {
        let platform = match config {
            Some(bytes) if manifest.has_image_config() => {
                let raw: json::Config = json::parse(Document::Config, bytes)?;
                let p = raw.into_platform();
                (p != Platform::default()).then_some(p)
            }
            _ => None,
        };
        Ok(Candidate {
            position: 0,
            digest,
            media_type: manifest.media_type.clone(),
            size: manifest_size,
            artifact_type: manifest.artifact_type.clone(),
            config_media_type: manifest.config_media_type.clone(),
            platform,
            annotations: manifest.annotations.clone(),
            manifest: Some(manifest),
        })
    }

    /// Sets the descriptor media type.
    pub fn with_media_type(mut self, media_type: impl Into<String>) -> Candidate {
        self.media_type = Some(media_type.into());
        self
    }

    /// Sets the descriptor size.
    pub fn with_size(mut self, size: u64) -> Candidate {
        self.size = Some(size);
        self
    }

    /// Sets the descriptor `artifactType`.
    pub fn with_artifact_type(mut self, artifact_type: impl Into<String>) -> Candidate {
        self.artifact_type = Some(artifact_type.into());
        self
    }

    /// Sets the descriptor-level config media type (Ironic-style embedded config).
    pub fn with_config_media_type(mut self, media_type: impl Into<String>) -> Candidate {
        self.config_media_type = Some(media_type.into());
        self
    }

    /// Sets the platform.
    pub fn with_platform(mut self, platform: Platform) -> Candidate {
        self.platform = Some(platform);
        self
    }

    /// Adds a descriptor annotation.
    pub fn with_annotation(
        mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Candidate {
        self.annotations.insert(key.into(), value.into());
        self
    }

    /// Attaches manifest facts (builder form of [`Candidate::attach_manifest`]).
    pub fn with_manifest(mut self, manifest: ManifestFacts) -> Candidate {
        self.manifest = Some(manifest);
        self
    }

    /// Attaches the facts of this candidate's fetched, digest-verified manifest.
    pub fn attach_manifest(&mut self, manifest: ManifestFacts) {
        self.manifest = Some(manifest);
    }

    /// Position in the index (0 for a single manifest). Ties in ranking go to the lower one.
    pub fn position(&self) -> usize {
        self.position
    }

    /// The manifest digest.
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// The descriptor media type.
    pub fn media_type(&self) -> Option<&str> {
        self.media_type.as_deref()
    }

    /// The descriptor size in bytes.
    pub fn size(&self) -> Option<u64> {
        self.size
    }

    /// The descriptor `artifactType` (empty values are treated as absent).
    pub fn artifact_type(&self) -> Option<&str> {
        self.artifact_type.as_deref()
    }

    /// The descriptor-level config media type: embedded in an index entry (rare), or the
    /// manifest's for a single-manifest candidate.
    pub fn config_media_type(&self) -> Option<&str> {
        self.config_media_type.as_deref()
    }

    /// The platform, if the entry or config declares one.
    pub fn platform(&self) -> Option<&Platform> {
        self.platform.as_ref()
    }

    /// The descriptor annotations (index entry), or the manifest's for a single manifest.
    pub fn annotations(&self) -> &BTreeMap<String, String> {
        &self.annotations
    }

    /// One annotation.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.get(key).map(String::as_str)
    }

    /// The fetched manifest's facts, if attached.
    pub fn manifest(&self) -> Option<&ManifestFacts> {
        self.manifest.as_ref()
    }

    /// Ironic's "is an OCI artifact" test, run on what the descriptor says: a non-empty
    /// `artifactType`, or an empty-descriptor config. An index entry normally has neither, so
    /// an entry without a `disktype` and without `artifactType` counts as a container image.
    pub fn is_oci_artifact(&self) -> bool {
        self.artifact_type.is_some() || self.config_media_type.as_deref() == Some(OCI_EMPTY)
    }

    /// Ironic's container-image ("bootc") classification: no (or an empty) `disktype`
    /// annotation and not an [OCI artifact](Candidate::is_oci_artifact).
    pub fn is_container_image(&self) -> bool {
        self.annotation(ANNOTATION_DISKTYPE)
            .is_none_or(str::is_empty)
            && !self.is_oci_artifact()
    }
}
