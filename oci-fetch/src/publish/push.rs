//! Push: files on disk → blobs + an OCI 1.1 artifact manifest, the way `oras push` and
//! `oras attach` build them.
//!
//! Every file is opened and checked (a regular file, its size) before the registry is asked
//! anything; a large file is read again while it uploads, so a read error or a size change can
//! still end a push midway (blobs already uploaded stay, unreferenced). Files up to
//! [`MAX_MONOLITHIC_BYTES`] are hashed, then uploaded in one `PUT` from memory; larger ones
//! going to a registry are hashed *while* they upload (one streamed `PATCH`, then `PUT
//! ?digest=`; [`oci_client::Repository::push_blob_while_hashing`]), so the hash pass costs no
//! wall time; into an OCI layout they are hashed first. Memory stays bounded by one read
//! buffer whatever the file size. Blobs the registry already has are not uploaded again (the client sends
//! `HEAD` first).

use oci_ref::media_type::{OCI_IMAGE_CONFIG, OCI_LAYER_TAR, OCI_MANIFEST, UNKNOWN_ARTIFACT};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use oci_client::PushOutcome;
use oci_ref::{Algorithm, Hasher, TagOrDigest};
use std::io::Read as _;

use oci_ref::Digest;
use oci_ref::model::{
    ANNOTATION_CREATED, ANNOTATION_TITLE, Descriptor, EMPTY_JSON, ImageManifest, Platform,
};

use super::input::{ANNOTATION_FILE_CONFIG, ANNOTATION_FILE_MANIFEST, AnnotationFile, FileSpec};
use super::store::Store;
use super::{PublishError, to_json};
use crate::progress::{ProgressEvent, ProgressSink};

/// Files up to this size are uploaded in one `PUT` (read into memory); larger ones are streamed
/// from disk as they are sent, so memory stays bounded.
pub const MAX_MONOLITHIC_BYTES: u64 = 8 * 1024 * 1024;

/// Size of the read buffer used while hashing a file.
const HASH_BUFFER_BYTES: usize = 1024 * 1024;

/// What to push: the inputs of `oras push` / `oras attach`.
#[derive(Debug, Clone, Default)]
pub struct PushRequest {
    /// The files, each one layer titled with its file name.
    pub files: Vec<FileSpec>,
    /// `artifactType`; when `None` and no `--config` is given, [`UNKNOWN_ARTIFACT`].
    pub artifact_type: Option<String>,
    /// Manifest annotations (`-a KEY=VALUE`); they win over the annotation file's `$manifest`.
    pub annotations: BTreeMap<String, String>,
    /// An oras annotation file (`$manifest`, `$config`, per-file title keys).
    pub annotation_file: Option<AnnotationFile>,
    /// `--artifact-platform`: pushes a small image config carrying the platform.
    pub platform: Option<Platform>,
    /// `--config FILE:MEDIATYPE`: a config blob from disk (exclusive with `platform`).
    pub config: Option<FileSpec>,
    /// The manifest this one refers to (`attach`).
    pub subject: Option<Descriptor>,
    /// Receives [`ProgressEvent::UploadStarted`] and its sequels for every file (layers and
    /// the config file) uploaded to a registry; `None` reports nothing.
    pub progress: Option<ProgressSink>,
    /// `org.opencontainers.image.created`, written as RFC 3339 UTC; `None` writes none (the
    /// CLI passes the time of the push, as `oras push` does). An annotation given by the user
    /// always wins.
    pub created: Option<std::time::SystemTime>,
}

/// One blob of a push and what the registry did with it.
#[derive(Debug, Clone)]
pub struct PushedBlob {
    /// Its descriptor as written in the manifest.
    pub descriptor: Descriptor,
    /// Uploaded, or already there.
    pub outcome: PushOutcome,
}

/// The result of a push.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// The manifest's descriptor (with its artifact type).
    pub descriptor: Descriptor,
    /// The manifest bytes as pushed.
    pub manifest: Vec<u8>,
    /// Config and layers, in manifest order (config first).
    pub blobs: Vec<PushedBlob>,
    /// Whether the registry confirmed the subject (`OCI-Subject`); when `false` and there is a
    /// subject, the fallback index `sha256-<hex>` was updated.
    pub subject_confirmed: bool,
}

/// A file hashed on disk, ready to upload.
struct HashedFile {
    spec: FileSpec,
    digest: Digest,
    size: u64,
}

/// A layer file: hashed before the upload, or (a large file going to a registry) hashed while
/// it uploads, so that the hash pass and the upload overlap.
enum LayerFile {
    Hashed(HashedFile),
    HashedWhileUploading { spec: FileSpec, size: u64 },
}

/// Opens `path` and checks that it is a regular file; returns it and its size.
fn open_regular(path: &Path) -> Result<(std::fs::File, u64), PublishError> {
    let read_err = |source| PublishError::ReadFile {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let meta = file.metadata().map_err(read_err)?;
    if !meta.is_file() {
        return Err(read_err(std::io::Error::other("not a regular file")));
    }
    Ok((file, meta.len()))
}

/// Hashes the file at `path` in one pass with plain reads (blocking); returns the digest
/// and the number of bytes read.
/// Stops early (an error) once `stop` is set: a push that failed does not wait for the hash of
/// a large file nobody needs any more.
pub(crate) fn hash_path(path: &Path, stop: &AtomicBool) -> Result<(Digest, u64), PublishError> {
    let (mut file, _) = open_regular(path)?;
    let mut hasher = Hasher::new(Algorithm::Sha256);
    let mut buf = vec![0u8; HASH_BUFFER_BYTES];
    let mut size = 0u64;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Err(PublishError::ReadFile {
                path: path.to_owned(),
                source: std::io::Error::other("stopped: the upload ended"),
            });
        }
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(PublishError::ReadFile {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hasher.finish(), size))
}

/// Hashes a file in one streaming pass, on a blocking thread with plain reads (an async file
/// would hand every read to the blocking pool and copy it once more).
async fn hash_file(spec: &FileSpec) -> Result<HashedFile, PublishError> {
    let path = spec.path.clone();
    let joined =
        tokio::task::spawn_blocking(move || hash_path(&path, &AtomicBool::new(false))).await;
    let (digest, size) = joined.unwrap_or_else(|_| {
        Err(PublishError::ReadFile {
            path: spec.path.clone(),
            source: std::io::Error::other("the hashing thread panicked"),
        })
    })?;
    Ok(HashedFile {
        spec: spec.clone(),
        digest,
        size,
    })
}

/// Checks a layer file and hashes it now, unless it is large and going to a registry: then it
/// is hashed while it uploads (see [`LayerFile`]).
async fn prepare_layer(store: Store<'_>, spec: &FileSpec) -> Result<LayerFile, PublishError> {
    let (_, size) = open_regular(&spec.path)?;
    if matches!(store, Store::Registry(_)) && size > MAX_MONOLITHIC_BYTES {
        return Ok(LayerFile::HashedWhileUploading {
            spec: spec.clone(),
            size,
        });
    }
    Ok(LayerFile::Hashed(hash_file(spec).await?))
}

/// Stores a hashed file in `store`, reporting progress to `progress`.
async fn upload_file(
    store: Store<'_>,
    f: &HashedFile,
    progress: Option<&ProgressSink>,
) -> Result<PushOutcome, PublishError> {
    let outcome = store
        .push_file(&f.digest, f.size, &f.spec.path, progress)
        .await?;
    if let Some(p) = progress {
        p.emit(ProgressEvent::UploadFinished {
            path: f.spec.path.clone(),
            digest: f.digest.clone(),
        });
    }
    Ok(outcome)
}

/// Builds the manifest for `req` from already-hashed layers and config, without IO.
fn build_manifest(
    req: &PushRequest,
    config: Descriptor,
    layers: Vec<Descriptor>,
) -> Result<ImageManifest, PublishError> {
    let mut annotations = BTreeMap::new();
    if let Some(file) = &req.annotation_file
        && let Some(m) = file.get(ANNOTATION_FILE_MANIFEST)
    {
        annotations.extend(m.clone());
    }
    annotations.extend(req.annotations.clone());
    if !annotations.contains_key(ANNOTATION_CREATED)
        && let Some(t) = req.created
    {
        annotations.insert(ANNOTATION_CREATED.to_owned(), oci_ref::rfc3339::format(t));
    }
    let artifact_type = match (&req.artifact_type, &req.config) {
        (Some(t), _) => Some(t.clone()),
        // With a custom config its media type is the artifact type (image-spec v1.1 § artifacts
        // guidance); otherwise (empty or platform config) oras writes the unknown type.
        (None, Some(_)) => None,
        (None, None) => Some(UNKNOWN_ARTIFACT.to_owned()),
    };
    Ok(ImageManifest {
        artifact_type,
        subject: req.subject.clone(),
        annotations,
        ..ImageManifest::new(config, layers)
    })
}

/// Checks that every key of the annotation file names something being pushed.
fn check_annotation_file(
    file: &AnnotationFile,
    titles: &BTreeSet<String>,
) -> Result<(), PublishError> {
    for key in file.keys() {
        if key != ANNOTATION_FILE_MANIFEST && key != ANNOTATION_FILE_CONFIG && !titles.contains(key)
        {
            return Err(PublishError::AnnotationFileKey { key: key.clone() });
        }
    }
    Ok(())
}

/// Pushes `req` to `store` (a `&Repository` or a `&OciLayout`), tagging the manifest with `tag`
/// (or by digest only when `None`).
///
/// # Errors
///
/// [`PublishError`]: invalid options, tag or files (checked before anything is uploaded),
/// and failures of the store.
pub async fn push<'a>(
    store: impl Into<Store<'a>>,
    tag: Option<&str>,
    req: &PushRequest,
) -> Result<Pushed, PublishError> {
    let store = store.into();
    if req.config.is_some() && req.platform.is_some() {
        return Err(PublishError::invalid(
            "option",
            "a config blob together with a platform",
            "the platform is written into the config; give one or the other",
        ));
    }
    // Validate everything local before touching the registry.
    let manifest_ref = match tag {
        Some(t) => Some(
            TagOrDigest::tag(t).map_err(|_| PublishError::invalid("tag", t, "not a valid tag"))?,
        ),
        None => None,
    };
    let hashed = prepare_layers(store, req).await?;
    let config_file = match &req.config {
        Some(spec) => Some(hash_file(spec).await?),
        None => None,
    };
    let mut blobs = Vec::new();
    let config = push_config(store, req, config_file.as_ref(), &mut blobs).await?;
    let mut layers = push_layers(store, req, &hashed, &mut blobs).await?;
    if layers.is_empty() {
        layers.push(push_empty_layer(store, &config, &mut blobs).await?);
    }
    let manifest = build_manifest(req, config, layers)?;
    push_manifest_json(store, manifest_ref.as_ref(), &manifest, blobs).await
}

/// Titles and hashes (or plans to hash while uploading) every file; checks duplicate titles and
/// the annotation file's keys.
async fn prepare_layers(
    store: Store<'_>,
    req: &PushRequest,
) -> Result<Vec<(String, LayerFile)>, PublishError> {
    let mut hashed = Vec::with_capacity(req.files.len());
    let mut titles = BTreeSet::new();
    for spec in &req.files {
        let title = spec.title()?;
        if !titles.insert(title.clone()) {
            return Err(PublishError::DuplicateTitle { name: title });
        }
        hashed.push((title, prepare_layer(store, spec).await?));
    }
    if let Some(file) = &req.annotation_file {
        check_annotation_file(file, &titles)?;
    }
    Ok(hashed)
}

/// Uploads the config (a file, a platform config, or the empty config) and returns its
/// descriptor with the annotation file's `$config` annotations.
async fn push_config(
    store: Store<'_>,
    req: &PushRequest,
    config_file: Option<&HashedFile>,
    blobs: &mut Vec<PushedBlob>,
) -> Result<Descriptor, PublishError> {
    let (mut config, outcome) = match (config_file, &req.platform) {
        (Some(f), _) => {
            let outcome = upload_file(store, f, req.progress.as_ref()).await?;
            let media_type = f.spec.media_type.as_deref().unwrap_or(OCI_IMAGE_CONFIG);
            (
                Descriptor::new(media_type, f.digest.clone(), f.size),
                outcome,
            )
        }
        (None, Some(platform)) => {
            let body = platform_config(platform)?;
            let digest = oci_ref::digest_of(oci_ref::Algorithm::Sha256, &body);
            let d = Descriptor::new(OCI_IMAGE_CONFIG, digest.clone(), body.len() as u64);
            (d, store.push_bytes(&digest, Bytes::from(body)).await?)
        }
        (None, None) => {
            let empty = Descriptor::empty();
            let outcome = store
                .push_bytes(&empty.digest, Bytes::from_static(EMPTY_JSON))
                .await?;
            (empty, outcome)
        }
    };
    blobs.push(PushedBlob {
        descriptor: config.clone(),
        outcome,
    });
    if let Some(a) = req
        .annotation_file
        .as_ref()
        .and_then(|f| f.get(ANNOTATION_FILE_CONFIG))
    {
        config.annotations.extend(a.clone());
    }
    Ok(config)
}

/// The small image config `--artifact-platform` pushes: `{"architecture","os"[,"variant"]}`
/// (the platform's fields in the spec's order, so the bytes are stable).
///
/// # Errors
///
/// [`PublishError::Encode`] if the platform cannot be serialised (not expected: its fields are
/// strings).
pub fn platform_config(platform: &Platform) -> Result<Vec<u8>, PublishError> {
    to_json(platform)
}

/// A push without files (an annotation-only artifact, as Quay's expiry recipe does it) gets the
/// empty descriptor as its single layer, as `oras push` writes it: image-spec v1.1 asks for at
/// least one layer ([§ Guidelines for Artifact Usage](https://github.com/opencontainers/image-spec/blob/v1.1.0/manifest.md#guidelines-for-artifact-usage)).
/// The empty blob is uploaded unless the config already was it.
async fn push_empty_layer(
    store: Store<'_>,
    config: &Descriptor,
    blobs: &mut Vec<PushedBlob>,
) -> Result<Descriptor, PublishError> {
    let empty = Descriptor::empty();
    if config.digest != empty.digest {
        let outcome = store
            .push_bytes(&empty.digest, Bytes::from_static(EMPTY_JSON))
            .await?;
        blobs.push(PushedBlob {
            descriptor: empty.clone(),
            outcome,
        });
    }
    Ok(empty)
}

/// Uploads the layers, each distinct digest once; returns their titled descriptors.
async fn push_layers(
    store: Store<'_>,
    req: &PushRequest,
    hashed: &[(String, LayerFile)],
    blobs: &mut Vec<PushedBlob>,
) -> Result<Vec<Descriptor>, PublishError> {
    let mut layers = Vec::with_capacity(hashed.len());
    let mut done: BTreeMap<Digest, PushOutcome> = BTreeMap::new();
    for (title, f) in hashed {
        let (spec, digest, size, outcome) = match f {
            LayerFile::Hashed(f) => {
                let outcome = match done.get(&f.digest) {
                    Some(o) => *o,
                    None => upload_file(store, f, req.progress.as_ref()).await?,
                };
                (&f.spec, f.digest.clone(), f.size, outcome)
            }
            LayerFile::HashedWhileUploading { spec, size } => {
                let progress = req.progress.as_ref();
                let (digest, outcome) =
                    store.push_file_hashing(*size, &spec.path, progress).await?;
                if let Some(p) = progress {
                    p.emit(ProgressEvent::UploadFinished {
                        path: spec.path.clone(),
                        digest: digest.clone(),
                    });
                }
                (spec, digest, *size, outcome)
            }
        };
        done.entry(digest.clone()).or_insert(outcome);
        let media_type = spec.media_type.as_deref().unwrap_or(OCI_LAYER_TAR);
        let mut d = Descriptor::new(media_type, digest, size);
        if let Some(a) = req.annotation_file.as_ref().and_then(|m| m.get(title)) {
            d.annotations.extend(a.clone());
        }
        d.annotations
            .insert(ANNOTATION_TITLE.to_owned(), title.clone());
        blobs.push(PushedBlob {
            descriptor: d.clone(),
            outcome,
        });
        layers.push(d);
    }
    Ok(layers)
}

/// Serialises and pushes a manifest (by tag, else by its digest).
async fn push_manifest_json(
    store: Store<'_>,
    tag: Option<&TagOrDigest>,
    manifest: &ImageManifest,
    blobs: Vec<PushedBlob>,
) -> Result<Pushed, PublishError> {
    let bytes = to_json(manifest)?;
    let pushed = store
        .push_manifest(
            tag,
            Bytes::from(bytes.clone()),
            OCI_MANIFEST,
            manifest.artifact_type.as_deref(),
        )
        .await?;
    let mut descriptor = Descriptor::new(OCI_MANIFEST, pushed.digest.clone(), pushed.size);
    descriptor.artifact_type = manifest.artifact_type.clone();
    Ok(Pushed {
        descriptor,
        manifest: bytes,
        blobs,
        subject_confirmed: pushed.subject_confirmed,
    })
}

/// Resolves `reference` (tag or digest) in `store` to the descriptor a `subject` field needs.
///
/// # Errors
///
/// The store's errors ([`PublishError::Registry`], [`PublishError::Layout`]), for example when
/// `reference` does not exist.
pub async fn resolve_subject<'a>(
    store: impl Into<Store<'a>>,
    reference: &TagOrDigest,
) -> Result<Descriptor, PublishError> {
    Ok(store.into().fetch_manifest(reference).await?.descriptor)
}

/// Writes `bytes` to `path` (the `--export-manifest` file).
///
/// # Errors
///
/// [`PublishError::WriteFile`] when the file cannot be written.
pub fn export_manifest(path: &Path, bytes: &[u8]) -> Result<(), PublishError> {
    std::fs::write(path, bytes).map_err(|source| PublishError::WriteFile {
        path: path.to_owned(),
        source,
    })
}
