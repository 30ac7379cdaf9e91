//! Choosing exactly the right artifact from an OCI index, and explaining why.
//!
//! # Where this sits
//!
//! Depends only on `oci-ref`; used by `oci-fetch`'s resolver. Selection is a pure function of
//! candidates and a policy: this crate performs no IO, has no async code and never panics.
