//! The verified layer API for downstream crates: resolve a reference, list the chosen
//! artifact's layers, pick one by title, media type or annotation, and read it — as a verified
//! async stream, an [`AsyncRead`](tokio::io::AsyncRead), into memory under a size cap, into any
//! [`AsyncWrite`], or (the safe default) into a file with
//! [`Artifact::download`].
//!
//! An [`Artifact`] reads from an [`ArtifactSource`]: a registry reference with its
//! `registries.conf` pull sources (mirrors first, the same fall-through and strikes against a
//! source serving bad bytes as [`download`]), or an OCI layout.
//!
//! # Unverified until the end
//!
//! [`Artifact::stream`], [`Artifact::reader`] and [`Artifact::copy_to`] hand bytes over as they
//! arrive: digest and size are checked as they pass, but the verdict exists only once the last
//! byte has. **Bytes are unverified until the stream ends without error** (`None` from the
//! stream, `Ok(0)` from the reader, `Ok` from `copy_to`); a wrong digest or size is an error at
//! the end ([`LayerError::Verify`]), and whatever the caller did with the bytes must then be
//! undone by the caller. [`Artifact::read_to_vec`] returns nothing before verification, and
//! [`Artifact::download`] renames its file into place only after it.
//!
//! # Example
//!
//! ```no_run
//! use oci_fetch::artifact::{Artifact, LayerPick};
//! use oci_select::{DownloadSource, Policy};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = oci_client::Client::new_default()?;
//! let reference: oci_ref::Reference = "registry.example/ipa/kernel-ramdisk:latest".parse()?;
//! let policy = Policy::ironic(DownloadSource::Local, Some("x86_64"));
//! let artifact = Artifact::from_registry(&client, &reference, None, &policy).await?;
//! let kernel = artifact.layer(&LayerPick::title("vmlinuz"))?.clone();
//! let bytes = artifact.read_to_vec(&kernel, 64 << 20).await?; // verified
//! # let _ = bytes; Ok(()) }
//! ```
//!
//! # Cancel safety
//!
//! Dropping a stream, reader or future stops reading; nothing is written by this module except
//! by [`Artifact::copy_to`] into the caller's writer and by [`Artifact::download`] (see its
//! cancel safety).

mod stream;

use oci_ref::TagOrDigest;
use std::path::Path;

use oci_client::Client;
use oci_client::registries::RegistriesConf;
use oci_ref::{Digest, Reference};
use oci_select::Policy;
use tokio::io::{AsyncWrite, AsyncWriteExt as _};

pub use stream::{LayerReader, LayerStream, MAX_STREAM_ATTEMPTS};

use crate::descriptor::Descriptor;
use crate::download::{DownloadError, DownloadOptions, Downloaded, download};
use crate::layout::{LayoutError, OciLayout};
use crate::registry::{
    BadBytesRestarts, PullSourceError, RegistrySource, direct_sources, sources_tried,
};
use crate::resolve::{LayoutSource, ManifestSource, ResolveError, Resolved, resolve};
use crate::source::{BlobSource, SourceError};
use crate::verify::VerifyError;

/// Where an [`Artifact`] is read from.
#[derive(Debug)]
#[non_exhaustive]
pub enum ArtifactSource {
    /// A registry reference with its pull sources.
    Registry(RegistrySource),
    /// An OCI image layout.
    Layout(LayoutSource),
}

impl ArtifactSource {
    /// As a manifest source (for [`resolve`]).
    pub fn manifests(&self) -> &dyn ManifestSource {
        match self {
            ArtifactSource::Registry(r) => r,
            ArtifactSource::Layout(l) => l,
        }
    }

    /// As a blob source (for downloads).
    pub fn blobs(&self) -> &dyn BlobSource {
        match self {
            ArtifactSource::Registry(r) => r,
            ArtifactSource::Layout(l) => l.layout(),
        }
    }

    /// Tells a registry source the size each of `layers` must have, so that a source
    /// announcing another length falls through before a byte is read.
    pub fn expect_sizes(&self, layers: &[Descriptor]) {
        if let ArtifactSource::Registry(r) = self {
            for l in layers {
                r.expect_size(&l.digest, l.size);
            }
        }
    }
}

/// Which layer to pick ([`Artifact::layer`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LayerPick {
    /// The layer whose `org.opencontainers.image.title` is this.
    Title(String),
    /// The layer with this media type.
    MediaType(String),
    /// The layer carrying this annotation with this value.
    Annotation {
        /// The annotation key.
        key: String,
        /// Its value.
        value: String,
    },
}

impl LayerPick {
    /// By title.
    pub fn title(title: impl Into<String>) -> LayerPick {
        LayerPick::Title(title.into())
    }

    /// By media type.
    pub fn media_type(media_type: impl Into<String>) -> LayerPick {
        LayerPick::MediaType(media_type.into())
    }

    /// By annotation.
    pub fn annotation(key: impl Into<String>, value: impl Into<String>) -> LayerPick {
        LayerPick::Annotation {
            key: key.into(),
            value: value.into(),
        }
    }

    /// Whether `layer` matches.
    pub fn matches(&self, layer: &Descriptor) -> bool {
        match self {
            LayerPick::Title(t) => layer.title() == Some(t.as_str()),
            LayerPick::MediaType(m) => layer.media_type == *m,
            LayerPick::Annotation { key, value } => layer.annotations.get(key) == Some(value),
        }
    }
}

impl std::fmt::Display for LayerPick {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LayerPick::Title(t) => write!(f, "title {t:?}"),
            LayerPick::MediaType(m) => write!(f, "media type {m:?}"),
            LayerPick::Annotation { key, value } => write!(f, "annotation {key}={value:?}"),
        }
    }
}

/// Why opening an artifact or picking a layer failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArtifactError {
    /// registries.conf gave no usable pull source for the reference.
    #[error("pull sources of {reference}: {source}")]
    Sources {
        /// The reference.
        reference: String,
        /// What registries.conf said.
        #[source]
        source: Box<oci_client::registries::Error>,
    },
    /// Setting up the registry source failed.
    #[error(transparent)]
    Registry(#[from] PullSourceError),
    /// Opening the layout failed.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// Resolution failed.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// No layer matches.
    #[error("{manifest}: no layer has {pick} (layers: {})", layers.join(", "))]
    NoLayer {
        /// The manifest.
        manifest: String,
        /// What was asked for.
        pick: LayerPick,
        /// Each layer's title (or media type when untitled).
        layers: Vec<String>,
    },
    /// More than one layer matches.
    #[error("{manifest}: {count} layers have {pick}")]
    AmbiguousLayer {
        /// The manifest.
        manifest: String,
        /// What was asked for.
        pick: LayerPick,
        /// How many match.
        count: usize,
    },
}

/// Why reading a layer failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LayerError {
    /// Every source failed to serve the blob (not found, unreachable, refused).
    #[error("blob {digest}: {source}")]
    Source {
        /// The blob.
        digest: Digest,
        /// The last failure.
        #[source]
        source: SourceError,
    },
    /// The bytes failed verification (wrong digest, too long, too short): everything handed
    /// out for this layer must be discarded. (`source` names the blob.)
    #[error("blob failed verification: {source}")]
    Verify {
        /// The blob.
        digest: Digest,
        /// What was wrong.
        #[source]
        source: VerifyError,
    },
    /// Every place the source could read the blob from (a registry's pull sources, mirrors
    /// first) served bytes failing verification to [`Artifact::read_to_vec`], which started
    /// over at the next one each time; `source` is the last failure, followed by the places.
    #[error("{source}{}", sources_tried(sources))]
    Rejected {
        /// The blob.
        digest: Digest,
        /// The places that served bad bytes, in order (`mirror registry/repository`,
        /// `primary registry/repository`).
        sources: Vec<String>,
        /// The last verification failure.
        #[source]
        source: Box<LayerError>,
    },
    /// A source answered a resumed read at an offset that was neither the one asked for nor 0.
    #[error("blob {digest}: asked to resume at {requested}, the source started at {applied}")]
    BadOffset {
        /// The blob.
        digest: Digest,
        /// Offset asked for.
        requested: u64,
        /// Offset the source said it started at.
        applied: u64,
    },
    /// The layer is larger than the cap given to [`Artifact::read_to_vec`].
    #[error("blob {digest} has {size} bytes, above the cap of {limit}")]
    TooLarge {
        /// The blob.
        digest: Digest,
        /// Its size.
        size: u64,
        /// The cap.
        limit: u64,
    },
    /// Writing to the caller's writer failed.
    #[error("writing blob {digest}: {source}")]
    Write {
        /// The blob.
        digest: Digest,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl LayerError {
    /// Whether the bytes failed verification.
    pub fn is_integrity(&self) -> bool {
        matches!(
            self,
            LayerError::Verify { .. } | LayerError::Rejected { .. }
        ) || matches!(self, LayerError::Source { source, .. } if source.is_integrity())
    }
}

/// A resolved artifact and where its blobs come from.
#[derive(Debug)]
pub struct Artifact {
    source: ArtifactSource,
    resolved: Resolved,
}

impl Artifact {
    /// Resolves `target` (named `name` in messages) at `source` under `policy`.
    ///
    /// # Errors
    ///
    /// [`ArtifactError::Resolve`] when resolution fails (see [`resolve`]).
    pub async fn open(
        source: ArtifactSource,
        target: &TagOrDigest,
        name: &str,
        policy: &Policy,
    ) -> Result<Artifact, ArtifactError> {
        let resolved = resolve(source.manifests(), name, target, policy).await?;
        source.expect_sizes(&resolved.layers);
        Ok(Artifact { source, resolved })
    }

    /// Resolves a registry reference through the pull sources `conf` gives it (mirrors first),
    /// or the reference alone without `conf`.
    ///
    /// # Errors
    ///
    /// [`ArtifactError::Sources`] when `conf` blocks the reference, [`ArtifactError::Registry`]
    /// when a source cannot be set up, and [`ArtifactError::Resolve`].
    pub async fn from_registry(
        client: &Client,
        reference: &Reference,
        conf: Option<&RegistriesConf>,
        policy: &Policy,
    ) -> Result<Artifact, ArtifactError> {
        let sources = match conf {
            Some(conf) => {
                conf.pull_sources(reference)
                    .map_err(|source| ArtifactError::Sources {
                        reference: reference.to_string(),
                        source: Box::new(source),
                    })?
            }
            None => direct_sources(reference),
        };
        let source = RegistrySource::new(client, reference, sources)?;
        let target = TagOrDigest::from(reference);
        Artifact::open(
            ArtifactSource::Registry(source),
            &target,
            &reference.to_string(),
            policy,
        )
        .await
    }

    /// Resolves `target` in the OCI layout at `dir`.
    ///
    /// # Errors
    ///
    /// [`ArtifactError::Layout`] when `dir` is not a layout, and [`ArtifactError::Resolve`].
    pub async fn from_layout(
        dir: &Path,
        target: &TagOrDigest,
        policy: &Policy,
    ) -> Result<Artifact, ArtifactError> {
        let layout = OciLayout::open(dir).await?;
        let name = format!("{}{target}", dir.display());
        Artifact::open(
            ArtifactSource::Layout(LayoutSource::new(layout)),
            target,
            &name,
            policy,
        )
        .await
    }

    /// What resolution found (manifest, source, blob URL, explanation).
    pub fn resolved(&self) -> &Resolved {
        &self.resolved
    }

    /// Where the blobs come from.
    pub fn source(&self) -> &ArtifactSource {
        &self.source
    }

    /// Every layer of the chosen manifest, in order.
    pub fn layers(&self) -> &[Descriptor] {
        &self.resolved.layers
    }

    /// The one layer matching `pick`.
    ///
    /// # Errors
    ///
    /// [`ArtifactError::NoLayer`] when none matches, [`ArtifactError::AmbiguousLayer`] when
    /// several do.
    pub fn layer(&self, pick: &LayerPick) -> Result<&Descriptor, ArtifactError> {
        let mut found = self.layers().iter().filter(|l| pick.matches(l));
        let manifest = self.resolved.manifest_url.to_string();
        match (found.next(), found.count()) {
            (Some(l), 0) => Ok(l),
            (Some(_), more) => Err(ArtifactError::AmbiguousLayer {
                manifest,
                pick: pick.clone(),
                count: more + 1,
            }),
            (None, _) => Err(ArtifactError::NoLayer {
                manifest,
                pick: pick.clone(),
                layers: self
                    .layers()
                    .iter()
                    .map(|l| l.title().unwrap_or(&l.media_type).to_owned())
                    .collect(),
            }),
        }
    }

    /// The layer's bytes as they arrive, digest and size checked in passing; the verdict is
    /// the last item (see the [module docs](self#unverified-until-the-end)). A transfer that
    /// breaks off is resumed where it stopped (up to [`MAX_STREAM_ATTEMPTS`] opens).
    pub fn stream<'a>(&'a self, layer: &Descriptor) -> LayerStream<'a> {
        LayerStream::new(self.source.blobs(), layer)
    }

    /// [`Artifact::stream`] as an [`AsyncRead`](tokio::io::AsyncRead): a failure (verification
    /// included, at the end) is an `io::Error` whose inner error is the [`LayerError`].
    pub fn reader<'a>(&'a self, layer: &Descriptor) -> LayerReader<'a> {
        LayerReader::new(self.stream(layer))
    }

    /// The whole layer in memory, verified before it is returned. A layer whose descriptor
    /// says more than `limit` bytes is refused before any byte is read. Bytes that fail
    /// verification strike the source that served them; the read starts over, at once, while
    /// another source may serve them (as `registry::BadBytesRestarts` allows: every pull
    /// source gets its strikes, however many come before the one serving good bytes).
    ///
    /// # Errors
    ///
    /// [`LayerError::TooLarge`]; [`LayerError::Rejected`] naming the places when every one the
    /// source named served bad bytes; and any error of [`Artifact::stream`].
    pub async fn read_to_vec(&self, layer: &Descriptor, limit: u64) -> Result<Vec<u8>, LayerError> {
        use futures_util::StreamExt as _;
        if layer.size > limit {
            return Err(LayerError::TooLarge {
                digest: layer.digest.clone(),
                size: layer.size,
                limit,
            });
        }
        let blobs = self.source.blobs();
        let mut restarts = BadBytesRestarts::new(blobs.places());
        loop {
            let mut out = Vec::with_capacity(usize::try_from(layer.size).unwrap_or(0));
            let mut stream = self.stream(layer);
            let mut failed = None;
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(bytes) => out.extend_from_slice(&bytes),
                    Err(e) => {
                        failed = Some((e, stream.retry_possible()));
                        break;
                    }
                }
            }
            match failed {
                None => return Ok(out),
                Some((e, again)) if e.is_integrity() => {
                    if !restarts.restart(blobs.place(&layer.digest), again) {
                        return Err(restarts.naming(e, |sources, e| LayerError::Rejected {
                            digest: layer.digest.clone(),
                            sources,
                            source: Box::new(e),
                        }));
                    }
                }
                Some((e, _)) => return Err(e),
            }
        }
    }

    /// Copies the layer into `writer` as it arrives and flushes it; returns the byte count.
    /// The bytes written are unverified until this returns `Ok`.
    ///
    /// # Errors
    ///
    /// [`LayerError::Write`] when the writer fails, and any error of [`Artifact::stream`].
    pub async fn copy_to<W>(&self, layer: &Descriptor, writer: &mut W) -> Result<u64, LayerError>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        use futures_util::StreamExt as _;
        let write_error = |source| LayerError::Write {
            digest: layer.digest.clone(),
            source,
        };
        let mut stream = self.stream(layer);
        let mut written = 0u64;
        while let Some(chunk) = stream.next().await {
            let bytes = chunk?;
            writer.write_all(&bytes).await.map_err(write_error)?;
            written += bytes.len() as u64;
        }
        writer.flush().await.map_err(write_error)?;
        Ok(written)
    }

    /// The safe default: the layer into a file at `path`, verified before it is renamed into
    /// place (see [`download`]).
    ///
    /// # Errors
    ///
    /// Any [`DownloadError`].
    pub async fn download(
        &self,
        layer: &Descriptor,
        path: &Path,
        opts: &DownloadOptions,
    ) -> Result<Downloaded, DownloadError> {
        download(self.source.blobs(), layer, path, opts).await
    }
}
