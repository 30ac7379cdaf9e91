//! The graph walker behind [`super::Copier`]: the two ends, the once-per-digest table, the
//! request limit and the counters.
//!
//! Requests are what a copy costs (a second run of a mirror is nearly all of them), so each
//! one is asked only when its answer is used. A manifest of the graph is looked for at the
//! destination (`HEAD`) and read at the source only when it is missing there, or when it is
//! an index and referrers are copied (its child manifests are walked for their referrers even
//! when it is present: then both requests go at once). A present image manifest is not read:
//! its children are blobs. Referrers go per subject ([`referrers`]): one listing at the
//! destination registry replaces a `HEAD` per referrer (when the listing is the fallback index,
//! which can name manifests the registry no longer has, the referrers it lists are still looked
//! for, concurrently), and one edit of the subject's fallback index replaces one per referrer.
//!
//! Each digest is counted once in [`CopyStats`] (copied or skipped), also when it is a node of
//! the graph and a referrer, or a referrer listed under several subjects. A node found at the
//! destination registry (skipped) that its subject's listing turns out not to list is pushed
//! again to get listed: it moves from skipped to copied, since it was transferred.

mod referrers;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use futures_util::future::{try_join, try_join_all};
use oci_client::{FallbackEdit, PushOutcome, PushedManifest, Repository, RetryPolicy};
use oci_ref::media_type::{DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST};
use oci_ref::{Digest, Reference, Tag, TagOrDigest};
use tokio::sync::OnceCell;

use super::blob::{Destination, Origin, stream_to_registry};
use super::{CopyError, CopyOptions, CopyStats, MAX_REFERRER_DEPTH, RequestLimit};
use crate::descriptor::Platform;
use crate::descriptor::{ANNOTATION_REF_NAME, Descriptor, ImageIndex, ImageManifest};
use crate::download::DownloadOptions;
use crate::layout::{MAX_INDEX_DEPTH, MAX_MANIFEST_SIZE, OciLayout};
use crate::progress::ProgressEvent;
use crate::registry::{RegistrySource, TagListing};
use crate::source::{BlobSource, BoxFuture, MemorySource};

/// Where bytes come from.
#[derive(Debug)]
pub(super) enum Src {
    Registry(RegistrySource),
    Layout(OciLayout),
}

/// Where bytes go.
#[derive(Debug)]
pub(super) enum Dst {
    Registry {
        repo: Box<Repository>,
        reference: Reference,
    },
    Layout(OciLayout),
}

/// The walk's shared state.
#[derive(Debug)]
pub(super) struct Walker {
    src: Src,
    dst: Dst,
    /// The source repository when it is in the same registry as the destination (mountable).
    mount_from: Option<String>,
    opts: CopyOptions,
    /// [`CopyOptions::download`] without progress, for manifests written into a layout (only
    /// blobs get progress events).
    manifest_download: DownloadOptions,
    /// How a blob streamed to a registry resumes from its source: the client's retry policy.
    resume: RetryPolicy,
    /// [`CopyOptions::limit`], else one of [`CopyOptions::concurrency`] requests.
    limit: RequestLimit,
    /// One cell per digest: the first visit does the work, later ones wait for it.
    done: Mutex<HashMap<Digest, Arc<OnceCell<()>>>>,
    /// Manifests copied (or found) whose referrers are still to be listed, with their
    /// referrer depth. The cells above cover the manifest graph only, which digests make
    /// acyclic; referrers are walked in rounds after it ([`Walker::referrers`]), so a referrer
    /// that leads back to a manifest being visited (a hostile listing, an index that is a
    /// referrer of its own child) never waits on that manifest's cell.
    pending: Mutex<Vec<(Digest, usize)>>,
    /// Subjects whose referrers were listed.
    listed: Mutex<HashSet<Digest>>,
    /// The roots, with their bytes once fetched (by tag when resolved, else by the walk), so
    /// the walk and the tagging fetch a root once. A root narrowed to a platform (an index
    /// entry) is fetched by the walk: its bytes are kept then. Other manifests are not kept.
    fetched: Mutex<HashMap<Digest, Option<Bytes>>>,
    /// Manifests this walk pushed to a destination registry: no tag there can name them yet,
    /// so tagging one needs no `HEAD` first.
    pushed: Mutex<HashSet<Digest>>,
    /// Serialises edits of a destination layout's `index.json`.
    index_edit: tokio::sync::Mutex<()>,
    stats: Mutex<CopyStats>,
}

/// How the walk reached a manifest, which decides how it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// The root, or an entry of an index: pushed to a registry as it is (a `subject` it has is
    /// recorded in the subject's fallback index at once, where the registry needs one).
    Graph,
    /// A referrer looked for one by one (a layout destination): written as in the graph, and
    /// listed in the layout's `index.json`.
    Referrer,
    /// A referrer the destination registry does not list for its subject (or lists in the
    /// fallback index but does not have): pushed without a `HEAD`, its fallback index entry
    /// left for the subject's one edit ([`Walker::subject_referrers`]).
    Unlisted,
}

/// [`CopyError::TooDeep`] when `desc` is an index nested [`MAX_INDEX_DEPTH`] deep or a
/// referrer beyond [`MAX_REFERRER_DEPTH`].
fn check_depth(desc: &Descriptor, depth: usize, referrer_depth: usize) -> Result<(), CopyError> {
    let index_too_deep = is_index(&desc.media_type) && depth >= MAX_INDEX_DEPTH;
    if index_too_deep || referrer_depth > MAX_REFERRER_DEPTH {
        return Err(CopyError::TooDeep {
            digest: desc.digest.clone(),
            limit: if index_too_deep {
                MAX_INDEX_DEPTH
            } else {
                MAX_REFERRER_DEPTH
            },
        });
    }
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn is_index(media_type: &str) -> bool {
    media_type == OCI_INDEX || media_type == DOCKER_MANIFEST_LIST
}

fn is_manifest(media_type: &str) -> bool {
    media_type == OCI_MANIFEST || media_type == DOCKER_MANIFEST
}

/// The `mediaType` field of a manifest body, for descriptors that do not carry one.
fn sniff_media_type(bytes: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Peek {
        media_type: Option<String>,
        manifests: Option<serde_json::Value>,
    }
    let p: Peek = serde_json::from_slice(bytes).ok()?;
    match (p.media_type, p.manifests) {
        (Some(m), _) => Some(m),
        (None, Some(_)) => Some(OCI_INDEX.to_owned()),
        (None, None) => None,
    }
}

fn parse<T: serde::de::DeserializeOwned>(digest: &Digest, bytes: &[u8]) -> Result<T, CopyError> {
    serde_json::from_slice(bytes).map_err(|e| CopyError::InvalidManifest {
        digest: digest.clone(),
        message: e.to_string(),
    })
}

pub(super) fn dst_error(
    what: String,
    reference: &Reference,
) -> impl FnOnce(oci_client::Error) -> CopyError {
    let reference = reference.to_string();
    move |e| CopyError::Destination {
        what,
        reference,
        source: Box::new(e),
    }
}

/// The entry of index `bytes` for `platform` (OS and architecture equal, and the variant when
/// one is asked for).
fn platform_entry(
    digest: &Digest,
    bytes: &[u8],
    platform: &Platform,
) -> Result<Descriptor, CopyError> {
    let index: ImageIndex = parse(digest, bytes)?;
    index
        .manifests
        .into_iter()
        .find(|e| {
            e.platform.as_ref().is_some_and(|p| {
                p.os == platform.os
                    && p.architecture == platform.architecture
                    && (platform.variant.is_none() || p.variant == platform.variant)
            })
        })
        .ok_or_else(|| CopyError::NoSuchPlatform {
            digest: digest.clone(),
            platform: platform.to_string(),
        })
}

/// The root's descriptor for `target` in `src`, narrowed to `platform` when it is an index,
/// with its bytes (none when narrowed: the entry is fetched by the walk). Its one request
/// counts against `limit`.
pub(super) async fn resolve_root(
    src: &Src,
    target: &TagOrDigest,
    platform: Option<&Platform>,
    limit: &RequestLimit,
) -> Result<(Descriptor, Option<Bytes>), CopyError> {
    let _permit = limit.acquire().await;
    let (mut desc, bytes) = match src {
        Src::Registry(source) => {
            let m = source.fetch_manifest(target).await?;
            let desc = Descriptor::new(m.media_type(), m.digest().clone(), m.bytes().len() as u64);
            (desc, m.bytes().clone())
        }
        Src::Layout(layout) => {
            let mut desc = layout.resolve(target).await?;
            let bytes = Bytes::from(layout.read_blob(&desc, MAX_MANIFEST_SIZE).await?);
            if desc.media_type.is_empty() {
                desc.media_type = sniff_media_type(&bytes).unwrap_or_default();
            }
            desc.annotations.remove(ANNOTATION_REF_NAME);
            (desc, bytes)
        }
    };
    match platform {
        Some(platform) if is_index(&desc.media_type) => {
            desc = platform_entry(&desc.digest, &bytes, platform)?;
            desc.annotations.clear();
            Ok((desc, None))
        }
        _ => Ok((desc, Some(bytes))),
    }
}

impl Walker {
    /// A walk from `src` to `dst`; `resume` is the retry policy of the client that reads the
    /// source (how a blob streamed to a registry resumes after its source broke off).
    pub(super) fn new(
        src: Src,
        dst: Dst,
        mount_from: Option<String>,
        opts: CopyOptions,
        resume: RetryPolicy,
    ) -> Walker {
        let mut opts = opts;
        let limit = opts.request_limit();
        let mut manifest_download = opts.download.clone();
        manifest_download.progress = None;
        Walker {
            manifest_download,
            resume,
            src,
            dst,
            mount_from,
            opts,
            limit,
            done: Mutex::new(HashMap::new()),
            pending: Mutex::new(Vec::new()),
            listed: Mutex::new(HashSet::new()),
            fetched: Mutex::new(HashMap::new()),
            pushed: Mutex::new(HashSet::new()),
            index_edit: tokio::sync::Mutex::new(()),
            stats: Mutex::new(CopyStats::default()),
        }
    }

    /// Whether this walk copies referrers.
    pub(super) fn referrers_on(&self) -> bool {
        self.opts.referrers
    }

    pub(super) fn stats(&self) -> CopyStats {
        *lock(&self.stats)
    }

    pub(super) fn source_requests(&self) -> u64 {
        match &self.src {
            Src::Registry(r) => r.requests(),
            Src::Layout(_) => 0,
        }
    }

    fn count(&self, transferred: bool, size: u64) {
        let mut stats = lock(&self.stats);
        if transferred {
            stats.copied += 1;
            stats.bytes += size;
        } else {
            stats.skipped += 1;
        }
    }

    /// Counts a manifest of `size` bytes, counted as skipped when the walk found it at the
    /// destination, as copied after all: [`Walker::push_again`] transferred it (to get it
    /// listed).
    fn recount_as_copied(&self, size: u64) {
        let mut stats = lock(&self.stats);
        stats.skipped = stats.skipped.saturating_sub(1);
        stats.copied += 1;
        stats.bytes += size;
    }

    /// A place in the request limit for one request. The limit may be shared with the other
    /// copies of a mirror run, so no caller awaits a second permit while it holds one (or
    /// while it holds a lock another permit holder waits for): with every place held by such
    /// a waiter the run would stop. Callers take it around one request, or one blob transfer,
    /// and drop it before anything that takes another ([`Walker::tag`]).
    async fn permit(&self) -> tokio::sync::SemaphorePermit<'_> {
        self.limit.acquire().await
    }

    /// The root's descriptor for `target` (narrowed to [`CopyOptions::platform`]); its bytes
    /// are kept for the walk.
    pub(super) async fn root(&self, target: &TagOrDigest) -> Result<Descriptor, CopyError> {
        let platform = self.opts.platform.as_ref();
        let (desc, bytes) = resolve_root(&self.src, target, platform, &self.limit).await?;
        self.prefetched(&desc, bytes);
        Ok(desc)
    }

    /// Records `desc` as a root, with its `bytes` when they were fetched already; otherwise
    /// the walk keeps them when it fetches them.
    pub(super) fn prefetched(&self, desc: &Descriptor, bytes: Option<Bytes>) {
        let mut fetched = lock(&self.fetched);
        let kept = fetched.entry(desc.digest.clone()).or_default();
        if bytes.is_some() {
            *kept = bytes;
        }
    }

    pub(super) async fn source_tags(&self) -> Result<TagListing<Tag>, CopyError> {
        let listing: TagListing = match &self.src {
            Src::Registry(source) => {
                let _permit = self.permit().await;
                source.tags().await?
            }
            Src::Layout(layout) => TagListing {
                tags: layout
                    .index()
                    .await?
                    .manifests
                    .iter()
                    .filter_map(|m| m.annotations.get(ANNOTATION_REF_NAME).cloned())
                    .collect(),
                mirror: None,
            },
        };
        let mut tags: Vec<Tag> = listing
            .tags
            .iter()
            .filter_map(|n| Tag::parse(n).ok())
            .filter(|t| !(self.opts.referrers && t.is_referrers_fallback()))
            .collect();
        tags.sort();
        tags.dedup();
        Ok(listing.with_tags(tags))
    }

    async fn src_manifest(&self, desc: &Descriptor) -> Result<Bytes, CopyError> {
        if let Some(Some(bytes)) = lock(&self.fetched).get(&desc.digest) {
            return Ok(bytes.clone());
        }
        let bytes = self.fetch_src_manifest(desc).await?;
        if let Some(kept) = lock(&self.fetched).get_mut(&desc.digest) {
            kept.get_or_insert_with(|| bytes.clone());
        }
        Ok(bytes)
    }

    /// Fetches manifest `desc` from the source, its size checked against the descriptor's.
    async fn fetch_src_manifest(&self, desc: &Descriptor) -> Result<Bytes, CopyError> {
        let _permit = self.permit().await;
        match &self.src {
            Src::Registry(r) => {
                let m = r
                    .fetch_manifest(&TagOrDigest::Digest(desc.digest.clone()))
                    .await?;
                let actual = m.bytes().len() as u64;
                if actual != desc.size {
                    return Err(CopyError::ManifestSize {
                        digest: desc.digest.clone(),
                        declared: desc.size,
                        actual,
                    });
                }
                Ok(m.bytes().clone())
            }
            Src::Layout(l) => Ok(Bytes::from(l.read_blob(desc, MAX_MANIFEST_SIZE).await?)),
        }
    }

    async fn src_referrers(&self, subject: &Digest) -> Result<Vec<Descriptor>, CopyError> {
        let _permit = self.permit().await;
        match &self.src {
            Src::Registry(r) => Ok(r.referrers(subject).await?),
            Src::Layout(l) => Ok(l.referrers(subject, None).await?),
        }
    }

    async fn dst_has_manifest(&self, desc: &Descriptor) -> Result<bool, CopyError> {
        let _permit = self.permit().await;
        match &self.dst {
            Dst::Layout(layout) => Ok(layout.contains(desc).await?),
            Dst::Registry { repo, reference } => {
                let target = TagOrDigest::Digest(desc.digest.clone());
                let head = repo.head_manifest(&target).await.map_err(dst_error(
                    format!("HEAD manifest {}", desc.digest),
                    reference,
                ))?;
                Ok(head.is_some())
            }
        }
    }

    /// The once-per-digest cell of `digest`.
    fn cell(&self, digest: &Digest) -> Arc<OnceCell<()>> {
        lock(&self.done).entry(digest.clone()).or_default().clone()
    }

    /// Copies `desc` and everything under it once, then (with referrers on) its referrers.
    /// `depth` counts index nesting, `referrer_depth` referrer chains.
    pub(super) fn node<'s>(
        &'s self,
        desc: &'s Descriptor,
        depth: usize,
        referrer_depth: usize,
        is_referrer: bool,
    ) -> BoxFuture<'s, Result<(), CopyError>> {
        let role = if is_referrer {
            Role::Referrer
        } else {
            Role::Graph
        };
        Box::pin(async move {
            let visit = || async {
                self.visit(desc, depth, referrer_depth, role)
                    .await
                    .map(drop)
            };
            self.cell(&desc.digest).get_or_try_init(visit).await?;
            Ok(())
        })
    }

    /// Copies `desc` (under its cell) unless the destination has it. Returns the manifest
    /// pushed as [`Role::Unlisted`], whose fallback entry is still to be recorded.
    async fn visit(
        &self,
        desc: &Descriptor,
        depth: usize,
        referrer_depth: usize,
        role: Role,
    ) -> Result<Option<PushedManifest>, CopyError> {
        if !is_index(&desc.media_type) && !is_manifest(&desc.media_type) {
            self.blob(desc).await?;
            return Ok(None);
        }
        check_depth(desc, depth, referrer_depth)?;
        // With referrers, the manifest is walked for its referrers too, once the graph is
        // copied ([`Walker::referrers`]): even when it is already at the destination. An index
        // the destination has is read all the same, for its child manifests' referrers; a
        // manifest's children are blobs, so one the destination has is not read at all.
        if self.opts.referrers {
            lock(&self.pending).push((desc.digest.clone(), referrer_depth));
        }
        let (present, bytes) = if role == Role::Unlisted {
            (false, self.src_manifest(desc).await?)
        } else if self.opts.referrers && is_index(&desc.media_type) {
            // Both are needed whatever the destination has: asked at once.
            try_join(self.dst_has_manifest(desc), self.src_manifest(desc)).await?
        } else if self.dst_has_manifest(desc).await? {
            self.count(false, desc.size);
            return Ok(None);
        } else {
            (false, self.src_manifest(desc).await?)
        };
        self.content(desc, bytes, present, depth, referrer_depth, role)
            .await
    }

    /// Pushes manifest `desc` by digest to the destination registry's repository (with the
    /// reference errors name), its fallback index entry written as `fallback` says. Returns
    /// also whether this walk had not pushed it before (two subjects listing one referrer can
    /// push it at once: only the first to finish says so).
    async fn push_to(
        &self,
        (repo, reference): (&Repository, &Reference),
        desc: &Descriptor,
        bytes: Bytes,
        fallback: FallbackEdit,
    ) -> Result<(PushedManifest, bool), CopyError> {
        let target = TagOrDigest::Digest(desc.digest.clone());
        let pushed = repo
            .push_manifest_with(&target, bytes, &desc.media_type, fallback)
            .await
            .map_err(dst_error(
                format!("push manifest {}", desc.digest),
                reference,
            ))?;
        let first = lock(&self.pushed).insert(desc.digest.clone());
        Ok((pushed, first))
    }

    /// Copies manifest `desc` (body `bytes`; unless `present` at the destination) after its
    /// children: every child when the manifest is new; when it is present its content is there
    /// too, so only child manifests are walked, for their referrers.
    async fn content(
        &self,
        desc: &Descriptor,
        bytes: Bytes,
        present: bool,
        depth: usize,
        referrer_depth: usize,
        role: Role,
    ) -> Result<Option<PushedManifest>, CopyError> {
        let children: Vec<Descriptor> = if is_index(&desc.media_type) {
            parse::<ImageIndex>(&desc.digest, &bytes)?.manifests
        } else {
            let manifest: ImageManifest = parse(&desc.digest, &bytes)?;
            std::iter::once(manifest.config)
                .chain(manifest.layers)
                .collect()
        };
        let walked = children
            .iter()
            .filter(|c| !present || is_index(&c.media_type) || is_manifest(&c.media_type))
            .map(|c| self.node(c, depth + 1, referrer_depth, false));
        try_join_all(walked).await?;
        if present {
            self.count(false, desc.size);
            return Ok(None);
        }
        self.put_manifest(desc, bytes, role).await
    }

    /// Writes manifest `desc`; returns it when pushed as [`Role::Unlisted`] (its fallback
    /// entry is the caller's to record).
    async fn put_manifest(
        &self,
        desc: &Descriptor,
        bytes: Bytes,
        role: Role,
    ) -> Result<Option<PushedManifest>, CopyError> {
        let _permit = self.permit().await;
        match &self.dst {
            Dst::Layout(layout) => {
                let mut mem = MemorySource::new();
                mem.insert(desc.digest.clone(), bytes);
                let written = layout
                    .write_blob(&mem, desc, &self.manifest_download)
                    .await?;
                if role != Role::Graph {
                    let _edit = self.index_edit.lock().await;
                    layout.add_manifest(desc).await?;
                }
                self.count(written, desc.size);
                Ok(None)
            }
            Dst::Registry { repo, reference } => {
                let fallback = if role == Role::Unlisted {
                    FallbackEdit::Deferred
                } else {
                    FallbackEdit::Now
                };
                let pushed = self.push_to((repo, reference), desc, bytes, fallback);
                let (pushed, _) = pushed.await?;
                self.count(true, desc.size);
                Ok((role == Role::Unlisted).then_some(pushed))
            }
        }
    }

    /// Lists an untagged root in a destination layout's `index.json` (as an untagged push
    /// does), so the layout can be read by digest later; a registry needs nothing.
    pub(super) async fn list_untagged(&self, root: &Descriptor) -> Result<(), CopyError> {
        if let Dst::Layout(layout) = &self.dst {
            let _edit = self.index_edit.lock().await;
            layout.add_manifest(root).await?;
        }
        Ok(())
    }

    /// Points `tag` at the root, unless it points there already.
    pub(super) async fn tag(&self, root: &Descriptor, tag: &Tag) -> Result<(), CopyError> {
        let _permit = self.permit().await;
        match &self.dst {
            Dst::Layout(layout) => {
                let _edit = self.index_edit.lock().await;
                let current = layout.resolve(&TagOrDigest::Tag(tag.clone())).await;
                if current.is_ok_and(|d| d.digest == root.digest) {
                    return Ok(());
                }
                layout.tag(root, tag.as_str()).await?;
            }
            Dst::Registry { repo, reference } => {
                let target = TagOrDigest::Tag(tag.clone());
                let what = format!("tag {tag}");
                if !lock(&self.pushed).contains(&root.digest) {
                    let head = repo
                        .head_manifest(&target)
                        .await
                        .map_err(dst_error(format!("HEAD {what}"), reference))?;
                    if head.and_then(|h| h.digest).as_ref() == Some(&root.digest) {
                        return Ok(());
                    }
                }
                drop(_permit);
                let bytes = self.src_manifest(root).await?;
                let _permit = self.permit().await;
                repo.push_manifest(&target, bytes, &root.media_type)
                    .await
                    .map_err(dst_error(what, reference))?;
            }
        }
        lock(&self.stats).tagged += 1;
        Ok(())
    }

    async fn blob(&self, desc: &Descriptor) -> Result<(), CopyError> {
        let _permit = self.permit().await;
        let (repo, reference) = match &self.dst {
            Dst::Layout(layout) => {
                let written = layout
                    .write_blob(self.src_blobs(), desc, &self.opts.download)
                    .await?;
                self.count(written, desc.size);
                return Ok(());
            }
            Dst::Registry { repo, reference } => (repo, reference),
        };
        let served_by = || match &self.src {
            Src::Registry(r) => r.blob_served_by(&desc.digest).map(|s| {
                let kind = if s.mirror { "mirror" } else { "primary" };
                format!("{kind} {}", s.reference)
            }),
            Src::Layout(l) => Some(l.root().display().to_string()),
        };
        let origin = Origin {
            blobs: self.src_blobs_owned(),
            places: match &self.src {
                Src::Registry(r) => r.sources().len(),
                Src::Layout(_) => 1,
            },
            served_by,
        };
        let to = Destination {
            repo,
            reference,
            mount_from: self.mount_from.as_deref(),
        };
        let progress = self.opts.download.progress.as_ref();
        let outcome = stream_to_registry(origin, desc, &self.resume, progress, to).await?;
        if outcome == PushOutcome::Mounted {
            lock(&self.stats).mounted += 1;
            return Ok(());
        }
        let uploaded = outcome == PushOutcome::Uploaded;
        // A blob the destination had gets no progress events.
        if let Some(p) = progress.filter(|_| uploaded) {
            p.emit(ProgressEvent::Sent {
                digest: desc.digest.clone(),
            });
        }
        self.count(uploaded, desc.size);
        Ok(())
    }

    fn src_blobs(&self) -> &dyn BlobSource {
        match &self.src {
            Src::Registry(r) => r,
            Src::Layout(l) => l,
        }
    }

    /// The source's blobs as an owned handle (both kinds are cheap to clone), for a stream that
    /// outlives this borrow.
    fn src_blobs_owned(&self) -> Arc<dyn BlobSource> {
        match &self.src {
            Src::Registry(r) => Arc::new(r.clone()),
            Src::Layout(l) => Arc::new(l.clone()),
        }
    }
}
