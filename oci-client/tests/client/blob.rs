//! Blob fetches: verification in transit, ranges.

use futures_util::StreamExt;
use oci_client::{BlobStream, Error};

use crate::server::{Reply, Server, ServerExt as _, sha256};

async fn drain(mut s: BlobStream) -> (Vec<u8>, Option<Error>) {
    let mut data = Vec::new();
    while let Some(item) = s.next().await {
        match item {
            Ok(b) => data.extend_from_slice(&b),
            Err(e) => return (data, Some(e)),
        }
    }
    (data, None)
}

#[tokio::test]
async fn good_blob_streams_and_verifies() {
    let s = Server::start(|_| Reply::new(200).body(b"hello".to_vec()));
    let stream = s
        .repo("app")
        .fetch_blob(&sha256(b"hello"), Some(5))
        .await
        .expect("fetch");
    assert_eq!(stream.content_length(), Some(5));
    let (data, err) = drain(stream).await;
    assert_eq!(data, b"hello");
    assert!(err.is_none());
}

#[tokio::test]
async fn wrong_bytes_end_the_stream_with_a_digest_error() {
    let s = Server::start(|_| Reply::new(200).body(b"evil!".to_vec()));
    let stream = s
        .repo("app")
        .fetch_blob(&sha256(b"hello"), None)
        .await
        .expect("headers are fine");
    let (_, err) = drain(stream).await;
    assert!(err.expect("verification error").is_digest_mismatch());
}

#[tokio::test]
async fn wrong_size_is_refused_before_streaming() {
    let s = Server::start(|_| Reply::new(200).body(b"hello".to_vec()));
    let e = s
        .repo("app")
        .fetch_blob(&sha256(b"hello"), Some(4))
        .await
        .expect_err("size");
    assert!(matches!(
        e,
        Error::SizeMismatch {
            expected: 4,
            actual: 5,
            ..
        }
    ));
}

#[tokio::test]
async fn endless_blob_is_cut_at_expected_size() {
    let s = Server::start(|_| Reply::new(200).endless(1 << 30));
    let stream = s
        .repo("app")
        .fetch_blob(&sha256(b"x"), Some(100_000))
        .await
        .expect("chunked, no length");
    let (data, err) = drain(stream).await;
    assert!(matches!(
        err,
        Some(Error::SizeMismatch {
            expected: 100_000,
            ..
        })
    ));
    assert!(data.len() <= 200_000);
}

#[tokio::test]
async fn fetch_to_writer_verifies() {
    let s = Server::start(|_| Reply::new(200).body(b"hello".to_vec()));
    let mut out = Vec::new();
    let n = s
        .repo("app")
        .fetch_blob_to(&sha256(b"hello"), None, &mut out)
        .await
        .expect("fetch");
    assert_eq!((n, out.as_slice()), (5, &b"hello"[..]));
}

#[tokio::test]
async fn range_honoured_or_ignored() {
    let s = Server::start(|req| match req.header("range") {
        Some("bytes=2-") if req.path().contains("honour") => Reply::new(206)
            .header("Content-Range", "bytes 2-4/5")
            .body(b"llo".to_vec()),
        Some("bytes=2-") if req.path().contains("liar") => Reply::new(206)
            .header("Content-Range", "bytes 0-4/5")
            .body(b"hello".to_vec()),
        _ => Reply::new(200).body(b"hello".to_vec()),
    });
    let d = sha256(b"hello");
    let part = s
        .repo("honour")
        .fetch_blob_range(&d, 2)
        .await
        .expect("range");
    assert!(part.is_partial());
    assert_eq!(drain(part).await.0, b"llo");
    let whole = s
        .repo("ignore")
        .fetch_blob_range(&d, 2)
        .await
        .expect("range ignored");
    assert!(!whole.is_partial());
    assert_eq!(drain(whole).await.0, b"hello");
    let e = s
        .repo("liar")
        .fetch_blob_range(&d, 2)
        .await
        .expect_err("wrong Content-Range");
    assert!(matches!(
        e,
        Error::Protocol {
            what: oci_client::Protocol::InvalidContentRange,
            ..
        }
    ));
}

#[tokio::test]
async fn head_blob_absent_and_present() {
    let s = Server::start(|req| {
        if req.path().contains("there") {
            Reply::new(200).header("Content-Length", "5")
        } else {
            Reply::new(404)
        }
    });
    let d = sha256(b"hello");
    assert_eq!(
        s.repo("there")
            .head_blob(&d)
            .await
            .expect("head")
            .map(|i| i.size),
        Some(Some(5))
    );
    assert!(s.repo("gone").head_blob(&d).await.expect("head").is_none());
}

/// The blob whose first bytes [`prefix_from`] reads: gzip magic, then text.
const PREFIXED: &[u8] = b"\x1f\x8b\x08\x00 and the rest of a long blob";

/// Reads the first `len` bytes of [`PREFIXED`] from a server answering every blob request
/// with `reply(range header)`; returns the result and the `Range` headers the server got.
async fn prefix_from(
    len: usize,
    reply: impl Fn(Option<&str>) -> Reply + Send + Sync + 'static,
) -> (Result<bytes::Bytes, Error>, Vec<Option<String>>) {
    let s = Server::start(move |req| reply(req.header("range")));
    let got = s
        .repo("app")
        .fetch_blob_prefix(&sha256(PREFIXED), len)
        .await;
    let ranges = s
        .requests()
        .iter()
        .map(|r| r.header("range").map(str::to_owned))
        .collect();
    (got, ranges)
}

/// A `206` for `bytes=<first>-<last>` of [`PREFIXED`], as an honest registry sends it.
fn partial(first: usize, last: usize) -> Reply {
    Reply::new(206)
        .header(
            "Content-Range",
            &format!("bytes {first}-{last}/{}", PREFIXED.len()),
        )
        .body(PREFIXED[first..=last].to_vec())
}

#[tokio::test]
async fn prefix_is_one_bounded_range_request() {
    let (got, ranges) = prefix_from(4, |range| match range {
        Some("bytes=0-3") => partial(0, 3),
        _ => Reply::new(400),
    })
    .await;
    assert_eq!(got.expect("prefix").as_ref(), &PREFIXED[..4]);
    assert_eq!(ranges, vec![Some("bytes=0-3".to_owned())]);
}

#[tokio::test]
async fn prefix_of_nothing_sends_no_request() {
    let (got, ranges) = prefix_from(0, |_| Reply::new(500)).await;
    assert!(got.expect("empty prefix").is_empty());
    assert!(ranges.is_empty(), "{ranges:?}");
}

#[tokio::test]
async fn prefix_keeps_only_what_was_asked_when_more_is_sent() {
    // A 200 with the whole blob (the range ignored), and a 206 whose range runs past the one
    // asked for: either way only the first two bytes are kept.
    for reply in [Reply::new(200).body(PREFIXED.to_vec()), partial(0, 9)] {
        let (got, _) = prefix_from(2, move |_| reply.clone()).await;
        assert_eq!(got.expect("prefix").as_ref(), &PREFIXED[..2]);
    }
}

#[tokio::test]
async fn prefix_from_a_registry_ignoring_the_range_stops_reading_early() {
    const TOTAL: u64 = 1 << 30;
    let s = Server::start(|_| Reply::new(200).endless(TOTAL));
    let got = s
        .repo("app")
        .fetch_blob_prefix(&sha256(b"x"), 4)
        .await
        .expect("the first bytes of a 200");
    assert_eq!(got.as_ref(), b"xxxx");
    // What the server wrote before the connection was dropped: the socket buffers' worth at
    // most, not the gigabyte it would have sent.
    let written = s.written();
    assert!(written < TOTAL / 16, "{written} bytes sent");
}

#[tokio::test]
async fn prefix_failures_are_typed() {
    // A Content-Range starting elsewhere than byte 0.
    let (got, _) = prefix_from(4, |_| {
        Reply::new(206)
            .header("Content-Range", "bytes 4-7/40")
            .body(PREFIXED[4..8].to_vec())
    })
    .await;
    let e = got.expect_err("wrong start");
    assert!(
        matches!(
            e,
            Error::Protocol {
                what: oci_client::Protocol::InvalidContentRange,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("/v2/app/blobs/sha256:"), "{e}");
    // A 206 without Content-Range.
    let (got, _) = prefix_from(4, |_| Reply::new(206).body(PREFIXED[..4].to_vec())).await;
    assert!(
        matches!(
            got,
            Err(Error::Protocol {
                what: oci_client::Protocol::InvalidContentRange,
                ..
            })
        ),
        "{got:?}"
    );
    // 416: the registry holds none of the range.
    let (got, ranges) = prefix_from(4, |_| Reply::new(416)).await;
    assert_eq!(got.expect_err("416").status(), Some(416));
    assert_eq!(ranges.len(), 1, "416 is not retried");
    // A body shorter than asked, from a 206 or a 200.
    for reply in [partial(0, 1), Reply::new(200).body(PREFIXED[..3].to_vec())] {
        let (got, _) = prefix_from(4, move |_| reply.clone()).await;
        assert!(
            matches!(
                got,
                Err(Error::SizeMismatch {
                    expected: 4,
                    actual: 2 | 3,
                    ..
                })
            ),
            "{got:?}"
        );
    }
}
