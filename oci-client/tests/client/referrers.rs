//! Referrers: API with and without server-side filtering, tag-schema fallback.

use oci_client::{FallbackEdit, ReferrersSource};
use oci_ref::media_type::OCI_INDEX;

use crate::server::{Reply, Server, ServerExt as _, sha256};

fn index(types: &[&str]) -> String {
    let manifests: Vec<String> = types
        .iter()
        .enumerate()
        .map(|(i, t)| {
            format!(
                r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{}","size":1,"artifactType":"{t}"}}"#,
                sha256(&[i as u8])
            )
        })
        .collect();
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{}]}}"#,
        manifests.join(",")
    )
}

#[tokio::test]
async fn filters_client_side_without_oci_filters_applied() {
    let s = Server::start(|req| {
        let r = Reply::new(200)
            .header("Content-Type", OCI_INDEX)
            .body(index(&["a/sig", "a/sbom"]));
        if req.path().starts_with("/v2/filtered/") {
            r.header("OCI-Filters-Applied", "artifactType")
        } else {
            r
        }
    });
    let subject = sha256(b"s");
    let got = s
        .repo("plain")
        .referrers(&subject, Some("a/sig"))
        .await
        .expect("referrers");
    assert_eq!(got.source, ReferrersSource::Api);
    assert_eq!(got.descriptors.len(), 1);
    assert!(
        s.requests()[0].target.ends_with("?artifactType=a%2Fsig"),
        "{}",
        s.requests()[0].target
    );
    // With the header we trust the registry (here it did not actually filter: both come back).
    let got = s
        .repo("filtered")
        .referrers(&subject, Some("a/sig"))
        .await
        .expect("referrers");
    assert_eq!(got.descriptors.len(), 2);
}

#[tokio::test]
async fn falls_back_to_the_tag_schema_on_404() {
    let subject = sha256(b"s");
    let tag = oci_ref::Tag::referrers_fallback(&subject);
    let s = Server::start(move |req| {
        if req.path().contains("/referrers/") {
            Reply::new(404).body("404 page not found")
        } else if req.path().ends_with(tag.as_str()) && req.path().starts_with("/v2/has/") {
            Reply::new(200)
                .header("Content-Type", OCI_INDEX)
                .body(index(&["a/sig", "a/sbom"]))
        } else {
            Reply::new(404).body(r#"{"errors":[{"code":"MANIFEST_UNKNOWN"}]}"#)
        }
    });
    let got = s
        .repo("has")
        .referrers(&subject, Some("a/sbom"))
        .await
        .expect("fallback");
    assert_eq!(got.source, ReferrersSource::TagSchema);
    assert_eq!(got.descriptors.len(), 1);
    let none = s
        .repo("none")
        .referrers(&subject, None)
        .await
        .expect("fallback, no tag");
    assert_eq!(none.source, ReferrersSource::TagSchema);
    assert!(none.descriptors.is_empty());
}

#[tokio::test]
async fn deleting_a_referrer_updates_the_fallback_index() {
    let subject = sha256(b"s");
    let referrer = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"a/sig","digest":"{}","size":1}},"layers":[],"subject":{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{subject}","size":1}}}}"#,
        sha256(b"c")
    );
    let referrer_digest = sha256(referrer.as_bytes());
    let tag = oci_ref::Tag::referrers_fallback(&subject);
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{referrer_digest}","size":{}}},{{"mediaType":"x","digest":"{}","size":1}}]}}"#,
        referrer.len(),
        sha256(b"other")
    );
    let d = referrer_digest.clone();
    let s = Server::start(move |req| match req.method.as_str() {
        "GET" if req.path().contains("/referrers/") => Reply::new(404),
        "GET" if req.path().ends_with(tag.as_str()) => Reply::new(200)
            .header("Content-Type", OCI_INDEX)
            .body(index.clone()),
        "GET" if req.path().ends_with(d.as_str()) => Reply::new(200)
            .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            .body(referrer.clone()),
        "DELETE" => Reply::new(202),
        "PUT" => Reply::new(201),
        _ => Reply::new(404),
    });
    s.repo("app")
        .delete_manifest(&oci_ref::TagOrDigest::Digest(referrer_digest.clone()))
        .await
        .expect("delete");
    let put = s
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT")
        .expect("index rewritten");
    let written: serde_json::Value = serde_json::from_slice(&put.body).expect("JSON");
    let left: Vec<&str> = written["manifests"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|d| d["digest"].as_str())
        .collect();
    assert_eq!(left, [sha256(b"other").as_str()]);
}

/// A registry with a referrers API that also has a (stale) fallback index: which one is read
/// depends only on the source fixed with `with_referrers_source`.
fn both_sources(subject: &oci_ref::Digest) -> Server {
    let tag = oci_ref::Tag::referrers_fallback(subject);
    Server::start(move |req| {
        if req.path().contains("/referrers/") && req.path().starts_with("/v2/api/") {
            Reply::new(200)
                .header("Content-Type", OCI_INDEX)
                .body(index(&["a/sig"]))
        } else if req.path().contains("/referrers/") {
            Reply::new(404).body("404 page not found")
        } else if req.path().ends_with(tag.as_str()) {
            Reply::new(200)
                .header("Content-Type", OCI_INDEX)
                .body(index(&["a/sbom", "a/sbom"]))
        } else {
            Reply::new(404).body(r#"{"errors":[{"code":"MANIFEST_UNKNOWN"}]}"#)
        }
    })
}

#[tokio::test]
async fn a_fixed_source_is_the_only_one_read() {
    let subject = sha256(b"s");
    let s = both_sources(&subject);
    let check = |repo: &'static str, source: ReferrersSource, want: usize| {
        let r = s.repo(repo).with_referrers_source(source);
        let subject = subject.clone();
        async move {
            assert_eq!(r.referrers_source(), Some(source));
            let got = r.referrers(&subject, None).await.expect("referrers");
            assert_eq!(
                (got.source, got.descriptors.len()),
                (source, want),
                "{repo}"
            );
        }
    };
    check("api", ReferrersSource::Api, 1).await;
    check("api", ReferrersSource::TagSchema, 2).await;
    check("noapi", ReferrersSource::TagSchema, 2).await;
    assert!(
        !s.requests()
            .iter()
            .skip(1)
            .any(|r| r.path().contains("/referrers/")),
        "the tag schema never asks the API"
    );
}

/// Lists the referrers of `subject` in `repo` with the API required: a registry without it
/// must give [`oci_client::Protocol::NoReferrersApi`].
async fn required_api_is_missing(repo: oci_client::Repository, subject: &oci_ref::Digest) {
    let err = repo
        .with_referrers_source(ReferrersSource::Api)
        .referrers(subject, None)
        .await
        .expect_err("no API");
    assert!(
        matches!(
            err,
            oci_client::Error::Protocol {
                what: oci_client::Protocol::NoReferrersApi,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_required_api_that_answers_404_is_an_error_not_a_fallback() {
    let subject = sha256(b"s");
    let s = both_sources(&subject);
    required_api_is_missing(s.repo("noapi"), &subject).await;
    assert_eq!(s.requests().len(), 1, "the fallback tag is not read");
}

/// Pushes a referrer of `subject` to a registry that confirms subjects with `OCI-Subject`;
/// returns whether the fallback index was written.
async fn push_writes_fallback(source: Option<ReferrersSource>, confirm: bool) -> bool {
    let subject = sha256(b"s");
    let s = Server::start(move |req| match req.method.as_str() {
        "PUT" if confirm && req.path().contains("/manifests/sha256:") => {
            Reply::new(201).header("OCI-Subject", "sha256:x")
        }
        "PUT" => Reply::new(201),
        _ => Reply::new(404).body(r#"{"errors":[{"code":"MANIFEST_UNKNOWN"}]}"#),
    });
    let referrer = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"a/sig","config":{{"mediaType":"application/vnd.oci.empty.v1+json","digest":"{}","size":2}},"layers":[],"subject":{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{subject}","size":1}}}}"#,
        sha256(b"{}")
    );
    let digest = sha256(referrer.as_bytes());
    let mut repo = s.repo("app");
    if let Some(source) = source {
        repo = repo.with_referrers_source(source);
    }
    repo.push_manifest(
        &oci_ref::TagOrDigest::Digest(digest),
        bytes::Bytes::from(referrer),
        "application/vnd.oci.image.manifest.v1+json",
    )
    .await
    .expect("push");
    let fallback = oci_ref::Tag::referrers_fallback(&subject);
    s.requests()
        .iter()
        .any(|r| r.method == "PUT" && r.path().ends_with(fallback.as_str()))
}

#[tokio::test]
async fn a_fixed_source_decides_whether_a_push_maintains_the_fallback_index() {
    for (source, confirm, want) in [
        (None, true, false),
        (None, false, true),
        (Some(ReferrersSource::TagSchema), true, true),
        (Some(ReferrersSource::Api), false, false),
    ] {
        assert_eq!(
            push_writes_fallback(source, confirm).await,
            want,
            "{source:?}, OCI-Subject: {confirm}"
        );
    }
}

/// Requests to the referrers API that `s` has seen.
fn api_requests(s: &Server) -> usize {
    s.requests()
        .iter()
        .filter(|r| r.path().contains("/referrers/"))
        .count()
}

#[tokio::test]
async fn a_404_from_the_api_is_remembered_for_the_repository() {
    let subject = sha256(b"s");
    let s = both_sources(&subject);
    let client = s.client();
    let handle = |name: &str| {
        let r: oci_ref::Reference = format!("{}/{name}:latest", s.registry())
            .parse()
            .expect("reference parses");
        client.repository(&r).expect("repository handle")
    };
    let noapi = handle("noapi");
    assert_eq!(noapi.referrers_api_known(), None);
    let first = noapi.referrers(&subject, None).await.expect("fallback");
    assert_eq!(
        (first.source, first.descriptors.len()),
        (ReferrersSource::TagSchema, 2)
    );
    assert_eq!(noapi.referrers_api_known(), Some(false));
    assert_eq!(api_requests(&s), 1);
    // A clone, and a new handle on the same repository from the same client: the fallback
    // tag directly, for any subject.
    for repo in [noapi.clone(), handle("noapi")] {
        let again = repo.referrers(&subject, None).await.expect("fallback");
        assert_eq!(
            (again.source, again.descriptors.len()),
            (ReferrersSource::TagSchema, 2)
        );
        let other = repo.referrers(&sha256(b"t"), None).await.expect("none");
        assert!(other.descriptors.is_empty());
    }
    assert_eq!(api_requests(&s), 1, "the API was asked once");
    // Another repository of the registry is asked on its own.
    let api = handle("api");
    let got = api.referrers(&subject, None).await.expect("API");
    assert_eq!(got.source, ReferrersSource::Api);
    assert_eq!(api.referrers_api_known(), Some(true));
    assert_eq!(api_requests(&s), 2);
    // A fixed source still decides, whatever was learned.
    required_api_is_missing(handle("noapi"), &subject).await;
    assert_eq!(api_requests(&s), 3, "a required API is asked again");
    let tagged = handle("api")
        .with_referrers_source(ReferrersSource::TagSchema)
        .referrers(&subject, None)
        .await
        .expect("tag schema");
    assert_eq!(
        (tagged.source, tagged.descriptors.len()),
        (ReferrersSource::TagSchema, 2)
    );
    assert_eq!(api_requests(&s), 3);
    // Another client learns for itself.
    let fresh = s.repo("noapi");
    assert_eq!(fresh.referrers_api_known(), None);
    fresh.referrers(&subject, None).await.expect("fallback");
    assert_eq!(api_requests(&s), 4);
}

#[tokio::test]
async fn a_404_naming_a_missing_repository_is_not_remembered() {
    let s = Server::start(|req| {
        if req.path().contains("/referrers/") {
            Reply::new(404).body(r#"{"errors":[{"code":"NAME_UNKNOWN"}]}"#)
        } else {
            Reply::new(404).body(r#"{"errors":[{"code":"MANIFEST_UNKNOWN"}]}"#)
        }
    });
    let repo = s.repo("new");
    for _ in 0..2 {
        let got = repo.referrers(&sha256(b"s"), None).await.expect("fallback");
        assert_eq!(got.source, ReferrersSource::TagSchema);
        assert_eq!(repo.referrers_api_known(), None);
    }
    assert_eq!(api_requests(&s), 2);
}

/// A registry without referrers API that keeps the manifests pushed to it (by tag or digest)
/// and serves them back.
fn keeping_registry() -> Server {
    let kept = std::sync::Mutex::new(std::collections::HashMap::<String, Vec<u8>>::new());
    Server::start(move |req| {
        let mut kept = kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match req.method.as_str() {
            "PUT" => {
                kept.insert(req.path().to_owned(), req.body.clone());
                Reply::new(201)
            }
            "GET" if req.path().contains("/referrers/") => Reply::new(404),
            "GET" => match kept.get(req.path()) {
                Some(body) => Reply::new(200)
                    .header("Content-Type", OCI_INDEX)
                    .body(body.clone()),
                None => Reply::new(404).body(r#"{"errors":[{"code":"MANIFEST_UNKNOWN"}]}"#),
            },
            _ => Reply::new(404),
        }
    })
}

/// A referrer of `subject` named `name` (an annotation), with its digest.
fn named_referrer(subject: &oci_ref::Digest, name: &str) -> (oci_ref::Digest, bytes::Bytes) {
    let body = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"a/sig","config":{{"mediaType":"application/vnd.oci.empty.v1+json","digest":"{}","size":2}},"layers":[],"subject":{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{subject}","size":1}},"annotations":{{"name":"{name}"}}}}"#,
        sha256(b"{}")
    );
    (sha256(body.as_bytes()), bytes::Bytes::from(body))
}

/// Pushes referrer `name` of `subject` to `repo` with `fallback`.
async fn push_referrer(
    repo: &oci_client::Repository,
    subject: &oci_ref::Digest,
    name: &str,
    fallback: FallbackEdit,
) -> oci_client::PushedManifest {
    let (digest, body) = named_referrer(subject, name);
    repo.push_manifest_with(
        &oci_ref::TagOrDigest::Digest(digest),
        body,
        "application/vnd.oci.image.manifest.v1+json",
        fallback,
    )
    .await
    .expect("push")
}

/// `METHOD` of each request `s` saw to the fallback tag of `subject`, from the `from`th on.
fn index_requests(s: &Server, subject: &oci_ref::Digest, from: usize) -> Vec<String> {
    let tag = oci_ref::Tag::referrers_fallback(subject);
    s.requests()
        .iter()
        .skip(from)
        .filter(|r| r.path().ends_with(tag.as_str()))
        .map(|r| r.method.clone())
        .collect()
}

/// The `name` annotations of the referrers `repo` lists for `subject`.
async fn names(repo: &oci_client::Repository, subject: &oci_ref::Digest) -> Vec<String> {
    let listing = repo.referrers(subject, None).await.expect("listing");
    let mut names: Vec<String> = listing
        .descriptors
        .iter()
        .filter_map(|d| d.annotations.get("name").cloned())
        .collect();
    names.sort();
    names
}

/// Deferred referrers are recorded in one edit whose `GET` comes right before its `PUT`, never
/// from an earlier listing: an entry another client wrote since the listing is kept.
#[tokio::test]
async fn deferred_referrers_are_recorded_in_one_edit_that_reads_the_index_right_before() {
    let s = keeping_registry();
    let repo = s.repo("app");
    let subject = sha256(b"s");
    // Listed with no index; then another client (another process) attaches `c`.
    let listing = repo.referrers(&subject, None).await.expect("listing");
    assert!(listing.descriptors.is_empty());
    push_referrer(&s.repo("app"), &subject, "c", FallbackEdit::Now).await;
    let from = s.requests().len();
    let pushed = [
        push_referrer(&repo, &subject, "a", FallbackEdit::Deferred).await,
        push_referrer(&repo, &subject, "b", FallbackEdit::Deferred).await,
    ];
    assert!(index_requests(&s, &subject, from).is_empty(), "deferred");
    repo.add_referrers(&subject, &pushed)
        .await
        .expect("recorded");
    // One edit for both: read, then written.
    assert_eq!(index_requests(&s, &subject, from), ["GET", "PUT"]);
    assert_eq!(names(&repo, &subject).await, ["a", "b", "c"], "c kept");
    // Recording them again changes nothing: read, not written.
    let from = s.requests().len();
    repo.add_referrers(&subject, &pushed)
        .await
        .expect("recorded again");
    assert_eq!(index_requests(&s, &subject, from), ["GET"]);

    // A manifest of another subject is refused.
    let other = sha256(b"t");
    let d = [push_referrer(&repo, &other, "d", FallbackEdit::Deferred).await];
    let e = repo
        .add_referrers(&subject, &d)
        .await
        .expect_err("another subject");
    assert!(matches!(e, oci_client::Error::InvalidInput { .. }), "{e:?}");
}
