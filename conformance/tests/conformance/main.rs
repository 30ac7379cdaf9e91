//! Conformance tests against real registries: one test binary, one module per area.
//!
//! Shared helpers live here; each module (`smoke`, `fixture`, …) holds the checks of one area and
//! records capabilities with `conformance::capability`.

mod auth;
mod client;
mod faults;
mod fixture;
mod interop;
mod mirroring;
mod mirrors;
mod resolve;
mod smoke;
mod spec;

use anyhow::Context as _;
use conformance::Registry;

pub(crate) use oci_ref::media_type::{OCI_EMPTY, OCI_MANIFEST};

/// `sha256:<hex>` of `data`, as a string (what raw HTTP requests carry).
pub(crate) use oci_testkit::sha256 as sha256_digest;

/// The sha256 digest of `data`, typed (what the library takes).
pub(crate) fn digest(data: &[u8]) -> oci_ref::Digest {
    oci_ref::digest_of(oci_ref::Algorithm::Sha256, data)
}

/// An HTTP client for loopback registries.
pub(crate) fn client() -> reqwest::Client {
    conformance::install_tls_provider();
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .expect("reqwest client with default settings builds")
}

/// Adds the registry's credentials (Basic) to a request, if it has any.
pub(crate) fn authed(
    registry: &Registry,
    request: reqwest::RequestBuilder,
) -> reqwest::RequestBuilder {
    match registry.credentials() {
        Some(c) => request.basic_auth(&c.username, Some(c.password.expose())),
        None => request,
    }
}

/// Resolves a `Location` header (absolute or relative) against the registry.
pub(crate) fn resolve_location(
    registry: &Registry,
    location: &str,
) -> anyhow::Result<reqwest::Url> {
    let base = reqwest::Url::parse(&format!("{}/", registry.base_url()))?;
    base.join(location)
        .with_context(|| format!("Location {location:?} is not a URL reference"))
}

/// Pushes `data` as a blob with a monolithic upload (POST then PUT, distribution-spec v1.1.1
/// "Pushing a blob monolithically") and returns its digest.
pub(crate) async fn push_blob(
    registry: &Registry,
    repo: &str,
    data: &[u8],
) -> anyhow::Result<String> {
    let digest = sha256_digest(data);
    let http = client();
    let start = authed(
        registry,
        http.post(format!("{}/v2/{repo}/blobs/uploads/", registry.base_url())),
    )
    .send()
    .await?;
    anyhow::ensure!(
        start.status() == 202,
        "POST blob upload: status {}",
        start.status()
    );
    let location = start
        .headers()
        .get("location")
        .context("POST blob upload: no Location header")?
        .to_str()
        .context("Location header is not ASCII")?
        .to_owned();
    let mut url = resolve_location(registry, &location)?;
    url.query_pairs_mut().append_pair("digest", &digest);
    let put = authed(registry, http.put(url))
        .header("content-type", "application/octet-stream")
        .body(data.to_vec())
        .send()
        .await?;
    anyhow::ensure!(put.status() == 201, "PUT blob: status {}", put.status());
    Ok(digest)
}

/// Pulls a blob and checks it against its digest; returns the bytes.
pub(crate) async fn pull_blob(
    registry: &Registry,
    repo: &str,
    digest: &str,
) -> anyhow::Result<Vec<u8>> {
    let resp = authed(
        registry,
        client().get(format!("{}/v2/{repo}/blobs/{digest}", registry.base_url())),
    )
    .send()
    .await?;
    anyhow::ensure!(
        resp.status() == 200,
        "GET blob {digest}: status {}",
        resp.status()
    );
    let bytes = resp.bytes().await?.to_vec();
    let actual = sha256_digest(&bytes);
    anyhow::ensure!(
        actual == digest,
        "blob digest mismatch: expected {digest}, got {actual}"
    );
    Ok(bytes)
}

/// Pushes a manifest under `reference` (tag or digest); returns its digest.
pub(crate) async fn push_manifest(
    registry: &Registry,
    repo: &str,
    reference: &str,
    media_type: &str,
    body: &[u8],
) -> anyhow::Result<String> {
    let digest = sha256_digest(body);
    let resp = authed(
        registry,
        client().put(format!(
            "{}/v2/{repo}/manifests/{reference}",
            registry.base_url()
        )),
    )
    .header("content-type", media_type)
    .body(body.to_vec())
    .send()
    .await?;
    anyhow::ensure!(
        resp.status() == 201,
        "PUT manifest: status {}",
        resp.status()
    );
    if let Some(echoed) = resp.headers().get("docker-content-digest") {
        anyhow::ensure!(
            echoed.as_bytes() == digest.as_bytes(),
            "PUT manifest: Docker-Content-Digest {echoed:?}, expected {digest}"
        );
    }
    Ok(digest)
}

/// Pulls a manifest by tag or digest, accepting `media_type`; returns body and Content-Type.
pub(crate) async fn pull_manifest(
    registry: &Registry,
    repo: &str,
    reference: &str,
    media_type: &str,
) -> anyhow::Result<(Vec<u8>, String)> {
    let resp = authed(
        registry,
        client().get(format!(
            "{}/v2/{repo}/manifests/{reference}",
            registry.base_url()
        )),
    )
    .header("accept", media_type)
    .send()
    .await?;
    anyhow::ensure!(
        resp.status() == 200,
        "GET manifest {reference}: status {}",
        resp.status()
    );
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    Ok((resp.bytes().await?.to_vec(), content_type))
}
