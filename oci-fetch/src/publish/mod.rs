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
//! use oci_fetch::publish::input::FileSpec;
//! use oci_fetch::publish::push::{PushRequest, platform_config};
//! use oci_ref::model::Platform;
//!
//! let platform: Platform = "linux/x86_64".parse()?;
//! assert_eq!(platform_config(&platform)?, br#"{"architecture":"x86_64","os":"linux"}"#);
//! let req = PushRequest {
//!     files: vec![FileSpec { path: "namespace.yaml".into(), media_type: None }],
//!     platform: Some(platform),
//!     ..PushRequest::default()
//! };
//! # let _ = req;
//! // Edge case: a platform needs an OS and an architecture.
//! assert!("linux".parse::<Platform>().is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The documents written (manifest, index, descriptors, platform) are the workspace's one model,
//! [`oci_ref::model`]; the command-line shapes that feed a push (`FILE[:MEDIATYPE]`,
//! `KEY=VALUE`) are the binary's to parse.
//!
//! # Cancel safety
//!
//! Dropping a future may leave uploaded blobs without a manifest (registries garbage-collect
//! them) or, for `attach` on a registry without the referrers API, a pushed manifest whose
//! fallback index entry is missing; pushing again completes it.

pub mod discover;
mod error;
pub mod index;
pub mod input;
pub mod push;
mod store;
pub mod tag;

pub use error::PublishError;
pub use store::Store;

/// The JSON of a document this module writes. The model's types always serialise; a failure
/// would be a bug, reported as [`PublishError::Encode`] rather than a panic.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, PublishError> {
    serde_json::to_vec(value).map_err(PublishError::Encode)
}
