//! Putting the verified file in place, decompressing it first if asked.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use oci_ref::media_type::Compression;

use crate::decompress::DecompressError;
use crate::progress::ProgressEvent;

use super::direct::FileWriter;
use super::inflate::Inflater;
use super::*;

/// Moves the verified temporary file into place, decompressing it first if asked: the output of
/// the decompressor that ran during the download when it saw every byte (`inflated`: the
/// inflater and whether it was fed the whole blob), else a pass over the verified file.
/// `compression` is what the media type declared; with [`Decompress::Auto`] and none declared,
/// the verified file's first bytes decide ([`Compression::detect`]).
/// Returns the size written and the compression undone, and the path written.
pub(super) async fn place(
    ctx: &Ctx<'_>,
    file: File,
    dest: &Path,
    compression: Option<Compression>,
    inflated: Option<(Inflater, bool)>,
) -> Result<((u64, Option<Compression>), PathBuf), DownloadError> {
    let digest = &ctx.desc.digest;
    if let Some((inflater, whole)) = inflated {
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
        let Ok((mut guard, result)) = joined else {
            return Err(DownloadError::WriterLost {
                digest: digest.clone(),
            });
        };
        if whole && let Some(compression) = compression {
            let written = match result {
                Ok(n) => n,
                Err(DecompressOrIo::Decompress(source)) => {
                    return Err(DownloadError::Decompress {
                        digest: digest.clone(),
                        source,
                    });
                }
                Err(DecompressOrIo::Io(source)) => {
                    return Err(DownloadError::Io {
                        path: out_path,
                        op: FileOp::Write,
                        source,
                    });
                }
            };
            drop(file);
            let dest = decompressed_dest(ctx, dest, compression);
            std::fs::rename(&out_path, &dest).map_err(|source| DownloadError::Io {
                path: dest.clone(),
                op: FileOp::Rename,
                source,
            })?;
            guard.disarm();
            sync_dir(&parent_dir(&dest));
            let _ = std::fs::remove_file(ctx.temp);
            return Ok(((written, Some(compression)), dest));
        }
        // Not fed the whole blob: its output is void (the guard removes it); decompress the
        // verified file below.
    }
    let compression = match compression {
        Some(c) => Some(c),
        None if ctx.opts.decompress == Decompress::Auto => {
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
        std::fs::rename(ctx.temp, dest).map_err(|source| DownloadError::Io {
            path: dest.to_path_buf(),
            op: FileOp::Rename,
            source,
        })?;
        sync_dir(&parent_dir(dest));
        return Ok(((ctx.desc.size, None), dest.to_path_buf()));
    };

    ctx.emit(ProgressEvent::Decompressing {
        digest: digest.clone(),
    });
    let out_path = partial_path(dest, digest, false);
    let out_guard = TempGuard::new(out_path.clone(), false);
    let temp = ctx.temp.to_path_buf();
    let limits = ctx.opts.decompress_limits;
    let size = ctx.desc.size;
    let out_for_task = out_path.clone();
    let direct = ctx.opts.direct_io;
    let joined =
        tokio::task::spawn_blocking(move || -> Result<u64, (FileOp, PathBuf, DecompressOrIo)> {
            let mut input = file;
            input
                .seek(SeekFrom::Start(0))
                .map_err(|e| (FileOp::ReadPartial, temp.clone(), DecompressOrIo::Io(e)))?;
            let out = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&out_for_task)
                .map_err(|e| {
                    (
                        FileOp::CreateTemp,
                        out_for_task.clone(),
                        DecompressOrIo::Io(e),
                    )
                })?;
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
                .map_err(|e| (FileOp::Write, out_for_task.clone(), DecompressOrIo::Io(e)))?;
            out.sync_all()
                .map_err(|e| (FileOp::Sync, out_for_task.clone(), DecompressOrIo::Io(e)))?;
            Ok(n)
        })
        .await;
    let written = match joined {
        Err(_) => {
            return Err(DownloadError::WriterLost {
                digest: digest.clone(),
            });
        }
        Ok(Err((_, _, DecompressOrIo::Decompress(source)))) => {
            return Err(DownloadError::Decompress {
                digest: digest.clone(),
                source,
            });
        }
        Ok(Err((op, path, DecompressOrIo::Io(source)))) => {
            return Err(DownloadError::Io { path, op, source });
        }
        Ok(Ok(n)) => n,
    };
    let dest = decompressed_dest(ctx, dest, compression);
    std::fs::rename(&out_path, &dest).map_err(|source| DownloadError::Io {
        path: dest.clone(),
        op: FileOp::Rename,
        source,
    })?;
    drop(out_guard);
    sync_dir(&parent_dir(&dest));
    // The compressed temporary file is no longer needed, kept or not.
    let _ = std::fs::remove_file(ctx.temp);
    Ok(((written, Some(compression)), dest))
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
    let mut head = Vec::with_capacity(4);
    let mut f = file;
    f.seek(SeekFrom::Start(0))?;
    f.take(4).read_to_end(&mut head)?;
    Ok(head)
}

pub(super) enum DecompressOrIo {
    Decompress(DecompressError),
    Io(io::Error),
}
