//! Where a publishing command works: a repository in a registry, or with `--oci-layout` an OCI
//! image layout on disk addressed `DIR[:TAG]` or `DIR@DIGEST` (like `oras ... --oci-layout`).

use anyhow::anyhow;
use oci_fetch::layout::{LayoutAddress, OciLayout, parse_layout_address};
use oci_fetch::publish::Store;
use oci_ref::Reference;
use oci_ref::TagOrDigest;

use crate::Failure;
use crate::cmd_push::repository;
use crate::common::{DistributionSpec, GlobalArgs};

/// A registry repository or an OCI layout, opened.
pub(crate) enum Place {
    Registry {
        reference: Reference,
        repo: oci_client::Repository,
    },
    Layout {
        address: LayoutAddress,
        layout: OciLayout,
        /// The directory did not exist before this command created it.
        created: bool,
    },
}

/// How a command uses the place.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Writes a new manifest under REF's tag: a digest is refused; a missing layout is created.
    Write,
    /// Reads the manifest REF names: a layout must exist and REF must name a tag or digest.
    Read,
}

impl Place {
    /// Parses REF (a reference, or a layout address with `oci_layout`) and opens it. Nothing is
    /// created until the arguments are known to be valid, so bad input writes nothing.
    pub(crate) async fn open(
        text: &str,
        oci_layout: bool,
        mode: Mode,
        global: &GlobalArgs,
    ) -> Result<Place, Failure> {
        let place = Place::parse(text, oci_layout, mode, global)?;
        match place {
            Parsed::Registry(reference) => {
                let repo = repository(&reference, global)?;
                Ok(Place::Registry { reference, repo })
            }
            Parsed::Layout(address) => {
                let created = mode == Mode::Write && !address.dir.exists();
                let opened = match mode {
                    Mode::Write => OciLayout::create(&address.dir).await,
                    Mode::Read => OciLayout::open(&address.dir).await,
                };
                let layout = opened.map_err(|e| {
                    Failure::Usage(anyhow::Error::new(e).context(format!("OCI layout {text:?}")))
                })?;
                Ok(Place::Layout {
                    address,
                    layout,
                    created,
                })
            }
        }
    }

    fn parse(
        text: &str,
        oci_layout: bool,
        mode: Mode,
        global: &GlobalArgs,
    ) -> Result<Parsed, Failure> {
        if !oci_layout {
            let reference = global.reference(text)?;
            if mode == Mode::Write && reference.digest().is_some() {
                return Err(Failure::Usage(anyhow!(
                    "cannot push to a digest reference {text:?}: give a tag"
                )));
            }
            return Ok(Parsed::Registry(reference));
        }
        let address = parse_layout_address(text).map_err(|e| {
            Failure::Usage(
                anyhow::Error::new(e).context(format!("invalid layout address {text:?}")),
            )
        })?;
        match (&address.target, mode) {
            (Some(TagOrDigest::Digest(_)), Mode::Write) => Err(Failure::Usage(anyhow!(
                "cannot push to a digest in layout address {text:?}: give DIR or DIR:TAG"
            ))),
            (None, Mode::Read) => Err(Failure::Usage(anyhow!(
                "layout address {text:?} names no tag or digest; use DIR:TAG or DIR@DIGEST"
            ))),
            _ => Ok(Parsed::Layout(address)),
        }
    }

    /// Opens the subject REF of `attach` or `discover` for reading, with `--distribution-spec`
    /// applied: the registry repository then reads and records referrers only the way it
    /// names. An OCI layout keeps its referrers in `index.json`, so the flag there is bad input
    /// rather than silently ignored.
    pub(crate) async fn open_subject(
        text: &str,
        oci_layout: bool,
        spec: Option<DistributionSpec>,
        global: &GlobalArgs,
    ) -> Result<Place, Failure> {
        let place = Place::open(text, oci_layout, Mode::Read, global).await?;
        match (place, spec) {
            (place, None) => Ok(place),
            (Place::Registry { reference, repo }, Some(spec)) => Ok(Place::Registry {
                reference,
                repo: repo.with_referrers_source(spec.into()),
            }),
            (Place::Layout { .. }, Some(_)) => Err(Failure::Usage(anyhow!(
                "--distribution-spec applies to registries, not to --oci-layout"
            ))),
        }
    }

    /// After a failed command: removes a layout directory this command created, so that bad
    /// input (a missing file, say) leaves nothing behind. An existing layout is left alone.
    pub(crate) fn abandon(&self) {
        if let Place::Layout {
            address,
            created: true,
            ..
        } = self
        {
            let _ = std::fs::remove_dir_all(&address.dir);
        }
    }

    /// The store to publish into.
    pub(crate) fn store(&self) -> Store<'_> {
        match self {
            Place::Registry { repo, .. } => Store::Registry(repo),
            Place::Layout { layout, .. } => Store::Layout(layout),
        }
    }

    /// The tag REF names, if any (a registry reference without one means `latest`).
    pub(crate) fn tag(&self) -> Option<&str> {
        match self {
            Place::Registry { reference, .. } => reference.tag(),
            Place::Layout { address, .. } => match &address.target {
                Some(TagOrDigest::Tag(t)) => Some(t.as_str()),
                _ => None,
            },
        }
    }

    /// The manifest REF names (for a layout, `Mode::Read` guaranteed there is one).
    pub(crate) fn manifest(&self) -> TagOrDigest {
        match self {
            Place::Registry { reference, .. } => TagOrDigest::from(reference),
            Place::Layout { address, .. } => address
                .target
                .clone()
                .unwrap_or_else(|| TagOrDigest::Tag(oci_ref::Tag::latest())),
        }
    }

    /// REF's repository or layout pinned to `digest`: `host/repo@sha256:…` or `DIR@sha256:…`.
    pub(crate) fn pinned(&self, digest: &oci_ref::Digest) -> String {
        match self {
            Place::Registry { reference, .. } => reference.pinned(digest.clone()).to_string(),
            Place::Layout { address, .. } => format!("{}@{digest}", address.dir.display()),
        }
    }

    /// The name a tree is rooted at: the repository or layout, pinned.
    pub(crate) fn subject_name(&self, digest: &oci_ref::Digest) -> String {
        match self {
            Place::Registry { reference, .. } => reference
                .without_tag()
                .unwrap_or_else(|| reference.clone())
                .pinned(digest.clone())
                .to_string(),
            Place::Layout { .. } => self.pinned(digest),
        }
    }
}

enum Parsed {
    Registry(Reference),
    Layout(LayoutAddress),
}
