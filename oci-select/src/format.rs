//! What the chosen artifact is: its [`DiskFormat`] (from the `disktype` annotation) and its
//! [`Compression`] (from the layer media type).

use std::fmt;

use serde::Serialize;

use crate::candidate::{ANNOTATION_DISKTYPE, Candidate};

/// A disk format as Ironic reports it (`image_disk_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum DiskFormat {
    /// `qcow2`: from a `disktype` of `qcow2` or `qemu`.
    Qcow2,
    /// `raw`: from a `disktype` of `raw` or `applehv`.
    Raw,
    /// A container image, deployed with bootc: no `disktype` and not an OCI artifact.
    Bootc,
    /// Not knowable: a digest reference to an artifact (Ironic's `unknown`), or a `disktype`
    /// outside the four Ironic knows (kept only by a policy that does not reject it).
    Unknown,
}

impl DiskFormat {
    /// The disk format of a candidate, Ironic's normalisation: `applehv`/`raw` → raw,
    /// `qcow2`/`qemu` → qcow2, none with a non-artifact → bootc, none with an artifact → `None`
    /// (Ironic's single-manifest case reports `null`).
    ///
    /// # Deviation
    ///
    /// Ironic maps every present value other than `raw`/`applehv` to qcow2; it can, because
    /// it rejected the others first. Here another value (`vhdx`) gives [`DiskFormat::Unknown`].
    pub fn of(candidate: &Candidate) -> Option<DiskFormat> {
        match candidate.annotation(ANNOTATION_DISKTYPE).unwrap_or("") {
            "raw" | "applehv" => Some(DiskFormat::Raw),
            "qcow2" | "qemu" => Some(DiskFormat::Qcow2),
            "" if candidate.is_container_image() => Some(DiskFormat::Bootc),
            "" => None,
            _ => Some(DiskFormat::Unknown),
        }
    }

    /// The lower-case name: `qcow2`, `raw`, `bootc`, `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            DiskFormat::Qcow2 => "qcow2",
            DiskFormat::Raw => "raw",
            DiskFormat::Bootc => "bootc",
            DiskFormat::Unknown => "unknown",
        }
    }
}

impl fmt::Display for DiskFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a blob is compressed, as its media type says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Compression {
    /// Zstandard.
    Zstd,
    /// gzip.
    Gzip,
}

impl Compression {
    /// Compression from a layer media type's suffix.
    ///
    /// Ironic's rule is "ends with `zstd`" / "ends with `gzip`", which covers
    /// `…tar+zstd`, `…tar+gzip`, `application/zstd` and `application/gzip`. This also accepts
    /// the file-extension forms `+zst`, `.zst`, `+gz`, `.gz`, and compares ASCII
    /// case-insensitively (media types are case-insensitive, RFC 6838 §4.2). Parameters
    /// (`; charset=…`) are ignored.
    pub fn from_media_type(media_type: &str) -> Option<Compression> {
        let essence = media_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if essence.ends_with("zstd") || essence.ends_with("+zst") || essence.ends_with(".zst") {
            Some(Compression::Zstd)
        } else if essence.ends_with("gzip") || essence.ends_with("+gz") || essence.ends_with(".gz")
        {
            Some(Compression::Gzip)
        } else {
            None
        }
    }

    /// The lower-case name: `zstd`, `gzip`.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::Zstd => "zstd",
            Compression::Gzip => "gzip",
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
