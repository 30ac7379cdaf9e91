//! Caps a hostile registry runs into (the others are listed in `SECURITY.md`).

use super::*;

#[tokio::test]
async fn endless_listing_page_is_cut_at_the_page_byte_cap() {
    let total = 512 * 1024 * 1024;
    let server = Server::start(move |_| Reply::new(200).endless(total));
    let max = 64 * 1024;
    let client = server
        .builder()
        .limits(Limits {
            max_page_bytes: max,
            ..Limits::default()
        })
        .build()
        .expect("client");
    let e = repo_of(&client, &server.registry())
        .tags(None)
        .await
        .expect_err("endless page");
    assert!(
        matches!(e, Error::LimitExceeded { limit: Limit::PageBytes, max: m, .. } if m == max),
        "{e}"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        server.written() < total / 4,
        "the page was drained: {} bytes",
        server.written()
    );
}

/// Many short `Retry-After`s add up: the total wait budget ends the retries even though the
/// attempt budget is far from used.
#[tokio::test]
async fn retry_after_storm_stops_at_the_total_wait_budget() {
    let server = Server::start(|_| Reply::new(429).header("Retry-After", "1"));
    let client = server
        .builder()
        .retry_policy(RetryPolicy {
            max_attempts: 100,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            max_total_wait: Duration::from_millis(2500),
        })
        .build()
        .expect("client");
    let start = std::time::Instant::now();
    let e = repo_of(&client, &server.registry())
        .fetch_manifest(&tag("v1"))
        .await
        .expect_err("always 429");
    assert_eq!(e.status(), Some(429), "{e}");
    assert_eq!(
        server.requests().len(),
        3,
        "waits of 1 s + 1 s fit in 2.5 s, a third does not"
    );
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn error_body_entries_and_messages_are_capped() {
    let long = "m".repeat(10 * 1024);
    let mut entries: Vec<String> = (0..100)
        .map(|i| format!(r#"{{"code":"C{i}","message":"short"}}"#))
        .collect();
    entries[0] = format!(r#"{{"code":"DENIED","message":"{long}\r\n{INJECTED}: 1"}}"#);
    let body = format!(r#"{{"errors":[{}]}}"#, entries.join(","));
    assert!(body.len() < oci_client::MAX_ERROR_BODY_BYTES);
    let server = Server::start(move |_| Reply::new(403).body(body.clone()));
    let e = server
        .repo("app")
        .fetch_manifest(&tag("v1"))
        .await
        .expect_err("403");
    let Error::Registry { errors, .. } = &e else {
        panic!("expected a registry error, got {e:?}");
    };
    assert_eq!(errors.len(), oci_client::MAX_ERROR_ENTRIES);
    let message = errors[0].message.as_deref().unwrap_or_default();
    assert!(
        message.len() <= oci_client::MAX_ERROR_MESSAGE_BYTES,
        "{}",
        message.len()
    );
    assert!(!message.contains(['\r', '\n']), "control characters kept");
    assert_eq!(e.to_string().lines().count(), 1, "{e}");
}

/// A registry that takes the first chunk of an upload and then answers every further `PATCH`
/// with success and an unchanged `Range`: it never makes progress.
fn stalling_upload(req: &Request, first: usize) -> Reply {
    let kept = format!("0-{}", first - 1);
    match req.method.as_str() {
        "HEAD" => Reply::new(404),
        "POST" => Reply::new(202).header("Location", "/v2/app/blobs/uploads/s1"),
        "PATCH" => Reply::new(202)
            .header("Location", "/v2/app/blobs/uploads/s1")
            .header("Range", &kept),
        "GET" => Reply::new(204)
            .header("Location", "/v2/app/blobs/uploads/s1")
            .header("Range", &kept),
        "DELETE" => Reply::new(204),
        _ => Reply::new(400),
    }
}

#[tokio::test]
async fn upload_without_progress_stops_at_the_stalled_chunk_cap() {
    const CHUNK: usize = 4;
    let server = Server::start(|req| stalling_upload(req, CHUNK));
    let data = b"0123456789ab".to_vec();
    let started = std::time::Instant::now();
    let e = server
        .repo("app")
        .push_blob_chunked(&sha256(&data), data.len() as u64, data.as_slice(), CHUNK)
        .await
        .expect_err("an upload that makes no progress fails");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        matches!(
            e,
            Error::Protocol {
                what: oci_client::Protocol::UploadStalled,
                ..
            }
        ),
        "{e:?}"
    );
    let requests = server.requests();
    let patches: Vec<_> = requests.iter().filter(|r| r.method == "PATCH").collect();
    // The first PATCH delivers the first chunk; then the second chunk is sent exactly
    // MAX_STALLED_CHUNK_ATTEMPTS times, each answered without progress.
    let stalled = oci_client::MAX_STALLED_CHUNK_ATTEMPTS as usize;
    assert_eq!(patches.len(), 1 + stalled, "{patches:?}");
    assert!(
        patches[1..]
            .iter()
            .all(|p| p.header("content-range") == Some("4-7")),
        "every retry resends the second chunk"
    );
    assert!(
        !requests.iter().any(|r| r.method == "PUT"),
        "a stalled upload is never closed"
    );
}
