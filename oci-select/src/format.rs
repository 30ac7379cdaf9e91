//! What the chosen artifact is: its [`DiskFormat`] (from the `disktype` annotation). Its
//! compression is `oci_ref::media_type::Compression`.

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
