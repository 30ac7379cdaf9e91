//! `copy` with referrers into the harness's real registry (distribution 2.8: no referrers API,
//! so referrers are recorded in the `<alg>-<hex>` fallback index), seen through fault proxies
//! that log every request: a subject's referrers are listed at the destination once, those it
//! does not list are pushed without a `HEAD` and recorded in one edit of the index; a referrer
//! the destination has but does not list (a copy interrupted between its push and the edit)
//! gets listed; a second run reads at the source no manifest the destination has; a referrers
//! source fixed as with `--distribution-spec` decides whether the fallback index is written.

use std::collections::BTreeSet;

use bytes::Bytes;
use conformance::fault_proxy::FaultProxy;
use oci_client::{FallbackEdit, ReferrersSource};
use oci_fetch::copy::{CopyOptions, Location, copy};
use oci_ref::{Digest, TagOrDigest};

use super::{EMPTY_CONFIG, MANIFEST, Setup, manifest_of};
use crate::common::{payload, sha256};

/// An artifact at the source and its two referrers.
struct Artifact {
    manifest: Digest,
    referrers: [(Digest, Vec<u8>); 2],
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
    let data = payload(1000);
    let (manifest, _) = s.push_source(&data).await;
    let size = manifest_of(&data).len();
    let mut referrers = Vec::new();
    for name in ["a", "b"] {
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
        referrers: referrers.try_into().expect("two referrers"),
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
async fn copy_to(s: &Setup, src: &str, dst: &str, to: &str, opts: &CopyOptions) {
    copy(
        &s.client,
        &Location::Registry(s.reference(src, "src:v1")),
        &Location::Registry(s.reference(dst, to)),
        opts,
    )
    .await
    .expect("the copy succeeds");
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
    let (m, [(a, _), (b, _)]) = (&artifact.manifest, &artifact.referrers);
    let fallback = |d: &Digest| format!("sha256-{}", &d.as_str()[7..]);

    copy_through(&s, &src, &dst, true).await;
    let (read, written) = (requests(&src, 0), requests(&dst, 0));
    // Source, 9: the root by tag; its two blobs (the referrers' config and layer are the same
    // empty JSON as the artifact's config: copied once); the referrers of the root (the API,
    // 404, then the fallback tag: the client remembers the API absent for the rest of the
    // copy); the two referrer manifests; the referrers of each referrer (the fallback tag).
    assert_eq!(read.len(), 9, "{read:#?}");
    // Destination, 14: `HEAD` of the root; two blob uploads (`HEAD`, `POST`, `PUT`); the
    // root's `PUT`; the root's referrers listed once (the API, 404, then the fallback tag,
    // absent); the two referrers' `PUT`s without a `HEAD`; one `PUT` of the new fallback index
    // (its absence was just seen and nothing was written to it since: not read again); the
    // tag. Before, each referrer cost a `HEAD` and its own `GET` + `PUT` of the index: 17.
    assert_eq!(written.len(), 14, "{written:#?}");
    // The index: read once (the listing), written once.
    let index_edits: Vec<&String> = written
        .iter()
        .filter(|r| r.ends_with(&format!("/manifests/{}", fallback(m))))
        .collect();
    assert_eq!(
        index_edits,
        [
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
    // Destination, 4: `HEAD` of the root, its referrers listed (API, fallback tag), `HEAD` of
    // the tag (before: a `HEAD` of each referrer instead of the listing, also 4).
    assert_eq!(written.len(), 4, "{written:#?}");
    assert!(
        written
            .iter()
            .all(|r| r.starts_with("HEAD ") || r.starts_with("GET ")),
        "nothing written: {written:#?}"
    );
}

/// `--distribution-spec`: required to have the API, a destination without one still gets the
/// referrers (looked for one by one, as it cannot list them) and no fallback index; required
/// to use the tag schema, it lists them there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixed_referrers_source_decides_how_the_destination_records_them() {
    let (s, []) = Setup::start::<0>("copy-referrers-source", &[]).await;
    let artifact = push_with_referrers(&s).await;
    let host = s.registry.host();
    let fallback = oci_ref::Tag::referrers_fallback(&artifact.manifest);
    for (source, to) in [
        (ReferrersSource::Api, "api:v1"),
        (ReferrersSource::TagSchema, "tag:v1"),
    ] {
        let mut opts = CopyOptions::default();
        opts.referrers = true;
        opts.referrers_source = Some(source);
        for _ in 0..2 {
            copy_to(&s, host, host, to, &opts).await;
        }
        let dst = s.repo(to);
        for (digest, _) in &artifact.referrers {
            let head = dst
                .head_manifest(&TagOrDigest::Digest(digest.clone()))
                .await;
            assert!(head.expect("HEAD").is_some(), "{source:?}: {digest} copied");
        }
        let index = dst
            .head_manifest(&TagOrDigest::Tag(fallback.clone()))
            .await
            .expect("HEAD");
        assert_eq!(
            index.is_some(),
            source == ReferrersSource::TagSchema,
            "{source:?}"
        );
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
