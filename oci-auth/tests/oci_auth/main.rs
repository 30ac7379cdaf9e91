//! Integration tests for `oci-auth`; modules mirror `src`.

mod authenticator;
mod challenge;
mod config;
mod credential;
mod helper_protocol;
mod keychain;
mod login;
mod no_secrets;
mod scope;
mod server;
mod token_response;

/// A plain HTTP client for the tests. The workspace builds reqwest with
/// `rustls-no-provider` (oci-client installs ring), so a TLS provider must be installed
/// before any reqwest client is built.
pub(crate) fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}
