//! The OCI distribution-spec v1.1 protocol for the `oci-*` workspace.
//!
//! # Where this sits
//!
//! Depends on `oci-ref` (references, digests) and `oci-auth` (credentials and tokens); used by
//! `oci-fetch`. It speaks HTTP to registries: manifests, blobs, tags, referrers, uploads, retries,
//! redirects and `registries.conf` pull sources. It never chooses between artifacts and never
//! writes files.
