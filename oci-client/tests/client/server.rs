//! The hostile in-process server of these tests is `oci_testkit::server`; this module adds what
//! only `oci-client`'s tests need: a client for a server ([`ServerExt`]) and typed digests.

use oci_client::{Client, ClientBuilder, RetryPolicy};
pub(crate) use oci_testkit::server::{Body, Reply, Request, Server};

/// A client set up for one server: plain HTTP, no credentials, fast retries.
pub(crate) trait ServerExt {
    /// The builder, to change before building.
    fn builder(&self) -> ClientBuilder;
    /// The client.
    fn client(&self) -> Client;
    /// A repository handle for `name` on this server.
    fn repo(&self, name: &str) -> oci_client::Repository;
}

impl ServerExt for Server {
    fn builder(&self) -> ClientBuilder {
        Client::builder()
            .plain_http(&self.registry())
            .keychain(oci_auth::Keychain::empty())
            .retry_policy(fast_retries())
    }

    fn client(&self) -> Client {
        self.builder().build().expect("client builds")
    }

    fn repo(&self, name: &str) -> oci_client::Repository {
        let r: oci_ref::Reference = format!("{}/{name}:latest", self.registry())
            .parse()
            .expect("reference parses");
        self.client().repository(&r).expect("repository handle")
    }
}

pub(crate) fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 5,
        initial_backoff: std::time::Duration::from_millis(1),
        max_backoff: std::time::Duration::from_millis(5),
        max_total_wait: std::time::Duration::from_secs(5),
    }
}

/// The sha256 digest of `data`.
pub(crate) fn sha256(data: &[u8]) -> oci_ref::Digest {
    oci_testkit::sha256(data).parse().expect("a sha256 digest")
}
