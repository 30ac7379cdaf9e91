//! Rules on what a candidate contains: [`SingleLayer`] and [`ContainerImage`].

use crate::candidate::Candidate;
use crate::rule::{Rule, Verdict};

/// Keeps candidates whose manifest has exactly one layer: the artifact to download.
///
/// With `allow_container_images` (Ironic's behaviour), a
/// [container image](Candidate::is_container_image) passes whatever its layer count and its
/// manifest is not needed; Ironic deploys those with bootc rather than downloading a layer.
#[derive(Debug, Clone)]
pub struct SingleLayer {
    allow_container_images: bool,
}

impl SingleLayer {
    /// The rule's [name](Rule::name), for [`Policy::without`](crate::Policy::without).
    pub const NAME: &'static str = "single-layer";

    /// Ironic's rule: multi-layer (or layer-less) entries are skipped unless they are container
    /// images.
    pub fn ironic() -> SingleLayer {
        SingleLayer {
            allow_container_images: true,
        }
    }

    /// Every candidate must have exactly one layer, container images included.
    pub fn strict() -> SingleLayer {
        SingleLayer {
            allow_container_images: false,
        }
    }
}

impl Rule for SingleLayer {
    fn name(&self) -> &str {
        SingleLayer::NAME
    }

    fn describe(&self) -> String {
        if self.allow_container_images {
            "single-layer (container images exempt)".to_owned()
        } else {
            "single-layer".to_owned()
        }
    }

    fn needs_manifest(&self, candidate: &Candidate) -> bool {
        !(self.allow_container_images && candidate.is_container_image())
    }

    fn ranks(&self) -> bool {
        false
    }

    fn evaluate(&self, candidate: &Candidate) -> Verdict {
        if self.allow_container_images && candidate.is_container_image() {
            return Verdict::Abstain;
        }
        match candidate.manifest().map(|m| m.layers().len()) {
            Some(1) => Verdict::Abstain,
            Some(n) => Verdict::reject(format!(
                "{n} layers; only single-layer artifacts can be downloaded"
            )),
            // Unreachable through a Policy (needs_manifest is true); stay total anyway.
            None => Verdict::reject("manifest not fetched"),
        }
    }
}

/// What [`ContainerImage`] does with container images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerImageMode {
    /// Only container images ("bootc") pass.
    Require,
    /// Container images are rejected: only artifacts and entries with a `disktype` pass.
    Reject,
}

/// Filters on Ironic's container-image ("bootc") classification: no `disktype` annotation and
/// not an OCI artifact (no `artifactType`, config not the empty descriptor), judged on the
/// descriptor as Ironic does.
#[derive(Debug, Clone)]
pub struct ContainerImage {
    mode: ContainerImageMode,
}

impl ContainerImage {
    /// A container-image filter.
    pub fn new(mode: ContainerImageMode) -> ContainerImage {
        ContainerImage { mode }
    }
}

impl Rule for ContainerImage {
    fn name(&self) -> &str {
        "container-image"
    }

    fn describe(&self) -> String {
        match self.mode {
            ContainerImageMode::Require => "container-image required".to_owned(),
            ContainerImageMode::Reject => "container-image rejected".to_owned(),
        }
    }

    fn ranks(&self) -> bool {
        false
    }

    fn evaluate(&self, candidate: &Candidate) -> Verdict {
        match (self.mode, candidate.is_container_image()) {
            (ContainerImageMode::Require, false) => {
                Verdict::reject("not a container image (has a disktype or is an OCI artifact)")
            }
            (ContainerImageMode::Reject, true) => {
                Verdict::reject("a container image (no disktype, not an OCI artifact)")
            }
            _ => Verdict::Abstain,
        }
    }
}
