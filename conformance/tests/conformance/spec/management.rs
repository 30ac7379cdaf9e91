//! Content management: deleting a tag, a manifest and a blob, and what the registry must answer
//! afterwards (distribution-spec v1.1.1 "Content Management"). A registry that refuses deletes
//! (400 or 405, which the spec allows) has these checks unsupported.

use conformance::{RegistryOptions, for_each_backend, unique_repo};

use super::{Answer, Checks, Found, Http, area_done, pass, push_image, unsupported};
use crate::{OCI_MANIFEST, sha256_digest};

#[tokio::test]
async fn management() {
    area_done(
        for_each_backend(&RegistryOptions::new(), async |registry| {
            let http = Http::new(registry);
            let repo = unique_repo("spec-management");
            let (_, tagged) = push_image(
                registry,
                &repo,
                "untag-me",
                &[b"tagged"],
                serde_json::json!({}),
            )
            .await?;
            let layer = b"a layer whose manifest is deleted";
            let (_, doomed) =
                push_image(registry, &repo, "doomed", &[layer], serde_json::json!({})).await?;
            let mut checks = Checks::new(registry);
            checks
                .run("management/delete-tag", delete_tag(&http, &repo, &tagged))
                .await;
            checks
                .run(
                    "management/delete-manifest",
                    delete_manifest(&http, &repo, &doomed),
                )
                .await;
            checks
                .run("management/delete-blob", delete_blob(&http, &repo, layer))
                .await;
            checks
                .run("management/delete-missing", delete_missing(&http, &repo))
                .await;
            checks.finish()
        })
        .await,
    );
}

/// `Some(unsupported)` when the registry refuses deletes as the spec allows (400 or 405).
fn refused(answer: &Answer) -> Option<Found> {
    matches!(answer.status, 400 | 405).then(|| {
        unsupported(format!(
            "{} answered {}: the registry refuses this delete",
            answer.request, answer.status
        ))
    })
}

async fn delete_tag(http: &Http<'_>, repo: &str, digest: &str) -> Found {
    let answer = http
        .delete(&format!("/v2/{repo}/manifests/untag-me"))
        .await?;
    if let Some(refused) = refused(&answer) {
        return refused;
    }
    answer.expect(&[202], "202 Accepted deleting a tag")?;
    let path = format!("/v2/{repo}/manifests/untag-me");
    http.get(&path, &[("accept", OCI_MANIFEST)])
        .await?
        .expect(&[404], "404 for the deleted tag")?;
    let by_digest = http
        .get(
            &format!("/v2/{repo}/manifests/{digest}"),
            &[("accept", OCI_MANIFEST)],
        )
        .await?;
    by_digest.expect(&[200, 404], "200 (tag removed) or 404 (manifest removed)")?;
    pass()
}

async fn delete_manifest(http: &Http<'_>, repo: &str, digest: &str) -> Found {
    let answer = http
        .delete(&format!("/v2/{repo}/manifests/{digest}"))
        .await?;
    if let Some(refused) = refused(&answer) {
        return refused;
    }
    answer.expect(&[202], "202 Accepted deleting a manifest by digest")?;
    for reference in [digest, "doomed"] {
        let gone = http
            .get(
                &format!("/v2/{repo}/manifests/{reference}"),
                &[("accept", OCI_MANIFEST)],
            )
            .await?;
        gone.expect(&[404], "404 for a deleted manifest (and its tags)")?;
    }
    let list = http.get(&format!("/v2/{repo}/tags/list"), &[]).await?;
    list.expect(
        &[200, 404],
        "200 (or 404 for an empty repository) with the tags",
    )?;
    if list.status == 200 {
        let tags = list.json()?["tags"].clone();
        let listed = tags
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t == "doomed"));
        anyhow::ensure!(
            !listed,
            "{} still lists the tag of a deleted manifest: {tags}",
            list.request
        );
    }
    pass()
}

async fn delete_blob(http: &Http<'_>, repo: &str, layer: &[u8]) -> Found {
    let path = format!("/v2/{repo}/blobs/{}", sha256_digest(layer));
    let answer = http.delete(&path).await?;
    if let Some(refused) = refused(&answer) {
        return refused;
    }
    answer.expect(&[202], "202 Accepted deleting a blob")?;
    http.get(&path, &[])
        .await?
        .expect(&[404], "404 for a deleted blob")?;
    http.head(&path, &[])
        .await?
        .expect(&[404], "404 for a deleted blob")?;
    pass()
}

/// The spec (v1.1.1, "Deleting Manifests", "Deleting Blobs") asks for 404 for a blob that is not
/// found and for a manifest of a repository that does not exist; a manifest missing from an
/// existing repository may be answered 202 or 404.
async fn delete_missing(http: &Http<'_>, repo: &str) -> Found {
    let absent = sha256_digest(b"never stored anywhere");
    let manifest = http
        .delete(&format!("/v2/{repo}/manifests/{absent}"))
        .await?;
    if let Some(refused) = refused(&manifest) {
        return refused;
    }
    manifest.expect(
        &[202, 404],
        "202 or 404 deleting a manifest that does not exist",
    )?;
    let no_repo = http
        .delete(&format!("/v2/{repo}-absent/manifests/{absent}"))
        .await?;
    no_repo.expect(&[404], "404 deleting from a repository that does not exist")?;
    let blob = http.delete(&format!("/v2/{repo}/blobs/{absent}")).await?;
    blob.expect(&[404], "404 deleting a blob that does not exist")?;
    pass()
}
