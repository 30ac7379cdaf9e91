//! Disk format and compression helpers.

use oci_select::{Candidate, Compression, DiskFormat};

use crate::{digest, entry};

fn check_compression(media_type: &str, expected: Option<Compression>) {
    assert_eq!(
        Compression::from_media_type(media_type),
        expected,
        "{media_type}"
    );
}

#[test]
fn compression_from_media_type_suffix() {
    check_compression(
        "application/vnd.oci.image.layer.v1.tar+zstd",
        Some(Compression::Zstd),
    );
    check_compression("application/zstd", Some(Compression::Zstd));
    check_compression("application/vnd.example.disk+zst", Some(Compression::Zstd));
    check_compression("application/x-disk.zst", Some(Compression::Zstd));
    check_compression(
        "application/vnd.oci.image.layer.v1.tar+gzip",
        Some(Compression::Gzip),
    );
    check_compression("application/gzip", Some(Compression::Gzip));
    check_compression("application/x.gz", Some(Compression::Gzip));
    check_compression("Application/ZSTD", Some(Compression::Zstd));
    check_compression("application/zstd; foo=bar", Some(Compression::Zstd));
    check_compression("application/vnd.oci.image.layer.v1.tar", None);
    check_compression("application/octet-stream", None);
    check_compression("", None);
}

#[test]
fn disk_format_normalisation() {
    let of = |d: Option<&str>| DiskFormat::of(&entry(0, "a", "x86_64", d));
    assert_eq!(of(Some("qcow2")), Some(DiskFormat::Qcow2));
    assert_eq!(of(Some("qemu")), Some(DiskFormat::Qcow2));
    assert_eq!(of(Some("raw")), Some(DiskFormat::Raw));
    assert_eq!(of(Some("applehv")), Some(DiskFormat::Raw));
    assert_eq!(of(Some("vhdx")), Some(DiskFormat::Unknown));
    assert_eq!(of(None), Some(DiskFormat::Bootc));
    assert_eq!(of(Some("")), Some(DiskFormat::Bootc));
    let artifact = Candidate::new(0, digest("a")).with_artifact_type("a/b");
    assert_eq!(DiskFormat::of(&artifact), None);
}

#[test]
fn names_serialise_lower_case() {
    assert_eq!(
        serde_json::to_string(&DiskFormat::Bootc).expect("json"),
        "\"bootc\""
    );
    assert_eq!(
        serde_json::to_string(&Compression::Zstd).expect("json"),
        "\"zstd\""
    );
    assert_eq!(DiskFormat::Unknown.to_string(), "unknown");
    assert_eq!(Compression::Gzip.to_string(), "gzip");
}
