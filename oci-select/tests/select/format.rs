//! Disk format helpers.

use oci_select::{Candidate, DiskFormat};

use crate::{digest, entry};

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
    assert_eq!(DiskFormat::Unknown.to_string(), "unknown");
}
