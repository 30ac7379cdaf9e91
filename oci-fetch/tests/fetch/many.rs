//! Several downloads under a concurrency limit.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use oci_fetch::download::DownloadOptions;
use oci_fetch::many::{DEFAULT_CONCURRENCY, DownloadJob, download_many};
use oci_fetch::source::{BlobBody, BlobSource, BoxFuture, MemorySource, SourceError};
use oci_ref::Digest;

use crate::common::{descriptor, payload, sha256};

/// Counts how many bodies are open at once.
struct Counting {
    inner: MemorySource,
    open: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl BlobSource for Counting {
    fn open<'a>(
        &'a self,
        digest: &'a Digest,
        offset: u64,
    ) -> BoxFuture<'a, Result<BlobBody, SourceError>> {
        Box::pin(async move {
            let now = self.open.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            let body = self.inner.open(digest, offset).await;
            self.open.fetch_sub(1, Ordering::SeqCst);
            body
        })
    }
}

#[tokio::test]
async fn results_in_job_order_and_limit_respected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut inner = MemorySource::new();
    let mut jobs = Vec::new();
    for i in 0..8 {
        let data = payload(1000 + i);
        inner.insert(sha256(&data), Bytes::from(data.clone()));
        jobs.push(DownloadJob {
            descriptor: descriptor("x", &data),
            dest: dir.path().join(format!("f{i}")),
        });
    }
    let src = Counting {
        inner,
        open: Arc::default(),
        peak: Arc::default(),
    };
    let results = download_many(
        &src,
        &jobs,
        &DownloadOptions::default(),
        DEFAULT_CONCURRENCY,
    )
    .await;
    assert_eq!(results.len(), 8);
    for (i, r) in results.iter().enumerate() {
        let d = r.as_ref().expect("download");
        assert_eq!(d.path, dir.path().join(format!("f{i}")));
        assert_eq!(std::fs::read(&d.path).expect("file"), payload(1000 + i));
    }
    let peak = src.peak.load(Ordering::SeqCst);
    assert!(
        (2..=DEFAULT_CONCURRENCY).contains(&peak),
        "peak concurrency {peak}"
    );
}
