//! Progress events for downloads and uploads, delivered through a callback.
//!
//! The library draws nothing: a CLI turns these events into progress bars, a service into logs
//! or metrics. Events for one blob arrive in order; events for different blobs interleave.
//! Downloads are keyed by digest; uploads of files (`push`, `attach`) by the file's path, since a
//! large file's digest is known only once it has been sent. A copy ([`crate::copy`]) reports each
//! blob it transfers by digest: into a layout as a download, to a registry as `Started`,
//! `Advanced` and [`ProgressEvent::Sent`]; a blob the destination has, or that is mounted, has no
//! events.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use oci_ref::Digest;

/// Minimum bytes between two [`ProgressEvent::Advanced`] events of one blob (256 KiB), so a
/// source that yields tiny chunks does not flood the callback.
pub const PROGRESS_MIN_BYTES: u64 = 256 * 1024;

/// Minimum time between two [`ProgressEvent::Advanced`] events of one blob, unless
/// [`PROGRESS_MIN_BYTES`] have arrived.
pub const PROGRESS_MIN_INTERVAL: Duration = Duration::from_millis(100);

/// Something that happened to one blob or file being transferred.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ProgressEvent {
    /// A download started (or resumed from a kept partial file at `bytes`).
    Started {
        /// The blob.
        digest: Digest,
        /// Bytes already present (from a kept partial file).
        bytes: u64,
        /// The blob's size.
        total: u64,
    },
    /// Bytes arrived.
    Advanced {
        /// The blob.
        digest: Digest,
        /// Bytes of the blob received so far.
        bytes: u64,
        /// The blob's size.
        total: u64,
        /// Average rate of the current attempt, bytes per second.
        bytes_per_second: u64,
    },
    /// An attempt failed; the next one starts at `from` after `delay`.
    Retrying {
        /// The blob.
        digest: Digest,
        /// The attempt that comes next (2 for the first retry).
        attempt: u32,
        /// The offset the next attempt asks for.
        from: u64,
        /// The pause before it.
        delay: Duration,
    },
    /// The source ignored a range request and started over; received bytes were discarded.
    Restarted {
        /// The blob.
        digest: Digest,
    },
    /// Digest and size were verified.
    Verified {
        /// The blob.
        digest: Digest,
    },
    /// The verified blob is being decompressed.
    Decompressing {
        /// The blob.
        digest: Digest,
    },
    /// The verified file is in place.
    Finished {
        /// The blob.
        digest: Digest,
        /// Where it went.
        path: PathBuf,
    },
    /// The upload of a file started (again from 0 when the store retries it).
    UploadStarted {
        /// The file.
        path: PathBuf,
        /// Its size.
        total: u64,
    },
    /// Bytes of the file were read and handed to the connection.
    UploadAdvanced {
        /// The file.
        path: PathBuf,
        /// Bytes sent so far in this attempt.
        bytes: u64,
        /// Its size.
        total: u64,
    },
    /// The file's blob is in the store (uploaded, or the store already had it).
    UploadFinished {
        /// The file.
        path: PathBuf,
        /// The blob's digest.
        digest: Digest,
    },
    /// A blob streamed to a destination registry by a copy is complete there (its
    /// [`Started`](ProgressEvent::Started) and [`Advanced`](ProgressEvent::Advanced) events count
    /// the bytes sent, from 0 again when the upload is retried).
    Sent {
        /// The blob.
        digest: Digest,
    },
}

/// A progress callback, shared between concurrent downloads. It must return quickly.
#[derive(Clone)]
pub struct ProgressSink(Arc<dyn Fn(ProgressEvent) + Send + Sync>);

impl ProgressSink {
    /// Wraps a callback.
    pub fn new(f: impl Fn(ProgressEvent) + Send + Sync + 'static) -> ProgressSink {
        ProgressSink(Arc::new(f))
    }

    /// Delivers one event.
    pub fn emit(&self, event: ProgressEvent) {
        (self.0)(event)
    }
}

impl fmt::Debug for ProgressSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProgressSink(..)")
    }
}
