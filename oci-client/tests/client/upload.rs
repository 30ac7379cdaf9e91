//! Uploads against a scripted upload session: chunk minimum, short acceptance, 416, mount.

use std::sync::{Arc, Mutex};

use oci_client::{Error, PushOutcome};

use crate::server::{Reply, Request, Server, ServerExt as _, sha256};

/// Snapshots the request script `server` received as `name`: one line a request, with the
/// method, target, the headers uploads turn on and the body length.
fn check_script(name: &str, server: &Server) {
    check_racing_script(name, server, 0..0);
}

/// As [`check_script`], for a script whose requests in `racing` are sent concurrently (the
/// `HEAD` that runs while a `PATCH` goes out) and may arrive in either order: they are sorted.
fn check_racing_script(name: &str, server: &Server, racing: std::ops::Range<usize>) {
    let mut lines: Vec<String> = server
        .requests()
        .iter()
        .map(|r| {
            let mut line = format!("{} {}", r.method, r.target);
            for h in ["content-type", "content-range", "content-length"] {
                if let Some(v) = r.header(h) {
                    line.push_str(&format!(" | {h}: {v}"));
                }
            }
            line.push_str(&format!(" | {} body bytes", r.body.len()));
            line
        })
        .collect();
    lines[racing].sort_unstable();
    insta::assert_snapshot!(name, lines.join("\n"));
}

#[derive(Default)]
struct Session {
    have: Vec<u8>,
    patches: usize,
}

/// A registry whose first PATCH stores everything but answers 416, and whose second PATCH
/// keeps only half of what it gets.
fn hostile_session(state: &Arc<Mutex<Session>>, req: &Request) -> Reply {
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
    let s = Server::start(move |req| hostile_session(&st, req));
    let data = b"0123456789abcdef".to_vec();
    // chunk_size 2 is raised to the registry's minimum of 4.
    let outcome = s
        .repo("app")
        .push_blob_chunked(&sha256(&data), data.len() as u64, data.as_slice(), 2)
        .await
        .expect("upload completes");
    assert_eq!(outcome, PushOutcome::Uploaded);
    assert_eq!(state.lock().expect("state").have, data);
    // Chunks of at most 4 bytes, the first `0-3`, resent from where the registry stands.
    check_script("chunked_416_and_short_ranges", &s);
}

#[tokio::test]
async fn chunked_upload_checks_the_digest_before_closing() {
    let state = Arc::new(Mutex::new(Session {
        patches: 10,
        ..Session::default()
    }));
    let st = state.clone();
    let s = Server::start(move |req| hostile_session(&st, req));
    let e = s
        .repo("app")
        .push_blob_chunked(&sha256(b"other"), 4, &b"data"[..], 4)
        .await
        .expect_err("wrong digest");
    assert!(e.is_digest_mismatch());
    // No closing PUT; the session is cancelled.
    check_script("chunked_wrong_digest", &s);
}

#[tokio::test]
async fn existing_blob_is_skipped() {
    let s = Server::start(|req| {
        if req.method == "HEAD" {
            Reply::new(200)
        } else {
            Reply::new(500)
        }
    });
    let outcome = s
        .repo("app")
        .push_blob(&sha256(b"x"), "x".into())
        .await
        .expect("skip");
    assert_eq!(outcome, PushOutcome::AlreadyExists);
    check_script("existing_blob_skipped", &s);
}

#[tokio::test]
async fn monolithic_upload_posts_then_puts() {
    let s = Server::start(|req| match req.method.as_str() {
        "HEAD" => Reply::new(404),
        "POST" => Reply::new(202)
            .header("Location", "http://127.0.0.1:1/elsewhere-not-used?x=1")
            .header("Location-Ignored", "1"),
        _ => Reply::new(201),
    });
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
    });
    let outcome = s
        .repo("app")
        .push_blob(&sha256(b"x"), "x".into())
        .await
        .expect("upload");
    assert_eq!(outcome, PushOutcome::Uploaded);
    // The PUT keeps the session's query, adds the digest and carries the bytes.
    check_script("monolithic", &s);
}

#[tokio::test]
async fn mount_201_and_202_fallback() {
    let s = Server::start(|req| match req.method.as_str() {
        "HEAD" => Reply::new(404),
        "POST" if req.path().starts_with("/v2/yes/") => Reply::new(201),
        "POST" => Reply::new(202).header("Location", "/v2/no/blobs/uploads/s"),
        _ => Reply::new(201),
    });
    let d = sha256(b"x");
    assert_eq!(
        s.repo("yes")
            .mount_or_push_blob(&d, "src", "x".into())
            .await
            .expect("mount"),
        PushOutcome::Mounted
    );
    assert_eq!(
        s.repo("no")
            .mount_or_push_blob(&d, "src", "x".into())
            .await
            .expect("fallback"),
        PushOutcome::Uploaded
    );
    assert!(!s.repo("no").mount_blob(&d, "src").await.expect("declined"));
    // `?mount=…&from=src`; a declined mount's session is cancelled.
    check_script("mount_201_and_202", &s);
}

#[tokio::test]
async fn absurd_chunk_min_length_is_refused_without_allocating() {
    let s = Server::start(|req| match req.method.as_str() {
        "HEAD" => Reply::new(404),
        "POST" => Reply::new(202)
            .header("Location", "/v2/app/blobs/uploads/u")
            .header("OCI-Chunk-Min-Length", "99999999999999"),
        _ => Reply::new(202),
    });
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
    check_script("absurd_chunk_min_length", &s);
}

#[tokio::test]
async fn upload_start_is_retried_after_503_regression_fault_matrix() {
    let posts = std::sync::atomic::AtomicUsize::new(0);
    let s = Server::start(move |req| match req.method.as_str() {
        "HEAD" => Reply::new(404),
        "POST" if posts.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 2 => Reply::new(503),
        "POST" => Reply::new(202).header("Location", "/v2/app/blobs/uploads/u"),
        _ => Reply::new(201),
    });
    let outcome = s
        .repo("app")
        .push_blob(&sha256(b"x"), "x".into())
        .await
        .expect("the third POST opens a session");
    assert_eq!(outcome, PushOutcome::Uploaded);
    check_script("post_retried_after_503", &s);
}

#[tokio::test]
async fn data_carrying_put_is_not_retried_after_503() {
    let s = Server::start(|req| match req.method.as_str() {
        "HEAD" => Reply::new(404),
        "POST" => Reply::new(202).header("Location", "/v2/app/blobs/uploads/u"),
        _ => Reply::new(503),
    });
    let e = s
        .repo("app")
        .push_blob(&sha256(b"x"), "x".into())
        .await
        .expect_err("the closing PUT failed");
    assert_eq!(e.status(), Some(503), "{e}");
    // A PUT carrying data is sent once.
    check_script("put_not_retried_after_503", &s);
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
    });
    let outcome = s
        .repo("app")
        .push_blob_streamed(&sha256(DATA), DATA.len() as u64, || chunks_of(DATA))
        .await
        .expect("upload");
    assert_eq!(outcome, PushOutcome::Uploaded);
    assert_eq!(s.requests()[2].body, DATA);
    check_script("streamed_one_put", &s);
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
    });
    s.repo("app")
        .push_blob_streamed(&sha256(DATA), DATA.len() as u64, || chunks_of(DATA))
        .await
        .expect("the second session succeeds");
    check_script("streamed_again_after_503", &s);

    let s = Server::start(|req| match req.method.as_str() {
        "HEAD" => Reply::new(404),
        "POST" => Reply::new(202).header("Location", "/v2/app/blobs/uploads/u"),
        "PUT" => Reply::new(400).body(r#"{"errors":[{"code":"DIGEST_INVALID"}]}"#),
        _ => Reply::new(204),
    });
    let e = s
        .repo("app")
        .push_blob_streamed(&sha256(DATA), DATA.len() as u64, || chunks_of(DATA))
        .await
        .expect_err("the registry refused the digest");
    assert!(e.is_digest_mismatch(), "{e:?}");
    // Not retried.
    check_script("streamed_stops_on_400", &s);
}

#[tokio::test]
async fn a_declined_mount_takes_the_streamed_body_in_its_session() {
    const DATA: &[u8] = b"mounted or streamed";
    let s = Server::start(|req| match req.method.as_str() {
        "HEAD" => Reply::new(404),
        "POST" if req.path().starts_with("/v2/yes/") => Reply::new(201),
        "POST" => Reply::new(202).header("Location", "/v2/no/blobs/uploads/m?state=1"),
        _ => Reply::new(201),
    });
    let opens = std::sync::atomic::AtomicUsize::new(0);
    let counted = || {
        opens.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        chunks_of(DATA)
    };
    let d = sha256(DATA);
    let size = DATA.len() as u64;
    let mounted = s
        .repo("yes")
        .mount_or_push_blob_streamed(&d, "src", size, counted)
        .await
        .expect("mount");
    assert_eq!(mounted, PushOutcome::Mounted);
    assert_eq!(
        opens.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "a mounted blob is not read"
    );
    let uploaded = s
        .repo("no")
        .mount_or_push_blob_streamed(&d, "src", size, counted)
        .await
        .expect("declined, then uploaded");
    assert_eq!(uploaded, PushOutcome::Uploaded);
    let failing =
        || async { Err::<futures_util::stream::Empty<_>, _>(std::io::Error::other("gone")) };
    let e = s
        .repo("no")
        .mount_or_push_blob_streamed(&d, "src", size, failing)
        .await
        .expect_err("the body cannot be opened");
    assert!(matches!(e, Error::Source(_)), "{e:?}");
    // Declined: one HEAD, the mount's POST, the streamed PUT into the session it opened (no
    // second HEAD or POST). A body that cannot be opened cancels the mount's session.
    check_script("declined_mount_streamed", &s);
}

#[tokio::test]
async fn a_declined_mounts_session_failing_is_followed_by_a_fresh_one() {
    const DATA: &[u8] = b"second session";
    let puts = std::sync::atomic::AtomicUsize::new(0);
    let s = Server::start(move |req| match req.method.as_str() {
        "HEAD" => Reply::new(404),
        "POST" if req.target.contains("mount=") => {
            Reply::new(202).header("Location", "/v2/app/blobs/uploads/mounting")
        }
        "POST" => Reply::new(202).header("Location", "/v2/app/blobs/uploads/plain"),
        "PUT" if puts.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 => Reply::new(503),
        "PUT" => Reply::new(201),
        _ => Reply::new(204),
    });
    let outcome = s
        .repo("app")
        .mount_or_push_blob_streamed(&sha256(DATA), "src", DATA.len() as u64, || chunks_of(DATA))
        .await
        .expect("the second session succeeds");
    assert_eq!(outcome, PushOutcome::Uploaded);
    // The mount's session is cancelled after its PUT failed; the retry opens a plain one.
    check_script("declined_mount_then_fresh_session", &s);
}

/// A registry whose declined mount opens a session that then refuses the streamed `PUT` with
/// `refusal`; a plain session's `PUT` gets `plain`. Returns the server and what
/// `mount_or_push_blob_streamed` gave.
async fn refused_in_the_mounts_session(
    refusal: fn() -> Reply,
    plain: fn() -> Reply,
) -> (Server, Result<PushOutcome, Error>) {
    const DATA: &[u8] = b"refused where the mount left it";
    let s = Server::start(move |req| match req.method.as_str() {
        "HEAD" => Reply::new(404),
        "POST" if req.target.contains("mount=") => {
            Reply::new(202).header("Location", "/v2/app/blobs/uploads/mounting")
        }
        "POST" => Reply::new(202).header("Location", "/v2/app/blobs/uploads/plain"),
        "PUT" if req.path().ends_with("/mounting") => refusal(),
        "PUT" => plain(),
        _ => Reply::new(204),
    });
    let result = s
        .repo("app")
        .mount_or_push_blob_streamed(&sha256(DATA), "src", DATA.len() as u64, || chunks_of(DATA))
        .await;
    (s, result)
}

#[tokio::test]
async fn a_declined_mounts_session_refusing_the_put_is_followed_by_one_fresh_session() {
    let unknown = || Reply::new(404).body(r#"{"errors":[{"code":"BLOB_UPLOAD_UNKNOWN"}]}"#);
    let (s, result) = refused_in_the_mounts_session(unknown, || Reply::new(201)).await;
    assert_eq!(
        result.expect("the fresh session takes it"),
        PushOutcome::Uploaded
    );
    // The refused session is cancelled; the upload goes where it would have gone without the
    // mount request, at once (a refusal is no failure to back off from).
    check_script("declined_mount_refused_then_fresh_session", &s);

    // A 405 and a 404 without a code are such refusals as well.
    for refusal in [(|| Reply::new(405)) as fn() -> Reply, || Reply::new(404)] {
        let (s, result) = refused_in_the_mounts_session(refusal, || Reply::new(201)).await;
        assert_eq!(result.expect("fresh session"), PushOutcome::Uploaded);
        assert_eq!(puts(&s), 2, "sent once more, in the fresh session");
    }

    // Refused in the fresh session too: that refusal is the answer, after one fresh attempt.
    let invalid = || Reply::new(400).body(r#"{"errors":[{"code":"BLOB_UPLOAD_INVALID"}]}"#);
    let (s, result) = refused_in_the_mounts_session(invalid, invalid).await;
    let e = result.expect_err("refused everywhere");
    assert_eq!(e.status(), Some(400), "{e:?}");
    check_script("declined_mount_refused_twice", &s);

    // A refusal of the blob, the repository or the credentials is met in any session: it is
    // the answer, without a second upload of the bytes.
    let digest_invalid = || Reply::new(400).body(r#"{"errors":[{"code":"DIGEST_INVALID"}]}"#);
    let size_invalid = || Reply::new(400).body(r#"{"errors":[{"code":"SIZE_INVALID"}]}"#);
    let name_unknown = || Reply::new(404).body(r#"{"errors":[{"code":"NAME_UNKNOWN"}]}"#);
    let refusals: [(fn() -> Reply, u16); 6] = [
        (digest_invalid, 400),
        (size_invalid, 400),
        (|| Reply::new(400), 400),
        (|| Reply::new(413), 413),
        (name_unknown, 404),
        (|| Reply::new(403), 403),
    ];
    for (refusal, status) in refusals {
        let (s, result) = refused_in_the_mounts_session(refusal, || Reply::new(201)).await;
        let e = result.expect_err("refused");
        assert_eq!(e.status(), Some(status), "{e:?}");
        assert_eq!(puts(&s), 1, "{status} {e:?}: not sent again");
    }
}

/// How many `PUT`s the server received.
fn puts(s: &Server) -> usize {
    s.requests().iter().filter(|r| r.method == "PUT").count()
}

#[tokio::test]
async fn a_stream_failing_mid_body_ends_the_upload_with_its_own_error() {
    const DATA: &[u8] = b"a body that breaks off";
    let s = Server::start(|req| match req.method.as_str() {
        "HEAD" => Reply::new(404),
        "POST" => Reply::new(202).header("Location", "/v2/app/blobs/uploads/u"),
        "PUT" => Reply::new(201),
        _ => Reply::new(204),
    });
    let opens = std::sync::atomic::AtomicUsize::new(0);
    let broken = || {
        opens.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async {
            let first = Ok(bytes::Bytes::from_static(&DATA[..5]));
            let failure = Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "the source hung up",
            ));
            Ok(futures_util::stream::iter([first, failure]))
        }
    };
    let e = s
        .repo("app")
        .push_blob_streamed(&sha256(DATA), DATA.len() as u64, broken)
        .await
        .expect_err("the body broke off");
    let Error::Source(source) = &e else {
        panic!("expected the stream's error, got {e:?}");
    };
    assert_eq!(source.kind(), std::io::ErrorKind::ConnectionReset, "{e:?}");
    assert_eq!(source.to_string(), "the source hung up");
    assert_eq!(
        opens.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "not retried: the caller decides"
    );
    // The broken PUT never reached the registry whole; the session is cancelled.
    check_script("streamed_source_fails_mid_body", &s);
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
    });
    let (digest, outcome) = while_hashing(&s, DATA, Ok(sha256(DATA)))
        .await
        .expect("upload");
    assert_eq!((digest, outcome), (sha256(DATA), PushOutcome::Uploaded));
    let patch = s.requests().into_iter().find(|r| r.method == "PATCH");
    assert_eq!(patch.expect("PATCH").body, DATA);
    // The digest was ready first: a HEAD while the body goes out in one PATCH (either may
    // arrive first), then an empty PUT closing the PATCH's session with the digest.
    check_racing_script("while_hashing_one_patch", &s, 1..3);
}

#[tokio::test]
async fn upload_while_hashing_stops_when_the_registry_has_the_blob() {
    const DATA: &[u8] = b"already there";
    let s = Server::start(|req| match req.method.as_str() {
        "HEAD" => Reply::new(200).header("Content-Length", "13"),
        "POST" => Reply::new(202).header("Location", "/v2/app/blobs/uploads/u"),
        "PATCH" => Reply::new(202).header("Location", "/v2/app/blobs/uploads/u"),
        _ => Reply::new(204),
    });
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
    // No PUT (the unfinished PATCH is never logged); the session is cancelled.
    check_script("while_hashing_blob_exists", &s);
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
    });
    let (digest, outcome) = while_hashing(&s, DATA, Ok(sha256(DATA)))
        .await
        .expect("the second way succeeds");
    assert_eq!((digest, outcome), (sha256(DATA), PushOutcome::Uploaded));
    assert_eq!(s.requests()[6].body, DATA, "the retry carries every byte");
    // The failed session is cancelled; the retry is a streamed upload (HEAD, POST, PUT).
    check_racing_script("while_hashing_again_after_503", &s, 1..3);
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
    });
    let (_, outcome) = while_hashing(&s, DATA, Ok(sha256(DATA)))
        .await
        .expect("the HEAD only decides a skip");
    assert_eq!(outcome, PushOutcome::Uploaded);
    // One PATCH, no DELETE.
    check_racing_script("while_hashing_head_fails", &s, 1..3);
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
    });
    let (_, outcome) = while_hashing(&s, DATA, Ok(sha256(DATA)))
        .await
        .expect("the monolithic way works");
    assert_eq!(outcome, PushOutcome::Uploaded);
    let put = s.requests().into_iter().find(|r| r.method == "PUT");
    assert_eq!(
        put.expect("PUT").body,
        DATA,
        "the fallback carries every byte"
    );
    // The refused session is cancelled once.
    check_racing_script("while_hashing_patch_refused", &s, 1..3);
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
    });
    let e = while_hashing(&s, DATA, Ok(sha256(b"other bytes")))
        .await
        .expect_err("the registry refused the digest");
    assert!(e.is_digest_mismatch(), "{e:?}");
    // One PATCH, one PUT.
    check_racing_script("while_hashing_wrong_digest", &s, 1..3);
}

#[tokio::test]
async fn upload_while_hashing_fails_when_the_hash_fails_and_cancels_the_session() {
    const DATA: &[u8] = b"unreadable";
    let s = Server::start(|req| match req.method.as_str() {
        "POST" => Reply::new(202).header("Location", "/v2/app/blobs/uploads/u"),
        "PATCH" => Reply::new(202).header("Location", "/v2/app/blobs/uploads/u"),
        _ => Reply::new(204),
    });
    let e = while_hashing(&s, DATA, Err(std::io::Error::other("disk on fire")))
        .await
        .expect_err("no digest, no blob");
    assert!(!e.is_retryable(), "{e:?}");
    // No PUT; the session is cancelled.
    check_script("while_hashing_hash_fails", &s);
}
