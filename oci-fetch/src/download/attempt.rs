//! One attempt: open the source at the right offset and stream into the writer thread.

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc};

use crate::descriptor::Descriptor;
use crate::progress::{PROGRESS_MIN_BYTES, PROGRESS_MIN_INTERVAL, ProgressEvent};
use crate::source::{BlobSource, SourceError};
use crate::verify::VerifyError;

use super::temp::Queued;
use super::*;

/// What one attempt's failure means for the loop.
pub(super) enum AttemptError {
    /// Try again (from the verifier position, or from 0 after a reset).
    Retry(DownloadError),
    /// The bytes failed verification.
    BadBytes(BadBody),
    /// Give up.
    Fatal(DownloadError),
}

/// A body whose bytes failed verification.
pub(super) struct BadBody {
    /// What was wrong.
    pub(super) error: DownloadError,
    /// Whether another try from byte 0 may give other bytes (the source's answer to
    /// [`BlobSource::rejected`]: another place may serve the blob).
    pub(super) again: bool,
    /// Whether bytes of the body reached the partial file (false when it was rejected at open,
    /// by its announced length: the file holds only what it held, nothing to drop).
    pub(super) written: bool,
}

pub(super) struct Ctx<'a> {
    pub(super) source: &'a dyn BlobSource,
    pub(super) desc: &'a Descriptor,
    pub(super) opts: &'a DownloadOptions,
    pub(super) temp: &'a Path,
}

impl Ctx<'_> {
    pub(super) fn emit(&self, event: ProgressEvent) {
        if let Some(p) = &self.opts.progress {
            p.emit(event);
        }
    }

    pub(super) fn writer_lost(&self) -> DownloadError {
        DownloadError::WriterLost {
            digest: self.desc.digest.clone(),
        }
    }

    pub(super) fn io(&self, op: FileOp) -> impl FnOnce(io::Error) -> DownloadError + '_ {
        move |source| DownloadError::Io {
            path: self.temp.to_path_buf(),
            op,
            source,
        }
    }

    /// A body failed verification: the source that served it is told (struck), and answers
    /// whether another try may give other bytes. `written`: whether bytes of that body reached
    /// the partial file.
    pub(super) fn rejected(&self, e: impl Into<DownloadError>, written: bool) -> AttemptError {
        AttemptError::BadBytes(BadBody {
            error: e.into(),
            again: self.source.rejected(&self.desc.digest),
            written,
        })
    }

    fn stalled(&self, attempts: u32) -> DownloadError {
        DownloadError::Stalled {
            digest: self.desc.digest.clone(),
            timeout: self.opts.stall_timeout,
            attempts,
        }
    }

    fn source_error(&self, source: SourceError, attempts: u32) -> AttemptError {
        let retry = source.is_retryable();
        let e = DownloadError::Source {
            digest: self.desc.digest.clone(),
            attempts,
            source,
        };
        if retry {
            AttemptError::Retry(e)
        } else {
            AttemptError::Fatal(e)
        }
    }

    /// One attempt: open at the verifier's position and stream until the body ends.
    pub(super) async fn attempt(
        &self,
        sink: &mut Option<Sink>,
        force_restart: bool,
        attempts: u32,
    ) -> Result<(), AttemptError> {
        let Some(current) = sink.as_ref() else {
            return Err(AttemptError::Fatal(self.writer_lost()));
        };
        let requested = if force_restart {
            0
        } else {
            current.verifier.position()
        };
        let (body, reset) = self.open_body(requested, force_restart, attempts).await?;
        let Some(owned) = sink.take() else {
            return Err(AttemptError::Fatal(self.writer_lost()));
        };
        let (tx, rx) = mpsc::unbounded_channel::<Queued>();
        let writer = tokio::task::spawn_blocking(move || writer_loop(owned, reset, rx));
        let start = body.offset_applied;
        let (pos, read) = self.stream_body(body.stream, start, tx, attempts).await;
        let Ok((returned, written)) = writer.await else {
            return Err(AttemptError::Fatal(self.writer_lost()));
        };
        *sink = Some(returned);
        match written {
            Err(WriteFailure::Verify(e)) => return Err(self.rejected(e, true)),
            Err(WriteFailure::Io(e)) => return Err(AttemptError::Fatal(self.io(FileOp::Write)(e))),
            Ok(()) => {}
        }
        read?;
        if pos < self.desc.size {
            return Err(AttemptError::Retry(DownloadError::Truncated {
                digest: self.desc.digest.clone(),
                received: pos,
                expected: self.desc.size,
                attempts,
            }));
        }
        Ok(())
    }

    /// Opens the source at `requested` and checks where the body starts and how long it says
    /// it is. Returns the body and whether the writer must start over from byte 0.
    async fn open_body(
        &self,
        requested: u64,
        force_restart: bool,
        attempts: u32,
    ) -> Result<(crate::source::BlobBody, bool), AttemptError> {
        let digest = &self.desc.digest;
        let size = self.desc.size;
        let opened =
            tokio::time::timeout(self.opts.stall_timeout, self.source.open(digest, requested))
                .await;
        let body = match opened {
            Err(_) => return Err(AttemptError::Retry(self.stalled(attempts))),
            Ok(Err(e)) => return Err(self.source_error(e, attempts)),
            Ok(Ok(body)) => body,
        };
        let reset = if body.offset_applied == requested {
            force_restart
        } else if body.offset_applied == 0 {
            self.emit(ProgressEvent::Restarted {
                digest: digest.clone(),
            });
            true
        } else {
            return Err(AttemptError::Retry(DownloadError::UnexpectedOffset {
                digest: digest.clone(),
                requested,
                applied: body.offset_applied,
                attempts,
            }));
        };
        let start = body.offset_applied;
        // A body runs from its start to the blob's end (`bytes=N-`), so its announced length
        // is known exactly: more is a lie, and so is less (a short answer passed off as the
        // blob, not a connection that broke off).
        if let Some(announced) = body.content_length
            && start.saturating_add(announced) != size
        {
            let e = DownloadError::ContentLength {
                digest: digest.clone(),
                offset: start,
                announced,
                expected: size,
            };
            // Rejected before the writer starts: none of its bytes reach the file.
            return Err(self.rejected(e, false));
        }
        Ok((body, reset))
    }

    /// Reads the body from blob offset `start` into the writer's queue (bounded in bytes: each
    /// chunk holds permits until it is written), with the stall timeout and progress events.
    /// Returns the position reached and how the read ended.
    async fn stream_body(
        &self,
        mut stream: crate::source::ByteStream,
        start: u64,
        tx: mpsc::UnboundedSender<Queued>,
        attempts: u32,
    ) -> (u64, Result<(), AttemptError>) {
        let digest = &self.desc.digest;
        let size = self.desc.size;
        let budget = Arc::new(Semaphore::new(WRITE_QUEUE_BYTES));
        let mut pos = start;
        let began = Instant::now();
        let mut last_emit = (start, began);
        let read: Result<(), AttemptError> = loop {
            let next = match tokio::time::timeout(self.opts.stall_timeout, stream.next()).await {
                // Every byte is in and nothing more came: the body is complete.
                Err(_) if pos == size => break Ok(()),
                Err(_) => break Err(AttemptError::Retry(self.stalled(attempts))),
                Ok(n) => n,
            };
            let chunk = match next {
                None => break Ok(()),
                Some(Err(e)) => break Err(self.source_error(e, attempts)),
                Some(Ok(chunk)) => chunk,
            };
            let len = chunk.len() as u64;
            if pos.saturating_add(len) > size {
                let too_long = VerifyError::TooLong {
                    digest: digest.clone(),
                    expected: size,
                    at_least: pos.saturating_add(len),
                };
                break Err(self.rejected(too_long, true));
            }
            pos += len;
            let want = u32::try_from(chunk.len().clamp(1, WRITE_QUEUE_BYTES)).unwrap_or(u32::MAX);
            let Ok(permit) = Arc::clone(&budget).acquire_many_owned(want).await else {
                break Ok(());
            };
            if tx.send((chunk, permit)).is_err() {
                // The writer stopped; its result says why.
                break Ok(());
            }
            let now = Instant::now();
            if pos - last_emit.0 >= PROGRESS_MIN_BYTES
                || now.duration_since(last_emit.1) >= PROGRESS_MIN_INTERVAL
                || pos == size
            {
                let secs = now.duration_since(began).as_secs_f64();
                let rate = if secs > 0.0 {
                    ((pos - start) as f64 / secs) as u64
                } else {
                    0
                };
                self.emit(ProgressEvent::Advanced {
                    digest: digest.clone(),
                    bytes: pos,
                    total: size,
                    bytes_per_second: rate,
                });
                last_emit = (pos, now);
            }
        };
        (pos, read)
    }
}

pub(super) fn backoff(opts: &DownloadOptions, retry: u32) -> Duration {
    let factor = 1u32
        .checked_shl(retry.saturating_sub(1).min(16))
        .unwrap_or(u32::MAX);
    opts.backoff_initial
        .saturating_mul(factor)
        .min(opts.backoff_max)
}
