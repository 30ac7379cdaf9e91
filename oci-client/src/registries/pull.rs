//! Pull sources (mirrors in file order, then the primary), the push target, and the rule
//! that decides whether a failed source falls through to the next one.

use oci_ref::Reference;
use serde::{Serialize, Serializer};

use super::error::{Error, Origin};
use super::matching::rewrite_reference;
use super::{PullFromMirror, RegistriesConf, Registry};

/// One place to pull a reference from: a mirror or the primary location, with the reference
/// rewritten for it.
///
/// Serialises (for `--json`) as
/// `{"reference": "host[:port]/repository[:tag][@digest]", "mirror": bool, "insecure": bool}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PullSource {
    /// The reference to request from this source, in canonical docker-style form.
    #[serde(serialize_with = "display")]
    pub reference: Reference,
    /// `true` for a `[[registry.mirror]]`, `false` for the primary location.
    pub mirror: bool,
    /// Plain HTTP and TLS without certificate verification are allowed for this source.
    pub insecure: bool,
}

/// A pull source that was dropped because its rewritten name is blocked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BlockedSource {
    /// The reference that would have been requested.
    pub reference: Reference,
    /// `true` for a mirror, `false` for the primary location.
    pub mirror: bool,
    /// The prefix of the blocking `[[registry]]` table.
    pub prefix: String,
    /// Where the blocking table is written.
    pub origin: Origin,
}

/// Every source for a pull, in order, and the ones dropped because they are blocked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PullPlan {
    /// The sources to try, in order: applicable mirrors in file order, then the primary.
    pub sources: Vec<PullSource>,
    /// Sources left out because their rewritten name matches a `blocked = true` table.
    pub blocked: Vec<BlockedSource>,
}

/// Where a push goes: the reference unchanged (registries.conf redirection and mirrors apply
/// to pulls only), with the `insecure` flag of its `[[registry]]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PushTarget {
    /// The reference to push to, in canonical docker-style form.
    #[serde(serialize_with = "display")]
    pub reference: Reference,
    /// Plain HTTP and TLS without certificate verification are allowed.
    pub insecure: bool,
}

fn display<S: Serializer>(reference: &Reference, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(reference)
}

impl RegistriesConf {
    /// All pull sources for `reference`, blocked ones included in [`PullPlan::blocked`].
    ///
    /// Following containers/image (`PullSourcesFromReference` and the docker transport):
    ///
    /// 1. The table is chosen by the repository name (`registry/repository`, without tag or
    ///    digest) with [`find_registry`](Self::find_registry). Without a table the only source
    ///    is the reference itself (secure).
    /// 2. Mirrors come first, in file order: with `mirror-by-digest-only` all of them for a
    ///    reference with a digest and none otherwise; else per mirror, `digest-only` mirrors
    ///    only for digest references and `tag-only` mirrors only for references without one.
    /// 3. The primary (the table's `location`) is always last.
    /// 4. Each source's reference is the original with the matched prefix replaced by that
    ///    source's location. A rewrite that does not give a valid canonical reference is an
    ///    [`Error::Rewrite`].
    /// 5. Each rewritten name is looked up again; when that table is `blocked`, the source is
    ///    moved to [`PullPlan::blocked`]. So `blocked = true` with mirrors means "only ever pull
    ///    from the mirrors".
    /// 6. `insecure` is the source's own flag (the mirror's, or the table's for the primary).
    ///
    /// # Errors
    ///
    /// [`Error::Rewrite`] when a prefix rewrite gives an invalid reference (blocked sources
    /// are listed in the plan, not refused).
    pub fn pull_plan(&self, reference: &Reference) -> Result<PullPlan, Error> {
        let Some(table) = self.find_registry(&reference.name()) else {
            let mut plan = PullPlan {
                sources: Vec::new(),
                blocked: Vec::new(),
            };
            self.admit(&mut plan, reference.clone(), false, false);
            return Ok(plan);
        };
        let digested = reference.digest().is_some();
        let mut endpoints: Vec<(&str, bool, bool)> = Vec::new();
        for m in &table.mirrors {
            let used = if table.mirror_by_digest_only {
                digested
            } else {
                match m.pull_from_mirror {
                    PullFromMirror::All => true,
                    PullFromMirror::DigestOnly => digested,
                    PullFromMirror::TagOnly => !digested,
                }
            };
            if used {
                endpoints.push((&m.location, m.insecure, true));
            }
        }
        endpoints.push((&table.location, table.insecure, false));

        let mut plan = PullPlan {
            sources: Vec::new(),
            blocked: Vec::new(),
        };
        for (location, insecure, mirror) in endpoints {
            let rewritten = rewrite(table, reference, location)?;
            self.admit(&mut plan, rewritten, mirror, insecure);
        }
        Ok(plan)
    }

    /// The sources to pull `reference` from, in order (see [`pull_plan`](Self::pull_plan)).
    ///
    /// Fails with [`Error::Blocked`] (naming the file of the blocking table) when every
    /// source is blocked, and with [`Error::Rewrite`] when a location cannot be applied.
    ///
    /// ```
    /// use oci_client::registries::RegistriesConf;
    /// use oci_ref::Reference;
    /// let conf = RegistriesConf::parse_str(r#"
    /// [[registry]]
    /// location = "quay.io"
    /// [[registry.mirror]]
    /// location = "internal.example.io/abcd"
    /// insecure = true
    /// "#, "registries.conf").expect("valid");
    /// let sources = conf.pull_sources(&Reference::parse("quay.io/podman/machine-os:5.3")?).expect("not blocked");
    /// assert_eq!(sources[0].reference.to_string(), "internal.example.io/abcd/podman/machine-os:5.3");
    /// assert!(sources[0].mirror && sources[0].insecure);
    /// assert_eq!(sources[1].reference.to_string(), "quay.io/podman/machine-os:5.3");
    /// # Ok::<(), oci_ref::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`RegistriesConf::pull_plan`], and [`Error::Blocked`] when every source is blocked.
    pub fn pull_sources(&self, reference: &Reference) -> Result<Vec<PullSource>, Error> {
        let plan = self.pull_plan(reference)?;
        if plan.sources.is_empty() {
            // The primary is last; report it (it is always present in `blocked` here).
            if let Some(b) = plan.blocked.into_iter().last() {
                return Err(Error::Blocked {
                    reference: b.reference.to_string(),
                    prefix: b.prefix,
                    origin: b.origin,
                });
            }
        }
        Ok(plan.sources)
    }

    /// Where to push `reference`.
    ///
    /// As in containers/image, neither mirrors nor the `location` rewrite apply to pushes:
    /// the reference is returned unchanged. Its table's `blocked` is checked (an
    /// [`Error::Blocked`]) and its `insecure` flag returned.
    ///
    /// # Errors
    ///
    /// [`Error::Blocked`] when the table of `reference`'s registry is `blocked`.
    pub fn push_target(&self, reference: &Reference) -> Result<PushTarget, Error> {
        let table = self.find_registry(&reference.name());
        if let Some(t) = table.filter(|t| t.blocked) {
            return Err(Error::Blocked {
                reference: reference.to_string(),
                prefix: t.prefix.clone(),
                origin: t.origin.clone(),
            });
        }
        Ok(PushTarget {
            reference: reference.clone(),
            insecure: table.is_some_and(|t| t.insecure),
        })
    }

    fn admit(&self, plan: &mut PullPlan, reference: Reference, mirror: bool, insecure: bool) {
        match self.find_registry(&reference.name()).filter(|t| t.blocked) {
            Some(t) => plan.blocked.push(BlockedSource {
                reference,
                mirror,
                prefix: t.prefix.clone(),
                origin: t.origin.clone(),
            }),
            None => plan.sources.push(PullSource {
                reference,
                mirror,
                insecure,
            }),
        }
    }
}

fn rewrite(table: &Registry, reference: &Reference, location: &str) -> Result<Reference, Error> {
    rewrite_reference(reference, &table.prefix, location).map_err(|source| Error::Rewrite {
        origin: table.origin.clone(),
        prefix: table.prefix.clone(),
        location: location.to_owned(),
        reference: reference.to_string(),
        source: Box::new(source),
    })
}

/// How one pull source failed, as classified by the caller (the HTTP layer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceFailure {
    /// The source does not have the manifest or blob (HTTP 404, `MANIFEST_UNKNOWN`,
    /// `BLOB_UNKNOWN`, `NAME_UNKNOWN`).
    NotFound,
    /// The source could not be reached: DNS, connection refused or reset, TLS handshake,
    /// timeout.
    Connection,
    /// The source served content that does not match the requested digest or size.
    Integrity,
    /// Anything else: authentication refused, a malformed response, a limit exceeded, a
    /// server error.
    Other,
}

/// Whether a pull that failed at one source should go on to the next source.
///
/// Not-found and connection failures fall through, as does content that fails digest or
/// size verification (a mirror must not be able to poison a pull; the next source may have
/// the right bytes). Every other failure stops the pull, so a misconfiguration or a refused
/// credential is reported instead of being hidden by a later source.
///
/// # Deviation
///
/// containers/image tries the next source after any failure. We stop on failures that are
/// not about the source lacking or corrupting the content, so the error the user sees is the
/// one that needs fixing.
pub fn falls_through(failure: SourceFailure) -> bool {
    match failure {
        SourceFailure::NotFound | SourceFailure::Connection | SourceFailure::Integrity => true,
        SourceFailure::Other => false,
    }
}
