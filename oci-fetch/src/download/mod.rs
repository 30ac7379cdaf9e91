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
//! # Bad bytes
//!
//! Bytes that fail verification are reported to the source ([`BlobSource::rejected`]: a
//! registry strikes the pull source that served them) and the download starts again from byte 0
//! while the source says another try may give other bytes. Those restarts follow the rule
//! shared with every other reader (`registry::BadBytesRestarts`): at once, spending none of
//! [`DownloadOptions::max_attempts`] (which, with the back-off, paces only resumes of a
//! transfer that broke off), at most places × `MAX_BAD_BODIES_PER_SOURCE` times
//! ([`BlobSource::places`]). So three mirrors serving bad bytes still leave the primary its
//! turn. When none is left the download fails with [`DownloadError::Rejected`], naming every
//! source that served bad bytes.
//!
//! Bad bytes are never kept: the partial file is emptied as soon as they are found, before the
//! source is opened again, and from then on a failure or cancellation removes it, with
//! `keep_partial` or without. Waiting for the next body to empty it would leave a whole file of
//! bad bytes to resume from when that body never comes (the source answers `503` until the
//! attempts run out, refuses access, or the user presses Ctrl-C).
//!
//! A body rejected at open, by the length it announces (`Content-Length` disagreeing with the
//! descriptor's size), wrote nothing: the partial file is neither emptied nor marked for
//! removal then. The next try asks for the blob from byte 0, and the file is emptied once that
//! body opens. If it does not open (the next source answers `503`), the tries after it resume
//! from the prefix as after any transient failure, and the final digest check decides: a
//! prefix that does not verify is dropped as bad bytes and the download starts again from byte
//! 0. If the attempts run out first, a kept prefix stays as it was for the next run to resume —
//! a mirror lying about a length does not cost a 2 GB prefix.
//!
//! # Partial files
//!
//! The bytes go to a partial file beside the destination (so the final rename never crosses
//! file systems), named by what it holds and where it goes, never by the process writing it:
//! `.<dest name>.<12 hex of the digest>.oci-fetch-partial` ([`partial_path`]); a decompressed
//! output is written beside it as `.<dest name>.<12 hex>.inflating.oci-fetch-partial`. Its
//! lifecycle:
//!
//! 1. **Claim.** The download opens the partial file (creating it, never following a symlink)
//!    and takes an advisory lock on it (`flock`). A download of the same blob to the same place
//!    that holds the lock — in this process or another — is waited for, polling every
//!    [`LOCK_POLL_INTERVAL`]: two downloads never share one partial file. The kernel drops the
//!    lock when its holder dies, however it dies, so a lock is never stale.
//! 2. **Sweep.** Leftovers of dead downloads to the same destination are removed: partial files
//!    of other blobs nobody holds (the tag moved on), decompressed outputs whose partial file
//!    nobody holds, and the pid-named partial files of earlier versions whose process is gone.
//! 3. **Resume or start over.** With [`DownloadOptions::keep_partial`] the bytes already in the
//!    partial file are re-hashed (one pass; still one hash over every byte of the blob) and the
//!    download asks the source for the rest with a range. A partial file longer than the blob
//!    is not trusted and starts over. Damage the re-hash cannot see (a flipped byte) is caught by
//!    the final digest check, which then restarts from byte 0 once — even with no attempt left —
//!    so a damaged partial file costs a download, never a failure. Without `keep_partial` the
//!    partial file is emptied and the download starts at byte 0.
//! 4. **Place.** After verification the file is `fsync`'d, renamed onto the destination, and the
//!    directory is `fsync`'d, all before success is reported: a reported download survives a
//!    power cut.
//! 5. **On failure or cancellation** the partial file is removed, unless `keep_partial` is set:
//!    then it stays for the next download of the same blob to the same place — unless bytes
//!    written to it failed verification during this download, or the download ends with a
//!    verification error (see [Bad bytes](#bad-bytes)): then it is removed all the same. After
//!    SIGKILL or a power cut it stays whatever the option; the next download to that
//!    destination resumes it (with `keep_partial`) or takes it over and starts afresh
//!    (without), and sweeps the rest. Nothing is left that the next run does not resume or
//!    remove.
//!
//! # Cancel safety
//!
//! Dropping a [`download`] future removes the partial file (a guard's `Drop`, while still
//! holding its lock) unless `keep_partial` is set and no bytes failed verification, and never
//! leaves anything at the destination: the rename is the last step and is not split across an
//! `.await`. The writer thread notices the closed queue and exits on its own. A future dropped
//! while waiting for another download's lock leaves nothing.

use std::path::{Path, PathBuf};
use std::time::Duration;

use oci_ref::Digest;

use oci_ref::media_type::Compression;

use crate::decompress::{Decompress, DecompressLimits};
use crate::descriptor::Descriptor;
use crate::progress::{ProgressEvent, ProgressSink};
use crate::registry::BadBytesRestarts;
use crate::source::BlobSource;
use crate::verify::{Verifier, VerifyError};

mod attempt;
mod direct;
mod error;
mod inflate;
mod partial;
mod place;
mod temp;
mod writeback;

use attempt::{AttemptError, Ctx, backoff};
pub use direct::DIRECT_ALIGN;
pub use error::{DownloadError, FileOp};
pub use inflate::INFLATE_QUEUE_DEPTH;
use inflate::Inflater;
pub use partial::{LOCK_POLL_INTERVAL, PARTIAL_SUFFIX, partial_path};
use partial::{claim, inflate_path, prepare, sweep};
pub use place::decompressed_path;
use place::place;
pub use temp::write_atomic;
use temp::{
    FinishError, Sink, TempGuard, WriteFailure, finish_temp, parent_dir, sync_dir, writer_loop,
};
pub use writeback::WRITEBACK_INTERVAL_BYTES;

/// Default number of attempts per blob (the first one included). oras-go retries 5 times.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// Default pause before the first retry; doubled for each further retry.
pub const DEFAULT_BACKOFF_INITIAL: Duration = Duration::from_millis(250);

/// Default longest pause between attempts.
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(5);

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
    /// Attempts per blob, the first included (at least 1). A restart after bad bytes at
    /// another place of the source spends none (see the module docs).
    pub max_attempts: u32,
    /// Pause before the first retry.
    pub backoff_initial: Duration,
    /// Longest pause between attempts.
    pub backoff_max: Duration,
    /// Time without progress before an attempt counts as stalled.
    pub stall_timeout: Duration,
    /// Keep the partial file on failure or cancellation and resume from it next time (default
    /// off: a failed download removes it, and a partial file a killed run left is started
    /// over). A download that met bytes failing verification keeps nothing, whatever this says.
    /// See the module docs for the lifecycle.
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
            backoff_max: DEFAULT_MAX_BACKOFF,
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
/// [`Decompress::Auto`] when the media type declares zstd or gzip or, for a generic media type,
/// the verified bytes start with their magic ([`Compression::detect`]; the digest is always checked on the compressed
/// bytes), synced to disk with its directory. On
/// failure nothing is at `dest` (an existing file there is left untouched) and the partial file
/// is removed unless [`DownloadOptions::keep_partial`] is set and no bytes failed verification.
/// A download of the same blob to the same destination that is already running (in this or
/// another process) is waited for.
/// See the module docs for partial files and cancel safety.
///
/// # Errors
///
/// [`DownloadError`]: the source failed on every attempt, the bytes failed verification, a
/// local file operation failed, or decompression failed.
pub async fn download(
    source: &dyn BlobSource,
    desc: &Descriptor,
    dest: &Path,
    opts: &DownloadOptions,
) -> Result<Downloaded, DownloadError> {
    let verifier = Verifier::new(desc.digest.clone(), desc.size);
    let temp = partial_path(dest, &desc.digest);
    let ctx = Ctx {
        source,
        desc,
        opts,
        temp: &temp,
    };
    let (mut guard, sink, resumed_from) = open_partial(&ctx, dest, verifier).await?;
    let result = download_into(&ctx, &mut guard, sink, dest, resumed_from).await;
    if let Err(e) = &result
        && e.is_verification()
    {
        // Content that failed verification is not worth resuming from.
        guard.discard();
    }
    result
}

/// Claims the partial file (waiting while another download holds it), sweeps away what dead
/// downloads to `dest` left, and makes the partial file ready: re-hashed and continued with
/// `keep_partial`, emptied without. Returns its guard (holding the lock), the sink, and the
/// bytes taken from disk.
async fn open_partial(
    ctx: &Ctx<'_>,
    dest: &Path,
    verifier: Verifier,
) -> Result<(TempGuard, Sink, u64), DownloadError> {
    let keep = ctx.opts.keep_partial;
    let file = claim(ctx.temp).await.map_err(ctx.io(FileOp::CreateTemp))?;
    let lock = file.try_clone().map_err(ctx.io(FileOp::CreateTemp))?;
    // Armed (without `keep_partial`) from the moment the file is ours.
    let guard = TempGuard::locked(ctx.temp.to_path_buf(), keep, lock);
    let (temp, dest) = (ctx.temp.to_path_buf(), dest.to_path_buf());
    let direct = ctx.opts.direct_io;
    let prepared = tokio::task::spawn_blocking(move || {
        sweep(&dest, &temp);
        prepare(file, &temp, verifier, keep, direct)
    })
    .await;
    match prepared {
        Ok(Ok((sink, resumed_from))) => Ok((guard, sink, resumed_from)),
        Ok(Err(e)) => Err(ctx.io(FileOp::ReadPartial)(e)),
        Err(_) => Err(ctx.writer_lost()),
    }
}

/// The download proper, into the claimed partial file: attempts until verified, then into place.
async fn download_into(
    ctx: &Ctx<'_>,
    guard: &mut TempGuard,
    mut sink: Sink,
    dest: &Path,
    resumed_from: u64,
) -> Result<Downloaded, DownloadError> {
    let (desc, opts) = (ctx.desc, ctx.opts);
    let digest = &desc.digest;
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
    let inflater = match compression {
        Some(c) if resumed_from == 0 => Some(start_inflater(ctx, &mut sink, dest, c).await?),
        _ => None,
    };
    let (file, attempts, streamed) =
        fetch_verified(ctx, guard, sink, resumed_from, compression.is_none()).await?;
    ctx.emit(ProgressEvent::Verified {
        digest: digest.clone(),
    });
    let inflated = inflater.map(|i| (i, streamed));
    let ((written, decompressed), path) =
        place(ctx, guard, file, dest, compression, inflated).await?;
    ctx.emit(ProgressEvent::Finished {
        digest: digest.clone(),
        path: path.clone(),
    });
    Ok(Downloaded {
        path,
        digest: digest.clone(),
        size: desc.size,
        written,
        decompressed,
        attempts,
        resumed_from,
    })
}

/// Starts the decompressor thread that the writer feeds while the download runs.
async fn start_inflater(
    ctx: &Ctx<'_>,
    sink: &mut Sink,
    dest: &Path,
    compression: Compression,
) -> Result<Inflater, DownloadError> {
    let out = inflate_path(dest, &ctx.desc.digest);
    let out_for_task = out.clone();
    let (limits, size) = (ctx.opts.decompress_limits, ctx.desc.size);
    let direct = ctx.opts.direct_io;
    let started = tokio::task::spawn_blocking(move || {
        Inflater::start(compression, size, limits, out_for_task, direct)
    })
    .await;
    match started {
        Ok(Ok((running, feed))) => {
            sink.feed = Some(feed);
            sink.streamed = true;
            Ok(running)
        }
        Ok(Err(source)) => Err(DownloadError::Io {
            path: out,
            op: FileOp::CreateTemp,
            source,
        }),
        Err(_) => Err(ctx.writer_lost()),
    }
}

/// Attempts until every byte is in and verified; returns the temporary file (synced when
/// `sync`), the attempts used, and whether the decompressor was fed every byte from 0.
///
/// Bytes failing verification strike the source that served them ([`BlobSource::rejected`])
/// and earn a clean restart from byte 0 while the source says another try may give other bytes
/// (another mirror, a byte flipped once), as [`BadBytesRestarts`] allows: at once, spending none
/// of `max_attempts` (which, with the back-off, paces only resumes after a transfer broke off),
/// so mirrors serving bad bytes leave the primary its turn. A digest mismatch also restarts
/// from byte 0, as an attempt, when the bytes were pieced together from more than one body (a
/// resumed range may be what went wrong) — and always once when the first bytes came from a
/// kept partial file, even past `max_attempts`: a partial file that was damaged on disk must
/// not cost the download (nor strike the source). In every case bad bytes that reached the
/// partial file leave it at once (`drop_bad_bytes`); a body rejected at open by its length
/// wrote nothing, and the file is left as it was. When no restart is left the error names the
/// places that served bad bytes ([`DownloadError::Rejected`]).
async fn fetch_verified(
    ctx: &Ctx<'_>,
    guard: &mut TempGuard,
    sink: Sink,
    resumed_from: u64,
    sync: bool,
) -> Result<(std::fs::File, u32, bool), DownloadError> {
    let digest = &ctx.desc.digest;
    let mut budget = ctx.opts.max_attempts.max(1);
    let mut restarts = BadBytesRestarts::new(ctx.source.places());
    let mut sink = Some(sink);
    let mut attempts = 0u32;
    let mut force_restart = false;
    let mut pieced = resumed_from > 0;
    let mut kept_prefix = resumed_from > 0;
    loop {
        attempts += 1;
        // The attempts that count against `max_attempts`: restarts after bad bytes do not.
        let spent = attempts - restarts.made();
        let have = sink.as_ref().map_or(0, |s| s.verifier.position());
        let outcome = if have == ctx.desc.size && !force_restart {
            Ok(())
        } else {
            if have > 0 && !force_restart {
                pieced = true;
            }
            ctx.attempt(&mut sink, force_restart, attempts).await
        };
        // `None`: bad bytes, and another place to read them from: start again at once.
        let failure = match outcome {
            Ok(()) => {
                let done = sink.take().ok_or_else(|| ctx.writer_lost())?;
                let streamed = done.streamed;
                match finish_temp(done, sync).await {
                    Ok(file) => return Ok((file, attempts, streamed)),
                    Err(FinishError::Verify(e, back)) => {
                        if !matches!(e, VerifyError::DigestMismatch { .. }) {
                            return Err(e.into());
                        }
                        sink = Some(*back);
                        drop_bad_bytes(ctx, guard, &mut sink).await?;
                        force_restart = true;
                        let was_pieced = std::mem::take(&mut pieced);
                        if std::mem::take(&mut kept_prefix) {
                            budget = budget.max(spent + 1);
                            Some(DownloadError::Verify(e))
                        } else {
                            let place = ctx.source.place(digest);
                            let again = ctx.source.rejected(digest);
                            if restarts.restart(place, again) {
                                None
                            } else if was_pieced && spent < budget {
                                Some(DownloadError::Verify(e))
                            } else {
                                return Err(rejected(digest, &restarts, e.into()));
                            }
                        }
                    }
                    Err(FinishError::Io(e)) => return Err(ctx.io(FileOp::Sync)(e)),
                    Err(FinishError::Lost) => return Err(ctx.writer_lost()),
                }
            }
            Err(AttemptError::Fatal(e)) => return Err(e),
            Err(AttemptError::BadBytes(bad)) => {
                if bad.written {
                    drop_bad_bytes(ctx, guard, &mut sink).await?;
                }
                if !restarts.restart(ctx.source.place(digest), bad.again) {
                    return Err(rejected(digest, &restarts, bad.error));
                }
                force_restart = true;
                pieced = false;
                None
            }
            Err(AttemptError::Retry(e)) => {
                force_restart = matches!(e, DownloadError::UnexpectedOffset { .. });
                Some(e)
            }
        };
        let delay = match failure {
            None => Duration::ZERO,
            Some(failure) if spent >= budget => return Err(failure),
            Some(_) => backoff(ctx.opts, spent),
        };
        let from = match (force_restart, &sink) {
            (false, Some(s)) => s.verifier.position(),
            _ => 0,
        };
        ctx.emit(ProgressEvent::Retrying {
            digest: digest.clone(),
            attempt: attempts + 1,
            from,
            delay,
        });
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }
}

/// Bytes failed verification: empties the partial file at once, before the source is asked
/// again, and has `guard` remove it if the download then fails or is cancelled, `keep_partial`
/// or not. The bad bytes never wait in the partial file for a next body that may not come (the
/// source answers `503` until the attempts run out, refuses access, or the user presses
/// Ctrl-C), nor are they taken for a complete blob when the next open fails.
async fn drop_bad_bytes(
    ctx: &Ctx<'_>,
    guard: &mut TempGuard,
    sink: &mut Option<Sink>,
) -> Result<(), DownloadError> {
    // Armed first: a future dropped while the file is emptied still removes it.
    guard.arm();
    let mut owned = sink.take().ok_or_else(|| ctx.writer_lost())?;
    let joined = tokio::task::spawn_blocking(move || {
        let reset = owned.reset();
        (owned, reset)
    })
    .await;
    let (owned, reset) = joined.map_err(|_| ctx.writer_lost())?;
    *sink = Some(owned);
    reset.map_err(ctx.io(FileOp::Write))
}

/// The error of bad bytes with no restart left: `error`, naming the places that served bad
/// bytes when the source names them (a registry's pull sources).
fn rejected(digest: &Digest, restarts: &BadBytesRestarts, error: DownloadError) -> DownloadError {
    restarts.naming(error, |sources, error| DownloadError::Rejected {
        digest: digest.clone(),
        sources,
        source: Box::new(error),
    })
}
