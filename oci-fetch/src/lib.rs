//! Resolve, fetch and verify artifacts from OCI registries and image layouts.
//!
//! # Where this sits
//!
//! The top of the library stack: it composes `oci-client` (the protocol), `oci-select` (which
//! artifact) and `oci-ref` (references) into resolve, verified download, pull, push and copy.
//! It never speaks the registry protocol itself and holds no selection rules of its own.
//!
//! The download half is built around one seam, [`source::BlobSource`]: anything that can serve
//! a blob's bytes from an offset (a registry, an [OCI layout](layout::OciLayout), memory).
//! On top of it:
//!
//! - [`verify`]: sans-IO digest + size verification;
//! - [`download`]: one blob to a file, verified in transit, resumed on failure, renamed into
//!   place only after verification, optionally [decompressed](decompress);
//! - [`many`]: several blobs under a concurrency limit, with [`progress`] events;
//! - [`pull`]: an artifact's layers into a directory by title, refusing hostile titles;
//! - [`layout`]: OCI image layouts as a source and as a content-addressed destination;
//! - [`artifact`]: the layer API for downstream crates — resolve a reference (registry with
//!   `registries.conf` sources, or layout), pick a layer by title, media type or annotation,
//!   and read it as a verified stream, an `AsyncRead`, into memory under a cap, into any
//!   `AsyncWrite`, or into a file.
//!
//! **Architecture Invariant:** no file appears at a destination before its digest and size
//! were checked; a failed or cancelled download leaves nothing there.
//!
//! # Example
//!
//! ```
//! use oci_fetch::descriptor::Descriptor;
//! use oci_fetch::download::{DownloadError, DownloadOptions, download};
//! use oci_fetch::source::MemorySource;
//! use oci_ref::digest_of;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let dir = tempfile::tempdir().unwrap();
//! let bytes = b"kernel image".to_vec();
//! let digest = digest_of(oci_ref::Algorithm::Sha256, &bytes);
//! let mut source = MemorySource::new();
//! source.insert(digest.clone(), bytes.clone());
//!
//! let desc = Descriptor::new("application/octet-stream", digest.clone(), bytes.len() as u64);
//! let done = download(&source, &desc, &dir.path().join("vmlinuz"), &DownloadOptions::default())
//!     .await
//!     .unwrap();
//! assert_eq!(done.size, 12);
//!
//! // A descriptor that claims one byte less: refused, and nothing is left behind.
//! let short = Descriptor::new("application/octet-stream", digest, bytes.len() as u64 - 1);
//! let err = download(&source, &short, &dir.path().join("bad"), &DownloadOptions::default())
//!     .await
//!     .unwrap_err();
//! assert!(matches!(err, DownloadError::ContentLength { .. }));
//! assert!(!dir.path().join("bad").exists());
//! # });
//! ```
//!
//! # Cancel safety
//!
//! Every async function here may be dropped at any `.await`, and a process may be killed at any
//! point: a destination holds either its old content or the new verified content, never
//! anything in between, since the rename into place is the last step and is never split across
//! an `.await`. Blocking writer threads stop when their queue closes.
//!
//! What is left beside the destination depends on
//! [`download::DownloadOptions::keep_partial`], for [`download::download`],
//! [`many::download_many`] and [`pull::pull_files`] alike:
//!
//! - off (the default): a dropped or failed download removes its partial file (a guard's
//!   `Drop`); a partial file a killed process left is taken over and started afresh by the next
//!   download of that blob to that place;
//! - on: the partial file stays after a failure or a drop (or a kill), and the next download of
//!   the same blob to the same place re-hashes it and fetches only the rest.
//!
//! Either way each download locks its partial file (two downloads never share one; the second
//! waits) and removes what dead downloads to the same destination left. The lifecycle is in
//! [`download`]'s module docs.
//!
//! # Feature flags
//!
//! - `cli` (default): the `oci-fetch` command-line program. Library users opt out with
//!   `default-features = false`.

#![warn(clippy::missing_errors_doc)]

pub mod artifact;
pub mod copy;
pub mod decompress;
pub mod descriptor;
pub mod download;
pub mod layout;
pub mod many;
pub mod mirror;
pub mod progress;
pub mod publish;
pub mod pull;
pub mod registry;
pub mod resolve;
pub mod source;
pub mod verify;
