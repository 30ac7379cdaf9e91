//! OCI image layouts on disk (image-spec v1.1 `oci-layout`, `index.json`, `blobs/<alg>/<hex>`):
//! read as a [`BlobSource`], written as a content-addressed destination.
//!
//! See [image-spec v1.1 image-layout](https://github.com/opencontainers/image-spec/blob/v1.1.0/image-layout.md).
//! Blobs are written through the same verified engine as any download ([`crate::download`]),
//! so a blob file only ever appears complete and verified. A blob already present is checked
//! (size, then digest) and not written again. `index.json` is replaced atomically (temporary
//! file, `fsync`, rename) and edited as generic JSON, so unknown fields survive.
//!
//! One writer per layout at a time: two processes tagging the same layout at once can lose one
//! of the two `index.json` updates (never corrupt the file).
//!
//! # Cancel safety
//!
//! Dropping a write leaves at most a removed temporary file; `index.json` is either the old or
//! the new version.

mod address;
mod copy;
pub mod example;
mod referrers;

use std::io;
use std::path::{Path, PathBuf};

use tokio::io::AsyncReadExt;

use bytes::Bytes;
use oci_ref::media_type::OCI_INDEX;
use oci_ref::{Digest, TagOrDigest};

pub use address::{AddressError, LayoutAddress, parse_layout_address};
pub use copy::MAX_INDEX_DEPTH;

use crate::descriptor::{ANNOTATION_REF_NAME, Descriptor, ImageIndex, ImageManifest};
use crate::download::{DownloadError, DownloadOptions, download};
use crate::source::{BlobBody, BlobSource, BoxFuture, SourceError, file_body};
use crate::verify::{Verifier, VerifyError};

/// The layout marker file.
pub const OCI_LAYOUT_FILE: &str = "oci-layout";
/// The layout's index.
pub const INDEX_FILE: &str = "index.json";
/// The layout version written, and the major version read.
pub const LAYOUT_VERSION: &str = "1.0.0";

/// Largest `oci-layout` or `index.json` read (16 MiB): far above real indexes, small enough to
/// hold in memory.
pub const MAX_INDEX_SIZE: u64 = 16 * 1024 * 1024;

/// Largest manifest read with [`OciLayout::read_blob`] by default (4 MiB), like oras-go's
/// `MaxMetadataBytes` and the distribution-spec's advice for manifests.
pub const MAX_MANIFEST_SIZE: u64 = 4 * 1024 * 1024;

/// Chunk size of bodies served from a layout (256 KiB).
pub const LAYOUT_CHUNK_SIZE: usize = crate::source::FILE_CHUNK_SIZE;

/// A JSON error, wrapped so the public API does not expose the parser's type.
#[derive(Debug)]
pub struct JsonError(serde_json::Error);

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for JsonError {}

/// What went wrong with a layout.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LayoutError {
    /// `oci-layout` is missing: the directory is not a layout.
    #[error("{root} is not an OCI layout (no `oci-layout` file)")]
    NotALayout {
        /// The directory.
        root: PathBuf,
    },
    /// `oci-layout` names a version this crate cannot read.
    #[error("{path}: unsupported imageLayoutVersion {version:?}")]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version found.
        version: String,
    },
    /// A JSON file does not parse.
    #[error("{path}: invalid JSON: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        #[source]
        source: JsonError,
    },
    /// A file is larger than its limit.
    #[error("{path} is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit.
        limit: u64,
    },
    /// No `index.json` entry has this ref name.
    #[error("{root}: no entry named {tag:?} in index.json")]
    TagNotFound {
        /// The layout.
        root: PathBuf,
        /// The name.
        tag: String,
    },
    /// The blob is not in the layout.
    #[error("{root}: blob {digest} not found")]
    BlobNotFound {
        /// The layout.
        root: PathBuf,
        /// The blob.
        digest: Digest,
    },
    /// A ref name does not follow the image-spec `ref.name` grammar.
    #[error("invalid ref name {name:?}")]
    InvalidRefName {
        /// The name.
        name: String,
    },
    /// A blob in the layout does not verify.
    #[error("{path}: {source}")]
    Verify {
        /// The blob file.
        path: PathBuf,
        /// Why.
        #[source]
        source: VerifyError,
    },
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Writing a blob into the layout failed.
    #[error(transparent)]
    Download(#[from] DownloadError),
}

impl LayoutError {
    /// Whether something asked for is absent (tag or blob).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            LayoutError::TagNotFound { .. } | LayoutError::BlobNotFound { .. }
        )
    }
}

/// Checks the image-spec `org.opencontainers.image.ref.name` grammar:
/// `component ("/" component)*`, `component ::= alphanum (separator alphanum)*`,
/// `alphanum ::= [A-Za-z0-9]+`, `separator ::= [-._:@+] | "--"`.
pub fn valid_ref_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('/').all(|component| {
            let b = component.as_bytes();
            if b.is_empty()
                || !b[0].is_ascii_alphanumeric()
                || !b[b.len() - 1].is_ascii_alphanumeric()
            {
                return false;
            }
            let mut i = 0;
            while i < b.len() {
                if b[i].is_ascii_alphanumeric() {
                    i += 1;
                } else if b[i] == b'-' && b.get(i + 1) == Some(&b'-') {
                    i += 2;
                    if !b.get(i).is_some_and(u8::is_ascii_alphanumeric) {
                        return false;
                    }
                } else if matches!(b[i], b'-' | b'.' | b'_' | b':' | b'@' | b'+') {
                    i += 1;
                    if !b.get(i).is_some_and(u8::is_ascii_alphanumeric) {
                        return false;
                    }
                } else {
                    return false;
                }
            }
            true
        })
}

/// An OCI image layout directory.
#[derive(Debug, Clone)]
pub struct OciLayout {
    root: PathBuf,
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> LayoutError + '_ {
    move |source| LayoutError::Io {
        path: path.to_path_buf(),
        source,
    }
}

async fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>, LayoutError> {
    let file = tokio::fs::File::open(path).await.map_err(io_at(path))?;
    let mut buf = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut buf)
        .await
        .map_err(io_at(path))?;
    if buf.len() as u64 > limit {
        return Err(LayoutError::TooLarge {
            path: path.to_path_buf(),
            limit,
        });
    }
    Ok(buf)
}

fn parse_json<T: serde::de::DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<T, LayoutError> {
    serde_json::from_slice(bytes).map_err(|e| LayoutError::Json {
        path: path.to_path_buf(),
        source: JsonError(e),
    })
}

/// Writes `bytes` to `path` atomically: temporary file beside it, fsync, rename.
async fn write_atomic(path: &Path, bytes: Vec<u8>) -> Result<(), LayoutError> {
    let path = path.to_path_buf();
    let joined = tokio::task::spawn_blocking(move || -> Result<(), LayoutError> {
        crate::download::write_atomic(&path, &bytes).map_err(io_at(&path))
    })
    .await;
    joined.unwrap_or_else(|e| {
        Err(LayoutError::Io {
            path: PathBuf::new(),
            source: io::Error::other(e),
        })
    })
}

impl OciLayout {
    /// Opens an existing layout, checking its `oci-layout` file.
    ///
    /// # Errors
    ///
    /// [`LayoutError::NotALayout`] when `oci-layout` is missing or not the layout JSON,
    /// [`LayoutError::UnsupportedVersion`] for a version other than 1.0.0, [`LayoutError::Io`] when
    /// it cannot be read.
    pub async fn open(root: impl Into<PathBuf>) -> Result<OciLayout, LayoutError> {
        let root = root.into();
        let marker = root.join(OCI_LAYOUT_FILE);
        let bytes = match read_capped(&marker, MAX_INDEX_SIZE).await {
            Err(LayoutError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                return Err(LayoutError::NotALayout { root });
            }
            other => other?,
        };
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Marker {
            image_layout_version: String,
        }
        let m: Marker = parse_json(&marker, &bytes)?;
        if m.image_layout_version.split('.').next() != Some("1") {
            return Err(LayoutError::UnsupportedVersion {
                path: marker,
                version: m.image_layout_version,
            });
        }
        Ok(OciLayout { root })
    }

    /// Opens the layout at `root`, creating it (directory, `oci-layout`, empty `index.json`,
    /// `blobs/`) where missing.
    ///
    /// # Errors
    ///
    /// [`LayoutError::Io`] when a directory or file cannot be created, and the errors of
    /// [`OciLayout::open`] for an existing layout.
    pub async fn create(root: impl Into<PathBuf>) -> Result<OciLayout, LayoutError> {
        let root = root.into();
        let blobs = root.join("blobs");
        tokio::fs::create_dir_all(&blobs)
            .await
            .map_err(io_at(&blobs))?;
        let marker = root.join(OCI_LAYOUT_FILE);
        if tokio::fs::symlink_metadata(&marker).await.is_err() {
            let body = format!("{{\"imageLayoutVersion\":\"{LAYOUT_VERSION}\"}}");
            write_atomic(&marker, body.into_bytes()).await?;
        }
        let index = root.join(INDEX_FILE);
        if tokio::fs::symlink_metadata(&index).await.is_err() {
            let body =
                format!("{{\"schemaVersion\":2,\"mediaType\":\"{OCI_INDEX}\",\"manifests\":[]}}");
            write_atomic(&index, body.into_bytes()).await?;
        }
        OciLayout::open(root).await
    }

    /// The layout directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob `digest` lives: `blobs/<alg>/<hex>` (a validated digest cannot escape).
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm().as_str())
            .join(digest.encoded())
    }

    /// Reads and parses `index.json`.
    ///
    /// # Errors
    ///
    /// [`LayoutError::Io`] when `index.json` cannot be read, [`LayoutError::TooLarge`] when it is
    /// above the manifest size limit, [`LayoutError::Json`] when it is not an image index.
    pub async fn index(&self) -> Result<ImageIndex, LayoutError> {
        let path = self.root.join(INDEX_FILE);
        let bytes = read_capped(&path, MAX_INDEX_SIZE).await?;
        parse_json(&path, &bytes)
    }

    /// Finds what a target names: a tag by `ref.name` in `index.json`; a digest by its
    /// `index.json` entry or, failing that, by the blob file (media type then unknown: empty).
    ///
    /// # Errors
    ///
    /// The errors of [`OciLayout::index`]; [`LayoutError::TagNotFound`] for a tag no entry names,
    /// [`LayoutError::BlobNotFound`] for a digest neither listed nor present.
    pub async fn resolve(&self, target: &TagOrDigest) -> Result<Descriptor, LayoutError> {
        let index = self.index().await?;
        match target {
            TagOrDigest::Tag(tag) => index
                .manifests
                .into_iter()
                .rev()
                .find(|d| {
                    d.annotations.get(ANNOTATION_REF_NAME).map(String::as_str) == Some(tag.as_str())
                })
                .ok_or_else(|| LayoutError::TagNotFound {
                    root: self.root.clone(),
                    tag: tag.to_string(),
                }),
            TagOrDigest::Digest(digest) => {
                if let Some(d) = index.manifests.into_iter().find(|d| &d.digest == digest) {
                    return Ok(d);
                }
                let path = self.blob_path(digest);
                match tokio::fs::metadata(&path).await {
                    Ok(m) if m.is_file() => Ok(Descriptor::new("", digest.clone(), m.len())),
                    _ => Err(LayoutError::BlobNotFound {
                        root: self.root.clone(),
                        digest: digest.clone(),
                    }),
                }
            }
        }
    }

    /// Reads a small blob (a manifest, a config) into memory, verified, refusing more than `limit`
    /// bytes (see [`MAX_MANIFEST_SIZE`]).
    ///
    /// # Errors
    ///
    /// [`LayoutError::BlobNotFound`] when the file is missing, [`LayoutError::TooLarge`] above
    /// `limit`, [`LayoutError::Verify`] when its size or digest is wrong, [`LayoutError::Io`] when
    /// it cannot be read.
    pub async fn read_blob(&self, desc: &Descriptor, limit: u64) -> Result<Vec<u8>, LayoutError> {
        let path = self.blob_path(&desc.digest);
        if desc.size > limit {
            return Err(LayoutError::TooLarge { path, limit });
        }
        let bytes = match read_capped(&path, desc.size).await {
            Err(LayoutError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                return Err(LayoutError::BlobNotFound {
                    root: self.root.clone(),
                    digest: desc.digest.clone(),
                });
            }
            Err(LayoutError::TooLarge { path, .. }) => {
                let e = VerifyError::TooLong {
                    digest: desc.digest.clone(),
                    expected: desc.size,
                    at_least: desc.size + 1,
                };
                return Err(LayoutError::Verify { path, source: e });
            }
            other => other?,
        };
        let verify = || -> Result<(), VerifyError> {
            let mut v = Verifier::new(desc.digest.clone(), desc.size);
            v.update(&bytes)?;
            v.finish()
        };
        verify().map_err(|source| LayoutError::Verify { path, source })?;
        Ok(bytes)
    }

    /// Reads, verifies and parses an image manifest (at most [`MAX_MANIFEST_SIZE`] bytes).
    ///
    /// # Errors
    ///
    /// The errors of [`OciLayout::read_blob`], and [`LayoutError::Json`] when the bytes are not an
    /// image manifest.
    pub async fn read_manifest(&self, desc: &Descriptor) -> Result<ImageManifest, LayoutError> {
        let bytes = self.read_blob(desc, MAX_MANIFEST_SIZE).await?;
        parse_json(&self.blob_path(&desc.digest), &bytes)
    }

    /// Reads, verifies and parses an image index (at most [`MAX_MANIFEST_SIZE`] bytes).
    ///
    /// # Errors
    ///
    /// The errors of [`OciLayout::read_blob`], and [`LayoutError::Json`] when the bytes are not an
    /// image index.
    pub async fn read_index(&self, desc: &Descriptor) -> Result<ImageIndex, LayoutError> {
        let bytes = self.read_blob(desc, MAX_MANIFEST_SIZE).await?;
        parse_json(&self.blob_path(&desc.digest), &bytes)
    }

    /// Whether the blob is present with the right size and digest (re-hashes the file).
    ///
    /// # Errors
    ///
    /// [`LayoutError::Io`] when the file exists but cannot be read.
    pub async fn contains(&self, desc: &Descriptor) -> Result<bool, LayoutError> {
        let path = self.blob_path(&desc.digest);
        match tokio::fs::symlink_metadata(&path).await {
            Ok(m) if m.is_file() && m.len() == desc.size => {}
            Ok(_) => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(source) => return Err(LayoutError::Io { path, source }),
        }
        let digest = desc.digest.clone();
        let size = desc.size;
        let p = path.clone();
        let joined = tokio::task::spawn_blocking(move || -> io::Result<bool> {
            use std::io::Read;
            let mut v = Verifier::new(digest, size);
            let mut f = std::fs::File::open(&p)?;
            let mut buf = vec![0u8; 1024 * 1024];
            loop {
                let n = f.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                if v.update(&buf[..n]).is_err() {
                    return Ok(false);
                }
            }
            Ok(v.finish().is_ok())
        })
        .await;
        match joined {
            Ok(r) => r.map_err(io_at(&path)),
            Err(e) => Err(LayoutError::Io {
                path,
                source: io::Error::other(e),
            }),
        }
    }

    /// Copies a blob from `source` into the layout through the verified download engine
    /// (never decompressed). Returns `false` if it was already present and verified.
    ///
    /// # Errors
    ///
    /// [`LayoutError::Download`] when the blob cannot be copied verified from `source`,
    /// [`LayoutError::Io`] for local IO.
    pub async fn write_blob(
        &self,
        source: &dyn BlobSource,
        desc: &Descriptor,
        opts: &DownloadOptions,
    ) -> Result<bool, LayoutError> {
        if self.contains(desc).await? {
            return Ok(false);
        }
        let path = self.blob_path(&desc.digest);
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(io_at(dir))?;
        }
        let mut opts = opts.clone();
        opts.decompress = crate::decompress::Decompress::Off;
        download(source, desc, &path, &opts).await?;
        Ok(true)
    }

    /// Stores `bytes` as a blob (sha256) and returns its descriptor.
    ///
    /// # Errors
    ///
    /// As [`OciLayout::write_blob`].
    pub async fn write_blob_bytes(
        &self,
        media_type: &str,
        bytes: impl Into<Bytes>,
    ) -> Result<Descriptor, LayoutError> {
        let bytes = bytes.into();
        let digest = oci_ref::digest_of(oci_ref::Algorithm::Sha256, &bytes);
        let desc = Descriptor::new(media_type, digest.clone(), bytes.len() as u64);
        let mut mem = crate::source::MemorySource::new();
        mem.insert(digest, bytes);
        self.write_blob(&mem, &desc, &DownloadOptions::default())
            .await?;
        Ok(desc)
    }

    /// Points the ref name `name` at `desc` in `index.json` (replacing an entry with that name),
    /// atomically. Unknown fields of the index and its entries are kept.
    ///
    /// # Errors
    ///
    /// [`LayoutError::InvalidRefName`] for a name that is not a valid ref name, and the errors of
    /// reading and atomically rewriting `index.json` ([`LayoutError::Json`], [`LayoutError::Io`]).
    pub async fn tag(&self, desc: &Descriptor, name: &str) -> Result<(), LayoutError> {
        if !valid_ref_name(name) {
            return Err(LayoutError::InvalidRefName {
                name: name.to_owned(),
            });
        }
        let mut entry = desc.clone();
        entry
            .annotations
            .insert(ANNOTATION_REF_NAME.to_owned(), name.to_owned());
        self.edit_index(
            |list, entry| {
                list.retain(|m| ref_name(m) != Some(name));
                list.push(entry);
            },
            &entry,
        )
        .await
    }

    /// Lists `desc` in `index.json` without a ref name (how `oras attach --oci-layout` records
    /// a referrer, and a push without a tag), unless an entry with its digest is already there.
    ///
    /// # Errors
    ///
    /// The errors of reading and atomically rewriting `index.json` ([`LayoutError::Json`],
    /// [`LayoutError::Io`]).
    pub async fn add_manifest(&self, desc: &Descriptor) -> Result<(), LayoutError> {
        let digest = desc.digest.as_str().to_owned();
        self.edit_index(
            |list, entry| {
                let listed = list
                    .iter()
                    .any(|m| m.get("digest").and_then(|d| d.as_str()) == Some(digest.as_str()));
                if !listed {
                    list.push(entry);
                }
            },
            desc,
        )
        .await
    }

    /// Reads `index.json`, lets `edit` change its `manifests` list (given `entry` serialised),
    /// and writes it back atomically, keeping unknown fields.
    async fn edit_index(
        &self,
        edit: impl FnOnce(&mut Vec<serde_json::Value>, serde_json::Value),
        entry: &Descriptor,
    ) -> Result<(), LayoutError> {
        let path = self.root.join(INDEX_FILE);
        let json_error = |path: &Path, e: serde_json::Error| LayoutError::Json {
            path: path.to_owned(),
            source: JsonError(e),
        };
        let bytes = read_capped(&path, MAX_INDEX_SIZE).await?;
        let mut index: serde_json::Value = parse_json(&path, &bytes)?;
        let entry = serde_json::to_value(entry).map_err(|e| json_error(&path, e))?;
        let Some(obj) = index.as_object_mut() else {
            let e = <serde_json::Error as serde::de::Error>::custom("index.json is not an object");
            return Err(json_error(&path, e));
        };
        let manifests = obj
            .entry("manifests")
            .or_insert_with(|| serde_json::Value::Array(Vec::new()));
        let Some(list) = manifests.as_array_mut() else {
            let e = <serde_json::Error as serde::de::Error>::custom("`manifests` is not an array");
            return Err(json_error(&path, e));
        };
        edit(list, entry);
        let out = serde_json::to_vec_pretty(&index).map_err(|e| json_error(&path, e))?;
        write_atomic(&path, out).await
    }
}

/// The `org.opencontainers.image.ref.name` of an `index.json` entry.
fn ref_name(entry: &serde_json::Value) -> Option<&str> {
    entry
        .pointer("/annotations")
        .and_then(|a| a.get(ANNOTATION_REF_NAME))
        .and_then(|v| v.as_str())
}

impl BlobSource for OciLayout {
    fn open<'a>(
        &'a self,
        digest: &'a Digest,
        offset: u64,
    ) -> BoxFuture<'a, Result<BlobBody, SourceError>> {
        Box::pin(async move { file_body(&self.blob_path(digest), offset).await })
    }
}
