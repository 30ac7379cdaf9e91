//! `oci-fetch pull`, and the committed example layout `examples/machine-images` (generated
//! here, deterministically; set `OCI_FETCH_REGENERATE_EXAMPLES=1` to rewrite the committed copy).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use oci_fetch::descriptor::Descriptor;
use oci_fetch::layout::OciLayout;
use serde_json::json;

use crate::{check_usage_error, oci_fetch};

/// The committed example layout.
pub(crate) fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("examples")
        .join("machine-images")
}

/// The fixed creation time written into every manifest, so generation is deterministic.
const CREATED: &str = "2025-04-15T00:00:00Z";
/// Artifact type of the disk-image manifests.
const DISK_ARTIFACT: &str = "application/vnd.oci-fetch.example.disk-image.v1";
/// Artifact type of the kernel and ramdisk manifests.
const BOOT_ARTIFACT: &str = "application/vnd.oci-fetch.example.boot-file.v1";
const EMPTY: &str = "application/vnd.oci.empty.v1+json";
const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// A zstd frame holding `content` in one raw block (RFC 8878 §3.1): deterministic whatever
/// the zstd library version.
pub(crate) fn zstd_raw_frame(content: &[u8]) -> Vec<u8> {
    assert!(content.len() < 256, "single-byte frame content size");
    let mut out = vec![0x28, 0xb5, 0x2f, 0xfd];
    // Frame header: single segment, 1-byte content size, no checksum, no dictionary.
    out.push(0x20);
    out.push(content.len() as u8);
    // Block header: last block, raw, size.
    let header = 1u32 | ((content.len() as u32) << 3);
    out.extend_from_slice(&header.to_le_bytes()[..3]);
    out.extend_from_slice(content);
    out
}

async fn artifact(
    layout: &OciLayout,
    artifact_type: &str,
    layer_media_type: &str,
    title: &str,
    bytes: Vec<u8>,
) -> Descriptor {
    let config = layout
        .write_blob_bytes(EMPTY, b"{}".to_vec())
        .await
        .expect("config blob");
    let layer = layout
        .write_blob_bytes(layer_media_type, bytes)
        .await
        .expect("layer blob");
    let body = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": EMPTY, "digest": config.digest.as_str(), "size": config.size},
        "layers": [{
            "mediaType": layer_media_type,
            "digest": layer.digest.as_str(),
            "size": layer.size,
            "annotations": {"org.opencontainers.image.title": title},
        }],
        "annotations": {"org.opencontainers.image.created": CREATED},
    });
    let mut d = layout
        .write_blob_bytes(MANIFEST, serde_json::to_vec_pretty(&body).expect("json"))
        .await
        .expect("manifest blob");
    d.artifact_type = Some(artifact_type.to_owned());
    d
}

/// Writes the example machine-image layout into `dir`: tag `fedora-42` is an index of disk
/// images (x86_64 and aarch64, qcow2 and zstd raw, plus a hyperv entry Ironic rejects), tags
/// `fedora-42-kernel` and `fedora-42-ramdisk` are single-file boot artifacts.
pub(crate) async fn generate_machine_images(dir: &Path) {
    let layout = OciLayout::create(dir).await.expect("layout");
    let disks: [(&str, &str, &str, &str); 5] = [
        (
            "x86_64",
            "qcow2",
            "application/x-qemu-disk",
            "fedora-42-x86_64.qcow2",
        ),
        (
            "x86_64",
            "raw",
            "application/x-raw-disk-image+zstd",
            "fedora-42-x86_64.raw.zst",
        ),
        (
            "x86_64",
            "hyperv",
            "application/x-vhdx",
            "fedora-42-x86_64.vhdx",
        ),
        (
            "aarch64",
            "qcow2",
            "application/x-qemu-disk",
            "fedora-42-aarch64.qcow2",
        ),
        (
            "aarch64",
            "raw",
            "application/x-raw-disk-image+zstd",
            "fedora-42-aarch64.raw.zst",
        ),
    ];
    let mut entries = Vec::new();
    for (arch, disktype, media_type, title) in disks {
        let text = format!("example {disktype} disk image for {arch}: {title}\n");
        let bytes = match disktype {
            // qcow2 magic, then text: enough for `file` to say "QEMU QCOW".
            "qcow2" => [b"QFI\xfb\x00\x00\x00\x03".as_slice(), text.as_bytes()].concat(),
            "raw" => zstd_raw_frame(text.as_bytes()),
            _ => text.into_bytes(),
        };
        let d = artifact(&layout, DISK_ARTIFACT, media_type, title, bytes).await;
        entries.push(json!({
            "mediaType": MANIFEST,
            "digest": d.digest.as_str(),
            "size": d.size,
            "artifactType": DISK_ARTIFACT,
            "platform": {"os": "linux", "architecture": arch},
            "annotations": {"disktype": disktype},
        }));
    }
    let index = json!({
        "schemaVersion": 2,
        "mediaType": INDEX,
        "manifests": entries,
        "annotations": {"org.opencontainers.image.created": CREATED},
    });
    let index = layout
        .write_blob_bytes(INDEX, serde_json::to_vec_pretty(&index).expect("json"))
        .await
        .expect("index blob");
    layout.tag(&index, "fedora-42").await.expect("tag");
    for (tag, title, text) in [
        ("fedora-42-kernel", "vmlinuz", "example kernel\n"),
        ("fedora-42-ramdisk", "initramfs.img", "example ramdisk\n"),
    ] {
        let d = artifact(
            &layout,
            BOOT_ARTIFACT,
            "application/octet-stream",
            title,
            text.as_bytes().to_vec(),
        )
        .await;
        layout.tag(&d, tag).await.expect("tag");
    }
}

/// Every file under `dir`, relative path → bytes.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("readable dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).expect("under dir").to_path_buf();
                out.insert(rel, std::fs::read(&p).expect("readable file"));
            }
        }
    }
    out
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn committed_example_equals_a_fresh_generation() {
    let fresh = tempfile::tempdir().expect("tempdir");
    runtime().block_on(generate_machine_images(fresh.path()));
    if std::env::var_os("OCI_FETCH_REGENERATE_EXAMPLES").is_some() {
        let _ = std::fs::remove_dir_all(example_dir());
        runtime().block_on(generate_machine_images(&example_dir()));
    }
    let committed = tree(&example_dir());
    let generated = tree(fresh.path());
    assert_eq!(
        committed.keys().collect::<Vec<_>>(),
        generated.keys().collect::<Vec<_>>(),
        "file list of examples/machine-images (regenerate with OCI_FETCH_REGENERATE_EXAMPLES=1)"
    );
    assert!(
        committed == generated,
        "examples/machine-images differs from a fresh generation"
    );
    let total: usize = committed.values().map(Vec::len).sum();
    assert!(total < 50 * 1024, "example layout is {total} bytes");
}

fn layout_ref(tag: &str) -> String {
    format!("{}:{tag}", example_dir().display())
}

fn check_pull_json(args: &[&str], expected_names: &[&str]) -> serde_json::Value {
    let out = oci_fetch(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let files = v["files"].as_array().expect("files");
    let names: Vec<String> = files
        .iter()
        .map(|f| {
            let p = PathBuf::from(f["path"].as_str().expect("path"));
            assert!(p.is_file(), "{p:?} exists");
            assert_eq!(f["verified"], json!(true));
            let written = std::fs::metadata(&p).expect("meta").len();
            if f["compression"].is_null() {
                assert_eq!(written, f["size"].as_u64().expect("size"), "size of {p:?}");
                assert!(f["decompressed_size"].is_null(), "{f}");
            } else {
                assert!(args.contains(&"--decompress"), "{f}");
                assert_eq!(written, f["decompressed_size"].as_u64().expect("size"));
            }
            p.file_name().expect("name").to_string_lossy().into_owned()
        })
        .collect();
    assert_eq!(names, expected_names);
    v
}

#[test]
fn pull_from_the_example_layout_json() {
    let out = tempfile::tempdir().expect("tempdir");
    let dir = out.path().join("out");
    let d = dir.to_str().expect("utf-8");
    let v = check_pull_json(
        &[
            "pull",
            "--oci-layout",
            &layout_ref("fedora-42"),
            "--arch",
            "aarch64",
            "--json",
            "-o",
            d,
        ],
        &["fedora-42-aarch64.qcow2"],
    );
    assert!(
        v["manifest_url"]
            .as_str()
            .expect("url")
            .contains("@sha256:")
    );
    let http = check_pull_json(
        &[
            "pull",
            "--oci-layout",
            &layout_ref("fedora-42"),
            "--arch",
            "amd64",
            "--download-source",
            "http",
            "--json",
            "-o",
            d,
        ],
        &["fedora-42-x86_64.raw.zst"],
    );
    let _ = http;
}

#[test]
fn pull_decompresses_on_request() {
    let out = tempfile::tempdir().expect("tempdir");
    let d = out.path().to_str().expect("utf-8");
    let v = check_pull_json(
        &[
            "pull",
            "--oci-layout",
            &layout_ref("fedora-42"),
            "--arch",
            "aarch64",
            "--download-source",
            "http",
            "--decompress",
            "--json",
            "-o",
            d,
        ],
        &["fedora-42-aarch64.raw"],
    );
    assert_eq!(v["files"][0]["compression"], json!("zstd"));
    assert!(!out.path().join("fedora-42-aarch64.raw.zst").exists());
    let text = std::fs::read_to_string(out.path().join("fedora-42-aarch64.raw"))
        .expect("decompressed text");
    assert_eq!(
        text,
        "example raw disk image for aarch64: fedora-42-aarch64.raw.zst\n"
    );
}

#[test]
fn pull_plain_output_names_the_files_and_explains() {
    let out = tempfile::tempdir().expect("tempdir");
    let d = out.path().to_str().expect("utf-8");
    let r = oci_fetch(&[
        "pull",
        "--oci-layout",
        &layout_ref("fedora-42-kernel"),
        "--explain",
        "-o",
        d,
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let text = String::from_utf8(r.stdout).expect("utf-8");
    assert!(text.contains("selected: sha256:"), "{text}");
    assert!(text.contains("vmlinuz"), "{text}");
    assert!(text.contains("verified)"), "{text}");
    assert_eq!(
        std::fs::read(out.path().join("vmlinuz")).expect("kernel"),
        b"example kernel\n"
    );
}

#[test]
fn failed_pull_writes_nothing() {
    let out = tempfile::tempdir().expect("tempdir");
    let dir = out.path().join("new");
    let d = dir.to_str().expect("utf-8");
    let r = oci_fetch(&[
        "pull",
        "--oci-layout",
        &layout_ref("fedora-42"),
        "--arch",
        "s390x",
        "-o",
        d,
    ]);
    assert_eq!(r.status.code(), Some(1));
    assert!(r.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no artifact matches"), "{stderr}");
    assert!(!dir.exists(), "nothing created on failure");
}

#[test]
fn pull_bad_input_is_a_usage_error() {
    check_usage_error(
        &[
            "pull",
            "--oci-layout",
            &example_dir().display().to_string(),
            "-o",
            "/tmp/unused",
        ],
        "names no tag or digest",
    );
}
