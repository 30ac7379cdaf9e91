//! The partial file's lifecycle across runs (`download/partial.rs`): one name per blob and
//! destination, a lock between concurrent downloads, stale leftovers swept by the next run.

use oci_fetch::download::{PARTIAL_SUFFIX, download, partial_path};

use crate::common::{Hostile, Open, descriptor, entries, fast_opts, payload};

const LEN: usize = 20_000;

/// Leftovers of dead downloads to the same destination — another blob's partial file (the tag
/// moved), a pid-named one of an earlier version whose process is gone, a decompressed output
/// — are removed by the next download there; another destination's partial file is not
/// touched.
#[tokio::test]
async fn stale_leftovers_of_the_destination_are_swept_by_the_next_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dest = dir.path().join("out.bin");
    let data = payload(LEN);
    let desc = descriptor("x", &data);
    let hex = &desc.digest.encoded()[..12];
    let other_dest = format!(".other.bin.{hex}{PARTIAL_SUFFIX}");
    // No Linux pid is this large (`pid_max` is at most 2^22).
    let stale = [
        format!(".out.bin.0123456789ab{PARTIAL_SUFFIX}"),
        format!(".out.bin.{hex}.9999999-0{PARTIAL_SUFFIX}"),
        format!(".out.bin.{hex}.inflating{PARTIAL_SUFFIX}"),
    ];
    for name in stale.iter().chain([&other_dest]) {
        std::fs::write(dir.path().join(name), b"left behind").expect("seed");
    }
    for keep in [false, true] {
        let mut opts = fast_opts();
        opts.keep_partial = keep;
        let src = Hostile::new(data.clone());
        download(&src, &desc, &dest, &opts).await.expect("download");
        let mut expected = vec![other_dest.clone(), "out.bin".to_owned()];
        expected.sort();
        assert_eq!(entries(dir.path()), expected, "keep_partial {keep}");
        std::fs::remove_file(&dest).expect("reset");
        for name in &stale {
            std::fs::write(dir.path().join(name), b"left behind").expect("seed");
        }
    }
}

/// Without `keep_partial`, a partial file a killed run left is taken over and started afresh,
/// never resumed.
#[tokio::test]
async fn without_keep_partial_a_left_partial_is_restarted_not_resumed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dest = dir.path().join("out.bin");
    let data = payload(LEN);
    let desc = descriptor("x", &data);
    std::fs::write(partial_path(&dest, &desc.digest), &data[..5000]).expect("seed");
    let src = Hostile::new(data.clone());
    let d = download(&src, &desc, &dest, &fast_opts())
        .await
        .expect("download");
    assert_eq!((d.resumed_from, src.offsets()), (0, vec![0]));
    assert_eq!(entries(dir.path()), vec!["out.bin".to_owned()]);
}

/// A kept partial file whose bytes fail the final digest check costs one fresh download even
/// when no attempt is left: damage on disk must not fail the download.
#[tokio::test]
async fn damaged_kept_partial_recovers_with_a_single_attempt_allowed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dest = dir.path().join("out.bin");
    let data = payload(LEN);
    let desc = descriptor("x", &data);
    let mut prefix = data[..9000].to_vec();
    prefix[4321] ^= 0x10;
    std::fs::write(partial_path(&dest, &desc.digest), &prefix).expect("seed");
    let mut opts = fast_opts();
    opts.keep_partial = true;
    opts.max_attempts = 1;
    let src = Hostile::new(data.clone());
    let d = download(&src, &desc, &dest, &opts)
        .await
        .expect("recovered");
    assert_eq!((d.attempts, src.offsets()), (2, vec![9000, 0]));
    assert_eq!(std::fs::read(&dest).expect("dest"), data);
    assert_eq!(entries(dir.path()), vec!["out.bin".to_owned()]);
}

/// Two downloads of one blob to one place at once: the second waits for the first's lock
/// instead of writing into the same partial file, then downloads on its own; both verify.
#[tokio::test]
async fn concurrent_downloads_to_one_place_do_not_share_a_partial_file() {
    for keep in [true, false] {
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("out.bin");
        let data = payload(LEN);
        let desc = descriptor("x", &data);
        let mut opts = fast_opts();
        opts.keep_partial = keep;
        // The first stalls mid-body, so the second arrives while it holds the partial file.
        let first_src = Hostile::new(data.clone()).script(&[Open::StallAt(9000)]);
        let second_src = Hostile::new(data.clone());
        let (first, second) = tokio::join!(
            download(&first_src, &desc, &dest, &opts),
            download(&second_src, &desc, &dest, &opts),
        );
        let (first, second) = (first.expect("first"), second.expect("second"));
        assert_eq!(
            (first.attempts, first_src.offsets()),
            (2, vec![0, 9000]),
            "keep {keep}"
        );
        assert_eq!((second.resumed_from, second_src.offsets()), (0, vec![0]));
        assert_eq!(std::fs::read(&dest).expect("dest"), data);
        assert_eq!(entries(dir.path()), vec!["out.bin".to_owned()]);
    }
}
