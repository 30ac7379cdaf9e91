//! Decompression after verification: zstd and gzip, magic checks, bomb limits.

use std::io::Write;

use oci_fetch::decompress::{Decompress, DecompressError, DecompressLimits};
use oci_fetch::descriptor::Descriptor;
use oci_fetch::download::{DownloadError, download};
use oci_ref::media_type::Compression;

use crate::common::{Hostile, Open, assert_empty, entries, fast_opts, payload, sha256};

pub(crate) fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).expect("zstd encode")
}

pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("gzip encode");
    e.finish().expect("gzip finish")
}

/// Downloads `blob` labelled `media_type` with decompression on; checks the directory after.
async fn check(
    blob: Vec<u8>,
    media_type: &str,
    limits: DecompressLimits,
    script: &[Open],
    chunk: usize,
) -> (
    Result<oci_fetch::download::Downloaded, DownloadError>,
    Option<Vec<u8>>,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let dest = dir.path().join("out");
    let src = Hostile::new(blob.clone()).chunk(chunk).script(script);
    let desc = Descriptor::new(media_type, sha256(&blob), blob.len() as u64);
    let mut opts = fast_opts();
    opts.decompress = Decompress::Auto;
    opts.decompress_limits = limits;
    let r = download(&src, &desc, &dest, &opts).await;
    if r.is_err() {
        assert_empty(dir.path());
        return (r, None);
    }
    assert_eq!(entries(dir.path()), vec!["out".to_owned()]);
    (r, Some(std::fs::read(&dest).expect("dest")))
}

#[test]
fn compression_from_media_type() {
    let check =
        |mt: &str, c: Option<Compression>| assert_eq!(Compression::from_media_type(mt), c, "{mt}");
    check(
        "application/vnd.oci.image.layer.v1.tar+zstd",
        Some(Compression::Zstd),
    );
    check(
        "application/vnd.oci.image.layer.v1.tar+gzip",
        Some(Compression::Gzip),
    );
    check("application/x-raw-disk.zst", Some(Compression::Zstd));
    check(
        "application/vnd.example.disk.raw+ZSTD",
        Some(Compression::Zstd),
    );
    check("application/vnd.oci.image.layer.v1.tar", None);
    check("application/vnd.qemu.qcow2", None);
    assert_eq!(
        Compression::from_magic(&zstd(b"x")),
        Some(Compression::Zstd)
    );
    assert_eq!(
        Compression::from_magic(&gzip(b"x")),
        Some(Compression::Gzip)
    );
    assert_eq!(Compression::from_magic(b"QFI\xfb"), None);
}

#[tokio::test]
async fn zstd_and_gzip_in_every_chunking_with_resume() {
    let data = payload(50_000);
    for (compress, mt, c) in [
        (
            zstd as fn(&[u8]) -> Vec<u8>,
            "application/vnd.oci.image.layer.v1.tar+zstd",
            Compression::Zstd,
        ),
        (
            gzip,
            "application/vnd.oci.image.layer.v1.tar+gzip",
            Compression::Gzip,
        ),
    ] {
        let blob = compress(&data);
        let half = blob.len() as u64 / 2;
        for chunk in [1, 333, blob.len()] {
            // Decompressed while downloading (also across a resume); after a restart from 0
            // (the range ignored) the verified file is decompressed afterwards instead.
            for script in [
                &[][..],
                &[Open::FailAt(half)][..],
                &[Open::FailAt(half), Open::IgnoreRange][..],
            ] {
                let (r, out) =
                    check(blob.clone(), mt, DecompressLimits::default(), script, chunk).await;
                let d = r.expect("decompressed");
                assert_eq!(out.as_deref(), Some(&data[..]));
                assert_eq!(
                    (d.decompressed, d.size, d.written),
                    (Some(c), blob.len() as u64, data.len() as u64)
                );
            }
        }
    }
}

#[tokio::test]
async fn uncompressed_media_type_is_written_as_is() {
    // A specific type that declares no compression is taken at its word, whatever the bytes.
    let blob = zstd(b"hello");
    let (r, out) = check(
        blob.clone(),
        "application/vnd.example.disk.raw",
        DecompressLimits::default(),
        &[],
        4096,
    )
    .await;
    assert_eq!(r.expect("plain").decompressed, None);
    assert_eq!(out, Some(blob));
}

#[tokio::test]
async fn generic_media_type_is_decompressed_by_magic() {
    for (blob, c) in [
        (zstd(b"hello"), Compression::Zstd),
        (gzip(b"hello"), Compression::Gzip),
    ] {
        for media_type in [
            "application/octet-stream",
            "application/vnd.oci.image.layer.v1.tar",
        ] {
            let (r, out) = check(
                blob.clone(),
                media_type,
                DecompressLimits::default(),
                &[],
                4096,
            )
            .await;
            assert_eq!(
                r.expect("decompressed").decompressed,
                Some(c),
                "{media_type}"
            );
            assert_eq!(out.as_deref(), Some(&b"hello"[..]), "{media_type}");
        }
    }
    // Plain bytes under a generic type stay as they are.
    let (r, out) = check(
        b"plain".to_vec(),
        "application/octet-stream",
        DecompressLimits::default(),
        &[],
        4096,
    )
    .await;
    assert_eq!(r.expect("plain").decompressed, None);
    assert_eq!(out.as_deref(), Some(&b"plain"[..]));
}

#[tokio::test]
async fn decompression_is_off_by_default() {
    let dir = tempfile::tempdir().expect("tempdir");
    let blob = zstd(b"hello");
    let src = Hostile::new(blob.clone());
    let desc = Descriptor::new(
        "application/vnd.oci.image.layer.v1.tar+zstd",
        sha256(&blob),
        blob.len() as u64,
    );
    let d = download(&src, &desc, &dir.path().join("f"), &fast_opts())
        .await
        .expect("download");
    assert_eq!(d.decompressed, None);
    assert_eq!(std::fs::read(dir.path().join("f")).expect("f"), blob);
}

#[tokio::test]
async fn magic_mismatch_is_refused() {
    let blob = gzip(b"not zstd inside");
    let (r, _) = check(
        blob,
        "application/vnd.oci.image.layer.v1.tar+zstd",
        DecompressLimits::default(),
        &[],
        4096,
    )
    .await;
    let err = r.expect_err("wrong magic");
    assert!(
        matches!(&err, DownloadError::Decompress { source: DecompressError::MagicMismatch { expected: Compression::Zstd, found }, .. } if found[..2] == [0x1f, 0x8b]),
        "{err:?}"
    );
}

#[tokio::test]
async fn corrupt_stream_is_refused() {
    let mut blob = gzip(&payload(10_000));
    let n = blob.len();
    blob[n / 2] ^= 0xff;
    // The digest is of the corrupt bytes, so verification passes and decompression must fail.
    let (r, _) = check(
        blob,
        "application/x.tar+gzip",
        DecompressLimits::default(),
        &[],
        4096,
    )
    .await;
    let err = r.expect_err("corrupt");
    assert!(
        matches!(
            err,
            DownloadError::Decompress {
                source: DecompressError::Corrupt { .. },
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn bomb_over_the_absolute_cap_is_refused() {
    let zeros = vec![0u8; 4 * 1024 * 1024];
    for (blob, mt) in [(zstd(&zeros), "x+zstd"), (gzip(&zeros), "x+gzip")] {
        let limits = DecompressLimits {
            max_output: 1024 * 1024,
            ..DecompressLimits::default()
        };
        let (r, _) = check(blob, mt, limits, &[], 65536).await;
        let err = r.expect_err("bomb");
        assert!(
            matches!(
                err,
                DownloadError::Decompress {
                    source: DecompressError::TooLarge {
                        limit: 1_048_576,
                        ..
                    },
                    ..
                }
            ),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn bomb_over_the_ratio_is_refused() {
    let zeros = vec![0u8; 2 * 1024 * 1024];
    let blob = zstd(&zeros);
    let limits = DecompressLimits {
        max_ratio: 10,
        ratio_floor: 0,
        ..DecompressLimits::default()
    };
    let expected_limit = blob.len() as u64 * 10;
    let (r, _) = check(blob, "x+zstd", limits, &[], 65536).await;
    let err = r.expect_err("ratio");
    assert!(
        matches!(err, DownloadError::Decompress { source: DecompressError::TooLarge { limit, .. }, .. } if limit == expected_limit),
        "{err:?}"
    );
}

#[test]
fn limit_for_combines_ratio_floor_and_cap() {
    let l = DecompressLimits {
        max_output: 1000,
        max_ratio: 10,
        ratio_floor: 50,
    };
    assert_eq!(l.limit_for(1), 50);
    assert_eq!(l.limit_for(20), 200);
    assert_eq!(l.limit_for(500), 1000);
    assert_eq!(l.limit_for(u64::MAX), 1000);
}

/// Several MiB of decompressed output (whole direct-IO blocks and a tail), decompressed while
/// downloading and, after a restart from 0, in a pass afterwards; direct IO on and off.
#[tokio::test]
async fn multi_mib_output_is_exact_in_both_write_modes() {
    let data = payload(3 * 1024 * 1024 + 4321);
    let blob = zstd(&data);
    let half = blob.len() as u64 / 2;
    let mt = "application/vnd.oci.image.layer.v1.tar+zstd";
    for direct in [true, false] {
        for script in [
            &[][..],
            &[Open::FailAt(half)][..],
            &[Open::FailAt(half), Open::IgnoreRange][..],
        ] {
            let dir = tempfile::tempdir().expect("tempdir");
            let dest = dir.path().join("out");
            let src = Hostile::new(blob.clone()).chunk(200_003).script(script);
            let desc = Descriptor::new(mt, sha256(&blob), blob.len() as u64);
            let mut opts = fast_opts();
            opts.decompress = Decompress::Auto;
            opts.direct_io = direct;
            let d = download(&src, &desc, &dest, &opts)
                .await
                .unwrap_or_else(|e| panic!("direct {direct}, {script:?}: {e}"));
            assert_eq!(d.written, data.len() as u64);
            assert!(std::fs::read(&dest).expect("dest") == data, "bytes differ");
            assert_eq!(entries(dir.path()), vec!["out".to_owned()]);
        }
    }
}
