//! Putting the verified file in place, decompressing it first if asked, and making the result
//! durable: the file is synced before its rename and the directory after it, both before
//! success is reported.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use oci_ref::media_type::Compression;

use crate::decompress::{Decompress, DecompressError};
use crate::progress::ProgressEvent;

use super::direct::FileWriter;
use super::inflate::Inflater;
use super::*;

/// Moves the verified temporary file into place, decompressing it first if asked: the output of
/// the decompressor that ran during the download when it saw every byte (`inflated`: the
/// inflater and whether it was fed the whole blob), else a pass over the verified file.
/// `compression` is what the media type declared; with [`Decompress::Auto`] and none declared,
/// the verified file's first bytes decide ([`Compression::detect`]).
/// `guard` is the partial file's: disarmed once the name no longer holds our file. Returns the
/// size written and the compression undone, and the path written.
pub(super) async fn place(
    ctx: &Ctx<'_>,
    guard: &mut TempGuard,
    file: File,
    dest: &Path,
    compression: Option<Compression>,
    inflated: Option<(Inflater, bool)>,
) -> Result<((u64, Option<Compression>), PathBuf), DownloadError> {
    let compression = match compression {
        Some(c) => Some(c),
        None if ctx.opts.decompress == Decompress::Auto
            && Compression::needs_head(&ctx.desc.media_type) =>
        {
            let head = read_head(&file).map_err(|source| DownloadError::Io {
                path: ctx.temp.to_path_buf(),
                op: FileOp::ReadPartial,
                source,
            })?;
            Compression::detect(&ctx.desc.media_type, &head)
        }
        None => None,
    };
    let Some(compression) = compression else {
        drop(file);
        rename_into_place(ctx.temp, dest)?;
        guard.disarm();
        sync_parent(dest)?;
        return Ok(((ctx.desc.size, None), dest.to_path_buf()));
    };
    let dest = &decompressed_dest(ctx, dest, compression);
    let written = match inflated {
        Some((inflater, true)) => finish_inflater(ctx, inflater, dest).await?,
        Some((void, false)) => {
            // Not fed the whole blob: its output is void; dropping the inflater removes it
            // (before the name is used again below).
            drop(void);
            decompress_into_place(ctx, file, dest, compression).await?
        }
        None => decompress_into_place(ctx, file, dest, compression).await?,
    };
    // The compressed partial file is no longer needed, kept or not.
    guard.discard();
    sync_parent(dest)?;
    Ok(((written, Some(compression)), dest.clone()))
}

/// Where decompressed output goes: `dest`, or `dest` without the suffix of `compression` when
/// [`DownloadOptions::strip_compression_suffix`] asks for it.
fn decompressed_dest(ctx: &Ctx<'_>, dest: &Path, compression: Compression) -> PathBuf {
    if ctx.opts.strip_compression_suffix {
        decompressed_path(dest, compression)
    } else {
        dest.to_path_buf()
    }
}

/// `dest` without the file-name suffix of `compression` (`disk.img.zst` → `disk.img`), or
/// `dest` itself when its name does not end with one.
pub fn decompressed_path(dest: &Path, compression: Compression) -> PathBuf {
    let Some(name) = dest.file_name().and_then(|n| n.to_str()) else {
        return dest.to_path_buf();
    };
    match Compression::strip_suffix(name) {
        Some(stem) if Compression::from_file_name(name) == Some(compression) => {
            dest.with_file_name(stem)
        }
        _ => dest.to_path_buf(),
    }
}

/// The first bytes of the verified file (enough for every magic number).
fn read_head(file: &File) -> io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut head = Vec::with_capacity(crate::source::HEAD_BYTES);
    let mut f = file;
    f.seek(SeekFrom::Start(0))?;
    f.take(crate::source::HEAD_BYTES as u64)
        .read_to_end(&mut head)?;
    Ok(head)
}

fn rename_into_place(from: &Path, dest: &Path) -> Result<(), DownloadError> {
    std::fs::rename(from, dest).map_err(|source| DownloadError::Io {
        path: dest.to_path_buf(),
        op: FileOp::Rename,
        source,
    })
}

/// Syncs the destination's directory, so the rename survives a power cut.
fn sync_parent(dest: &Path) -> Result<(), DownloadError> {
    let dir = parent_dir(dest);
    sync_dir(&dir).map_err(|source| DownloadError::Io {
        path: dir,
        op: FileOp::Sync,
        source,
    })
}

fn decompress_error(ctx: &Ctx<'_>, e: DecompressOrIo, path: PathBuf) -> DownloadError {
    match e {
        DecompressOrIo::Decompress(source) => DownloadError::Decompress {
            digest: ctx.desc.digest.clone(),
            source,
        },
        DecompressOrIo::Io(source) => DownloadError::Io {
            path,
            op: FileOp::Write,
            source,
        },
    }
}

/// Waits for the decompressor that was fed the whole verified blob, syncs its output and
/// renames it into place.
async fn finish_inflater(
    ctx: &Ctx<'_>,
    inflater: Inflater,
    dest: &Path,
) -> Result<u64, DownloadError> {
    let out_path = inflater.out_path.clone();
    let joined = tokio::task::spawn_blocking(move || {
        let (guard, result) = inflater.finish();
        let synced = result.and_then(|(out, n)| {
            out.sync_all().map_err(DecompressOrIo::Io)?;
            Ok(n)
        });
        (guard, synced)
    })
    .await;
    let Ok((mut out_guard, result)) = joined else {
        return Err(ctx.writer_lost());
    };
    let written = result.map_err(|e| decompress_error(ctx, e, out_path.clone()))?;
    rename_into_place(&out_path, dest)?;
    out_guard.disarm();
    Ok(written)
}

/// Decompresses the verified `file` into its own temporary file, syncs it and renames it into
/// place.
async fn decompress_into_place(
    ctx: &Ctx<'_>,
    file: File,
    dest: &Path,
    compression: Compression,
) -> Result<u64, DownloadError> {
    let digest = &ctx.desc.digest;
    ctx.emit(ProgressEvent::Decompressing {
        digest: digest.clone(),
    });
    let out_path = inflate_path(dest, digest);
    let mut out_guard = TempGuard::new(out_path.clone(), false);
    let temp = ctx.temp.to_path_buf();
    let limits = ctx.opts.decompress_limits;
    let size = ctx.desc.size;
    let out_for_task = out_path.clone();
    let direct = ctx.opts.direct_io;
    let joined =
        tokio::task::spawn_blocking(move || -> Result<u64, (FileOp, PathBuf, DecompressOrIo)> {
            let mut input = file;
            let at = |op: FileOp, path: &Path| {
                let path = path.to_path_buf();
                move |e: io::Error| (op, path, DecompressOrIo::Io(e))
            };
            input
                .seek(SeekFrom::Start(0))
                .map_err(at(FileOp::ReadPartial, &temp))?;
            let out = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&out_for_task)
                .map_err(at(FileOp::CreateTemp, &out_for_task))?;
            let mut writer = FileWriter::new(out, &out_for_task, 0, direct);
            let n = crate::decompress::decompress_blocking(
                compression,
                input,
                size,
                &mut writer,
                &limits,
            )
            .map_err(|e| {
                (
                    FileOp::Write,
                    out_for_task.clone(),
                    DecompressOrIo::Decompress(e),
                )
            })?;
            let out = writer
                .into_file()
                .map_err(at(FileOp::Write, &out_for_task))?;
            out.sync_all().map_err(at(FileOp::Sync, &out_for_task))?;
            Ok(n)
        })
        .await;
    let written = match joined {
        Err(_) => return Err(ctx.writer_lost()),
        Ok(Err((_, path, e @ DecompressOrIo::Decompress(_)))) => {
            return Err(decompress_error(ctx, e, path));
        }
        Ok(Err((op, path, DecompressOrIo::Io(source)))) => {
            return Err(DownloadError::Io { path, op, source });
        }
        Ok(Ok(n)) => n,
    };
    rename_into_place(&out_path, dest)?;
    out_guard.disarm();
    Ok(written)
}

pub(super) enum DecompressOrIo {
    Decompress(DecompressError),
    Io(io::Error),
}
