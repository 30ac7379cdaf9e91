//! `copy` with referrers into the harness's real registry (distribution 2.8: no referrers API,
//! so referrers are recorded in the `<alg>-<hex>` fallback index), seen through fault proxies
//! that log every request: a subject's referrers are listed at the destination once, those it
//! does not list are pushed without a `HEAD` and recorded in one edit of the index; a referrer
//! the destination has but does not list (a copy interrupted between its push and the edit, or
//! a node of the graph) gets listed; one the index lists but the registry lost is pushed again;
//! one gone at the source fails the copy after the others are recorded; a second run reads at
//! the source no manifest the destination has; each digest is counted once; a referrers source
//! fixed as with `--distribution-spec` decides whether the fallback index is written, and one
//! fixed to the API is an error at a registry without it.

use std::collections::BTreeSet;

use bytes::Bytes;
use conformance::fault_proxy::FaultProxy;
use oci_client::{FallbackEdit, Protocol, ReferrersSource};
use oci_fetch::copy::{Copied, CopyError, CopyOptions, Location, copy};
use oci_ref::media_type::OCI_INDEX;
use oci_ref::{Digest, Tag, TagOrDigest};

use super::{EMPTY_CONFIG, MANIFEST, Setup, manifest_of};
use crate::common::{payload, sha256};

/// An artifact at the source and its referrers.
struct Artifact {
    manifest: Digest,
    referrers: Vec<(Digest, Vec<u8>)>,
}

/// A referrer of `subject` (`size` bytes) whose config and only layer are the empty JSON,
/// told apart by its `name` annotation.
fn referrer_of(subject: &Digest, size: usize, name: &str) -> Vec<u8> {
    let empty = serde_json::json!({"mediaType": "application/vnd.oci.empty.v1+json",
                                   "digest": sha256(EMPTY_CONFIG).as_str(), "size": 2});
    serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "artifactType": "application/vnd.test.sig",
        "config": empty,
        "layers": [empty],
        "subject": {"mediaType": MANIFEST, "digest": subject.as_str(), "size": size},
        "annotations": {"name": name},
    }))
    .expect("referrer JSON")
}

/// Pushes to `src:v1` an artifact with two referrers (the client records them in the
/// source's fallback index).
async fn push_with_referrers(s: &Setup) -> Artifact {
    push_with_referrers_named(s, &["a", "b"]).await
}

/// Pushes to `src:v1` an artifact with a referrer for each of `names`.
async fn push_with_referrers_named(s: &Setup, names: &[&str]) -> Artifact {
    let data = payload(1000);
    let (manifest, _) = s.push_source(&data).await;
    let size = manifest_of(&data).len();
    let mut referrers = Vec::new();
    for name in names {
        let body = referrer_of(&manifest, size, name);
        let digest = sha256(&body);
        s.repo("src:v1")
            .push_manifest(
                &TagOrDigest::Digest(digest.clone()),
                body.clone().into(),
                MANIFEST,
            )
            .await
            .expect("referrer pushed");
        referrers.push((digest, body));
    }
    Artifact {
        manifest,
        referrers,
    }
}

/// `copy` (`-r` when `referrers`) of `src:v1` read through `src` to `dst:v1` written through
/// `dst`.
async fn copy_through(s: &Setup, src: &FaultProxy, dst: &FaultProxy, referrers: bool) {
    let mut opts = CopyOptions::default();
    opts.referrers = referrers;
    copy_to(s, &src.host(), &dst.host(), "dst:v1", &opts).await;
}

/// `copy` of `src:v1` at `src` to `to` at `dst`.
async fn copy_to(s: &Setup, src: &str, dst: &str, to: &str, opts: &CopyOptions) -> Copied {
    try_copy_to(s, src, dst, to, opts)
        .await
        .expect("the copy succeeds")
}

/// `copy` of `src:v1` at `src` to `to` at `dst`, which may fail.
async fn try_copy_to(
    s: &Setup,
    src: &str,
    dst: &str,
    to: &str,
    opts: &CopyOptions,
) -> Result<Copied, CopyError> {
    copy(
        &s.client,
        &Location::Registry(s.reference(src, "src:v1")),
        &Location::Registry(s.reference(dst, to)),
        opts,
    )
    .await
}

/// [`CopyOptions`] with referrers.
fn with_referrers() -> CopyOptions {
    let mut opts = CopyOptions::default();
    opts.referrers = true;
    opts
}

/// Deletes manifest `digest` from `repo` (of `s`) and nothing else: a handle fixed to the
/// referrers API leaves the fallback index as it is.
async fn delete_leaving_the_index(s: &Setup, repo: &str, digest: &Digest) {
    s.repo(repo)
        .with_referrers_source(ReferrersSource::Api)
        .delete_manifest(&TagOrDigest::Digest(digest.clone()))
        .await
        .expect("manifest deleted");
}

/// Whether `repo` (of `s`) has manifest `digest`.
async fn has_manifest(s: &Setup, repo: &str, digest: &Digest) -> bool {
    s.repo(repo)
        .head_manifest(&TagOrDigest::Digest(digest.clone()))
        .await
        .expect("HEAD")
        .is_some()
}

/// The referrers of `subject` the destination lists.
async fn listed_at_destination(s: &Setup, subject: &Digest) -> BTreeSet<Digest> {
    let listing = s
        .repo("dst:v1")
        .referrers(subject, None)
        .await
        .expect("referrers listed");
    listing.descriptors.into_iter().map(|d| d.digest).collect()
}

/// `METHOD PATH` of each request `proxy` logged after the first `from`, the repository
/// namespace cut off (`GET /src/manifests/v1`).
fn requests(proxy: &FaultProxy, from: usize) -> Vec<String> {
    proxy
        .log()
        .iter()
        .skip(from)
        .map(|r| {
            let path = r.path();
            let repo = path.find("/src/").or_else(|| path.find("/dst/"));
            format!("{} {}", r.method, &path[repo.unwrap_or(0)..])
        })
        .collect()
}

fn all(artifact: &Artifact) -> BTreeSet<Digest> {
    artifact.referrers.iter().map(|(d, _)| d.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_referrer_present_but_not_listed_at_the_destination_gets_listed() {
    let (s, [src, dst]) = Setup::start("copy-unlisted-referrer", &[]).await;
    let artifact = push_with_referrers(&s).await;
    copy_through(&s, &src, &dst, false).await;
    // An interrupted `copy -r`: referrer `a` pushed, its fallback index edit never made.
    let (a, body) = &artifact.referrers[0];
    let pushed = s
        .repo("dst:v1")
        .push_manifest_with(
            &TagOrDigest::Digest(a.clone()),
            Bytes::from(body.clone()),
            MANIFEST,
            FallbackEdit::Deferred,
        )
        .await
        .expect("referrer pushed without its index edit");
    assert_eq!(pushed.subject.as_ref(), Some(&artifact.manifest));
    assert_eq!(
        listed_at_destination(&s, &artifact.manifest).await,
        BTreeSet::new(),
        "present, listed nowhere"
    );
    copy_through(&s, &src, &dst, true).await;
    assert_eq!(
        listed_at_destination(&s, &artifact.manifest).await,
        all(&artifact),
        "the run again lists the referrer it found unlisted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn referrers_are_copied_per_subject_and_a_second_run_reads_no_present_manifest() {
    let (s, [src, dst]) = Setup::start("copy-referrer-requests", &[]).await;
    let artifact = push_with_referrers(&s).await;
    let (m, (a, _), (b, _)) = (
        &artifact.manifest,
        &artifact.referrers[0],
        &artifact.referrers[1],
    );
    let fallback = |d: &Digest| format!("sha256-{}", &d.as_str()[7..]);

    copy_through(&s, &src, &dst, true).await;
    let (read, written) = (requests(&src, 0), requests(&dst, 0));
    // Source, 9: the root by tag; its two blobs (the referrers' config and layer are the same
    // empty JSON as the artifact's config: copied once); the referrers of the root (the API,
    // 404, then the fallback tag: the client remembers the API absent for the rest of the
    // copy); the two referrer manifests; the referrers of each referrer (the fallback tag).
    assert_eq!(read.len(), 9, "{read:#?}");
    // Destination, 15: `HEAD` of the root; two blob uploads (`HEAD`, `POST`, `PUT`); the
    // root's `PUT`; the root's referrers listed once (the API, 404, then the fallback tag,
    // absent); the two referrers' `PUT`s without a `HEAD`; one edit of the fallback index for
    // both (`GET`, still absent, and `PUT`: read again right before the write, as an index
    // written since the listing by another process must keep its entries); the tag. Before,
    // each referrer cost a `HEAD` and its own `GET` + `PUT` of the index: 17.
    assert_eq!(written.len(), 15, "{written:#?}");
    // The index: read by the listing, then read and written by the one edit.
    let index_edits: Vec<&String> = written
        .iter()
        .filter(|r| r.ends_with(&format!("/manifests/{}", fallback(m))))
        .collect();
    assert_eq!(
        index_edits,
        [
            &format!("GET /dst/manifests/{}", fallback(m)),
            &format!("GET /dst/manifests/{}", fallback(m)),
            &format!("PUT /dst/manifests/{}", fallback(m))
        ],
        "{written:#?}"
    );
    assert_eq!(
        listed_at_destination(&s, m).await,
        all(&artifact),
        "both referrers listed"
    );

    let (read_before, written_before) = (src.log().len(), dst.log().len());
    copy_through(&s, &src, &dst, true).await;
    let (read, written) = (requests(&src, read_before), requests(&dst, written_before));
    // Source, 5: the root by tag, its referrers (API, fallback tag), the referrers of each
    // referrer. No manifest is read by digest: the root's bytes came with its tag, and the
    // referrers are listed at the destination (before: both were read, 7 requests).
    for digest in [m, a, b] {
        assert!(
            !read.contains(&format!("GET /src/manifests/{digest}")),
            "{digest} read: {read:#?}"
        );
    }
    assert_eq!(read.len(), 5, "{read:#?}");
    // Destination, 6: `HEAD` of the root, its referrers listed (API, fallback tag), a `HEAD`
    // of each referrer the fallback index lists (it can name a manifest the registry no longer
    // has; the API would list only stored ones), `HEAD` of the tag.
    assert_eq!(written.len(), 6, "{written:#?}");
    for digest in [a, b] {
        assert!(
            written.contains(&format!("HEAD /dst/manifests/{digest}")),
            "{digest} looked for: {written:#?}"
        );
    }
    assert!(
        written
            .iter()
            .all(|r| r.starts_with("HEAD ") || r.starts_with("GET ")),
        "nothing written: {written:#?}"
    );
}

/// `--distribution-spec`: required to have the API, a destination without one is an error
/// naming it (the referrers would be findable neither through the API nor through the fallback
/// tag) and gets no fallback index; required to use the tag schema, it lists them there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixed_referrers_source_decides_how_the_destination_records_them() {
    let (s, []) = Setup::start::<0>("copy-referrers-source", &[]).await;
    let artifact = push_with_referrers(&s).await;
    let host = s.registry.host();
    let fallback = TagOrDigest::Tag(Tag::referrers_fallback(&artifact.manifest));

    let mut opts = with_referrers();
    opts.referrers_source = Some(ReferrersSource::Api);
    let e = try_copy_to(&s, host, host, "api:v1", &opts)
        .await
        .expect_err("no referrers API at the destination");
    let CopyError::Destination {
        reference, source, ..
    } = &e
    else {
        panic!("a destination error: {e:?}");
    };
    assert!(
        matches!(
            **source,
            oci_client::Error::Protocol {
                what: Protocol::NoReferrersApi,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(*reference, s.reference(host, "api:v1").to_string());
    let api = s.repo("api:v1");
    assert!(api.head_manifest(&fallback).await.expect("HEAD").is_none());
    for (digest, _) in &artifact.referrers {
        assert!(
            !has_manifest(&s, "api:v1", digest).await,
            "{digest} not pushed"
        );
    }

    opts.referrers_source = Some(ReferrersSource::TagSchema);
    for _ in 0..2 {
        copy_to(&s, host, host, "tag:v1", &opts).await;
    }
    for (digest, _) in &artifact.referrers {
        assert!(has_manifest(&s, "tag:v1", digest).await, "{digest} copied");
    }
    let listing = s
        .repo("tag:v1")
        .with_referrers_source(ReferrersSource::TagSchema)
        .referrers(&artifact.manifest, None)
        .await
        .expect("listing");
    let listed: BTreeSet<Digest> = listing.descriptors.into_iter().map(|d| d.digest).collect();
    assert_eq!(listed, all(&artifact));
}

/// A referrer gone at the source (its manifest deleted, the source's fallback index still
/// listing it) fails the copy, naming it, after the other referrers of its subject are pushed
/// and recorded: a run again does not find them unlisted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_referrer_failing_at_the_source_leaves_the_others_listed() {
    let (s, []) = Setup::start::<0>("copy-referrer-fails", &[]).await;
    let artifact = push_with_referrers_named(&s, &["a", "b", "c"]).await;
    let (gone, _) = &artifact.referrers[2];
    delete_leaving_the_index(&s, "src:v1", gone).await;
    let host = s.registry.host();
    let e = try_copy_to(&s, host, host, "dst:v1", &with_referrers())
        .await
        .expect_err("a referrer is gone at the source");
    assert!(e.to_string().contains(gone.as_str()), "names it: {e}");
    let others: BTreeSet<Digest> = artifact.referrers[..2]
        .iter()
        .map(|(d, _)| d.clone())
        .collect();
    assert_eq!(listed_at_destination(&s, &artifact.manifest).await, others);
}

/// A referrer the destination's fallback index lists but the registry does not have (deleted
/// without its entry) is pushed again by `copy -r`, without an edit of the index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_referrer_listed_but_missing_at_the_destination_is_pushed_again() {
    let (s, [src, dst]) = Setup::start("copy-listed-missing", &[]).await;
    let artifact = push_with_referrers(&s).await;
    copy_through(&s, &src, &dst, true).await;
    let (lost, _) = &artifact.referrers[0];
    delete_leaving_the_index(&s, "dst:v1", lost).await;
    assert!(!has_manifest(&s, "dst:v1", lost).await, "deleted");
    assert_eq!(
        listed_at_destination(&s, &artifact.manifest).await,
        all(&artifact),
        "still listed"
    );
    let from = dst.log().len();
    copy_through(&s, &src, &dst, true).await;
    assert!(has_manifest(&s, "dst:v1", lost).await, "pushed again");
    let written = requests(&dst, from);
    assert!(
        written.contains(&format!("PUT /dst/manifests/{lost}")),
        "{written:#?}"
    );
    let fallback = Tag::referrers_fallback(&artifact.manifest);
    assert!(
        !written.contains(&format!("PUT /dst/manifests/{fallback}")),
        "the index lists it already: {written:#?}"
    );
}

/// A referrer that is also a node of the graph (an index holding an artifact and its
/// signature), present at the destination but not listed there, gets listed by `copy -r`,
/// which pushes it again and counts it as copied, not skipped (that run is not a no-op); a
/// run after that counts each digest once, though the graph and the listing both reach it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_referrer_in_the_graph_gets_listed_and_is_counted_once() {
    let (s, []) = Setup::start::<0>("copy-referrer-in-graph", &[]).await;
    let artifact = push_with_referrers_named(&s, &["a"]).await;
    let (m, (r, r_body)) = (&artifact.manifest, &artifact.referrers[0]);
    let data = payload(1000);
    let entry = |digest: &Digest, size: usize| serde_json::json!({"mediaType": MANIFEST, "digest": digest.as_str(), "size": size});
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [entry(m, manifest_of(&data).len()), entry(r, r_body.len())],
    }))
    .expect("index JSON");
    s.repo("src:v1")
        .push_manifest(
            &TagOrDigest::tag("v1").expect("tag"),
            index.into(),
            OCI_INDEX,
        )
        .await
        .expect("index pushed");
    let host = s.registry.host();
    // Copied without referrers (which lists `r`, pushed as a node with a subject), then its
    // subject's fallback index emptied: `r` is present and unlisted.
    copy_to(&s, host, host, "dst:v1", &CopyOptions::default()).await;
    let empty = serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []});
    s.repo("dst:v1")
        .push_manifest(
            &TagOrDigest::Tag(Tag::referrers_fallback(m)),
            serde_json::to_vec(&empty).expect("JSON").into(),
            OCI_INDEX,
        )
        .await
        .expect("fallback index emptied");
    assert_eq!(listed_at_destination(&s, m).await, BTreeSet::new());

    // The index and the artifact present; the referrer pushed again (its only change, with
    // the fallback index edit that lists it): copied, not skipped, and not a no-op.
    let relisted = copy_to(&s, host, host, "dst:v1", &with_referrers()).await;
    assert_eq!(listed_at_destination(&s, m).await, all(&artifact), "listed");
    let counts = |c: &Copied| (c.stats.copied, c.stats.skipped, c.stats.bytes);
    assert_eq!(
        counts(&relisted),
        (1, 2, u64::try_from(r_body.len()).expect("size")),
        "pushed again"
    );
    assert!(
        !relisted.stats.is_noop(),
        "a run that pushed and listed did something"
    );

    // The index, the artifact and its referrer, each present and counted once (before, the
    // referrer counted once in the graph and once more as listed).
    let copied = copy_to(&s, host, host, "dst:v1", &with_referrers()).await;
    assert_eq!(counts(&copied), (0, 3, 0));
    assert!(
        copied.stats.is_noop(),
        "the next run finds everything listed"
    );
}
