//! [`Reference`]: a fully qualified `registry/repository[:tag][@digest]`.

use std::fmt;
use std::str::FromStr;

use crate::digest::Digest;
use crate::error::Error;
use crate::tag::{Tag, TagOrDigest};
use crate::{DOCKER_HUB, DOCKER_HUB_API_HOST, grammar, normalize};

/// A fully qualified, normalised reference to a manifest in a registry.
///
/// Invariants held by every constructor: the registry and repository are valid per the
/// grammar, and at least one of tag and digest is present (normalisation adds `latest`).
///
/// `Display` gives the canonical docker-style form, `registry/repository[:tag][@digest]`,
/// and parsing that form gives back an equal value. A registry that docker-style parsing would
/// not recognise as one (no `.` or `:`, not `localhost`, e.g. from `oci://myregistry/app`) is
/// displayed in the URL form, `oci://myregistry/app:latest`, so the round trip still holds.
///
/// ```
/// use oci_ref::Reference;
/// let r: Reference = "ubuntu".parse()?;
/// assert_eq!(r.to_string(), "docker.io/library/ubuntu:latest");
/// assert_eq!(r.api_host(), "registry-1.docker.io");
///
/// // Ironic-style URLs, including the `container:@sha256:…` form of its documentation:
/// let r: Reference = "oci://registry.example:5000/project/disk:@sha256:0a175cf13c651f44750d6a5cf0cf2f75d933bd591315d77e19105e5446b73a86".parse()?;
/// assert_eq!(r.registry(), "registry.example:5000");
/// assert_eq!(r.tag(), None);
/// assert!(r.digest().is_some());
///
/// // An edge case: with no '/', `test.com:5000` is the Docker Hub repository
/// // `library/test.com` with tag `5000`, not a registry.
/// let r: Reference = "test.com:5000".parse()?;
/// assert_eq!(r.to_string(), "docker.io/library/test.com:5000");
/// # Ok::<(), oci_ref::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parses either form: an `oci://` URL (scheme matched case-insensitively) or a
    /// docker-style reference. Any other `scheme://` is [`Error::UnsupportedScheme`].
    ///
    /// # Errors
    ///
    /// [`Error::UnsupportedScheme`] for a `scheme://` other than `oci://`; otherwise the errors of
    /// [`Reference::parse_oci_url`] or [`Reference::parse_docker`].
    pub fn parse(s: &str) -> Result<Reference, Error> {
        if grammar::url_scheme(s).is_some() {
            Reference::parse_oci_url(s)
        } else {
            Reference::parse_docker(s)
        }
    }

    /// Parses and normalises a docker-style reference.
    ///
    /// Grammar (distribution/reference, with the domain rule below):
    ///
    /// ```text
    /// reference        := name [ ":" tag ] [ "@" digest ]
    /// name             := [domain "/"] path
    /// domain           := host [":" port]
    /// host             := domain-name | IPv4address | "[" IPv6address "]"
    /// domain-name      := domain-component ("." domain-component)*
    /// domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
    /// port             := [0-9]+                                  ; 1 to 65535 here
    /// path             := path-component ("/" path-component)*     ; at most 255 characters
    /// path-component   := alpha-numeric (separator alpha-numeric)*
    /// alpha-numeric    := [a-z0-9]+
    /// separator        := [_.] | "__" | "-"+
    /// tag              := [\w][\w.-]{0,127}
    /// digest           := see Digest::parse
    /// ```
    ///
    /// The first `/`-separated component is the domain only if it contains `.` or `:` or is
    /// `localhost`. Whitespace and control characters are rejected anywhere. The result is
    /// normalised by [`normalize::normalize`].
    ///
    /// # Deviation
    ///
    /// - Docker also treats a first component with upper-case letters as a domain. We do not:
    ///   such input is rejected with "repository name must be lower-case", which is what the user
    ///   almost always meant. The exception is `localhost`, recognised in any case
    ///   (`LOCALHOST/app` is registry `localhost`), as host names are case-insensitive.
    /// - The registry is lower-cased (see [`normalize::normalize`]).
    /// - A port must be from 1 to 65535; a bracketed IPv6 address must be a valid address (no zone
    ///   identifier). Distribution accepts any digits and any hex-and-colon text.
    /// - The 255-character limit applies to the normalised repository path (with `library/`),
    ///   not to the registry; older distribution versions counted the registry too.
    ///
    /// # Errors
    ///
    /// An [`Error`] naming the part that is wrong: empty input, a forbidden character, a part that
    /// does not match its grammar (registry, repository, tag, digest), an upper-case repository, a
    /// repository longer than [`MAX_NAME_TOTAL_LENGTH`](crate::MAX_NAME_TOTAL_LENGTH) or a tag
    /// longer than [`MAX_TAG_LENGTH`](crate::MAX_TAG_LENGTH).
    pub fn parse_docker(s: &str) -> Result<Reference, Error> {
        normalize::normalize(grammar::parse_docker(s)?)
    }

    /// Parses and normalises an `oci://host[:port]/path[:tag][@digest]` URL.
    ///
    /// The host is always the first component, with or without a dot. `:tag@digest` keeps
    /// both; the digest is what gets fetched.
    ///
    /// # Deviation
    ///
    /// Ironic's documentation writes digest references as `oci://host/container:@sha256:…`
    /// (an empty tag before `@`). The grammar has no empty tags; we accept this form and treat it
    /// as a digest-only reference. An empty tag *without* a digest is still an error.
    ///
    /// # Errors
    ///
    /// [`Error::MissingScheme`] without `scheme://`, [`Error::UnsupportedScheme`] for another
    /// scheme, [`Error::CredentialsInUrl`] for `user[:password]@`, and otherwise the same errors as
    /// [`Reference::parse_docker`] for the host, path, tag and digest.
    pub fn parse_oci_url(s: &str) -> Result<Reference, Error> {
        normalize::normalize(grammar::parse_oci_url(s)?)
    }

    /// Builds a reference from parts, validating each. `registry` must be given (no Docker Hub
    /// defaulting happens here) and at least one of `tag` and `digest`.
    ///
    /// The registry and repository are normalised as when parsing: the registry is lower-cased,
    /// `index.docker.io` becomes `docker.io`, and a single-component Docker Hub repository gains
    /// `library/`.
    ///
    /// # Errors
    ///
    /// [`Error::MissingTagOrDigest`] when both are `None`; otherwise an [`Error`] naming the
    /// registry, repository, tag or digest that is not valid (as when parsing).
    pub fn new(
        registry: &str,
        repository: &str,
        tag: Option<&str>,
        digest: Option<Digest>,
    ) -> Result<Reference, Error> {
        grammar::validate_domain(registry)?;
        grammar::validate_path(repository)?;
        if let Some(t) = tag {
            crate::tag::validate(t)?;
        }
        if tag.is_none() && digest.is_none() {
            return Err(Error::MissingTagOrDigest);
        }
        let registry = normalize::normalize_registry(registry);
        let repository = normalize::normalize_repository(&registry, repository);
        grammar::check_path_length(&repository)?;
        Ok(Reference::from_parts_unchecked(
            registry,
            repository,
            tag.map(str::to_owned),
            digest,
        ))
    }

    pub(crate) fn from_parts_unchecked(
        registry: String,
        repository: String,
        tag: Option<String>,
        digest: Option<Digest>,
    ) -> Reference {
        Reference {
            registry,
            repository,
            tag,
            digest,
        }
    }

    /// The registry as named in references: `host[:port]`, `docker.io` for Docker Hub.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The host to send HTTP requests to: [`DOCKER_HUB_API_HOST`] for Docker Hub, else the
    /// registry itself.
    pub fn api_host(&self) -> &str {
        api_host(&self.registry)
    }

    /// The repository path, e.g. `library/ubuntu`.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag, if the reference has one.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if the reference has one.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// What goes after `/manifests/` in a request: the digest when present (it wins over a
    /// tag), else the tag.
    pub fn manifest_reference(&self) -> &str {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.as_str(),
            (None, Some(t)) => t,
            // Unreachable by construction: every constructor requires a tag or a digest.
            (None, None) => crate::DEFAULT_TAG,
        }
    }

    /// The tag as a [`Tag`], if the reference has one.
    pub fn typed_tag(&self) -> Option<Tag> {
        self.tag.clone().map(Tag)
    }

    /// What the reference names in its repository: the digest when present (it wins over a
    /// tag), else the tag.
    pub fn target(&self) -> TagOrDigest {
        match (&self.digest, &self.tag) {
            (Some(d), _) => TagOrDigest::Digest(d.clone()),
            (None, Some(t)) => TagOrDigest::Tag(Tag(t.clone())),
            // Unreachable by construction: every constructor requires a tag or a digest.
            (None, None) => TagOrDigest::Tag(Tag::latest()),
        }
    }

    /// The same repository pinned to `digest`, without a tag.
    pub fn pinned(&self, digest: Digest) -> Reference {
        Reference {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            tag: None,
            digest: Some(digest),
        }
    }

    /// The same repository with `tag` and no digest.
    ///
    /// # Errors
    ///
    /// An [`Error`] with [`Part::Tag`](crate::Part::Tag) when `tag` is not a valid tag (empty, too
    /// long, or a character outside `[A-Za-z0-9_.-]`, or not starting with a word character).
    pub fn with_tag(&self, tag: &str) -> Result<Reference, Error> {
        crate::tag::validate(tag)?;
        Ok(Reference {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            tag: Some(tag.to_owned()),
            digest: None,
        })
    }

    /// Another repository on the same registry, with the same tag and digest. On Docker Hub a
    /// single-component repository gains `library/`, as when parsing.
    ///
    /// # Errors
    ///
    /// An [`Error`] with [`Part::Repository`](crate::Part::Repository) when `repository` is not a
    /// valid path or, normalised, is longer than
    /// [`MAX_NAME_TOTAL_LENGTH`](crate::MAX_NAME_TOTAL_LENGTH).
    pub fn with_repository(&self, repository: &str) -> Result<Reference, Error> {
        grammar::validate_path(repository)?;
        let repository = normalize::normalize_repository(&self.registry, repository);
        grammar::check_path_length(&repository)?;
        Ok(Reference {
            repository,
            ..self.clone()
        })
    }

    /// The same reference without its tag, if it has a digest (a digest-only reference is what
    /// gets fetched); `None` when the tag is all it has.
    pub fn without_tag(&self) -> Option<Reference> {
        self.digest.as_ref().map(|d| self.pinned(d.clone()))
    }

    /// `registry/repository`: the repository's full name, without tag or digest (as errors and
    /// listings name a repository).
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The `oci://registry/repository[:tag][@digest]` URL form.
    pub fn to_oci_url(&self) -> String {
        let mut url = String::from("oci://");
        // Writing to a String cannot fail.
        let _ = self.write_body(&mut url);
        url
    }

    /// Writes `registry/repository[:tag][@digest]`.
    fn write_body(&self, f: &mut impl fmt::Write) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// The host that serves the HTTP API for `registry` (`registry-1.docker.io` for `docker.io`).
pub fn api_host(registry: &str) -> &str {
    if registry == DOCKER_HUB {
        DOCKER_HUB_API_HOST
    } else {
        registry
    }
}

impl FromStr for Reference {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !grammar::is_domain_like(&self.registry) {
            f.write_str("oci://")?;
        }
        self.write_body(f)
    }
}
