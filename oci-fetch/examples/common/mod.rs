//! What the examples share: a client built from the environment.

use oci_client::Client;

/// The examples' error type.
pub(crate) type Error = Box<dyn std::error::Error + Send + Sync>;

/// A client speaking plain HTTP to the hosts listed in `OCI_FETCH_PLAIN_HTTP`
/// (comma-separated), TLS to every other.
pub(crate) fn client_from_env() -> Result<Client, Error> {
    oci_client::install_crypto_provider();
    let mut builder = Client::builder();
    let hosts = std::env::var("OCI_FETCH_PLAIN_HTTP").unwrap_or_default();
    for host in hosts.split(',').filter(|h| !h.is_empty()) {
        builder = builder.plain_http(host);
    }
    Ok(builder.build()?)
}
