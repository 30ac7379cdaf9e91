//! The in-memory blob source and the source error classification.

use futures_util::StreamExt;
use oci_fetch::source::{BlobSource, MemorySource, SourceError, SourceErrorKind};

use crate::common::{payload, sha256};

async fn collect(
    src: &dyn BlobSource,
    digest: &oci_ref::Digest,
    offset: u64,
) -> (Vec<u8>, u64, Option<u64>) {
    let body = src.open(digest, offset).await.expect("open");
    let mut out = Vec::new();
    let mut s = body.stream;
    while let Some(c) = s.next().await {
        out.extend_from_slice(&c.expect("chunk"));
    }
    (out, body.offset_applied, body.content_length)
}

#[tokio::test]
async fn memory_source_honours_ranges() {
    let data = payload(1000);
    let digest = sha256(&data);
    let mut src = MemorySource::new().with_chunk_size(7);
    src.insert(digest.clone(), data.clone());
    for offset in [0u64, 1, 500, 999, 1000] {
        let (bytes, applied, len) = collect(&src, &digest, offset).await;
        assert_eq!(applied, offset);
        assert_eq!(len, Some(1000 - offset));
        assert_eq!(bytes, &data[offset as usize..]);
    }
}

#[tokio::test]
async fn memory_source_missing_blob_is_not_found() {
    let src = MemorySource::new();
    let err = src.open(&sha256(b"x"), 0).await.expect_err("missing");
    assert!(err.is_not_found());
    assert!(!err.is_retryable());
}

#[test]
fn only_transient_errors_are_retryable() {
    let check = |kind, retryable| {
        assert_eq!(
            SourceError::from_kind(kind).is_retryable(),
            retryable,
            "{kind:?}"
        );
    };
    check(SourceErrorKind::Transient, true);
    check(SourceErrorKind::Permanent, false);
    check(SourceErrorKind::NotFound, false);
    check(SourceErrorKind::Unauthorized, false);
    check(SourceErrorKind::Io, false);
    let e = SourceError::new(
        SourceErrorKind::Transient,
        std::io::Error::other("connection reset"),
    );
    assert_eq!(e.to_string(), "transient failure: connection reset");
}
