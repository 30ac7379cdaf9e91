//! The blob source seam: where blob bytes come from (a registry, an OCI layout, memory).
//!
//! [`BlobSource::open`] returns a [`BlobBody`]: a stream of byte chunks starting at
//! [`BlobBody::offset_applied`], which is either the requested offset (the range was honoured,
//! like an HTTP `206` whose `Content-Range` starts there) or `0` (the source restarted from the
//! beginning, like an HTTP `200`). Any other value is a misbehaving source; the download engine
//! refuses it. Sources only deliver bytes: the download engine verifies digest and size.
//!
//! The trait is object safe (boxed futures), so engines take `&dyn BlobSource`.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use futures_util::Stream;
use oci_ref::Digest;

/// A boxed, `Send` future, as returned by [`BlobSource::open`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A boxed stream of body chunks.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, SourceError>> + Send>>;

/// What kind of failure a [`SourceError`] is; decides retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceErrorKind {
    /// The source has no blob with this digest.
    NotFound,
    /// The source refused access.
    Unauthorized,
    /// A transient failure (dropped connection, reset, 5xx, 429): worth retrying.
    Transient,
    /// A permanent failure of the source (protocol violation, bad request).
    Permanent,
    /// A local IO failure while reading the source (for example an OCI layout on disk).
    Io,
    /// Every place the source could read from served bytes that fail verification.
    Integrity,
}

impl fmt::Display for SourceErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SourceErrorKind::NotFound => "blob not found",
            SourceErrorKind::Unauthorized => "access refused",
            SourceErrorKind::Transient => "transient failure",
            SourceErrorKind::Permanent => "source failure",
            SourceErrorKind::Io => "IO error",
            SourceErrorKind::Integrity => "content failed verification at every source",
        })
    }
}

/// Bytes enough to tell any compression by its magic number.
pub const HEAD_BYTES: usize = 4;

/// The first bytes of the blob `digest`, which has `size` bytes: [`HEAD_BYTES`] of them, or the
/// whole of a shorter blob, read with [`BlobSource::read_prefix`] (for a registry, one request
/// for exactly those bytes; for an empty blob, no read at all). Unverified: enough to tell its
/// compression ([`oci_ref::media_type::Compression::detect`]).
///
/// # Errors
///
/// The source's error reading the bytes, among them a body that ends before them.
pub async fn blob_head(
    source: &dyn BlobSource,
    digest: &Digest,
    size: u64,
) -> Result<Bytes, SourceError> {
    let len = usize::try_from(size).map_or(HEAD_BYTES, |size| size.min(HEAD_BYTES));
    if len == 0 {
        return Ok(Bytes::new());
    }
    source.read_prefix(digest, len).await
}

/// The first `len` bytes of what `source` serves for `digest`, by opening it from byte 0 and
/// dropping the body once they have arrived: the default [`BlobSource::read_prefix`].
async fn read_prefix_from_start<S: BlobSource + ?Sized>(
    source: &S,
    digest: &Digest,
    len: usize,
) -> Result<Bytes, SourceError> {
    use futures_util::StreamExt as _;
    let mut body = source.open(digest, 0).await?;
    let mut prefix = Vec::with_capacity(len.min(FILE_CHUNK_SIZE));
    while prefix.len() < len {
        let Some(chunk) = body.stream.next().await else {
            return Err(SourceError::from(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "blob {digest} ended after {} of the first {len} bytes",
                    prefix.len()
                ),
            )));
        };
        let chunk = chunk?;
        let take = chunk.len().min(len - prefix.len());
        prefix.extend_from_slice(&chunk[..take]);
    }
    Ok(Bytes::from(prefix))
}

/// A failure of a blob source: a kind plus the underlying cause.
#[derive(Debug, thiserror::Error)]
#[error("{kind}{}", detail.as_ref().map(|d| format!(": {d}")).unwrap_or_default())]
pub struct SourceError {
    kind: SourceErrorKind,
    detail: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl SourceError {
    /// An error of `kind` caused by `source`.
    pub fn new(
        kind: SourceErrorKind,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> SourceError {
        SourceError {
            kind,
            detail: Some(source.into()),
        }
    }

    /// An error of `kind` with no further cause.
    pub fn from_kind(kind: SourceErrorKind) -> SourceError {
        SourceError { kind, detail: None }
    }

    /// The kind.
    pub fn kind(&self) -> SourceErrorKind {
        self.kind
    }

    /// Whether trying again (resuming) may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind, SourceErrorKind::Transient)
    }

    /// Whether the blob does not exist in the source.
    pub fn is_not_found(&self) -> bool {
        self.kind == SourceErrorKind::NotFound
    }

    /// Whether the source refused access.
    pub fn is_unauthorized(&self) -> bool {
        self.kind == SourceErrorKind::Unauthorized
    }

    /// Whether the content failed verification wherever the source looked.
    pub fn is_integrity(&self) -> bool {
        self.kind == SourceErrorKind::Integrity
    }
}

impl From<std::io::Error> for SourceError {
    fn from(e: std::io::Error) -> SourceError {
        let kind = if e.kind() == std::io::ErrorKind::NotFound {
            SourceErrorKind::NotFound
        } else {
            SourceErrorKind::Io
        };
        SourceError::new(kind, e)
    }
}

/// An opened blob body.
pub struct BlobBody {
    /// The chunks, starting at byte [`offset_applied`](Self::offset_applied) of the blob.
    pub stream: ByteStream,
    /// How many bytes the body announces (HTTP `Content-Length`), if known. Counted from
    /// `offset_applied`, not from the start of the blob.
    pub content_length: Option<u64>,
    /// The blob offset the first chunk starts at: the requested offset if the range was
    /// honoured, `0` if the source restarted from the beginning.
    pub offset_applied: u64,
}

impl fmt::Debug for BlobBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlobBody")
            .field("content_length", &self.content_length)
            .field("offset_applied", &self.offset_applied)
            .finish_non_exhaustive()
    }
}

/// Where blob bytes come from.
///
/// Implementations deliver bytes and report what they know about the range; they need not
/// verify anything (the download engine checks digest, size and offsets). A registry
/// implementation maps `offset > 0` to `Range: bytes=offset-` and reports `offset_applied` from
/// the `206` `Content-Range` (or `0` for a `200`).
pub trait BlobSource: Send + Sync {
    /// Opens the blob `digest`, asking for its bytes from `offset` on.
    fn open<'a>(
        &'a self,
        digest: &'a Digest,
        offset: u64,
    ) -> BoxFuture<'a, Result<BlobBody, SourceError>>;

    /// The download engine found that the bytes served for `digest` since the last
    /// [`open`](Self::open) from byte 0 fail verification (wrong digest, too long). Returns
    /// `true` when opening again from byte 0 may give other bytes (another place to read from,
    /// or the same one worth one more try); the default, `false`, ends the download with the
    /// verification error.
    fn rejected(&self, digest: &Digest) -> bool {
        let _ = digest;
        false
    }

    /// How many places the source reads a blob from: a registry's pull sources, one for
    /// anything else (the default). With
    /// [`MAX_BAD_BODIES_PER_SOURCE`](crate::registry::MAX_BAD_BODIES_PER_SOURCE) it bounds the
    /// restarts after bad bytes that [`rejected`](Self::rejected) may ask for.
    fn places(&self) -> usize {
        1
    }

    /// Names the place the last body of `digest` came from (`mirror registry/repository`), for
    /// an error naming every place that served bad bytes; `None` (the default) for a source
    /// with one place.
    fn place(&self, digest: &Digest) -> Option<String> {
        let _ = digest;
        None
    }

    /// The first `len` bytes of the blob `digest` (which has at least that many), unverified;
    /// [`blob_head`] asks for them. A body that ends before `len` bytes is an error.
    ///
    /// The default opens the blob from byte 0 and drops the body once `len` bytes have
    /// arrived: right for a local source, where opening costs nothing. A remote source
    /// overrides it to ask for those bytes only ([`crate::registry::RegistrySource`] sends one
    /// range request), so that a peek does not start the transfer of a whole disk image.
    fn read_prefix<'a>(
        &'a self,
        digest: &'a Digest,
        len: usize,
    ) -> BoxFuture<'a, Result<Bytes, SourceError>> {
        Box::pin(read_prefix_from_start(self, digest, len))
    }
}

/// Chunk size of bodies read from files ([`FileSource`], [`crate::layout::OciLayout`]).
pub const FILE_CHUNK_SIZE: usize = 256 * 1024;

/// The body of the file at `path` from `offset` on (clamped to its length), in chunks of
/// [`FILE_CHUNK_SIZE`].
pub(crate) async fn file_body(
    path: &std::path::Path,
    offset: u64,
) -> Result<BlobBody, SourceError> {
    use futures_util::StreamExt as _;
    use tokio::io::AsyncSeekExt;
    let mut file = tokio::fs::File::open(path).await?;
    let len = file.metadata().await?.len();
    let start = offset.min(len);
    file.seek(std::io::SeekFrom::Start(start)).await?;
    let stream = read_chunks(file, FILE_CHUNK_SIZE)
        .map(|r| r.map_err(|e| SourceError::new(SourceErrorKind::Io, e)));
    Ok(BlobBody {
        stream: Box::pin(stream),
        content_length: Some(len - start),
        offset_applied: start,
    })
}

/// A reader as a stream of chunks of at most `chunk` bytes. One buffer is reused while the
/// chunks handed out are dropped before the next read (the usual case), and nothing is zeroed
/// before it is read into.
pub(crate) fn read_chunks<R>(
    reader: R,
    chunk: usize,
) -> impl Stream<Item = std::io::Result<Bytes>> + Send + 'static
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    use tokio::io::AsyncReadExt as _;
    let state = (reader, bytes::BytesMut::new());
    futures_util::stream::unfold(Some(state), move |state| async move {
        let (mut reader, mut buf) = state?;
        buf.reserve(chunk);
        match reader.read_buf(&mut buf).await {
            Ok(0) => None,
            Ok(_) => {
                let out = buf.split().freeze();
                Some((Ok(out), Some((reader, buf))))
            }
            Err(e) => Some((Err(e), None)),
        }
    })
}

/// Local files, each serving as the blob with a known digest: how a push to an OCI layout
/// copies files in through the verified download engine (a file that changed since it was
/// hashed fails verification instead of landing under a wrong name).
#[derive(Debug, Clone, Default)]
pub struct FileSource {
    files: HashMap<Digest, std::path::PathBuf>,
}

impl FileSource {
    /// An empty source.
    pub fn new() -> FileSource {
        FileSource::default()
    }

    /// Serves the file at `path` as the blob `digest` (checked only when it is read).
    pub fn insert(&mut self, digest: Digest, path: impl Into<std::path::PathBuf>) {
        self.files.insert(digest, path.into());
    }
}

impl BlobSource for FileSource {
    fn open<'a>(
        &'a self,
        digest: &'a Digest,
        offset: u64,
    ) -> BoxFuture<'a, Result<BlobBody, SourceError>> {
        Box::pin(async move {
            match self.files.get(digest) {
                Some(path) => file_body(path, offset).await,
                None => Err(SourceError::from_kind(SourceErrorKind::NotFound)),
            }
        })
    }
}

/// The default chunk size of [`MemorySource`] bodies: 64 KiB, about what an HTTP body yields.
pub const MEMORY_CHUNK_SIZE: usize = 64 * 1024;

/// Blobs held in memory; honours ranges. For tests, examples and small embedded content.
#[derive(Debug, Clone, Default)]
pub struct MemorySource {
    blobs: HashMap<Digest, Bytes>,
    chunk_size: Option<usize>,
}

impl MemorySource {
    /// An empty source.
    pub fn new() -> MemorySource {
        MemorySource::default()
    }

    /// Serves bodies in chunks of `chunk_size` bytes (at least 1).
    pub fn with_chunk_size(mut self, chunk_size: usize) -> MemorySource {
        self.chunk_size = Some(chunk_size.max(1));
        self
    }

    /// Stores `bytes` under `digest`. Nothing is checked, so a test can model a lying source;
    /// compute honest digests with [`oci_ref::digest_of`].
    pub fn insert(&mut self, digest: Digest, bytes: impl Into<Bytes>) {
        self.blobs.insert(digest, bytes.into());
    }
}

impl BlobSource for MemorySource {
    fn open<'a>(
        &'a self,
        digest: &'a Digest,
        offset: u64,
    ) -> BoxFuture<'a, Result<BlobBody, SourceError>> {
        Box::pin(async move {
            let Some(bytes) = self.blobs.get(digest) else {
                return Err(SourceError::from_kind(SourceErrorKind::NotFound));
            };
            let start = usize::try_from(offset)
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            let rest = bytes.slice(start..);
            let chunk = self.chunk_size.unwrap_or(MEMORY_CHUNK_SIZE);
            let len = rest.len() as u64;
            let chunks: Vec<Result<Bytes, SourceError>> = (0..rest.len())
                .step_by(chunk)
                .map(|i| Ok(rest.slice(i..(i + chunk).min(rest.len()))))
                .collect();
            Ok(BlobBody {
                stream: Box::pin(futures_util::stream::iter(chunks)),
                content_length: Some(len),
                offset_applied: start as u64,
            })
        })
    }
}
