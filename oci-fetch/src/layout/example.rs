//! A tiny example layout shaped like a real machine-image set, for documentation, demos and
//! tests: one tag pointing to an index of disk images (two architectures × qcow2 and zstd raw,
//! with Ironic-style `disktype` annotations) and one tag for a kernel + ramdisk artifact.
//!
//! The blobs are a few bytes each, so the whole layout can be committed.

use std::path::PathBuf;

use oci_ref::media_type::{OCI_EMPTY, OCI_INDEX, OCI_MANIFEST};
use serde_json::json;

use super::{LayoutError, OciLayout};
use crate::descriptor::{ANNOTATION_TITLE, Descriptor};

/// The tag of the disk-image index.
pub const EXAMPLE_DISK_TAG: &str = "disk-1.0";
/// The tag of the kernel + ramdisk artifact.
pub const EXAMPLE_BOOT_TAG: &str = "boot-1.0";
/// The artifact type of the disk-image manifests.
pub const EXAMPLE_DISK_ARTIFACT_TYPE: &str = "application/vnd.example.machine-image.v1";
/// The artifact type of the kernel + ramdisk manifest.
pub const EXAMPLE_BOOT_ARTIFACT_TYPE: &str = "application/vnd.example.boot-files.v1";

/// What [`write_example_layout`] wrote.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ExampleLayout {
    /// The layout directory.
    pub root: PathBuf,
    /// The disk-image index (tagged [`EXAMPLE_DISK_TAG`]).
    pub disk_index: Descriptor,
    /// The kernel + ramdisk manifest (tagged [`EXAMPLE_BOOT_TAG`]).
    pub boot_manifest: Descriptor,
    /// The disk-image layers, with (architecture, disktype).
    pub disk_layers: Vec<(String, String, Descriptor)>,
    /// The kernel and ramdisk layers.
    pub boot_layers: Vec<Descriptor>,
}

async fn manifest(
    layout: &OciLayout,
    artifact_type: &str,
    config: &Descriptor,
    layers: &[Descriptor],
) -> Result<Descriptor, LayoutError> {
    let body = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": config,
        "layers": layers,
    });
    let bytes = serde_json::to_vec_pretty(&body).unwrap_or_default();
    let mut d = layout.write_blob_bytes(OCI_MANIFEST, bytes).await?;
    d.artifact_type = Some(artifact_type.to_owned());
    Ok(d)
}

/// Writes the example layout into `root` (created if needed) and returns what it contains.
///
/// # Errors
///
/// The errors of [`OciLayout::create`] and of writing blobs and tagging ([`LayoutError`]).
pub async fn write_example_layout(root: impl Into<PathBuf>) -> Result<ExampleLayout, LayoutError> {
    let layout = OciLayout::create(root).await?;
    let config = layout.write_blob_bytes(OCI_EMPTY, &b"{}"[..]).await?;

    let mut entries = Vec::new();
    let mut disk_layers = Vec::new();
    for arch in ["amd64", "arm64"] {
        for disktype in ["qcow2", "raw"] {
            let (media_type, title, bytes) = if disktype == "qcow2" {
                let mut b = b"QFI\xfb".to_vec();
                b.extend_from_slice(format!("example {arch} qcow2 disk image\n").as_bytes());
                (
                    "application/vnd.example.disk.qcow2",
                    format!("disk-{arch}.qcow2"),
                    b,
                )
            } else {
                let raw = format!("example {arch} raw disk image\n").repeat(64);
                let zst =
                    zstd::encode_all(raw.as_bytes(), 3).map_err(|source| LayoutError::Io {
                        path: layout.root().to_path_buf(),
                        source,
                    })?;
                (
                    "application/vnd.example.disk.raw+zstd",
                    format!("disk-{arch}.raw.zst"),
                    zst,
                )
            };
            let layer = layout
                .write_blob_bytes(media_type, bytes)
                .await?
                .with_annotation(ANNOTATION_TITLE, title);
            let m = manifest(
                &layout,
                EXAMPLE_DISK_ARTIFACT_TYPE,
                &config,
                std::slice::from_ref(&layer),
            )
            .await?;
            entries.push(json!({
                "mediaType": OCI_MANIFEST,
                "digest": m.digest.as_str(),
                "size": m.size,
                "artifactType": EXAMPLE_DISK_ARTIFACT_TYPE,
                "platform": { "architecture": arch, "os": "linux" },
                "annotations": { "disktype": disktype },
            }));
            disk_layers.push((arch.to_owned(), disktype.to_owned(), layer));
        }
    }
    let index = json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": entries,
    });
    let index_bytes = serde_json::to_vec_pretty(&index).unwrap_or_default();
    let disk_index = layout.write_blob_bytes(OCI_INDEX, index_bytes).await?;
    layout.tag(&disk_index, EXAMPLE_DISK_TAG).await?;

    let kernel = layout
        .write_blob_bytes("application/vnd.example.kernel", &b"example kernel\n"[..])
        .await?
        .with_annotation(ANNOTATION_TITLE, "vmlinuz");
    let ramdisk = layout
        .write_blob_bytes("application/vnd.example.ramdisk", &b"example ramdisk\n"[..])
        .await?
        .with_annotation(ANNOTATION_TITLE, "initramfs.img");
    let boot_layers = vec![kernel, ramdisk];
    let boot_manifest =
        manifest(&layout, EXAMPLE_BOOT_ARTIFACT_TYPE, &config, &boot_layers).await?;
    layout.tag(&boot_manifest, EXAMPLE_BOOT_TAG).await?;

    Ok(ExampleLayout {
        root: layout.root().to_path_buf(),
        disk_index,
        boot_manifest,
        disk_layers,
        boot_layers,
    })
}
