//! Retries, redirects, authentication and error bodies against a hostile server.

use oci_ref::media_type::OCI_MANIFEST;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use oci_client::{Error, ErrorCode, Limit, RetryPolicy};
use oci_ref::TagOrDigest;

use crate::server::{Reply, Server, ServerExt as _};

const BODY: &[u8] = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"a","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;

/// A server that fails the first `failures` requests with `failure`, then serves a manifest.
async fn flaky(failures: usize, failure: Reply) -> Server {
    let count = Arc::new(AtomicUsize::new(0));
    Server::start(move |_| {
        if count.fetch_add(1, Ordering::SeqCst) < failures {
            failure.clone()
        } else {
            Reply::new(200)
                .header("Content-Type", OCI_MANIFEST)
                .body(BODY.to_vec())
        }
    })
}

async fn fetch(server: &Server) -> Result<oci_client::Manifest, Error> {
    server
        .repo("app")
        .fetch_manifest(&TagOrDigest::tag("v1").expect("tag"))
        .await
}

#[tokio::test]
async fn retries_503_bursts_then_succeeds() {
    let server = flaky(3, Reply::new(503)).await;
    fetch(&server).await.expect("succeeds after the burst");
    assert_eq!(server.requests().len(), 4);
}

#[tokio::test]
async fn gives_up_after_max_attempts() {
    let server = flaky(100, Reply::new(503)).await;
    let e = fetch(&server).await.expect_err("never succeeds");
    assert_eq!(e.status(), Some(503));
    assert!(e.is_retryable());
    assert_eq!(server.requests().len(), 5, "fast_retries allows 5 attempts");
}

#[tokio::test]
async fn honours_retry_after_seconds_on_429() {
    let server = flaky(1, Reply::new(429).header("Retry-After", "1")).await;
    let start = std::time::Instant::now();
    fetch(&server).await.expect("succeeds after waiting");
    assert_eq!(server.requests().len(), 2);
    // Not a performance assertion: the backoff alone is 1-5 ms, so only Retry-After explains it.
    assert!(start.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn retry_after_beyond_budget_fails_at_once() {
    let server = flaky(1, Reply::new(429).header("Retry-After", "3600")).await;
    let e = fetch(&server).await.expect_err("budget is 5 s");
    assert_eq!(e.status(), Some(429));
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn retry_after_parses_seconds_and_http_dates() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
    let check = |v: &str, want: Option<Duration>| {
        assert_eq!(
            oci_auth::token_response::parse_retry_after(v, now),
            want,
            "{v}"
        )
    };
    check("120", Some(Duration::from_secs(120)));
    check(
        "Sun, 06 Nov 1994 08:50:37 GMT",
        Some(Duration::from_secs(60)),
    );
    check("Sun, 06 Nov 1994 08:00:00 GMT", Some(Duration::ZERO));
    check("soon", None);
    check("-1", None);
}

#[test]
fn backoff_is_capped_and_budgeted() {
    let p = RetryPolicy {
        max_attempts: 10,
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(400),
        max_total_wait: Duration::from_secs(1),
    };
    assert!(p.delay(8, Duration::ZERO, None).expect("retry") <= Duration::from_millis(440));
    assert_eq!(p.delay(10, Duration::ZERO, None), None, "attempts used up");
    assert_eq!(
        p.delay(1, Duration::from_millis(990), None),
        None,
        "budget used up"
    );
    assert_eq!(
        p.delay(1, Duration::ZERO, Some(Duration::from_millis(700))),
        Some(Duration::from_millis(700))
    );
}

/// The POST opening an upload session is retried on 503 like a GET (a repeat at worst leaves
/// an empty session), up to the policy, and then reported with the registry's status.
#[tokio::test]
async fn upload_start_post_is_retried_on_503_up_to_the_policy() {
    let server = Server::start(|req| {
        if req.method == "HEAD" {
            Reply::new(404)
        } else {
            Reply::new(503)
        }
    });
    let e = server
        .repo("app")
        .push_blob(&crate::server::sha256(b"x"), "x".into())
        .await;
    assert_eq!(e.expect_err("fails").status(), Some(503));
    assert_eq!(
        server
            .requests()
            .iter()
            .filter(|r| r.method == "POST")
            .count(),
        5,
        "fast_retries allows 5 attempts"
    );
}

#[tokio::test]
async fn redirect_loop_is_capped() {
    let server =
        Server::start(|req| Reply::new(302).header("Location", &format!("{}x", req.target)));
    let e = fetch(&server).await.expect_err("loop");
    assert!(
        matches!(
            e,
            Error::LimitExceeded {
                limit: Limit::Redirects,
                max: 10,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(server.requests().len(), 11);
}

/// A registry that wants Basic auth and redirects the manifest to `cdn`; returns what `cdn` saw.
async fn check_cross_origin(trusted: bool) -> Option<String> {
    let cdn = Server::start(|_| {
        Reply::new(200)
            .header("Content-Type", OCI_MANIFEST)
            .body(BODY.to_vec())
    });
    let cdn_url = format!("{}/blob?X-Amz-Signature=secret", cdn.origin());
    let registry = Server::start(move |req| {
        if req.header("authorization").is_none() {
            Reply::new(401).header("WWW-Authenticate", "Basic realm=\"r\"")
        } else {
            Reply::new(307).header("Location", &cdn_url)
        }
    });
    let keychain = oci_auth::Keychain::empty().with_credential(
        &registry.registry(),
        oci_auth::Credential::basic("user", "pass"),
    );
    let mut builder = registry.builder().keychain(keychain);
    if trusted {
        builder = builder.trust_redirect_origin(&cdn.origin());
    }
    let r: oci_ref::Reference = format!("{}/app:v1", registry.registry())
        .parse()
        .expect("ref");
    let client = builder.build().expect("client");
    client
        .repository(&r)
        .expect("repo")
        .fetch_manifest(&TagOrDigest::from(&r))
        .await
        .expect("fetch via cdn");
    let seen = cdn.requests();
    assert_eq!(seen.len(), 1);
    seen[0].header("authorization").map(str::to_owned)
}

#[tokio::test]
async fn authorization_never_crosses_origins() {
    assert_eq!(check_cross_origin(false).await, None);
}

#[tokio::test]
async fn authorization_follows_to_trusted_origin() {
    assert!(
        check_cross_origin(true)
            .await
            .is_some_and(|a| a.starts_with("Basic "))
    );
}

#[tokio::test]
async fn presigned_query_is_redacted_from_errors() {
    let cdn = Server::start(|_| Reply::new(500));
    let target = format!("{}/blob?X-Amz-Signature=secret", cdn.origin());
    let registry = Server::start(move |_| Reply::new(307).header("Location", &target));
    let e = fetch_with(&registry.client(), &registry)
        .await
        .expect_err("cdn fails");
    let text = e.to_string();
    assert!(!text.contains("secret"), "{text}");
    assert!(text.contains("/blob"), "{text}");
}

async fn fetch_with(
    client: &oci_client::Client,
    server: &Server,
) -> Result<oci_client::Manifest, Error> {
    let r: oci_ref::Reference = format!("{}/app:v1", server.registry())
        .parse()
        .expect("ref");
    client
        .repository(&r)
        .expect("repo")
        .fetch_manifest(&TagOrDigest::from(&r))
        .await
}

#[tokio::test]
async fn second_401_is_a_typed_unauthorized_error_without_loop() {
    let server = Server::start(|_| Reply::new(401).header("WWW-Authenticate", "Basic realm=\"r\""));
    let keychain = oci_auth::Keychain::empty().with_credential(
        &server.registry(),
        oci_auth::Credential::basic("user", "wrong"),
    );
    let client = server.builder().keychain(keychain).build().expect("client");
    let e = fetch_with(&client, &server).await.expect_err("rejected");
    assert!(e.is_unauthorized(), "{e}");
    assert_eq!(
        server.requests().len(),
        2,
        "one try, one retry with credentials"
    );
}

async fn check_error_body(status: u16, body: &'static [u8]) -> Error {
    let server = Server::start(move |_| Reply::new(status).body(body.to_vec()));
    fetch(&server).await.expect_err("error status")
}

#[tokio::test]
async fn registry_error_codes_are_parsed() {
    let e = check_error_body(404, br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"v1"}}]}"#).await;
    assert!(e.is_not_found());
    assert_eq!(
        e.codes().collect::<Vec<_>>(),
        vec![&ErrorCode::ManifestUnknown]
    );
    let e = check_error_body(403, br#"{"errors":[{"code":"DENIED"}]}"#).await;
    assert!(e.is_unauthorized());
    let e = check_error_body(
        400,
        br#"{"errors":[{"code":"SOMETHING_NEW","message":"x"}]}"#,
    )
    .await;
    assert_eq!(
        e.codes().collect::<Vec<_>>(),
        vec![&ErrorCode::Other("SOMETHING_NEW".into())]
    );
}

#[tokio::test]
async fn malformed_error_bodies_still_give_typed_errors() {
    for body in [
        &b"<html>nginx 404</html>"[..],
        b"{\"errors\":",
        b"{\"errors\":[42,{\"code\":7}]}",
        b"",
        b"\xff\xfe",
    ] {
        let server = Server::start(move |_| Reply::new(404).body(body.to_vec()));
        let e = fetch(&server).await.expect_err("404");
        assert!(
            matches!(&e, Error::Registry { status: 404, errors, .. } if errors.is_empty()),
            "{e}"
        );
        assert!(e.is_not_found());
    }
}

#[tokio::test]
async fn endless_error_body_is_bounded() {
    let server = Server::start(|_| Reply::new(400).endless(1 << 30));
    let e = fetch(&server).await.expect_err("400");
    assert_eq!(e.status(), Some(400));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        server.written() < 1 << 28,
        "error body was drained: {}",
        server.written()
    );
}

/// Regression: every operation's future (and the listing streams) must be `Send`, so callers
/// can spawn them on a multi-threaded runtime. Nothing is polled here.
#[test]
fn futures_are_send() {
    fn is_send<T: Send>(_: T) {}
    let client = oci_client::Client::builder()
        .keychain(oci_auth::Keychain::empty())
        .build()
        .expect("client");
    let r: oci_ref::Reference = "localhost:5000/app:v1".parse().expect("ref");
    let repo = client.repository(&r).expect("repo");
    let d = crate::server::sha256(b"x");
    let m = TagOrDigest::from(&r);
    is_send(client.ping("localhost:5000"));
    is_send(client.catalog("localhost:5000", None));
    is_send(repo.fetch_manifest(&m));
    is_send(repo.head_manifest(&m));
    is_send(repo.resolve(&m));
    is_send(repo.push_manifest(&m, bytes::Bytes::new(), OCI_MANIFEST));
    is_send(repo.delete_manifest(&m));
    is_send(repo.fetch_blob(&d, None));
    is_send(repo.fetch_blob_range(&d, 1));
    is_send(repo.push_blob(&d, bytes::Bytes::new()));
    is_send(repo.push_blob_chunked(&d, 1, &b"x"[..], 1));
    is_send(repo.mount_or_push_blob(&d, "other", bytes::Bytes::new()));
    is_send(repo.referrers(&d, None));
    is_send(repo.tag_pages(None).expect("stream"));
    is_send(repo.tags(None));
}

#[test]
fn docker_hub_talks_to_registry_1() {
    let client = oci_client::Client::builder()
        .keychain(oci_auth::Keychain::empty())
        .build()
        .expect("client");
    let check = |reference: &str, want: &str| {
        let r: oci_ref::Reference = reference.parse().expect("ref");
        assert_eq!(
            client.repository(&r).expect("repo").api_base(),
            want,
            "{reference}"
        );
    };
    check("ubuntu", "https://registry-1.docker.io/v2/library/ubuntu/");
    check(
        "docker.io/org/app:1",
        "https://registry-1.docker.io/v2/org/app/",
    );
    check(
        "quay.io/podman/machine-os:5.3",
        "https://quay.io/v2/podman/machine-os/",
    );
    let plain = oci_client::Client::builder()
        .plain_http("localhost:5000")
        .keychain(oci_auth::Keychain::empty())
        .build()
        .expect("client");
    let r: oci_ref::Reference = "localhost:5000/a/b:c".parse().expect("ref");
    assert_eq!(
        plain.repository(&r).expect("repo").api_base(),
        "http://localhost:5000/v2/a/b/"
    );
}

/// A Bearer registry whose first token is rejected with `invalid_token`: the client invalidates,
/// asks for a new token once, and succeeds; it never loops.
#[tokio::test]
async fn invalid_token_gets_one_fresh_token() {
    let issued = Arc::new(AtomicUsize::new(0));
    let origin = Arc::new(std::sync::OnceLock::<String>::new());
    let (issued2, origin2) = (issued.clone(), origin.clone());
    let server = Server::start(move |req| {
        let realm = format!("{}/token", origin2.get().cloned().unwrap_or_default());
        if req.path() == "/token" {
            let n = issued2.fetch_add(1, Ordering::SeqCst) + 1;
            return Reply::new(200).body(format!(r#"{{"token":"t{n}"}}"#));
        }
        match req.header("authorization") {
            Some("Bearer t2") => Reply::new(200)
                .header("Content-Type", OCI_MANIFEST)
                .body(BODY.to_vec()),
            Some(_) => Reply::new(401).header(
                "WWW-Authenticate",
                &format!(r#"Bearer realm="{realm}",service="s",error="invalid_token""#),
            ),
            None => Reply::new(401).header(
                "WWW-Authenticate",
                &format!(r#"Bearer realm="{realm}",service="s""#),
            ),
        }
    });
    origin.set(server.origin()).expect("set once");
    fetch(&server).await.expect("second token works");
    assert_eq!(issued.load(Ordering::SeqCst), 2);
    let registry_requests = server
        .requests()
        .iter()
        .filter(|r| r.path() != "/token")
        .count();
    assert_eq!(registry_requests, 3, "anonymous, t1, t2");
}

#[tokio::test]
async fn invalid_token_twice_fails_typed_without_loop() {
    let issued = Arc::new(AtomicUsize::new(0));
    let origin = Arc::new(std::sync::OnceLock::<String>::new());
    let (issued2, origin2) = (issued.clone(), origin.clone());
    let server = Server::start(move |req| {
        let realm = format!("{}/token", origin2.get().cloned().unwrap_or_default());
        if req.path() == "/token" {
            issued2.fetch_add(1, Ordering::SeqCst);
            return Reply::new(200).body(r#"{"token":"bad"}"#);
        }
        Reply::new(401).header(
            "WWW-Authenticate",
            &format!(r#"Bearer realm="{realm}",error="invalid_token""#),
        )
    });
    origin.set(server.origin()).expect("set once");
    let e = fetch(&server).await.expect_err("always rejected");
    assert!(e.is_unauthorized(), "{e}");
    assert_eq!(
        issued.load(Ordering::SeqCst),
        2,
        "one challenge, one after invalidation"
    );
    assert_eq!(
        server
            .requests()
            .iter()
            .filter(|r| r.path() != "/token")
            .count(),
        3
    );
}

/// A Bearer registry whose token endpoint answers `token_replies` in turn (then a token), and
/// which accepts any bearer token.
async fn token_server(token_replies: Vec<Reply>) -> (Server, Arc<AtomicUsize>) {
    let asked = Arc::new(AtomicUsize::new(0));
    let origin = Arc::new(std::sync::OnceLock::<String>::new());
    let (asked2, origin2) = (asked.clone(), origin.clone());
    let server = Server::start(move |req| {
        if req.path() == "/token" {
            let n = asked2.fetch_add(1, Ordering::SeqCst);
            return match token_replies.get(n) {
                Some(r) => r.clone(),
                None => Reply::new(200).body(r#"{"token":"t"}"#),
            };
        }
        match req.header("authorization") {
            Some("Bearer t") => Reply::new(200)
                .header("Content-Type", OCI_MANIFEST)
                .body(BODY.to_vec()),
            _ => {
                let realm = format!("{}/token", origin2.get().cloned().unwrap_or_default());
                Reply::new(401).header(
                    "WWW-Authenticate",
                    &format!(r#"Bearer realm="{realm}",service="s""#),
                )
            }
        }
    });
    origin.set(server.origin()).expect("set once");
    (server, asked)
}

#[tokio::test]
async fn token_server_503_and_429_are_retried_regression_fault_matrix() {
    let (server, asked) = token_server(vec![
        Reply::new(503),
        Reply::new(429).header("Retry-After", "0"),
    ])
    .await;
    fetch(&server)
        .await
        .expect("the third token request succeeds");
    assert_eq!(asked.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn token_server_always_failing_is_retryable_not_unauthorized() {
    let (server, asked) = token_server(vec![Reply::new(500); 10]).await;
    let e = fetch(&server).await.expect_err("no token");
    assert!(e.is_retryable() && !e.is_unauthorized(), "{e:?}");
    assert_eq!(asked.load(Ordering::SeqCst), 5, "fast_retries allows 5");
}

#[tokio::test]
async fn token_server_garbage_is_terminal_not_unauthorized() {
    let (server, asked) = token_server(vec![Reply::new(200).body("{not json"); 10]).await;
    let e = fetch(&server).await.expect_err("no token");
    assert!(!e.is_retryable() && !e.is_unauthorized(), "{e:?}");
    assert_eq!(asked.load(Ordering::SeqCst), 1, "garbage is not retried");
}

#[tokio::test]
async fn token_server_refusing_is_unauthorized() {
    let (server, _) = token_server(vec![Reply::new(401); 10]).await;
    let e = fetch(&server).await.expect_err("refused");
    assert!(e.is_unauthorized() && !e.is_retryable(), "{e:?}");
}
