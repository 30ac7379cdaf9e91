//! Manifests against a hostile server: wrong digests, oversized bodies, schema 1, media types.

use oci_client::{Error, Limit, Limits, Protocol};
use oci_ref::TagOrDigest;
use oci_ref::media_type::OCI_MANIFEST;

use crate::server::{Reply, Server, ServerExt as _, sha256};

const BODY: &[u8] = br#"{"schemaVersion":2,  "mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;

fn ok_reply(body: &[u8]) -> Reply {
    Reply::new(200)
        .header("Content-Type", OCI_MANIFEST)
        .body(body.to_vec())
}

/// Fetches `reference` from a server answering every request with `reply`.
async fn check_fetch(
    reply: Reply,
    reference: TagOrDigest,
) -> (Result<oci_client::Manifest, Error>, Server) {
    let server = Server::start(move |_| reply.clone());
    let result = server.repo("app").fetch_manifest(&reference).await;
    (result, server)
}

#[tokio::test]
async fn raw_bytes_kept_and_digest_verified() {
    let digest = sha256(BODY);
    let (m, _s) = check_fetch(ok_reply(BODY), TagOrDigest::Digest(digest.clone())).await;
    let m = m.expect("manifest fetch succeeds");
    assert_eq!(m.bytes().as_ref(), BODY, "bytes are not re-serialised");
    assert_eq!(m.digest(), &digest);
    assert_eq!(m.media_type(), OCI_MANIFEST);
    assert_eq!(m.descriptor().size, BODY.len() as u64);
    assert!(matches!(
        m.parse().expect("parses"),
        oci_client::ParsedManifest::Image(_)
    ));
}

#[tokio::test]
async fn wrong_digest_for_requested_digest() {
    let other = sha256(b"something else");
    let (r, _s) = check_fetch(ok_reply(BODY), TagOrDigest::Digest(other)).await;
    let e = r.expect_err("digest mismatch");
    assert!(e.is_digest_mismatch(), "{e}");
}

#[tokio::test]
async fn wrong_docker_content_digest_on_tag_fetch() {
    let reply = ok_reply(BODY).header("Docker-Content-Digest", sha256(b"nope").as_str());
    let (r, _s) = check_fetch(reply, TagOrDigest::tag("v1").expect("tag")).await;
    assert!(r.expect_err("mismatch").is_digest_mismatch());
}

#[tokio::test]
async fn garbage_docker_content_digest_is_a_protocol_error() {
    let reply = ok_reply(BODY).header("Docker-Content-Digest", "sha256:zzz");
    let (r, _s) = check_fetch(reply, TagOrDigest::tag("v1").expect("tag")).await;
    assert!(matches!(
        r,
        Err(Error::Protocol {
            what: Protocol::InvalidDigestHeader,
            ..
        })
    ));
}

#[tokio::test]
async fn oversized_manifest_stops_reading_while_streaming() {
    // 512 MiB announced by nothing (chunked): the cap must stop us long before.
    let total = 512 * 1024 * 1024;
    let reply = Reply::new(200)
        .header("Content-Type", OCI_MANIFEST)
        .endless(total);
    let (r, server) = check_fetch(reply, TagOrDigest::tag("big").expect("tag")).await;
    assert!(
        matches!(r, Err(Error::LimitExceeded { limit: Limit::ManifestBytes, max, .. }) if max == oci_client::MAX_MANIFEST_BYTES)
    );
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(
        server.written() < total / 4,
        "server wrote {} bytes: body was drained",
        server.written()
    );
}

#[tokio::test]
async fn oversized_content_length_refused_before_reading() {
    let server = Server::start(|_| {
        Reply::new(200)
            .header("Content-Type", OCI_MANIFEST)
            .body(vec![b' '; 2048])
    });
    let limits = Limits {
        max_manifest_bytes: 1024,
        ..Limits::default()
    };
    let client = server.builder().limits(limits).build().expect("client");
    let r: oci_ref::Reference = format!("{}/app:v1", server.registry())
        .parse()
        .expect("ref");
    let e = client
        .repository(&r)
        .expect("repo")
        .fetch_manifest(&TagOrDigest::from(&r))
        .await;
    assert!(matches!(
        e,
        Err(Error::LimitExceeded {
            limit: Limit::ManifestBytes,
            max: 1024,
            ..
        })
    ));
}

#[tokio::test]
async fn schema1_is_unsupported() {
    let reply = Reply::new(200)
        .header("Content-Type", oci_ref::media_type::DOCKER_SCHEMA1_SIGNED)
        .body(br#"{"schemaVersion":1,"name":"x"}"#.to_vec());
    let (r, _s) = check_fetch(reply, TagOrDigest::tag("old").expect("tag")).await;
    assert!(matches!(r, Err(Error::UnsupportedManifest { .. })));
    // Also when the registry lies about the type but the body says schemaVersion 1.
    let reply = Reply::new(200)
        .header("Content-Type", "application/json")
        .body(br#"{"schemaVersion":1}"#.to_vec());
    let (r, _s) = check_fetch(reply, TagOrDigest::tag("old").expect("tag")).await;
    assert!(matches!(r, Err(Error::UnsupportedManifest { .. })));
}

#[tokio::test]
async fn media_type_mismatch_is_rejected() {
    let reply = Reply::new(200)
        .header("Content-Type", oci_ref::media_type::OCI_INDEX)
        .body(BODY.to_vec());
    let (r, _s) = check_fetch(reply, TagOrDigest::tag("v1").expect("tag")).await;
    assert!(matches!(
        r,
        Err(Error::Protocol {
            what: Protocol::MediaTypeMismatch,
            ..
        })
    ));
}

#[tokio::test]
async fn accept_header_lists_the_four_types() {
    let (_r, server) = check_fetch(ok_reply(BODY), TagOrDigest::tag("v1").expect("tag")).await;
    let accept = server.requests()[0]
        .header("accept")
        .unwrap_or_default()
        .to_owned();
    for t in [
        OCI_MANIFEST,
        oci_ref::media_type::OCI_INDEX,
        oci_ref::media_type::DOCKER_MANIFEST,
        oci_ref::media_type::DOCKER_MANIFEST_LIST,
    ] {
        assert!(accept.contains(t), "{accept} lacks {t}");
    }
}

#[tokio::test]
async fn push_sends_content_type_and_updates_referrers_fallback() {
    let subject = sha256(b"subject");
    let body = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","artifactType":"application/x-sig","config":{{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}},"layers":[],"subject":{{"mediaType":"{OCI_MANIFEST}","digest":"{subject}","size":1}},"annotations":{{"a":"b"}}}}"#
    );
    let server = Server::start(|req| match (req.method.as_str(), req.path()) {
        ("GET", p) if p.contains("/manifests/sha256-") => Reply::new(404),
        ("PUT", _) => Reply::new(201),
        _ => Reply::new(500),
    });
    let pushed = server
        .repo("app")
        .push_manifest(
            &TagOrDigest::tag("sig").expect("tag"),
            body.clone().into(),
            OCI_MANIFEST,
        )
        .await
        .expect("push succeeds");
    assert!(!pushed.subject_confirmed);
    let reqs = server.requests();
    let puts: Vec<_> = reqs.iter().filter(|r| r.method == "PUT").collect();
    assert_eq!(puts.len(), 2, "manifest and fallback index");
    assert_eq!(puts[0].header("content-type"), Some(OCI_MANIFEST));
    assert_eq!(puts[0].body, body.as_bytes());
    assert!(puts[1].path().ends_with(&format!(
        "/manifests/{}",
        oci_ref::Tag::referrers_fallback(&subject)
    )));
    let index: serde_json::Value = serde_json::from_slice(&puts[1].body).expect("index JSON");
    let entry = &index["manifests"][0];
    assert_eq!(entry["digest"], pushed.descriptor.digest.as_str());
    assert_eq!(entry["artifactType"], "application/x-sig");
    assert_eq!(entry["annotations"]["a"], "b");
}

/// A server whose first `cut` answers to GETs announce more bytes than they send (the
/// connection closes mid-body); later answers are `reply`.
async fn cut_then(cut: usize, reply: Reply) -> Server {
    let seen = std::sync::atomic::AtomicUsize::new(0);
    Server::start(move |_| {
        if seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < cut {
            let len = reply_len(&reply) + 100;
            reply.clone().header("Content-Length", &len.to_string())
        } else {
            reply.clone()
        }
    })
}

fn reply_len(reply: &Reply) -> usize {
    match &reply.body {
        crate::server::Body::Bytes(b) => b.len(),
        crate::server::Body::Endless { total } => *total as usize,
    }
}

#[tokio::test]
async fn body_cut_short_is_retried_regression_fault_matrix() {
    let digest = sha256(BODY);
    let s = cut_then(2, ok_reply(BODY)).await;
    let m = s
        .repo("app")
        .fetch_manifest(&TagOrDigest::Digest(digest.clone()))
        .await
        .expect("the third attempt reads the whole body");
    assert_eq!(m.bytes().as_ref(), BODY);
    assert_eq!(s.requests().len(), 3, "two cut bodies, then a whole one");
}

#[tokio::test]
async fn body_always_cut_short_ends_retryable_after_the_policy() {
    let s = cut_then(usize::MAX, ok_reply(BODY)).await;
    let e = s
        .repo("app")
        .fetch_manifest(&TagOrDigest::Digest(sha256(BODY)))
        .await
        .expect_err("never a whole body");
    assert!(e.is_retryable(), "{e:?}");
    assert_eq!(s.requests().len(), 5, "fast_retries allows 5 attempts");
}
