//! Download errors.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use oci_ref::Digest;

use crate::decompress::DecompressError;
use crate::registry::sources_tried;
use crate::source::SourceError;
use crate::verify::VerifyError;

/// A local file operation, for [`DownloadError::Io`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileOp {
    /// Creating or opening the temporary file.
    CreateTemp,
    /// Writing the temporary file.
    Write,
    /// Reading a kept partial file.
    ReadPartial,
    /// Flushing and syncing to disk.
    Sync,
    /// Renaming onto the destination.
    Rename,
}

impl std::fmt::Display for FileOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FileOp::CreateTemp => "create temporary file",
            FileOp::Write => "write",
            FileOp::ReadPartial => "read partial file",
            FileOp::Sync => "sync",
            FileOp::Rename => "rename into place",
        })
    }
}

/// Why a download failed. Whatever the variant, nothing was left at the destination.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DownloadError {
    /// The source failed (last failure after `attempts` attempts).
    #[error("{digest}: {source} (after {attempts} attempt(s))")]
    Source {
        /// The blob.
        digest: Digest,
        /// Attempts made.
        attempts: u32,
        /// The source's error.
        #[source]
        source: SourceError,
    },
    /// No byte arrived for `timeout`, on every attempt.
    #[error("{digest}: stalled, no data for {timeout:?} (after {attempts} attempt(s))")]
    Stalled {
        /// The blob.
        digest: Digest,
        /// The stall timeout.
        timeout: Duration,
        /// Attempts made.
        attempts: u32,
    },
    /// Bodies kept ending early.
    #[error("{digest}: body ended at byte {received} of {expected} (after {attempts} attempt(s))")]
    Truncated {
        /// The blob.
        digest: Digest,
        /// Bytes received in total.
        received: u64,
        /// The descriptor's size.
        expected: u64,
        /// Attempts made.
        attempts: u32,
    },
    /// The source answered a range request with a body starting elsewhere.
    #[error(
        "{digest}: asked for bytes from {requested}, source sent from {applied} (after {attempts} attempt(s))"
    )]
    UnexpectedOffset {
        /// The blob.
        digest: Digest,
        /// The requested offset.
        requested: u64,
        /// The offset the source reported.
        applied: u64,
        /// Attempts made.
        attempts: u32,
    },
    /// The body announced more bytes than the descriptor's size.
    #[error(
        "{digest}: body announces {announced} bytes from offset {offset}, descriptor size is {expected}"
    )]
    ContentLength {
        /// The blob.
        digest: Digest,
        /// The offset the body starts at.
        offset: u64,
        /// The announced length.
        announced: u64,
        /// The descriptor's size.
        expected: u64,
    },
    /// Size or digest verification failed.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// Every place the source could read the blob from (a registry's pull sources, mirrors
    /// first) served bytes that fail verification; `source` is the last failure. The message
    /// is `source`'s (which names the blob) followed by the places.
    #[error("{source}{}", sources_tried(sources))]
    Rejected {
        /// The blob.
        digest: Digest,
        /// The places that served bad bytes, in order (`mirror registry/repository`,
        /// `primary registry/repository`).
        sources: Vec<String>,
        /// The last verification failure.
        #[source]
        source: Box<DownloadError>,
    },
    /// A local file operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        op: FileOp,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Decompression of the verified blob failed.
    #[error("{digest}: {source}")]
    Decompress {
        /// The blob.
        digest: Digest,
        /// The error.
        #[source]
        source: DecompressError,
    },
    /// The writer thread was lost (the runtime is shutting down).
    #[error("{digest}: the writer thread stopped unexpectedly")]
    WriterLost {
        /// The blob.
        digest: Digest,
    },
}

impl DownloadError {
    /// Whether running the same download again may succeed (network trouble, not bad content).
    pub fn is_retryable(&self) -> bool {
        match self {
            DownloadError::Source { source, .. } => source.is_retryable(),
            DownloadError::Stalled { .. }
            | DownloadError::Truncated { .. }
            | DownloadError::UnexpectedOffset { .. }
            | DownloadError::WriterLost { .. } => true,
            _ => false,
        }
    }

    /// Whether the source does not have the blob.
    pub fn is_not_found(&self) -> bool {
        matches!(self, DownloadError::Source { source, .. } if source.is_not_found())
    }

    /// Whether the source refused access.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, DownloadError::Source { source, .. } if source.is_unauthorized())
    }

    /// Whether the content failed verification (wrong digest, wrong size).
    pub fn is_verification(&self) -> bool {
        matches!(
            self,
            DownloadError::Verify(_)
                | DownloadError::ContentLength { .. }
                | DownloadError::Rejected { .. }
        ) || matches!(self, DownloadError::Source { source, .. } if source.is_integrity())
    }
}
