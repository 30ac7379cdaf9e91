//! Mirroring a set of repositories ([`MirrorSet`], a small TOML file) to a registry prefix or
//! to OCI layouts on disk, and back from disk to a registry: oc-mirror's mirror-to-disk and
//! disk-to-mirror, `skopeo sync`, `oras backup`/`restore`.
//!
//! Each repository is one [`Copier`] (the one graph walker, [`crate::copy`]): concurrent,
//! content-addressed, referrers included unless the set says otherwise. The copiers of a run
//! share one [`RequestLimit`](crate::copy::RequestLimit): [`CopyOptions::concurrency`] is the
//! number of requests of the whole run, as oras users read `--concurrency`, not that number
//! per repository (64 repositories of 64 requests each would be 4096 connections). A second
//! run of the same set finds every manifest at the destination and transfers nothing
//! ([`MirrorReport::is_noop`]); an interrupted run, run again, copies only what is missing.
//! Sources are read through registries.conf ([`MirrorOrigin::Registries`]) as `pull` reads them,
//! so a site can mirror from a local pull-through cache while naming the upstream repositories.
//! Their pull sources are resolved once, before the run ([`SetPullSources::resolve`]): the
//! caller needs them first, to let its client talk plain HTTP to the mirrors registries.conf
//! marks insecure ([`SetPullSources::insecure_hosts`]). A source they were not resolved for is
//! resolved when the run starts, with the same registries.conf: none is read past it.
//!
//! Sources placed at one destination (a repository named twice, with other tags; two
//! registries' repositories of one name under one registry prefix) are mirrored one after
//! another: two copiers writing one layout's `index.json` at once could each lose the other's
//! entry. A registry destination is grouped too: where it has no referrers API, each copy
//! edits the fallback referrers indexes (`<alg>-<hex>` tags) read-modify-write as well. The
//! client serialises the edits of one subject ([`oci_client::FallbackEdit`]), but without a
//! conditional request, so that holds within one client only; and one copier at a time per
//! destination also keeps two walks from sending the blobs and manifests their sources share
//! twice. Other sources run side by side.
//!
//! [`redirects`] gives the `registries.conf` entries that send consumers' pulls of the mirrored
//! names to the mirror (written by [`oci_client::registries::redirects_toml`]).

mod set;

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap, btree_map};
use std::path::PathBuf;

use oci_client::Client;
use oci_client::registries::{PullSource, Redirect, RegistriesConf};
use oci_ref::{Reference, TagOrDigest};

use crate::copy::{Copied, Copier, CopyError, CopyOptions, CopyStats, Location};
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
    /// the upstream repositories. A source these were not resolved for (the default resolved
    /// none) is resolved when the run starts, through the same registries.conf; with the
    /// default, an empty registries.conf, that is its own registry.
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

/// The pull sources registries.conf gives each source repository of a set, resolved once,
/// and the registries.conf they came from (for a repository of another set).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetPullSources {
    /// The configuration resolved from.
    conf: RegistriesConf,
    /// Per source repository, by name.
    by_repository: BTreeMap<String, Vec<PullSource>>,
}

impl SetPullSources {
    /// The pull sources `conf` gives every source of `set`.
    ///
    /// # Errors
    ///
    /// [`MirrorError::PullSources`] for the first source `conf` gives none (its registry is
    /// blocked, or a rewrite fails).
    pub fn resolve(conf: &RegistriesConf, set: &MirrorSet) -> Result<SetPullSources, MirrorError> {
        let mut by_repository = BTreeMap::new();
        for source in &set.sources {
            if let btree_map::Entry::Vacant(entry) = by_repository.entry(source.repository.name()) {
                entry.insert(pull_sources(conf, &source.repository)?);
            }
        }
        Ok(SetPullSources {
            conf: conf.clone(),
            by_repository,
        })
    }

    /// The hosts among all the pull sources that registries.conf marks insecure (plain HTTP
    /// and unverified TLS allowed), each once, sorted.
    pub fn insecure_hosts(&self) -> Vec<String> {
        let hosts: BTreeSet<String> = self
            .by_repository
            .values()
            .flat_map(|s| insecure_hosts(s))
            .collect();
        hosts.into_iter().collect()
    }

    /// The pull sources of `repository`: as resolved, or, for a repository of another set,
    /// resolved now with the same registries.conf (a blocked one is refused all the same; its
    /// insecure mirrors are not among [`SetPullSources::insecure_hosts`]).
    fn of(&self, repository: &Reference) -> Result<Vec<PullSource>, MirrorError> {
        let name = repository.name();
        match self.by_repository.get(&name) {
            Some(sources) => Ok(sources.clone()),
            None => pull_sources(&self.conf, repository),
        }
    }
}

/// The pull sources `conf` gives `repository`.
fn pull_sources(
    conf: &RegistriesConf,
    repository: &Reference,
) -> Result<Vec<PullSource>, MirrorError> {
    conf.pull_sources(repository)
        .map_err(|e| MirrorError::PullSources {
            repository: repository.name(),
            source: Box::new(e),
        })
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
    /// fails): from [`SetPullSources::resolve`], or [`mirror`] for a source not resolved there.
    #[error("resolving pull sources for {repository}: {source}")]
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
/// repository's copier takes its requests from one [`RequestLimit`](crate::copy::RequestLimit)
/// ([`CopyOptions::limit`] when given, to share it beyond this run). Up to that many
/// repositories are mirrored at a time; one waiting for a request's turn costs nothing.
/// Sources placed at one destination, a layout or a registry repository, are mirrored one
/// after another, in set order (each still has its own report entry; why in the module
/// docs). The `oci-fetch mirror` default is
/// [`DEFAULT_MIRROR_CONCURRENCY`](crate::copy::DEFAULT_MIRROR_CONCURRENCY), not
/// [`CopyOptions::default`]'s.
///
/// # Errors
///
/// Before anything is copied: [`MirrorError::Set`] for a source that cannot be placed at the
/// destination, [`MirrorError::PullSources`] for one registries.conf gives no pull source.
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
    let repositories_at_a_time = opts.request_limit().requests();
    let opts = &opts;
    let planned = set
        .sources
        .iter()
        .map(|source| Planned::new(source, origin, destination))
        .collect::<Result<Vec<_>, _>>()?;
    let planned = &planned;
    // Unordered: a destination that finishes early makes room for the next one at once (in
    // order, a slow first repository would hold back every later one).
    let mut done: Vec<(usize, MirroredRepository)> =
        futures_util::stream::iter(by_destination(planned.iter().map(|p| &p.placed)))
            .map(|sources| async move {
                let mut done = Vec::with_capacity(sources.len());
                for i in sources {
                    done.push((i, mirror_one(client, &planned[i], opts).await?));
                }
                Ok::<_, MirrorError>(done)
            })
            .buffer_unordered(repositories_at_a_time)
            .try_concat()
            .await?;
    done.sort_by_key(|(i, _)| *i);
    let repositories = done.into_iter().map(|(_, r)| r).collect();
    Ok(MirrorReport { repositories })
}

/// One source of a run, with both its ends.
struct Planned<'a> {
    source: &'a MirrorSource,
    from: Location,
    /// With [`MirrorOrigin::Registries`]: where the source is read.
    pull_sources: Option<Vec<PullSource>>,
    placed: Placed,
}

impl Planned<'_> {
    fn new<'a>(
        source: &'a MirrorSource,
        origin: &MirrorOrigin,
        destination: &MirrorDestination,
    ) -> Result<Planned<'a>, MirrorError> {
        let (from, pull_sources) = match origin {
            MirrorOrigin::Registries(pulls) => (
                Location::Registry(source.repository.clone()),
                Some(pulls.of(&source.repository)?),
            ),
            MirrorOrigin::Layout(dir) => {
                let from = match MirrorDestination::Layout(dir.clone()).place(&source.repository)? {
                    Placed::Layout(d) => layout_at(d),
                    Placed::Registry(r) => Location::Registry(r),
                };
                (from, None)
            }
        };
        Ok(Planned {
            source,
            from,
            pull_sources,
            placed: destination.place(&source.repository)?,
        })
    }
}

/// The indexes of the sources placed at `placed` (in set order) grouped by destination, each
/// group in set order, the groups in the order of their first source: a group's sources run
/// one after another (why, for a layout and for a registry repository, in the module docs).
/// One map lookup per source: a set of thousands of sources groups in linear time.
fn by_destination<'a>(placed: impl IntoIterator<Item = &'a Placed>) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group_of: HashMap<&Placed, usize> = HashMap::new();
    for (i, p) in placed.into_iter().enumerate() {
        match group_of.entry(p) {
            Entry::Occupied(group) => groups[*group.get()].push(i),
            Entry::Vacant(slot) => {
                slot.insert(groups.len());
                groups.push(vec![i]);
            }
        }
    }
    groups
}

/// Mirrors one source repository.
async fn mirror_one(
    client: &Client,
    planned: &Planned<'_>,
    opts: &CopyOptions,
) -> Result<MirroredRepository, MirrorError> {
    let Planned {
        source,
        from,
        pull_sources,
        placed,
    } = planned;
    let name = source.repository.name();
    let failed = |e: CopyError| MirrorError::Copy {
        repository: name.clone(),
        source: e,
    };
    let mut copy_opts = opts.clone();
    if pull_sources.is_some() {
        copy_opts.pull_sources.clone_from(pull_sources);
    }
    let to = match placed {
        Placed::Registry(r) => Location::Registry(r.clone()),
        Placed::Layout(d) => layout_at(d.clone()),
    };
    copy_opts.referrers = source.referrers;
    copy_opts.platform = source.platform.clone();
    let copier = Copier::open(client, from, &to, &copy_opts)
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
        destination: placed.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_at_one_destination_are_one_group_in_set_order() {
        let registry = |name: &str| {
            let r = Reference::parse(&format!("mirror.example/{name}")).expect("valid reference");
            Placed::Registry(r)
        };
        let layout = |dir: &str| Placed::Layout(PathBuf::from(dir));
        let placed = [
            registry("a"),
            layout("disk/a"),
            registry("b"),
            registry("a"),
            layout("disk/a"),
            layout("disk/b"),
            registry("a"),
        ];
        // Groups in the order of their first source, each in set order; a registry repository
        // and a layout of the same name are different destinations.
        assert_eq!(
            by_destination(&placed),
            [vec![0, 3, 6], vec![1, 4], vec![2], vec![5]]
        );
        assert!(by_destination(&[]).is_empty());
    }
}
