//! The engine's file writer: appends to a temporary file with direct IO (`O_DIRECT`, past the
//! page cache) where the file system allows it, with plain buffered writes otherwise.
//!
//! Why: on the benchmark machine, copying a GiB into the page cache and writing it back costs
//! about 2 CPU-seconds of kernel time (`dd … conv=fdatasync`: 2.8 s of system time), while the
//! same GiB written with `O_DIRECT` in 1 MiB blocks costs 0.09 s and is already on disk. A
//! download's CPU budget is one hash pass; the page cache was taking more than that.
//!
//! How: the writer keeps one block ([`WRITE_BUFFER`], aligned to [`DIRECT_ALIGN`] in memory) and
//! writes whole aligned blocks through a second handle of the same file opened with
//! `O_DIRECT`. Bytes that cannot go that way — the tail of the file, and the few bytes up to the
//! next aligned offset when a download continues a kept partial file — are written through the
//! plain handle, which is also the one that is truncated, synced and handed on at the end. A
//! file system that refuses `O_DIRECT` (tmpfs, some FUSE and network file systems) gets plain
//! writes and the background writeback of `writeback` instead; so does a direct write that fails
//! with `EINVAL` (an alignment the device does not accept), after which the block is written
//! again the plain way. [`DownloadOptions::direct_io`](super::DownloadOptions::direct_io) turns
//! direct IO off altogether.
//!
//! What is verified is the stream of bytes handed to the writer (hashed before it is written),
//! exactly as with buffered writes; the tests read the files back.

use std::fs::File;
use std::io::{self, Write};
#[cfg(unix)]
use std::os::unix::fs::FileExt as _;
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use super::WRITE_BUFFER;
use super::writeback::Writeback;

/// Alignment of direct writes, in memory and in the file (4 KiB: the logical block size of
/// every common disk, and a multiple of the 512-byte sectors of older ones).
pub const DIRECT_ALIGN: usize = 4096;

/// Blocks per writer: one being filled while the other is written by the IO thread.
const BLOCKS: usize = 2;

/// One [`WRITE_BUFFER`]-sized block, aligned to [`DIRECT_ALIGN`] in memory.
#[derive(Debug)]
struct Block {
    buf: Vec<u8>,
    start: usize,
}

impl Block {
    /// `None` if no aligned window can be found (never on common platforms).
    fn new() -> Option<Block> {
        let buf = vec![0u8; WRITE_BUFFER + DIRECT_ALIGN];
        let start = buf.as_ptr().align_offset(DIRECT_ALIGN);
        (start < DIRECT_ALIGN).then_some(Block { buf, start })
    }

    /// An aligned block if possible, else a plain one (used only for plain writes).
    fn any() -> Block {
        Block::new().unwrap_or(Block {
            buf: vec![0u8; WRITE_BUFFER],
            start: 0,
        })
    }

    /// An empty stand-in while the real block is with the IO thread (never indexed).
    fn placeholder() -> Block {
        Block {
            buf: Vec::new(),
            start: 0,
        }
    }

    fn window(&self) -> &[u8] {
        &self.buf[self.start..self.start + WRITE_BUFFER]
    }

    fn window_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..self.start + WRITE_BUFFER]
    }
}

/// A block of `n` bytes to write at a file offset.
type Job = (Block, usize, u64);

/// The thread that writes full blocks through the direct handle, so that the caller (which
/// hashes) never waits for the disk.
#[derive(Debug)]
struct IoThread {
    to: Option<SyncSender<Job>>,
    back: Receiver<(Block, io::Result<()>)>,
    in_flight: usize,
    spare: Vec<Block>,
    made: usize,
    handle: Option<JoinHandle<()>>,
}

impl IoThread {
    fn start(direct: File, plain: File) -> io::Result<IoThread> {
        let (to, jobs) = sync_channel::<Job>(BLOCKS);
        let (done, back) = sync_channel(BLOCKS);
        let handle = std::thread::Builder::new()
            .name("oci-fetch-io".to_owned())
            .spawn(move || {
                let mut fallen_back = false;
                while let Ok((block, n, pos)) = jobs.recv() {
                    let data = &block.window()[..n];
                    let mut result = if fallen_back {
                        write_at(&plain, data, pos)
                    } else {
                        write_at(&direct, data, pos)
                    };
                    if let Err(e) = &result
                        && e.raw_os_error() == Some(EINVAL)
                        && !fallen_back
                    {
                        // An alignment this device does not take: plain writes from now on.
                        fallen_back = true;
                        result = write_at(&plain, data, pos);
                    }
                    if done.send((block, result)).is_err() {
                        break;
                    }
                }
            })?;
        Ok(IoThread {
            to: Some(to),
            back,
            in_flight: 0,
            spare: Vec::new(),
            made: 1,
            handle: Some(handle),
        })
    }

    /// Queues `block` for writing and returns an empty block to fill next (waiting for one to
    /// come back when all are in flight). An error of an earlier write is returned here.
    fn submit(&mut self, block: Block, n: usize, pos: u64) -> io::Result<Block> {
        let Some(to) = &self.to else {
            return Err(io::Error::other("the direct-IO thread is gone"));
        };
        to.send((block, n, pos))
            .map_err(|_| io::Error::other("the direct-IO thread is gone"))?;
        self.in_flight += 1;
        if let Some(b) = self.spare.pop() {
            return Ok(b);
        }
        if self.made < BLOCKS
            && let Some(b) = Block::new()
        {
            self.made += 1;
            return Ok(b);
        }
        self.receive()
    }

    /// Waits for one block to come back.
    fn receive(&mut self) -> io::Result<Block> {
        let Ok((block, result)) = self.back.recv() else {
            // The thread is gone (it panicked): nothing more will come back.
            self.in_flight = 0;
            return Err(io::Error::other("the direct-IO thread is gone"));
        };
        self.in_flight -= 1;
        result.map(|()| block)
    }

    /// Waits for every queued write; returns the first error.
    fn wait_all(&mut self) -> io::Result<()> {
        let mut first = Ok(());
        while self.in_flight > 0 {
            match self.receive() {
                Ok(b) => self.spare.push(b),
                Err(e) => {
                    if first.is_ok() {
                        first = Err(e);
                    }
                }
            }
        }
        first
    }
}

impl Drop for IoThread {
    fn drop(&mut self) {
        self.to = None;
        // Queued writes finish first; never more than `BLOCKS` of them.
        while self.in_flight > 0 && self.back.recv().is_ok() {
            self.in_flight -= 1;
        }
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Appends to a file from a given offset; see the module docs.
#[derive(Debug)]
pub(super) struct FileWriter {
    /// The plain handle: heads, tails, truncation, sync, and what is handed on.
    file: File,
    /// The IO thread writing through a direct handle, when the file system supports it.
    io: Option<IoThread>,
    /// The block being filled; it starts at file offset `pos`, aligned whenever `io` is set
    /// and the block holds bytes.
    block: Block,
    len: usize,
    pos: u64,
    /// Background writeback, for plain writes only (direct writes are on disk already).
    writeback: Option<Writeback>,
    /// A write failed: every later write or flush fails too.
    failed: bool,
}

impl FileWriter {
    /// A writer appending to `file` (opened at `path`) from offset `pos`. With `direct`, tries
    /// to open a direct handle of the same file; falls back to plain writes silently, since
    /// only speed differs.
    pub(super) fn new(file: File, path: &Path, pos: u64, direct: bool) -> FileWriter {
        let block = Block::new();
        let io = match &block {
            Some(_) if direct => open_direct(&file, path).and_then(|d| {
                let plain = file.try_clone().ok()?;
                IoThread::start(d, plain).ok()
            }),
            _ => None,
        };
        let block = block.unwrap_or_else(Block::any);
        let writeback = match io {
            Some(_) => None,
            None => Writeback::start(&file).ok(),
        };
        FileWriter {
            file,
            io,
            block,
            len: 0,
            pos,
            writeback,
            failed: false,
        }
    }

    /// Whether whole blocks go to the disk directly.
    #[cfg(test)]
    pub(super) fn is_direct(&self) -> bool {
        self.io.is_some()
    }

    /// The file offset after the last byte written so far (buffered bytes included).
    #[cfg(test)]
    pub(super) fn position(&self) -> u64 {
        self.pos + self.len as u64
    }

    /// Drops buffered bytes and truncates the file to nothing: the next write is at offset 0.
    pub(super) fn truncate(&mut self) -> io::Result<()> {
        if let Some(io) = &mut self.io {
            // A queued write landing after the truncation would bring bytes back.
            let _ = io.wait_all();
        }
        self.len = 0;
        self.pos = 0;
        if let Some(w) = &mut self.writeback {
            w.reset();
        }
        self.file.set_len(0)?;
        // A fresh start: earlier failures are about bytes that are gone now.
        self.failed = false;
        Ok(())
    }

    /// Writes every buffered byte, returns the plain handle (positioned at the end) for the
    /// sync and what follows. Stops the writeback thread first, waiting for a running sync.
    pub(super) fn into_file(mut self) -> io::Result<File> {
        self.flush()?;
        if let Some(mut w) = self.writeback.take() {
            w.stop();
        }
        let end = self.pos;
        let mut file = self.file.try_clone()?;
        use std::io::Seek as _;
        file.seek(io::SeekFrom::Start(end))?;
        Ok(file)
    }

    /// Writes the block's bytes: with the IO thread, the aligned part directly and (when
    /// `all`, or the block is not full) the unaligned rest plainly; without it, all plainly.
    fn drain(&mut self, all: bool) -> io::Result<()> {
        if self.failed {
            return Err(io::Error::other("an earlier write to this file failed"));
        }
        let result = self.drain_inner(all);
        if result.is_err() {
            // Bytes may be queued or lost: nothing written after this could be trusted.
            self.failed = true;
            self.len = 0;
        }
        result
    }

    fn drain_inner(&mut self, all: bool) -> io::Result<()> {
        if self.len == 0 {
            return Ok(());
        }
        let len = self.len;
        match &mut self.io {
            Some(io) => {
                let whole = len / DIRECT_ALIGN * DIRECT_ALIGN;
                let rest = len - whole;
                if rest > 0 && !all {
                    return Ok(());
                }
                let tail = self.block.window()[whole..len].to_vec();
                if whole > 0 {
                    let full = std::mem::replace(&mut self.block, Block::placeholder());
                    match io.submit(full, whole, self.pos) {
                        Ok(next) => self.block = next,
                        Err(e) => {
                            // Keep the writer usable for its drop.
                            self.block = Block::any();
                            return Err(e);
                        }
                    }
                }
                if !tail.is_empty() {
                    // Direct writes done before the page cache touches the same pages (which
                    // can overlap where the kernel's pages are larger than `DIRECT_ALIGN`).
                    io.wait_all()?;
                    write_at(&self.file, &tail, self.pos + whole as u64)?;
                }
            }
            None => {
                write_at(&self.file, &self.block.window()[..len], self.pos)?;
                if let Some(w) = &mut self.writeback {
                    w.wrote(len);
                }
            }
        }
        self.pos += len as u64;
        self.len = 0;
        Ok(())
    }

    /// Writes `data` plainly at the current offset (only with nothing buffered).
    fn write_plain_now(&mut self, data: &[u8]) -> io::Result<()> {
        if let Err(e) = write_at(&self.file, data, self.pos) {
            self.failed = true;
            return Err(e);
        }
        self.pos += data.len() as u64;
        Ok(())
    }
}

impl Write for FileWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.failed {
            return Err(io::Error::other("an earlier write to this file failed"));
        }
        if data.is_empty() {
            return Ok(0);
        }
        let misaligned = (self.pos % DIRECT_ALIGN as u64) as usize;
        if self.io.is_some() && self.len == 0 && misaligned != 0 {
            // Up to the next aligned offset the plain way (a continued partial file, or after
            // a flushed tail), so that blocks start aligned.
            let n = (DIRECT_ALIGN - misaligned).min(data.len());
            self.write_plain_now(&data[..n])?;
            return Ok(n);
        }
        let n = data.len().min(WRITE_BUFFER - self.len);
        let at = self.len;
        self.block.window_mut()[at..at + n].copy_from_slice(&data[..n]);
        self.len += n;
        if self.len == WRITE_BUFFER {
            self.drain(false)?;
        }
        Ok(n)
    }

    /// Writes every buffered byte (the tail plainly) and waits for the IO thread.
    fn flush(&mut self) -> io::Result<()> {
        self.drain(true)?;
        let waited = match &mut self.io {
            Some(io) => io.wait_all(),
            None => Ok(()),
        };
        if waited.is_err() {
            self.failed = true;
        }
        waited
    }
}

impl Drop for FileWriter {
    fn drop(&mut self) {
        // As `BufWriter` does: a kept partial file gets what was buffered. Errors cannot be
        // reported here; the bytes are re-hashed before any resume anyway.
        if !self.failed {
            let _ = self.flush();
        }
    }
}

#[cfg(target_os = "linux")]
const EINVAL: i32 = libc::EINVAL;
#[cfg(not(target_os = "linux"))]
const EINVAL: i32 = 22;

#[cfg(unix)]
fn write_at(file: &File, data: &[u8], pos: u64) -> io::Result<()> {
    file.write_all_at(data, pos)
}

#[cfg(not(unix))]
fn write_at(mut file: &File, data: &[u8], pos: u64) -> io::Result<()> {
    use std::io::Seek as _;
    file.seek(io::SeekFrom::Start(pos))?;
    file.write_all(data)
}

/// A second handle of `file` with `O_DIRECT`, opened by `path` without following a symlink and
/// used only when it is the same file (same device and inode); `None` where direct IO is not
/// available.
#[cfg(target_os = "linux")]
fn open_direct(file: &File, path: &Path) -> Option<File> {
    use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
    let direct = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_DIRECT | libc::O_NOFOLLOW)
        .open(path)
        .ok()?;
    let (ours, theirs) = (file.metadata().ok()?, direct.metadata().ok()?);
    (ours.dev() == theirs.dev() && ours.ino() == theirs.ino()).then_some(direct)
}

#[cfg(not(target_os = "linux"))]
fn open_direct(_file: &File, _path: &Path) -> Option<File> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(n: usize, seed: u8) -> Vec<u8> {
        (0..n)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    /// Writes `data` in pieces of `piece` bytes from `from`, reads the file back.
    fn roundtrip(prefix: &[u8], data: &[u8], piece: usize, direct: bool) -> (Vec<u8>, bool) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("f");
        std::fs::write(&path, prefix).expect("write test file");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .expect("open");
        let mut w = FileWriter::new(file, &path, prefix.len() as u64, direct);
        let was_direct = w.is_direct();
        for chunk in data.chunks(piece) {
            w.write_all(chunk).expect("write");
        }
        assert_eq!(w.position(), (prefix.len() + data.len()) as u64);
        let f = w.into_file().expect("into_file");
        f.sync_all().expect("sync");
        drop(f);
        (std::fs::read(&path).expect("read back"), was_direct)
    }

    #[test]
    fn every_byte_lands_whatever_the_offsets_and_pieces() {
        let data = pattern(3 * WRITE_BUFFER + 12_345, 7);
        for prefix_len in [0usize, 1, 4095, 4096, 5000, WRITE_BUFFER + 3] {
            let prefix = pattern(prefix_len, 99);
            for piece in [1usize << 20, 65_536, 4096, 1000, 3 * WRITE_BUFFER + 12_345] {
                for direct in [true, false] {
                    let (read, _) = roundtrip(&prefix, &data, piece, direct);
                    assert_eq!(read.len(), prefix.len() + data.len());
                    assert!(read[..prefix_len] == prefix[..], "prefix {prefix_len}");
                    assert!(
                        read[prefix_len..] == data[..],
                        "prefix {prefix_len}, piece {piece}, direct {direct}"
                    );
                }
            }
        }
    }

    #[test]
    fn direct_io_is_used_where_the_file_system_allows_it() {
        // tempdir is on the same file system as the build; ext4 and xfs take O_DIRECT, tmpfs
        // does not. Either way the bytes must be right, and the answer must match the file
        // system's.
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("probe");
        std::fs::write(&path, b"").expect("write test file");
        #[cfg(target_os = "linux")]
        let supported = {
            use std::os::unix::fs::OpenOptionsExt as _;
            std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_DIRECT)
                .open(&path)
                .is_ok()
        };
        #[cfg(not(target_os = "linux"))]
        let supported = false;
        let (_, direct) = roundtrip(b"", &pattern(WRITE_BUFFER, 1), 4096, true);
        assert_eq!(direct, supported);
        let (_, direct) = roundtrip(b"", &pattern(WRITE_BUFFER, 1), 4096, false);
        assert!(!direct, "direct IO must stay off when not asked for");
    }

    fn create(path: &Path) -> File {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .expect("create")
    }

    #[test]
    fn truncate_starts_over_at_zero() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("f");
        let file = create(&path);
        let mut w = FileWriter::new(file, &path, 0, true);
        w.write_all(&pattern(WRITE_BUFFER + 100, 3)).expect("write");
        w.truncate().expect("truncate");
        let second = pattern(10_000, 4);
        w.write_all(&second).expect("write");
        drop(w.into_file().expect("into_file"));
        assert_eq!(std::fs::read(&path).expect("read back"), second);
    }

    #[test]
    fn a_symlink_at_the_path_is_not_written_through() {
        // The direct handle is opened by path: a path swapped for a symlink after the plain
        // handle was opened must not receive the bytes.
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("f");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"untouched").expect("write test file");
        let file = create(&path);
        let moved = dir.path().join("moved");
        std::fs::rename(&path, &moved).expect("rename");
        #[cfg(unix)]
        std::os::unix::fs::symlink(&victim, &path).expect("symlink");
        let mut w = FileWriter::new(file, &path, 0, true);
        assert!(!w.is_direct());
        w.write_all(&pattern(2 * WRITE_BUFFER, 5)).expect("write");
        drop(w.into_file().expect("into_file"));
        assert_eq!(std::fs::read(&victim).expect("read back"), b"untouched");
        assert_eq!(
            std::fs::read(&moved).expect("read back"),
            pattern(2 * WRITE_BUFFER, 5)
        );
    }

    #[test]
    fn a_failed_write_fails_every_later_write() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("f");
        std::fs::write(&path, b"").expect("write test file");
        // Read-only: the first write to the file fails.
        let file = File::open(&path).expect("open read-only");
        let mut w = FileWriter::new(file, &path, 0, false);
        let first = w.write_all(&pattern(WRITE_BUFFER, 1));
        assert!(first.is_err());
        let later = w.write(b"more").unwrap_err();
        assert!(later.to_string().contains("earlier write"), "{later}");
        assert!(w.flush().is_err());
    }
}
