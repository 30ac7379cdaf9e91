//! Data sets: the shapes of content a registry must store byte-exact (the data toggles of the
//! distribution-spec conformance rewrite): image, index, nested index, artifact with and without
//! a subject, a subject that does not exist yet, the empty blob, sha512 digests, the `data`
//! field, custom fields, and bad digests refused.

use base64::Engine as _;
use conformance::{RegistryOptions, for_each_backend, unique_repo};

use super::{
    Checks, EMPTY_JSON_DIGEST, Found, Http, OCI_INDEX, area_done, descriptor, image_manifest, pass,
    push_image, unsupported,
};
use crate::{OCI_EMPTY, OCI_MANIFEST, push_blob, sha256_digest};

#[tokio::test]
async fn data() {
    area_done(
        for_each_backend(&RegistryOptions::new(), async |registry| {
            let http = Http::new(registry);
            let repo = unique_repo("spec-data");
            let mut checks = Checks::new(registry);
            checks.run("data/image", image(&http, &repo)).await;
            checks.run("data/index", index(&http, &repo)).await;
            checks
                .run("data/nested-index", nested_index(&http, &repo))
                .await;
            checks
                .run("data/artifact", artifact(&http, &repo, None))
                .await;
            let (subject, _) = push_image(
                registry,
                &repo,
                "subject",
                &[b"subject"],
                serde_json::json!({}),
            )
            .await?;
            checks
                .run(
                    "data/artifact-subject",
                    artifact(&http, &repo, Some(subject)),
                )
                .await;
            checks
                .run("data/subject-missing", subject_missing(&http, &repo))
                .await;
            checks
                .run("data/empty-blob", empty_blob(&http, &repo))
                .await;
            checks
                .run("data/sha512-blob", sha512_blob(&http, &repo))
                .await;
            checks
                .run("data/sha512-manifest", sha512_manifest(&http, &repo))
                .await;
            checks
                .run("data/bad-digest-blob", bad_digest_blob(&http, &repo))
                .await;
            checks
                .run(
                    "data/bad-digest-manifest",
                    bad_digest_manifest(&http, &repo),
                )
                .await;
            checks
                .run("data/data-field", data_field(&http, &repo))
                .await;
            checks
                .run("data/custom-fields", custom_fields(&http, &repo))
                .await;
            checks.finish()
        })
        .await,
    );
}

/// Pushes `body` by digest and by `tag`, and reads it back byte-exact both ways.
async fn round_trip(
    http: &Http<'_>,
    repo: &str,
    tag: &str,
    media_type: &str,
    body: &[u8],
) -> Found {
    let digest = sha256_digest(body);
    for reference in [digest.as_str(), tag] {
        let answer = http.put_manifest(repo, reference, media_type, body).await?;
        answer.expect(&[201], format_args!("201 Created for a {tag} manifest"))?;
        answer.digest_header_is(&digest)?;
    }
    http.manifest_is(repo, tag, media_type, body).await?;
    http.manifest_is(repo, &digest, media_type, body).await?;
    pass()
}

/// An image manifest with a platform-specific config; pushed with its blobs. Returns its body.
async fn platform_image(http: &Http<'_>, repo: &str, arch: &str) -> anyhow::Result<Vec<u8>> {
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": []},
    }))?;
    let layer = format!("layer for {arch}").into_bytes();
    push_blob(http.registry, repo, &config).await?;
    push_blob(http.registry, repo, &layer).await?;
    let body = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": descriptor("application/vnd.oci.image.config.v1+json", &config),
        "layers": [descriptor("application/vnd.oci.image.layer.v1.tar", &layer)],
    }))?;
    let answer = http
        .put_manifest(repo, &sha256_digest(&body), OCI_MANIFEST, &body)
        .await?;
    answer.expect(&[201], "201 Created for a platform image")?;
    Ok(body)
}

fn index_of(entries: &[(&str, &[u8], Option<&str>)]) -> anyhow::Result<Vec<u8>> {
    let manifests: Vec<serde_json::Value> = entries
        .iter()
        .map(|(media_type, body, arch)| {
            let mut d = descriptor(media_type, body);
            if let Some(arch) = arch {
                d["platform"] = serde_json::json!({"architecture": arch, "os": "linux"});
            }
            d
        })
        .collect();
    Ok(serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests,
    }))?)
}

async fn image(http: &Http<'_>, repo: &str) -> Found {
    let body = platform_image(http, repo, "amd64").await?;
    round_trip(http, repo, "image", OCI_MANIFEST, &body).await
}

async fn index(http: &Http<'_>, repo: &str) -> Found {
    let amd = platform_image(http, repo, "amd64").await?;
    let arm = platform_image(http, repo, "arm64").await?;
    let body = index_of(&[
        (OCI_MANIFEST, &amd, Some("amd64")),
        (OCI_MANIFEST, &arm, Some("arm64")),
    ])?;
    round_trip(http, repo, "index", OCI_INDEX, &body).await
}

async fn nested_index(http: &Http<'_>, repo: &str) -> Found {
    let amd = platform_image(http, repo, "amd64").await?;
    let inner = index_of(&[(OCI_MANIFEST, &amd, Some("amd64"))])?;
    let answer = http
        .put_manifest(repo, &sha256_digest(&inner), OCI_INDEX, &inner)
        .await?;
    answer.expect(&[201], "201 Created for the inner index")?;
    let outer = index_of(&[(OCI_INDEX, &inner, None)])?;
    round_trip(http, repo, "nested-index", OCI_INDEX, &outer).await
}

async fn artifact(http: &Http<'_>, repo: &str, subject: Option<Vec<u8>>) -> Found {
    let digest = push_blob(http.registry, repo, b"{}").await?;
    anyhow::ensure!(
        digest == EMPTY_JSON_DIGEST,
        "the empty descriptor's digest is {digest}, expected {EMPTY_JSON_DIGEST}"
    );
    let payload = b"an artifact's payload";
    push_blob(http.registry, repo, payload).await?;
    let mut manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.conformance.artifact.v1",
        "config": descriptor(OCI_EMPTY, b"{}"),
        "layers": [descriptor("application/octet-stream", payload)],
    });
    let tag = match subject {
        Some(subject) => {
            manifest["subject"] = descriptor(OCI_MANIFEST, &subject);
            "artifact-subject"
        }
        None => "artifact",
    };
    round_trip(
        http,
        repo,
        tag,
        OCI_MANIFEST,
        &serde_json::to_vec(&manifest)?,
    )
    .await
}

async fn subject_missing(http: &Http<'_>, repo: &str) -> Found {
    push_blob(http.registry, repo, b"{}").await?;
    let absent = image_manifest(&[b"a subject pushed later"], serde_json::json!({}));
    let body = image_manifest(
        &[],
        serde_json::json!({
            "artifactType": "application/vnd.conformance.artifact.v1",
            "layers": [descriptor(OCI_EMPTY, b"{}")],
            "subject": descriptor(OCI_MANIFEST, &absent),
        }),
    );
    round_trip(http, repo, "subject-missing", OCI_MANIFEST, &body).await
}

async fn empty_blob(http: &Http<'_>, repo: &str) -> Found {
    let digest = push_blob(http.registry, repo, b"").await?;
    http.blob_is(repo, &digest, b"").await?;
    let head = http
        .head(&format!("/v2/{repo}/blobs/{digest}"), &[])
        .await?;
    head.expect(&[200], "200 for the empty blob")?;
    let length = head.header("content-length").unwrap_or_default();
    anyhow::ensure!(
        length == "0",
        "{} gave Content-Length {length:?}; expected 0",
        head.request
    );
    pass()
}

fn sha512_digest(data: &[u8]) -> String {
    oci_ref::digest_of(oci_ref::Algorithm::Sha512, data).to_string()
}

async fn sha512_blob(http: &Http<'_>, repo: &str) -> Found {
    let data = b"a blob addressed by sha512".to_vec();
    let digest = sha512_digest(&data);
    let location = http.start_upload(repo).await?;
    let answer = http.finish_upload(&location, &digest, data.clone()).await?;
    if answer.status == 400 {
        return unsupported(format!("{} answered 400: no sha512 blobs", answer.request));
    }
    answer.expect(&[201], "201 Created for a sha512 blob")?;
    http.blob_is(repo, &digest, &data).await?;
    pass()
}

async fn sha512_manifest(http: &Http<'_>, repo: &str) -> Found {
    push_blob(http.registry, repo, b"{}").await?;
    let body = image_manifest(
        &[],
        serde_json::json!({"annotations": {"digest": "sha512"}}),
    );
    let digest = sha512_digest(&body);
    let answer = http
        .put_manifest(repo, &digest, OCI_MANIFEST, &body)
        .await?;
    if answer.status == 400 {
        return unsupported(format!(
            "{} answered 400: no sha512 manifests",
            answer.request
        ));
    }
    answer.expect(
        &[201],
        "201 Created for a manifest pushed by its sha512 digest",
    )?;
    http.manifest_is(repo, &digest, OCI_MANIFEST, &body).await?;
    pass()
}

async fn bad_digest_blob(http: &Http<'_>, repo: &str) -> Found {
    let location = http.start_upload(repo).await?;
    let wrong = sha256_digest(b"other bytes");
    let answer = http
        .finish_upload(&location, &wrong, b"these bytes".to_vec())
        .await?;
    answer.expect(&[400], "400 for a blob whose bytes do not match ?digest=")?;
    answer.error_code_is("DIGEST_INVALID")?;
    http.head(&format!("/v2/{repo}/blobs/{wrong}"), &[])
        .await?
        .expect(&[404], "404: nothing stored under the wrong digest")?;
    pass()
}

async fn bad_digest_manifest(http: &Http<'_>, repo: &str) -> Found {
    push_blob(http.registry, repo, b"{}").await?;
    let body = image_manifest(&[], serde_json::json!({"annotations": {"bad": "digest"}}));
    let wrong = sha256_digest(b"not this manifest");
    let answer = http.put_manifest(repo, &wrong, OCI_MANIFEST, &body).await?;
    answer.expect(&[400], "400 for a manifest pushed under another digest")?;
    // The spec names no code for this case; both of these say what is wrong.
    answer.error_code_in(&["DIGEST_INVALID", "MANIFEST_INVALID"])?;
    pass()
}

async fn data_field(http: &Http<'_>, repo: &str) -> Found {
    let layer = b"small enough to embed";
    push_blob(http.registry, repo, b"{}").await?;
    push_blob(http.registry, repo, layer).await?;
    let mut embedded = descriptor("application/vnd.oci.image.layer.v1.tar", layer);
    embedded["data"] = base64::engine::general_purpose::STANDARD
        .encode(layer)
        .into();
    let body = image_manifest(&[], serde_json::json!({"layers": [embedded]}));
    round_trip(http, repo, "data-field", OCI_MANIFEST, &body).await
}

async fn custom_fields(http: &Http<'_>, repo: &str) -> Found {
    push_blob(http.registry, repo, b"{}").await?;
    let body = image_manifest(
        &[],
        serde_json::json!({
            "annotations": {"org.example.custom": "value", "org.opencontainers.image.title": "x"},
            "org.example.unknown-field": {"nested": [1, 2, 3]},
        }),
    );
    round_trip(http, repo, "custom-fields", OCI_MANIFEST, &body).await
}
