//! The one test CA and the server certificate it signed for `127.0.0.1` and `localhost`
//! (ECDSA P-256, valid 2000–2126), in `conformance/testkit/tls/`. They guard nothing: they let
//! `https` be tested for real without a certificate generator.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The test CA certificate, PEM: what a client under test is told to trust.
pub const CA_PEM: &[u8] = include_bytes!("../tls/ca.pem");

/// The server certificate for `127.0.0.1` and `localhost`, PEM, signed by [`CA_PEM`].
pub const LEAF_PEM: &[u8] = include_bytes!("../tls/leaf.pem");

/// The private key of [`LEAF_PEM`], PEM (PKCS#8).
pub const LEAF_KEY_PEM: &[u8] = include_bytes!("../tls/leaf.key");

/// A rustls server configuration presenting [`LEAF_PEM`] (with the CA in the chain), built on
/// the `ring` provider so no process-wide provider needs installing.
pub fn server_config() -> Arc<rustls::ServerConfig> {
    let chain = vec![
        CertificateDer::from_pem_slice(LEAF_PEM).expect("leaf.pem"),
        CertificateDer::from_pem_slice(CA_PEM).expect("ca.pem"),
    ];
    let key = PrivateKeyDer::from_pem_slice(LEAF_KEY_PEM).expect("leaf.key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .expect("server certificate");
    Arc::new(config)
}
