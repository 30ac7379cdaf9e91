//! Temporary files: the removal guard, the writer thread, and the final sync + verification.
//! (Naming, locking and re-hashing a kept partial file are in `partial`.)

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::verify::{Verifier, VerifyError};

use super::direct::FileWriter;

/// Writes `bytes` to `path` atomically: a new temporary file beside it (never one already there,
/// never through a symlink), written, synced, then renamed over `path`, and the directory
/// synced so the rename survives a crash. Readers see the old file or the whole new one; on
/// failure the temporary file is removed.
///
/// # Errors
///
/// The IO error of the step that failed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    static UNIQUE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = UNIQUE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let suffix = super::PARTIAL_SUFFIX;
    let temp = path.with_file_name(format!(".{name}.{}-{n}{suffix}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&temp, path)?;
        // The rename itself lasts only once the directory is synced.
        match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => sync_dir(dir),
            _ => sync_dir(Path::new(".")),
        }
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// Removes a temporary file on drop unless disarmed; for a partial file, also holds its lock
/// (see `partial`) until after the removal, so nobody takes the file up half-removed.
#[derive(Debug)]
pub(super) struct TempGuard {
    path: PathBuf,
    armed: bool,
    /// Held for its `Drop`: closing the last handle releases the lock.
    _lock: Option<File>,
}

impl TempGuard {
    pub(super) fn new(path: PathBuf, keep: bool) -> TempGuard {
        TempGuard {
            path,
            armed: !keep,
            _lock: None,
        }
    }

    /// A guard for the partial file at `path` whose lock `lock` holds (a handle of the same
    /// open file, so the lock lasts as long as either handle).
    pub(super) fn locked(path: PathBuf, keep: bool, lock: File) -> TempGuard {
        TempGuard {
            path,
            armed: !keep,
            _lock: Some(lock),
        }
    }

    /// The file is no longer there to remove (renamed into place): never touch the name again.
    pub(super) fn disarm(&mut self) {
        self.armed = false;
    }

    /// The file's content is not worth resuming from (bytes in it failed verification): remove
    /// it on failure or cancellation, `keep_partial` or not.
    pub(super) fn arm(&mut self) {
        self.armed = true;
    }

    /// Removes the file now, kept or not (its content is not worth resuming from).
    pub(super) fn discard(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        self.armed = false;
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_file(&self.path);
        }
        // The lock (if any) is released after the removal, when the fields drop.
    }
}

/// The file and verifier, owned by the writer thread during an attempt.
pub(super) struct Sink {
    pub(super) file: FileWriter,
    pub(super) verifier: Verifier,
    /// Where each chunk also goes while decompressing during the download.
    pub(super) feed: Option<super::inflate::Feed>,
    /// Whether every byte from 0 on went to the feed (or the decompressor stopped on its own,
    /// and its result says why); false after a reset, and for a resumed partial file.
    pub(super) streamed: bool,
}

impl Sink {
    pub(super) fn new(file: FileWriter, verifier: Verifier) -> Sink {
        Sink {
            file,
            verifier,
            feed: None,
            streamed: false,
        }
    }

    /// Starts over from byte 0: the verifier, the file (emptied), and the decompressor, which
    /// has seen bytes that are being thrown away (its work is void).
    pub(super) fn reset(&mut self) -> io::Result<()> {
        self.verifier.reset();
        self.feed = None;
        self.streamed = false;
        self.file.truncate()
    }
}

pub(super) enum WriteFailure {
    Verify(VerifyError),
    Io(io::Error),
}

/// A chunk on its way to the writer, holding its share of the queue's byte budget.
pub(super) type Queued = (Bytes, tokio::sync::OwnedSemaphorePermit);

pub(super) fn writer_loop(
    mut sink: Sink,
    reset: bool,
    mut rx: mpsc::UnboundedReceiver<Queued>,
) -> (Sink, Result<(), WriteFailure>) {
    if reset && let Err(e) = sink.reset() {
        return (sink, Err(WriteFailure::Io(e)));
    }
    while let Some((chunk, _permit)) = rx.blocking_recv() {
        if let Err(e) = sink.verifier.update(&chunk) {
            return (sink, Err(WriteFailure::Verify(e)));
        }
        if let Err(e) = sink.file.write_all(&chunk) {
            return (sink, Err(WriteFailure::Io(e)));
        }
        if let Some(feed) = &sink.feed
            && feed.send(chunk).is_err()
        {
            // The decompressor stopped (bad data or a limit); its result says why.
            sink.feed = None;
        }
    }
    let r = sink.file.flush().map_err(WriteFailure::Io);
    (sink, r)
}

/// Syncs a directory, so that a rename into it survives a power cut. Unix only: elsewhere a
/// directory cannot be opened for this, and the call does nothing.
pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

pub(super) fn parent_dir(dest: &Path) -> PathBuf {
    match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

pub(super) enum FinishError {
    /// Verification failed; the sink comes back for a restart.
    Verify(VerifyError, Box<Sink>),
    Io(io::Error),
    Lost,
}

/// Verifies size and digest (of the bytes hashed on their way in), then writes out anything
/// still buffered and syncs the temporary file when it is what will be renamed into place
/// (`sync`; a compressed file decompressed elsewhere needs no durability). On a mismatch the
/// sink comes back for a restart. The feed to a decompressor is dropped here.
pub(super) async fn finish_temp(sink: Sink, sync: bool) -> Result<File, FinishError> {
    let joined = tokio::task::spawn_blocking(move || {
        let Sink { file, verifier, .. } = sink;
        match verifier.clone().finish() {
            Ok(()) => {
                let file = file.into_file().map_err(FinishError::Io)?;
                if sync && let Err(e) = file.sync_all() {
                    return Err(FinishError::Io(e));
                }
                Ok(file)
            }
            Err(e) => Err(FinishError::Verify(e, Box::new(Sink::new(file, verifier)))),
        }
    })
    .await;
    joined.unwrap_or(Err(FinishError::Lost))
}
