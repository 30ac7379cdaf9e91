//! Manifests: GET/HEAD/PUT/DELETE `/v2/<name>/manifests/<reference>`, digest-verified and
//! size-capped, raw bytes kept.
//!
//! [distribution-spec v1.1 § Pulling manifests](https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pulling-manifests):
//! the bytes received are hashed and compared with the requested digest (by-digest fetches) and
//! with `Docker-Content-Digest` when the registry sends one. The body is read through a cap
//! ([`crate::Limits::max_manifest_bytes`]) and never re-serialised: the bytes you get are the
//! bytes that hash to the digest.
//!
//! Manifests are named by [`TagOrDigest`]: a tag is valid by construction
//! ([`oci_ref::Tag::parse`]), so the `<reference>` path segment can never carry a line break,
//! `/` or `..` into the request.

use bytes::Bytes;
use oci_ref::media_type::{
    DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED, JSON, OCI_INDEX,
    OCI_MANIFEST, OCTET_STREAM, TEXT_PLAIN,
};
use oci_ref::{Algorithm, Digest, TagOrDigest, digest_of};
use reqwest::header::{self, HeaderMap};
use reqwest::{Method, StatusCode};

use crate::error::{Error, Limit, Protocol};
use crate::referrers::{FallbackEdit, referrer_descriptor};
use crate::repository::{Access, Repository, header_value};
use crate::transport::{BodyError, Req};
use oci_ref::model::{Descriptor, ImageIndex, ImageManifest};

/// The media types sent in the `Accept` header for manifests, in this order: the four types this
/// crate understands ([`manifest_accept`] joins them).
pub const MANIFEST_ACCEPT: [&str; 4] = [
    OCI_MANIFEST,
    OCI_INDEX,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
];

/// The `Accept` header value for manifests: [`MANIFEST_ACCEPT`] joined with `, `.
pub fn manifest_accept() -> String {
    MANIFEST_ACCEPT.join(", ")
}

/// A manifest as received: the exact bytes and their descriptor.
#[derive(Debug, Clone)]
pub struct Manifest {
    bytes: Bytes,
    descriptor: Descriptor,
}

/// A manifest parsed into the workspace model ([`oci_ref::model`]). Docker schema 2 manifests
/// and lists parse as their OCI counterparts (the shapes are the same; media types are kept as
/// sent). Unknown fields are ignored.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ParsedManifest {
    /// An image manifest (OCI or Docker schema 2).
    Image(Box<ImageManifest>),
    /// An index (OCI) or manifest list (Docker).
    Index(Box<ImageIndex>),
}

impl Manifest {
    /// The bytes exactly as received (they hash to [`Manifest::digest`]).
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// Media type, digest and size.
    pub fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    /// The media type.
    pub fn media_type(&self) -> &str {
        &self.descriptor.media_type
    }

    /// The verified digest.
    pub fn digest(&self) -> &Digest {
        &self.descriptor.digest
    }

    /// Whether this is an index or manifest list.
    pub fn is_index(&self) -> bool {
        matches!(self.media_type(), OCI_INDEX | DOCKER_MANIFEST_LIST)
    }

    /// Parses the bytes.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when the bytes are not the JSON of an image manifest or index (a
    /// required field missing, a digest that is not valid).
    pub fn parse(&self) -> Result<ParsedManifest, Error> {
        let invalid = |e: serde_json::Error| Error::InvalidInput {
            what: "manifest JSON",
            source: Some(Box::new(e)),
        };
        if self.is_index() {
            serde_json::from_slice(&self.bytes)
                .map(|i| ParsedManifest::Index(Box::new(i)))
                .map_err(invalid)
        } else {
            serde_json::from_slice(&self.bytes)
                .map(|m| ParsedManifest::Image(Box::new(m)))
                .map_err(invalid)
        }
    }
}

/// What a manifest `HEAD` told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestHead {
    /// `Content-Type`, without parameters.
    pub media_type: Option<String>,
    /// `Docker-Content-Digest`.
    pub digest: Option<Digest>,
    /// `Content-Length`.
    pub size: Option<u64>,
}

/// The outcome of [`Repository::push_manifest`] and [`Repository::push_manifest_with`]; what
/// [`Repository::add_referrers`] records.
#[derive(Debug, Clone)]
pub struct PushedManifest {
    /// Descriptor of the bytes pushed.
    pub descriptor: Descriptor,
    /// The subject, when the manifest has one.
    pub subject: Option<Digest>,
    /// Whether the registry confirmed the subject with `OCI-Subject` (it has a referrers API).
    /// When it did not, the referrers fallback tag was updated (unless the push was
    /// [`FallbackEdit::Deferred`]).
    pub subject_confirmed: bool,
    /// The entry that lists it in its subject's fallback index (with its `artifactType` and
    /// annotations); `None` without a subject.
    pub(crate) listed_as: Option<serde_json::Value>,
}

/// The fields of a manifest body this crate looks at.
#[derive(serde::Deserialize)]
struct Peek {
    #[serde(rename = "schemaVersion")]
    schema_version: Option<u32>,
    #[serde(rename = "mediaType")]
    media_type: Option<String>,
    manifests: Option<serde_json::Value>,
    subject: Option<PeekDescriptor>,
}

#[derive(serde::Deserialize)]
struct PeekDescriptor {
    digest: String,
}

impl Repository {
    /// Fetches a manifest by tag or digest, verified and size-capped.
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] when the registry cannot be reached or the connection breaks (after the
    /// retries of the client's [`RetryPolicy`](crate::RetryPolicy)), [`Error::Auth`] when
    /// authentication fails, [`Error::Registry`] for an error status (see [`Error::is_not_found`],
    /// [`Error::is_unauthorized`]); [`Error::LimitExceeded`] for a body above
    /// [`Limits::max_manifest_bytes`](crate::Limits::max_manifest_bytes), [`Error::DigestMismatch`]
    /// when the bytes do not hash to the requested digest or to `Docker-Content-Digest`,
    /// [`Error::UnsupportedManifest`] for Docker schema 1, [`Error::Protocol`] for invalid JSON or
    /// a media type that disagrees with `Content-Type`.
    pub async fn fetch_manifest(&self, reference: &TagOrDigest) -> Result<Manifest, Error> {
        let target = self.target(Access::Pull)?;
        let url = self.manifest_url(reference)?;
        let redacted = self.client.inner.redact(&url, &target);
        let req =
            Req::new(Method::GET, url).header(header::ACCEPT, header_value(&manifest_accept())?);
        let max = self.client.inner.config.limits.max_manifest_bytes;
        let body = match self.client.inner.get_body(&target, req, max).await {
            Ok(body) => body,
            Err(BodyError::TooLarge) => {
                return Err(Error::limit(&redacted, Limit::ManifestBytes, max));
            }
            Err(BodyError::Other(e)) => return Err(e),
        };
        let headers = body.headers;
        let bytes = body.bytes;
        let content_type = content_type(&headers);
        if let Some(ct) = &content_type {
            refuse_schema1(ct, &redacted)?;
        }
        let header_digest = docker_content_digest(&headers, &redacted)?;
        let algorithm = match (reference, &header_digest) {
            (TagOrDigest::Digest(d), _) => d.algorithm(),
            (_, Some(d)) => d.algorithm(),
            _ => Algorithm::Sha256,
        };
        let digest = digest_of(algorithm, &bytes);
        for expected in [reference_digest(reference), header_digest.as_ref()]
            .into_iter()
            .flatten()
        {
            let actual = if expected.algorithm() == algorithm {
                digest.clone()
            } else {
                digest_of(expected.algorithm(), &bytes)
            };
            if &actual != expected {
                return Err(Error::DigestMismatch {
                    url: redacted,
                    expected: expected.clone(),
                    actual,
                });
            }
        }
        let media_type = manifest_media_type(&bytes, content_type.as_deref(), &redacted)?;
        let descriptor = Descriptor::new(media_type, digest, bytes.len() as u64);
        Ok(Manifest { bytes, descriptor })
    }

    /// `HEAD` on a manifest: `None` when it does not exist.
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] when the registry cannot be reached or the connection breaks (after the
    /// retries of the client's [`RetryPolicy`](crate::RetryPolicy)), [`Error::Auth`] when
    /// authentication fails, [`Error::Registry`] for an error status (see [`Error::is_not_found`],
    /// [`Error::is_unauthorized`]) (404 is `Ok(None)`); [`Error::UnsupportedManifest`] for Docker
    /// schema 1, [`Error::DigestMismatch`] when `Docker-Content-Digest` differs from a requested
    /// digest, [`Error::Protocol`] for an invalid digest header.
    pub async fn head_manifest(
        &self,
        reference: &TagOrDigest,
    ) -> Result<Option<ManifestHead>, Error> {
        let target = self.target(Access::Pull)?;
        let url = self.manifest_url(reference)?;
        let redacted = self.client.inner.redact(&url, &target);
        let req =
            Req::new(Method::HEAD, url).header(header::ACCEPT, header_value(&manifest_accept())?);
        let resp = self.client.inner.send(&target, req).await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(self
                .client
                .inner
                .status_error(&Method::HEAD, &target, resp)
                .await);
        }
        let headers = resp.headers();
        let media_type = content_type(headers);
        if let Some(ct) = &media_type {
            refuse_schema1(ct, &redacted)?;
        }
        let digest = docker_content_digest(headers, &redacted)?;
        if let (Some(expected), Some(actual)) = (reference_digest(reference), &digest)
            && expected != actual
        {
            return Err(Error::DigestMismatch {
                url: redacted,
                expected: expected.clone(),
                actual: actual.clone(),
            });
        }
        Ok(Some(ManifestHead {
            media_type,
            digest,
            size: content_length(headers),
        }))
    }

    /// Resolves a tag or digest to a descriptor: a `HEAD` when it tells everything, else a
    /// verified `GET`.
    ///
    /// # Errors
    ///
    /// As [`Repository::head_manifest`] and [`Repository::fetch_manifest`].
    pub async fn resolve(&self, reference: &TagOrDigest) -> Result<Descriptor, Error> {
        if let Some(ManifestHead {
            media_type: Some(media_type),
            digest: Some(digest),
            size: Some(size),
        }) = self.head_manifest(reference).await?
            && !is_generic(&media_type)
        {
            return Ok(Descriptor::new(media_type, digest, size));
        }
        Ok(self.fetch_manifest(reference).await?.descriptor)
    }

    /// Pushes manifest `bytes` (sent as they are) with `Content-Type: media_type` under a tag
    /// or its digest. When the manifest has a `subject` and the registry does not answer with
    /// `OCI-Subject`, the referrers fallback index (tag `<alg>-<hex>`) is updated: this is
    /// [`Repository::push_manifest_with`] and [`FallbackEdit::Now`].
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] when the registry cannot be reached or the connection breaks (after the
    /// retries of the client's [`RetryPolicy`](crate::RetryPolicy)), [`Error::Auth`] when
    /// authentication fails, [`Error::Registry`] for an error status (see [`Error::is_not_found`],
    /// [`Error::is_unauthorized`]); [`Error::InvalidInput`] when `bytes` is not JSON, its
    /// `mediaType` differs from `media_type`, it does not hash to a digest pushed to, or its
    /// subject digest is not valid; [`Error::DigestMismatch`] when the registry reports another
    /// digest; and the errors of updating the referrers fallback index.
    pub async fn push_manifest(
        &self,
        reference: &TagOrDigest,
        bytes: Bytes,
        media_type: &str,
    ) -> Result<PushedManifest, Error> {
        self.push_manifest_with(reference, bytes, media_type, FallbackEdit::Now)
            .await
    }

    /// [`Repository::push_manifest`], with the fallback index of a manifest with a `subject`
    /// updated as `fallback` says: at once, or by the caller later with
    /// [`Repository::add_referrers`], in one edit for several referrers of one subject (a
    /// manifest `PUT` is idempotent, so pushing again one the registry has and recording it is
    /// how an interrupted copy gets it listed).
    ///
    /// # Errors
    ///
    /// As [`Repository::push_manifest`]; with [`FallbackEdit::Deferred`], none from the
    /// fallback index.
    pub async fn push_manifest_with(
        &self,
        reference: &TagOrDigest,
        bytes: Bytes,
        media_type: &str,
        fallback: FallbackEdit,
    ) -> Result<PushedManifest, Error> {
        let peek: Peek = serde_json::from_slice(&bytes).map_err(|e| Error::InvalidInput {
            what: "manifest JSON",
            source: Some(Box::new(e)),
        })?;
        if peek.media_type.as_deref().is_some_and(|m| m != media_type) {
            return Err(Error::InvalidInput {
                what: "media type (differs from the manifest's mediaType)",
                source: None,
            });
        }
        let algorithm = reference_digest(reference).map_or(Algorithm::Sha256, Digest::algorithm);
        let digest = digest_of(algorithm, &bytes);
        if let Some(expected) = reference_digest(reference)
            && *expected != digest
        {
            return Err(Error::InvalidInput {
                what: "manifest (bytes do not hash to the digest pushed to)",
                source: None,
            });
        }
        let subject = match &peek.subject {
            Some(s) => Some(Digest::parse(&s.digest).map_err(|e| Error::InvalidInput {
                what: "manifest subject digest",
                source: Some(Box::new(e)),
            })?),
            None => None,
        };
        let target = self.target(Access::Push)?;
        let url = self.manifest_url(reference)?;
        let redacted = self.client.inner.redact(&url, &target);
        let size = bytes.len() as u64;
        let req = Req::new(Method::PUT, url)
            .header(header::CONTENT_TYPE, header_value(media_type)?)
            .body(bytes.clone())
            .idempotent(true);
        let resp = self.send_ok(&target, req).await?;
        if let Some(returned) = docker_content_digest(resp.headers(), &redacted)?
            && returned.algorithm() == digest.algorithm()
            && returned != digest
        {
            return Err(Error::DigestMismatch {
                url: redacted,
                expected: digest,
                actual: returned,
            });
        }
        let subject_confirmed = resp.headers().contains_key("oci-subject");
        if subject_confirmed {
            self.learn_referrers_api();
        }
        let descriptor = Descriptor::new(media_type, digest, size);
        let pushed = PushedManifest {
            listed_as: subject
                .as_ref()
                .map(|_| referrer_descriptor(&descriptor, &bytes)),
            descriptor,
            subject,
            subject_confirmed,
        };
        if let (FallbackEdit::Now, Some(subject)) = (fallback, &pushed.subject) {
            self.add_referrers(subject, std::slice::from_ref(&pushed))
                .await?;
        }
        Ok(pushed)
    }

    /// Deletes a manifest (by digest) or a tag (`DELETE /v2/<name>/manifests/<reference>`).
    /// Registries that do not allow deletion answer 400 or 405 ([`Error::Registry`]).
    ///
    /// Deleting by digest a manifest that has a `subject` on a registry without referrers API
    /// also removes it from the subject's fallback index (the manifest is read first to learn
    /// its subject).
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] when the registry cannot be reached or the connection breaks (after the
    /// retries of the client's [`RetryPolicy`](crate::RetryPolicy)), [`Error::Auth`] when
    /// authentication fails, [`Error::Registry`] for an error status (see [`Error::is_not_found`],
    /// [`Error::is_unauthorized`]) (registries that do not allow deletion answer 400 or 405), and
    /// the errors of updating the referrers fallback index.
    pub async fn delete_manifest(&self, reference: &TagOrDigest) -> Result<(), Error> {
        let subject = match reference {
            TagOrDigest::Digest(_) => match self.fetch_manifest(reference).await {
                Ok(m) => serde_json::from_slice::<Peek>(m.bytes())
                    .ok()
                    .and_then(|p| p.subject)
                    .and_then(|s| Digest::parse(&s.digest).ok()),
                Err(_) => None,
            },
            TagOrDigest::Tag(_) => None,
        };
        let target = self.target(Access::Push)?;
        let url = self.manifest_url(reference)?;
        self.send_ok(&target, Req::new(Method::DELETE, url)).await?;
        if let (Some(subject), TagOrDigest::Digest(deleted)) = (subject, reference) {
            self.remove_from_referrers_fallback(&subject, deleted)
                .await?;
        }
        Ok(())
    }
}

fn reference_digest(r: &TagOrDigest) -> Option<&Digest> {
    match r {
        TagOrDigest::Digest(d) => Some(d),
        TagOrDigest::Tag(_) => None,
    }
}

fn refuse_schema1(media_type: &str, url: &str) -> Result<(), Error> {
    if media_type == DOCKER_SCHEMA1 || media_type == DOCKER_SCHEMA1_SIGNED {
        return Err(Error::UnsupportedManifest {
            url: url.to_owned(),
            media_type: media_type.to_owned(),
        });
    }
    Ok(())
}

/// `Content-Type` without parameters, lower-cased.
pub(crate) fn content_type(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let v = v
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    (!v.is_empty()).then_some(v)
}

pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Types some registries send for manifests without a `mediaType`; they say nothing.
fn is_generic(media_type: &str) -> bool {
    matches!(media_type, JSON | OCTET_STREAM | TEXT_PLAIN)
}

/// The `Docker-Content-Digest` header: `None` when absent or of an algorithm we cannot
/// compute; an error when it is not a digest at all.
pub(crate) fn docker_content_digest(
    headers: &HeaderMap,
    url: &str,
) -> Result<Option<Digest>, Error> {
    let Some(v) = headers.get("docker-content-digest") else {
        return Ok(None);
    };
    let s = v
        .to_str()
        .map_err(|_| Error::protocol(url, Protocol::InvalidDigestHeader))?;
    match Digest::parse(s.trim()) {
        Ok(d) => Ok(Some(d)),
        Err(oci_ref::Error::UnsupportedAlgorithm { .. }) => Ok(None),
        Err(_) => Err(Error::protocol(url, Protocol::InvalidDigestHeader)),
    }
}

/// The media type of a received manifest: the body's `mediaType` and a specific
/// `Content-Type` must agree; without either, the shape decides (`manifests` → index).
fn manifest_media_type(
    bytes: &[u8],
    content_type: Option<&str>,
    url: &str,
) -> Result<String, Error> {
    let peek: Peek =
        serde_json::from_slice(bytes).map_err(|_| Error::protocol(url, Protocol::InvalidJson))?;
    let content_type = content_type.filter(|ct| !is_generic(ct));
    if peek.schema_version == Some(1) {
        return Err(Error::UnsupportedManifest {
            url: url.to_owned(),
            media_type: content_type.unwrap_or(DOCKER_SCHEMA1).to_owned(),
        });
    }
    match (peek.media_type, content_type) {
        (Some(body), Some(ct)) if body != ct => {
            Err(Error::protocol(url, Protocol::MediaTypeMismatch))
        }
        (Some(body), _) => Ok(body),
        (None, Some(ct)) => Ok(ct.to_owned()),
        (None, None) if peek.manifests.is_some() => Ok(OCI_INDEX.to_owned()),
        (None, None) => Ok(OCI_MANIFEST.to_owned()),
    }
}
