//! Security checks, each against a hostile counterpart: credentials and redirects across
//! origins and schemes, caps a hostile registry runs into, control characters coming back from
//! a registry, and secrets in errors. `SECURITY.md` at the repository root lists every check
//! with the test that holds it, here or elsewhere.
//!
//! One module a theme: `origins`, `caps`, `control_chars`, `secrets`.
//!
//! Servers are `oci_testkit::server`; the HTTPS ones (`Server::start_tls`) answer with the test
//! certificate so that "a registry not marked plain-HTTP" can be tested for real.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures_util::StreamExt;
use oci_auth::{Credential, Keychain, Secret};
use oci_client::{Client, Error, Limit, Limits, RetryPolicy};
use oci_ref::TagOrDigest;
use oci_ref::media_type::OCI_MANIFEST;

use oci_testkit::secrets::Scanner;

use crate::server::{Reply, Request, Server, ServerExt as _, sha256};

mod caps;
mod control_chars;
mod origins;
mod secrets;

/// A recognisable secret: a password, an identity token, a registry token, a signed URL query.
const SECRET: &str = "s3cr3t-SECURITY-CHECK";

/// A header name that would appear on the wire if a control character broke a request apart.
const INJECTED: &str = "X-Injected";

const MANIFEST: &[u8] = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"a","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;

fn manifest_reply() -> Reply {
    Reply::new(200)
        .header("Content-Type", OCI_MANIFEST)
        .body(MANIFEST.to_vec())
}

fn reference(registry: &str, rest: &str) -> oci_ref::Reference {
    format!("{registry}/{rest}").parse().expect("reference")
}

fn repo_of(client: &Client, registry: &str) -> oci_client::Repository {
    client
        .repository(&reference(registry, "app:v1"))
        .expect("repository handle")
}

fn tag(t: &str) -> TagOrDigest {
    TagOrDigest::tag(t).expect("tag")
}

/// A server's origin as a handler can see it once the server is running.
#[derive(Clone, Default)]
struct Origin(Arc<OnceLock<String>>);

impl Origin {
    fn get(&self) -> String {
        self.0.get().cloned().unwrap_or_default()
    }

    fn set(&self, origin: String) {
        self.0.set(origin).expect("origin set once");
    }
}

/// A client that trusts the test CA and talks HTTPS to a `Server::start_tls` registry (no
/// plain-HTTP marking).
fn tls_builder() -> oci_client::ClientBuilder {
    Client::builder()
        .ca_pem(oci_testkit::tls::CA_PEM.to_vec())
        .keychain(Keychain::empty())
        .retry_policy(RetryPolicy::none())
}
