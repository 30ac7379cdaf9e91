//! Pulling an artifact's files into a directory, named by `org.opencontainers.image.title`.
//!
//! Titles come from the registry, so they are hostile input. A title must be a relative path of
//! normal components (`disk.qcow2`, `boot/vmlinuz`): absolute paths, `..`, `.`, empty
//! components, backslashes and NUL are refused, as is any parent directory inside the output
//! directory that is a symlink or not a directory, and a destination that is a symlink. Two
//! layers with the same title are an error. A layer without a title gets a name derived from its
//! digest (`sha256-<hex>`), except a Helm chart: [`resolve`](crate::resolve::resolve) titles an
//! untitled chart layer `<name>-<version>.tgz` from the chart's config, as `helm pull` names
//! the file ([`helm_chart_name`]).
//!
//! All or nothing: if any file fails, the files and directories this pull created are removed
//! again (files it replaced, with [`PullOptions::overwrite`], stay replaced by verified content).
//!
//! # Deviation
//!
//! oras writes pulled files without refusing symlinked parents; we refuse them.
//!
//! # Cancel safety
//!
//! Dropping a [`pull_files`] future cancels the downloads in flight (their partial files are
//! removed, or kept for the next pull to resume with
//! [`DownloadOptions::keep_partial`](crate::download::DownloadOptions::keep_partial)); files
//! already renamed into place by this pull stay.

use oci_ref::media_type::Compression;
use std::collections::{BTreeSet, HashSet};
use std::io;
use std::path::{Component, Path, PathBuf};

use futures_util::StreamExt;

use crate::descriptor::Descriptor;
use crate::download::{DownloadError, DownloadOptions, Downloaded, download};
use crate::many::DEFAULT_CONCURRENCY;
use crate::source::BlobSource;

/// Why a title cannot be used as a file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TitleProblem {
    /// The title is empty.
    Empty,
    /// The title is an absolute path (or has a drive/root prefix).
    Absolute,
    /// The title contains a `..` component.
    ParentComponent,
    /// The title contains a `.` or empty component (`a//b`, `./a`, `a/`).
    EmptyOrDotComponent,
    /// The title contains a backslash (a separator on Windows) or NUL.
    ForbiddenCharacter,
}

impl std::fmt::Display for TitleProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TitleProblem::Empty => "it is empty",
            TitleProblem::Absolute => "it is an absolute path",
            TitleProblem::ParentComponent => "it contains `..`",
            TitleProblem::EmptyOrDotComponent => "it contains an empty or `.` component",
            TitleProblem::ForbiddenCharacter => "it contains a backslash or NUL",
        })
    }
}

/// Why a pull failed. Nothing this pull created is left behind.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PullError {
    /// A title is not a safe relative path.
    #[error("refusing layer title {title:?}: {problem}")]
    UnsafeTitle {
        /// The title.
        title: String,
        /// What is wrong with it.
        problem: TitleProblem,
    },
    /// Two layers have the same file name.
    #[error("two layers are both named {title:?}")]
    DuplicateTitle {
        /// The title.
        title: String,
    },
    /// The destination or one of its parents inside the output directory is a symlink (or a
    /// parent is not a directory).
    #[error("refusing to write {title:?}: {path} is a symlink or not a directory")]
    Symlink {
        /// The title.
        title: String,
        /// The offending path.
        path: PathBuf,
    },
    /// The destination exists and overwriting was not asked for.
    #[error("refusing to overwrite {path} (layer {title:?})")]
    Exists {
        /// The title.
        title: String,
        /// The existing path.
        path: PathBuf,
    },
    /// Creating a directory or inspecting a path failed.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Downloading one file failed.
    #[error("layer {title:?}: {source}")]
    Download {
        /// The title (or derived name).
        title: String,
        /// The error.
        #[source]
        source: DownloadError,
    },
}

/// How a pull behaves.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PullOptions {
    /// Options for each download.
    pub download: DownloadOptions,
    /// Blobs downloaded at once.
    pub concurrency: usize,
    /// Replace existing regular files (never symlinks).
    pub overwrite: bool,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            download: DownloadOptions::default(),
            concurrency: DEFAULT_CONCURRENCY,
            overwrite: false,
        }
    }
}

/// One file of a pull plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    /// The layer.
    pub descriptor: Descriptor,
    /// The file name: the title, or the digest-derived name.
    pub name: String,
    /// The relative path under the output directory.
    pub relative: PathBuf,
}

/// One pulled file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PulledFile {
    /// The file name (title or derived).
    pub name: String,
    /// The download result (path, digest, size).
    pub downloaded: Downloaded,
}

/// The name used for a layer without a title: `<algorithm>-<hex>`.
pub fn untitled_name(descriptor: &Descriptor) -> String {
    format!(
        "{}-{}",
        descriptor.digest.algorithm(),
        descriptor.digest.encoded()
    )
}

/// Why a Helm chart's config cannot name the chart file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HelmConfigProblem {
    /// The config is not a JSON object.
    NotJson,
    /// `name` is missing, empty or not a string.
    Name,
    /// `version` is missing, empty or not a string.
    Version,
    /// `<name>-<version>.tgz` is not a plain file name (a `/`, a control character, `..`, …).
    UnsafeName,
}

impl std::fmt::Display for HelmConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HelmConfigProblem::NotJson => "it is not a JSON object",
            HelmConfigProblem::Name => "it has no chart `name`",
            HelmConfigProblem::Version => "it has no chart `version`",
            HelmConfigProblem::UnsafeName => "`<name>-<version>.tgz` is not a plain file name",
        })
    }
}

/// The file name `helm pull` gives a chart, `<name>-<version>.tgz`, from the chart's config
/// blob ([`HELM_CONFIG`](oci_ref::media_type::HELM_CONFIG): `Chart.yaml` as JSON). The config
/// comes from the registry, so the name must be one plain file name.
///
/// # Errors
///
/// [`HelmConfigProblem`] when the config is not a JSON object, lacks `name` or `version`, or
/// the two make no plain file name.
pub fn helm_chart_name(config: &[u8]) -> Result<String, HelmConfigProblem> {
    let value: serde_json::Value =
        serde_json::from_slice(config).map_err(|_| HelmConfigProblem::NotJson)?;
    if !value.is_object() {
        return Err(HelmConfigProblem::NotJson);
    }
    let field = |key: &str| {
        value
            .get(key)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
    };
    let name = field("name").ok_or(HelmConfigProblem::Name)?;
    let version = field("version").ok_or(HelmConfigProblem::Version)?;
    let file = format!("{name}-{version}.tgz");
    match safe_relative_path(&file) {
        Ok(p) if p.components().count() == 1 && !file.chars().any(char::is_control) => Ok(file),
        _ => Err(HelmConfigProblem::UnsafeName),
    }
}

/// Checks a title and returns it as a relative path.
///
/// # Errors
///
/// A [`TitleProblem`] when the title is empty, absolute, has a `..`, empty or `.` component, or
/// holds a forbidden character (control characters, `\\`, `:` and the like).
pub fn safe_relative_path(title: &str) -> Result<PathBuf, TitleProblem> {
    if title.is_empty() {
        return Err(TitleProblem::Empty);
    }
    if title.contains('\\') || title.contains('\0') {
        return Err(TitleProblem::ForbiddenCharacter);
    }
    if title.starts_with('/') {
        return Err(TitleProblem::Absolute);
    }
    let mut out = PathBuf::new();
    for part in title.split('/') {
        match part {
            ".." => return Err(TitleProblem::ParentComponent),
            "" | "." => return Err(TitleProblem::EmptyOrDotComponent),
            _ => {}
        }
        // A component the platform would read as a prefix or root (`C:` on Windows).
        let mut comps = Path::new(part).components();
        match (comps.next(), comps.next()) {
            (Some(Component::Normal(_)), None) => out.push(part),
            _ => return Err(TitleProblem::Absolute),
        }
    }
    Ok(out)
}

/// Names every layer and checks titles and duplicates, without touching the disk.
///
/// # Errors
///
/// [`PullError::UnsafeTitle`] for a title [`safe_relative_path`] refuses (or a layer without one),
/// [`PullError::DuplicateTitle`] when two layers name the same file.
pub fn plan(layers: &[Descriptor]) -> Result<Vec<PlannedFile>, PullError> {
    let mut seen = HashSet::new();
    let mut planned = Vec::with_capacity(layers.len());
    for d in layers {
        let name = d
            .title()
            .map(str::to_owned)
            .unwrap_or_else(|| untitled_name(d));
        let relative = safe_relative_path(&name).map_err(|problem| PullError::UnsafeTitle {
            title: name.clone(),
            problem,
        })?;
        if !seen.insert(relative.clone()) {
            return Err(PullError::DuplicateTitle { title: name });
        }
        planned.push(PlannedFile {
            descriptor: d.clone(),
            name,
            relative,
        });
    }
    Ok(planned)
}

/// Creates the parents of `relative` under `dir`, refusing symlinks; checks the destination.
/// Returns the destination path and whether it existed.
fn prepare(
    dir: &Path,
    file: &PlannedFile,
    overwrite: bool,
    made_dirs: &mut Vec<PathBuf>,
) -> Result<(PathBuf, bool), PullError> {
    let symlink = |path: PathBuf| PullError::Symlink {
        title: file.name.clone(),
        path,
    };
    let mut at = dir.to_path_buf();
    let parts: Vec<_> = file.relative.components().collect();
    let (last, parents) = match parts.split_last() {
        Some(v) => v,
        None => {
            return Err(PullError::UnsafeTitle {
                title: file.name.clone(),
                problem: TitleProblem::Empty,
            });
        }
    };
    for part in parents {
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(symlink(at)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                std::fs::create_dir(&at).map_err(|source| PullError::Io {
                    path: at.clone(),
                    source,
                })?;
                made_dirs.push(at.clone());
            }
            Err(source) => return Err(PullError::Io { path: at, source }),
        }
    }
    at.push(last);
    match std::fs::symlink_metadata(&at) {
        Ok(m) if m.file_type().is_symlink() || !m.is_file() => Err(symlink(at)),
        Ok(_) if !overwrite => Err(PullError::Exists {
            title: file.name.clone(),
            path: at,
        }),
        Ok(_) => Ok((at, true)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok((at, false)),
        Err(source) => Err(PullError::Io { path: at, source }),
    }
}

/// With decompression and [`DownloadOptions::strip_compression_suffix`](crate::download::DownloadOptions::strip_compression_suffix),
/// a file named `disk.img.zst` may land as `disk.img`: that name gets the same checks as the
/// title (no symlink, no overwrite unless asked).
fn check_decompressed_name(
    file: &PlannedFile,
    dest: &Path,
    opts: &PullOptions,
) -> Result<(), PullError> {
    let d = &opts.download;
    if d.decompress != crate::decompress::Decompress::Auto || !d.strip_compression_suffix {
        return Ok(());
    }
    let Some(c) = dest
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(Compression::from_file_name)
    else {
        return Ok(());
    };
    let stripped = crate::download::decompressed_path(dest, c);
    if stripped == dest {
        return Ok(());
    }
    match std::fs::symlink_metadata(&stripped) {
        Ok(m) if m.file_type().is_symlink() || !m.is_file() => Err(PullError::Symlink {
            title: file.name.clone(),
            path: stripped,
        }),
        Ok(_) if !opts.overwrite => Err(PullError::Exists {
            title: file.name.clone(),
            path: stripped,
        }),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(PullError::Io {
            path: stripped,
            source,
        }),
    }
}

/// Downloads `layers` into `dir` (which must exist), each verified, named by title.
///
/// Returns the files in layer order.
///
/// # Errors
///
/// The errors of [`plan`]; [`PullError::Exists`] or [`PullError::Symlink`] when a destination is in
/// the way, [`PullError::Io`] when a directory cannot be made, [`PullError::Download`] when a layer
/// cannot be downloaded verified. Files already written stay; none is unverified.
pub async fn pull_files(
    source: &dyn BlobSource,
    layers: &[Descriptor],
    dir: &Path,
    opts: &PullOptions,
) -> Result<Vec<PulledFile>, PullError> {
    let planned = plan(layers)?;
    let mut jobs = Vec::with_capacity(planned.len());
    let mut made_dirs = Vec::new();
    for file in &planned {
        match prepare(dir, file, opts.overwrite, &mut made_dirs)
            .and_then(|job| check_decompressed_name(file, &job.0, opts).map(|()| job))
        {
            Ok(job) => jobs.push(job),
            Err(e) => {
                remove_dirs(&made_dirs);
                return Err(e);
            }
        }
    }
    let mut created: BTreeSet<PathBuf> = BTreeSet::new();
    let mut results: Vec<Option<PulledFile>> = vec![None; planned.len()];
    let mut stream = futures_util::stream::iter(planned.iter().zip(&jobs).enumerate())
        .map(|(i, (file, (dest, _)))| async move {
            (
                i,
                download(source, &file.descriptor, dest, &opts.download).await,
            )
        })
        .buffer_unordered(opts.concurrency.max(1));
    let mut failure = None;
    while let Some((i, result)) = stream.next().await {
        match result {
            Ok(downloaded) => {
                if !jobs[i].1 {
                    created.insert(downloaded.path.clone());
                }
                results[i] = Some(PulledFile {
                    name: planned[i].name.clone(),
                    downloaded,
                });
            }
            Err(source) => {
                failure = Some(PullError::Download {
                    title: planned[i].name.clone(),
                    source,
                });
                break;
            }
        }
    }
    drop(stream);
    if let Some(e) = failure {
        for path in created {
            let _ = std::fs::remove_file(path);
        }
        remove_dirs(&made_dirs);
        return Err(e);
    }
    Ok(results.into_iter().flatten().collect())
}

/// Removes directories this pull created, deepest first, if they are empty.
fn remove_dirs(made: &[PathBuf]) {
    for d in made.iter().rev() {
        let _ = std::fs::remove_dir(d);
    }
}
