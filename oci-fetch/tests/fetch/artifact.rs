//! The verified layer API (`oci_fetch::artifact`) against a real registry: the two examples'
//! code paths, picking layers, and a corrupted byte caught at the end of a stream.

use oci_ref::TagOrDigest;
use std::path::Path;

use bytes::Bytes;
use conformance::{Backend, Registry, RegistryOptions, unique_repo};
use futures_util::StreamExt as _;
use oci_client::{Client, Repository};
use oci_fetch::artifact::{Artifact, ArtifactError, LayerError, LayerPick};
use oci_ref::{Algorithm, Digest, Reference};
use oci_select::Policy;
use serde_json::json;
use tokio::io::AsyncReadExt as _;

#[allow(dead_code, reason = "the example's `main` is not called here")]
#[path = "../../examples/ipa_kernel.rs"]
mod ipa_kernel;

#[allow(
    dead_code,
    clippy::duplicate_mod,
    reason = "the example's `main` is not called here; both examples load their `common` module"
)]
#[path = "../../examples/json_layer.rs"]
mod json_layer;

const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const INDEX: &str = "application/vnd.oci.image.index.v1+json";
const EMPTY: &str = "application/vnd.oci.empty.v1+json";
const ARTIFACT: &str = "application/vnd.unknown.artifact.v1";

fn digest(data: &[u8]) -> Digest {
    oci_ref::digest_of(Algorithm::Sha256, data)
}

fn client(host: &str) -> Client {
    oci_client::install_crypto_provider();
    Client::builder()
        .keychain(oci_auth::Keychain::empty())
        .plain_http(host)
        .build()
        .expect("client")
}

/// Pushes an ORAS-shaped artifact (empty config, `layers` as (title, media type, bytes)) and
/// returns its manifest descriptor as JSON (for an index entry).
async fn push_files(
    repo: &Repository,
    tag: &str,
    layers: &[(&str, &str, &[u8])],
) -> serde_json::Value {
    repo.push_blob(&digest(b"{}"), Bytes::from_static(b"{}"))
        .await
        .expect("config");
    let mut descs = Vec::new();
    for (title, media_type, data) in layers {
        let d = digest(data);
        repo.push_blob(&d, Bytes::from(data.to_vec()))
            .await
            .expect("layer");
        descs.push(
            json!({"mediaType": media_type, "digest": d.as_str(), "size": data.len(),
                          "annotations": {"org.opencontainers.image.title": title}}),
        );
    }
    let body = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": MANIFEST, "artifactType": ARTIFACT,
        "config": {"mediaType": EMPTY, "digest": digest(b"{}").as_str(), "size": 2},
        "layers": descs,
    }))
    .expect("json");
    let d = digest(&body);
    repo.push_manifest(
        &TagOrDigest::tag(tag).expect("tag"),
        Bytes::from(body.clone()),
        MANIFEST,
    )
    .await
    .expect("manifest");
    json!({"mediaType": MANIFEST, "digest": d.as_str(), "size": body.len(),
           "artifactType": ARTIFACT})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipa_kernel_example_picks_the_kernel_of_this_platform() {
    let registry = Registry::start().await.expect("registry");
    let host = registry.host();
    let name = format!("{host}/{}/ipa:latest", unique_repo("artifact"));
    let reference: Reference = name.parse().expect("reference");
    let client = client(host);
    let repo = client.repository(&reference).expect("repo");
    let mut entries = Vec::new();
    for arch in ["amd64", "arm64"] {
        let kernel = format!("kernel for {arch}");
        let ramdisk = format!("ramdisk for {arch}").repeat(1000);
        let mut entry = push_files(
            &repo,
            arch,
            &[
                ("ipa.kernel", "application/octet-stream", kernel.as_bytes()),
                (
                    "ipa.initramfs",
                    "application/octet-stream",
                    ramdisk.as_bytes(),
                ),
            ],
        )
        .await;
        entry["platform"] = json!({"os": "linux", "architecture": arch});
        entries.push(entry);
    }
    let index = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": INDEX,
                                           "manifests": entries}))
    .expect("json");
    repo.push_manifest(
        &TagOrDigest::tag("latest").expect("tag"),
        Bytes::from(index),
        INDEX,
    )
    .await
    .expect("index");

    let dir = tempfile::tempdir().expect("dir");
    let out = dir.path().join("vmlinuz");
    let done = ipa_kernel::fetch_kernel(&client, &reference, None, "aarch64", &out)
        .await
        .expect("the example's code path");
    assert_eq!(done.path, out);
    assert_eq!(
        std::fs::read(&out).expect("kernel"),
        b"kernel for arm64",
        "the arm64 entry's kernel, chosen by platform among multi-file entries"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_layer_example_reads_into_memory_under_a_cap() {
    let registry = Registry::start().await.expect("registry");
    let host = registry.host();
    let name = format!("{host}/{}/meta:v1", unique_repo("artifact"));
    let reference: Reference = name.parse().expect("reference");
    let client = client(host);
    let repo = client.repository(&reference).expect("repo");
    let doc = br#"{"release": "2025.1", "files": ["ipa.kernel", "ipa.initramfs"]}"#;
    push_files(
        &repo,
        "v1",
        &[
            ("disk.img", "application/octet-stream", b"disk bytes"),
            ("meta.json", "application/json", doc),
        ],
    )
    .await;

    let value = json_layer::read_json_layer(&client, &reference, "application/json")
        .await
        .expect("the example's code path");
    assert_eq!(value["release"], "2025.1");

    let artifact = Artifact::from_registry(&client, &reference, None, &Policy::new())
        .await
        .expect("artifact");
    let by_title = artifact
        .layer(&LayerPick::title("meta.json"))
        .expect("by title");
    let by_annotation = artifact
        .layer(&LayerPick::annotation(
            "org.opencontainers.image.title",
            "meta.json",
        ))
        .expect("by annotation");
    assert_eq!(by_title, by_annotation);
    let err = artifact
        .read_to_vec(by_title, 10)
        .await
        .expect_err("above the cap");
    assert!(
        matches!(err, LayerError::TooLarge { limit: 10, .. }),
        "{err}"
    );
    let err = artifact
        .layer(&LayerPick::media_type("text/plain"))
        .expect_err("no such layer");
    assert!(
        matches!(err, ArtifactError::NoLayer { .. }) && err.to_string().contains("meta.json"),
        "{err}"
    );
    let disk = artifact
        .layer(&LayerPick::media_type("application/octet-stream"))
        .expect("one octet-stream layer");
    assert_eq!(disk.title(), Some("disk.img"));
}

/// Flips one byte in the middle of a blob file in the registry's storage (same length, so the
/// registry serves it with the right `Content-Length`).
fn corrupt(path: &Path) {
    let mut bytes = std::fs::read(path).expect("blob file");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(path, bytes).expect("write blob file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_byte_is_caught_at_the_end_of_the_stream() {
    let registry = Registry::start_backend(Backend::Process, &RegistryOptions::default())
        .await
        .expect("process registry");
    let host = registry.host();
    let name = format!("{host}/{}/disk:v1", unique_repo("artifact"));
    let reference: Reference = name.parse().expect("reference");
    let client = client(host);
    let repo = client.repository(&reference).expect("repo");
    let data: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
    push_files(
        &repo,
        "v1",
        &[("disk.raw", "application/octet-stream", &data)],
    )
    .await;
    let artifact = Artifact::from_registry(&client, &reference, None, &Policy::new())
        .await
        .expect("artifact");
    let layer = artifact
        .layer(&LayerPick::title("disk.raw"))
        .expect("layer")
        .clone();

    // Intact: every byte, then the end (verified).
    let mut sink = Vec::new();
    let n = artifact.copy_to(&layer, &mut sink).await.expect("copy");
    assert_eq!((n, &sink), (data.len() as u64, &data));

    corrupt(&registry.blob_file(&layer.digest).expect("process backend"));

    // The stream hands out every byte (unverified), and the verdict is its last item.
    let items: Vec<_> = artifact.stream(&layer).collect().await;
    let (last, chunks) = items.split_last().expect("items");
    let handed: usize = chunks
        .iter()
        .map(|c| c.as_ref().expect("chunks before the verdict").len())
        .sum();
    assert_eq!(handed, data.len(), "all bytes arrive before the verdict");
    let err = last.as_ref().expect_err("the verdict is an error");
    assert!(
        matches!(err, LayerError::Verify { .. }) && err.is_integrity(),
        "{err}"
    );

    // The same through AsyncRead (InvalidData), into memory and into a writer.
    let mut reader = artifact.reader(&layer);
    let mut buf = Vec::new();
    let e = reader.read_to_end(&mut buf).await.expect_err("read fails");
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
    let e = artifact
        .read_to_vec(&layer, 1 << 20)
        .await
        .expect_err("nothing returned unverified");
    assert!(e.is_integrity(), "{e}");
    let e = artifact
        .copy_to(&layer, &mut tokio::io::sink())
        .await
        .expect_err("copy fails at the end");
    assert!(e.is_integrity(), "{e}");

    // The safe default leaves nothing at the destination.
    let dir = tempfile::tempdir().expect("dir");
    let out = dir.path().join("disk.raw");
    let e = artifact
        .download(&layer, &out, &Default::default())
        .await
        .expect_err("download fails");
    assert!(e.is_verification(), "{e}");
    assert!(!out.exists());
}

#[tokio::test]
async fn a_layout_is_read_through_the_same_api() {
    use oci_fetch::layout::example::{EXAMPLE_DISK_TAG, write_example_layout};
    use oci_fetch::resolve::ServedBy;
    use oci_ref::TagOrDigest;
    let dir = tempfile::tempdir().expect("dir");
    let ex = write_example_layout(dir.path().join("layout"))
        .await
        .expect("example");
    let policy = Policy::ironic(oci_select::DownloadSource::Local, Some("aarch64"));
    let artifact = Artifact::from_layout(
        &ex.root,
        &TagOrDigest::tag(EXAMPLE_DISK_TAG).expect("valid tag"),
        &policy,
    )
    .await
    .expect("artifact");
    assert!(matches!(
        artifact.resolved().source,
        ServedBy::Layout { .. }
    ));
    let layer = artifact.layers().first().expect("a layer").clone();
    let bytes = artifact.read_to_vec(&layer, 1 << 20).await.expect("read");
    let path = oci_fetch::layout::OciLayout::open(&ex.root)
        .await
        .expect("open")
        .blob_path(&layer.digest);
    assert_eq!(bytes, std::fs::read(path).expect("blob file"));
    let mut out = Vec::new();
    let n = artifact.copy_to(&layer, &mut out).await.expect("copy");
    assert_eq!((n, out), (layer.size, bytes));
}
