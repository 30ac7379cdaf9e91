//! Runs the `oci-*` stack against real OCI registries.
//!
//! This crate is the harness every network test of the workspace uses: it yields a **running,
//! real** registry (never a mock) and cleans it up afterwards. It sits beside the stack, depends on
//! none of the `oci-*` crates' internals, and will not fake a registry or skip silently: when no
//! registry can be had, [`Registry::start`] fails and says how to get one.
//!
//! # Using the fixture
//!
//! ```no_run
//! use conformance::{Registry, RegistryOptions, for_each_backend, unique_repo};
//!
//! # async fn demo() -> anyhow::Result<()> {
//! // One registry from the selected backend; stopped and removed when `registry` is dropped,
//! // also when the test panics.
//! let registry = Registry::start().await?;
//! let reference = format!("{}/{}:v1", registry.host(), unique_repo("example"));
//! let ping = reqwest::get(format!("{}/v2/", registry.base_url())).await?;
//! assert_eq!(ping.status(), 200);
//!
//! // The same test body on every available backend (docker and process when both work here).
//! // Edge case: a registry that requires Basic auth answers `/v2/` with 401.
//! let options = RegistryOptions::htpasswd([("alice", "s3cret")]);
//! for_each_backend(&options, async |registry| {
//!     let ping = reqwest::get(format!("{}/v2/", registry.base_url())).await?;
//!     anyhow::ensure!(ping.status() == 401, "anonymous ping must be refused");
//!     Ok(())
//! })
//! .await?;
//! # let _ = reference;
//! # Ok(())
//! # }
//! ```
//!
//! Every test must name its repositories with [`unique_repo`], so that runs against one shared
//! registry (the `external` backend, or concurrent test threads) never collide.
//!
//! # Backends and environment variables
//!
//! | Variable | Meaning |
//! |---|---|
//! | `OCI_CONFORMANCE_BACKEND` | `auto` (default), `docker`, `process` or `external` |
//! | `OCI_CONFORMANCE_IMAGE` | image of the `docker` backend (default `registry:2`) |
//! | `OCI_CONFORMANCE_REGISTRY_BIN` | distribution binary of the `process` backend |
//! | `OCI_CONFORMANCE_URL` | base URL of the `external` backend, e.g. `http://127.0.0.1:5000` |
//! | `OCI_CONFORMANCE_USERNAME`, `OCI_CONFORMANCE_PASSWORD` | optional `external` credentials |
//! | `OCI_CONFORMANCE_REPORT` | file the capability report is appended to ([`capability`]) |
//! | `OCI_CONFORMANCE_KNOWN_FAILURES` | checks whose failure is known for the registry ([`capability::known_failures`]) |
//! | `DOCKER_HOST` | Docker daemon of the `docker` backend (default: the local socket) |
//!
//! - **docker**: a container from `OCI_CONFORMANCE_IMAGE`, port 5000 mapped to a random loopback
//!   port, started with testcontainers; the generated configuration is copied to
//!   `/etc/docker/registry` before start (not bind-mounted: the daemon needs no access to the
//!   test's files). Old engines (Debian 12's Docker 20.10, API 1.41) work. The published port
//!   must be reachable on `127.0.0.1`, i.e. the daemon runs on this host. Pulled if absent
//!   and pullable. Without internet, `cargo xtask registry-image` builds
//!   `localhost/distribution:<version>` from the local distribution binary.
//! - **process**: a CNCF distribution binary (`registry`, Debian's `docker-registry`, or
//!   `OCI_CONFORMANCE_REGISTRY_BIN`) run as `BIN serve config.yml` on a free `127.0.0.1` port,
//!   with filesystem storage in a temporary directory.
//! - **external**: the registry at `OCI_CONFORMANCE_URL`, as configured by its owner; checks that
//!   need a registry the harness provisions (a particular [`Auth`], a fault proxy, a mirror)
//!   record themselves not applicable there ([`capability::provisioned_only`]).
//! - **auto**: every backend that works here, docker first: docker when a daemon answers and the
//!   image is present locally or can be pulled, process when a binary is found.
//!   [`Registry::start`] takes the first, [`for_each_backend`] runs all. None at all is an error,
//!   never a pass.
//!
//! Both provisioned backends render a distribution configuration with deletes enabled,
//! `http.secret` set, and the [`Auth`] of [`RegistryOptions`] (htpasswd users are bcrypt-hashed
//! here; token auth is passed through for a token-server fixture to build on).
//!
//! A process killed with `SIGKILL` cannot run destructors: its registry children and containers
//! stay behind. Containers carry the label [`CONTAINER_LABEL`] so they can be found.
//!
//! # Cancel safety
//!
//! Dropping a future returned by [`Registry::start`] before it completes stops a registry
//! process it had spawned. A container is removed once testcontainers has handed it over; a
//! future dropped inside testcontainers' own start can leave the container behind (labelled
//! [`CONTAINER_LABEL`]). Dropping a [`Registry`] blocks briefly to kill the process or remove the
//! container.

mod backend;
pub mod capability;
mod config;
mod docker;
pub mod fault_proxy;
mod options;
mod process;
mod registry;
mod repo;
pub mod token_server;
mod wait;

pub use backend::{
    Backend, DEFAULT_IMAGE, ENV_BACKEND, ENV_IMAGE, ENV_PASSWORD, ENV_REGISTRY_BIN, ENV_REPORT,
    ENV_URL, ENV_USERNAME, REGISTRY_BIN_NAMES, Selection,
};
pub use config::HTPASSWD_BCRYPT_COST;
pub use docker::{CONTAINER_LABEL, PULL_TIMEOUT, image as docker_image};
pub use options::{Auth, Credentials, RegistryOptions, Secret};
pub use registry::{Registry, available_backends, for_each_backend};
pub use repo::{REPO_NAMESPACE, unique_repo};
pub use wait::READY_TIMEOUT;

/// `bytes` random bytes from the OS, hex-encoded.
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    // Without OS randomness, fall back to a time-derived value: uniqueness within one run is
    // still guaranteed by the process id and counter it is combined with.
    if getrandom::fill(&mut buf).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (nanos >> (8 * (i % 16))) as u8;
        }
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Installs the `ring` TLS provider as the process default if none is installed yet.
///
/// The workspace builds reqwest with `rustls-no-provider` (`oci-client` chooses `ring`), and
/// Cargo unifies that feature for every reqwest user in the build, so any reqwest client built
/// before a provider is installed would panic. Every client this crate builds calls this first.
pub fn install_tls_provider() {
    // An error only means a provider was installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
