//! The manifest seam of [`resolve`](super::resolve): [`ManifestSource`], implemented by a
//! registry ([`RegistrySource`]) and by an on-disk layout ([`OciLayout`]).

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use oci_ref::{Digest, Reference, TagOrDigest};
use url::Url;

use super::ResolveError;
use crate::descriptor::Descriptor;
use crate::layout::{MAX_MANIFEST_SIZE, OciLayout};
use crate::registry::{MAX_CONFIG_BYTES, RegistrySource};
use crate::source::{BlobSource, BoxFuture, blob_head};

/// The chosen manifest, pinned by digest: what [`Resolved::manifest_url`](super::Resolved::manifest_url)
/// names. `Display` gives `oci://host/repo@sha256:…` for a registry and `DIR@sha256:…` for a
/// layout (the `--json` `manifest_url`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PinnedManifest {
    /// In a registry: the user's reference pinned to the digest.
    Registry(Reference),
    /// In an OCI image layout.
    Layout {
        /// The layout's root directory.
        dir: PathBuf,
        /// The manifest's digest.
        digest: Digest,
    },
}

impl fmt::Display for PinnedManifest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PinnedManifest::Registry(reference) => f.write_str(&reference.to_oci_url()),
            PinnedManifest::Layout { dir, digest } => write!(f, "{}@{digest}", dir.display()),
        }
    }
}

/// Which source served the chosen manifest: where its blobs are.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServedBy {
    /// A registry pull source (registries.conf's primary location or a mirror).
    Registry {
        /// The reference as requested at that source, namespace rewrite applied.
        reference: Reference,
        /// `true` for a mirror, `false` for the primary location.
        mirror: bool,
    },
    /// An OCI image layout on disk.
    Layout {
        /// The layout's root directory.
        dir: PathBuf,
    },
}

impl ServedBy {
    /// `primary`, `mirror` or `layout`.
    pub fn kind(&self) -> &'static str {
        match self {
            ServedBy::Registry { mirror: true, .. } => "mirror",
            ServedBy::Registry { mirror: false, .. } => "primary",
            ServedBy::Layout { .. } => "layout",
        }
    }
}

impl fmt::Display for ServedBy {
    /// The reference at the source, or the layout directory.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServedBy::Registry { reference, .. } => write!(f, "{reference}"),
            ServedBy::Layout { dir } => write!(f, "{}", dir.display()),
        }
    }
}

/// A manifest or index as received: bytes verified against [`FetchedManifest::digest`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FetchedManifest {
    /// The exact bytes.
    pub bytes: Bytes,
    /// The media type the source declared (`Content-Type`, or the layout descriptor's).
    pub media_type: Option<String>,
    /// The digest the bytes hash to (checked against the requested digest).
    pub digest: Digest,
}

impl FetchedManifest {
    /// A fetched manifest.
    pub fn new(bytes: Bytes, media_type: Option<String>, digest: Digest) -> FetchedManifest {
        FetchedManifest {
            bytes,
            media_type,
            digest,
        }
    }
}

/// Where [`resolve`](super::resolve) reads manifests from.
///
/// Implementations must verify what they return: a manifest fetched by digest hashes to that
/// digest; a manifest fetched by tag reports the digest of its bytes.
pub trait ManifestSource: Send + Sync {
    /// Fetches a manifest or index.
    fn fetch_manifest<'a>(
        &'a self,
        target: &'a TagOrDigest,
    ) -> BoxFuture<'a, Result<FetchedManifest, ResolveError>>;

    /// Reads a small blob (an image config), verified.
    fn fetch_config<'a>(
        &'a self,
        digest: &'a Digest,
        size: u64,
    ) -> BoxFuture<'a, Result<Bytes, ResolveError>>;

    /// Requests made so far, counted by the source (a registry counts each request at each pull
    /// source). `None` when the source does not count; the resolver then counts its own calls.
    fn requests(&self) -> Option<u64> {
        None
    }

    /// The manifest `digest`, pinned in this source.
    fn pinned(&self, digest: &Digest) -> PinnedManifest;

    /// Where the blob `blob` of the manifest `manifest` can be fetched from directly: at the
    /// source that served that manifest.
    /// `None` when the source cannot name one.
    fn blob_url(&self, manifest: &Digest, blob: &Digest) -> Option<Url>;

    /// The first bytes of the blob `digest` of `size` bytes, unverified (see [`blob_head`]):
    /// how [`resolve`](super::resolve) tells the compression of a blob whose media type
    /// declares none, the way a download with decompression on does. A registry asks for
    /// those bytes only, a layout reads them from the blob's file. The default reads nothing
    /// (no compression can then be seen in the bytes).
    fn blob_head<'a>(
        &'a self,
        digest: &'a Digest,
        size: u64,
    ) -> BoxFuture<'a, Result<Bytes, ResolveError>> {
        let _ = (digest, size);
        Box::pin(async { Ok(Bytes::new()) })
    }

    /// Which source served the manifest `manifest`.
    fn served_by(&self, manifest: &Digest) -> ServedBy;
}

impl ManifestSource for RegistrySource {
    fn fetch_manifest<'a>(
        &'a self,
        target: &'a TagOrDigest,
    ) -> BoxFuture<'a, Result<FetchedManifest, ResolveError>> {
        Box::pin(async move {
            let m = RegistrySource::fetch_manifest(self, target).await?;
            Ok(FetchedManifest {
                bytes: m.bytes().clone(),
                media_type: Some(m.media_type().to_owned()),
                digest: m.digest().clone(),
            })
        })
    }

    fn fetch_config<'a>(
        &'a self,
        digest: &'a Digest,
        size: u64,
    ) -> BoxFuture<'a, Result<Bytes, ResolveError>> {
        Box::pin(async move { Ok(self.fetch_small_blob(digest, size).await?) })
    }

    fn requests(&self) -> Option<u64> {
        Some(RegistrySource::requests(self))
    }

    fn pinned(&self, digest: &Digest) -> PinnedManifest {
        PinnedManifest::Registry(self.reference().pinned(digest.clone()))
    }

    fn blob_url(&self, manifest: &Digest, blob: &Digest) -> Option<Url> {
        RegistrySource::blob_url(self, manifest, blob)
    }

    fn blob_head<'a>(
        &'a self,
        digest: &'a Digest,
        size: u64,
    ) -> BoxFuture<'a, Result<Bytes, ResolveError>> {
        Box::pin(head_of(self, digest, size))
    }

    fn served_by(&self, manifest: &Digest) -> ServedBy {
        match self.manifest_served_by(manifest) {
            Some(s) => ServedBy::Registry {
                reference: s.reference.clone(),
                mirror: s.mirror,
            },
            None => ServedBy::Registry {
                reference: self.reference().clone(),
                mirror: false,
            },
        }
    }
}

/// An [`OciLayout`] as a [`ManifestSource`] that counts its reads (`index.json` and blobs).
#[derive(Debug)]
pub struct LayoutSource {
    layout: OciLayout,
    reads: AtomicU64,
}

impl LayoutSource {
    /// Wraps a layout.
    pub fn new(layout: OciLayout) -> LayoutSource {
        LayoutSource {
            layout,
            reads: AtomicU64::new(0),
        }
    }

    /// The layout.
    pub fn layout(&self) -> &OciLayout {
        &self.layout
    }
}

impl ManifestSource for LayoutSource {
    fn fetch_manifest<'a>(
        &'a self,
        target: &'a TagOrDigest,
    ) -> BoxFuture<'a, Result<FetchedManifest, ResolveError>> {
        // Reading index.json (resolve) and the manifest blob: two reads.
        self.reads.fetch_add(2, Ordering::Relaxed);
        self.layout.fetch_manifest(target)
    }

    fn fetch_config<'a>(
        &'a self,
        digest: &'a Digest,
        size: u64,
    ) -> BoxFuture<'a, Result<Bytes, ResolveError>> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.layout.fetch_config(digest, size)
    }

    fn requests(&self) -> Option<u64> {
        Some(self.reads.load(Ordering::Relaxed))
    }

    fn pinned(&self, digest: &Digest) -> PinnedManifest {
        self.layout.pinned(digest)
    }

    fn blob_url(&self, manifest: &Digest, blob: &Digest) -> Option<Url> {
        self.layout.blob_url(manifest, blob)
    }

    fn blob_head<'a>(
        &'a self,
        digest: &'a Digest,
        size: u64,
    ) -> BoxFuture<'a, Result<Bytes, ResolveError>> {
        // An empty blob is not read (see `blob_head`).
        if size > 0 {
            self.reads.fetch_add(1, Ordering::Relaxed);
        }
        Box::pin(head_of(&self.layout, digest, size))
    }

    fn served_by(&self, manifest: &Digest) -> ServedBy {
        self.layout.served_by(manifest)
    }
}

impl ManifestSource for OciLayout {
    fn fetch_manifest<'a>(
        &'a self,
        target: &'a TagOrDigest,
    ) -> BoxFuture<'a, Result<FetchedManifest, ResolveError>> {
        Box::pin(async move {
            let desc = self.resolve(target).await?;
            let bytes = self.read_blob(&desc, MAX_MANIFEST_SIZE).await?;
            let media_type = Some(desc.media_type.clone()).filter(|m| !m.is_empty());
            Ok(FetchedManifest {
                bytes: Bytes::from(bytes),
                media_type,
                digest: desc.digest,
            })
        })
    }

    fn fetch_config<'a>(
        &'a self,
        digest: &'a Digest,
        size: u64,
    ) -> BoxFuture<'a, Result<Bytes, ResolveError>> {
        Box::pin(async move {
            let desc = Descriptor::new("", digest.clone(), size);
            Ok(Bytes::from(self.read_blob(&desc, MAX_CONFIG_BYTES).await?))
        })
    }

    fn pinned(&self, digest: &Digest) -> PinnedManifest {
        PinnedManifest::Layout {
            dir: self.root().to_path_buf(),
            digest: digest.clone(),
        }
    }

    /// `file://` URL of the blob file; `None` when the layout's path cannot be made absolute.
    fn blob_url(&self, _manifest: &Digest, blob: &Digest) -> Option<Url> {
        let path = std::path::absolute(self.blob_path(blob)).ok()?;
        Url::from_file_path(path).ok()
    }

    fn served_by(&self, _manifest: &Digest) -> ServedBy {
        ServedBy::Layout {
            dir: self.root().to_path_buf(),
        }
    }
}

/// [`blob_head`] as a [`ResolveError`].
async fn head_of(
    source: &dyn BlobSource,
    digest: &Digest,
    size: u64,
) -> Result<Bytes, ResolveError> {
    blob_head(source, digest, size)
        .await
        .map_err(|source| ResolveError::BlobHead {
            digest: digest.clone(),
            source,
        })
}
