//! Pull: manifests by tag and digest, HEAD, blobs, missing content, `Range` (distribution-spec
//! v1.1.1 "Pull", the conformance suite's pull workflow).

use conformance::{RegistryOptions, for_each_backend, unique_repo};

use super::{Checks, Http, area_done, pass, push_image, unsupported};
use crate::{OCI_MANIFEST, sha256_digest};

/// A layer long enough for every range case, every byte value present.
fn layer() -> Vec<u8> {
    (0..=255u8).cycle().take(4096).collect()
}

#[tokio::test]
async fn pull() {
    area_done(
        for_each_backend(&RegistryOptions::new(), async |registry| {
            let http = Http::new(registry);
            let repo = unique_repo("spec-pull");
            let data = layer();
            let (manifest, digest) =
                push_image(registry, &repo, "v1", &[&data], serde_json::json!({})).await?;
            let blob = sha256_digest(&data);
            let mut checks = Checks::new(registry);
            manifests(&mut checks, &http, &repo, &manifest, &digest).await;
            blobs(&mut checks, &http, &repo, &blob, &data).await;
            ranges(&mut checks, &http, &repo, &blob, &data).await;
            checks.finish()
        })
        .await,
    );
}

async fn manifests(
    checks: &mut Checks<'_>,
    http: &Http<'_>,
    repo: &str,
    body: &[u8],
    digest: &str,
) {
    checks
        .run("pull/manifest-by-tag", async {
            let answer = http.manifest_is(repo, "v1", OCI_MANIFEST, body).await?;
            answer.digest_header_is(digest)?;
            pass()
        })
        .await;
    checks
        .run("pull/manifest-by-digest", async {
            let answer = http.manifest_is(repo, digest, OCI_MANIFEST, body).await?;
            answer.digest_header_is(digest)?;
            pass()
        })
        .await;
    checks
        .run("pull/manifest-head", async {
            for reference in ["v1", digest] {
                let answer = http
                    .head(
                        &format!("/v2/{repo}/manifests/{reference}"),
                        &[("accept", OCI_MANIFEST)],
                    )
                    .await?;
                answer.expect(&[200], "200 for an existing manifest")?;
                answer.digest_header_is(digest)?;
                if let Some(length) = answer.header("content-length") {
                    anyhow::ensure!(
                        length == body.len().to_string(),
                        "{} gave Content-Length {length}; expected {}",
                        answer.request,
                        body.len()
                    );
                }
            }
            pass()
        })
        .await;
    checks
        .run("pull/manifest-missing", async {
            let absent = sha256_digest(b"no manifest has these bytes");
            for reference in ["no-such-tag", absent.as_str()] {
                let path = format!("/v2/{repo}/manifests/{reference}");
                let answer = http.get(&path, &[("accept", OCI_MANIFEST)]).await?;
                answer.expect(&[404], "404 for a manifest that does not exist")?;
                answer.error_code_is("MANIFEST_UNKNOWN")?;
                http.head(&path, &[("accept", OCI_MANIFEST)])
                    .await?
                    .expect(&[404], "404 for a manifest that does not exist")?;
            }
            pass()
        })
        .await;
    checks
        .run("pull/manifest-invalid-digest", async {
            let answer = http
                .get(&format!("/v2/{repo}/manifests/sha256:totallywrong"), &[])
                .await?;
            answer.expect(&[400, 404], "400 or 404 for a malformed digest")?;
            answer.error_code_known()?;
            pass()
        })
        .await;
}

async fn blobs(checks: &mut Checks<'_>, http: &Http<'_>, repo: &str, digest: &str, data: &[u8]) {
    let path = format!("/v2/{repo}/blobs/{digest}");
    checks
        .run("pull/blob-get", async {
            http.blob_is(repo, digest, data).await?;
            http.get(&path, &[]).await?.digest_header_is(digest)?;
            pass()
        })
        .await;
    checks
        .run("pull/blob-head", async {
            let answer = http.head(&path, &[]).await?;
            answer.expect(&[200], "200 for an existing blob")?;
            answer.digest_header_is(digest)?;
            let length = answer.header("content-length").unwrap_or_default();
            anyhow::ensure!(
                length == data.len().to_string(),
                "{} gave Content-Length {length:?}; expected {}",
                answer.request,
                data.len()
            );
            pass()
        })
        .await;
    checks
        .run("pull/blob-missing", async {
            let absent = format!("/v2/{repo}/blobs/{}", sha256_digest(b"never pushed"));
            let answer = http.get(&absent, &[]).await?;
            answer.expect(&[404], "404 for a blob that does not exist")?;
            answer.error_code_is("BLOB_UNKNOWN")?;
            http.head(&absent, &[])
                .await?
                .expect(&[404], "404 for a blob that does not exist")?;
            pass()
        })
        .await;
}

/// `Range` on blobs (RFC 9110 §14): registries SHOULD support it, so a full 200 answer makes
/// the range checks unsupported, not failed.
async fn ranges(checks: &mut Checks<'_>, http: &Http<'_>, repo: &str, digest: &str, data: &[u8]) {
    let len = data.len();
    let cases: [(&str, String, usize, usize); 3] = [
        ("pull/blob-range", "bytes=10-19".to_owned(), 10, 20),
        (
            "pull/blob-range-suffix",
            "bytes=-16".to_owned(),
            len - 16,
            len,
        ),
        (
            "pull/blob-range-over-long",
            format!("bytes=100-{}", len + 1000),
            100,
            len,
        ),
    ];
    let path = format!("/v2/{repo}/blobs/{digest}");
    for (name, range, start, end) in cases {
        let path = &path;
        checks
            .run(name, async move {
                let answer = http.get(path, &[("range", &range)]).await?;
                if answer.status == 200 && answer.body == data {
                    return unsupported(format!("{range} answered with the whole blob (200)"));
                }
                answer.expect(&[206], format_args!("206 Partial Content for {range}"))?;
                let want_range = format!("bytes {start}-{}/{len}", end - 1);
                let got_range = answer.header("content-range").unwrap_or_default();
                anyhow::ensure!(
                    got_range == want_range,
                    "{} with {range} gave Content-Range {got_range:?}; expected {want_range:?}",
                    answer.request
                );
                anyhow::ensure!(
                    answer.body == data[start..end],
                    "{} with {range} returned other bytes than {start}..{end}",
                    answer.request
                );
                pass()
            })
            .await;
    }
    checks
        .run("pull/blob-range-unsatisfiable", async {
            let range = format!("bytes={len}-{}", len + 10);
            let answer = http.get(&path, &[("range", &range)]).await?;
            if answer.status == 200 && answer.body == data {
                return unsupported(format!("{range} answered with the whole blob (200)"));
            }
            answer.expect(
                &[416],
                format_args!("416 Range Not Satisfiable for {range} past the end"),
            )?;
            pass()
        })
        .await;
}
