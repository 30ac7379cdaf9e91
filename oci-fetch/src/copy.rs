//! Copying a manifest graph (an index or manifest, its child manifests, configs and layers)
//! between registries and OCI layouts, in any direction, like `oras cp`.
//!
//! Content-addressed: a blob the destination already has (a registry answering `HEAD`, a
//! layout holding a verified file) is not transferred again. Blobs go before the manifests
//! that reference them and child manifests before their index, so a registry never sees a
//! manifest whose content is missing; the root is tagged last.
//!
//! Large blobs are never held in memory: registry → layout goes through the verified download
//! engine ([`OciLayout::write_blob`]); layout → registry uploads the layout file in chunks;
//! registry → registry mounts across repositories of the same registry and otherwise stages
//! each blob in a temporary layout (verified on the way in, removed after the upload). Only
//! manifests (at most [`MAX_MANIFEST_SIZE`] bytes) are read into memory.
//!
//! Referrers (`subject`) are not followed.

use oci_ref::media_type::{DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST};
use std::path::PathBuf;

use bytes::Bytes;
use oci_client::{Client, Repository};
use oci_ref::{Digest, Reference, Tag, TagOrDigest};

use crate::descriptor::{Descriptor, ImageIndex, ImageManifest};
use crate::download::DownloadOptions;
use crate::layout::{LayoutAddress, LayoutError, MAX_INDEX_DEPTH, MAX_MANIFEST_SIZE, OciLayout};
use crate::registry::{RegistryError, RegistrySource};
use crate::source::{BlobSource, BoxFuture, MemorySource};

/// Chunk size of uploads from a file (8 MiB: memory use per upload is one chunk).
pub const UPLOAD_CHUNK_BYTES: usize = oci_client::DEFAULT_CHUNK_BYTES;

/// One end of a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// A repository in a registry, with a tag or digest.
    Registry(Reference),
    /// An OCI layout directory, with a tag or digest.
    Layout(LayoutAddress),
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Registry(r) => write!(f, "{r}"),
            Location::Layout(a) => write!(f, "{a}"),
        }
    }
}

/// What a copy did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CopyStats {
    /// Blobs and manifests transferred.
    pub copied: usize,
    /// Blobs already at the destination, so not transferred.
    pub skipped: usize,
    /// Blobs mounted from the source repository (same registry).
    pub mounted: usize,
    /// Bytes transferred (blobs and manifests).
    pub bytes: u64,
}

/// The result of a copy.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Copied {
    /// The root's descriptor (media type, digest, size).
    pub root: Descriptor,
    /// The tag the root got at the destination, if any.
    pub tag: Option<String>,
    /// Counters.
    pub stats: CopyStats,
}

/// Why a copy failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CopyError {
    /// The source layout address names neither a tag nor a digest.
    #[error("{address}: name a tag or digest to copy (DIR:TAG or DIR@DIGEST)")]
    NoSourceTarget {
        /// The address given.
        address: String,
    },
    /// The destination pins a digest other than the source root's.
    #[error("destination digest {destination} differs from the source's {source_digest}")]
    DigestMismatch {
        /// The digest in the destination address.
        destination: Digest,
        /// The source root's digest.
        source_digest: Digest,
    },
    /// Indexes nest deeper than [`MAX_INDEX_DEPTH`].
    #[error("{digest}: indexes nest deeper than {limit} levels")]
    TooDeep {
        /// The index at the limit.
        digest: Digest,
        /// The limit.
        limit: usize,
    },
    /// A manifest does not parse.
    #[error("manifest {digest}: invalid JSON: {message}")]
    InvalidManifest {
        /// The manifest.
        digest: Digest,
        /// The parser's message.
        message: String,
    },
    /// A layout operation failed.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// Fetching from the source registry failed.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A request to the destination registry failed.
    #[error("{what} at {reference}: {source}")]
    Destination {
        /// What was being done: `push blob <digest>`, `push manifest <digest>`…
        what: String,
        /// The destination repository.
        reference: String,
        /// The failure.
        #[source]
        source: Box<oci_client::Error>,
    },
    /// A staging file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl CopyError {
    /// Whether the failure is the caller's input (bad address, digest mismatch) rather than an
    /// operation that failed.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            CopyError::NoSourceTarget { .. } | CopyError::DigestMismatch { .. }
        )
    }
}

/// Where bytes come from.
enum Src {
    Registry(RegistrySource),
    Layout(OciLayout),
}

impl Src {
    fn blobs(&self) -> &dyn BlobSource {
        match self {
            Src::Registry(r) => r,
            Src::Layout(l) => l,
        }
    }

    async fn manifest(&self, desc: &Descriptor) -> Result<Bytes, CopyError> {
        match self {
            Src::Registry(r) => {
                let m = r
                    .fetch_manifest(&TagOrDigest::Digest(desc.digest.clone()))
                    .await?;
                Ok(m.bytes().clone())
            }
            Src::Layout(l) => Ok(Bytes::from(l.read_blob(desc, MAX_MANIFEST_SIZE).await?)),
        }
    }
}

/// Where bytes go.
enum Dst {
    Registry {
        repo: Box<Repository>,
        reference: Reference,
    },
    Layout(OciLayout),
}

/// A temporary layout for staging registry → registry blobs, removed on drop.
struct Staging {
    layout: OciLayout,
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.layout.root());
    }
}

struct Copier<'a> {
    src: Src,
    dst: Dst,
    /// The source repository when it is in the same registry as the destination (mountable).
    mount_from: Option<String>,
    staging: Option<Staging>,
    opts: &'a DownloadOptions,
    stats: CopyStats,
}

fn is_index(media_type: &str) -> bool {
    media_type == OCI_INDEX || media_type == DOCKER_MANIFEST_LIST
}

fn is_manifest(media_type: &str) -> bool {
    media_type == OCI_MANIFEST || media_type == DOCKER_MANIFEST
}

/// The `mediaType` field of a manifest body, for descriptors that do not carry one.
fn sniff_media_type(bytes: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Peek {
        media_type: Option<String>,
        manifests: Option<serde_json::Value>,
    }
    let p: Peek = serde_json::from_slice(bytes).ok()?;
    match (p.media_type, p.manifests) {
        (Some(m), _) => Some(m),
        (None, Some(_)) => Some(OCI_INDEX.to_owned()),
        (None, None) => None,
    }
}

fn parse<T: serde::de::DeserializeOwned>(digest: &Digest, bytes: &[u8]) -> Result<T, CopyError> {
    serde_json::from_slice(bytes).map_err(|e| CopyError::InvalidManifest {
        digest: digest.clone(),
        message: e.to_string(),
    })
}

fn dst_error(what: String, reference: &Reference) -> impl FnOnce(oci_client::Error) -> CopyError {
    let reference = reference.to_string();
    move |e| CopyError::Destination {
        what,
        reference,
        source: Box::new(e),
    }
}

impl Copier<'_> {
    /// Copies `desc` and everything under it; manifests after their content.
    fn node<'s>(
        &'s mut self,
        desc: &'s Descriptor,
        depth: usize,
    ) -> BoxFuture<'s, Result<(), CopyError>> {
        Box::pin(async move {
            if !is_index(&desc.media_type) && !is_manifest(&desc.media_type) {
                return self.blob(desc).await;
            }
            let bytes = self.src.manifest(desc).await?;
            if is_index(&desc.media_type) {
                if depth >= MAX_INDEX_DEPTH {
                    return Err(CopyError::TooDeep {
                        digest: desc.digest.clone(),
                        limit: MAX_INDEX_DEPTH,
                    });
                }
                let index: ImageIndex = parse(&desc.digest, &bytes)?;
                for child in &index.manifests {
                    self.node(child, depth + 1).await?;
                }
            } else {
                let manifest: ImageManifest = parse(&desc.digest, &bytes)?;
                self.blob(&manifest.config).await?;
                for layer in &manifest.layers {
                    self.blob(layer).await?;
                }
            }
            self.put_manifest(desc, bytes, &TagOrDigest::Digest(desc.digest.clone()))
                .await
        })
    }

    fn count(&mut self, transferred: bool, size: u64) {
        if transferred {
            self.stats.copied += 1;
            self.stats.bytes += size;
        } else {
            self.stats.skipped += 1;
        }
    }

    async fn put_manifest(
        &mut self,
        desc: &Descriptor,
        bytes: Bytes,
        target: &TagOrDigest,
    ) -> Result<(), CopyError> {
        match &self.dst {
            Dst::Layout(layout) => {
                let mut mem = MemorySource::new();
                mem.insert(desc.digest.clone(), bytes);
                let written = layout.write_blob(&mem, desc, self.opts).await?;
                self.count(written, desc.size);
            }
            Dst::Registry { repo, reference } => {
                let what = format!("push manifest {}", desc.digest);
                repo.push_manifest(target, bytes, &desc.media_type)
                    .await
                    .map_err(dst_error(what, reference))?;
                self.count(true, desc.size);
            }
        }
        Ok(())
    }

    async fn blob(&mut self, desc: &Descriptor) -> Result<(), CopyError> {
        let (repo, reference) = match &self.dst {
            Dst::Layout(layout) => {
                let written = layout.write_blob(self.src.blobs(), desc, self.opts).await?;
                self.count(written, desc.size);
                return Ok(());
            }
            Dst::Registry { repo, reference } => ((**repo).clone(), reference.clone()),
        };
        let head = repo
            .head_blob(&desc.digest)
            .await
            .map_err(dst_error(format!("HEAD blob {}", desc.digest), &reference))?;
        if head.is_some() {
            self.count(false, desc.size);
            return Ok(());
        }
        if let Some(from) = &self.mount_from {
            let mounted = repo
                .mount_blob(&desc.digest, from)
                .await
                .map_err(dst_error(format!("mount blob {}", desc.digest), &reference))?;
            if mounted {
                self.stats.mounted += 1;
                return Ok(());
            }
        }
        let (path, staged) = match &self.src {
            Src::Layout(layout) => (layout.blob_path(&desc.digest), false),
            Src::Registry(source) => {
                let staging = match &self.staging {
                    Some(s) => s.layout.clone(),
                    None => {
                        let layout = staging_layout().await?;
                        self.staging = Some(Staging {
                            layout: layout.clone(),
                        });
                        layout
                    }
                };
                staging.write_blob(source, desc, self.opts).await?;
                (staging.blob_path(&desc.digest), true)
            }
        };
        let result = upload_file(&repo, &reference, desc, &path).await;
        if staged {
            let _ = tokio::fs::remove_file(&path).await;
        }
        result?;
        self.count(true, desc.size);
        Ok(())
    }
}

async fn upload_file(
    repo: &Repository,
    reference: &Reference,
    desc: &Descriptor,
    path: &std::path::Path,
) -> Result<(), CopyError> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|source| CopyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    repo.push_blob_chunked(&desc.digest, desc.size, file, UPLOAD_CHUNK_BYTES)
        .await
        .map_err(dst_error(format!("push blob {}", desc.digest), reference))?;
    Ok(())
}

async fn staging_layout() -> Result<OciLayout, CopyError> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static UNIQUE: AtomicU64 = AtomicU64::new(0);
    let n = UNIQUE.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(".oci-fetch-copy-{}-{n}", std::process::id()));
    Ok(OciLayout::create(dir).await?)
}

/// The source root's descriptor (media type filled in when the layout entry lacks one).
async fn root_descriptor(src: &Src, location: &Location) -> Result<Descriptor, CopyError> {
    match (src, location) {
        (Src::Registry(source), Location::Registry(reference)) => {
            let m = source.fetch_manifest(&TagOrDigest::from(reference)).await?;
            Ok(Descriptor::new(
                m.media_type(),
                m.digest().clone(),
                m.bytes().len() as u64,
            ))
        }
        (Src::Layout(layout), Location::Layout(address)) => {
            let Some(target) = &address.target else {
                return Err(CopyError::NoSourceTarget {
                    address: address.to_string(),
                });
            };
            let mut desc = layout.resolve(target).await?;
            if desc.media_type.is_empty() {
                let bytes = layout.read_blob(&desc, MAX_MANIFEST_SIZE).await?;
                desc.media_type = sniff_media_type(&bytes).unwrap_or_default();
            }
            Ok(desc)
        }
        _ => Err(CopyError::NoSourceTarget {
            address: location.to_string(),
        }),
    }
}

/// Copies the graph at `from` to `to`. `client` talks to every registry involved (configure
/// plain HTTP and credentials on it). The destination tag is the one in `to`, else the one in
/// `from`; a destination digest must equal the source root's. A destination layout is created
/// when missing.
///
/// # Errors
///
/// [`CopyError::NoSourceTarget`] without a tag or digest to copy, [`CopyError::DigestMismatch`]
/// when a destination digest differs from the source root's, [`CopyError::TooDeep`] for nested
/// indexes past the walk's depth limit, [`CopyError::InvalidManifest`] for a document that does not
/// parse, [`CopyError::Registry`]/[`CopyError::Layout`] when reading the source fails,
/// [`CopyError::Destination`] when writing fails, [`CopyError::Io`] for local IO.
pub async fn copy(
    client: &Client,
    from: &Location,
    to: &Location,
    opts: &DownloadOptions,
) -> Result<Copied, CopyError> {
    let src = match from {
        Location::Registry(reference) => Src::Registry(RegistrySource::direct(client, reference)?),
        Location::Layout(address) => {
            if address.target.is_none() {
                return Err(CopyError::NoSourceTarget {
                    address: address.to_string(),
                });
            }
            Src::Layout(OciLayout::open(&address.dir).await?)
        }
    };
    let root = root_descriptor(&src, from).await?;
    let from_tag = match from {
        Location::Registry(r) if r.digest().is_none() => {
            Some(r.typed_tag().unwrap_or_else(Tag::latest))
        }
        Location::Layout(LayoutAddress {
            target: Some(TagOrDigest::Tag(t)),
            ..
        }) => Some(t.clone()),
        _ => None,
    };
    let (dst_tag, dst_digest) = match to {
        Location::Registry(r) => (r.typed_tag(), r.digest()),
        Location::Layout(a) => match &a.target {
            Some(TagOrDigest::Tag(t)) => (Some(t.clone()), None),
            Some(TagOrDigest::Digest(d)) => (None, Some(d)),
            None => (None, None),
        },
    };
    if let Some(d) = dst_digest
        && *d != root.digest
    {
        return Err(CopyError::DigestMismatch {
            destination: d.clone(),
            source_digest: root.digest.clone(),
        });
    }
    let tag = match (dst_tag, dst_digest) {
        (Some(t), _) => Some(t),
        (None, Some(_)) => None,
        (None, None) => from_tag,
    };
    let (dst, mount_from) = match to {
        Location::Registry(reference) => {
            let repo = client
                .repository(reference)
                .map_err(dst_error("open repository".to_owned(), reference))?;
            let mount_from = match from {
                Location::Registry(s)
                    if s.registry() == reference.registry()
                        && s.repository() != reference.repository() =>
                {
                    Some(s.repository().to_owned())
                }
                _ => None,
            };
            let reference = reference.clone();
            let repo = Box::new(repo);
            (Dst::Registry { repo, reference }, mount_from)
        }
        Location::Layout(address) => (Dst::Layout(OciLayout::create(&address.dir).await?), None),
    };
    let mut copier = Copier {
        src,
        dst,
        mount_from,
        staging: None,
        opts,
        stats: CopyStats::default(),
    };
    copier.node(&root, 0).await?;
    match (&copier.dst, &tag) {
        (Dst::Registry { .. }, Some(t)) => {
            let bytes = copier.src.manifest(&root).await?;
            let target = TagOrDigest::Tag(t.clone());
            let what = format!("tag {t}");
            if let Dst::Registry { repo, reference } = &copier.dst {
                repo.push_manifest(&target, bytes, &root.media_type)
                    .await
                    .map_err(dst_error(what, reference))?;
            }
        }
        (Dst::Layout(layout), Some(t)) => layout.tag(&root, t.as_str()).await?,
        (_, None) => {}
    }
    Ok(Copied {
        root,
        tag: tag.map(Tag::into_string),
        stats: copier.stats,
    })
}
