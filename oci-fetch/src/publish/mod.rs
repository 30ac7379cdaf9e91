//! Publishing and discovery the ORAS way: push files as an OCI 1.1 artifact, attach referrers,
//! walk the referrers tree, build a multi-artifact index, add tags.
//!
//! Built on `oci-client`: blobs are pushed with `HEAD` first (nothing already there is sent
//! again), manifests with [`oci_client::Repository::push_manifest`], which maintains the
//! referrers fallback index (`sha256-<hex>` tag,
//! [distribution-spec v1.1.1 § Referrers Tag Schema](https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#referrers-tag-schema))
//! when the registry has no referrers API.
//!
//! The manifests follow
//! [image-spec v1.1.1 § Guidelines for Artifact Usage](https://github.com/opencontainers/image-spec/blob/v1.1.1/manifest.md#guidelines-for-artifact-usage):
//! `artifactType` set, the empty config descriptor (with its `data`) when there is no config,
//! one layer per file titled with `org.opencontainers.image.title`.
//!
//! - [`push::push`] (`oci-fetch push`, and `attach` with [`push::PushRequest::subject`]);
//! - [`discover::discover`] with [`discover::render_tree`] / [`discover::render_table`];
//! - [`index::create_index`];
//! - [`tag::tag`].
//!
//! # Example
//!
//! ```
//! use oci_fetch::publish::model::{FileSpec, Platform, parse_annotation};
//!
//! let f = FileSpec::parse("namespace.yaml:application/yaml").unwrap();
//! assert_eq!(f.media_type.as_deref(), Some("application/yaml"));
//! assert_eq!(Platform::parse("linux/x86_64").unwrap().config_json(),
//!            br#"{"architecture":"x86_64","os":"linux"}"#);
//! // Edge case: an annotation without `=` is bad input, not an empty value.
//! assert!(parse_annotation("disktype").unwrap_err().is_usage());
//! ```
//!
//! # Cancel safety
//!
//! Dropping a future may leave uploaded blobs without a manifest (registries garbage-collect
//! them) or, for `attach` on a registry without the referrers API, a pushed manifest whose
//! fallback index entry is missing; pushing again completes it.

pub mod discover;
mod error;
pub mod index;
pub mod model;
pub mod push;
mod store;
pub mod tag;

pub use error::PublishError;
pub use store::Store;

/// Parses a digest this module wrote or read into `oci-ref`'s type.
pub(crate) fn to_client_digest(d: &str) -> Result<oci_ref::Digest, PublishError> {
    oci_ref::Digest::parse(d).map_err(|_| PublishError::invalid("digest", d, "not a valid digest"))
}
