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
