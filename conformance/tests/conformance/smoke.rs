//! Smoke checks: the registry answers, and blobs and manifests round-trip byte-exact.

use conformance::capability::probe;
use conformance::{RegistryOptions, for_each_backend, unique_repo};
use oci_ref::media_type::{OCI_EMPTY, OCI_MANIFEST};

use crate::{authed, client, pull_blob, pull_manifest, push_blob, push_manifest, sha256_digest};

#[tokio::test]
async fn v2_ping_answers() {
    for_each_backend(&RegistryOptions::new(), async |registry| {
        probe(registry, "smoke/reachable", async {
            let resp = authed(
                registry,
                client().get(format!("{}/v2/", registry.base_url())),
            )
            .send()
            .await?;
            anyhow::ensure!(resp.status() == 200, "GET /v2/: status {}", resp.status());
            Ok(())
        })
        .await
    })
    .await
    .expect("GET /v2/ answers 200 on every backend");
}

#[tokio::test]
async fn blob_push_pull_round_trips() {
    for_each_backend(&RegistryOptions::new(), async |registry| {
        probe(registry, "smoke/blob-push-pull", async {
            let repo = unique_repo("smoke-blob");
            // Every byte value, so any text-mode mangling shows.
            let data: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
            let digest = push_blob(registry, &repo, &data).await?;
            anyhow::ensure!(
                digest == sha256_digest(&data),
                "push_blob returned another digest"
            );
            let pulled = pull_blob(registry, &repo, &digest).await?;
            anyhow::ensure!(pulled == data, "pulled blob differs from the pushed bytes");
            Ok(())
        })
        .await
    })
    .await
    .expect("a blob round-trips on every backend");
}

#[tokio::test]
async fn manifest_push_pull_round_trips() {
    for_each_backend(&RegistryOptions::new(), async |registry| {
        probe(registry, "smoke/manifest-push-pull", async {
            let repo = unique_repo("smoke-manifest");
            let config = b"{}";
            let config_digest = push_blob(registry, &repo, config).await?;
            let layer = b"hello, registry\n";
            let layer_digest = push_blob(registry, &repo, layer).await?;
            let manifest = serde_json::json!({
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_EMPTY, "digest": config_digest, "size": config.len()},
                "layers": [{
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": layer_digest,
                    "size": layer.len(),
                }],
                "annotations": {"org.opencontainers.image.title": "smoke"},
            });
            let body = serde_json::to_vec_pretty(&manifest)?;
            let digest = push_manifest(registry, &repo, "v1", OCI_MANIFEST, &body).await?;
            for reference in ["v1", digest.as_str()] {
                let (pulled, content_type) =
                    pull_manifest(registry, &repo, reference, OCI_MANIFEST).await?;
                anyhow::ensure!(
                    pulled == body,
                    "manifest by {reference} differs from the pushed bytes"
                );
                anyhow::ensure!(
                    sha256_digest(&pulled) == digest,
                    "manifest by {reference} has another digest"
                );
                anyhow::ensure!(
                    content_type == OCI_MANIFEST,
                    "manifest by {reference}: Content-Type {content_type:?}"
                );
            }
            Ok(())
        })
        .await
    })
    .await
    .expect("a manifest round-trips on every backend");
}
