//! The partial file's lifecycle: its name (what it holds and where it goes, never which process
//! writes it), the lock that gives it to one download at a time, re-hashing a kept one, and
//! sweeping away what earlier downloads to the same destination left and no living download
//! owns.
//!
//! The lock is an advisory `flock` on the partial file itself (std's [`File::try_lock`]): the
//! kernel releases it when its holder exits, however it exits (SIGKILL, a crash), so a lock never
//! outlives its owner and needs no pid or stale-lock heuristics. Whoever holds the lock may
//! resume, truncate, rename or remove the file; anyone else leaves it alone.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use oci_ref::Digest;

use crate::verify::Verifier;

use super::REHASH_BUFFER;
use super::direct::FileWriter;
use super::temp::Sink;

/// The partial file suffix; everything this engine leaves behind ends with it.
pub const PARTIAL_SUFFIX: &str = ".oci-fetch-partial";

/// How often a download whose partial file is locked by another download (the same blob to the
/// same destination, in this or another process) looks again whether it is free.
pub const LOCK_POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Hex digits of the digest in a partial file's name: enough to tell blobs apart in one
/// directory, short enough to keep names within file-system limits. A prefix shared by two
/// blobs costs a fresh download, never a wrong file: the final digest check decides.
const NAME_DIGEST_HEX: usize = 12;

/// Marks the decompressed output that belongs to a partial file.
const INFLATING: &str = "inflating";

fn dest_name(dest: &Path) -> String {
    dest.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn short_hex(digest: &Digest) -> &str {
    let hex = digest.encoded();
    &hex[..NAME_DIGEST_HEX.min(hex.len())]
}

/// The partial file of `digest` going to `dest`: `.<dest name>.<12 hex of the digest>` plus
/// [`PARTIAL_SUFFIX`], beside `dest` (so the final rename never crosses file systems). The name
/// is the same for every run, which is what lets a later run find it and resume it.
pub fn partial_path(dest: &Path, digest: &Digest) -> PathBuf {
    let name = dest_name(dest);
    dest.with_file_name(format!(".{name}.{}{PARTIAL_SUFFIX}", short_hex(digest)))
}

/// Where the decompressed output of `digest` going to `dest` is written before its rename.
/// Only the holder of the partial file's lock writes it.
pub(super) fn inflate_path(dest: &Path, digest: &Digest) -> PathBuf {
    let name = dest_name(dest);
    dest.with_file_name(format!(
        ".{name}.{}.{INFLATING}{PARTIAL_SUFFIX}",
        short_hex(digest)
    ))
}

fn open_options(create: bool) -> OpenOptions {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(create);
    // The name is predictable: never follow a symlink planted there.
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    options
}

/// Whether the open `file` is still the one at `path` (not renamed away or removed since).
fn still_at(file: &File, path: &Path) -> io::Result<bool> {
    let theirs = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        let ours = file.metadata()?;
        Ok(ours.dev() == theirs.dev() && ours.ino() == theirs.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = (file, theirs);
        Ok(true)
    }
}

/// Opens `path` (creating it when `create`) and takes its lock without waiting. `None` when
/// another download holds it (or, without `create`, when there is no file).
fn try_lock_at(path: &Path, create: bool) -> io::Result<Option<File>> {
    loop {
        let file = match open_options(create).open(path) {
            Ok(f) => f,
            Err(e) if !create && e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        if !file.metadata()?.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
        if still_at(&file, path)? {
            return Ok(Some(file));
        }
        // Renamed into place or removed by its previous holder between our open and our lock:
        // what we hold is no longer the partial file. Open the name again.
        if !create {
            return Ok(None);
        }
    }
}

/// Opens the partial file at `path`, creating it if missing, and locks it; waits (polling every
/// [`LOCK_POLL_INTERVAL`], cancel-safe) while another download holds it.
pub(super) async fn claim(path: &Path) -> io::Result<File> {
    loop {
        if let Some(file) = try_lock_at(path, true)? {
            return Ok(file);
        }
        tokio::time::sleep(LOCK_POLL_INTERVAL).await;
    }
}

/// Removes `path` if no download holds its lock (or it holds no file we can open).
fn remove_if_unowned(path: &Path) {
    match try_lock_at(path, false) {
        // Removed while locked: nobody can take it up between our check and the removal.
        Ok(Some(_locked)) => {
            let _ = std::fs::remove_file(path);
        }
        Ok(None) => {}
        // Not a regular file, or a symlink planted under our name: take the entry away, never
        // what it points to.
        Err(_) => {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// What an entry beside the destination is, judged by its name.
#[derive(Debug, PartialEq, Eq)]
enum Leftover {
    /// A partial file (of some digest).
    Partial,
    /// The decompressed output belonging to the partial file with this name.
    Inflating(String),
    /// A partial file named by an earlier version after the process that wrote it.
    ByPid(u32),
}

fn is_short_hex(s: &str) -> bool {
    s.len() == NAME_DIGEST_HEX && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Classifies `file_name` as something the engine left for the destination named `name`.
fn leftover(name: &str, file_name: &str) -> Option<Leftover> {
    let middle = file_name
        .strip_prefix('.')?
        .strip_prefix(name)?
        .strip_prefix('.')?
        .strip_suffix(PARTIAL_SUFFIX)?;
    let (hex, rest) = middle.split_once('.').unwrap_or((middle, ""));
    if !is_short_hex(hex) {
        return None;
    }
    if rest.is_empty() {
        return Some(Leftover::Partial);
    }
    if rest == INFLATING {
        return Some(Leftover::Inflating(format!(
            ".{name}.{hex}{PARTIAL_SUFFIX}"
        )));
    }
    let (pid, n) = rest.split_once('-')?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok().map(Leftover::ByPid)
}

/// Whether process `pid` is alive (Linux: `/proc`). Elsewhere a pid-named partial file is
/// assumed to be in use and left alone.
fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

/// Removes what earlier downloads to `dest` left behind and no living download owns: partial
/// files of other blobs whose lock is free, decompressed outputs whose partial file is not
/// locked (or is `ours`: its holder is this download, which starts that output afresh), and
/// pid-named partial files of earlier versions whose process is gone. Best effort: an entry
/// that cannot be removed is left for the next run. `ours` is the partial file this download
/// holds.
pub(super) fn sweep(dest: &Path, ours: &Path) {
    let name = dest_name(dest);
    let dir = super::temp::parent_dir(dest);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path == ours {
            continue;
        }
        let file_name = entry.file_name();
        let Some(kind) = file_name.to_str().and_then(|f| leftover(&name, f)) else {
            continue;
        };
        match kind {
            Leftover::Partial => remove_if_unowned(&path),
            Leftover::Inflating(partial) => {
                let partial = dir.join(partial);
                let held_elsewhere = partial != ours
                    && partial.exists()
                    && matches!(try_lock_at(&partial, false), Ok(None));
                if !held_elsewhere {
                    let _ = std::fs::remove_file(&path);
                }
            }
            Leftover::ByPid(pid) => {
                if !process_alive(pid) {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
    }
}

/// Makes the locked partial `file` at `path` ready to write: with `keep`, its bytes are
/// re-hashed (one pass over every byte already on disk) and the download continues from its
/// end; a file longer than the blob is not trusted and starts over. Without `keep` it starts
/// over. Returns the sink and the bytes taken from disk.
pub(super) fn prepare(
    mut file: File,
    path: &Path,
    mut verifier: Verifier,
    keep: bool,
    direct: bool,
) -> io::Result<(Sink, u64)> {
    let mut len = file.metadata()?.len();
    if !keep || len > verifier.size() {
        file.set_len(0)?;
        len = 0;
    }
    let mut buf = vec![0u8; REHASH_BUFFER.min(usize::try_from(len).unwrap_or(usize::MAX))];
    let mut reader = (&mut file).take(len);
    while verifier.position() < len {
        let n = reader.read(&mut buf)?;
        if n == 0 || verifier.update(&buf[..n]).is_err() {
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
    Ok((Sink::new(writer, verifier), at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftovers_are_recognised_by_name_only_for_their_destination() {
        let hex = "0123456789ab";
        let cases = [
            (
                format!(".disk.img.{hex}{PARTIAL_SUFFIX}"),
                Some(Leftover::Partial),
            ),
            (
                format!(".disk.img.{hex}.inflating{PARTIAL_SUFFIX}"),
                Some(Leftover::Inflating(format!(
                    ".disk.img.{hex}{PARTIAL_SUFFIX}"
                ))),
            ),
            (
                format!(".disk.img.{hex}.4242-0{PARTIAL_SUFFIX}"),
                Some(Leftover::ByPid(4242)),
            ),
            // Another destination whose name starts like this one's.
            (format!(".disk.img.gz.{hex}{PARTIAL_SUFFIX}"), None),
            (format!(".disk.img.{hex}.x{PARTIAL_SUFFIX}"), None),
            (format!(".disk.img.{hex}"), None),
            ("disk.img".to_owned(), None),
        ];
        for (file, expected) in cases {
            assert_eq!(leftover("disk.img", &file), expected, "{file}");
        }
    }

    #[test]
    fn a_partial_file_locked_by_another_holder_is_not_claimed_or_swept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("f");
        let digest = oci_ref::digest_of(oci_ref::Algorithm::Sha256, b"x");
        let path = partial_path(&dest, &digest);
        let held = try_lock_at(&path, true).expect("open").expect("free");
        assert!(try_lock_at(&path, true).expect("open").is_none(), "busy");
        sweep(&dest, &dir.path().join("other"));
        assert!(path.exists(), "a locked partial file survives the sweep");
        drop(held);
        sweep(&dest, &dir.path().join("other"));
        assert!(!path.exists(), "an unlocked one is swept");
    }
}
