//! Resolve: a tag or digest → the one artifact a machine should get, pinned by digest, with the
//! reason for the choice.
//!
//! [`resolve`] reads the document a tag (or digest) names from a [`ManifestSource`] (a registry
//! walking its pull sources, or an OCI layout on disk), builds `oci-select` candidates from it,
//! fetches **only** the manifests the policy's [fetch plan](oci_select::Policy::fetch_plan) asks
//! for (concurrently, round after round until the plan is complete), selects, and returns a
//! [`Resolved`]: the pinned manifest URL, the chosen layer, disk format, compression, file
//! name, size, which source served (and a blob URL there), the number of requests made, the
//! [rule set](RuleSet) that ran, and the explanation.
//!
//! # Rule sets
//!
//! Which files an artifact is made of depends on what the reference names ([`RuleSet`]):
//!
//! - an **index**, with a policy that keeps the single-layer rule ([`Policy::ironic`]): a disk
//!   image is chosen among the entries, as Ironic does; multi-layer entries are skipped (unless
//!   they are container images) and the one file is [`Resolved::blob`];
//! - an **index**, with a policy without that rule (`Policy::ironic(..).without(SingleLayer::NAME)`,
//!   the CLI's `--multi-file`): an entry is chosen by platform and the other rules, and every
//!   layer of it is a file (kernel + ramdisk per architecture);
//! - a **manifest** named by tag: it is the artifact, and every layer is a file, as `oras pull`
//!   writes them (the single-layer rule is not applied; the policy's other rules still are);
//! - a **manifest** named by digest: no selection (below).
//!
//! # Digest references
//!
//! A digest naming an image manifest skips selection, as Ironic's `identify_specific_image`
//! does for a "specific" URL: the manifest is fetched (and verified against the digest); an OCI
//! artifact gives its first layer and disk format `unknown`; a container image gives disk
//! format `bootc` and no blob. A digest naming an index goes through selection like a tag.
//!
//! # Deviation
//!
//! Ironic returns an empty result when nothing matches; here it is
//! [`ResolveError::NoMatch`], which lists every candidate and the rule that rejected it.
//!
//! # Cancel safety
//!
//! Dropping the future leaves nothing behind: resolution only reads.

mod source;

use std::collections::BTreeSet;

use futures_util::future::join_all;
use oci_ref::media_type::{Compression, HELM_CHART_CONTENT, HELM_CONFIG, essence};
use oci_ref::{Digest, TagOrDigest};
use oci_select::{
    Candidate, CandidateError, DiskFormat, Document, Explanation, ManifestFacts, Policy,
    SelectError, classify, rules::SingleLayer,
};

pub use source::{FetchedManifest, LayoutSource, ManifestSource, PinnedManifest, ServedBy};

use crate::descriptor::{ANNOTATION_TITLE, Descriptor};
use crate::layout::LayoutError;
use crate::pull::helm_chart_name;
use crate::registry::PullSourceError;

/// Most rounds of manifest fetching before giving up (each round fetches at least one manifest,
/// so this bounds the work a hostile index with many entries can cause, together with
/// [`MAX_CANDIDATES`]).
pub const MAX_FETCH_ROUNDS: usize = 1024;

/// Most entries an index may list (1024). Real machine-image indexes list a handful; the
/// manifest size cap (4 MiB) would allow tens of thousands.
pub const MAX_CANDIDATES: usize = 1024;

/// Why resolution failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// A registry fetch failed.
    #[error(transparent)]
    Registry(#[from] PullSourceError),
    /// Reading the layout failed.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// A document could not be read into candidates.
    #[error(transparent)]
    Document(#[from] CandidateError),
    /// The first bytes of the chosen blob, read to tell its compression, could not be read.
    /// The digest is named here, once: the source's error says how the read failed (a
    /// registry's names the request it made, whose URL holds the digest; nothing below
    /// repeats it in words).
    #[error("blob {digest}: reading its first bytes to tell its compression: {source}")]
    BlobHead {
        /// The blob.
        digest: Digest,
        /// Why.
        #[source]
        source: crate::source::SourceError,
    },
    /// A Helm chart's config cannot name the chart file (see [`crate::pull::helm_chart_name`]).
    #[error("Helm chart config {digest}: {problem}")]
    HelmConfig {
        /// The config blob.
        digest: Digest,
        /// What is wrong with it.
        problem: crate::pull::HelmConfigProblem,
    },
    /// The index lists no manifests (Ironic: `InvalidImageRef`).
    #[error("{reference}: the index lists no manifests")]
    EmptyIndex {
        /// What was resolved.
        reference: String,
    },
    /// The index lists more entries than [`MAX_CANDIDATES`].
    #[error("{reference}: the index lists {count} manifests, above the limit of {limit}")]
    TooManyCandidates {
        /// What was resolved.
        reference: String,
        /// Entries listed.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// Every candidate was rejected; the explanation names the rule and reason for each.
    #[error(
        "{reference}: no artifact matches the policy: {}",
        summary(explanation)
    )]
    NoMatch {
        /// What was resolved.
        reference: String,
        /// Every candidate's fate.
        explanation: Box<Explanation>,
    },
    /// The policy's fetch plan did not complete within [`MAX_FETCH_ROUNDS`] rounds.
    #[error("{reference}: selection still needs manifests after {rounds} rounds")]
    Undecided {
        /// What was resolved.
        reference: String,
        /// Rounds made.
        rounds: usize,
    },
}

fn summary(explanation: &Explanation) -> String {
    explanation
        .candidates
        .iter()
        .map(|c| format!("entry {} ({}) {}", c.position, c.platform, c.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

impl ResolveError {
    /// Whether the reference does not exist.
    pub fn is_not_found(&self) -> bool {
        match self {
            ResolveError::Registry(e) => e.is_not_found(),
            ResolveError::Layout(e) => e.is_not_found(),
            _ => false,
        }
    }
}

/// Which rules decided what the artifact's files are; see the [module docs](self#rule-sets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuleSet {
    /// An index, single-layer rule in the policy: one disk image chosen among the entries
    /// (Ironic's `identify_specific_image`).
    DiskImage,
    /// An index, no single-layer rule in the policy: an entry chosen by the policy, every layer
    /// of it a file.
    MultiFile,
    /// A manifest named by tag: every layer a file, as `oras pull`.
    Artifact,
    /// A manifest named by digest: no selection (Ironic's "specific" URL).
    Pinned,
}

impl RuleSet {
    /// `disk-image`, `multi-file`, `artifact` or `pinned`.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleSet::DiskImage => "disk-image",
            RuleSet::MultiFile => "multi-file",
            RuleSet::Artifact => "artifact",
            RuleSet::Pinned => "pinned",
        }
    }

    /// Why this rule set ran, in one sentence.
    pub fn reason(self) -> &'static str {
        match self {
            RuleSet::DiskImage => {
                "the reference names an index and the policy has the single-layer rule: one disk \
                 image is chosen among its entries (Ironic)"
            }
            RuleSet::MultiFile => {
                "the reference names an index and the policy has no single-layer rule: an entry \
                 is chosen by the policy and every layer of it is a file"
            }
            RuleSet::Artifact => {
                "the reference names a manifest: every layer is a file, as oras pull writes them \
                 (the single-layer rule applies only to index entries)"
            }
            RuleSet::Pinned => {
                "the reference is a digest naming a manifest: no selection, verified by digest"
            }
        }
    }
}

/// The result of [`resolve`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Resolved {
    /// The chosen manifest, pinned: `oci://host/repo@sha256:…` (or `DIR@sha256:…` for a layout).
    pub manifest_url: PinnedManifest,
    /// The chosen manifest's digest.
    pub manifest_digest: Digest,
    /// The chosen layer when the artifact is one file: the single layer (the first layer for a
    /// digest reference to a multi-layer artifact, as Ironic); `None` for a container image
    /// and for a multi-file artifact (see [`Resolved::files`]).
    pub blob: Option<Descriptor>,
    /// `scheme://host/v2/<repo>/blobs/<digest>` of [`Resolved::blob`] at [`Resolved::source`]
    /// (a mirror's host and rewritten repository when a mirror served the manifest), or a
    /// `file://` URL into a layout.
    pub blob_url: Option<url::Url>,
    /// Every layer of the chosen manifest, in order.
    pub layers: Vec<Descriptor>,
    /// Ironic's disk format: `qcow2`, `raw`, `bootc`, `unknown` (digest reference), or `None`.
    pub disk_format: Option<DiskFormat>,
    /// The compression of [`Resolved::blob`]: declared by its media type, else, for a generic
    /// media type, seen in its first bytes (`Compression::detect`, the rule a download with
    /// decompression on applies).
    pub compression: Option<Compression>,
    /// The blob's `org.opencontainers.image.title`.
    pub filename: Option<String>,
    /// The blob's size; otherwise config plus layers (Ironic's `image_size`).
    pub size: u64,
    /// Which source served the chosen manifest (and so where [`Resolved::blob_url`] points).
    pub source: ServedBy,
    /// Requests made (see [`ManifestSource::requests`]).
    pub requests: u64,
    /// Which rules decided the artifact's files.
    pub rule_set: RuleSet,
    /// Every candidate's fate; `None` for a digest reference (no selection).
    pub explanation: Option<Explanation>,
}

impl Resolved {
    /// The layers a pull writes: [`Resolved::blob`] under [`RuleSet::DiskImage`]; every layer
    /// otherwise (and for a container image).
    pub fn files(&self) -> Vec<Descriptor> {
        match (&self.blob, self.rule_set) {
            (Some(b), RuleSet::DiskImage) => vec![b.clone()],
            _ => self.layers.clone(),
        }
    }
}

/// Counts the resolver's own calls, for sources that do not count.
struct Counter<'a> {
    source: &'a dyn ManifestSource,
    calls: std::sync::atomic::AtomicU64,
    start: Option<u64>,
}

impl Counter<'_> {
    fn bump(&self) {
        self.calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    fn total(&self) -> u64 {
        match (self.source.requests(), self.start) {
            (Some(now), Some(start)) => now.saturating_sub(start),
            _ => self.calls.load(std::sync::atomic::Ordering::Relaxed),
        }
    }

    async fn manifest(&self, target: &TagOrDigest) -> Result<FetchedManifest, ResolveError> {
        self.bump();
        self.source.fetch_manifest(target).await
    }
}

/// Helm charts: a chart layer without a title gets the title `helm pull` would name its file,
/// `<name>-<version>.tgz`, read from the chart's config (one more request, made only for a
/// chart that needs it), so that `filename` and the files `pull` writes agree. Returns the
/// chart layer when the manifest is a Helm chart with exactly one: it is the blob `resolve`
/// reports (Ironic's classification would call a chart a container image and report none).
async fn helm_chart(
    counter: &Counter<'_>,
    facts: &ManifestFacts,
    layers: &mut [Descriptor],
) -> Result<Option<Descriptor>, ResolveError> {
    let is = |media_type: Option<&str>, want: &str| media_type.is_some_and(|m| essence(m) == want);
    if !is(facts.config_media_type(), HELM_CONFIG) {
        return Ok(None);
    }
    let chart = |l: &Descriptor| is(Some(&l.media_type), HELM_CHART_CONTENT);
    if let Some(digest) = facts.config_digest()
        && layers.iter().any(|l| chart(l) && l.title().is_none())
    {
        counter.bump();
        let config = counter
            .source
            .fetch_config(digest, facts.config_size().unwrap_or(0))
            .await?;
        let name = helm_chart_name(&config).map_err(|problem| ResolveError::HelmConfig {
            digest: digest.clone(),
            problem,
        })?;
        for layer in layers
            .iter_mut()
            .filter(|l| chart(l) && l.title().is_none())
        {
            layer
                .annotations
                .insert(ANNOTATION_TITLE.to_owned(), name.clone());
        }
    }
    let mut charts = layers.iter().filter(|l| chart(l));
    Ok(match (charts.next(), charts.next()) {
        (Some(one), None) => Some(one.clone()),
        _ => None,
    })
}

/// Resolves `target` (named `reference` in messages) from `source` under `policy`.
///
/// # Errors
///
/// [`ResolveError::Registry`] / [`ResolveError::Layout`] when a document cannot be read,
/// [`ResolveError::Document`] when one is not a manifest or index, [`ResolveError::EmptyIndex`],
/// [`ResolveError::TooManyCandidates`], [`ResolveError::NoMatch`] (every candidate rejected, with
/// the explanation), [`ResolveError::Undecided`], and [`ResolveError::HelmConfig`] when an
/// untitled Helm chart's config cannot name its file.
pub async fn resolve(
    source: &dyn ManifestSource,
    reference: &str,
    target: &TagOrDigest,
    policy: &Policy,
) -> Result<Resolved, ResolveError> {
    let counter = Counter {
        source,
        calls: 0.into(),
        start: source.requests(),
    };
    let top = counter.manifest(target).await?;
    let kind = classify(top.media_type.as_deref(), &top.bytes)?;
    let by_digest = matches!(target, TagOrDigest::Digest(_));
    if by_digest && kind == Document::Manifest {
        return pinned_manifest(&counter, top).await;
    }
    let (mut candidates, rule_set, policy) = match kind {
        Document::Index => {
            let rule_set = if policy.has_rule(SingleLayer::NAME) {
                RuleSet::DiskImage
            } else {
                RuleSet::MultiFile
            };
            (Candidate::from_index(&top.bytes)?, rule_set, policy.clone())
        }
        _ => (
            vec![manifest_candidate(&counter, &top).await?],
            RuleSet::Artifact,
            policy.without(SingleLayer::NAME),
        ),
    };
    if candidates.is_empty() {
        return Err(ResolveError::EmptyIndex {
            reference: reference.to_owned(),
        });
    }
    if candidates.len() > MAX_CANDIDATES {
        return Err(ResolveError::TooManyCandidates {
            reference: reference.to_owned(),
            count: candidates.len(),
            limit: MAX_CANDIDATES,
        });
    }
    let rounds = complete_plan(&counter, reference, &policy, &mut candidates).await?;
    let selection = policy
        .select(&candidates)
        .map_err(|e| select_error(e, reference, rounds))?;
    let chosen = selection.candidate.clone();
    let facts = match chosen.manifest() {
        Some(f) => f.clone(),
        // A container image passes Ironic's rules without its manifest; its layers are still
        // needed for the size (Ironic fetches it too).
        None => {
            let t = TagOrDigest::Digest(chosen.digest().clone());
            ManifestFacts::from_json(&counter.manifest(&t).await?.bytes)?
        }
    };
    let mut layers: Vec<Descriptor> = facts.layers().to_vec();
    let chart = helm_chart(&counter, &facts, &mut layers).await?;
    let blob = match layers.as_slice() {
        [one] if !chosen.is_container_image() => Some(one.clone()),
        _ => chart,
    };
    let size = blob.as_ref().map_or_else(|| facts.total_size(), |b| b.size);
    finish(
        &counter,
        chosen.digest().clone(),
        Chosen {
            blob,
            layers,
            disk_format: DiskFormat::of(&chosen),
            size,
            rule_set,
            explanation: Some(selection.explanation),
        },
    )
    .await
}

/// The one candidate of a manifest named by tag (its config read when it has an image config).
async fn manifest_candidate(
    counter: &Counter<'_>,
    top: &FetchedManifest,
) -> Result<Candidate, ResolveError> {
    let facts = ManifestFacts::from_json(&top.bytes)?;
    let config = match (facts.has_image_config(), facts.config_digest()) {
        (true, Some(d)) => {
            counter.bump();
            Some(
                counter
                    .source
                    .fetch_config(d, facts.config_size().unwrap_or(0))
                    .await?,
            )
        }
        _ => None,
    };
    let size = top.bytes.len() as u64;
    Ok(Candidate::from_manifest(
        top.digest.clone(),
        facts,
        Some(size),
        config.as_deref(),
    )?)
}

/// Fetches the manifests the policy's fetch plan asks for, round after round, until the plan is
/// complete. Returns the rounds made.
async fn complete_plan(
    counter: &Counter<'_>,
    reference: &str,
    policy: &Policy,
    candidates: &mut [Candidate],
) -> Result<usize, ResolveError> {
    let mut rounds = 0;
    loop {
        let plan = policy.fetch_plan(candidates);
        if plan.is_complete() {
            return Ok(rounds);
        }
        rounds += 1;
        if rounds > MAX_FETCH_ROUNDS {
            return Err(ResolveError::Undecided {
                reference: reference.to_owned(),
                rounds: MAX_FETCH_ROUNDS,
            });
        }
        let wanted: BTreeSet<usize> = plan.required.into_iter().collect();
        let fetches = wanted.iter().filter_map(|&i| {
            let c = candidates.get(i)?;
            let t = TagOrDigest::Digest(c.digest().clone());
            Some(async move { (i, counter.manifest(&t).await) })
        });
        for (i, fetched) in join_all(fetches).await {
            let facts = ManifestFacts::from_json(&fetched?.bytes)?;
            if let Some(c) = candidates.get_mut(i) {
                c.attach_manifest(facts);
            }
        }
    }
}

fn select_error(e: SelectError, reference: &str, rounds: usize) -> ResolveError {
    match e {
        SelectError::NoMatch { explanation } => ResolveError::NoMatch {
            reference: reference.to_owned(),
            explanation,
        },
        SelectError::NoCandidates => ResolveError::EmptyIndex {
            reference: reference.to_owned(),
        },
        _ => ResolveError::Undecided {
            reference: reference.to_owned(),
            rounds,
        },
    }
}

/// What was chosen, before the source adds where it is.
struct Chosen {
    blob: Option<Descriptor>,
    layers: Vec<Descriptor>,
    disk_format: Option<DiskFormat>,
    size: u64,
    rule_set: RuleSet,
    explanation: Option<Explanation>,
}

async fn finish(
    counter: &Counter<'_>,
    manifest: Digest,
    chosen: Chosen,
) -> Result<Resolved, ResolveError> {
    let source = counter.source;
    let blob = chosen.blob;
    let compression = compression_of(source, blob.as_ref()).await?;
    Ok(Resolved {
        manifest_url: source.pinned(&manifest),
        blob_url: blob
            .as_ref()
            .and_then(|b| source.blob_url(&manifest, &b.digest)),
        compression,
        filename: blob.as_ref().and_then(|b| b.title().map(str::to_owned)),
        blob,
        layers: chosen.layers,
        disk_format: chosen.disk_format,
        size: chosen.size,
        source: source.served_by(&manifest),
        requests: counter.total(),
        rule_set: chosen.rule_set,
        manifest_digest: manifest,
        explanation: chosen.explanation,
    })
}

/// A digest reference to a manifest: no selection, verified by the fetch.
async fn pinned_manifest(
    counter: &Counter<'_>,
    top: FetchedManifest,
) -> Result<Resolved, ResolveError> {
    let facts = ManifestFacts::from_json(&top.bytes)?;
    let mut layers: Vec<Descriptor> = facts.layers().to_vec();
    let chart = helm_chart(counter, &facts, &mut layers).await?;
    let (blob, disk_format) = if facts.is_oci_artifact() {
        (layers.first().cloned(), Some(DiskFormat::Unknown))
    } else {
        (chart, Some(DiskFormat::Bootc))
    };
    let size = blob.as_ref().map_or_else(|| facts.total_size(), |b| b.size);
    finish(
        counter,
        top.digest,
        Chosen {
            blob,
            layers,
            disk_format,
            size,
            rule_set: RuleSet::Pinned,
            explanation: None,
        },
    )
    .await
}

/// The compression of the chosen blob, decided as a download with decompression on decides
/// ([`Compression::detect`]): by the media type, else, for a generic media type, by the blob's
/// first bytes (one more request, made only then, for those bytes only: a range request to a
/// registry). `resolve` and `pull` therefore report the same compression.
async fn compression_of(
    source: &dyn ManifestSource,
    blob: Option<&Descriptor>,
) -> Result<Option<Compression>, ResolveError> {
    let Some(blob) = blob else {
        return Ok(None);
    };
    if !Compression::needs_head(&blob.media_type) {
        return Ok(Compression::detect(&blob.media_type, &[]));
    }
    let head = source.blob_head(&blob.digest, blob.size).await?;
    Ok(Compression::detect(&blob.media_type, &head))
}
