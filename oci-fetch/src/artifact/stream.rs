//! [`LayerStream`] and [`LayerReader`]: one layer's bytes as they arrive, verified in passing,
//! the verdict at the end.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt as _};
use oci_client::RetryPolicy;
use oci_ref::Digest;
use tokio::io::{AsyncRead, ReadBuf};

use super::LayerError;
use crate::descriptor::Descriptor;
use crate::source::{BlobSource, ByteStream};
use crate::verify::Verifier;

/// Most times one layer read opens its blob (the first open plus resumes after a transfer
/// broke off). Bounds the work a flaky or hostile source can cause. A read started over at
/// another source after bad bytes
/// ([`Artifact::read_to_vec`](super::Artifact::read_to_vec)) is a new read, bounded by the
/// sources instead (`BadBytesRestarts`).
pub const MAX_STREAM_ATTEMPTS: usize = 5;

/// Where a stream reads from: a borrowed source (a layer of an [`Artifact`](super::Artifact)), or
/// one it owns (a copy's stream, which outlives the borrow it was made under).
enum Blobs<'a> {
    Borrowed(&'a dyn BlobSource),
    Owned(Arc<dyn BlobSource>),
}

impl Blobs<'_> {
    fn get(&self) -> &dyn BlobSource {
        match self {
            Blobs::Borrowed(source) => *source,
            Blobs::Owned(source) => &**source,
        }
    }
}

struct State<'a> {
    source: Blobs<'a>,
    digest: Digest,
    /// `None` once the verdict is out (or the descriptor cannot be verified).
    verifier: Option<Verifier>,
    body: Option<ByteStream>,
    opens: usize,
    /// How many opens, and the pause before each reopen.
    policy: RetryPolicy,
    /// Time paused so far, for the policy's total.
    waited: Duration,
    /// Bytes of a body that restarted from 0 that were handed out already: skipped, not hashed
    /// again (the verifier covers exactly the bytes handed out).
    skip: u64,
    retry: Arc<AtomicBool>,
}

impl State<'_> {
    fn fail(&mut self, e: LayerError) -> Option<Result<Bytes, LayerError>> {
        self.verifier = None;
        self.body = None;
        Some(Err(e))
    }

    /// Bad bytes: strike the source, remember whether another may serve good ones.
    fn reject(&mut self, source: crate::verify::VerifyError) -> Option<Result<Bytes, LayerError>> {
        let again = self.source.get().rejected(&self.digest);
        self.retry.store(again, Ordering::Relaxed);
        let digest = self.digest.clone();
        self.fail(LayerError::Verify { digest, source })
    }

    /// Before opening the blob again: whether the policy leaves an attempt, after its pause.
    async fn pause(&mut self) -> bool {
        let made = u32::try_from(self.opens).unwrap_or(u32::MAX);
        let Some(delay) = self.policy.delay(made, self.waited, None) else {
            return false;
        };
        self.waited += delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        true
    }

    async fn open(&mut self, position: u64) -> Result<(), LayerError> {
        self.opens += 1;
        let body = self
            .source
            .get()
            .open(&self.digest, position)
            .await
            .map_err(|source| LayerError::Source {
                digest: self.digest.clone(),
                source,
            })?;
        match body.offset_applied {
            applied if applied == position => {}
            0 => self.skip = position,
            applied => {
                return Err(LayerError::BadOffset {
                    digest: self.digest.clone(),
                    requested: position,
                    applied,
                });
            }
        }
        self.body = Some(body.stream);
        Ok(())
    }

    /// The next item: a chunk, the verification error, or the end.
    async fn next(&mut self) -> Option<Result<Bytes, LayerError>> {
        loop {
            let position = self.verifier.as_ref()?.position();
            if self.body.is_none()
                && let Err(e) = self.open(position).await
            {
                // A source that failed to answer a resume may answer the next one.
                let transient =
                    matches!(&e, LayerError::Source { source, .. } if source.is_retryable());
                if self.opens > 1 && transient && self.pause().await {
                    continue;
                }
                return self.fail(e);
            }
            let item = self.body.as_mut()?.next().await;
            match item {
                Some(Ok(chunk)) => {
                    let take = usize::try_from(self.skip).unwrap_or(usize::MAX);
                    let skipped = take.min(chunk.len());
                    self.skip -= skipped as u64;
                    let chunk = chunk.slice(skipped..);
                    if chunk.is_empty() {
                        continue;
                    }
                    if let Err(e) = self.verifier.as_mut()?.update(&chunk) {
                        return self.reject(e);
                    }
                    return Some(Ok(chunk));
                }
                Some(Err(source)) => {
                    self.body = None;
                    if source.is_retryable() && self.pause().await {
                        continue;
                    }
                    let digest = self.digest.clone();
                    return self.fail(LayerError::Source { digest, source });
                }
                None => {
                    self.body = None;
                    let verifier = self.verifier.take()?;
                    if verifier.remaining() > 0 && self.pause().await {
                        // The body ended early: resume where it stopped.
                        self.verifier = Some(verifier);
                        continue;
                    }
                    return match verifier.finish() {
                        Ok(()) => None,
                        Err(e) => self.reject(e),
                    };
                }
            }
        }
    }
}

/// One layer's bytes as they arrive (see [`Artifact::stream`](super::Artifact::stream)).
///
/// Every chunk was hashed before it is handed out; the stream ends with `None` only when the
/// digest and size of everything handed out match the descriptor, and otherwise ends with a
/// [`LayerError`]. **Bytes are unverified until then.**
pub struct LayerStream<'a> {
    inner: Pin<Box<dyn Stream<Item = Result<Bytes, LayerError>> + Send + 'a>>,
    retry: Arc<AtomicBool>,
}

impl std::fmt::Debug for LayerStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LayerStream").finish_non_exhaustive()
    }
}

/// The resume policy of an [`Artifact`](super::Artifact)'s layer streams: up to
/// [`MAX_STREAM_ATTEMPTS`] opens, each resume at once.
fn immediate_resumes() -> RetryPolicy {
    RetryPolicy {
        max_attempts: u32::try_from(MAX_STREAM_ATTEMPTS).unwrap_or(u32::MAX),
        initial_backoff: Duration::ZERO,
        max_backoff: Duration::ZERO,
        ..RetryPolicy::default()
    }
}

impl<'a> LayerStream<'a> {
    /// The bytes of `layer` from `source`.
    pub(super) fn new(source: &'a dyn BlobSource, layer: &Descriptor) -> LayerStream<'a> {
        LayerStream::with(Blobs::Borrowed(source), layer, immediate_resumes())
    }

    fn with(source: Blobs<'a>, layer: &Descriptor, policy: RetryPolicy) -> LayerStream<'a> {
        let retry = Arc::new(AtomicBool::new(false));
        let verifier = Some(Verifier::new(layer.digest.clone(), layer.size));
        let state = State {
            source,
            digest: layer.digest.clone(),
            verifier,
            body: None,
            opens: 0,
            policy,
            waited: Duration::ZERO,
            skip: 0,
            retry: retry.clone(),
        };
        let rest = futures_util::stream::unfold(state, |mut state| async move {
            let item = state.next().await?;
            Some((item, state))
        });
        LayerStream {
            inner: Box::pin(rest),
            retry,
        }
    }

    /// After a verification error: whether reading the layer again from the start may get
    /// other bytes (the source that served these was struck and another is left).
    pub fn retry_possible(&self) -> bool {
        self.retry.load(Ordering::Relaxed)
    }
}

impl LayerStream<'static> {
    /// The bytes of `layer` from a source the stream owns, resumed under `policy` (its attempt
    /// limit counts every open, its back-off paces the resumes): a copy's blob, streamed into
    /// an upload.
    pub(crate) fn owned(
        source: Arc<dyn BlobSource>,
        layer: &Descriptor,
        policy: RetryPolicy,
    ) -> LayerStream<'static> {
        LayerStream::with(Blobs::Owned(source), layer, policy)
    }
}

impl Stream for LayerStream<'_> {
    type Item = Result<Bytes, LayerError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// A [`LayerStream`] as an [`AsyncRead`]. End of file (`Ok(0)`) means verified; a failure is
/// an `io::Error` wrapping the [`LayerError`] (`InvalidData` for bad bytes).
#[derive(Debug)]
pub struct LayerReader<'a> {
    stream: LayerStream<'a>,
    pending: Bytes,
}

impl<'a> LayerReader<'a> {
    pub(super) fn new(stream: LayerStream<'a>) -> LayerReader<'a> {
        LayerReader {
            stream,
            pending: Bytes::new(),
        }
    }
}

impl AsyncRead for LayerReader<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        while self.pending.is_empty() {
            match self.stream.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Ready(Some(Ok(chunk))) => self.pending = chunk,
                Poll::Ready(Some(Err(e))) => {
                    let kind = if e.is_integrity() {
                        std::io::ErrorKind::InvalidData
                    } else {
                        std::io::ErrorKind::Other
                    };
                    return Poll::Ready(Err(std::io::Error::new(kind, e)));
                }
            }
        }
        let n = self.pending.len().min(buf.remaining());
        let chunk = self.pending.split_to(n);
        buf.put_slice(&chunk);
        Poll::Ready(Ok(()))
    }
}
