//! Integration tests for `oci-auth`; modules mirror `src`.

mod authenticator;
mod caps;
mod challenge;
mod config;
mod credential;
mod exchange;
mod fuzzed;
mod helper_protocol;
mod keychain;
mod login;
mod no_secrets;
mod scope;
mod token_response;

/// Installs rustls' ring provider. The workspace builds reqwest with `rustls-no-provider`
/// (oci-client installs ring), so a provider must be installed before any reqwest client or TLS
/// server is built.
pub(crate) fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The client the tests hand to an `Authenticator`: automatic redirects off, like the one
/// `oci-client` builds, so the token exchange follows realm redirects itself.
pub(crate) fn http() -> reqwest::Client {
    client(false)
}

/// A client trusting the test CA of [`oci_testkit::server::Server::start_tls`]; `follow_redirects` turns
/// reqwest's own redirect following on (its default), as a standalone caller might leave it.
pub(crate) fn client(follow_redirects: bool) -> reqwest::Client {
    install_crypto_provider();
    let ca = reqwest::Certificate::from_pem(oci_testkit::tls::CA_PEM).expect("test CA");
    let policy = if follow_redirects {
        reqwest::redirect::Policy::default()
    } else {
        reqwest::redirect::Policy::none()
    };
    reqwest::Client::builder()
        .redirect(policy)
        .tls_certs_only([ca])
        .build()
        .expect("test client")
}
