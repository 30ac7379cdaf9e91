//! The OCI distribution-spec v1.1 protocol for the `oci-*` workspace.
//!
//! # Where this sits
//!
//! Depends on `oci-ref` (references, digests) and `oci-auth` (credentials and tokens); used by
//! `oci-fetch`. It speaks HTTP to registries: manifests, blobs, tags, referrers, uploads, retries,
//! redirects and `registries.conf` pull sources. It never chooses between artifacts and never
//! writes files.
//!
//! One [`Client`] owns one connection pool (HTTP/2 where the registry offers it over TLS) and one
//! token cache; [`Client::repository`] gives cheap per-repository handles whose methods are the
//! endpoints. Every request goes through the same layers (oras-go's order): retries
//! ([`RetryPolicy`]) around authentication (401 → challenge → retry once) around redirects
//! (followed by hand, capped, `Authorization` dropped on any hop to another origin unless that
//! origin is trusted with [`ClientBuilder::trust_redirect_origin`]).
//!
//! Verification: manifests are size-capped while reading ([`MAX_MANIFEST_BYTES`]) and their
//! digest is checked against the requested digest and `Docker-Content-Digest`; blob streams from
//! [`Repository::fetch_blob`] are hashed in transit and end with an error when digest or size
//! are wrong. [`Repository::fetch_blob_prefix`] reads only a blob's first bytes (unverified, to
//! tell its compression) with one bounded range request, keeping no more than asked for.
//!
//! # Example
//!
//! ```no_run
//! use futures_util::StreamExt;
//! use oci_client::Client;
//! use oci_ref::{Reference, TagOrDigest};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder().plain_http("localhost:5000").build()?;
//! let reference: Reference = "localhost:5000/disks/fedora:42".parse()?;
//! let repo = client.repository(&reference)?;
//! let manifest = repo.fetch_manifest(&reference.target()).await?;
//! println!("{} {}", manifest.digest(), manifest.media_type());
//!
//! // Edge case: a tag that does not exist is a typed "not found", not a generic failure.
//! let missing = repo.fetch_manifest(&TagOrDigest::tag("no-such-tag")?).await;
//! assert!(missing.is_err_and(|e| e.is_not_found()));
//!
//! let tags = repo.tags(Some(100)).await?;
//! # let _ = tags;
//! # Ok(()) }
//! ```
//!
//! # The object model at the boundary
//!
//! Parsed manifests ([`ParsedManifest`]), indexes and referrer descriptors use the workspace's
//! one model, [`oci_ref::model`] ([`Descriptor`], [`ImageManifest`], [`ImageIndex`],
//! [`Platform`]), re-exported here: a deliberate boundary decision, so a caller of this crate
//! alone needs no other import. It is our own model rather than `oci-spec`'s: digests are
//! [`oci_ref::Digest`] (validated once, when parsed), construction needs no builder, one type
//! reads and writes, and the pure `oci-select` can use it too. Raw bytes are always kept beside
//! a parsed manifest ([`Manifest::bytes`]): a manifest is addressed by the bytes received.
//!
//! # Feature flags
//!
//! None. TLS is rustls with the `ring` provider, which [`Client::new`] installs as the process
//! default if no provider is installed yet. Because reqwest is built with `rustls-no-provider`,
//! any other reqwest client built in the same process must be preceded by
//! [`install_crypto_provider`] (reqwest panics otherwise).
//!
//! # Cancel safety
//!
//! Every future may be dropped at any point. What is left behind:
//!
//! - reads (`fetch_*`, `head_*`, `tags`, `catalog`, `referrers`): nothing; the connection is
//!   closed or returned to the pool.
//! - [`Repository::push_blob`], [`Repository::push_blob_chunked`],
//!   [`Repository::push_blob_streamed`], [`Repository::push_blob_while_hashing`],
//!   [`Repository::mount_or_push_blob`], [`Repository::mount_or_push_blob_streamed`]: the open
//!   upload session is cancelled with a `DELETE` spawned on the current runtime
//!   ([`abandoned_uploads_cancelled`] waits for those; a registry that refuses the `DELETE`
//!   expires the session itself); the blob is never half-committed, because only the closing
//!   `PUT` with the digest commits it.
//! - [`Repository::push_manifest`]: the manifest may or may not have been stored; when it has a
//!   subject and the registry has no referrers API, the fallback index may not have been
//!   updated yet. Pushing again is safe (idempotent). [`Repository::add_referrers`]: the index
//!   was written whole or not at all; recording again is safe (entries present are kept).
//! - [`Repository::delete_manifest`] / [`Repository::delete_blob`]: may or may not have happened.
//! - [`BlobStream`]: dropping it mid-way leaves nothing; bytes already yielded are unverified.

#![warn(clippy::missing_errors_doc)]

mod blob;
mod client;
mod config;
mod error;
mod manifest;
mod pager;
mod referrers;
mod repository;
mod retry;
mod session;
mod stream_upload;
mod transport;
mod upload;
mod urls;

pub use blob::{BlobInfo, BlobStream};
pub use client::{Client, install_crypto_provider};
pub use config::{
    ClientBuilder, ClientConfig, DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, DEFAULT_USER_AGENT,
    Limits, MAX_MANIFEST_BYTES, MAX_PAGE_BYTES, MAX_PAGES, MAX_REDIRECTS, RegistryOptions,
};
pub use error::{
    Error, ErrorCode, Limit, MAX_ERROR_BODY_BYTES, MAX_ERROR_ENTRIES, MAX_ERROR_MESSAGE_BYTES,
    Protocol, RegistryError, TransportKind,
};
pub use manifest::{
    MANIFEST_ACCEPT, Manifest, ManifestHead, ParsedManifest, PushedManifest, manifest_accept,
};
pub use oci_ref::model::{ANNOTATION_TITLE, Descriptor, ImageIndex, ImageManifest, Platform};
pub use pager::{next_link, parse_next_link};
pub use referrers::{FallbackEdit, Referrers, ReferrersSource};
pub use repository::Repository;
pub use retry::{
    DEFAULT_INITIAL_BACKOFF, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_BACKOFF, DEFAULT_MAX_TOTAL_WAIT,
    JITTER_FRACTION, RetryPolicy,
};
pub use session::abandoned_uploads_cancelled;
pub use upload::{DEFAULT_CHUNK_BYTES, MAX_CHUNK_BYTES, MAX_STALLED_CHUNK_ATTEMPTS, PushOutcome};

impl Client {
    /// A builder with the default configuration; see [`ClientConfig::builder`].
    pub fn builder() -> ClientBuilder {
        ClientConfig::builder()
    }
}
pub mod registries;
