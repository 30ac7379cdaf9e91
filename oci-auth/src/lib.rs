//! Registry authentication for the `oci-*` workspace.
//!
//! # Where this sits
//!
//! Depends on `oci-ref`; used by `oci-client` whenever a registry answers `401`. It owns
//! `WWW-Authenticate` challenge parsing, scopes, credentials and where they come from (docker
//! `config.json`, containers `auth.json`, credential helpers), the token exchange and the token
//! cache. It never touches manifests or blobs and never chooses between artifacts.
