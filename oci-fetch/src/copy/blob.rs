//! One blob streamed from the copy's source into a destination registry.
//!
//! The body is a [`LayerStream`], the library's one resumable verified stream (what
//! [`Artifact::stream`](crate::artifact::Artifact::stream) reads layers with): a source that
//! breaks off is opened again at the byte reached, a source answering with the whole blob has
//! the prefix already sent skipped, every byte is hashed once, and bytes failing verification
//! strike the source that served them. Here it resumes under the client's
//! [`RetryPolicy`] (its attempt limit and back-off), and [`HeldBack`] keeps its last chunk until
//! the verdict, so a registry never completes an upload of bad bytes.
//!
//! It feeds one streamed upload ([`Repository::push_blob_streamed`]; within one registry
//! [`Repository::mount_or_push_blob_streamed`], which asks for a mount first and, when the
//! registry declines, sends the bytes into the upload session the declining `202` opened, with
//! no second `HEAD`). The upload starts again from byte 0 in two cases. When the destination
//! failed in a way its retry policy retries: `oci-client` does that, with its back-off. And when
//! the bytes failed verification and the source has another place to read them from (the next
//! registries.conf pull source, once one has served bad bytes [`MAX_BAD_BODIES_PER_SOURCE`]
//! times), as [`Artifact::read_to_vec`](crate::artifact::Artifact::read_to_vec) and the
//! download engine start over, under the same rule ([`BadBytesRestarts`]): bounded by the
//! places, not by the retry policy's attempts, every pull source getting its strikes (mirrors
//! serving bad bytes still leave the primary its turn), at once (moving to another source is no
//! transient failure to back off from), and at most places × [`MAX_BAD_BODIES_PER_SOURCE`]
//! times.
//!
//! [`MAX_BAD_BODIES_PER_SOURCE`]: crate::registry::MAX_BAD_BODIES_PER_SOURCE

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{Stream, StreamExt as _};
use oci_client::{PushOutcome, Repository, RetryPolicy};
use oci_ref::{Digest, Reference};

use super::CopyError;
use super::walk::dst_error;
use crate::artifact::{LayerError, LayerStream};
use crate::descriptor::Descriptor;
use crate::progress::{PROGRESS_MIN_BYTES, PROGRESS_MIN_INTERVAL, ProgressEvent, ProgressSink};
use crate::registry::BadBytesRestarts;
use crate::source::BlobSource;

/// Where a blob goes.
pub(super) struct Destination<'a> {
    /// The destination repository.
    pub(super) repo: &'a Repository,
    /// Its reference, for errors.
    pub(super) reference: &'a Reference,
    /// A repository of the same registry that has the blob: the first upload asks to mount it
    /// from there, and goes into the session a declined mount opens.
    pub(super) mount_from: Option<&'a str>,
}

/// Where a blob comes from.
pub(super) struct Origin<F> {
    /// The copy's source.
    pub(super) blobs: Arc<dyn BlobSource>,
    /// How many places it can read a blob from: its registries.conf pull sources (one for a
    /// layout). With [`MAX_BAD_BODIES_PER_SOURCE`](crate::registry::MAX_BAD_BODIES_PER_SOURCE)
    /// it bounds the uploads started again after bad bytes.
    pub(super) places: usize,
    /// Names the place the source read the blob from last (a pull source), for the error when
    /// no place is left.
    pub(super) served_by: F,
}

/// Streams `desc` from `origin` into `to`, verified, resuming under `policy` (which reads the
/// source: its attempt limit and back-off pace the resumes of one upload). After bad bytes the
/// upload starts again at once while the source says another place may serve them (as
/// [`BadBytesRestarts`] allows): a switch of pull source is no transient failure to back off
/// from.
pub(super) async fn stream_to_registry(
    origin: Origin<impl Fn() -> Option<String>>,
    desc: &Descriptor,
    policy: &RetryPolicy,
    progress: Option<&ProgressSink>,
    to: Destination<'_>,
) -> Result<PushOutcome, CopyError> {
    let what = |verb: &str| format!("{verb} blob {}", desc.digest);
    let mut restarts = BadBytesRestarts::new(origin.places);
    let mut mount_from = to.mount_from;
    loop {
        let open = || {
            let stream = LayerStream::owned(Arc::clone(&origin.blobs), desc, policy.clone());
            let reporter = Reporter::start(progress, desc);
            HeldBack::first(stream, reporter)
        };
        let (digest, size) = (&desc.digest, desc.size);
        // A mount is asked for once: after bad bytes it was declined already.
        let pushed = match mount_from.take() {
            Some(from) => {
                to.repo
                    .mount_or_push_blob_streamed(digest, from, size, open)
                    .await
            }
            None => to.repo.push_blob_streamed(digest, size, open).await,
        };
        let failure = match pushed.map_err(source_failure) {
            Ok(outcome) => return Ok(outcome),
            Err(Ok(failure)) => failure,
            Err(Err(e)) => return Err(dst_error(what(step(&e)), to.reference)(e)),
        };
        // Bad bytes and another place to read them from: the upload starts again from byte 0.
        if !restarts.restart((origin.served_by)(), failure.retry_possible) {
            return Err(CopyError::Blob {
                digest: desc.digest.clone(),
                sources: restarts.tried().to_vec(),
                source: Box::new(failure.error),
            });
        }
        if let Some(p) = progress {
            p.emit(ProgressEvent::Retrying {
                digest: desc.digest.clone(),
                attempt: restarts.made() + 1,
                from: 0,
                delay: Duration::ZERO,
            });
        }
    }
}

/// The source's failure when the upload failed because its stream did; otherwise the
/// destination's error.
fn source_failure(e: oci_client::Error) -> Result<Failed, oci_client::Error> {
    match e {
        oci_client::Error::Source(e) => e.downcast::<Failed>().map_err(oci_client::Error::Source),
        other => Err(other),
    }
}

/// The step of the upload that failed with `e`, as the verb its error names: `HEAD` (does the
/// destination have the blob?), `mount` (the cross-repository mount request, told by its
/// `mount` query parameter), else `push` (a session opened, the bytes sent).
fn step(e: &oci_client::Error) -> &'static str {
    let (method, url) = match e {
        oci_client::Error::Registry { method, url, .. }
        | oci_client::Error::Transport { method, url, .. } => (*method, url),
        _ => return "push",
    };
    let mount = || url::Url::parse(url).is_ok_and(|u| u.query_pairs().any(|(k, _)| k == "mount"));
    match method {
        "HEAD" => "HEAD",
        "POST" if mount() => "mount",
        _ => "push",
    }
}

/// Why a blob's stream failed, as the upload hands it back.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
struct Failed {
    error: LayerError,
    /// The bytes failed verification and the source may serve others from byte 0.
    retry_possible: bool,
}

/// A [`LayerStream`] with its last chunk held back until the verdict: whatever consumes it
/// never receives the whole blob unless the blob verified.
struct HeldBack {
    inner: LayerStream<'static>,
    held: Option<Bytes>,
    progress: Option<Reporter>,
    ended: bool,
}

impl HeldBack {
    /// Reads the first chunk before the stream is handed out, so a blob that cannot be read
    /// at all fails before an upload session is opened.
    async fn first(
        mut inner: LayerStream<'static>,
        progress: Option<Reporter>,
    ) -> std::io::Result<HeldBack> {
        let first = inner.next().await;
        let mut held = HeldBack {
            inner,
            held: None,
            progress,
            ended: false,
        };
        match first {
            Some(Ok(chunk)) => held.held = Some(chunk),
            Some(Err(e)) => return Err(held.failed(e)),
            // An empty blob, verified.
            None => held.ended = true,
        }
        Ok(held)
    }

    fn failed(&mut self, error: LayerError) -> std::io::Error {
        self.ended = true;
        self.held = None;
        let retry_possible = self.inner.retry_possible();
        std::io::Error::other(Failed {
            error,
            retry_possible,
        })
    }

    /// Hands `chunk` to the upload.
    fn give(&mut self, chunk: Bytes) -> Poll<Option<std::io::Result<Bytes>>> {
        if let Some(p) = self.progress.as_mut() {
            p.advance(chunk.len() as u64);
        }
        Poll::Ready(Some(Ok(chunk)))
    }
}

impl Stream for HeldBack {
    type Item = std::io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if this.ended {
                return match this.held.take() {
                    Some(last) => this.give(last),
                    None => Poll::Ready(None),
                };
            }
            match this.inner.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(chunk))) => {
                    if let Some(previous) = this.held.replace(chunk) {
                        return this.give(previous);
                    }
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(this.failed(e)))),
                // Verified: the held chunk may go.
                Poll::Ready(None) => this.ended = true,
            }
        }
    }
}

/// Progress events of one blob streamed to a registry: `Started` at 0, then `Advanced` at most
/// every [`PROGRESS_MIN_BYTES`] or [`PROGRESS_MIN_INTERVAL`] (and at the end).
struct Reporter {
    sink: ProgressSink,
    digest: Digest,
    total: u64,
    sent: u64,
    began: Instant,
    last: (u64, Instant),
}

impl Reporter {
    /// Reports the start of an upload (none without a sink).
    fn start(sink: Option<&ProgressSink>, desc: &Descriptor) -> Option<Reporter> {
        let sink = sink?.clone();
        sink.emit(ProgressEvent::Started {
            digest: desc.digest.clone(),
            bytes: 0,
            total: desc.size,
        });
        let now = Instant::now();
        Some(Reporter {
            sink,
            digest: desc.digest.clone(),
            total: desc.size,
            sent: 0,
            began: now,
            last: (0, now),
        })
    }

    /// Counts `len` more bytes handed to the upload.
    fn advance(&mut self, len: u64) {
        self.sent += len;
        let now = Instant::now();
        if self.sent - self.last.0 < PROGRESS_MIN_BYTES
            && now.duration_since(self.last.1) < PROGRESS_MIN_INTERVAL
            && self.sent != self.total
        {
            return;
        }
        self.last = (self.sent, now);
        let secs = now.duration_since(self.began).as_secs_f64();
        let rate = if secs > 0.0 {
            (self.sent as f64 / secs) as u64
        } else {
            0
        };
        self.sink.emit(ProgressEvent::Advanced {
            digest: self.digest.clone(),
            bytes: self.sent,
            total: self.total,
            bytes_per_second: rate,
        });
    }
}
