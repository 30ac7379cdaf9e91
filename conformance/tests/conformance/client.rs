//! `oci-client` against the real registry: every endpoint it speaks, each recording a capability.
//!
//! Capabilities recorded under `client/`: `ping`, `basic-auth`, `blob-monolithic`, `blob-range`,
//! `blob-chunked`, `blob-streamed`, `cross-repo-mount`, `manifest-put-get-head`, `manifest-delete`,
//! `blob-delete`, `tags-ordered`, `tag-pagination`, `catalog`, `referrers-api` (unsupported on
//! distribution 2.8: the tag-schema fallback then runs for real), `referrers-fallback` and
//! `referrers-concurrent`.

use anyhow::Context as _;
use conformance::capability::{Outcome, probe, provisioned_only, record};
use conformance::{Registry, RegistryOptions, for_each_backend, unique_repo};
use futures_util::StreamExt as _;
use oci_client::{Client, PushOutcome, ReferrersSource, Repository};
use oci_ref::TagOrDigest;
use oci_ref::media_type::{OCI_INDEX, OCI_MANIFEST};
use oci_ref::{Digest, Reference};

use crate::{OCI_EMPTY, digest};

/// Installs the TLS provider before the harness builds its own reqwest clients (this crate's
/// reqwest features include `rustls-no-provider` once `oci-client` is linked).
fn setup() {
    oci_client::install_crypto_provider();
}

/// A client for `registry`: plain HTTP on loopback, its credentials if it has any.
fn client(registry: &Registry) -> anyhow::Result<Client> {
    let mut keychain = oci_auth::Keychain::empty();
    if let Some(c) = registry.credentials() {
        keychain = keychain.with_credential(
            registry.host(),
            oci_auth::Credential::basic(c.username.clone(), c.password.expose().to_owned()),
        );
    }
    Ok(Client::builder()
        .plain_http(registry.host())
        .keychain(keychain)
        .build()?)
}

fn repo(registry: &Registry, name: &str) -> anyhow::Result<(Repository, Reference)> {
    let reference: Reference = format!("{}/{name}:latest", registry.host()).parse()?;
    Ok((client(registry)?.repository(&reference)?, reference))
}

fn tag(t: &str) -> TagOrDigest {
    TagOrDigest::tag(t).expect("test tags are valid")
}

async fn fetch_all(repo: &Repository, d: &Digest, size: u64) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    let n = repo.fetch_blob_to(d, Some(size), &mut out).await?;
    anyhow::ensure!(n == size, "fetched {n} bytes, expected {size}");
    Ok(out)
}

/// Pushes the empty config blob and a manifest for `layer`, under `reference`. Returns the
/// manifest digest.
async fn push_image(
    repo: &Repository,
    reference: &TagOrDigest,
    layer: &[u8],
    extra: serde_json::Value,
) -> anyhow::Result<Digest> {
    repo.push_blob(&digest(b"{}"), bytes::Bytes::from_static(b"{}"))
        .await?;
    repo.push_blob(&digest(layer), bytes::Bytes::copy_from_slice(layer))
        .await?;
    let mut manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_EMPTY, "digest": digest(b"{}").as_str(), "size": 2},
        "layers": [{
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": digest(layer).as_str(),
            "size": layer.len(),
        }],
    });
    if let (Some(m), Some(extra)) = (manifest.as_object_mut(), extra.as_object()) {
        m.extend(extra.clone());
    }
    let body = serde_json::to_vec_pretty(&manifest)?;
    let pushed = repo
        .push_manifest(reference, body.into(), OCI_MANIFEST)
        .await?;
    Ok(pushed.descriptor.digest)
}

#[tokio::test]
async fn client_ping() {
    setup();
    for_each_backend(&RegistryOptions::new(), async |registry| {
        probe(registry, "client/ping", async {
            client(registry)?.ping(registry.host()).await?;
            Ok(())
        })
        .await
    })
    .await
    .expect("oci-client pings every backend");
}

#[tokio::test]
async fn client_ping_with_htpasswd() {
    if !provisioned_only(&["client/basic-auth"], "an htpasswd file it writes")
        .expect("valid backend selection")
    {
        return;
    }
    setup();
    let options = RegistryOptions::htpasswd([("alice", "correct horse")]);
    for_each_backend(&options, async |registry| {
        probe(registry, "client/basic-auth", async {
            client(registry)?.ping(registry.host()).await?;
            let (repo, _) = repo(registry, &unique_repo("client-auth"))?;
            let data = b"authenticated blob";
            repo.push_blob(&digest(data), bytes::Bytes::from_static(data))
                .await?;
            anyhow::ensure!(fetch_all(&repo, &digest(data), data.len() as u64).await? == data);
            Ok(())
        })
        .await
    })
    .await
    .expect("oci-client authenticates with Basic on every backend");
}

#[tokio::test]
async fn blob_monolithic_and_range() {
    setup();
    for_each_backend(&RegistryOptions::new(), async |registry| {
        let (repo, _) = repo(registry, &unique_repo("client-blob"))?;
        let data: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
        let d = digest(&data);
        probe(registry, "client/blob-monolithic", async {
            let first = repo.push_blob(&d, data.clone().into()).await?;
            anyhow::ensure!(first == PushOutcome::Uploaded, "first push: {first:?}");
            let again = repo.push_blob(&d, data.clone().into()).await?;
            anyhow::ensure!(
                again == PushOutcome::AlreadyExists,
                "second push: {again:?}"
            );
            let info = repo.head_blob(&d).await?.context("HEAD after push")?;
            anyhow::ensure!(
                info.size == Some(data.len() as u64),
                "HEAD size {:?}",
                info.size
            );
            anyhow::ensure!(fetch_all(&repo, &d, data.len() as u64).await? == data);
            let missing = digest(b"never pushed");
            anyhow::ensure!(repo.head_blob(&missing).await?.is_none());
            let e = repo
                .fetch_blob(&missing, None)
                .await
                .err()
                .context("GET of a missing blob")?;
            anyhow::ensure!(e.is_not_found(), "missing blob: {e}");
            Ok(())
        })
        .await?;
        let offset = 70_000u64;
        let mut ranged = repo.fetch_blob_range(&d, offset).await?;
        let partial = ranged.is_partial();
        let mut got = Vec::new();
        while let Some(chunk) = ranged.next().await {
            got.extend_from_slice(&chunk?);
        }
        let want = if partial {
            &data[offset as usize..]
        } else {
            &data[..]
        };
        anyhow::ensure!(got == want, "range body (partial={partial}) differs");
        record(
            registry,
            "client/blob-range",
            Outcome::supported_if(partial),
            "",
        );
        Ok(())
    })
    .await
    .expect("monolithic blob upload, HEAD, GET and Range work on every backend");
}

#[tokio::test]
async fn blob_chunked() {
    setup();
    for_each_backend(&RegistryOptions::new(), async |registry| {
        probe(registry, "client/blob-chunked", async {
            let (repo, _) = repo(registry, &unique_repo("client-chunked"))?;
            let data: Vec<u8> = (0..3 * 1024 * 1024 + 17)
                .map(|i| (i * 7 % 251) as u8)
                .collect();
            let d = digest(&data);
            let outcome = repo
                .push_blob_chunked(&d, data.len() as u64, data.as_slice(), 1024 * 1024)
                .await?;
            anyhow::ensure!(outcome == PushOutcome::Uploaded, "{outcome:?}");
            anyhow::ensure!(fetch_all(&repo, &d, data.len() as u64).await? == data);
            Ok(())
        })
        .await
    })
    .await
    .expect("chunked upload works on every backend");
}

#[tokio::test]
async fn blob_streamed() {
    setup();
    for_each_backend(&RegistryOptions::new(), async |registry| {
        probe(registry, "client/blob-streamed", async {
            let (repo, _) = repo(registry, &unique_repo("client-streamed"))?;
            let data: Vec<u8> = (0..5 * 1024 * 1024 + 3)
                .map(|i| (i * 13 % 251) as u8)
                .collect();
            let d = digest(&data);
            let body = bytes::Bytes::from(data.clone());
            let open = || {
                let body = body.clone();
                async move {
                    let chunks: Vec<std::io::Result<bytes::Bytes>> = (0..body.len())
                        .step_by(64 * 1024)
                        .map(|i| Ok(body.slice(i..(i + 64 * 1024).min(body.len()))))
                        .collect();
                    Ok(futures_util::stream::iter(chunks))
                }
            };
            let outcome = repo.push_blob_streamed(&d, data.len() as u64, open).await?;
            anyhow::ensure!(outcome == PushOutcome::Uploaded, "{outcome:?}");
            anyhow::ensure!(fetch_all(&repo, &d, data.len() as u64).await? == data);
            // The registry checks the digest of what it stored: a wrong one is refused.
            let wrong = digest(b"something else");
            let e = repo
                .push_blob_streamed(&wrong, data.len() as u64, open)
                .await
                .err()
                .ok_or_else(|| anyhow::anyhow!("a wrong digest was accepted"))?;
            anyhow::ensure!(e.is_digest_mismatch(), "{e}");

            // The same body while its digest is still being computed: one streamed PATCH,
            // then the PUT that closes the session with the digest.
            let (second, _) = self::repo(registry, &unique_repo("client-hashing"))?;
            let late = {
                let data = data.clone();
                async move {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    Ok(digest(&data))
                }
            };
            let (got, outcome) = second
                .push_blob_while_hashing(data.len() as u64, open, late)
                .await?;
            anyhow::ensure!(got == d && outcome == PushOutcome::Uploaded, "{outcome:?}");
            anyhow::ensure!(fetch_all(&second, &d, data.len() as u64).await? == data);
            // Known to the registry now: abandoned after the HEAD.
            let (_, again) = second
                .push_blob_while_hashing(data.len() as u64, open, std::future::ready(Ok(d.clone())))
                .await?;
            anyhow::ensure!(again == PushOutcome::AlreadyExists, "{again:?}");
            // A digest that does not match the bytes is refused by the registry.
            let (third, _) = self::repo(registry, &unique_repo("client-hashing-bad"))?;
            let e = third
                .push_blob_while_hashing(
                    data.len() as u64,
                    open,
                    std::future::ready(Ok(digest(b"something else"))),
                )
                .await
                .err()
                .ok_or_else(|| anyhow::anyhow!("a wrong digest was accepted"))?;
            anyhow::ensure!(e.is_digest_mismatch(), "{e}");
            Ok(())
        })
        .await
    })
    .await
    .expect("streamed upload works on every backend");
}

#[tokio::test]
async fn cross_repo_mount() {
    setup();
    for_each_backend(&RegistryOptions::new(), async |registry| {
        let source = unique_repo("client-mount-src");
        let (src, _) = repo(registry, &source)?;
        let (dst, _) = repo(registry, &unique_repo("client-mount-dst"))?;
        let data = b"mount me".to_vec();
        let d = digest(&data);
        src.push_blob(&d, data.clone().into()).await?;
        let outcome = dst
            .mount_or_push_blob(&d, &source, data.clone().into())
            .await?;
        anyhow::ensure!(fetch_all(&dst, &d, data.len() as u64).await? == data);
        let support = Outcome::supported_if(outcome == PushOutcome::Mounted);
        record(
            registry,
            "client/cross-repo-mount",
            support,
            &format!("{outcome:?}"),
        );
        Ok(())
    })
    .await
    .expect("mount (or its upload fallback) works on every backend");
}

#[tokio::test]
async fn manifest_put_get_head_delete() {
    setup();
    for_each_backend(&RegistryOptions::new(), async |registry| {
        let (repo, _) = repo(registry, &unique_repo("client-manifest"))?;
        let layer = b"manifest layer";
        let d = probe(registry, "client/manifest-put-get-head", async {
            let d = push_image(&repo, &tag("v1"), layer, serde_json::json!({})).await?;
            let by_tag = repo.fetch_manifest(&tag("v1")).await?;
            let by_digest = repo.fetch_manifest(&TagOrDigest::Digest(d.clone())).await?;
            anyhow::ensure!(by_tag.digest() == &d && by_digest.digest() == &d);
            anyhow::ensure!(by_tag.bytes() == by_digest.bytes());
            anyhow::ensure!(
                by_tag.media_type() == OCI_MANIFEST,
                "{}",
                by_tag.media_type()
            );
            let head = repo
                .head_manifest(&tag("v1"))
                .await?
                .context("HEAD by tag")?;
            anyhow::ensure!(
                head.digest.as_ref() == Some(&d),
                "HEAD digest {:?}",
                head.digest
            );
            let resolved = repo.resolve(&tag("v1")).await?;
            anyhow::ensure!(resolved.digest == d && resolved.size == by_tag.descriptor().size);
            anyhow::ensure!(repo.head_manifest(&tag("nope")).await?.is_none());
            let e = repo
                .fetch_manifest(&tag("nope"))
                .await
                .err()
                .context("missing tag")?;
            anyhow::ensure!(e.is_not_found(), "missing tag: {e}");
            Ok(d)
        })
        .await?;
        let deleted = probe(registry, "client/manifest-delete", async {
            repo.delete_manifest(&TagOrDigest::Digest(d.clone()))
                .await?;
            let e = repo
                .fetch_manifest(&TagOrDigest::Digest(d.clone()))
                .await
                .err();
            anyhow::ensure!(e.is_some_and(|e| e.is_not_found()), "manifest still there");
            Ok(())
        })
        .await;
        let blob_deleted = probe(registry, "client/blob-delete", async {
            repo.delete_blob(&digest(layer)).await?;
            anyhow::ensure!(
                repo.head_blob(&digest(layer)).await?.is_none(),
                "blob still there"
            );
            Ok(())
        })
        .await;
        // The provisioned registries enable deletion; an external one may not (405).
        for r in [deleted, blob_deleted] {
            if let Err(e) = r {
                let status = e
                    .downcast_ref::<oci_client::Error>()
                    .and_then(|e| e.status());
                anyhow::ensure!(matches!(status, Some(400 | 405)), "delete failed: {e:#}");
            }
        }
        Ok(())
    })
    .await
    .expect("manifests round-trip on every backend");
}

#[tokio::test]
async fn tag_pagination_and_catalog() {
    setup();
    for_each_backend(&RegistryOptions::new(), async |registry| {
        let name = unique_repo("client-tags");
        let (repo, _) = repo(registry, &name)?;
        let tags = ["a1", "b2", "c3", "d4"];
        for t in tags {
            push_image(&repo, &tag(t), t.as_bytes(), serde_json::json!({})).await?;
        }
        let pages: Vec<Vec<String>> = repo
            .tag_pages(Some(1))?
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
        let count = pages.len();
        let all: Vec<String> = pages.into_iter().flatten().collect();
        let mut sorted = all.clone();
        sorted.sort();
        anyhow::ensure!(sorted == tags, "tags with n=1: {all:?}");
        let mut unpaged = repo.tags(None).await?;
        // distribution 2.8 lists tags in storage order, not the lexical order the spec asks.
        let ordered = Outcome::supported_if(unpaged == tags);
        record(
            registry,
            "client/tags-ordered",
            ordered,
            &format!("{unpaged:?}"),
        );
        unpaged.sort();
        anyhow::ensure!(unpaged == tags, "tags without n: {unpaged:?}");
        // One page per tag when the registry honours `n`; one page with everything when it
        // ignores it (distribution 2.8 does). Anything else is a broken pagination.
        anyhow::ensure!(count == tags.len() || count == 1, "{count} pages for n=1");
        let paginates = Outcome::supported_if(count == tags.len());
        record(
            registry,
            "client/tag-pagination",
            paginates,
            &format!("{count} pages for n=1"),
        );
        probe(registry, "client/catalog", async {
            let repos = client(registry)?.catalog(registry.host(), Some(1)).await?;
            anyhow::ensure!(repos.contains(&name), "{name} not in catalog {repos:?}");
            Ok(())
        })
        .await?;
        Ok(())
    })
    .await
    .expect("tags paginate and the catalog lists the repository on every backend");
}

/// `digests` as sorted strings, to compare listings whatever their order.
fn sorted<'a>(digests: impl IntoIterator<Item = &'a Digest>) -> Vec<String> {
    let mut v: Vec<String> = digests.into_iter().map(ToString::to_string).collect();
    v.sort();
    v
}

/// Pushes a subject image tagged `v1`; returns its digest and its descriptor as JSON (for the
/// `subject` field of referrers).
async fn push_subject(repo: &Repository) -> anyhow::Result<(Digest, serde_json::Value)> {
    let subject = push_image(repo, &tag("v1"), b"subject", serde_json::json!({})).await?;
    let size = repo.fetch_manifest(&tag("v1")).await?.descriptor().size;
    let desc = serde_json::json!({
        "mediaType": OCI_MANIFEST, "digest": subject.as_str(), "size": size,
    });
    Ok((subject, desc))
}

#[tokio::test]
async fn referrers_write_and_read() {
    setup();
    for_each_backend(&RegistryOptions::new(), async |registry| {
        let (repo, _) = repo(registry, &unique_repo("client-referrers"))?;
        let (subject, subject_desc) = push_subject(&repo).await?;
        let mut attached = Vec::new();
        for (t, kind) in [
            ("sig", "application/vnd.example.sig"),
            ("sbom", "application/vnd.example.sbom"),
        ] {
            let extra = serde_json::json!({
                "artifactType": kind,
                "subject": subject_desc,
                "annotations": {"org.example.kind": t},
            });
            attached.push(push_image(&repo, &tag(t), t.as_bytes(), extra).await?);
        }
        let all = repo.referrers(&subject, None).await?;
        let api = all.source == ReferrersSource::Api;
        record(
            registry,
            "client/referrers-api",
            Outcome::supported_if(api),
            "",
        );
        probe(registry, "client/referrers-fallback", async {
            let got = sorted(all.descriptors.iter().map(|d| &d.digest));
            let want = sorted(&attached);
            anyhow::ensure!(got == want, "referrers {got:?}, pushed {want:?}");
            let sigs = repo
                .referrers(&subject, Some("application/vnd.example.sig"))
                .await?;
            anyhow::ensure!(
                sigs.descriptors.len() == 1,
                "{} sig referrers",
                sigs.descriptors.len()
            );
            let d = &sigs.descriptors[0];
            anyhow::ensure!(d.digest == attached[0]);
            anyhow::ensure!(
                d.annotations.get("org.example.kind").map(String::as_str) == Some("sig"),
                "annotations not copied: {:?}",
                d.annotations
            );
            if !api {
                let fallback = repo
                    .fetch_manifest(&TagOrDigest::Tag(oci_ref::Tag::referrers_fallback(
                        &subject,
                    )))
                    .await?;
                anyhow::ensure!(
                    fallback.media_type() == OCI_INDEX,
                    "{}",
                    fallback.media_type()
                );
            }
            // Deleting a referrer removes it from the listing (from the fallback index when
            // the registry has no referrers API).
            repo.delete_manifest(&TagOrDigest::Digest(attached[0].clone()))
                .await?;
            let left = repo.referrers(&subject, None).await?;
            let left = sorted(left.descriptors.iter().map(|d| &d.digest));
            anyhow::ensure!(left == [attached[1].to_string()], "after delete: {left:?}");
            Ok(())
        })
        .await?;
        Ok(())
    })
    .await
    .expect("referrers are written and read on every backend");
}

/// Referrers of one subject pushed at the same moment through one client (clones of a handle
/// and separate handles on the repository, as a copy with `--concurrency` or two entries of a
/// mirror set make) are all listed afterwards: on a registry without the referrers API, the
/// client serialises its read-modify-write edits of the subject's fallback index.
#[tokio::test]
async fn concurrent_referrers_of_one_subject_are_all_listed() {
    setup();
    for_each_backend(&RegistryOptions::new(), async |registry| {
        let client = client(registry)?;
        let reference: Reference = format!(
            "{}/{}:latest",
            registry.host(),
            unique_repo("client-referrers-concurrent")
        )
        .parse()?;
        let repo = client.repository(&reference)?;
        let (subject, subject_desc) = push_subject(&repo).await?;
        probe(registry, "client/referrers-concurrent", async {
            let mut handles = Vec::new();
            for i in 0..8 {
                let handle = if i % 2 == 0 {
                    repo.clone()
                } else {
                    client.repository(&reference)?
                };
                handles.push((i, handle));
            }
            let pushes = handles.iter().map(|(i, handle)| {
                let extra = serde_json::json!({
                    "artifactType": "application/vnd.example.sig",
                    "subject": subject_desc,
                });
                let (t, layer) = (tag(&format!("r{i}")), format!("referrer {i}"));
                async move { push_image(handle, &t, layer.as_bytes(), extra).await }
            });
            let pushed = futures_util::future::try_join_all(pushes).await?;
            let listed = repo.referrers(&subject, None).await?;
            let got = sorted(listed.descriptors.iter().map(|d| &d.digest));
            let want = sorted(&pushed);
            anyhow::ensure!(
                got == want,
                "listed ({:?}) {got:?}, pushed {want:?}",
                listed.source
            );
            Ok(())
        })
        .await
    })
    .await
    .expect("concurrently pushed referrers are all listed on every backend");
}
