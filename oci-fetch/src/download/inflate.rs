//! Decompression while the download runs: the writer thread hands every chunk it writes to a
//! decompressor thread, which writes the decompressed bytes to their own temporary file.
//!
//! This replaces a second pass over the compressed file after the download (read it back,
//! decompress, write) in the common case: a fresh download whose bytes arrive in order, resumes
//! within the same call included. Whenever the stream of bytes fed is not the blob from byte 0
//! (a restart after bad bytes, a kept partial file of an earlier run), the decompressor's work
//! is thrown away and the verified file is decompressed afterwards, as before. The decompressed
//! file is renamed onto the destination only after the compressed bytes were verified, so the
//! engine's invariant holds: nothing unverified reaches the destination.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use bytes::{Buf, Bytes};

use oci_ref::media_type::Compression;

use crate::decompress::{DecompressLimits, decompress_blocking};

use super::TempGuard;
use super::direct::FileWriter;
use super::place::DecompressOrIo;

/// Chunks queued between the writer thread and the decompressor thread (8: with HTTP chunks of
/// up to a few hundred KiB, a few MiB). The writer blocks when the decompressor falls behind,
/// which slows the network read: memory stays bounded.
pub const INFLATE_QUEUE_DEPTH: usize = 8;

/// The sending end the writer thread feeds.
pub(super) type Feed = SyncSender<Bytes>;

/// A running decompressor thread and its output file.
pub(super) struct Inflater {
    pub(super) out_path: PathBuf,
    guard: TempGuard,
    handle: JoinHandle<Result<(File, u64), DecompressOrIo>>,
}

impl Inflater {
    /// Creates the output file at `out_path` (never following an existing entry) and starts the
    /// thread. Returns the inflater and the feed for the writer.
    pub(super) fn start(
        compression: Compression,
        compressed_size: u64,
        limits: DecompressLimits,
        out_path: PathBuf,
        direct: bool,
    ) -> io::Result<(Inflater, Feed)> {
        let guard = TempGuard::new(out_path.clone(), false);
        let out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&out_path)?;
        let mut writer = FileWriter::new(out, &out_path, 0, direct);
        let (tx, rx) = sync_channel::<Bytes>(INFLATE_QUEUE_DEPTH);
        let handle = std::thread::Builder::new()
            .name("oci-fetch-inflate".to_owned())
            .spawn(move || {
                let input = ChannelReader {
                    rx,
                    current: Bytes::new(),
                };
                let n =
                    decompress_blocking(compression, input, compressed_size, &mut writer, &limits)
                        .map_err(DecompressOrIo::Decompress)?;
                let out = writer.into_file().map_err(DecompressOrIo::Io)?;
                Ok((out, n))
            })?;
        Ok((
            Inflater {
                out_path,
                guard,
                handle,
            },
            tx,
        ))
    }

    /// Waits for the thread (every feed must be dropped first) and returns the output file and
    /// its length; the output file is removed on drop of the returned guard unless disarmed.
    pub(super) fn finish(self) -> (TempGuard, Result<(File, u64), DecompressOrIo>) {
        let result = match self.handle.join() {
            Ok(r) => r,
            Err(_) => Err(DecompressOrIo::Io(io::Error::other(
                "the decompressor thread panicked",
            ))),
        };
        (self.guard, result)
    }
}

/// Reads the chunks sent by the writer; end of input when every sender is gone.
struct ChannelReader {
    rx: Receiver<Bytes>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.recv() {
                Ok(chunk) => self.current = chunk,
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}
