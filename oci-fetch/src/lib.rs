//! Resolve, fetch and verify artifacts from OCI registries and image layouts.
//!
//! # Where this sits
//!
//! The top of the library stack: it composes `oci-client` (the protocol), `oci-select` (which
//! artifact) and `oci-ref` (references) into resolve, verified download, pull, push and copy.
//! It never speaks the registry protocol itself and holds no selection rules of its own.
//!
//! # Feature flags
//!
//! - `cli` (default): the `oci-fetch` command-line program. Library users opt out with
//!   `default-features = false`.
