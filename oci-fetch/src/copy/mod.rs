//! Copying a manifest graph (an index or manifest, its child manifests, configs and layers, and
//! with [`CopyOptions::referrers`] the whole referrers tree) between registries and OCI
//! layouts, in any direction, like `oras cp [-r]`.
//!
//! One graph walker ([`Copier`]) does every copy: `oci-fetch copy`, `--all-tags`, and each
//! repository of a mirror set ([`crate::mirror`]). It is content-addressed: a manifest the
//! destination has (`HEAD`, or a verified file in a layout) is not sent again and its content
//! is not walked; a blob the destination has is skipped. Blobs go before the manifests that
//! reference them and child manifests before their index, so a registry never sees a manifest
//! whose content is missing; referrers go after their subject; the tags go last. Blobs and
//! manifests are transferred concurrently, at most [`CopyOptions::concurrency`] requests at a
//! time, and each digest once per [`Copier`] even when several manifests name it. Copies that
//! run side by side can share one limit instead ([`RequestLimit`], [`CopyOptions::limit`]): a
//! mirror run's repositories do, so its `--concurrency N` is N requests in all, not N per
//! repository. A request holds its place in the limit only while it runs, never while it waits
//! for another place (a copy waiting on a shared limit could otherwise wait on itself).
//!
//! Large blobs are never held in memory: registry → layout goes through the verified download
//! engine ([`OciLayout::write_blob`]); to a registry, a blob is streamed from its source (a
//! layout file, or the source registry's response) into one streamed upload, verified in
//! passing (the last chunk is held back until digest and size are checked, so a registry never
//! completes an upload of bad bytes); across repositories of one registry it is mounted (a
//! registry that declines the mount gets the bytes in the upload session it opened instead).
//! Only manifests (at most [`MAX_MANIFEST_SIZE`] bytes) are read into memory.
//!
//! A source that breaks off in the middle of a blob is read again from the byte reached (a
//! range request; a source answering with the whole blob has the prefix already sent skipped),
//! feeding the same upload, as [`crate::artifact`]'s layer streams resume, under the attempt
//! limit and back-off of the client's [`oci_client::RetryPolicy`]. A blob whose bytes fail
//! verification is uploaded again from byte 0 only when the source has another place to read
//! it from: with registries.conf pull sources ([`CopyOptions::pull_sources`]) a source that
//! served bad bytes is left for that blob as a pull leaves it, and the next one serves, at once
//! and however many sources come before it (these restarts are bounded by the sources, each
//! allowed [`MAX_BAD_BODIES_PER_SOURCE`](crate::registry::MAX_BAD_BODIES_PER_SOURCE) bad
//! bodies, not by the retry policy); when none is left the copy fails with [`CopyError::Blob`]
//! naming the blob and the sources tried.
//!
//! Each blob transferred is reported to [`DownloadOptions::progress`] (in
//! [`CopyOptions::download`]) by digest; blobs skipped or mounted, and manifests, are not.
//!
//! Referrers are read at the source through the API or the tag schema (whichever it has) and
//! written at the destination as [`CopyOptions::referrers_source`] says (by default: the API when
//! the registry confirms the subject, else the fallback tag; a destination required to have the
//! API that has none is an error, [`CopyError::Destination`]: referrers written there would be
//! findable neither way). They are copied per subject: the destination registry's referrers of
//! the subject are listed once, those it lists are taken as there (only their own referrers are
//! looked for; when the listing is the fallback index, which can name a manifest since deleted,
//! each is looked for with a `HEAD` and pushed again when missing), the others are pushed
//! concurrently without a `HEAD` (a manifest `PUT` is idempotent) and then recorded in the
//! subject's fallback index in one edit ([`oci_client::Repository::add_referrers`], which reads
//! the index right before writing it), where the destination needs one. A referrer the
//! destination has but does not list (a copy interrupted between the push and the edit, or a
//! manifest that is also a node of the graph) is pushed again and listed, so a run after an
//! interruption leaves every referrer listed. A referrer that fails (gone at the source) does
//! not keep the others of its subject, or of other subjects, from being pushed and recorded;
//! the copy then fails with the first error. A layout has each referrer looked for instead.
//!
//! # Cancel safety
//!
//! Dropping the future stops the copy between requests; an upload in flight is cancelled by
//! `oci-client`. What was written is whole and verified (content-addressed), so running the
//! copy again continues where it stopped: referrers pushed but not yet recorded in their
//! subject's fallback index are recorded then.

mod blob;
mod walk;

use std::sync::Arc;

use oci_client::registries::PullSource;
use oci_client::{Client, ReferrersSource};
use oci_ref::{Digest, Reference, Tag, TagOrDigest};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::artifact::LayerError;
use crate::descriptor::Descriptor;
use crate::descriptor::Platform;
use crate::download::DownloadOptions;
use crate::layout::{LayoutAddress, LayoutError, OciLayout};
#[cfg(doc)]
use crate::layout::{MAX_INDEX_DEPTH, MAX_MANIFEST_SIZE};
use crate::registry::{PullSourceError, RegistrySource, TagListing, sources_tried};

use walk::{Dst, Src, Walker};

/// Requests a copy makes at a time unless told otherwise (oras's `--concurrency` default).
pub const DEFAULT_CONCURRENCY: usize = 3;

/// Requests a mirror run ([`crate::mirror`]) makes at a time unless told otherwise: the
/// `oci-fetch mirror` default. A mirror moves many repositories under one limit for the whole
/// run ([`RequestLimit`]) where a copy moves one, so oras's 3, a good number for one copy,
/// starves it: one measurement of 20 artifacts of 64 MiB on a loaded two-core machine took
/// 8.8 s at 3, 6.3 s at 6 and 6.1 s at 9 requests at a time (before the limit was the run's,
/// the default 3 allowed 3 repositories of 3 requests each). [`DEFAULT_CONCURRENCY`] stays
/// `copy`'s.
pub const DEFAULT_MIRROR_CONCURRENCY: usize = 8;

/// Most requests at a time the CLI accepts (`--concurrency`): beyond this a local registry only
/// queues them.
pub const MAX_CONCURRENCY: u16 = 64;

/// The number of requests copies make at a time, shared by every copy given it (a clone is the
/// same limit): [`crate::mirror`] gives one to all the repositories of a run. A transfer counts
/// once, also a blob streamed from one registry into another, whose read and upload run
/// together.
#[derive(Debug, Clone)]
pub struct RequestLimit {
    permits: Arc<Semaphore>,
    requests: usize,
}

impl RequestLimit {
    /// At most `requests` at a time: at least 1, at most [`MAX_CONCURRENCY`] (a larger number
    /// is that limit).
    pub fn new(requests: usize) -> RequestLimit {
        // tokio's semaphore panics beyond its own maximum; ours is far below it.
        let requests = requests.clamp(1, usize::from(MAX_CONCURRENCY));
        RequestLimit {
            permits: Arc::new(Semaphore::new(requests)),
            requests,
        }
    }

    /// The number of requests at a time it allows.
    pub fn requests(&self) -> usize {
        self.requests
    }

    /// A place for one request, given back when dropped. Never awaited while holding another
    /// place: with the limit shared, every place could be held by a copy waiting for one more.
    async fn acquire(&self) -> SemaphorePermit<'_> {
        self.permits
            .acquire()
            .await
            .unwrap_or_else(|_| unreachable!("a request limit's semaphore is never closed"))
    }
}

/// Deepest chain of referrers followed (a referrer of a referrer of … the root). Signatures of
/// SBOMs are depth 2; a hostile chain stops here with [`CopyError::TooDeep`].
pub const MAX_REFERRER_DEPTH: usize = 8;

/// One end of a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// A repository in a registry, with a tag or digest.
    Registry(Reference),
    /// An OCI layout directory, with a tag or digest.
    Layout(LayoutAddress),
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Registry(r) => write!(f, "{r}"),
            Location::Layout(a) => write!(f, "{a}"),
        }
    }
}

/// Which tags the copied root gets at the destination.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum DestinationTags {
    /// The tag in the destination [`Location`] (a registry reference always has one: parsing
    /// adds `latest`), else the source's tag; none for a destination pinned by digest.
    #[default]
    Given,
    /// The source's tag when the source is named by tag; none when it is named by digest (a
    /// digest-only copy moves no tag).
    FromSource,
    /// Exactly these (none: an untagged copy).
    These(Vec<Tag>),
}

/// How to copy.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CopyOptions {
    /// How blobs are written into a destination layout (attempts, stall timeout); its
    /// `progress` sink gets the events of every blob the copy transfers, to a layout or a
    /// registry (see [`crate::progress`]).
    pub download: DownloadOptions,
    /// Requests at a time (at least 1, at most [`MAX_CONCURRENCY`]), unless [`limit`] is given.
    ///
    /// [`limit`]: CopyOptions::limit
    pub concurrency: usize,
    /// A limit shared with other copies: this copy's requests count against it, and
    /// [`concurrency`] is not used. `None`: a limit of its own, of [`concurrency`] requests.
    ///
    /// [`concurrency`]: CopyOptions::concurrency
    pub limit: Option<RequestLimit>,
    /// Follow referrers (and their referrers) of every manifest copied.
    pub referrers: bool,
    /// How referrers are written at a destination registry: fixed to the API or the tag
    /// schema, or (`None`) the fallback index only where the registry does not confirm the
    /// subject. Fixed to the API, a destination without one fails the copy
    /// ([`CopyError::Destination`]) when a subject has referrers to copy, after the graph was
    /// pushed and before any tag moves.
    pub referrers_source: Option<ReferrersSource>,
    /// Copy only the entry of a root index for this platform (the entry becomes the root).
    pub platform: Option<Platform>,
    /// Where a registry source is read from, in order (registries.conf mirrors, then the
    /// primary); `None`: the source reference itself.
    pub pull_sources: Option<Vec<PullSource>>,
    /// The destination tags of [`copy`].
    pub tags: DestinationTags,
}

impl Default for CopyOptions {
    fn default() -> CopyOptions {
        CopyOptions {
            download: DownloadOptions::default(),
            concurrency: DEFAULT_CONCURRENCY,
            limit: None,
            referrers: false,
            referrers_source: None,
            platform: None,
            pull_sources: None,
            tags: DestinationTags::Given,
        }
    }
}

impl CopyOptions {
    /// The limit these options' requests count against: [`CopyOptions::limit`], first set to
    /// one of its own ([`CopyOptions::concurrency`] requests) when `None`, so that whatever is
    /// made with these options from now on shares it.
    pub(crate) fn request_limit(&mut self) -> RequestLimit {
        self.limit
            .get_or_insert_with(|| RequestLimit::new(self.concurrency))
            .clone()
    }
}

/// What a copy did. Counters of several copies add up (`+=`, [`Iterator::sum`]). Serialises
/// (the CLI's `--json` counters, `docs/json.md`) as
/// `{"copied": n, "skipped": n, "mounted": n, "bytes": n, "tagged": n}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct CopyStats {
    /// Blobs and manifests transferred. Each digest counts once, as copied or as skipped: a
    /// manifest found at the destination registry, then pushed again because its subject's
    /// referrers listing did not list it (so that it gets listed), counts as copied.
    pub copied: usize,
    /// Blobs and manifests already at the destination, so not transferred (a manifest pushed
    /// again to get listed as a referrer is not among them).
    pub skipped: usize,
    /// Blobs mounted from the source repository (same registry).
    pub mounted: usize,
    /// Bytes transferred (blobs and manifests).
    pub bytes: u64,
    /// Tags set or moved at the destination (a tag already on the root is not counted).
    pub tagged: usize,
}

impl CopyStats {
    /// Whether nothing was transferred, mounted or tagged: the destination had it all.
    pub fn is_noop(&self) -> bool {
        self.copied == 0 && self.mounted == 0 && self.tagged == 0
    }
}

impl std::ops::AddAssign for CopyStats {
    fn add_assign(&mut self, other: CopyStats) {
        self.copied += other.copied;
        self.skipped += other.skipped;
        self.mounted += other.mounted;
        self.bytes += other.bytes;
        self.tagged += other.tagged;
    }
}

impl std::iter::Sum for CopyStats {
    fn sum<I: Iterator<Item = CopyStats>>(iter: I) -> CopyStats {
        iter.fold(CopyStats::default(), |mut total, s| {
            total += s;
            total
        })
    }
}

/// The result of a copy.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Copied {
    /// The root's descriptor (media type, digest, size).
    pub root: Descriptor,
    /// The tags the root has at the destination because of this copy.
    pub tags: Vec<Tag>,
    /// Counters of this root's copy.
    pub stats: CopyStats,
}

/// Why a copy failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CopyError {
    /// The source layout address names neither a tag nor a digest.
    #[error("{address}: name a tag or digest to copy (DIR:TAG or DIR@DIGEST)")]
    NoSourceTarget {
        /// The address given.
        address: String,
    },
    /// The destination pins a digest other than the source root's.
    #[error("destination digest {destination} differs from the source's {source_digest}")]
    DigestMismatch {
        /// The digest in the destination address.
        destination: Digest,
        /// The source root's digest.
        source_digest: Digest,
    },
    /// The root index has no entry for the platform asked for.
    #[error("index {digest} has no entry for platform {platform}")]
    NoSuchPlatform {
        /// The index.
        digest: Digest,
        /// The platform asked for, `OS/ARCH[/VARIANT]`.
        platform: String,
    },
    /// Indexes nest deeper than [`MAX_INDEX_DEPTH`], or referrers chain deeper than
    /// [`MAX_REFERRER_DEPTH`].
    #[error("{digest}: the graph nests deeper than {limit} levels")]
    TooDeep {
        /// The manifest at the limit.
        digest: Digest,
        /// The limit.
        limit: usize,
    },
    /// A manifest does not parse.
    #[error("manifest {digest}: invalid JSON: {message}")]
    InvalidManifest {
        /// The manifest.
        digest: Digest,
        /// The parser's message.
        message: String,
    },
    /// A manifest's bytes (verified against its digest) are not the size its descriptor
    /// declared: the descriptor that named it lies.
    #[error("manifest {digest}: {actual} bytes, its descriptor says {declared}")]
    ManifestSize {
        /// The manifest.
        digest: Digest,
        /// The size the descriptor declared.
        declared: u64,
        /// The size of its bytes.
        actual: u64,
    },
    /// A layout operation failed.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// Fetching from the source registry failed.
    #[error(transparent)]
    Registry(#[from] PullSourceError),
    /// A blob could not be read whole and verified from the source: it stayed unreachable
    /// after the resumes it was worth, or its bytes failed verification at every place the
    /// source could read it from. Nothing of it was stored at the destination.
    #[error("{source}{}", sources_tried(sources))]
    Blob {
        /// The blob.
        digest: Digest,
        /// The places that served its bytes, in the order they were tried: each pull source
        /// (`mirror HOST/REPO`, `primary HOST/REPO`), or the source layout's directory.
        sources: Vec<String>,
        /// The last failure.
        #[source]
        source: Box<LayerError>,
    },
    /// A request to the destination registry failed.
    #[error("{what} at {reference}: {source}")]
    Destination {
        /// What was being done: `HEAD blob <digest>`, `mount blob <digest>`, `push blob
        /// <digest>`, `push manifest <digest>`…
        what: String,
        /// The destination repository.
        reference: String,
        /// The failure.
        #[source]
        source: Box<oci_client::Error>,
    },
}

impl CopyError {
    /// Whether the failure is the caller's input (bad address, digest mismatch) rather than an
    /// operation that failed.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            CopyError::NoSourceTarget { .. } | CopyError::DigestMismatch { .. }
        )
    }
}

/// A copy between two repositories (or layouts): open once, then copy any number of roots
/// ([`Copier::copy`]); a digest is transferred at most once per copier.
#[derive(Debug)]
pub struct Copier {
    walker: Arc<Walker>,
}

impl Copier {
    /// Opens the source repository of `from` and the destination of `to` (their tags and
    /// digests are not used here; a destination layout is created when missing). `client`
    /// talks to every registry involved (configure plain HTTP and credentials on it).
    ///
    /// # Errors
    ///
    /// A source layout that cannot be opened, a destination layout that cannot be created, a
    /// registry name the client refuses.
    pub async fn open(
        client: &Client,
        from: &Location,
        to: &Location,
        opts: &CopyOptions,
    ) -> Result<Copier, CopyError> {
        let src = open_source(client, from, opts).await?;
        Copier::with_source(client, src, from, to, opts).await
    }

    async fn with_source(
        client: &Client,
        src: Src,
        from: &Location,
        to: &Location,
        opts: &CopyOptions,
    ) -> Result<Copier, CopyError> {
        let (dst, mount_from) = match to {
            Location::Registry(reference) => {
                let mut repo = client
                    .repository(reference)
                    .map_err(walk::dst_error("open repository".to_owned(), reference))?;
                if let Some(source) = opts.referrers_source {
                    repo = repo.with_referrers_source(source);
                }
                let mount_from = match from {
                    Location::Registry(s)
                        if s.registry() == reference.registry()
                            && s.repository() != reference.repository() =>
                    {
                        Some(s.repository().to_owned())
                    }
                    _ => None,
                };
                let (repo, reference) = (Box::new(repo), reference.clone());
                (Dst::Registry { repo, reference }, mount_from)
            }
            Location::Layout(address) => {
                (Dst::Layout(OciLayout::create(&address.dir).await?), None)
            }
        };
        Ok(Copier {
            walker: Arc::new(Walker::new(
                src,
                dst,
                mount_from,
                opts.clone(),
                client.config().retry_policy().clone(),
            )),
        })
    }

    /// The source's tags, sorted: a registry's tag list, or a layout's ref names that are
    /// valid tags. With [`CopyOptions::referrers`], the referrers fallback tags
    /// (`<alg>-<hex>`) are left out: the referrers they list are copied with their subjects and
    /// the destination's own fallback tags are written as needed.
    ///
    /// A registry source's list is its primary location's, as skopeo's: a registries.conf
    /// mirror's list can be partial, so a mirror is asked only when the primary cannot be
    /// reached (or is blocked), and [`TagListing::mirror`] then names it
    /// ([`RegistrySource::tags`](crate::registry::RegistrySource::tags)).
    ///
    /// # Errors
    ///
    /// The source's failure to list them.
    pub async fn source_tags(&self) -> Result<TagListing<Tag>, CopyError> {
        self.walker.source_tags().await
    }

    /// Copies the graph at `target` in the source and gives it `tags` at the destination.
    ///
    /// # Errors
    ///
    /// See [`CopyError`]; what was copied before the failure stays (it is whole and verified).
    pub async fn copy(&self, target: &TagOrDigest, tags: &[Tag]) -> Result<Copied, CopyError> {
        let root = self.walker.root(target).await?;
        self.copy_root(root, tags).await
    }

    async fn copy_root(&self, root: Descriptor, tags: &[Tag]) -> Result<Copied, CopyError> {
        let before = self.walker.stats();
        self.walker.node(&root, 0, 0, false).await?;
        if self.walker.referrers_on() {
            self.walker.referrers().await?;
        }
        if tags.is_empty() {
            self.walker.list_untagged(&root).await?;
        }
        let mut tagged = Vec::new();
        for tag in tags {
            self.walker.tag(&root, tag).await?;
            tagged.push(tag.clone());
        }
        Ok(Copied {
            root,
            tags: tagged,
            stats: self.walker.stats().since(&before),
        })
    }

    /// Counters over every copy this copier made.
    pub fn stats(&self) -> CopyStats {
        self.walker.stats()
    }

    /// Registry requests made at the source so far (a layout source makes none).
    pub fn source_requests(&self) -> u64 {
        self.walker.source_requests()
    }
}

impl CopyStats {
    fn since(&self, before: &CopyStats) -> CopyStats {
        CopyStats {
            copied: self.copied - before.copied,
            skipped: self.skipped - before.skipped,
            mounted: self.mounted - before.mounted,
            bytes: self.bytes - before.bytes,
            tagged: self.tagged - before.tagged,
        }
    }
}

async fn open_source(
    client: &Client,
    from: &Location,
    opts: &CopyOptions,
) -> Result<Src, CopyError> {
    Ok(match from {
        Location::Registry(reference) => Src::Registry(match &opts.pull_sources {
            Some(sources) => RegistrySource::new(client, reference, sources.clone())?,
            None => RegistrySource::direct(client, reference)?,
        }),
        Location::Layout(address) => Src::Layout(OciLayout::open(&address.dir).await?),
    })
}

/// The tag `location` names, if it names one.
fn location_tag(location: &Location) -> Option<Tag> {
    match location {
        Location::Registry(r) if r.digest().is_none() => r.typed_tag(),
        Location::Layout(LayoutAddress {
            target: Some(TagOrDigest::Tag(t)),
            ..
        }) => Some(t.clone()),
        _ => None,
    }
}

/// Copies the graph at `from` to `to` ([`Copier`] for one root). The destination tags are
/// [`CopyOptions::tags`]; a destination digest must equal the source root's.
///
/// # Errors
///
/// See [`CopyError`].
pub async fn copy(
    client: &Client,
    from: &Location,
    to: &Location,
    opts: &CopyOptions,
) -> Result<Copied, CopyError> {
    let target = match from {
        Location::Registry(reference) => reference.target(),
        Location::Layout(address) => match &address.target {
            Some(t) => t.clone(),
            None => {
                return Err(CopyError::NoSourceTarget {
                    address: address.to_string(),
                });
            }
        },
    };
    let src = open_source(client, from, opts).await?;
    // The root is fetched before the walk starts (a destination layout is created only once
    // it resolved), and counts against the limit like every other request: the walk gets the
    // same limit.
    let mut opts = opts.clone();
    let limit = opts.request_limit();
    let (root, bytes) = walk::resolve_root(&src, &target, opts.platform.as_ref(), &limit).await?;
    let dst_digest = match to {
        Location::Registry(r) => r.digest(),
        Location::Layout(a) => match &a.target {
            Some(TagOrDigest::Digest(d)) => Some(d),
            _ => None,
        },
    };
    if let Some(d) = dst_digest
        && *d != root.digest
    {
        return Err(CopyError::DigestMismatch {
            destination: d.clone(),
            source_digest: root.digest.clone(),
        });
    }
    let tags = match &opts.tags {
        DestinationTags::These(tags) => tags.clone(),
        DestinationTags::FromSource => location_tag(from).into_iter().collect(),
        DestinationTags::Given if dst_digest.is_some() => Vec::new(),
        DestinationTags::Given => location_tag(to)
            .or_else(|| location_tag(from))
            .into_iter()
            .collect(),
    };
    let copier = Copier::with_source(client, src, from, to, &opts).await?;
    copier.walker.prefetched(&root, bytes);
    copier.copy_root(root, &tags).await
}
