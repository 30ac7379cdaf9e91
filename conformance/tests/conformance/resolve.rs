//! `oci-fetch` resolve and pull against the real registry: a machine-image index pushed with
//! `oci-client`, resolved under several policies (counting requests: the index plus only the
//! manifests the policy needs), then pulled and verified.
//!
//! Capabilities recorded: `resolve-index`, `pull-verified`.

use bytes::Bytes;
use conformance::capability::{Outcome, record};
use conformance::{Registry, unique_repo};
use oci_client::{Client, Repository};
use oci_fetch::pull::{PullOptions, pull_files};
use oci_fetch::registry::RegistrySource;
use oci_fetch::resolve::resolve;
use oci_ref::TagOrDigest;
use oci_ref::{Digest, Reference};
use oci_select::{DownloadSource, Policy};
use serde_json::json;

use crate::digest;

const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const INDEX: &str = "application/vnd.oci.image.index.v1+json";
const EMPTY: &str = "application/vnd.oci.empty.v1+json";
const ARTIFACT: &str = "application/vnd.oci-fetch.test.disk-image.v1";

pub(crate) fn plain_client(hosts: &[&str]) -> anyhow::Result<Client> {
    oci_client::install_crypto_provider();
    let mut b = Client::builder().keychain(oci_auth::Keychain::empty());
    for h in hosts {
        b = b.plain_http(h);
    }
    Ok(b.build()?)
}

/// Pushes a one-layer artifact; returns the manifest digest and size, and the layer digest.
pub(crate) async fn push_artifact(
    repo: &Repository,
    title: &str,
    media_type: &str,
    data: &[u8],
) -> anyhow::Result<(Digest, u64, Digest)> {
    let config = b"{}".to_vec();
    repo.push_blob(&digest(&config), Bytes::from(config.clone()))
        .await?;
    let layer = digest(data);
    repo.push_blob(&layer, Bytes::from(data.to_vec())).await?;
    let body = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "artifactType": ARTIFACT,
        "config": {"mediaType": EMPTY, "digest": digest(&config).as_str(), "size": 2},
        "layers": [{"mediaType": media_type, "digest": layer.as_str(), "size": data.len(),
                    "annotations": {"org.opencontainers.image.title": title}}],
    }))?;
    let d = digest(&body);
    let size = body.len() as u64;
    repo.push_manifest(&TagOrDigest::Digest(d.clone()), Bytes::from(body), MANIFEST)
        .await?;
    Ok((d, size, layer))
}

/// Pushes a 6-entry machine-image index under `tag`: x86_64 and aarch64 × qcow2 and raw, an
/// x86_64 hyperv entry (rejected by Ironic's rules) and an aarch64 entry without disktype.
/// Returns the entries' (architecture, disktype, manifest digest, layer digest).
pub(crate) async fn push_machine_index(
    repo: &Repository,
    tag: &str,
) -> anyhow::Result<Vec<(String, String, Digest, Digest)>> {
    let mut entries = Vec::new();
    let mut out = Vec::new();
    for (arch, disktype) in [
        ("x86_64", "qcow2"),
        ("x86_64", "raw"),
        ("x86_64", "hyperv"),
        ("aarch64", "qcow2"),
        ("aarch64", "raw"),
        ("aarch64", ""),
    ] {
        let title = format!(
            "disk-{arch}.{}",
            if disktype.is_empty() { "img" } else { disktype }
        );
        let data = format!("{arch} {disktype} {}\n", unique_repo("payload"));
        let (d, size, layer) =
            push_artifact(repo, &title, "application/octet-stream", data.as_bytes()).await?;
        let mut entry = json!({
            "mediaType": MANIFEST, "digest": d.as_str(), "size": size,
            "artifactType": ARTIFACT,
            "platform": {"os": "linux", "architecture": arch},
        });
        if !disktype.is_empty() {
            entry["annotations"] = json!({"disktype": disktype});
        }
        entries.push(entry);
        out.push((arch.to_owned(), disktype.to_owned(), d, layer));
    }
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": INDEX, "manifests": entries,
    }))?;
    repo.push_manifest(&TagOrDigest::tag(tag)?, Bytes::from(index), INDEX)
        .await?;
    Ok(out)
}

/// Resolves `reference` under `policy`; checks the chosen entry and the request count.
async fn check_resolve(
    client: &Client,
    reference: &Reference,
    policy: &Policy,
    expected_layer: &Digest,
    expected_requests: u64,
) -> anyhow::Result<oci_fetch::resolve::Resolved> {
    let source = RegistrySource::direct(client, reference)?;
    let r = resolve(
        &source,
        &reference.to_string(),
        &TagOrDigest::from(reference),
        policy,
    )
    .await?;
    let blob = r.blob.as_ref().map(|b| b.digest.clone());
    anyhow::ensure!(
        blob.as_ref() == Some(expected_layer),
        "chose {blob:?}, expected {expected_layer}"
    );
    anyhow::ensure!(
        r.requests == expected_requests,
        "{} requests, expected {expected_requests}",
        r.requests
    );
    anyhow::ensure!(
        r.manifest_url.starts_with("oci://") && r.manifest_url.contains("@sha256:"),
        "pinned url {}",
        r.manifest_url
    );
    Ok(r)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_index_with_policies_and_pull_verified() -> anyhow::Result<()> {
    let registry = Registry::start().await?;
    let client = plain_client(&[registry.host()])?;
    let name = unique_repo("resolve");
    let reference: Reference = format!("{}/{name}:machine", registry.host()).parse()?;
    let repo = client.repository(&reference)?;
    let entries = push_machine_index(&repo, "machine").await?;
    let layer = |arch: &str, dt: &str| {
        entries
            .iter()
            .find(|e| e.0 == arch && e.1 == dt)
            .map(|e| e.3.clone())
            .expect("entry pushed")
    };
    // local: qcow2 first; only the chosen manifest is fetched (index + 1), plus the first bytes
    // of the chosen blob: its media type is generic, so they tell its compression.
    let local = Policy::ironic(DownloadSource::Local, Some("arm64"));
    check_resolve(&client, &reference, &local, &layer("aarch64", "qcow2"), 3).await?;
    // http: raw first.
    let http = Policy::ironic(DownloadSource::Http, Some("amd64"));
    check_resolve(&client, &reference, &http, &layer("x86_64", "raw"), 3).await?;
    // A platform policy: the first aarch64 entry in index order, no manifest needed.
    let platform = Policy::platform("linux", "arm64", None);
    let source = RegistrySource::direct(&client, &reference)?;
    let p = resolve(&source, "p", &TagOrDigest::from(&reference), &platform).await?;
    anyhow::ensure!(
        p.blob.as_ref().map(|b| &b.digest) == Some(&layer("aarch64", "qcow2")),
        "platform policy chose {:?}",
        p.blob
    );
    record(
        &registry,
        "resolve/index",
        Outcome::Passed,
        "index + only the needed manifests",
    );

    // Pull the chosen blob, verified, named by title.
    let resolved =
        check_resolve(&client, &reference, &local, &layer("aarch64", "qcow2"), 3).await?;
    let dir = tempfile::tempdir()?;
    let source = RegistrySource::direct(&client, &reference)?;
    let blob = resolved.blob.clone().expect("artifact blob");
    let files = pull_files(
        &source,
        std::slice::from_ref(&blob),
        dir.path(),
        &PullOptions::default(),
    )
    .await?;
    anyhow::ensure!(files.len() == 1, "one file");
    let bytes = std::fs::read(dir.path().join("disk-aarch64.qcow2"))?;
    anyhow::ensure!(digest(&bytes) == blob.digest, "pulled bytes verify");
    record(
        &registry,
        "resolve/pull-verified",
        Outcome::Passed,
        "pulled by title, digest checked",
    );
    Ok(())
}
