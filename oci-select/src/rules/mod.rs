//! The built-in rules. Each is a small struct implementing [`Rule`](crate::Rule); build them
//! directly, through the [`Policy`](crate::Policy) presets, or from a policy file.

mod descriptor;
mod disk;
mod layers;
mod platform;

pub use descriptor::{Annotation, ArtifactType, MediaType, MediaTypeTarget};
pub use disk::{DiskFormatPreference, MISSING_DISKTYPE_RANK, Unlisted};
pub use layers::{ContainerImage, ContainerImageMode, SingleLayer};
pub use platform::{Aliases, Architecture, Os, Variant, canonical_architecture};

/// What a platform rule does with a candidate that does not declare the field it checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Missing {
    /// Keep it (a wildcard), as Ironic does for a missing architecture; ranked after candidates
    /// that do declare a matching value where the rule ranks.
    #[default]
    Pass,
    /// Reject it.
    Reject,
}

/// Joins values for messages: `a, b, c`.
pub(crate) fn list(values: &[String]) -> String {
    values.join(", ")
}
