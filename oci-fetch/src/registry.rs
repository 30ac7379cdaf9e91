//! A registry-backed source: manifests and blobs fetched through `oci-client`, walking the pull
//! sources of a reference (registries.conf mirrors in file order, then the primary).
//!
//! # Pull sources
//!
//! [`RegistrySource::new`] takes the sources as [`oci_client::registries::RegistriesConf::pull_sources`]
//! returns them; [`RegistrySource::direct`] uses the reference itself as its only source. Every
//! fetch tries the sources in order: a failure that
//! [`oci_client::registries::falls_through`] (not found, connection refused or
//! timed out, content failing digest or size verification) moves on to the next source; any
//! other failure (refused credentials, a protocol violation, a server error) stops at once, so
//! the error the user sees is the one to fix. Each source is its own registry: `oci-client`
//! authenticates per registry by itself. Which source served each manifest and blob is recorded
//! ([`RegistrySource::manifest_served_by`], [`RegistrySource::blob_served_by`]).
//!
//! # Tag listings ask the primary
//!
//! Unlike manifests and blobs, a tag list differs between sources: [`RegistrySource::tags`]
//! asks the primary, and the mirrors only when it cannot be reached (`registry/tags.rs`).
//!
//! # Blobs and dishonest mirrors
//!
//! As a [`BlobSource`], a whole-blob fetch uses `oci-client`'s unverified stream
//! ([`Repository::fetch_blob_unverified`]): the download engine hashes every byte once, as it
//! writes. When the engine finds the bytes wrong it calls [`BlobSource::rejected`]: the source
//! that served them gets a strike for that digest and the engine restarts from byte 0, served
//! by the same source while it has fewer than [`MAX_BAD_BODIES_PER_SOURCE`] strikes (a byte
//! flipped in transit once), otherwise by the next source. How often a reader restarts is
//! `BadBytesRestarts`'s rule, bounded by the sources ([`BlobSource::places`]), not by a retry
//! policy: mirrors serving bad bytes leave the primary its turn. The reader names the sources
//! that served bad bytes by [`BlobSource::place`] (`mirror registry/repository`). When no
//! source is left that could serve the blob and one of them was left for bad bytes, the fetch
//! fails with
//! [`SourceErrorKind::Integrity`] naming it (rather than with the "not found" or connection
//! failure of the others), and the strikes for that digest are forgotten, so a later fetch
//! starts afresh. Sizes registered with [`RegistrySource::expect_size`] let a wrong
//! `Content-Length` fall through before any byte is read.
//!
//! # Request count
//!
//! [`RegistrySource::requests`] counts registry operations (one manifest GET, one blob GET, one
//! range GET for a blob's first bytes), including those at sources that fell through. A token
//! exchange or an automatic retry inside `oci-client` is part of the operation it serves and is
//! not counted separately.
//!
//! # Cancel safety
//!
//! Dropping any future leaves nothing behind; strikes against a source for a digest last until
//! that digest's fetch fails with [`SourceErrorKind::Integrity`].

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use futures_util::StreamExt;
use oci_client::registries::{PullSource, SourceFailure, falls_through};
use oci_client::{BlobStream, Client, Manifest, Repository, TransportKind};
use oci_ref::TagOrDigest;
use oci_ref::{Digest, Reference};
use url::Url;

use crate::source::{BlobBody, BlobSource, BoxFuture, SourceError, SourceErrorKind};

mod restarts;
mod tags;

pub(crate) use restarts::{BadBytesRestarts, sources_tried};
pub use tags::{MirrorListing, TagListing};

/// Largest config blob read into memory to learn a single manifest's platform (1 MiB). Image
/// configs are a few KiB; the cap keeps a hostile registry from making us buffer a disk image.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// How many bodies failing verification one source may serve for one digest before the walk
/// moves past it. Two: a byte corrupted in transit once is retried at the same source (over
/// plain HTTP nothing else catches it), while a source that keeps serving wrong bytes is left
/// after its second.
pub const MAX_BAD_BODIES_PER_SOURCE: u32 = 2;

/// How one `oci-client` failure counts for the source walk.
pub fn classify(error: &oci_client::Error) -> SourceFailure {
    match error {
        _ if error.is_not_found() => SourceFailure::NotFound,
        oci_client::Error::Transport {
            kind: TransportKind::Connect | TransportKind::Timeout | TransportKind::PlainHttpServer,
            ..
        } => SourceFailure::Connection,
        oci_client::Error::DigestMismatch { .. } | oci_client::Error::SizeMismatch { .. } => {
            SourceFailure::Integrity
        }
        _ => SourceFailure::Other,
    }
}

/// The [`SourceErrorKind`] of an `oci-client` failure, for the download engine.
fn source_kind(error: &oci_client::Error) -> SourceErrorKind {
    if error.is_not_found() {
        SourceErrorKind::NotFound
    } else if error.is_unauthorized() {
        SourceErrorKind::Unauthorized
    } else if error.is_retryable() {
        SourceErrorKind::Transient
    } else {
        SourceErrorKind::Permanent
    }
}

/// The [`SourceErrorKind`] of a failed walk of the sources: the kind of the failure that
/// stopped it, else of the last source's (as [`RegistrySource`]'s blob opening reports).
fn walk_kind(error: &PullSourceError) -> SourceErrorKind {
    match error {
        PullSourceError::Stopped { source, .. } => source_kind(source),
        PullSourceError::Exhausted { attempts, .. } => attempts
            .0
            .last()
            .map_or(SourceErrorKind::NotFound, |a| source_kind(&a.error)),
        PullSourceError::NoSources { .. } => SourceErrorKind::NotFound,
        _ => SourceErrorKind::Permanent,
    }
}

/// One source that was tried and failed.
#[derive(Debug)]
#[non_exhaustive]
pub struct SourceAttempt {
    /// The repository asked there, `registry/repository` (what was asked for is the error's
    /// `what`).
    pub reference: String,
    /// Whether it is a mirror.
    pub mirror: bool,
    /// How it failed.
    pub error: oci_client::Error,
}

/// Every source was tried, listed with its failure.
#[derive(Debug)]
pub struct Attempts(pub Vec<SourceAttempt>);

impl fmt::Display for Attempts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            let kind = if a.mirror { "mirror" } else { "primary" };
            write!(f, "{kind} {}: {}", a.reference, a.error)?;
        }
        Ok(())
    }
}

/// `earlier` as the end of a [`PullSourceError::Stopped`] message: ` (tried before: …)`, or
/// nothing when no source was.
struct TriedBefore<'a>(&'a Attempts);

impl fmt::Display for TriedBefore<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.0.is_empty() {
            return Ok(());
        }
        write!(f, " (tried before: {})", self.0)
    }
}

/// Why a fetch through a reference's pull sources failed (named apart from
/// [`oci_client::RegistryError`], a registry's own error body).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PullSourceError {
    /// No source was given.
    #[error("no pull source to fetch {what} from")]
    NoSources {
        /// What was asked for: `manifest <tag>`, `blob <digest>`, `tags`, or `first <n> bytes`
        /// (of a blob the caller names).
        what: String,
    },
    /// A source failed in a way that does not fall through (authentication, protocol, server
    /// error); later sources were not tried.
    #[error("{what} from {reference}: {source}{}", TriedBefore(earlier))]
    Stopped {
        /// What was asked for.
        what: String,
        /// The repository at the failing source, `registry/repository`.
        reference: String,
        /// The failure.
        #[source]
        source: Box<oci_client::Error>,
        /// The sources asked before it, in order, each with its failure (one that fell
        /// through); empty when it was the first asked.
        earlier: Attempts,
    },
    /// Every source failed with a failure that falls through (not found, unreachable, wrong
    /// content).
    #[error("{what}: every source failed: {attempts}")]
    Exhausted {
        /// What was asked for.
        what: String,
        /// Each source, in order, with its failure.
        attempts: Attempts,
    },
    /// A repository handle could not be made for a source (an invalid registry host).
    #[error("{reference}: {source}")]
    Repository {
        /// The source reference.
        reference: String,
        /// Why.
        #[source]
        source: Box<oci_client::Error>,
    },
    /// A config blob is larger than [`MAX_CONFIG_BYTES`].
    #[error("config blob {digest} is {size} bytes, above the limit of {limit}")]
    ConfigTooLarge {
        /// The blob.
        digest: Digest,
        /// Its declared size.
        size: u64,
        /// The limit.
        limit: u64,
    },
}

impl PullSourceError {
    /// Whether every source said the content does not exist.
    pub fn is_not_found(&self) -> bool {
        match self {
            PullSourceError::Exhausted { attempts, .. } => {
                attempts.0.iter().all(|a| a.error.is_not_found())
            }
            PullSourceError::Stopped { source, .. } => source.is_not_found(),
            _ => false,
        }
    }

    /// Whether a source refused the credentials.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, PullSourceError::Stopped { source, .. } if source.is_unauthorized())
    }

    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            PullSourceError::Stopped { source, .. } => source.is_retryable(),
            PullSourceError::Exhausted { attempts, .. } => {
                attempts.0.iter().any(|a| a.error.is_retryable())
            }
            _ => false,
        }
    }
}

/// A source with its repository handle.
#[derive(Debug)]
struct Endpoint {
    source: PullSource,
    repo: Repository,
}

impl Endpoint {
    /// The blob URL at this source.
    fn blob_url(&self, digest: &Digest) -> Url {
        self.repo.blob_url(digest)
    }
}

/// Per-blob state: which source serves it, how often each source served wrong bytes.
#[derive(Debug, Default)]
struct BlobState {
    serving: Option<usize>,
    /// Bodies failing verification, per source index.
    strikes: HashMap<usize, u32>,
    /// The bytes held by the engine came from a body that failed verification: restart from 0.
    suspect: bool,
    /// The last source left for bad bytes, reported when no source is left.
    last_bad: Option<BadBytes>,
}

impl BlobState {
    fn usable(&self, index: usize) -> bool {
        self.strikes.get(&index).copied().unwrap_or(0) < MAX_BAD_BODIES_PER_SOURCE
    }

    fn strike(&mut self, index: usize, bad: BadBytes) {
        *self.strikes.entry(index).or_default() += 1;
        self.suspect = true;
        self.last_bad = Some(bad);
    }
}

/// Why a source was left: it served bytes for a blob that failed verification.
#[derive(Debug, thiserror::Error)]
#[error("{url} served bytes that fail verification{}", detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
pub struct BadBytes {
    /// The blob URL at that source.
    pub url: String,
    /// What `oci-client` saw already in the headers, if it was caught there.
    #[source]
    pub detail: Option<oci_client::Error>,
}

#[derive(Debug)]
struct Shared {
    endpoints: Vec<Endpoint>,
    requests: AtomicU64,
    blobs: Mutex<HashMap<Digest, BlobState>>,
    manifests: Mutex<HashMap<Digest, usize>>,
    sizes: Mutex<HashMap<Digest, u64>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Manifests and blobs of one reference, from its pull sources in order. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RegistrySource {
    reference: Reference,
    shared: Arc<Shared>,
}

impl RegistrySource {
    /// A source over `sources` (mirrors then primary, as registries.conf orders them) for
    /// `reference` (the user's reference, used for URLs in results).
    ///
    /// # Errors
    ///
    /// [`PullSourceError::Repository`] when a source's registry or repository cannot form a request
    /// URL.
    pub fn new(
        client: &Client,
        reference: &Reference,
        sources: Vec<PullSource>,
    ) -> Result<RegistrySource, PullSourceError> {
        let endpoints = sources
            .into_iter()
            .map(|source| {
                let repo = client.repository(&source.reference).map_err(|e| {
                    PullSourceError::Repository {
                        reference: source.reference.to_string(),
                        source: Box::new(e),
                    }
                })?;
                Ok(Endpoint { source, repo })
            })
            .collect::<Result<Vec<_>, PullSourceError>>()?;
        Ok(RegistrySource {
            reference: reference.clone(),
            shared: Arc::new(Shared {
                endpoints,
                requests: AtomicU64::new(0),
                blobs: Mutex::new(HashMap::new()),
                manifests: Mutex::new(HashMap::new()),
                sizes: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// A source with the reference itself as the only pull source (no registries.conf).
    ///
    /// # Errors
    ///
    /// As [`RegistrySource::new`].
    pub fn direct(
        client: &Client,
        reference: &Reference,
    ) -> Result<RegistrySource, PullSourceError> {
        RegistrySource::new(client, reference, direct_sources(reference))
    }

    /// The user's reference.
    pub fn reference(&self) -> &Reference {
        &self.reference
    }

    /// The pull sources, in the order they are tried.
    pub fn sources(&self) -> Vec<&PullSource> {
        self.shared.endpoints.iter().map(|e| &e.source).collect()
    }

    /// Registry operations made so far (see the module docs).
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// `scheme://host/v2/<repo>/blobs/<blob>` at the pull source that served the manifest
    /// `manifest` (a mirror, with registries.conf's namespace rewrite applied), which has the
    /// manifest's blobs; at the first pull source when that manifest was not fetched here
    /// (the source [`RegistrySource::blob_authorization`] answers for). The scheme is `http`
    /// when the client talks plain HTTP to that host. `None` only for a source without pull
    /// sources.
    pub fn blob_url(&self, manifest: &Digest, blob: &Digest) -> Option<Url> {
        self.serving_endpoint(manifest)
            .or_else(|| self.shared.endpoints.first())
            .map(|e| e.blob_url(blob))
    }

    /// The `Authorization` header value for [`RegistrySource::blob_url`] of `manifest`'s
    /// blobs: what this client sends to the source that served `manifest` (Ironic's
    /// `image_request_authorization`, handed to the machine that fetches the URL). `None` when
    /// that source needs none. A secret: redacted in `Debug`; print it only when asked.
    ///
    /// # Errors
    ///
    /// [`PullSourceError::Stopped`] when a token had to be fetched and the exchange failed.
    pub async fn blob_authorization(
        &self,
        manifest: &Digest,
    ) -> Result<Option<oci_auth::Authorization>, PullSourceError> {
        let Some(endpoint) = self
            .serving_endpoint(manifest)
            .or_else(|| self.shared.endpoints.first())
        else {
            return Ok(None);
        };
        endpoint
            .repo
            .pull_authorization()
            .await
            .map_err(|e| PullSourceError::Stopped {
                what: "authorization".to_owned(),
                reference: endpoint.source.reference.name(),
                source: Box::new(e),
                earlier: Attempts(Vec::new()),
            })
    }

    fn serving_endpoint(&self, manifest: &Digest) -> Option<&Endpoint> {
        let i = *lock(&self.shared.manifests).get(manifest)?;
        self.shared.endpoints.get(i)
    }

    /// Registers the size a blob must have, so a source announcing another `Content-Length`
    /// falls through before any byte is read.
    pub fn expect_size(&self, digest: &Digest, size: u64) {
        lock(&self.shared.sizes).insert(digest.clone(), size);
    }

    /// The source that served the manifest `digest`, if it was fetched.
    pub fn manifest_served_by(&self, digest: &Digest) -> Option<&PullSource> {
        self.serving_endpoint(digest).map(|e| &e.source)
    }

    /// The source that served (or is serving) the blob `digest`.
    pub fn blob_served_by(&self, digest: &Digest) -> Option<&PullSource> {
        let i = lock(&self.shared.blobs).get(digest)?.serving?;
        self.shared.endpoints.get(i).map(|e| &e.source)
    }

    /// Fetches a manifest or index by tag or digest (digest-verified by `oci-client`), walking
    /// the sources.
    ///
    /// # Errors
    ///
    /// [`PullSourceError::Exhausted`] when every pull source failed in a way that falls through (not
    /// found, unreachable, wrong content; see [`PullSourceError::is_not_found`]),
    /// [`PullSourceError::Stopped`] when one failed in a way that does not (authentication, protocol,
    /// server error), [`PullSourceError::NoSources`] without sources.
    pub async fn fetch_manifest(&self, target: &TagOrDigest) -> Result<Manifest, PullSourceError> {
        let what = format!("manifest {}", target.as_str());
        let (i, manifest) = self
            .walk(&what, |repo| {
                let target = target.clone();
                async move { repo.fetch_manifest(&target).await }
            })
            .await?;
        lock(&self.shared.manifests).insert(manifest.digest().clone(), i);
        Ok(manifest)
    }

    /// The referrers of `subject` (the API, else the tag schema), from the first source that
    /// lists any: a mirror (a pull-through cache, a partial copy) that has none is no answer
    /// while the sources after it may have them.
    ///
    /// # Errors
    ///
    /// Every source failed, or one failed in a way that does not fall through.
    pub async fn referrers(
        &self,
        subject: &Digest,
    ) -> Result<Vec<crate::descriptor::Descriptor>, PullSourceError> {
        let what = format!("referrers of {subject}");
        let (_, found) = self
            .walk_while(
                &what,
                |repo| {
                    let subject = subject.clone();
                    async move {
                        let found = repo.referrers(&subject, None).await?;
                        Ok(found.descriptors)
                    }
                },
                Vec::is_empty,
            )
            .await?;
        Ok(found)
    }

    /// Reads a small blob (a config) into memory, verified, walking the sources.
    ///
    /// # Errors
    ///
    /// [`PullSourceError::ConfigTooLarge`] when `size` is above [`MAX_CONFIG_BYTES`]; otherwise
    /// [`PullSourceError::Exhausted`] when every pull source failed in a way that falls through (not
    /// found, unreachable, wrong content; see [`PullSourceError::is_not_found`]),
    /// [`PullSourceError::Stopped`] when one failed in a way that does not (authentication, protocol,
    /// server error), [`PullSourceError::NoSources`] without sources.
    pub async fn fetch_small_blob(
        &self,
        digest: &Digest,
        size: u64,
    ) -> Result<Bytes, PullSourceError> {
        if size > MAX_CONFIG_BYTES {
            return Err(PullSourceError::ConfigTooLarge {
                digest: digest.clone(),
                size,
                limit: MAX_CONFIG_BYTES,
            });
        }
        let what = format!("blob {digest}");
        let (_, bytes) = self
            .walk(&what, |repo| {
                let digest = digest.clone();
                async move {
                    let mut out = Vec::new();
                    repo.fetch_blob_to(&digest, Some(size), &mut out).await?;
                    Ok(Bytes::from(out))
                }
            })
            .await?;
        Ok(bytes)
    }

    /// The first `len` bytes of the blob `digest`, unverified: one range request for exactly
    /// those bytes ([`Repository::fetch_blob_prefix`]), walking the sources. What `resolve`
    /// reads to tell a blob's compression ([`crate::source::blob_head`]).
    ///
    /// # Errors
    ///
    /// [`PullSourceError::Exhausted`] when every pull source failed in a way that falls through (not
    /// found, unreachable, a body shorter than `len`; see [`PullSourceError::is_not_found`]),
    /// [`PullSourceError::Stopped`] when one failed in a way that does not (authentication, a
    /// `Content-Range` that does not start at 0, `416`, server error),
    /// [`PullSourceError::NoSources`] without sources.
    pub async fn fetch_blob_prefix(
        &self,
        digest: &Digest,
        len: usize,
    ) -> Result<Bytes, PullSourceError> {
        // The caller names the blob (`ResolveError::BlobHead`); each failed request names its
        // URL, which holds the digest.
        let what = format!("first {len} bytes");
        let (_, prefix) = self
            .walk(&what, |repo| {
                let digest = digest.clone();
                async move { repo.fetch_blob_prefix(&digest, len).await }
            })
            .await?;
        Ok(prefix)
    }

    /// Tries `op` at each source in order until one succeeds or a failure does not fall
    /// through.
    async fn walk<T, F, Fut>(&self, what: &str, op: F) -> Result<(usize, T), PullSourceError>
    where
        F: Fn(Repository) -> Fut,
        Fut: std::future::Future<Output = Result<T, oci_client::Error>>,
    {
        self.walk_while(what, op, |_| false).await
    }

    /// [`walk`](Self::walk), also going on past an answer for which `go_on` holds (an empty
    /// list); the first such answer is the result when no later source gives a better one.
    async fn walk_while<T, F, Fut>(
        &self,
        what: &str,
        op: F,
        go_on: impl Fn(&T) -> bool,
    ) -> Result<(usize, T), PullSourceError>
    where
        F: Fn(Repository) -> Fut,
        Fut: std::future::Future<Output = Result<T, oci_client::Error>>,
    {
        self.walk_in(what, 0..self.shared.endpoints.len(), op, go_on)
            .await
    }

    /// [`walk_while`](Self::walk_while) over the sources at `order` (indices), in that order.
    async fn walk_in<T, F, Fut>(
        &self,
        what: &str,
        order: impl IntoIterator<Item = usize>,
        op: F,
        go_on: impl Fn(&T) -> bool,
    ) -> Result<(usize, T), PullSourceError>
    where
        F: Fn(Repository) -> Fut,
        Fut: std::future::Future<Output = Result<T, oci_client::Error>>,
    {
        let mut attempts = Vec::new();
        let mut weak = None;
        for i in order {
            let Some(endpoint) = self.shared.endpoints.get(i) else {
                continue;
            };
            self.shared.requests.fetch_add(1, Ordering::Relaxed);
            match op(endpoint.repo.clone()).await {
                Ok(v) if go_on(&v) => {
                    weak.get_or_insert((i, v));
                }
                Ok(v) => return Ok((i, v)),
                Err(e) if falls_through(classify(&e)) => attempts.push(SourceAttempt {
                    reference: endpoint.source.reference.name(),
                    mirror: endpoint.source.mirror,
                    error: e,
                }),
                Err(e) => {
                    return Err(PullSourceError::Stopped {
                        what: what.to_owned(),
                        reference: endpoint.source.reference.name(),
                        source: Box::new(e),
                        earlier: Attempts(attempts),
                    });
                }
            }
        }
        if let Some(answer) = weak {
            return Ok(answer);
        }
        if attempts.is_empty() {
            return Err(PullSourceError::NoSources {
                what: what.to_owned(),
            });
        }
        Err(PullSourceError::Exhausted {
            what: what.to_owned(),
            attempts: Attempts(attempts),
        })
    }

    async fn open_blob(&self, digest: &Digest, offset: u64) -> Result<BlobBody, SourceError> {
        let size = lock(&self.shared.sizes).get(digest).copied();
        // Where to start: the source already serving this blob while it is usable; after bad
        // bytes the bytes held are suspect, so the fetch restarts from 0.
        let (first, offset) = {
            let blobs = lock(&self.shared.blobs);
            match blobs.get(digest) {
                Some(state) if state.suspect => (0, 0),
                Some(state) => match state.serving {
                    Some(i) if state.usable(i) => (i, offset),
                    Some(_) => (0, 0),
                    None => (0, offset),
                },
                None => (0, offset),
            }
        };
        let mut last: Option<oci_client::Error> = None;
        for (i, endpoint) in self.shared.endpoints.iter().enumerate().skip(first) {
            if lock(&self.shared.blobs)
                .get(digest)
                .is_some_and(|s| !s.usable(i))
            {
                continue;
            }
            self.shared.requests.fetch_add(1, Ordering::Relaxed);
            let opened = if offset == 0 {
                endpoint.repo.fetch_blob_unverified(digest, size).await
            } else {
                endpoint.repo.fetch_blob_range(digest, offset).await
            };
            match opened {
                Ok(stream) => {
                    {
                        let mut blobs = lock(&self.shared.blobs);
                        let state = blobs.entry(digest.clone()).or_default();
                        state.serving = Some(i);
                        state.suspect = false;
                    }
                    let applied = if offset > 0 && stream.is_partial() {
                        offset
                    } else {
                        0
                    };
                    return Ok(body(stream, applied));
                }
                Err(e) => {
                    let failure = classify(&e);
                    if failure == SourceFailure::Integrity {
                        let bad = BadBytes {
                            url: endpoint.blob_url(digest).to_string(),
                            detail: Some(e),
                        };
                        lock(&self.shared.blobs)
                            .entry(digest.clone())
                            .or_default()
                            .strike(i, bad);
                        continue;
                    }
                    if !falls_through(failure) {
                        return Err(SourceError::new(source_kind(&e), e));
                    }
                    last = Some(e);
                }
            }
        }
        // Every usable source fell through. If some source was left for serving bad bytes, that
        // is the failure to report (the only copy reachable is corrupt); the strikes are
        // forgotten so that a later fetch of this digest starts afresh.
        let last_bad = {
            let mut blobs = lock(&self.shared.blobs);
            match blobs.get(digest) {
                Some(state) if state.last_bad.is_some() => {
                    blobs.remove(digest).and_then(|state| state.last_bad)
                }
                _ => None,
            }
        };
        Err(match (last_bad, last) {
            (Some(e), _) => SourceError::new(SourceErrorKind::Integrity, e),
            (None, Some(e)) => SourceError::new(source_kind(&e), e),
            (None, None) => SourceError::from_kind(SourceErrorKind::NotFound),
        })
    }

    /// The engine found the bytes wrong: a strike for the source serving them; whether a
    /// source is left that may serve other bytes.
    fn reject(&self, digest: &Digest) -> bool {
        let mut blobs = lock(&self.shared.blobs);
        let Some(state) = blobs.get_mut(digest) else {
            return false;
        };
        let Some(i) = state.serving else {
            return false;
        };
        let url = self
            .shared
            .endpoints
            .get(i)
            .map(|e| e.blob_url(digest).to_string())
            .unwrap_or_default();
        state.strike(i, BadBytes { url, detail: None });
        (0..self.shared.endpoints.len()).any(|j| state.usable(j))
    }
}

/// A body from `oci-client` as the engine takes it.
fn body(stream: BlobStream, applied: u64) -> BlobBody {
    let content_length = stream.content_length();
    let out = stream.map(|chunk| chunk.map_err(|e| SourceError::new(source_kind(&e), e)));
    BlobBody {
        stream: Box::pin(out),
        content_length,
        offset_applied: applied,
    }
}

/// The reference itself as its only, secure, primary pull source: what an empty
/// registries.conf gives.
pub fn direct_sources(reference: &Reference) -> Vec<PullSource> {
    oci_client::registries::RegistriesConf::default()
        .pull_sources(reference)
        .unwrap_or_default()
}

/// The hosts among `sources` that registries.conf marks insecure (plain HTTP allowed).
pub fn insecure_hosts(sources: &[PullSource]) -> Vec<String> {
    let mut out: Vec<String> = sources
        .iter()
        .filter(|s| s.insecure)
        .map(|s| s.reference.registry().to_owned())
        .collect();
    out.dedup();
    out
}

impl BlobSource for RegistrySource {
    fn open<'a>(
        &'a self,
        digest: &'a Digest,
        offset: u64,
    ) -> BoxFuture<'a, Result<BlobBody, SourceError>> {
        Box::pin(self.open_blob(digest, offset))
    }

    fn rejected(&self, digest: &Digest) -> bool {
        self.reject(digest)
    }

    fn places(&self) -> usize {
        self.shared.endpoints.len()
    }

    fn place(&self, digest: &Digest) -> Option<String> {
        self.blob_served_by(digest).map(|s| {
            let kind = if s.mirror { "mirror" } else { "primary" };
            format!("{kind} {}", s.reference)
        })
    }

    fn read_prefix<'a>(
        &'a self,
        digest: &'a Digest,
        len: usize,
    ) -> BoxFuture<'a, Result<Bytes, SourceError>> {
        Box::pin(async move {
            self.fetch_blob_prefix(digest, len)
                .await
                .map_err(|e| SourceError::new(walk_kind(&e), e))
        })
    }
}
