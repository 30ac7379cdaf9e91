//! Rules on what a descriptor or manifest says about itself: [`ArtifactType`], [`MediaType`],
//! [`Annotation`]. All filter only.

use super::list;
use crate::candidate::Candidate;
use crate::rule::{Rule, Verdict};
use oci_ref::media_type::OCI_EMPTY;

/// Keeps candidates whose artifact type is one of a list.
///
/// The artifact type is the descriptor's `artifactType`; when the descriptor has none, the
/// manifest's `artifactType`, else its `config.mediaType` unless that is the empty descriptor
/// ([image-spec v1.1, artifactType](https://github.com/opencontainers/image-spec/blob/v1.1.0/manifest.md#image-manifest-property-descriptions)).
/// The manifest is therefore needed only for entries whose descriptor has no `artifactType`.
#[derive(Debug, Clone)]
pub struct ArtifactType {
    any_of: Vec<String>,
}

impl ArtifactType {
    /// Accepts any of these artifact types.
    pub fn any_of(any_of: Vec<String>) -> ArtifactType {
        ArtifactType { any_of }
    }

    /// Accepts exactly this artifact type.
    pub fn new(value: impl Into<String>) -> ArtifactType {
        ArtifactType::any_of(vec![value.into()])
    }
}

fn effective_artifact_type(candidate: &Candidate) -> Option<&str> {
    candidate.artifact_type().or_else(|| {
        let m = candidate.manifest()?;
        m.artifact_type()
            .or_else(|| m.config_media_type().filter(|t| *t != OCI_EMPTY))
    })
}

impl Rule for ArtifactType {
    fn name(&self) -> &str {
        "artifact-type"
    }

    fn describe(&self) -> String {
        format!("artifact-type in [{}]", list(&self.any_of))
    }

    fn needs_manifest(&self, candidate: &Candidate) -> bool {
        candidate.artifact_type().is_none()
    }

    fn ranks(&self) -> bool {
        false
    }

    fn evaluate(&self, candidate: &Candidate) -> Verdict {
        match effective_artifact_type(candidate) {
            Some(t) if self.any_of.iter().any(|w| w == t) => Verdict::Abstain,
            Some(t) => Verdict::reject(format!(
                "artifact type {t} is not one of {}",
                list(&self.any_of)
            )),
            None => Verdict::reject("no artifact type"),
        }
    }
}

/// Which media type a [`MediaType`] rule checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MediaTypeTarget {
    /// The candidate descriptor's media type (the manifest's).
    #[default]
    Manifest,
    /// The layers' media types (needs the manifest): at least one layer must match.
    Layer,
}

/// Keeps candidates whose manifest or layer media type is one of a list.
#[derive(Debug, Clone)]
pub struct MediaType {
    any_of: Vec<String>,
    target: MediaTypeTarget,
}

impl MediaType {
    /// Accepts any of these media types, checked on `target`.
    pub fn any_of(target: MediaTypeTarget, any_of: Vec<String>) -> MediaType {
        MediaType { any_of, target }
    }
}

impl Rule for MediaType {
    fn name(&self) -> &str {
        "media-type"
    }

    fn describe(&self) -> String {
        let target = match self.target {
            MediaTypeTarget::Manifest => "manifest",
            MediaTypeTarget::Layer => "layer",
        };
        format!("{target} media-type in [{}]", list(&self.any_of))
    }

    fn needs_manifest(&self, candidate: &Candidate) -> bool {
        match self.target {
            MediaTypeTarget::Manifest => {
                candidate.media_type().is_none() && candidate.manifest().is_none()
            }
            MediaTypeTarget::Layer => true,
        }
    }

    fn ranks(&self) -> bool {
        false
    }

    fn evaluate(&self, candidate: &Candidate) -> Verdict {
        let ok = |t: &str| self.any_of.iter().any(|w| w == t);
        match self.target {
            MediaTypeTarget::Manifest => {
                let have = candidate
                    .media_type()
                    .or_else(|| candidate.manifest().and_then(|m| m.media_type()));
                match have {
                    Some(t) if ok(t) => Verdict::Abstain,
                    Some(t) => Verdict::reject(format!(
                        "media type {t} is not one of {}",
                        list(&self.any_of)
                    )),
                    None => Verdict::reject("no media type"),
                }
            }
            MediaTypeTarget::Layer => {
                let layers = candidate.manifest().map(|m| m.layers()).unwrap_or_default();
                if layers.iter().any(|l| ok(&l.media_type)) {
                    Verdict::Abstain
                } else {
                    let have: Vec<String> = layers.iter().map(|l| l.media_type.clone()).collect();
                    Verdict::reject(format!(
                        "no layer media type is one of {} (layers: [{}])",
                        list(&self.any_of),
                        list(&have)
                    ))
                }
            }
        }
    }
}

/// Keeps candidates with an annotation (equal to a value, or just present).
///
/// The descriptor's annotations are checked first; if the key is not there, the manifest's
/// (which needs the manifest: ORAS writes annotations on the manifest, not the index entry).
#[derive(Debug, Clone)]
pub struct Annotation {
    key: String,
    equals: Option<String>,
}

impl Annotation {
    /// The annotation must be present with this value.
    pub fn equals(key: impl Into<String>, value: impl Into<String>) -> Annotation {
        Annotation {
            key: key.into(),
            equals: Some(value.into()),
        }
    }

    /// The annotation must be present, with any value.
    pub fn exists(key: impl Into<String>) -> Annotation {
        Annotation {
            key: key.into(),
            equals: None,
        }
    }
}

impl Rule for Annotation {
    fn name(&self) -> &str {
        "annotation"
    }

    fn describe(&self) -> String {
        match &self.equals {
            Some(v) => format!("annotation {} = {v}", self.key),
            None => format!("annotation {} exists", self.key),
        }
    }

    fn needs_manifest(&self, candidate: &Candidate) -> bool {
        candidate.annotation(&self.key).is_none()
    }

    fn ranks(&self) -> bool {
        false
    }

    fn evaluate(&self, candidate: &Candidate) -> Verdict {
        let have = candidate.annotation(&self.key).or_else(|| {
            candidate
                .manifest()
                .and_then(|m| m.annotations().get(&self.key))
                .map(String::as_str)
        });
        match (have, &self.equals) {
            (None, _) => Verdict::reject(format!("no annotation {}", self.key)),
            (Some(_), None) => Verdict::Abstain,
            (Some(h), Some(w)) if h == w => Verdict::Abstain,
            (Some(h), Some(w)) => {
                Verdict::reject(format!("annotation {} is {h:?}, not {w:?}", self.key))
            }
        }
    }
}
