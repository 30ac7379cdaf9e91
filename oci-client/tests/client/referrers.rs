//! Referrers: API with and without server-side filtering, tag-schema fallback.

use oci_client::ReferrersSource;
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
