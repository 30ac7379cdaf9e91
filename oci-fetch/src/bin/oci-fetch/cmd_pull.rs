//! `oci-fetch pull`: resolve like `resolve`, then download the chosen blob, verified, into a
//! directory.
//!
//! `-o DIR` is always a directory (created if missing, removed again on failure if this pull
//! created it); files are named by their `org.opencontainers.image.title` (a digest-derived
//! name without one), and hostile titles are refused. What is pulled depends on the rule set
//! that ran (`--explain` names it): a disk image chosen among an index's entries (Ironic's
//! single-layer rule) is one file; every layer is a file for a manifest named by tag (as
//! `oras pull`), for a digest reference, for a selected container image, and for an index entry
//! chosen with `--multi-file` (kernel + ramdisk per architecture). With
//! `--decompress`, zstd and gzip blobs are written decompressed: when the media type says so
//! (`+zstd`, `+gzip`, `application/zstd`, `application/gzip`, `.zst`, `.gz`) or, for a generic
//! type (none, `application/octet-stream`, `oras push`'s default tar), when the bytes start
//! with the zstd or gzip magic (Ironic decides by magic); the digest
//! is verified on the compressed bytes, and a name ending in `.zst`/`.zstd`/`.gz`/`.gzip` loses
//! that suffix.
//!
//! An interrupted or failed pull keeps each file's partial download (`.NAME.<hex>.oci-fetch-partial`
//! in DIR) and the next pull into DIR resumes it; `--no-resume` removes it instead.
//!
//! Progress bars (on stderr) only when stderr is a terminal. `--json` prints
//! `{"manifest_url": …, "manifest_digest": …, "files": [{"path", "digest", "size",
//! "verified": true, "compression", "decompressed_size"}]}` (`compression` and
//! `decompressed_size` are `null` unless the file was decompressed). On failure: exit non-zero, one line on stderr, nothing written.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use oci_fetch::decompress::Decompress;
use oci_fetch::pull::{PullOptions, PulledFile, pull_files};
use serde::Serialize;

use crate::Failure;
use crate::cmd_resolve::{Opened, SelectArgs, open, print_explain, resolve_with, runtime};
use crate::common::GlobalArgs;
use crate::progress;

/// Arguments of `oci-fetch pull`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// A reference (`host/repo:tag`, `oci://host/repo@sha256:…`), or with `--oci-layout` a
    /// layout address.
    reference: String,
    /// Output directory (created if missing); files are named by their title.
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    output: PathBuf,
    #[command(flatten)]
    select: SelectArgs,
    /// Write zstd/gzip blobs decompressed, by media type or magic bytes, without a
    /// `.zst`/`.gz` suffix (the digest is still verified on the compressed bytes).
    #[arg(long)]
    decompress: bool,
    /// Replace existing files.
    #[arg(long)]
    overwrite: bool,
    /// Write through the page cache instead of with direct IO, leaving the files cached for
    /// a program that reads them next (costs more CPU per byte).
    #[arg(long)]
    no_direct_io: bool,
    /// Do not resume: an interrupted or failed download removes its partial file, and a
    /// partial file an earlier run left is discarded. By default a partial file is kept beside
    /// each file, as `.NAME.<12 hex of the digest>.oci-fetch-partial`, and the next pull to the
    /// same directory re-hashes it and fetches only the rest.
    #[arg(long)]
    no_resume: bool,
    /// Print the selection table before pulling.
    #[arg(long)]
    explain: bool,
    /// Print a JSON object listing each file.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: Args, global: &GlobalArgs) -> Result<(), Failure> {
    let policy = args.select.policy()?;
    let rt = runtime()?;
    let (resolved, files) = rt.block_on(async {
        let (opened, target, name) = open(&args.reference, &args.select, global).await?;
        let resolved = resolve_with(&opened, &target, &name, &policy).await?;
        let layers = resolved.files();
        opened.expect_sizes(&layers);
        let files = pull_into(&opened, &layers, &args, global).await?;
        Ok::<_, Failure>((resolved, files))
    })?;
    if args.json {
        let out = PullJson {
            manifest_url: &resolved.manifest_url,
            manifest_digest: resolved.manifest_digest.as_str(),
            files: files
                .iter()
                .map(|f| FileJson {
                    path: f.downloaded.path.display().to_string(),
                    digest: f.downloaded.digest.as_str(),
                    size: f.downloaded.size,
                    verified: true,
                    compression: f.downloaded.decompressed.map(|c| c.as_str()),
                    decompressed_size: f.downloaded.decompressed.map(|_| f.downloaded.written),
                })
                .collect(),
        };
        println!("{}", serde_json::to_string(&out)?);
        return Ok(());
    }
    if args.explain {
        print_explain(&resolved);
    }
    println!("manifest: {}", resolved.manifest_url);
    for f in &files {
        let d = &f.downloaded;
        let how = match d.decompressed {
            Some(c) => format!(", {c} decompressed to {} bytes", d.written),
            None => String::new(),
        };
        println!(
            "pulled {} ({}, {} bytes{how}, verified)",
            d.path.display(),
            d.digest,
            d.size
        );
    }
    Ok(())
}

async fn pull_into(
    opened: &Opened,
    layers: &[oci_fetch::descriptor::Descriptor],
    args: &Args,
    global: &GlobalArgs,
) -> Result<Vec<PulledFile>, Failure> {
    let created = create_dir(&args.output)?;
    let mut opts = PullOptions::default();
    opts.overwrite = args.overwrite;
    opts.download.direct_io = !args.no_direct_io;
    opts.download.keep_partial = !args.no_resume;
    if args.decompress {
        opts.download.decompress = Decompress::Auto;
        opts.download.strip_compression_suffix = true;
    }
    if global.progress(args.json) {
        opts.download.progress = Some(progress::bars(layers.iter().map(|l| {
            let name = l
                .title()
                .map_or_else(|| l.digest.to_string(), str::to_owned);
            (progress::Key::Blob(l.digest.clone()), name)
        })));
    }
    let result = pull_files(opened.blobs(), layers, &args.output, &opts).await;
    match result {
        Ok(files) => Ok(files),
        Err(e) => {
            if let Some(dir) = created {
                let _ = std::fs::remove_dir(dir);
            }
            Err(Failure::Operation(e.into()))
        }
    }
}

/// Creates the output directory (and parents); returns the top directory it created, if any.
fn create_dir(dir: &Path) -> Result<Option<PathBuf>, Failure> {
    if dir.is_dir() {
        return Ok(None);
    }
    let mut top = dir.to_path_buf();
    while let Some(parent) = top.parent() {
        if parent.as_os_str().is_empty() || parent.exists() {
            break;
        }
        top = parent.to_path_buf();
    }
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating output directory {}", dir.display()))
        .map_err(Failure::Operation)?;
    Ok(Some(top))
}

#[derive(Debug, Serialize)]
struct PullJson<'a> {
    manifest_url: &'a str,
    manifest_digest: &'a str,
    files: Vec<FileJson<'a>>,
}

#[derive(Debug, Serialize)]
struct FileJson<'a> {
    path: String,
    digest: &'a str,
    size: u64,
    verified: bool,
    /// The compression undone (`--decompress`), else `null`.
    compression: Option<&'static str>,
    /// The size of the file written when it was decompressed, else `null`.
    decompressed_size: Option<u64>,
}
