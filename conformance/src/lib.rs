//! Runs the `oci-*` stack against real OCI registries.
//!
//! The registry under test is always a real one: `registry:2` started by testcontainers, a local
//! CNCF distribution process, or any registry by URL.
