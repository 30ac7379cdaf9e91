//! Decompression bombs (the absolute cap and the zstd ratio are in `decompress`).

use super::*;

/// Downloads `blob` labelled `media_type` with decompression on and `limits`; on failure the
/// directory must be empty.
async fn decompress_with(
    blob: Vec<u8>,
    media_type: &str,
    limits: DecompressLimits,
) -> Result<u64, DownloadError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = Hostile::new(blob.clone()).chunk(64 * 1024);
    let desc = Descriptor::new(media_type, sha256(&blob), blob.len() as u64);
    let mut opts = fast_opts();
    opts.decompress = Decompress::Auto;
    opts.decompress_limits = limits;
    let r = download(&src, &desc, &dir.path().join("out"), &opts).await;
    if r.is_err() {
        assert_empty(dir.path());
    }
    r.map(|d| std::fs::metadata(&d.path).expect("output").len())
}

fn is_too_large(r: &Result<u64, DownloadError>, want: u64) -> bool {
    matches!(
        r,
        Err(DownloadError::Decompress {
            source: DecompressError::TooLarge { limit, .. },
            ..
        }) if *limit == want
    )
}

#[tokio::test]
async fn gzip_bomb_over_the_ratio_is_refused() {
    let blob = gzip(&vec![0u8; 2 * 1024 * 1024]);
    let limits = DecompressLimits {
        max_ratio: 10,
        ratio_floor: 0,
        ..DecompressLimits::default()
    };
    let want = blob.len() as u64 * 10;
    let r = decompress_with(blob, "x+gzip", limits).await;
    assert!(is_too_large(&r, want), "{r:?}");
}

/// Concatenated members (gzip) and frames (zstd) are one output: the cap counts them together.
#[tokio::test]
async fn concatenated_members_count_together_against_the_cap() {
    let member = vec![0u8; 256 * 1024];
    for (one, media_type) in [(gzip(&member), "x+gzip"), (zstd(&member), "x+zstd")] {
        let blob: Vec<u8> = std::iter::repeat_n(one, 8).flatten().collect();
        let limits = DecompressLimits {
            max_output: 1024 * 1024,
            ..DecompressLimits::default()
        };
        let r = decompress_with(blob, media_type, limits).await;
        assert!(is_too_large(&r, 1024 * 1024), "{media_type}: {r:?}");
    }
}

/// A zstd frame whose header asks for a 1 GiB window: the decoder refuses it instead of
/// allocating the window, whatever the output limits say.
#[tokio::test]
async fn zstd_frame_asking_for_a_huge_window_is_refused() {
    let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 1).expect("encoder");
    encoder.window_log(30).expect("window log");
    encoder.long_distance_matching(true).expect("long mode");
    encoder.write_all(&payload(4096)).expect("write");
    let blob = encoder.finish().expect("finish");
    let r = decompress_with(blob, "x+zstd", DecompressLimits::default()).await;
    assert!(
        matches!(
            r,
            Err(DownloadError::Decompress {
                source: DecompressError::Corrupt { .. },
                ..
            })
        ),
        "{r:?}"
    );
}
