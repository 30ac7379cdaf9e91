//! The verified download engine against honest and hostile sources.

use std::sync::{Arc, Mutex};

use oci_fetch::download::{DownloadError, DownloadOptions, PARTIAL_SUFFIX, download, partial_path};
use oci_fetch::progress::{ProgressEvent, ProgressSink};
use oci_fetch::registry::MAX_BAD_BODIES_PER_SOURCE;
use oci_fetch::source::{BlobBody, BlobSource, BoxFuture, SourceError};
use oci_fetch::verify::VerifyError;
use oci_ref::Digest;

use crate::common::{Hostile, Open, assert_empty, descriptor, entries, fast_opts, payload, sha256};

const LEN: usize = 20_011;

/// Downloads from `src` into a fresh directory and checks the outcome: on success the file holds
/// exactly `expected`; on failure the directory is empty.
async fn check(
    src: &Hostile,
    opts: &DownloadOptions,
    expected: &[u8],
) -> Result<oci_fetch::download::Downloaded, DownloadError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let dest = dir.path().join("out.bin");
    let desc = oci_fetch::descriptor::Descriptor::new(
        "application/octet-stream",
        src.digest.clone(),
        expected.len() as u64,
    );
    let result = download(src, &desc, &dest, opts).await;
    match &result {
        Ok(d) => {
            assert_eq!(std::fs::read(&dest).expect("dest exists"), expected);
            assert_eq!(d.path, dest);
            assert_eq!(
                entries(dir.path()),
                vec!["out.bin".to_owned()],
                "no temporary file left"
            );
        }
        Err(_) => assert_empty(dir.path()),
    }
    result
}

#[tokio::test]
async fn every_chunking_with_and_without_content_length() {
    let data = payload(LEN);
    for chunk in [1, 3, 1000, 4093, LEN] {
        for cl in [true, false] {
            let src = Hostile::new(data.clone()).chunk(chunk).content_length(cl);
            let d = check(&src, &fast_opts(), &data)
                .await
                .expect("honest download");
            assert_eq!(
                (d.attempts, d.size, d.written),
                (1, LEN as u64, LEN as u64),
                "chunk {chunk} cl {cl}"
            );
        }
    }
}

#[tokio::test]
async fn empty_blob() {
    let src = Hostile::new(Vec::new());
    let d = check(&src, &fast_opts(), b"").await.expect("empty blob");
    assert_eq!(d.size, 0);
}

#[tokio::test]
async fn truncation_at_10_50_90_percent_resumes_from_there() {
    let data = payload(LEN);
    for pct in [10u64, 50, 90] {
        let cut = LEN as u64 * pct / 100;
        for fault in [Open::EndAt(cut), Open::FailAt(cut)] {
            for cl in [true, false] {
                let src = Hostile::new(data.clone())
                    .chunk(997)
                    .content_length(cl)
                    .script(&[fault]);
                let d = check(&src, &fast_opts(), &data).await.expect("resumed");
                assert_eq!(d.attempts, 2, "{fault:?}");
                assert_eq!(
                    src.offsets(),
                    vec![0, cut],
                    "second request starts at the cut ({fault:?})"
                );
            }
        }
    }
}

#[tokio::test]
async fn repeated_truncation_gives_up_after_max_attempts() {
    let data = payload(LEN);
    let src =
        Hostile::new(data.clone()).script(&[Open::EndAt(100), Open::EndAt(200), Open::EndAt(300)]);
    let mut opts = fast_opts();
    opts.max_attempts = 3;
    let err = check(&src, &opts, &data).await.expect_err("gives up");
    assert!(
        matches!(
            err,
            DownloadError::Truncated {
                received: 300,
                attempts: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(src.opens(), 3);
}

/// A source serving `data` with one byte flipped, under `data`'s digest.
fn flipped(data: &[u8]) -> Hostile {
    let mut bad = data.to_vec();
    bad[data.len() / 2] ^= 0x40;
    Hostile::lying(bad, sha256(data))
}

/// `err` is a digest mismatch, and counts as a verification failure.
fn assert_mismatch(err: &DownloadError) {
    assert!(
        matches!(
            err,
            DownloadError::Verify(VerifyError::DigestMismatch { .. })
        ),
        "{err:?}"
    );
    assert!(err.is_verification());
}

#[tokio::test]
async fn flipped_byte_is_rejected_and_nothing_is_left() {
    let data = payload(LEN);
    let src = flipped(&data);
    let err = check(&src, &fast_opts(), &data)
        .await
        .expect_err("mismatch");
    assert_mismatch(&err);
    assert_eq!(src.opens(), 1, "a single-body mismatch is not retried");
}

/// A source that always says another try may give other bytes after bad ones.
struct Insistent(Hostile);

impl BlobSource for Insistent {
    fn open<'a>(
        &'a self,
        digest: &'a Digest,
        offset: u64,
    ) -> BoxFuture<'a, Result<BlobBody, SourceError>> {
        self.0.open(digest, offset)
    }

    fn rejected(&self, _digest: &Digest) -> bool {
        true
    }
}

/// Restarts after bad bytes spend no attempt, so they have their own hard cap: a source with
/// one place that keeps asking for another try gets [`MAX_BAD_BODIES_PER_SOURCE`] of them,
/// however many attempts the options allow, and nothing is left.
#[tokio::test]
async fn bad_bytes_restarts_are_capped_by_the_places_of_the_source() {
    let data = payload(LEN);
    let src = Insistent(flipped(&data));
    let mut opts = fast_opts();
    opts.max_attempts = 50;
    let dir = tempfile::tempdir().expect("tempdir");
    let desc = descriptor("application/octet-stream", &data);
    let err = download(&src, &desc, &dir.path().join("blob"), &opts)
        .await
        .expect_err("never good bytes");
    assert_mismatch(&err);
    assert_eq!(src.0.opens(), 1 + MAX_BAD_BODIES_PER_SOURCE);
    assert_empty(dir.path());
}

#[tokio::test]
async fn trailing_extra_bytes_are_rejected_at_once() {
    let data = payload(LEN);
    let mut long = data.clone();
    long.extend_from_slice(b"extra");
    for cl in [true, false] {
        let src = Hostile::lying(long.clone(), sha256(&data)).content_length(cl);
        let err = check(&src, &fast_opts(), &data)
            .await
            .expect_err("too long");
        if cl {
            assert!(
                matches!(err, DownloadError::ContentLength { announced, .. } if announced == LEN as u64 + 5),
                "{err:?}"
            );
        } else {
            assert!(
                matches!(err, DownloadError::Verify(VerifyError::TooLong { .. })),
                "{err:?}"
            );
        }
        assert!(!err.is_retryable());
    }
}

#[tokio::test]
async fn range_ignored_restarts_cleanly_from_zero() {
    let data = payload(LEN);
    let src = Hostile::new(data.clone())
        .chunk(1000)
        .script(&[Open::EndAt(5000), Open::IgnoreRange]);
    let events = Arc::new(Mutex::new(Vec::new()));
    let mut opts = fast_opts();
    let seen = events.clone();
    opts.progress = Some(ProgressSink::new(move |e| {
        seen.lock().expect("lock").push(e)
    }));
    let d = check(&src, &opts, &data).await.expect("restarted");
    assert_eq!(d.attempts, 2);
    assert_eq!(src.offsets(), vec![0, 5000]);
    let events = events.lock().expect("lock");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ProgressEvent::Restarted { .. }))
    );
    assert!(matches!(
        events.last(),
        Some(ProgressEvent::Finished { .. })
    ));
}

#[tokio::test]
async fn wrong_offset_is_refused_then_restarted_from_zero() {
    let data = payload(LEN);
    let src = Hostile::new(data.clone()).script(&[Open::EndAt(5000), Open::WrongOffset(7)]);
    let d = check(&src, &fast_opts(), &data).await.expect("recovers");
    assert_eq!(
        src.offsets(),
        vec![0, 5000, 0],
        "after a wrong Content-Range, start over"
    );
    assert_eq!(d.attempts, 3);
}

#[tokio::test]
async fn always_wrong_offset_fails_cleanly() {
    let data = payload(LEN);
    let src = Hostile::new(data.clone()).script(&[Open::WrongOffset(3); 5]);
    let mut opts = fast_opts();
    opts.max_attempts = 3;
    let err = check(&src, &opts, &data).await.expect_err("never right");
    assert!(
        matches!(
            err,
            DownloadError::UnexpectedOffset {
                requested: 0,
                applied: 3,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn stall_mid_body_times_out_and_resumes() {
    let data = payload(LEN);
    let src = Hostile::new(data.clone()).script(&[Open::StallAt(8000)]);
    let d = check(&src, &fast_opts(), &data)
        .await
        .expect("resumed after stall");
    assert_eq!(src.offsets(), vec![0, 8000]);
    assert_eq!(d.attempts, 2);
}

#[tokio::test]
async fn stall_everywhere_fails_with_the_configured_timeout() {
    let data = payload(LEN);
    let src = Hostile::new(data.clone()).script(&[
        Open::NeverAnswer,
        Open::StallAt(10),
        Open::NeverAnswer,
    ]);
    let mut opts = fast_opts();
    opts.max_attempts = 3;
    opts.stall_timeout = std::time::Duration::from_millis(50);
    let err = check(&src, &opts, &data).await.expect_err("stalled");
    assert!(
        matches!(err, DownloadError::Stalled { attempts: 3, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn permanent_source_error_is_not_retried() {
    let data = payload(LEN);
    let src = Hostile::new(data.clone()).script(&[Open::Permanent]);
    let err = check(&src, &fast_opts(), &data)
        .await
        .expect_err("permanent");
    assert!(
        matches!(err, DownloadError::Source { attempts: 1, .. }),
        "{err:?}"
    );
    assert_eq!(src.opens(), 1);
}

#[tokio::test]
async fn missing_blob_is_not_found() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = Hostile::new(payload(10));
    let other = payload(11);
    let err = download(
        &src,
        &descriptor("x", &other),
        &dir.path().join("f"),
        &fast_opts(),
    )
    .await
    .expect_err("absent");
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(src.opens(), 1, "not found is not retried");
    assert_empty(dir.path());
}

#[tokio::test]
async fn existing_destination_is_untouched_on_failure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dest = dir.path().join("out.bin");
    std::fs::write(&dest, b"previous").expect("seed");
    let data = payload(100);
    let mut bad = data.clone();
    bad[0] ^= 1;
    let src = Hostile::lying(bad, sha256(&data));
    download(&src, &descriptor("x", &data), &dest, &fast_opts())
        .await
        .expect_err("mismatch");
    assert_eq!(std::fs::read(&dest).expect("still there"), b"previous");
    assert_eq!(entries(dir.path()), vec!["out.bin".to_owned()]);
}

#[tokio::test]
async fn kept_partial_resumes_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dest = dir.path().join("out.bin");
    let data = payload(LEN);
    let desc = descriptor("x", &data);
    let mut opts = fast_opts();
    opts.keep_partial = true;
    opts.max_attempts = 1;

    // First run: the body ends at 60% and there is no retry left; the partial file is kept.
    let src = Hostile::new(data.clone()).script(&[Open::EndAt(12_000)]);
    download(&src, &desc, &dest, &opts)
        .await
        .expect_err("truncated");
    let partial = partial_path(&dest, &desc.digest);
    assert_eq!(std::fs::metadata(&partial).expect("kept").len(), 12_000);
    assert!(!dest.exists());

    // Second run ("after a restart"): re-hash the prefix, ask for the rest only.
    let src = Hostile::new(data.clone());
    let d = download(&src, &desc, &dest, &opts).await.expect("resumed");
    assert_eq!(d.resumed_from, 12_000);
    assert_eq!(src.offsets(), vec![12_000]);
    assert_eq!(std::fs::read(&dest).expect("dest"), data);
    assert_eq!(entries(dir.path()), vec!["out.bin".to_owned()]);
}

#[tokio::test]
async fn corrupt_kept_partial_triggers_one_clean_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dest = dir.path().join("out.bin");
    let data = payload(LEN);
    let desc = descriptor("x", &data);
    let partial = partial_path(&dest, &desc.digest);
    let mut prefix = data[..5000].to_vec();
    prefix[100] ^= 1;
    std::fs::write(&partial, &prefix).expect("seed corrupt partial");
    let mut opts = fast_opts();
    opts.keep_partial = true;
    let src = Hostile::new(data.clone());
    let d = download(&src, &desc, &dest, &opts)
        .await
        .expect("recovered");
    assert_eq!(src.offsets(), vec![5000, 0]);
    assert_eq!(d.attempts, 2);
    assert_eq!(std::fs::read(&dest).expect("dest"), data);
    assert_eq!(entries(dir.path()), vec!["out.bin".to_owned()]);
}

#[tokio::test]
async fn oversized_kept_partial_is_discarded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dest = dir.path().join("out.bin");
    let data = payload(1000);
    let desc = descriptor("x", &data);
    std::fs::write(partial_path(&dest, &desc.digest), payload(5000)).expect("seed");
    let mut opts = fast_opts();
    opts.keep_partial = true;
    let src = Hostile::new(data.clone());
    download(&src, &desc, &dest, &opts)
        .await
        .expect("fresh start");
    assert_eq!(src.offsets(), vec![0]);
    assert_eq!(std::fs::read(&dest).expect("dest"), data);
}

#[tokio::test]
async fn dropping_a_download_removes_the_temporary_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dest = dir.path().join("out.bin");
    let data = payload(LEN);
    let src = Hostile::new(data.clone()).script(&[Open::StallAt(9000)]);
    let mut opts = fast_opts();
    opts.stall_timeout = std::time::Duration::from_secs(60);
    let desc = descriptor("x", &data);
    let fut = download(&src, &desc, &dest, &opts);
    let r = tokio::time::timeout(std::time::Duration::from_millis(200), fut).await;
    assert!(r.is_err(), "the download is still stalled when dropped");
    // The writer thread exits on its own; give it a moment to close its handle.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_empty(dir.path());
}

#[tokio::test]
async fn sha512_blobs_verify() {
    let data = payload(3000);
    let digest = oci_ref::digest_of(oci_ref::Algorithm::Sha512, &data);
    let src = Hostile::lying(data.clone(), digest);
    check(&src, &fast_opts(), &data).await.expect("sha512");
}

#[tokio::test]
async fn progress_reports_bytes_total_and_finish() {
    let data = payload(LEN);
    let src = Hostile::new(data.clone()).chunk(1);
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let mut opts = fast_opts();
    opts.progress = Some(ProgressSink::new(move |e| {
        seen.lock().expect("lock").push(e)
    }));
    check(&src, &opts, &data).await.expect("download");
    let events = events.lock().expect("lock");
    assert!(
        matches!(events.first(), Some(ProgressEvent::Started { bytes: 0, total, .. }) if *total == LEN as u64)
    );
    let last_advance = events.iter().rev().find_map(|e| match e {
        ProgressEvent::Advanced { bytes, total, .. } => Some((*bytes, *total)),
        _ => None,
    });
    assert_eq!(last_advance, Some((LEN as u64, LEN as u64)));
    let advances = events
        .iter()
        .filter(|e| matches!(e, ProgressEvent::Advanced { .. }))
        .count();
    assert!(
        advances < LEN / 10,
        "1-byte chunks must not give one event per byte ({advances})"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ProgressEvent::Verified { .. }))
    );
}

#[test]
fn partial_names_end_with_the_suffix() {
    let d = sha256(b"x");
    let p = partial_path(std::path::Path::new("/tmp/dir/file.img"), &d);
    assert!(p.to_string_lossy().ends_with(PARTIAL_SUFFIX));
    assert_eq!(p.parent(), Some(std::path::Path::new("/tmp/dir")));
    // Named by what it is (blob and destination), never by the process: a later run finds it.
    let name = p.file_name().expect("name").to_string_lossy().into_owned();
    assert_eq!(
        name,
        format!(".file.img.{}{PARTIAL_SUFFIX}", &d.encoded()[..12])
    );
    assert!(!name.contains(&std::process::id().to_string()));
    assert_ne!(
        partial_path(std::path::Path::new("/a/b"), &d),
        partial_path(std::path::Path::new("/a/c"), &d)
    );
}

#[tokio::test]
async fn kept_partial_is_dropped_after_a_verification_failure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = payload(1000);
    let mut bad = data.clone();
    bad[3] ^= 1;
    let src = Hostile::lying(bad, sha256(&data));
    let mut opts = fast_opts();
    opts.keep_partial = true;
    download(&src, &descriptor("x", &data), &dir.path().join("f"), &opts)
        .await
        .expect_err("mismatch");
    assert_empty(dir.path());
}

#[tokio::test]
async fn complete_body_that_never_ends_is_accepted_after_the_stall_timeout() {
    let data = payload(LEN);
    let src = Hostile::new(data.clone()).script(&[Open::StallAt(LEN as u64)]);
    let mut opts = fast_opts();
    opts.stall_timeout = std::time::Duration::from_millis(50);
    let d = check(&src, &opts, &data).await.expect("complete");
    assert_eq!((d.attempts, src.opens()), (1, 1));
}

/// A blob larger than the writeback interval, written with direct IO and buffered (where the
/// background writeback runs while the file is written): the result is exactly the verified
/// bytes either way.
#[tokio::test]
async fn blob_larger_than_the_writeback_interval_is_intact() {
    let len = usize::try_from(oci_fetch::download::WRITEBACK_INTERVAL_BYTES).expect("fits") + 4097;
    let data = payload(len);
    for direct in [true, false] {
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("big");
        let src = Hostile::new(data.clone()).chunk(1024 * 1024);
        let desc = descriptor("application/octet-stream", &data);
        let mut opts = fast_opts();
        opts.direct_io = direct;
        let done = download(&src, &desc, &dest, &opts)
            .await
            .expect("downloads");
        assert_eq!(done.size, len as u64);
        assert!(std::fs::read(&dest).expect("dest") == data, "bytes differ");
        assert_eq!(entries(dir.path()), vec!["big".to_owned()]);
    }
}

/// Several MiB (whole direct-IO blocks and an unaligned tail) through resumes at aligned and
/// unaligned offsets and a restart from 0, with direct IO on and off: the file read back is the
/// blob.
#[tokio::test]
async fn multi_block_blobs_survive_resumes_and_restarts_in_both_write_modes() {
    const MIB: u64 = 1024 * 1024;
    let len = 3 * MIB as usize + 12_345;
    let data = payload(len);
    let align = oci_fetch::download::DIRECT_ALIGN as u64;
    // Each script with the attempts it takes (a body from 0 that ignored the range completes).
    let scripts: [(&[Open], u32); 4] = [
        (&[], 1),
        (&[Open::EndAt(MIB + 777), Open::FailAt(2 * MIB + align)], 3),
        (&[Open::FailAt(align - 1), Open::EndAt(MIB)], 3),
        (&[Open::EndAt(2 * MIB + 5), Open::IgnoreRange], 2),
    ];
    for direct in [true, false] {
        for (script, attempts) in scripts {
            for chunk in [65_536, 1_000_003] {
                let src = Hostile::new(data.clone()).chunk(chunk).script(script);
                let mut opts = fast_opts();
                opts.direct_io = direct;
                let d = check(&src, &opts, &data)
                    .await
                    .unwrap_or_else(|e| panic!("direct {direct}, {script:?}: {e}"));
                assert_eq!(d.attempts, attempts, "{script:?}");
            }
        }
    }
}

/// A kept partial file of an unaligned length is continued with direct IO: the few bytes up to
/// the next aligned offset are written plainly, the rest in direct blocks.
#[tokio::test]
async fn kept_partial_of_unaligned_length_is_continued_exactly() {
    let len = 2 * 1024 * 1024 + 999;
    let data = payload(len);
    let desc = descriptor("x", &data);
    for direct in [true, false] {
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("out.bin");
        let mut opts = fast_opts();
        opts.keep_partial = true;
        opts.max_attempts = 1;
        opts.direct_io = direct;
        let cut = 1024 * 1024 + 333;
        let src = Hostile::new(data.clone()).script(&[Open::EndAt(cut)]);
        download(&src, &desc, &dest, &opts)
            .await
            .expect_err("truncated");
        let partial = partial_path(&dest, &desc.digest);
        assert_eq!(std::fs::metadata(&partial).expect("kept").len(), cut);
        let src = Hostile::new(data.clone()).chunk(300_007);
        let d = download(&src, &desc, &dest, &opts).await.expect("resumed");
        assert_eq!(d.resumed_from, cut);
        assert!(std::fs::read(&dest).expect("dest") == data, "bytes differ");
        assert_eq!(entries(dir.path()), vec!["out.bin".to_owned()]);
    }
}
