//! Tag listings through the pull sources.
//!
//! A manifest or blob is the same bytes wherever it is found, but a tag list is not: a mirror's
//! list can be partial (a pull-through cache lists what it has cached; a mirror fed by digest
//! lists nothing). So [`RegistrySource::tags`] asks the primary location first, as skopeo's
//! `list-tags` and `sync` do, and goes on to the mirrors, in order, only when the primary
//! cannot be reached (connection failure or timeout, [`classify`]'s
//! [`SourceFailure::Connection`]): a disconnected site that names the upstream repositories
//! still lists them from its mirror. Any other failure of the primary (not found, refused
//! credentials) is the answer. When the pull sources have no primary (registries.conf blocks
//! it, leaving only mirrors), the mirrors answer and the blocked registry is never asked. A
//! listing that came from a mirror says so ([`TagListing::mirror`]), for the caller to tell
//! its user; an error after the primary could not be reached names that failure first,
//! whether every mirror failed too ([`PullSourceError::Exhausted`]) or one stopped the walk
//! ([`PullSourceError::Stopped`], among the attempts before it).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use oci_client::Repository;
use oci_client::registries::{PullSource, SourceFailure};

use super::{Attempts, PullSourceError, RegistrySource, SourceAttempt, classify};

/// A repository's tags ([`RegistrySource::tags`]) and, when a mirror listed them rather than
/// the primary location, which mirror and why. `T` is a tag as listed: the registry's names
/// (`String`), or [`oci_ref::Tag`]s once checked ([`crate::copy::Copier::source_tags`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TagListing<T = String> {
    /// The tags. From [`RegistrySource::tags`], as the source listed them, in its order (the
    /// distribution-spec asks for lexical order; registries do not all keep it), duplicates
    /// and all. From [`Copier::source_tags`](crate::copy::Copier::source_tags), the valid tags
    /// among them, sorted, each once.
    pub tags: Vec<T>,
    /// `None` when the primary location listed them (or, for a layout, the layout); otherwise
    /// the mirror that did. Its list can be partial: worth a warning.
    pub mirror: Option<MirrorListing>,
}

impl<T> TagListing<T> {
    /// `tags` as listed by the mirror `mirror` (`primary`: why the primary did not).
    fn by_mirror(
        tags: Vec<T>,
        mirror: &PullSource,
        primary: Option<Arc<SourceAttempt>>,
    ) -> TagListing<T> {
        TagListing {
            tags,
            mirror: Some(MirrorListing {
                mirror: mirror.clone(),
                primary,
            }),
        }
    }

    /// The same listing with other tags (the same mirror, if any).
    pub fn with_tags<U>(self, tags: Vec<U>) -> TagListing<U> {
        TagListing {
            tags,
            mirror: self.mirror,
        }
    }
}

/// A mirror listed a repository's tags instead of its primary location. Displays as the
/// warning a user should see: `tags listed by mirror HOST/REPO (the primary HOST/REPO could not
/// be reached: …)`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MirrorListing {
    /// The mirror, with its repository as registries.conf rewrote it.
    pub mirror: PullSource,
    /// The primary's failure to connect (shared, so that reports holding the listing can be
    /// cloned); `None` when the pull sources have no primary (registries.conf blocks it).
    pub primary: Option<Arc<SourceAttempt>>,
}

impl fmt::Display for MirrorListing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tags listed by mirror {}", self.mirror.reference.name())?;
        match &self.primary {
            Some(p) => write!(
                f,
                " (the primary {} could not be reached: {})",
                p.reference, p.error
            ),
            None => f.write_str(" (no primary to ask: registries.conf blocks it)"),
        }
    }
}

impl RegistrySource {
    /// The repository's tags, as the primary location lists them; from the first mirror that
    /// answers only when the primary cannot be reached, or when there is no primary among the
    /// sources (see the module docs). [`TagListing::mirror`] says which mirror listed them, and
    /// why.
    ///
    /// # Errors
    ///
    /// [`PullSourceError::Stopped`] when the primary answered with a failure (not found,
    /// refused credentials, a server error), or a mirror asked after it failed in a way that
    /// does not fall through (then with the primary's failure to connect first among its
    /// `earlier` attempts); [`PullSourceError::Exhausted`] when neither the primary nor any
    /// mirror could list them (the primary's failure first); [`PullSourceError::NoSources`]
    /// without sources.
    pub async fn tags(&self) -> Result<TagListing, PullSourceError> {
        let what = "tags";
        let list = |repo: Repository| async move { repo.tags(None).await };
        let endpoints = &self.shared.endpoints;
        let Some(p) = endpoints.iter().position(|e| !e.source.mirror) else {
            let (i, tags) = self.walk(what, list).await?;
            return Ok(TagListing::by_mirror(tags, &endpoints[i].source, None));
        };
        let primary = &endpoints[p];
        self.shared.requests.fetch_add(1, Ordering::Relaxed);
        let failure = match list(primary.repo.clone()).await {
            Ok(tags) => return Ok(TagListing { tags, mirror: None }),
            Err(e) if classify(&e) == SourceFailure::Connection => SourceAttempt {
                reference: primary.source.reference.name(),
                mirror: false,
                error: e,
            },
            Err(e) => {
                return Err(PullSourceError::Stopped {
                    what: what.to_owned(),
                    reference: primary.source.reference.name(),
                    source: Box::new(e),
                    earlier: Attempts(Vec::new()),
                });
            }
        };
        let mirrors = (0..endpoints.len()).filter(|&i| i != p);
        match self.walk_in(what, mirrors, list, |_| false).await {
            Ok((i, tags)) => Ok(TagListing::by_mirror(
                tags,
                &endpoints[i].source,
                Some(Arc::new(failure)),
            )),
            // The primary's failure comes first in every error, as it was asked first.
            Err(PullSourceError::Exhausted { what, mut attempts }) => {
                attempts.0.insert(0, failure);
                Err(PullSourceError::Exhausted { what, attempts })
            }
            Err(PullSourceError::Stopped {
                what,
                reference,
                source,
                mut earlier,
            }) => {
                earlier.0.insert(0, failure);
                Err(PullSourceError::Stopped {
                    what,
                    reference,
                    source,
                    earlier,
                })
            }
            Err(PullSourceError::NoSources { what }) => Err(PullSourceError::Exhausted {
                what,
                attempts: Attempts(vec![failure]),
            }),
            Err(e) => Err(e),
        }
    }
}
