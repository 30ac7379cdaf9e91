//! Short names (`fedora`, `library/fedora:39`): `[aliases]` first, then
//! `unqualified-search-registries` — but only when exactly one candidate remains.

use std::path::PathBuf;

use oci_ref::Reference;
use oci_ref::grammar::Parsed;

use super::RegistriesConf;
use super::error::{Error, Origin};

/// The outcome of [`RegistriesConf::resolve_short_name`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShortNameResolution {
    /// The input names a registry (or is an `oci://` URL): it is not a short name and is
    /// returned normalised.
    Qualified(Reference),
    /// An `[aliases]` entry resolved the name.
    Alias {
        /// The resolved reference, with the input's tag or digest (else `latest`).
        reference: Reference,
        /// Where the alias is defined.
        origin: Origin,
    },
    /// The only `unqualified-search-registries` entry resolved the name.
    SearchRegistry {
        /// The resolved reference.
        reference: Reference,
        /// The file that set `unqualified-search-registries`.
        origin: Option<PathBuf>,
    },
}

impl ShortNameResolution {
    /// The resolved reference.
    pub fn reference(&self) -> &Reference {
        match self {
            ShortNameResolution::Qualified(r) => r,
            ShortNameResolution::Alias { reference, .. } => reference,
            ShortNameResolution::SearchRegistry { reference, .. } => reference,
        }
    }
}

impl RegistriesConf {
    /// Resolves a possibly short image name to one fully qualified reference.
    ///
    /// - A name whose first component is a host (contains `.` or `:`, or is `localhost`), and
    ///   any `oci://` URL, is not short: it is parsed and normalised.
    /// - Otherwise the name without tag or digest is looked up in `[aliases]`; a match gives
    ///   the alias with the input's tag or digest re-attached.
    /// - Otherwise, with exactly one `unqualified-search-registries` entry, the name is
    ///   qualified with it (docker.io-normalised: `docker.io` + `fedora` is
    ///   `docker.io/library/fedora`).
    /// - No entries: [`Error::UnresolvedShortName`]. Several: [`Error::AmbiguousShortName`]
    ///   listing the candidates.
    ///
    /// # Deviation
    ///
    /// containers/image may try every search registry in turn (`permissive` without a
    /// terminal, or `disabled` mode) or prompt on a terminal. Trying several registries in turn
    /// lets whoever registers the name first on an earlier registry serve the image
    /// ("squatting"), so we never do: `short-name-mode` is parsed and reported but does not
    /// change this. The machine-written `short-name-aliases.conf` is not read.
    ///
    /// ```
    /// use oci_client::registries::RegistriesConf;
    /// let conf = RegistriesConf::parse_str(r#"
    /// unqualified-search-registries = ["quay.io", "docker.io"]
    /// [aliases]
    /// "fedora" = "registry.fedoraproject.org/fedora"
    /// "#, "registries.conf").expect("valid");
    /// let r = conf.resolve_short_name("fedora:40").expect("alias");
    /// assert_eq!(r.reference().to_string(), "registry.fedoraproject.org/fedora:40");
    /// assert!(conf.resolve_short_name("alpine").is_err()); // two candidates: no guessing
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`] when `input` (or the reference an alias or the one search
    /// registry makes of it) is not a valid reference, [`Error::AmbiguousShortName`] when
    /// several search registries could serve it and no alias says which,
    /// [`Error::UnresolvedShortName`] when there is no search registry.
    pub fn resolve_short_name(&self, input: &str) -> Result<ShortNameResolution, Error> {
        let invalid = |source| Error::InvalidName {
            input: input.to_owned(),
            source,
        };
        if input.contains("://") {
            return Reference::parse(input)
                .map(ShortNameResolution::Qualified)
                .map_err(invalid);
        }
        let parsed = oci_ref::grammar::parse_docker(input).map_err(invalid)?;
        if parsed.domain.is_some() {
            return oci_ref::normalize::normalize(parsed)
                .map(ShortNameResolution::Qualified)
                .map_err(invalid);
        }

        if let Some(alias) = self.aliases.get(parsed.path)
            && let Some(target) = &alias.target
        {
            let reference =
                qualify(&target.registry, &target.repository, &parsed).map_err(invalid)?;
            return Ok(ShortNameResolution::Alias {
                reference,
                origin: alias.origin.clone(),
            });
        }

        let search = self.unqualified_search_registries();
        match search {
            [] => Err(Error::UnresolvedShortName {
                name: input.to_owned(),
                origin: self.search_origin.clone(),
            }),
            [only] => {
                let reference = qualify(only, parsed.path, &parsed).map_err(invalid)?;
                Ok(ShortNameResolution::SearchRegistry {
                    reference,
                    origin: self.search_origin.clone(),
                })
            }
            several => {
                let mut candidates = Vec::with_capacity(several.len());
                for registry in several {
                    candidates.push(
                        qualify(registry, parsed.path, &parsed)
                            .map_err(invalid)?
                            .to_string(),
                    );
                }
                Err(Error::AmbiguousShortName {
                    name: input.to_owned(),
                    candidates,
                    origin: self.search_origin.clone(),
                })
            }
        }
    }
}

/// `registry/path` with the tag and digest of `short`, docker.io-normalised.
fn qualify(registry: &str, path: &str, short: &Parsed<'_>) -> Result<Reference, oci_ref::Error> {
    let parsed = Parsed {
        domain: Some(registry),
        path,
        tag: short.tag,
        digest: short.digest.clone(),
    };
    oci_ref::normalize::normalize(parsed)
}
