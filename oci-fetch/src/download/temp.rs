//! Temporary files: naming, the removal guard, the writer thread, re-hashing a kept partial
//! file, and the final sync + verification.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use oci_ref::Digest;
use tokio::sync::mpsc;

use crate::verify::{Verifier, VerifyError};

use super::direct::FileWriter;

use super::*;

/// Removes a temporary file on drop unless disarmed.
#[derive(Debug)]
pub(super) struct TempGuard {
    path: PathBuf,
    armed: bool,
}

impl TempGuard {
    pub(super) fn new(path: PathBuf, keep: bool) -> TempGuard {
        TempGuard { path, armed: !keep }
    }

    pub(super) fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The temporary file suffix; everything this engine leaves behind ends with it.
pub const PARTIAL_SUFFIX: &str = ".oci-fetch-partial";

pub(super) static UNIQUE: AtomicU64 = AtomicU64::new(0);

/// The path of the temporary file for `digest` going to `dest`. `keep` gives the stable name
/// used for resumable partial files.
pub fn partial_path(dest: &Path, digest: &Digest, keep: bool) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let hex = &digest.encoded()[..12.min(digest.encoded().len())];
    let file = if keep {
        format!(".{name}.{hex}{PARTIAL_SUFFIX}")
    } else {
        let n = UNIQUE.fetch_add(1, Ordering::Relaxed);
        format!(".{name}.{hex}.{}-{n}{PARTIAL_SUFFIX}", std::process::id())
    };
    dest.with_file_name(file)
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
    fn new(file: FileWriter, verifier: Verifier) -> Sink {
        Sink {
            file,
            verifier,
            feed: None,
            streamed: false,
        }
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
    if reset {
        sink.verifier.reset();
        // The decompressor has seen bytes that are being thrown away: its work is void.
        sink.feed = None;
        sink.streamed = false;
        if let Err(e) = sink.file.truncate() {
            return (sink, Err(WriteFailure::Io(e)));
        }
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

/// Opens the temporary file: a kept partial file is re-hashed and continued, otherwise a new
/// file is created (never following a symlink: `create_new` fails on any existing entry).
/// `direct`: write with direct IO where possible (see `direct`).
pub(super) fn open_temp(
    path: &Path,
    mut verifier: Verifier,
    keep: bool,
    direct: bool,
) -> io::Result<(Sink, u64)> {
    if keep {
        // The stable name is predictable: never follow a symlink planted there.
        let mut options = OpenOptions::new();
        options.read(true).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.custom_flags(libc::O_NOFOLLOW);
        }
        match options.open(path) {
            Ok(mut file) => {
                let meta = file.metadata()?;
                if !meta.is_file() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "not a regular file",
                    ));
                }
                let mut len = meta.len();
                if len > verifier.size() {
                    file.set_len(0)?;
                    len = 0;
                }
                let mut buf = vec![0u8; REHASH_BUFFER];
                let mut reader = (&mut file).take(len);
                loop {
                    let n = reader.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    if verifier.update(&buf[..n]).is_err() {
                        break;
                    }
                }
                if verifier.position() != len {
                    // Shrunk under us; start over.
                    verifier.reset();
                    file.set_len(0)?;
                }
                let at = verifier.position();
                // The writer writes at explicit offsets from `at` on.
                let writer = FileWriter::new(file, path, at, direct);
                return Ok((Sink::new(writer, verifier), at));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)?;
    Ok((
        Sink::new(FileWriter::new(file, path, 0, direct), verifier),
        0,
    ))
}

pub(super) fn sync_dir(dir: &Path) {
    // Durability of the rename; best effort (not every platform can open a directory).
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
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
