//! References and digests for OCI registries: parse, validate, normalise, display.
//!
//! # Where this sits
//!
//! The bottom of the `oci-*` stack: every other crate names artifacts with [`Reference`] and
//! [`Digest`]. This crate is pure: no IO, no async, no HTTP types, and it never panics on any
//! input — every rejection is an [`Error`] naming the offending part and the reason.
//!
//! Two input syntaxes are accepted by [`Reference::parse`] (and `str::parse`):
//!
//! - docker-style: `ubuntu`, `quay.io/podman/machine-os:5.3`, `localhost:5000/app@sha256:…`,
//!   `[::1]:5000/app:v1`;
//! - Ironic-style URLs: `oci://host[:port]/path[:tag][@digest]`.
//!
//! Parsing has two separately usable steps: [`grammar`] (what was written) and
//! [`normalize`] (what it means: Docker Hub, `library/`, `latest`, a lower-case registry).
//!
//! `Display` gives the canonical form, and parsing it gives back an equal [`Reference`]:
//! `docker.io/library/ubuntu:latest`, or `oci://myregistry/app:latest` for a registry that a
//! docker-style name could not express (no `.` or `:`, not `localhost`).
//!
//! Errors never repeat user information from an `oci://user:password@host/…` URL.
//!
//! # Feature flags
//!
//! - `hash` (off by default): `Hasher` and `digest_of`, computing digests with `sha2`. Still
//!   pure: bytes in, a [`Digest`] out.
//!
//! - `model` (off by default; implies `hash`): [`model`], the one descriptor, image manifest,
//!   image index and platform of the workspace, with `serde`. Still pure.
//!
//! Without features the only dependency is `thiserror`.
//!
//! # Examples
//!
//! ```
//! use oci_ref::{Error, Reference};
//!
//! let r: Reference = "localhost:5000/disks/cirros:0.6.3".parse()?;
//! assert_eq!(r.registry(), "localhost:5000");
//! assert_eq!(r.repository(), "disks/cirros");
//! assert_eq!(r.tag(), Some("0.6.3"));
//!
//! // An edge case: without a '/', `test.com:5000` is Docker Hub's `library/test.com`, tag `5000`.
//! let r: Reference = "test.com:5000".parse()?;
//! assert_eq!(r.to_string(), "docker.io/library/test.com:5000");
//!
//! // Bad input is a typed error that says what was wrong, never a panic.
//! let err = "Quay.io/Podman/Machine-OS".parse::<Reference>().unwrap_err();
//! assert!(matches!(err, Error::UppercaseRepository { .. }));
//! assert!(err.to_string().contains("must be lower-case"));
//! let err = "repo:tag\r\nX-Injected: 1".parse::<Reference>().unwrap_err();
//! assert!(matches!(err, Error::ForbiddenCharacter { character: '\r', .. }));
//! # Ok::<(), oci_ref::Error>(())
//! ```

#![warn(clippy::missing_errors_doc)]

mod digest;
mod error;
pub mod grammar;
#[cfg(feature = "hash")]
mod hash;
pub mod media_type;
#[cfg(feature = "model")]
pub mod model;
pub mod normalize;
mod reference;
pub mod rfc3339;
mod tag;

pub use digest::{Algorithm, Digest};
pub use error::{Error, Part};
#[cfg(feature = "hash")]
pub use hash::{Hasher, digest_of};
#[cfg(feature = "model")]
pub use model::{Descriptor, ImageIndex, ImageManifest, Platform};
pub use reference::{Reference, api_host};
pub use tag::{Tag, TagOrDigest};

/// The registry name of Docker Hub in references.
pub const DOCKER_HUB: &str = "docker.io";

/// The legacy name of Docker Hub's registry, normalised to [`DOCKER_HUB`].
pub const DOCKER_HUB_LEGACY: &str = "index.docker.io";

/// The host that serves Docker Hub's registry API.
pub const DOCKER_HUB_API_HOST: &str = "registry-1.docker.io";

/// The tag implied when a reference names neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";

/// Longest repository path accepted, in characters, counted after normalisation (so with
/// `library/` on Docker Hub) and without the registry.
///
/// distribution/reference `NameTotalLengthMax`
/// ([reference.go](https://github.com/distribution/reference/blob/main/reference.go)); registries
/// reject longer names with `NAME_INVALID`
/// ([distribution-spec v1.1, error codes](https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#error-codes)).
pub const MAX_NAME_TOTAL_LENGTH: usize = 255;

/// Longest tag accepted: the tag grammar `[\w][\w.-]{0,127}` allows 128 characters
/// ([distribution-spec v1.1, pulling manifests](https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#pulling-manifests)).
pub const MAX_TAG_LENGTH: usize = 128;
