//! Several blob downloads at once under a concurrency limit.
//!
//! # Cancel safety
//!
//! Dropping a [`download_many`] future drops every download in flight; each removes its partial
//! file, or keeps it for a later resume with
//! [`DownloadOptions::keep_partial`](crate::download::DownloadOptions::keep_partial) (see
//! [`crate::download`]).

use std::path::PathBuf;

use futures_util::StreamExt;

use crate::descriptor::Descriptor;
use crate::download::{DownloadError, DownloadOptions, Downloaded, download};
use crate::source::BlobSource;

/// Default number of blobs downloaded at once: 3, like oras-go, dockerd and containerd.
pub const DEFAULT_CONCURRENCY: usize = 3;

/// One blob to download and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadJob {
    /// The blob.
    pub descriptor: Descriptor,
    /// The destination file.
    pub dest: PathBuf,
}

/// Downloads every job, at most `concurrency` (at least 1) at a time, and returns the results
/// in job order. A failure does not stop the other jobs; see [`crate::pull`] for all-or-nothing.
pub async fn download_many(
    source: &dyn BlobSource,
    jobs: &[DownloadJob],
    opts: &DownloadOptions,
    concurrency: usize,
) -> Vec<Result<Downloaded, DownloadError>> {
    futures_util::stream::iter(jobs)
        .map(|job| download(source, &job.descriptor, &job.dest, opts))
        .buffered(concurrency.max(1))
        .collect()
        .await
}
