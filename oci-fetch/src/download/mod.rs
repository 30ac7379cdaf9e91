//! The verified download engine: one blob from a [`BlobSource`] to a file, atomically.
//!
//! Bytes are checked as they arrive (size at once, digest at the end), hashed once, written to
//! a temporary file beside the destination by a blocking writer thread fed through a queue
//! bounded in bytes ([`WRITE_QUEUE_BYTES`], so the disk and the hash do not stall the network
//! read) — with direct IO past the page cache where the file system allows it (see `direct`;
//! otherwise a writeback thread flushes the file every 64 MiB, see `writeback`) — `fsync`'d,
//! and renamed onto the destination only after verification. With decompression on, a second
//! thread decompresses the chunks as the writer passes them on, into its own temporary file that
//! is renamed only after the compressed bytes were verified (see `inflate`; after a restart from
//! byte 0 the verified file is decompressed afterwards instead). A dropped connection, a stall
//! or a truncated body resumes from the bytes already written; a source that ignores the range
//! restarts cleanly from byte 0.
//!
//! # Temporary files
//!
//! The temporary file is `.<dest name>.<12 hex of the digest>.oci-fetch-partial` (with a unique
//! suffix unless [`DownloadOptions::keep_partial`] is set) in the destination's directory, so the
//! final rename never crosses file systems. On failure it is removed, unless `keep_partial` is
//! set: then it stays, and the next download of the same blob to the same destination re-hashes
//! it and continues from its end (a corrupt prefix is caught by the final digest check, which
//! then triggers one clean restart). With `keep_partial`, run one download per destination at a
//! time.
//!
//! # Cancel safety
//!
//! Dropping a [`download`] future removes the temporary file (a guard's `Drop`, unless
//! `keep_partial` is set) and never leaves anything at the destination: the rename is the last
//! step and is not split across an `.await`. The writer thread notices the closed queue and exits
//! on its own.

use std::path::{Path, PathBuf};
use std::time::Duration;

use oci_ref::Digest;

use oci_ref::media_type::Compression;

use crate::decompress::{Decompress, DecompressLimits};
use crate::descriptor::Descriptor;
use crate::progress::{ProgressEvent, ProgressSink};
use crate::source::BlobSource;
use crate::verify::{Verifier, VerifyError};

mod attempt;
mod direct;
mod error;
mod inflate;
mod place;
mod temp;
mod writeback;

use attempt::{AttemptError, Ctx, backoff};
pub use direct::DIRECT_ALIGN;
pub use error::{DownloadError, FileOp};
pub use inflate::INFLATE_QUEUE_DEPTH;
use inflate::Inflater;
pub use place::decompressed_path;
use place::place;
use temp::{
    FinishError, Sink, TempGuard, WriteFailure, finish_temp, open_temp, parent_dir, sync_dir,
    writer_loop,
};
pub use temp::{PARTIAL_SUFFIX, partial_path};
pub use writeback::WRITEBACK_INTERVAL_BYTES;

/// Default number of attempts per blob (the first one included). oras-go retries 5 times.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// Default pause before the first retry; doubled for each further retry.
pub const DEFAULT_BACKOFF_INITIAL: Duration = Duration::from_millis(250);

/// Default longest pause between attempts.
pub const DEFAULT_BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Default time without any byte (or without the source answering) before an attempt is
/// abandoned as stalled and resumed.
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Bytes queued between the network reader and the disk writer (4 MiB): enough to ride out a
/// slow write or a hash of a large chunk without stalling the read, and a bound on the memory of
/// one download whatever size the HTTP stack's chunks have.
pub const WRITE_QUEUE_BYTES: usize = 4 * 1024 * 1024;

/// Buffer of the disk writer (1 MiB): few large writes instead of one per network chunk.
const WRITE_BUFFER: usize = 1024 * 1024;

/// Buffer used when re-hashing a kept partial file.
const REHASH_BUFFER: usize = 1024 * 1024;

/// How downloads behave. `Default` gives the documented defaults.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DownloadOptions {
    /// Attempts per blob, the first included (at least 1).
    pub max_attempts: u32,
    /// Pause before the first retry.
    pub backoff_initial: Duration,
    /// Longest pause between attempts.
    pub backoff_max: Duration,
    /// Time without progress before an attempt counts as stalled.
    pub stall_timeout: Duration,
    /// Keep the partial file on failure and resume from it next time (see the module docs).
    pub keep_partial: bool,
    /// Whether to decompress.
    pub decompress: Decompress,
    /// When a download was decompressed and the destination's file name ends with the suffix
    /// of the compression undone (`disk.img.zst`), write it without the suffix (`disk.img`).
    /// [`Downloaded::path`] says where the file went. Off by default.
    pub strip_compression_suffix: bool,
    /// Limits for decompression.
    pub decompress_limits: DecompressLimits,
    /// Where progress events go.
    pub progress: Option<ProgressSink>,
    /// Write whole blocks with direct IO (`O_DIRECT`, Linux) where the file system supports it
    /// (default on). The page cache is bypassed: far less CPU per byte and no large `fsync` at
    /// the end, but the file is not left in memory for whoever reads it next. Off, or on a file
    /// system without direct IO, writes are buffered and written back in the background.
    pub direct_io: bool,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        DownloadOptions {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            backoff_initial: DEFAULT_BACKOFF_INITIAL,
            backoff_max: DEFAULT_BACKOFF_MAX,
            stall_timeout: DEFAULT_STALL_TIMEOUT,
            keep_partial: false,
            decompress: Decompress::Off,
            strip_compression_suffix: false,
            decompress_limits: DecompressLimits::default(),
            progress: None,
            direct_io: true,
        }
    }
}

/// What a successful download did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Downloaded {
    /// The destination path.
    pub path: PathBuf,
    /// The verified digest (of the bytes as stored in the source, before decompression).
    pub digest: Digest,
    /// The verified size (before decompression).
    pub size: u64,
    /// The size of the file written (differs from `size` when decompressed).
    pub written: u64,
    /// The compression that was undone, if any.
    pub decompressed: Option<Compression>,
    /// Attempts used (1 when nothing went wrong).
    pub attempts: u32,
    /// Bytes taken from a kept partial file of an earlier run.
    pub resumed_from: u64,
}

/// Downloads the blob `desc` from `source` to `dest`, verified, atomically.
///
/// On success `dest` holds exactly the verified bytes, or their decompression with
/// [`Decompress::Auto`] when the media type declares zstd or gzip or the verified bytes start
/// with their magic ([`Compression::detect`]; the digest is always checked on the compressed
/// bytes). On failure nothing is at `dest` (an
/// existing file there is left untouched) and the temporary file is removed unless
/// [`DownloadOptions::keep_partial`] is set. See the module docs for cancel safety.
pub async fn download(
    source: &dyn BlobSource,
    desc: &Descriptor,
    dest: &Path,
    opts: &DownloadOptions,
) -> Result<Downloaded, DownloadError> {
    let temp = partial_path(dest, &desc.digest, opts.keep_partial);
    let result = download_inner(source, desc, dest, opts, temp.clone()).await;
    if let Err(e) = &result
        && opts.keep_partial
        && e.is_verification()
    {
        // Content that failed verification is not worth resuming from.
        let _ = std::fs::remove_file(&temp);
    }
    result
}

async fn download_inner(
    source: &dyn BlobSource,
    desc: &Descriptor,
    dest: &Path,
    opts: &DownloadOptions,
    temp: PathBuf,
) -> Result<Downloaded, DownloadError> {
    let digest = &desc.digest;
    let verifier = Verifier::new(digest.clone(), desc.size);
    let ctx = Ctx {
        source,
        desc,
        opts,
        temp: &temp,
    };

    let keep = opts.keep_partial;
    // Armed before the file exists, so a cancellation during the open cannot leak it (the name
    // is unique to this call unless `keep_partial` is set, and then the guard is disarmed).
    let mut guard = TempGuard::new(temp.clone(), keep);
    let temp_for_open = temp.clone();
    let direct = opts.direct_io;
    let opened =
        tokio::task::spawn_blocking(move || open_temp(&temp_for_open, verifier, keep, direct))
            .await;
    let (mut sink, resumed_from) = match opened {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => return Err(ctx.io(FileOp::CreateTemp)(e)),
        Err(_) => {
            return Err(DownloadError::WriterLost {
                digest: digest.clone(),
            });
        }
    };
    ctx.emit(ProgressEvent::Started {
        digest: digest.clone(),
        bytes: resumed_from,
        total: desc.size,
    });
    let compression = match opts.decompress {
        Decompress::Auto => Compression::from_media_type(&desc.media_type),
        _ => None,
    };
    // Decompress while downloading when the bytes will arrive from 0 (see `inflate`).
    let mut inflater = None;
    if let Some(c) = compression
        && resumed_from == 0
    {
        let out = partial_path(dest, digest, false);
        let limits = opts.decompress_limits;
        let size = desc.size;
        let direct = opts.direct_io;
        let started =
            tokio::task::spawn_blocking(move || Inflater::start(c, size, limits, out, direct))
                .await;
        match started {
            Ok(Ok((running, feed))) => {
                sink.feed = Some(feed);
                sink.streamed = true;
                inflater = Some(running);
            }
            Ok(Err(e)) => return Err(ctx.io(FileOp::CreateTemp)(e)),
            Err(_) => {
                return Err(DownloadError::WriterLost {
                    digest: digest.clone(),
                });
            }
        }
    }

    let mut sink = Some(sink);
    let mut attempts = 0u32;
    let mut force_restart = false;
    // Whether the bytes came from more than one body; a digest mismatch then earns one clean
    // restart, since a resumed range (or a kept partial file) may be what went wrong.
    let mut pieced = resumed_from > 0;
    let max_attempts = opts.max_attempts.max(1);
    loop {
        attempts += 1;
        let have = sink.as_ref().map(|s| s.verifier.position()).unwrap_or(0);
        let outcome = if have == desc.size && !force_restart {
            Ok(())
        } else {
            if have > 0 && !force_restart {
                pieced = true;
            }
            ctx.attempt(&mut sink, force_restart, attempts).await
        };
        force_restart = false;
        let failure = match outcome {
            Ok(()) => {
                let Some(done) = sink.take() else {
                    return Err(DownloadError::WriterLost {
                        digest: digest.clone(),
                    });
                };
                let streamed = done.streamed;
                match finish_temp(done, compression.is_none()).await {
                    Ok(file) => {
                        ctx.emit(ProgressEvent::Verified {
                            digest: digest.clone(),
                        });
                        let streamed = inflater.take().map(|i| (i, streamed));
                        let (written, path) =
                            place(&ctx, file, dest, compression, streamed).await?;
                        guard.disarm();
                        ctx.emit(ProgressEvent::Finished {
                            digest: digest.clone(),
                            path: path.clone(),
                        });
                        return Ok(Downloaded {
                            path,
                            digest: digest.clone(),
                            size: desc.size,
                            written: written.0,
                            decompressed: written.1,
                            attempts,
                            resumed_from,
                        });
                    }
                    // A digest mismatch earns a clean restart when the bytes were pieced
                    // together (a resumed range may be what went wrong) or when the source says
                    // another try may give other bytes (another mirror, a byte flipped once).
                    Err(FinishError::Verify(e, back))
                        if attempts < max_attempts
                            && matches!(e, VerifyError::DigestMismatch { .. })
                            && (source.rejected(digest) || pieced) =>
                    {
                        sink = Some(*back);
                        pieced = false;
                        force_restart = true;
                        DownloadError::Verify(e)
                    }
                    Err(FinishError::Verify(e, _)) => return Err(e.into()),
                    Err(FinishError::Io(e)) => return Err(ctx.io(FileOp::Sync)(e)),
                    Err(FinishError::Lost) => {
                        return Err(DownloadError::WriterLost {
                            digest: digest.clone(),
                        });
                    }
                }
            }
            Err(AttemptError::Fatal(e)) => return Err(e),
            Err(AttemptError::Restart(e)) => {
                force_restart = true;
                pieced = false;
                e
            }
            Err(AttemptError::Retry(e)) => {
                if matches!(e, DownloadError::UnexpectedOffset { .. }) {
                    force_restart = true;
                }
                e
            }
        };
        if attempts >= max_attempts {
            return Err(failure);
        }
        let delay = backoff(opts, attempts);
        let from = if force_restart {
            0
        } else {
            sink.as_ref().map(|s| s.verifier.position()).unwrap_or(0)
        };
        ctx.emit(ProgressEvent::Retrying {
            digest: digest.clone(),
            attempt: attempts + 1,
            from,
            delay,
        });
        tokio::time::sleep(delay).await;
    }
}
