//! Push: POST+PUT, single POST, streamed and chunked PATCH (out of order → 416), upload status,
//! cancel, cross-repository mount (missing source, anonymous), manifests (distribution-spec
//! v1.1.1 "Push", the conformance suite's push workflow).

use conformance::{RegistryOptions, for_each_backend, unique_repo};
use reqwest::Method;

use super::{Checks, Http, area_done, image_manifest, pass, pass_with, unsupported};
use crate::{OCI_MANIFEST, push_blob, sha256_digest};

#[tokio::test]
async fn push() {
    area_done(
        for_each_backend(&RegistryOptions::new(), async |registry| {
            let http = Http::new(registry);
            let repo = unique_repo("spec-push");
            let mut checks = Checks::new(registry);
            monolithic(&mut checks, &http, &repo).await;
            chunked(&mut checks, &http, &repo).await;
            sessions(&mut checks, &http, &repo).await;
            mounts(&mut checks, &http, &repo).await;
            manifests(&mut checks, &http, &repo).await;
            checks.finish()
        })
        .await,
    );
}

async fn monolithic(checks: &mut Checks<'_>, http: &Http<'_>, repo: &str) {
    checks
        .run("push/post-put", async {
            let data = b"pushed with POST then PUT".to_vec();
            let digest = sha256_digest(&data);
            let location = http.start_upload(repo).await?;
            let answer = http.finish_upload(&location, &digest, data.clone()).await?;
            answer.expect(&[201], "201 Created closing the upload")?;
            answer.location()?;
            answer.digest_header_is(&digest)?;
            http.blob_is(repo, &digest, &data).await?;
            pass()
        })
        .await;
    checks
        .run("push/single-post", async {
            let data = b"pushed with one POST".to_vec();
            let digest = sha256_digest(&data);
            let answer = http
                .send(
                    Method::POST,
                    &format!("/v2/{repo}/blobs/uploads/?digest={digest}"),
                    &[("content-type", "application/octet-stream")],
                    Some(data.clone()),
                )
                .await?;
            answer.expect(&[201, 202], "201 (stored) or 202 (upload session)")?;
            let location = answer.location()?;
            if answer.status == 201 {
                http.blob_is(repo, &digest, &data).await?;
                return pass();
            }
            // 202: the registry ignores the body; the client goes on with a PUT.
            let put = http.finish_upload(&location, &digest, data.clone()).await?;
            put.expect(&[201], "201 Created closing the upload the POST opened")?;
            http.blob_is(repo, &digest, &data).await?;
            unsupported("POST with ?digest= answered 202: a session, completed with PUT")
        })
        .await;
    checks
        .run("push/streamed-patch", async {
            let data: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
            let digest = sha256_digest(&data);
            let location = http.start_upload(repo).await?;
            let patch = http
                .send(
                    Method::PATCH,
                    &location,
                    &[("content-type", "application/octet-stream")],
                    Some(data.clone()),
                )
                .await?;
            patch.expect(&[202], "202 Accepted for a streamed PATCH")?;
            let put = http
                .finish_upload(&patch.location()?, &digest, Vec::new())
                .await?;
            put.expect(&[201], "201 Created closing the streamed upload")?;
            http.blob_is(repo, &digest, &data).await?;
            pass()
        })
        .await;
}

/// `PATCH` with `Content-Range` and `Content-Length`.
async fn patch_chunk(
    http: &Http<'_>,
    location: &str,
    data: &[u8],
    start: usize,
) -> anyhow::Result<super::Answer> {
    let range = format!("{start}-{}", start + data.len() - 1);
    let length = data.len().to_string();
    http.send(
        Method::PATCH,
        location,
        &[
            ("content-type", "application/octet-stream"),
            ("content-range", &range),
            ("content-length", &length),
        ],
        Some(data.to_vec()),
    )
    .await
}

/// Fails unless the answer's `Range` is `0-<last>`.
fn range_is(answer: &super::Answer, last: usize) -> anyhow::Result<()> {
    let want = format!("0-{last}");
    let got = answer.header("range").unwrap_or_default();
    if got == want || got == format!("bytes={want}") {
        Ok(())
    } else {
        Err(answer.fail(format_args!("Range: {want}, got {got:?}")))
    }
}

async fn chunked(checks: &mut Checks<'_>, http: &Http<'_>, repo: &str) {
    let data: Vec<u8> = (0..30_000u32).map(|i| (i % 253) as u8).collect();
    let (first, second) = data.split_at(20_000);
    checks
        .run("push/chunked", async {
            let digest = sha256_digest(&data);
            let location = http.start_upload(repo).await?;
            let one = patch_chunk(http, &location, first, 0).await?;
            one.expect(&[202], "202 Accepted for the first chunk")?;
            range_is(&one, first.len() - 1)?;
            let next = one.location()?;
            let two = patch_chunk(http, &next, second, first.len()).await?;
            two.expect(&[202], "202 Accepted for the second chunk")?;
            range_is(&two, data.len() - 1)?;
            let put = http
                .finish_upload(&two.location()?, &digest, Vec::new())
                .await?;
            put.expect(&[201], "201 Created closing the chunked upload")?;
            http.blob_is(repo, &digest, &data).await?;
            pass()
        })
        .await;
    checks
        .run("push/chunked-out-of-order", async {
            let location = http.start_upload(repo).await?;
            let skipped = patch_chunk(http, &location, second, first.len()).await?;
            skipped.expect(&[416], "416 for a chunk that does not start at 0")?;
            let location = http.start_upload(repo).await?;
            let one = patch_chunk(http, &location, first, 0).await?;
            one.expect(&[202], "202 Accepted for the first chunk")?;
            let again = patch_chunk(http, &one.location()?, first, 0).await?;
            again.expect(&[416], "416 for the first chunk sent again")?;
            pass()
        })
        .await;
    checks
        .run("push/upload-status", async {
            let location = http.start_upload(repo).await?;
            let one = patch_chunk(http, &location, first, 0).await?;
            one.expect(&[202], "202 Accepted for the first chunk")?;
            let status = http.get(&one.location()?, &[]).await?;
            status.expect(&[204], "204 No Content for the upload's status")?;
            status.location()?;
            range_is(&status, first.len() - 1)?;
            pass()
        })
        .await;
}

async fn sessions(checks: &mut Checks<'_>, http: &Http<'_>, repo: &str) {
    checks
        .run("push/upload-cancel", async {
            let location = http.start_upload(repo).await?;
            let cancel = http.delete(&location).await?;
            if matches!(cancel.status, 404 | 405) {
                return unsupported(format!(
                    "{} answered {}: no upload cancel",
                    cancel.request, cancel.status
                ));
            }
            cancel.expect(&[204, 202, 200], "204 No Content cancelling the upload")?;
            let after = http.get(&location, &[]).await?;
            after.expect(&[404], "404 for the status of a cancelled upload")?;
            after.error_code_is("BLOB_UPLOAD_UNKNOWN")?;
            pass()
        })
        .await;
}

async fn mounts(checks: &mut Checks<'_>, http: &Http<'_>, repo: &str) {
    let target = format!("{repo}-mount");
    let data = b"a blob to mount elsewhere".to_vec();
    let digest = sha256_digest(&data);
    let pushed = push_blob(http.registry, repo, &data).await;
    checks
        .run("push/mount", async {
            pushed.as_ref().map_err(|e| anyhow::anyhow!("{e:#}"))?;
            let answer = http
                .send(
                    Method::POST,
                    &format!("/v2/{target}/blobs/uploads/?mount={digest}&from={repo}"),
                    &[("content-length", "0")],
                    None,
                )
                .await?;
            answer.expect(&[201, 202], "201 (mounted) or 202 (upload session)")?;
            let location = answer.location()?;
            if answer.status == 202 {
                return unsupported(format!("{} answered 202: no mount", answer.request));
            }
            let url = crate::resolve_location(http.registry, &location)?;
            let want = format!("/v2/{target}/blobs/{digest}");
            anyhow::ensure!(
                url.path() == want,
                "{} gave Location {location}; expected {want}",
                answer.request
            );
            http.blob_is(&target, &digest, &data).await?;
            pass()
        })
        .await;
    checks
        .run("push/mount-missing-source", async {
            let absent = sha256_digest(b"not in the source repository");
            let answer = http
                .send(
                    Method::POST,
                    &format!("/v2/{target}/blobs/uploads/?mount={absent}&from={repo}"),
                    &[("content-length", "0")],
                    None,
                )
                .await?;
            answer.expect(&[202], "202 and an upload session when the blob is missing")?;
            let location = answer.location()?;
            let url = crate::resolve_location(http.registry, &location)?;
            let prefix = format!("/v2/{target}/blobs/uploads/");
            anyhow::ensure!(
                url.path().starts_with(&prefix),
                "{} gave Location {location}; expected one under {prefix}",
                answer.request
            );
            pass()
        })
        .await;
    checks
        .run("push/mount-anonymous", async {
            let absent = sha256_digest(b"mounted from nowhere");
            let unknown = http
                .send(
                    Method::POST,
                    &format!("/v2/{target}-anon/blobs/uploads/?mount={absent}"),
                    &[("content-length", "0")],
                    None,
                )
                .await?;
            unknown.expect(&[202], "202 and an upload session for an unknown blob")?;
            unknown.location()?;
            let known = http
                .send(
                    Method::POST,
                    &format!("/v2/{target}-anon/blobs/uploads/?mount={digest}"),
                    &[("content-length", "0")],
                    None,
                )
                .await?;
            known.expect(&[201, 202], "201 (mounted) or 202 (upload session)")?;
            if known.status == 201 {
                http.blob_is(&format!("{target}-anon"), &digest, &data)
                    .await?;
                pass_with("mounts automatically without from")
            } else {
                unsupported("no automatic mount without from (202)")
            }
        })
        .await;
}

async fn manifests(checks: &mut Checks<'_>, http: &Http<'_>, repo: &str) {
    checks
        .run("push/manifest", async {
            let layer = b"layer of a pushed manifest";
            push_blob(http.registry, repo, b"{}").await?;
            push_blob(http.registry, repo, layer).await?;
            let body = image_manifest(&[layer], serde_json::json!({}));
            let digest = sha256_digest(&body);
            let missing = http
                .get(
                    &format!("/v2/{repo}/manifests/pushed"),
                    &[("accept", OCI_MANIFEST)],
                )
                .await?;
            missing.expect(&[404], "404 before the manifest is pushed")?;
            let answer = http
                .put_manifest(repo, "pushed", OCI_MANIFEST, &body)
                .await?;
            answer.expect(&[201], "201 Created for a manifest PUT")?;
            answer.location()?;
            answer.digest_header_is(&digest)?;
            http.manifest_is(repo, &digest, OCI_MANIFEST, &body).await?;
            pass()
        })
        .await;
    checks
        .run("push/manifest-no-layers", async {
            push_blob(http.registry, repo, b"{}").await?;
            let body = image_manifest(&[], serde_json::json!({}));
            let answer = http
                .put_manifest(repo, "no-layers", OCI_MANIFEST, &body)
                .await?;
            answer.expect(&[201], "201 Created for a manifest without layers")?;
            http.manifest_is(repo, "no-layers", OCI_MANIFEST, &body)
                .await?;
            pass()
        })
        .await;
}
