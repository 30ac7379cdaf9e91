//! [`Store`]: where publishing reads and writes — a registry repository or an OCI image layout
//! on disk (`--oci-layout`, like `oras push/attach/discover/tag --oci-layout`).
//!
//! In a layout, blobs go in through the verified download engine (a file changed since it was
//! hashed fails instead of landing under a wrong digest), a tagged manifest gets an `index.json`
//! entry with its ref name, and an untagged one (a referrer, a push without a tag) an entry
//! without one. Referrers are found by reading the manifests `index.json` lists
//! ([`OciLayout::referrers`]).

use std::path::Path;

use bytes::Bytes;
use oci_client::{PushOutcome, Repository};
use oci_ref::Digest;
use oci_ref::TagOrDigest;

use oci_ref::model::Descriptor;

use super::PublishError;
use super::push::MAX_MONOLITHIC_BYTES;
use crate::download::DownloadOptions;
use crate::layout::{MAX_MANIFEST_SIZE, OciLayout};
use crate::progress::{ProgressEvent, ProgressSink};
use crate::source::{FileSource, MemorySource, read_chunks};

/// A registry repository or an OCI layout. Functions of [`crate::publish`] take
/// `impl Into<Store>`, so a `&Repository` or a `&OciLayout` can be passed directly.
#[derive(Debug, Clone, Copy)]
pub enum Store<'a> {
    /// A repository in a registry.
    Registry(&'a Repository),
    /// An OCI image layout.
    Layout(&'a OciLayout),
}

impl<'a> From<&'a Repository> for Store<'a> {
    fn from(r: &'a Repository) -> Store<'a> {
        Store::Registry(r)
    }
}

impl<'a> From<&'a OciLayout> for Store<'a> {
    fn from(l: &'a OciLayout) -> Store<'a> {
        Store::Layout(l)
    }
}

/// A manifest read from a store: its descriptor and exact bytes.
pub(crate) struct StoredManifest {
    pub(crate) descriptor: Descriptor,
    pub(crate) bytes: Bytes,
}

/// What a manifest push reported.
pub(crate) struct ManifestPushed {
    pub(crate) digest: Digest,
    pub(crate) size: u64,
    /// The registry confirmed the subject with `OCI-Subject`.
    pub(crate) subject_confirmed: bool,
}

fn layout_target(reference: &TagOrDigest) -> TagOrDigest {
    match reference {
        TagOrDigest::Tag(t) => TagOrDigest::Tag(t.clone()),
        TagOrDigest::Digest(d) => TagOrDigest::Digest(d.clone()),
    }
}

fn layout_outcome(written: bool) -> PushOutcome {
    if written {
        PushOutcome::Uploaded
    } else {
        PushOutcome::AlreadyExists
    }
}

impl Store<'_> {
    /// Stores the file at `path`, whose digest and size were computed before. To a registry,
    /// files up to [`MAX_MONOLITHIC_BYTES`] go in one `PUT` from memory, larger ones in one
    /// streamed `PUT` read from disk as it is sent ([`Repository::push_blob_streamed`]).
    pub(crate) async fn push_file(
        &self,
        digest: &Digest,
        size: u64,
        path: &Path,
        progress: Option<&ProgressSink>,
    ) -> Result<PushOutcome, PublishError> {
        let read_err = |source| PublishError::ReadFile {
            path: path.to_owned(),
            source,
        };
        match self {
            Store::Registry(repo) if size <= MAX_MONOLITHIC_BYTES => {
                let bytes = tokio::fs::read(path).await.map_err(read_err)?;
                if let Some(p) = progress {
                    p.emit(ProgressEvent::UploadStarted {
                        path: path.to_owned(),
                        total: size,
                    });
                }
                Ok(repo.push_blob(digest, Bytes::from(bytes)).await?)
            }
            Store::Registry(repo) => {
                // Fail on an unreadable file before the registry is asked anything.
                drop(tokio::fs::File::open(path).await.map_err(read_err)?);
                Ok(repo
                    .push_blob_streamed(digest, size, || file_stream(path, size, progress))
                    .await?)
            }
            Store::Layout(layout) => {
                let mut files = FileSource::new();
                files.insert(digest.clone(), path);
                let desc = Descriptor::new("", digest.clone(), size);
                let written = layout
                    .write_blob(&files, &desc, &DownloadOptions::default())
                    .await?;
                Ok(layout_outcome(written))
            }
        }
    }

    /// Stores the large file at `path` (`size` bytes, checked before) in a registry while it
    /// is hashed on a blocking thread ([`Repository::push_blob_while_hashing`]); returns its
    /// digest and what the registry did. A file that changes size while being read fails.
    pub(crate) async fn push_file_hashing(
        &self,
        size: u64,
        path: &Path,
        progress: Option<&ProgressSink>,
    ) -> Result<(Digest, PushOutcome), PublishError> {
        let Store::Registry(repo) = self else {
            return Err(PublishError::invalid(
                "store",
                "OCI layout",
                "blobs go into a layout by digest: hash first",
            ));
        };
        // Started now, so the hash runs from the first byte sent; stopped when this call ends
        // (or is dropped) before the hash does.
        let owned = path.to_owned();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let _stop_on_exit = StopOnDrop(std::sync::Arc::clone(&stop));
        let hashing = tokio::task::spawn_blocking(move || super::push::hash_path(&owned, &stop));
        // A failed hash ends the upload as a source error; the typed error (naming the file)
        // is kept here and returned instead.
        let failed: std::sync::Mutex<Option<PublishError>> = std::sync::Mutex::new(None);
        let digest = async {
            let hashed = match hashing.await {
                Ok(Ok((_, read))) if read != size => Err(PublishError::ReadFile {
                    path: path.to_owned(),
                    source: std::io::Error::other(format!(
                        "the file changed while it was read: {size} bytes before, {read} now"
                    )),
                }),
                Ok(Ok((digest, _))) => Ok(digest),
                Ok(Err(e)) => Err(e),
                Err(_) => Err(PublishError::ReadFile {
                    path: path.to_owned(),
                    source: std::io::Error::other("the hashing thread panicked"),
                }),
            };
            hashed.map_err(|e| {
                let io = std::io::Error::other(e.to_string());
                if let Ok(mut slot) = failed.lock() {
                    *slot = Some(e);
                }
                io
            })
        };
        let pushed = repo
            .push_blob_while_hashing(size, || file_stream(path, size, progress), digest)
            .await;
        match pushed {
            Ok(done) => Ok(done),
            Err(e) => Err(failed.into_inner().ok().flatten().unwrap_or(e.into())),
        }
    }

    /// Stores a small blob held in memory.
    pub(crate) async fn push_bytes(
        &self,
        digest: &Digest,
        bytes: Bytes,
    ) -> Result<PushOutcome, PublishError> {
        match self {
            Store::Registry(repo) => Ok(repo.push_blob(digest, bytes).await?),
            Store::Layout(layout) => {
                let desc = Descriptor::new("", digest.clone(), bytes.len() as u64);
                let mut mem = MemorySource::new();
                mem.insert(digest.clone(), bytes);
                let written = layout
                    .write_blob(&mem, &desc, &DownloadOptions::default())
                    .await?;
                Ok(layout_outcome(written))
            }
        }
    }

    /// Stores manifest `bytes` under `tag`, or by digest only when `None`.
    pub(crate) async fn push_manifest(
        &self,
        tag: Option<&TagOrDigest>,
        bytes: Bytes,
        media_type: &str,
        artifact_type: Option<&str>,
    ) -> Result<ManifestPushed, PublishError> {
        let digest = oci_ref::digest_of(oci_ref::Algorithm::Sha256, &bytes);
        let size = bytes.len() as u64;
        match self {
            Store::Registry(repo) => {
                let reference = tag.cloned().unwrap_or(TagOrDigest::Digest(digest));
                let pushed = repo.push_manifest(&reference, bytes, media_type).await?;
                Ok(ManifestPushed {
                    digest: pushed.descriptor.digest,
                    size: pushed.descriptor.size,
                    subject_confirmed: pushed.subject_confirmed,
                })
            }
            Store::Layout(layout) => {
                self.push_bytes(&digest, bytes).await?;
                let mut desc = Descriptor::new(media_type, digest.clone(), size);
                desc.artifact_type = artifact_type.map(str::to_owned);
                match tag {
                    Some(TagOrDigest::Tag(t)) => layout.tag(&desc, t.as_str()).await?,
                    _ => layout.add_manifest(&desc).await?,
                }
                Ok(ManifestPushed {
                    digest,
                    size,
                    subject_confirmed: false,
                })
            }
        }
    }

    /// Reads a manifest (or index) by tag or digest, verified and size-capped.
    pub(crate) async fn fetch_manifest(
        &self,
        reference: &TagOrDigest,
    ) -> Result<StoredManifest, PublishError> {
        match self {
            Store::Registry(repo) => {
                let m = repo.fetch_manifest(reference).await?;
                Ok(StoredManifest {
                    descriptor: m.descriptor().clone(),
                    bytes: m.bytes().clone(),
                })
            }
            Store::Layout(layout) => {
                let entry = layout.resolve(&layout_target(reference)).await?;
                let bytes = Bytes::from(layout.read_blob(&entry, MAX_MANIFEST_SIZE).await?);
                // A digest found only as a blob file has no media type in `index.json`: the
                // manifest names its own.
                let media_type = if entry.media_type.is_empty() {
                    media_type_of(&bytes).ok_or_else(|| PublishError::InvalidManifest {
                        digest: entry.digest.clone(),
                        expected: "manifest with a mediaType",
                    })?
                } else {
                    entry.media_type.clone()
                };
                Ok(StoredManifest {
                    descriptor: Descriptor::new(media_type, entry.digest.clone(), entry.size),
                    bytes,
                })
            }
        }
    }

    /// Reads a small blob (a config) of at most `max` bytes, verified.
    pub(crate) async fn fetch_small_blob(
        &self,
        digest: &Digest,
        size: u64,
        max: u64,
    ) -> Result<Vec<u8>, PublishError> {
        if size > max {
            return Err(PublishError::InvalidManifest {
                digest: digest.clone(),
                expected: "small config blob",
            });
        }
        match self {
            Store::Registry(repo) => {
                let mut body = Vec::new();
                repo.fetch_blob_to(digest, Some(size), &mut body).await?;
                Ok(body)
            }
            Store::Layout(layout) => {
                let desc = Descriptor::new("", digest.clone(), size);
                Ok(layout.read_blob(&desc, max).await?)
            }
        }
    }

    /// The referrers of `subject`, filtered by artifact type where given.
    pub(crate) async fn referrers(
        &self,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>, PublishError> {
        match self {
            Store::Registry(repo) => Ok(repo.referrers(subject, artifact_type).await?.descriptors),
            Store::Layout(layout) => Ok(layout.referrers(subject, artifact_type).await?),
        }
    }
}

/// Size of the reads that feed a streamed upload.
const UPLOAD_READ_BYTES: usize = 1024 * 1024;

/// The file at `path` (`size` bytes) as a stream of chunks, for a streamed upload; each chunk
/// read is reported to `progress` (from 0: the store opens the stream again on a retry).
async fn file_stream(
    path: &Path,
    size: u64,
    progress: Option<&ProgressSink>,
) -> std::io::Result<impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static> {
    use futures_util::StreamExt as _;
    let file = tokio::fs::File::open(path).await?;
    let progress = progress.cloned();
    if let Some(p) = &progress {
        p.emit(ProgressEvent::UploadStarted {
            path: path.to_owned(),
            total: size,
        });
    }
    let owned = path.to_owned();
    let mut sent = 0u64;
    Ok(read_chunks(file, UPLOAD_READ_BYTES).inspect(move |chunk| {
        if let (Some(p), Ok(bytes)) = (&progress, chunk) {
            sent += bytes.len() as u64;
            p.emit(ProgressEvent::UploadAdvanced {
                path: owned.clone(),
                bytes: sent,
                total: size,
            });
        }
    }))
}

/// The `mediaType` a manifest body declares.
fn media_type_of(bytes: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    v.get("mediaType")?.as_str().map(str::to_owned)
}

/// Sets the flag when dropped.
struct StopOnDrop(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
