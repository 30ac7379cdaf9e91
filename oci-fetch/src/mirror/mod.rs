//! Mirroring a set of repositories ([`MirrorSet`], a small TOML file) to a registry prefix or
//! to OCI layouts on disk, and back from disk to a registry: oc-mirror's mirror-to-disk and
//! disk-to-mirror, `skopeo sync`, `oras backup`/`restore`.
//!
//! Each repository is one [`Copier`] (the one graph walker, [`crate::copy`]): concurrent,
//! content-addressed, referrers included unless the set says otherwise. The copiers of a run
//! share one [`RequestLimit`]: [`CopyOptions::concurrency`] is the number of requests of the
//! whole run, as oras users read `--concurrency`, not that number per repository (64
//! repositories of 64 requests each would be 4096 connections). A second run of the
//! same set finds every manifest at the destination and transfers nothing
//! ([`MirrorReport::is_noop`]); an interrupted run, run again, copies only what is missing.
//! Sources are read through registries.conf ([`MirrorOrigin::Registries`]) as `pull` reads them,
//! so a site can mirror from a local pull-through cache while naming the upstream repositories.
//! Their pull sources are resolved once, before the run ([`SetPullSources::resolve`]): the
//! caller needs them first, to let its client talk plain HTTP to the mirrors registries.conf
//! marks insecure ([`SetPullSources::insecure_hosts`]).
//!
//! [`redirects`] gives the `registries.conf` entries that send consumers' pulls of the mirrored
//! names to the mirror (written by [`oci_client::registries::redirects_toml`]).

mod set;

use std::path::PathBuf;

use oci_client::Client;
use oci_client::registries::{PullSource, Redirect, RegistriesConf};
use oci_ref::{Reference, TagOrDigest};

use crate::copy::{Copied, Copier, CopyError, CopyOptions, CopyStats, Location, RequestLimit};
use crate::layout::LayoutAddress;
use crate::registry::{MirrorListing, insecure_hosts};

pub use set::{
    MAX_SET_FILE_BYTES, MirrorDestination, MirrorSet, MirrorSource, Placed, SetError, TagSelection,
};

/// Where the sources of a set are read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MirrorOrigin {
    /// From their registries, each through the pull sources a `registries.conf` gives it
    /// (mirrors in order, then the primary; prefix rewrites; blocked registries refused), as a
    /// pull reads it: a disconnected site mirrors from its local pull-through cache by naming
    /// the upstream repositories. A source without pull sources here (the default has none)
    /// is read from its own registry.
    Registries(SetPullSources),
    /// From layouts a mirror-to-disk run wrote under this directory
    /// ([`MirrorDestination::Layout`]'s naming).
    Layout(PathBuf),
}

impl Default for MirrorOrigin {
    fn default() -> MirrorOrigin {
        MirrorOrigin::Registries(SetPullSources::default())
    }
}

/// The pull sources registries.conf gives each source repository of a set, resolved once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetPullSources {
    /// Per source repository (its name, once), in set order.
    by_repository: Vec<(String, Vec<PullSource>)>,
}

impl SetPullSources {
    /// The pull sources `conf` gives every source of `set`.
    ///
    /// # Errors
    ///
    /// [`MirrorError::PullSources`] for the first source `conf` gives none (its registry is
    /// blocked, or a rewrite fails).
    pub fn resolve(conf: &RegistriesConf, set: &MirrorSet) -> Result<SetPullSources, MirrorError> {
        let mut by_repository: Vec<(String, Vec<PullSource>)> = Vec::new();
        for source in &set.sources {
            let name = source.repository.name();
            if by_repository.iter().any(|(n, _)| *n == name) {
                continue;
            }
            let sources =
                conf.pull_sources(&source.repository)
                    .map_err(|e| MirrorError::PullSources {
                        repository: name.clone(),
                        source: Box::new(e),
                    })?;
            by_repository.push((name, sources));
        }
        Ok(SetPullSources { by_repository })
    }

    /// The hosts among all the pull sources that registries.conf marks insecure (plain HTTP
    /// and unverified TLS allowed), each once.
    pub fn insecure_hosts(&self) -> Vec<String> {
        let mut hosts: Vec<String> = Vec::new();
        for host in self
            .by_repository
            .iter()
            .flat_map(|(_, s)| insecure_hosts(s))
        {
            if !hosts.contains(&host) {
                hosts.push(host);
            }
        }
        hosts
    }

    /// The pull sources of `repository`, if resolved.
    fn of(&self, repository: &Reference) -> Option<&[PullSource]> {
        let name = repository.name();
        self.by_repository
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| s.as_slice())
    }
}

/// What one repository's mirroring did.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MirroredRepository {
    /// The source repository.
    pub source: Reference,
    /// Where it went.
    pub destination: Placed,
    /// Only digests were mirrored (no tags).
    pub digest_only: bool,
    /// Each root copied, with its tags.
    pub roots: Vec<Copied>,
    /// Counters over the repository.
    pub stats: CopyStats,
    /// With `all-tags` or a `tag-pattern`: the registries.conf mirror that listed the tags
    /// when the primary could not (its list may be partial; see
    /// [`Copier::source_tags`]). `None` when the primary listed them, or no listing was needed.
    pub tags_listed_by_mirror: Option<MirrorListing>,
}

/// What a mirror run did.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct MirrorReport {
    /// Per repository, in set order.
    pub repositories: Vec<MirroredRepository>,
}

impl MirrorReport {
    /// Counters over every repository.
    pub fn stats(&self) -> CopyStats {
        self.repositories.iter().map(|r| r.stats).sum()
    }

    /// Whether the run transferred, mounted and tagged nothing: the destination had it all.
    pub fn is_noop(&self) -> bool {
        self.stats().is_noop()
    }
}

/// Why a mirror run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MirrorError {
    /// The destination could not be named for a source.
    #[error(transparent)]
    Set(#[from] SetError),
    /// registries.conf gives a source no pull source (its registry is blocked, or a rewrite
    /// fails): from [`SetPullSources::resolve`].
    #[error("{repository}: {source}")]
    PullSources {
        /// The source repository.
        repository: String,
        /// Why.
        #[source]
        source: Box<oci_client::registries::Error>,
    },
    /// Copying one repository failed (repositories before it are complete).
    #[error("{repository}: {source}")]
    Copy {
        /// The source repository.
        repository: String,
        /// The failure.
        #[source]
        source: CopyError,
    },
}

fn layout_at(dir: PathBuf) -> Location {
    Location::Layout(LayoutAddress { dir, target: None })
}

/// Mirrors every source of `set` to `destination`, reading from `origin`. `opts` gives the
/// concurrency, the referrers mode and the download options; each source sets its own
/// referrers and platform, and with [`MirrorOrigin::Registries`] its pull sources
/// ([`CopyOptions::pull_sources`] is replaced). The report keeps the set's order.
///
/// [`CopyOptions::concurrency`] is the number of requests at a time of the whole run: every
/// repository's copier takes its requests from one [`RequestLimit`] ([`CopyOptions::limit`]
/// when given, to share it beyond this run). Up to that many repositories are mirrored at a
/// time; one waiting for a request's turn costs nothing.
///
/// # Errors
///
/// [`MirrorError::Copy`] for the first repository that fails (the others in flight stop
/// between requests; what was written is whole, and running again continues).
pub async fn mirror(
    client: &Client,
    set: &MirrorSet,
    origin: &MirrorOrigin,
    destination: &MirrorDestination,
    opts: &CopyOptions,
) -> Result<MirrorReport, MirrorError> {
    use futures_util::{StreamExt as _, TryStreamExt as _};
    let mut opts = opts.clone();
    let limit = opts
        .limit
        .get_or_insert_with(|| RequestLimit::new(opts.concurrency));
    let repositories_at_a_time = limit.requests();
    let opts = &opts;
    // Unordered: a repository that finishes early makes room for the next one at once (in
    // order, a slow first repository would hold back every later one).
    let mut done: Vec<(usize, MirroredRepository)> =
        futures_util::stream::iter(set.sources.iter().enumerate())
            .map(|(i, source)| async move {
                let repository = mirror_one(client, source, origin, destination, opts).await?;
                Ok::<_, MirrorError>((i, repository))
            })
            .buffer_unordered(repositories_at_a_time)
            .try_collect()
            .await?;
    done.sort_by_key(|(i, _)| *i);
    let repositories = done.into_iter().map(|(_, r)| r).collect();
    Ok(MirrorReport { repositories })
}

/// Mirrors one source repository.
async fn mirror_one(
    client: &Client,
    source: &MirrorSource,
    origin: &MirrorOrigin,
    destination: &MirrorDestination,
    opts: &CopyOptions,
) -> Result<MirroredRepository, MirrorError> {
    let name = source.repository.name();
    let failed = |e: CopyError| MirrorError::Copy {
        repository: name.clone(),
        source: e,
    };
    let mut copy_opts = opts.clone();
    let from = match origin {
        MirrorOrigin::Registries(pulls) => {
            copy_opts.pull_sources = pulls.of(&source.repository).map(<[_]>::to_vec);
            Location::Registry(source.repository.clone())
        }
        MirrorOrigin::Layout(dir) => {
            match MirrorDestination::Layout(dir.clone()).place(&source.repository)? {
                Placed::Layout(d) => layout_at(d),
                Placed::Registry(r) => Location::Registry(r),
            }
        }
    };
    let placed = destination.place(&source.repository)?;
    let to = match &placed {
        Placed::Registry(r) => Location::Registry(r.clone()),
        Placed::Layout(d) => layout_at(d.clone()),
    };
    copy_opts.referrers = source.referrers;
    copy_opts.platform = source.platform.clone();
    let copier = Copier::open(client, &from, &to, &copy_opts)
        .await
        .map_err(failed)?;
    let mut roots = Vec::new();
    let mut tags_listed_by_mirror = None;
    match &source.selection {
        TagSelection::Digests(digests) => {
            for d in digests {
                let target = TagOrDigest::Digest(d.clone());
                roots.push(copier.copy(&target, &[]).await.map_err(failed)?);
            }
        }
        TagSelection::Tags(tags) => {
            for t in tags {
                let target = TagOrDigest::Tag(t.clone());
                let copied = copier.copy(&target, std::slice::from_ref(t));
                roots.push(copied.await.map_err(failed)?);
            }
        }
        selection @ (TagSelection::All | TagSelection::Pattern(_)) => {
            let listing = copier.source_tags().await.map_err(failed)?;
            tags_listed_by_mirror = listing.mirror;
            for t in listing.tags.iter().filter(|t| selection.matches(t)) {
                let target = TagOrDigest::Tag(t.clone());
                let copied = copier.copy(&target, std::slice::from_ref(t));
                roots.push(copied.await.map_err(failed)?);
            }
        }
    }
    Ok(MirroredRepository {
        source: source.repository.clone(),
        destination: placed,
        digest_only: matches!(source.selection, TagSelection::Digests(_)),
        roots,
        stats: copier.stats(),
        tags_listed_by_mirror,
    })
}

/// The `registries.conf` redirects for a run to a registry: one per source repository
/// (digest-only when every source of that repository named digests), `insecure` when the
/// mirror is reached over plain HTTP or unverified TLS. Layout destinations give none.
pub fn redirects(report: &MirrorReport, insecure: bool) -> Vec<Redirect> {
    let mut out: Vec<Redirect> = Vec::new();
    for r in &report.repositories {
        let Placed::Registry(mirror) = &r.destination else {
            continue;
        };
        let source = r.source.name();
        if let Some(existing) = out.iter_mut().find(|x| x.source == source) {
            existing.digest_only &= r.digest_only;
            continue;
        }
        let mut redirect = Redirect::new(source, mirror.name());
        redirect.insecure = insecure;
        redirect.digest_only = r.digest_only;
        out.push(redirect);
    }
    out
}
