//! The media-type vocabulary and `Compression`: from a media type, from magic bytes, from a
//! file name, and the combined decision downloads make.

use oci_ref::media_type::{self, Compression, GZIP_MAGIC, ZSTD_MAGIC};

/// Checks every way `Compression` is told against one row: `(media type, first bytes, file
/// name)` and what each constructor and [`Compression::detect`] must say.
fn check(
    media_type: &str,
    head: &[u8],
    expected_media: Option<Compression>,
    expected_detect: Option<Compression>,
) {
    assert_eq!(
        Compression::from_media_type(media_type),
        expected_media,
        "from_media_type({media_type:?})"
    );
    assert_eq!(
        Compression::detect(media_type, head),
        expected_detect,
        "detect({media_type:?}, {head:02x?})"
    );
}

#[test]
fn compression_from_media_type_and_magic() {
    use Compression::{Gzip, Zstd};
    let plain = b"QFI\xfb plain bytes";
    // Declared by the media type (moved from oci-select and oci-fetch: both tables kept).
    check(
        media_type::OCI_LAYER_TAR_ZSTD,
        plain,
        Some(Zstd),
        Some(Zstd),
    );
    check(media_type::ZSTD, plain, Some(Zstd), Some(Zstd));
    check(
        "application/vnd.example.disk+zst",
        b"",
        Some(Zstd),
        Some(Zstd),
    );
    check("application/x-disk.zst", b"", Some(Zstd), Some(Zstd));
    check("application/x-raw-disk.zst", b"", Some(Zstd), Some(Zstd));
    check(
        "application/vnd.example.disk.raw+ZSTD",
        b"",
        Some(Zstd),
        Some(Zstd),
    );
    check(media_type::OCI_LAYER_TAR_GZIP, b"", Some(Gzip), Some(Gzip));
    check(media_type::GZIP, b"", Some(Gzip), Some(Gzip));
    check("application/x.gz", b"", Some(Gzip), Some(Gzip));
    check("Application/ZSTD", b"", Some(Zstd), Some(Zstd));
    check("application/zstd; foo=bar", b"", Some(Zstd), Some(Zstd));
    // The media type wins over the bytes: a mislabelled blob fails at decompression.
    check(media_type::ZSTD, &GZIP_MAGIC, Some(Zstd), Some(Zstd));
    // Generic types: the bytes decide (Ironic's magic-byte rule).
    check(media_type::OCI_LAYER_TAR, plain, None, None);
    check(media_type::OCI_LAYER_TAR, &ZSTD_MAGIC, None, Some(Zstd));
    check(media_type::OCTET_STREAM, &GZIP_MAGIC, None, Some(Gzip));
    check(media_type::OCTET_STREAM, &ZSTD_MAGIC[..3], None, None);
    check("application/vnd.qemu.qcow2", b"QFI\xfb", None, None);
    // A specific type that declares no compression is taken at its word (Deviation).
    check("application/vnd.qemu.qcow2", &ZSTD_MAGIC, None, None);
    check(
        "Application/Octet-Stream; x=y",
        &ZSTD_MAGIC,
        None,
        Some(Zstd),
    );
    check("", &GZIP_MAGIC, None, Some(Gzip));
    check("", b"", None, None);
}

#[test]
fn compression_from_file_names() {
    let check = |name: &str, c: Option<Compression>, stem: Option<&str>| {
        assert_eq!(Compression::from_file_name(name), c, "{name}");
        assert_eq!(Compression::strip_suffix(name), stem, "{name}");
    };
    check("disk.img.zst", Some(Compression::Zstd), Some("disk.img"));
    check("disk.img.ZSTD", Some(Compression::Zstd), Some("disk.img"));
    check("disk.raw.gz", Some(Compression::Gzip), Some("disk.raw"));
    check("a.gzip", Some(Compression::Gzip), Some("a"));
    check("disk.qcow2", None, None);
    check("zst", None, None);
    // An edge case: nothing would be left of the name.
    check(".zst", Some(Compression::Zstd), None);
}

#[test]
fn names_and_magic() {
    assert_eq!(Compression::Zstd.as_str(), "zstd");
    assert_eq!(Compression::Gzip.to_string(), "gzip");
    for c in Compression::ALL {
        assert_eq!(Compression::from_magic(c.magic()), Some(c));
    }
    assert_eq!(
        media_type::essence(" Application/JSON ; charset=utf-8"),
        "application/json"
    );
    assert!(media_type::INDEX_TYPES.contains(&media_type::OCI_INDEX));
    assert!(media_type::MANIFEST_TYPES.contains(&media_type::DOCKER_MANIFEST));
}

#[test]
fn media_type_shape() {
    for good in [
        "a/b",
        "application/vnd.x+json",
        "text/plain;charset=utf-8",
        "x/a",
    ] {
        assert!(media_type::is_well_formed(good), "{good}");
    }
    for bad in [
        "",
        "a",
        "a/",
        "/b",
        "a b/c",
        "a/b/c",
        "d.json",
        &format!("a/{}", "b".repeat(128)),
    ] {
        assert!(!media_type::is_well_formed(bad), "{bad}");
    }
}
