//! Uploads against a scripted upload session: chunk minimum, short acceptance, 416, mount.

use std::sync::{Arc, Mutex};

use oci_client::{Error, PushOutcome};

use crate::server::{Recorded, Reply, Server, sha256};

#[derive(Default)]
struct Session {
    have: Vec<u8>,
    patches: usize,
}

/// A registry whose first PATCH stores everything but answers 416, and whose second PATCH
/// keeps only half of what it gets.
fn hostile_session(state: &Arc<Mutex<Session>>, req: &Recorded) -> Reply {
    let mut st = state.lock().expect("state");
    let range = |n: usize| format!("0-{}", n.saturating_sub(1));
    match req.method.as_str() {
        "HEAD" => Reply::new(404),
        "POST" => Reply::new(202)
            .header("Location", "/v2/app/blobs/uploads/u1?_state=abc")
            .header("OCI-Chunk-Min-Length", "4"),
        "PATCH" => {
            st.patches += 1;
            let start: usize = req
                .header("content-range")
                .and_then(|r| r.split('-').next()?.parse().ok())
                .unwrap_or(usize::MAX);
            if start != st.have.len() {
                return Reply::new(416);
            }
            match st.patches {
                1 => {
                    st.have.extend_from_slice(&req.body);
                    Reply::new(416)
                }
                2 => {
                    let half = req.body.len() / 2;
                    st.have.extend_from_slice(&req.body[..half]);
                    Reply::new(202)
                        .header("Location", "/v2/app/blobs/uploads/u2")
                        .header("Range", &range(st.have.len()))
                }
                _ => {
                    st.have.extend_from_slice(&req.body);
                    Reply::new(202)
                        .header("Location", "/v2/app/blobs/uploads/u3")
                        .header("Range", &range(st.have.len()))
                }
            }
        }
        "GET" => Reply::new(204)
            .header("Location", "/v2/app/blobs/uploads/u1b")
            .header("Range", &range(st.have.len())),
        "PUT" => {
            let want = req
                .target
                .split("digest=")
                .nth(1)
                .unwrap_or("")
                .replace("%3A", ":");
            if want == sha256(&st.have).as_str() && req.target.contains("/u3?") {
                Reply::new(201)
            } else {
                Reply::new(400).body(r#"{"errors":[{"code":"DIGEST_INVALID"}]}"#)
            }
        }
        _ => Reply::new(405),
    }
}

#[tokio::test]
async fn chunked_upload_survives_416_and_short_ranges() {
    let state = Arc::new(Mutex::new(Session::default()));
    let st = state.clone();
    let s = Server::start(move |req| hostile_session(&st, req)).await;
    let data = b"0123456789abcdef".to_vec();
    // chunk_size 2 is raised to the registry's minimum of 4.
    let outcome = s
        .repo("app")
        .push_blob_chunked(&sha256(&data), data.len() as u64, data.as_slice(), 2)
        .await
        .expect("upload completes");
    assert_eq!(outcome, PushOutcome::Uploaded);
    assert_eq!(state.lock().expect("state").have, data);
    let patches: Vec<_> = s
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .collect();
    assert!(patches.iter().all(|p| p.body.len() <= 4));
    assert_eq!(patches[0].header("content-range"), Some("0-3"));
}

#[tokio::test]
async fn chunked_upload_checks_the_digest_before_closing() {
    let state = Arc::new(Mutex::new(Session {
        patches: 10,
        ..Session::default()
    }));
    let st = state.clone();
    let s = Server::start(move |req| hostile_session(&st, req)).await;
    let e = s
        .repo("app")
        .push_blob_chunked(&sha256(b"other"), 4, &b"data"[..], 4)
        .await
        .expect_err("wrong digest");
    assert!(e.is_digest_mismatch());
    let methods: Vec<_> = s.requests().into_iter().map(|r| r.method).collect();
    assert!(!methods.contains(&"PUT".to_owned()), "{methods:?}");
    assert_eq!(
        methods.last().map(String::as_str),
        Some("DELETE"),
        "session cancelled"
    );
}

#[tokio::test]
async fn existing_blob_is_skipped() {
    let s = Server::start(|req| {
        if req.method == "HEAD" {
            Reply::new(200)
        } else {
            Reply::new(500)
        }
    })
    .await;
    let outcome = s
        .repo("app")
        .push_blob(&sha256(b"x"), "x".into())
        .await
        .expect("skip");
    assert_eq!(outcome, PushOutcome::AlreadyExists);
    assert_eq!(s.requests().len(), 1);
}

#[tokio::test]
async fn monolithic_upload_posts_then_puts() {
    let s = Server::start(|req| match req.method.as_str() {
        "HEAD" => Reply::new(404),
        "POST" => Reply::new(202)
            .header("Location", "http://127.0.0.1:1/elsewhere-not-used?x=1")
            .header("Location-Ignored", "1"),
        _ => Reply::new(201),
    })
    .await;
    // A Location on another origin is used as given (spec: MAY point at another host); here
    // that host refuses connections, so the PUT fails with a connect error.
    let e = s
        .repo("app")
        .push_blob(&sha256(b"x"), "x".into())
        .await
        .expect_err("unreachable location");
    assert!(matches!(e, Error::Transport { .. }), "{e}");

    let s = Server::start(|req| match req.method.as_str() {
        "HEAD" => Reply::new(404),
        "POST" => Reply::new(202).header("Location", "/v2/app/blobs/uploads/u?x=1"),
        _ => Reply::new(201),
    })
    .await;
    let outcome = s
        .repo("app")
        .push_blob(&sha256(b"x"), "x".into())
        .await
        .expect("upload");
    assert_eq!(outcome, PushOutcome::Uploaded);
    let put = s
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT")
        .expect("a PUT");
    assert!(
        put.target
            .starts_with("/v2/app/blobs/uploads/u?x=1&digest=sha256%3A"),
        "{}",
        put.target
    );
    assert_eq!(put.body, b"x");
    assert_eq!(put.header("content-type"), Some("application/octet-stream"));
}

#[tokio::test]
async fn mount_201_and_202_fallback() {
    let s = Server::start(|req| match req.method.as_str() {
        "HEAD" => Reply::new(404),
        "POST" if req.path().starts_with("/v2/yes/") => Reply::new(201),
        "POST" => Reply::new(202).header("Location", "/v2/no/blobs/uploads/s"),
        _ => Reply::new(201),
    })
    .await;
    let d = sha256(b"x");
    assert_eq!(
        s.repo("yes")
            .mount_or_push_blob(&d, "src", "x".into())
            .await
            .expect("mount"),
        PushOutcome::Mounted
    );
    let post = s
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .expect("POST");
    assert_eq!(
        post.target,
        format!(
            "/v2/yes/blobs/uploads/?mount={}&from=src",
            d.as_str().replace(':', "%3A")
        )
    );
    assert_eq!(
        s.repo("no")
            .mount_or_push_blob(&d, "src", "x".into())
            .await
            .expect("fallback"),
        PushOutcome::Uploaded
    );
    assert!(!s.repo("no").mount_blob(&d, "src").await.expect("declined"));
    assert_eq!(
        s.requests().last().map(|r| r.method.clone()).as_deref(),
        Some("DELETE")
    );
}

#[tokio::test]
async fn absurd_chunk_min_length_is_refused_without_allocating() {
    let s = Server::start(|req| match req.method.as_str() {
        "HEAD" => Reply::new(404),
        "POST" => Reply::new(202)
            .header("Location", "/v2/app/blobs/uploads/u")
            .header("OCI-Chunk-Min-Length", "99999999999999"),
        _ => Reply::new(202),
    })
    .await;
    let e = s
        .repo("app")
        .push_blob_chunked(&sha256(b"x"), 1, &b"x"[..], 1024)
        .await
        .expect_err("refused");
    assert!(
        matches!(
            e,
            Error::Protocol {
                what: oci_client::Protocol::ChunkMinLengthTooLarge,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        s.requests().last().map(|r| r.method.clone()).as_deref(),
        Some("DELETE")
    );
}

#[tokio::test]
async fn upload_start_is_retried_after_503_regression_fault_matrix() {
    let posts = std::sync::atomic::AtomicUsize::new(0);
    let s = Server::start(move |req| match req.method.as_str() {
        "HEAD" => Reply::new(404),
        "POST" if posts.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 2 => Reply::new(503),
        "POST" => Reply::new(202).header("Location", "/v2/app/blobs/uploads/u"),
        _ => Reply::new(201),
    })
    .await;
    let outcome = s
        .repo("app")
        .push_blob(&sha256(b"x"), "x".into())
        .await
        .expect("the third POST opens a session");
    assert_eq!(outcome, PushOutcome::Uploaded);
    let methods: Vec<String> = s.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["HEAD", "POST", "POST", "POST", "PUT"]);
}

#[tokio::test]
async fn data_carrying_put_is_not_retried_after_503() {
    let s = Server::start(|req| match req.method.as_str() {
        "HEAD" => Reply::new(404),
        "POST" => Reply::new(202).header("Location", "/v2/app/blobs/uploads/u"),
        _ => Reply::new(503),
    })
    .await;
    let e = s
        .repo("app")
        .push_blob(&sha256(b"x"), "x".into())
        .await
        .expect_err("the closing PUT failed");
    assert_eq!(e.status(), Some(503), "{e}");
    let puts = s.requests().iter().filter(|r| r.method == "PUT").count();
    assert_eq!(puts, 1, "a PUT carrying data is sent once");
}

/// `open` for `push_blob_streamed`: `data` in chunks of 3 bytes.
async fn chunks_of(
    data: &'static [u8],
) -> std::io::Result<impl futures_util::Stream<Item = std::io::Result<bytes::Bytes>>> {
    Ok(futures_util::stream::iter(
        data.chunks(3)
            .map(|c| Ok(bytes::Bytes::from_static(c)))
            .collect::<Vec<_>>(),
    ))
}

#[tokio::test]
async fn streamed_upload_is_one_put_with_every_byte() {
    const DATA: &[u8] = b"a streamed blob body";
    let s = Server::start(|req| match req.method.as_str() {
        "HEAD" => Reply::new(404),
        "POST" => Reply::new(202).header("Location", "/v2/app/blobs/uploads/u?state=1"),
        _ => Reply::new(201),
    })
    .await;
    let outcome = s
        .repo("app")
        .push_blob_streamed(&sha256(DATA), DATA.len() as u64, || chunks_of(DATA))
        .await
        .expect("upload");
    assert_eq!(outcome, PushOutcome::Uploaded);
    let requests = s.requests();
    let methods: Vec<&str> = requests.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, ["HEAD", "POST", "PUT"]);
    let put = &requests[2];
    assert_eq!(put.body, DATA);
    assert_eq!(put.header("content-length"), Some("20"));
    assert!(
        put.target
            .starts_with("/v2/app/blobs/uploads/u?state=1&digest=sha256%3A"),
        "{}",
        put.target
    );
}

#[tokio::test]
async fn streamed_upload_starts_again_after_a_503_and_stops_on_a_400() {
    const DATA: &[u8] = b"retry me";
    let puts = std::sync::atomic::AtomicUsize::new(0);
    let s = Server::start(move |req| match req.method.as_str() {
        "HEAD" => Reply::new(404),
        "POST" => Reply::new(202).header("Location", "/v2/app/blobs/uploads/u"),
        "PUT" if puts.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 => Reply::new(503),
        "PUT" => Reply::new(201),
        _ => Reply::new(204),
    })
    .await;
    s.repo("app")
        .push_blob_streamed(&sha256(DATA), DATA.len() as u64, || chunks_of(DATA))
        .await
        .expect("the second session succeeds");
    let methods: Vec<String> = s.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["HEAD", "POST", "PUT", "DELETE", "POST", "PUT"]);

    let s = Server::start(|req| match req.method.as_str() {
        "HEAD" => Reply::new(404),
        "POST" => Reply::new(202).header("Location", "/v2/app/blobs/uploads/u"),
        "PUT" => Reply::new(400).body(r#"{"errors":[{"code":"DIGEST_INVALID"}]}"#),
        _ => Reply::new(204),
    })
    .await;
    let e = s
        .repo("app")
        .push_blob_streamed(&sha256(DATA), DATA.len() as u64, || chunks_of(DATA))
        .await
        .expect_err("the registry refused the digest");
    assert!(e.is_digest_mismatch(), "{e:?}");
    let methods: Vec<String> = s.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["HEAD", "POST", "PUT", "DELETE"], "not retried");
}

/// `push_blob_while_hashing` of `data` (in chunks of 3) with the digest future `digest`.
async fn while_hashing(
    s: &Server,
    data: &'static [u8],
    digest: std::io::Result<oci_ref::Digest>,
) -> Result<(oci_ref::Digest, PushOutcome), Error> {
    s.repo("app")
        .push_blob_while_hashing(
            data.len() as u64,
            || chunks_of(data),
            std::future::ready(digest),
        )
        .await
}

#[tokio::test]
async fn upload_while_hashing_is_one_patch_then_a_put_with_the_digest() {
    const DATA: &[u8] = b"hashed while it uploads";
    let s = Server::start(|req| match req.method.as_str() {
        "HEAD" => Reply::new(404),
        "POST" => Reply::new(202).header("Location", "/v2/app/blobs/uploads/u?state=1"),
        "PATCH" => Reply::new(202)
            .header("Location", "/v2/app/blobs/uploads/u?state=2")
            .header("Range", "0-22"),
        _ => Reply::new(201),
    })
    .await;
    let (digest, outcome) = while_hashing(&s, DATA, Ok(sha256(DATA)))
        .await
        .expect("upload");
    assert_eq!((digest, outcome), (sha256(DATA), PushOutcome::Uploaded));
    let requests = s.requests();
    let mut methods: Vec<&str> = requests.iter().map(|r| r.method.as_str()).collect();
    // The digest was ready first: a HEAD while the body goes out (either may arrive first),
    // then the close.
    methods[1..3].sort_unstable();
    assert_eq!(methods, ["POST", "HEAD", "PATCH", "PUT"]);
    let patch = requests
        .iter()
        .find(|r| r.method == "PATCH")
        .expect("PATCH");
    assert_eq!(patch.body, DATA);
    assert_eq!(patch.header("content-range"), Some("0-22"));
    assert_eq!(patch.header("content-length"), Some("23"));
    let put = &requests[3];
    assert!(put.body.is_empty());
    assert!(
        put.target
            .starts_with("/v2/app/blobs/uploads/u?state=2&digest=sha256%3A"),
        "{}",
        put.target
    );
}

#[tokio::test]
async fn upload_while_hashing_stops_when_the_registry_has_the_blob() {
    const DATA: &[u8] = b"already there";
    let s = Server::start(|req| match req.method.as_str() {
        "HEAD" => Reply::new(200).header("Content-Length", "13"),
        "POST" => Reply::new(202).header("Location", "/v2/app/blobs/uploads/u"),
        "PATCH" => Reply::new(202).header("Location", "/v2/app/blobs/uploads/u"),
        _ => Reply::new(204),
    })
    .await;
    // A body that never ends (a large file still being read): the HEAD answers first.
    let endless = || async {
        use futures_util::StreamExt as _;
        let first = futures_util::stream::iter([Ok(bytes::Bytes::from_static(&DATA[..4]))]);
        Ok::<_, std::io::Error>(first.chain(futures_util::stream::pending()))
    };
    let (_, outcome) = s
        .repo("app")
        .push_blob_while_hashing(
            DATA.len() as u64,
            endless,
            std::future::ready(Ok(sha256(DATA))),
        )
        .await
        .expect("nothing to upload");
    assert_eq!(outcome, PushOutcome::AlreadyExists);
    let methods: Vec<String> = s.requests().into_iter().map(|r| r.method).collect();
    assert!(!methods.iter().any(|m| m == "PUT"), "{methods:?}");
    assert_eq!(
        methods.last().map(String::as_str),
        Some("DELETE"),
        "session cancelled"
    );
}

#[tokio::test]
async fn upload_while_hashing_starts_again_with_the_digest_known_after_a_503() {
    const DATA: &[u8] = b"retry me";
    let s = Server::start(|req| match req.method.as_str() {
        "HEAD" => Reply::new(404),
        "POST" => Reply::new(202).header("Location", "/v2/app/blobs/uploads/u"),
        "PATCH" => Reply::new(503),
        "PUT" => Reply::new(201),
        _ => Reply::new(204),
    })
    .await;
    let (digest, outcome) = while_hashing(&s, DATA, Ok(sha256(DATA)))
        .await
        .expect("the second way succeeds");
    assert_eq!((digest, outcome), (sha256(DATA), PushOutcome::Uploaded));
    let requests = s.requests();
    let mut methods: Vec<&str> = requests.iter().map(|r| r.method.as_str()).collect();
    methods[1..3].sort_unstable();
    assert_eq!(
        methods,
        ["POST", "HEAD", "PATCH", "DELETE", "HEAD", "POST", "PUT"]
    );
    assert_eq!(requests[6].body, DATA, "the retry carries every byte");
}

#[tokio::test]
async fn upload_while_hashing_goes_on_when_the_head_fails() {
    const DATA: &[u8] = b"no HEAD for you";
    let s = Server::start(|req| match req.method.as_str() {
        "HEAD" => Reply::new(403),
        "POST" => Reply::new(202).header("Location", "/v2/app/blobs/uploads/u"),
        "PATCH" => Reply::new(202).header("Location", "/v2/app/blobs/uploads/u?state=2"),
        "PUT" => Reply::new(201),
        _ => Reply::new(204),
    })
    .await;
    let (_, outcome) = while_hashing(&s, DATA, Ok(sha256(DATA)))
        .await
        .expect("the HEAD only decides a skip");
    assert_eq!(outcome, PushOutcome::Uploaded);
    let methods: Vec<String> = s.requests().into_iter().map(|r| r.method).collect();
    assert!(!methods.iter().any(|m| m == "DELETE"), "{methods:?}");
    assert_eq!(methods.iter().filter(|m| *m == "PATCH").count(), 1);
}

#[tokio::test]
async fn upload_while_hashing_falls_back_to_one_put_when_the_patch_is_refused() {
    const DATA: &[u8] = b"no PATCH here";
    let s = Server::start(|req| match req.method.as_str() {
        "HEAD" => Reply::new(404),
        "POST" => Reply::new(202).header("Location", "/v2/app/blobs/uploads/u"),
        "PATCH" => Reply::new(405),
        "PUT" => Reply::new(201),
        _ => Reply::new(204),
    })
    .await;
    let (_, outcome) = while_hashing(&s, DATA, Ok(sha256(DATA)))
        .await
        .expect("the monolithic way works");
    assert_eq!(outcome, PushOutcome::Uploaded);
    let requests = s.requests();
    let put = requests.iter().find(|r| r.method == "PUT").expect("PUT");
    assert_eq!(put.body, DATA, "the fallback carries every byte");
    let deletes = requests.iter().filter(|r| r.method == "DELETE").count();
    assert_eq!(deletes, 1, "the refused session is cancelled once");
}

#[tokio::test]
async fn upload_while_hashing_does_not_upload_twice_for_a_wrong_digest() {
    const DATA: &[u8] = b"wrong digest";
    let s = Server::start(|req| match req.method.as_str() {
        "HEAD" => Reply::new(404),
        "POST" => Reply::new(202).header("Location", "/v2/app/blobs/uploads/u"),
        "PATCH" => Reply::new(202).header("Location", "/v2/app/blobs/uploads/u?state=2"),
        "PUT" => Reply::new(400).body(r#"{"errors":[{"code":"DIGEST_INVALID"}]}"#),
        _ => Reply::new(204),
    })
    .await;
    let e = while_hashing(&s, DATA, Ok(sha256(b"other bytes")))
        .await
        .expect_err("the registry refused the digest");
    assert!(e.is_digest_mismatch(), "{e:?}");
    let methods: Vec<String> = s.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(
        methods.iter().filter(|m| *m == "PATCH").count(),
        1,
        "{methods:?}"
    );
    assert_eq!(
        methods.iter().filter(|m| *m == "PUT").count(),
        1,
        "{methods:?}"
    );
}

#[tokio::test]
async fn upload_while_hashing_fails_when_the_hash_fails_and_cancels_the_session() {
    const DATA: &[u8] = b"unreadable";
    let s = Server::start(|req| match req.method.as_str() {
        "POST" => Reply::new(202).header("Location", "/v2/app/blobs/uploads/u"),
        "PATCH" => Reply::new(202).header("Location", "/v2/app/blobs/uploads/u"),
        _ => Reply::new(204),
    })
    .await;
    let e = while_hashing(&s, DATA, Err(std::io::Error::other("disk on fire")))
        .await
        .expect_err("no digest, no blob");
    assert!(!e.is_retryable(), "{e:?}");
    let methods: Vec<String> = s.requests().into_iter().map(|r| r.method).collect();
    assert!(!methods.iter().any(|m| m == "PUT"), "{methods:?}");
    assert_eq!(methods.last().map(String::as_str), Some("DELETE"));
}

/// A push dropped while its body is on the wire (a cancelled task, Ctrl-C) cancels its session
/// with a `DELETE` spawned on the runtime; `abandoned_uploads_cancelled` waits for it.
#[tokio::test]
async fn dropped_push_cancels_its_session_in_the_background() {
    use futures_util::StreamExt as _;
    let s = Server::start(|req| match req.method.as_str() {
        "HEAD" => Reply::new(404),
        "POST" => Reply::new(202).header("Location", "/v2/app/blobs/uploads/dropped"),
        _ => Reply::new(204),
    })
    .await;
    let repo = s.repo("app");
    let digest = sha256(b"never finished");
    let push = repo.push_blob_streamed(&digest, 1000, || async {
        // Three bytes, then nothing more: the body stays on the wire until the drop.
        Ok(
            futures_util::stream::iter([Ok(bytes::Bytes::from_static(b"abc"))])
                .chain(futures_util::stream::pending()),
        )
    });
    let stopped = tokio::time::timeout(std::time::Duration::from_millis(300), push).await;
    assert!(stopped.is_err(), "the push was still sending when dropped");
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        oci_client::abandoned_uploads_cancelled(),
    )
    .await
    .expect("the cancellation finished");
    let deletes: Vec<String> = s
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.path().to_owned())
        .collect();
    assert_eq!(deletes, ["/v2/app/blobs/uploads/dropped"]);
}
