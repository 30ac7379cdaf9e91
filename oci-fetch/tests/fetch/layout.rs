//! OCI image layouts: address parsing, reading, writing, round trips, the example layout.

use bytes::Bytes;
use oci_fetch::copy::{CopyError, CopyOptions, Location, copy};
use oci_fetch::descriptor::{ANNOTATION_REF_NAME, ImageIndex, ImageManifest};
use oci_fetch::download::DownloadOptions;
use oci_fetch::layout::example::{EXAMPLE_BOOT_TAG, EXAMPLE_DISK_TAG, write_example_layout};
use oci_fetch::layout::{
    AddressError, LayoutAddress, LayoutError, MAX_MANIFEST_SIZE, OciLayout, parse_layout_address,
    valid_ref_name,
};
use oci_fetch::pull::{PullOptions, pull_files};
use oci_fetch::source::MemorySource;
use oci_ref::TagOrDigest;

use crate::common::{descriptor, entries, payload, sha256};

#[test]
fn address_grammar() {
    let check = |input: &str, dir: &str, target: Option<TagOrDigest>| {
        assert_eq!(
            parse_layout_address(input).expect(input),
            LayoutAddress {
                dir: dir.into(),
                target
            },
            "{input}"
        );
    };
    let d = sha256(b"x");
    check("out", "out", None);
    check(
        "./out:v1",
        "./out",
        Some(TagOrDigest::tag("v1").expect("valid tag")),
    );
    check("/tmp/a:b/c", "/tmp/a:b/c", None);
    check(
        &format!("dir@{d}"),
        "dir",
        Some(TagOrDigest::Digest(d.clone())),
    );
    check(
        &format!("a:b@{d}"),
        "a:b",
        Some(TagOrDigest::Digest(d.clone())),
    );
    check("user@host/dir", "user@host/dir", None);
    assert_eq!(
        parse_layout_address("dir:v1").expect("v1").to_string(),
        "dir:v1"
    );

    assert!(matches!(
        parse_layout_address(""),
        Err(AddressError::EmptyDir { .. })
    ));
    assert!(matches!(
        parse_layout_address(":v1"),
        Err(AddressError::EmptyDir { .. })
    ));
    assert!(matches!(
        parse_layout_address("dir:"),
        Err(AddressError::InvalidTag { .. })
    ));
    assert!(matches!(
        parse_layout_address("dir:-x"),
        Err(AddressError::InvalidTag { .. })
    ));
    assert!(matches!(
        parse_layout_address(&format!("dir:{}", "a".repeat(129))),
        Err(AddressError::InvalidTag { .. })
    ));
    assert!(matches!(
        parse_layout_address("dir@sha256:abc"),
        Err(AddressError::InvalidDigest { .. })
    ));
}

#[test]
fn ref_name_grammar() {
    for ok in [
        "v1", "1.0", "a-b", "a--b", "a/b", "latest", "disk:1.0", "a+b@c",
    ] {
        assert!(valid_ref_name(ok), "{ok}");
    }
    for bad in ["", "-a", "a-", "a//b", "a..b", "a---b", "a b", "/a"] {
        assert!(!valid_ref_name(bad), "{bad}");
    }
}

#[tokio::test]
async fn open_refuses_a_plain_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = OciLayout::open(dir.path()).await.expect_err("not a layout");
    assert!(matches!(err, LayoutError::NotALayout { .. }), "{err:?}");
    std::fs::write(
        dir.path().join("oci-layout"),
        br#"{"imageLayoutVersion":"2.0.0"}"#,
    )
    .expect("marker");
    let err = OciLayout::open(dir.path()).await.expect_err("version");
    assert!(
        matches!(err, LayoutError::UnsupportedVersion { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn round_trip_write_tag_read_pull() {
    let dir = tempfile::tempdir().expect("tempdir");
    let layout = OciLayout::create(dir.path().join("l"))
        .await
        .expect("create");
    let data = payload(300_000);
    let mut mem = MemorySource::new();
    mem.insert(sha256(&data), Bytes::from(data.clone()));
    let desc = descriptor("application/octet-stream", &data);
    assert!(
        layout
            .write_blob(&mem, &desc, &DownloadOptions::default())
            .await
            .expect("write")
    );
    assert!(
        !layout
            .write_blob(&mem, &desc, &DownloadOptions::default())
            .await
            .expect("again"),
        "present blob is not rewritten"
    );
    assert!(layout.contains(&desc).await.expect("contains"));
    let titled = desc
        .clone()
        .with_annotation(oci_fetch::descriptor::ANNOTATION_TITLE, "data.bin");
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.example",
        "config": { "mediaType": "application/vnd.oci.empty.v1+json", "digest": sha256(b"{}").as_str(), "size": 2 },
        "layers": [titled],
    });
    let m = layout
        .write_blob_bytes(
            "application/vnd.oci.image.manifest.v1+json",
            serde_json::to_vec(&manifest).expect("json"),
        )
        .await
        .expect("manifest");
    layout.tag(&m, "v1").await.expect("tag");
    layout.tag(&m, "v1").await.expect("retag replaces");

    // Read back through a fresh handle, by tag and by digest.
    let reopened = OciLayout::open(dir.path().join("l")).await.expect("open");
    let index = reopened.index().await.expect("index");
    assert_eq!(index.manifests.len(), 1, "re-tagging replaces the entry");
    let by_tag = reopened
        .resolve(&TagOrDigest::tag("v1").expect("valid tag"))
        .await
        .expect("tag");
    assert_eq!(by_tag.digest, m.digest);
    assert_eq!(
        by_tag
            .annotations
            .get(ANNOTATION_REF_NAME)
            .map(String::as_str),
        Some("v1")
    );
    let by_digest = reopened
        .resolve(&TagOrDigest::Digest(m.digest.clone()))
        .await
        .expect("digest");
    assert_eq!(by_digest.size, m.size);
    let bytes = reopened
        .read_blob(&by_tag, MAX_MANIFEST_SIZE)
        .await
        .expect("manifest bytes");
    let parsed: ImageManifest = serde_json::from_slice(&bytes).expect("manifest parses");

    // Pull through the layout as a blob source.
    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("out");
    pull_files(&reopened, &parsed.layers, &out, &PullOptions::default())
        .await
        .expect("pull");
    assert_eq!(std::fs::read(out.join("data.bin")).expect("pulled"), data);

    // Copy layout -> layout.
    let copy = OciLayout::create(dir.path().join("copy"))
        .await
        .expect("copy");
    copy.write_blob(&reopened, &desc, &DownloadOptions::default())
        .await
        .expect("copy blob");
    assert!(copy.contains(&desc).await.expect("contains"));

    let err = reopened
        .resolve(&TagOrDigest::tag("nope").expect("valid tag"))
        .await
        .expect_err("no tag");
    assert!(err.is_not_found());
    let err = reopened.tag(&m, "bad name").await.expect_err("bad name");
    assert!(matches!(err, LayoutError::InvalidRefName { .. }));
}

#[tokio::test]
async fn tampered_blob_is_detected_and_rewritten() {
    let dir = tempfile::tempdir().expect("tempdir");
    let layout = OciLayout::create(dir.path()).await.expect("create");
    let desc = layout
        .write_blob_bytes("x", &b"hello world"[..])
        .await
        .expect("write");
    std::fs::write(layout.blob_path(&desc.digest), b"hellO world").expect("tamper");
    assert!(!layout.contains(&desc).await.expect("contains"));
    let err = layout.read_blob(&desc, 1024).await.expect_err("tampered");
    assert!(matches!(err, LayoutError::Verify { .. }), "{err:?}");
    layout
        .write_blob_bytes("x", &b"hello world"[..])
        .await
        .expect("rewrite");
    assert!(layout.contains(&desc).await.expect("contains"));
}

#[tokio::test]
async fn oversized_manifest_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let layout = OciLayout::create(dir.path()).await.expect("create");
    let desc = layout
        .write_blob_bytes("x", payload(2000))
        .await
        .expect("write");
    let err = layout.read_blob(&desc, 1000).await.expect_err("too large");
    assert!(
        matches!(err, LayoutError::TooLarge { limit: 1000, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn tag_keeps_unknown_fields() {
    let dir = tempfile::tempdir().expect("tempdir");
    let layout = OciLayout::create(dir.path()).await.expect("create");
    std::fs::write(
        dir.path().join("index.json"),
        br#"{"schemaVersion":2,"x-custom":1,"manifests":[{"mediaType":"application/xml","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2,"x-entry":true}]}"#,
    )
    .expect("seed");
    let d = layout
        .write_blob_bytes("x", &b"{}"[..])
        .await
        .expect("blob");
    layout.tag(&d, "t").await.expect("tag");
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("index.json")).expect("read"))
            .expect("json");
    assert_eq!(v["x-custom"], 1);
    assert_eq!(v["manifests"][0]["x-entry"], true);
    assert_eq!(v["manifests"].as_array().map(Vec::len), Some(2));
    assert!(
        !entries(dir.path())
            .iter()
            .any(|e| e.ends_with(oci_fetch::download::PARTIAL_SUFFIX))
    );
}

#[tokio::test]
async fn example_layout_resolves_and_pulls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ex = write_example_layout(dir.path().join("example"))
        .await
        .expect("example");
    let layout = OciLayout::open(&ex.root).await.expect("open");
    let disk = layout
        .resolve(&TagOrDigest::tag(EXAMPLE_DISK_TAG).expect("valid tag"))
        .await
        .expect("disk tag");
    let index: ImageIndex = serde_json::from_slice(
        &layout
            .read_blob(&disk, MAX_MANIFEST_SIZE)
            .await
            .expect("index"),
    )
    .expect("index json");
    assert_eq!(index.manifests.len(), 4);
    for entry in &index.manifests {
        let m: ImageManifest =
            serde_json::from_slice(&layout.read_blob(entry, MAX_MANIFEST_SIZE).await.expect("m"))
                .expect("m json");
        assert_eq!(m.layers.len(), 1);
        assert!(layout.contains(&m.layers[0]).await.expect("layer present"));
    }
    let boot = layout
        .resolve(&TagOrDigest::tag(EXAMPLE_BOOT_TAG).expect("valid tag"))
        .await
        .expect("boot tag");
    let m: ImageManifest = serde_json::from_slice(
        &layout
            .read_blob(&boot, MAX_MANIFEST_SIZE)
            .await
            .expect("boot"),
    )
    .expect("json");
    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("out");
    pull_files(&layout, &m.layers, &out, &PullOptions::default())
        .await
        .expect("pull");
    assert_eq!(
        entries(&out),
        vec!["initramfs.img".to_owned(), "vmlinuz".to_owned()]
    );

    // The zstd raw disk decompresses.
    let (_, _, raw) = ex
        .disk_layers
        .iter()
        .find(|(a, t, _)| a == "amd64" && t == "raw")
        .expect("raw layer");
    let mut opts = oci_fetch::download::DownloadOptions::default();
    opts.decompress = oci_fetch::decompress::Decompress::Auto;
    let d = oci_fetch::download::download(&layout, raw, &out.join("disk.raw"), &opts)
        .await
        .expect("decompress");
    assert!(d.decompressed.is_some());
    assert!(
        std::fs::read_to_string(out.join("disk.raw"))
            .expect("raw")
            .starts_with("example amd64 raw disk image")
    );
}

proptest::proptest! {
    /// Any input parses or is refused without panicking, and what parses prints back to a string
    /// that parses to the same address.
    #[test]
    fn address_parse_round_trips(input in "[a-z/.@:_-]{0,24}(@sha256:[0-9a-f]{64})?") {
        if let Ok(addr) = parse_layout_address(&input) {
            proptest::prop_assert_eq!(parse_layout_address(&addr.to_string()).expect("reparse"), addr);
        }
    }
}

/// A layout address `DIR:TAG` or `DIR@DIGEST` as a copy location.
fn at(dir: &std::path::Path, target: TagOrDigest) -> Location {
    Location::Layout(LayoutAddress {
        dir: dir.to_path_buf(),
        target: Some(target),
    })
}

#[tokio::test]
async fn copy_walks_the_graph_once_between_layouts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ex = write_example_layout(dir.path().join("src"))
        .await
        .expect("example");
    let client = oci_client::Client::new_default().expect("client");
    let from = at(
        &ex.root,
        TagOrDigest::tag(EXAMPLE_DISK_TAG).expect("valid tag"),
    );
    let to = at(
        &dir.path().join("dst"),
        TagOrDigest::tag(EXAMPLE_DISK_TAG).expect("valid tag"),
    );
    let opts = CopyOptions::default();
    let done = copy(&client, &from, &to, &opts).await.expect("copy");
    // index + 4 manifests + 4 layers + the shared empty config (visited once for all four).
    assert_eq!((done.stats.copied, done.stats.skipped), (10, 0));
    // The index is there, so nothing under it is walked again.
    let again = copy(&client, &from, &to, &opts).await.expect("again");
    assert_eq!((again.stats.copied, again.stats.skipped), (0, 1));
    let dst = OciLayout::open(dir.path().join("dst")).await.expect("dst");
    for (_, _, layer) in &ex.disk_layers {
        assert!(dst.contains(layer).await.expect("contains"));
    }
    let m = dst
        .resolve(&TagOrDigest::tag(EXAMPLE_DISK_TAG).expect("valid tag"))
        .await
        .expect("tag");
    assert_eq!(m.digest, ex.disk_index.digest);
}

#[tokio::test]
async fn copy_stops_at_the_index_depth_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let layout = OciLayout::create(dir.path()).await.expect("create");
    let leaf = layout
        .write_blob_bytes("application/octet-stream", &b"leaf"[..])
        .await
        .expect("leaf");
    let mut top = leaf;
    for _ in 0..=oci_fetch::layout::MAX_INDEX_DEPTH {
        let body = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": oci_ref::media_type::OCI_INDEX,
            "manifests": [top],
        });
        top = layout
            .write_blob_bytes(
                oci_ref::media_type::OCI_INDEX,
                serde_json::to_vec(&body).expect("json"),
            )
            .await
            .expect("index");
    }
    let client = oci_client::Client::new_default().expect("client");
    let err = copy(
        &client,
        &at(dir.path(), TagOrDigest::Digest(top.digest.clone())),
        &at(
            &dir.path().join("dst"),
            TagOrDigest::tag("deep").expect("valid tag"),
        ),
        &CopyOptions::default(),
    )
    .await
    .expect_err("too deep");
    assert!(matches!(err, CopyError::TooDeep { .. }), "{err:?}");
}

#[tokio::test]
async fn copy_stops_at_the_referrer_depth_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let layout = OciLayout::create(dir.path()).await.expect("create");
    let config = layout
        .write_blob_bytes(oci_ref::media_type::OCI_EMPTY, &b"{}"[..])
        .await
        .expect("config");
    let manifest = |subject: Option<&oci_fetch::descriptor::Descriptor>, n: usize| {
        let mut body = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": oci_ref::media_type::OCI_MANIFEST,
            "artifactType": format!("application/vnd.test.{n}"),
            "config": config,
            "layers": [],
        });
        if let Some(s) = subject {
            body["subject"] = serde_json::to_value(s).expect("descriptor JSON");
        }
        serde_json::to_vec(&body).expect("json")
    };
    let root = layout
        .write_blob_bytes(oci_ref::media_type::OCI_MANIFEST, manifest(None, 0))
        .await
        .expect("root");
    layout.tag(&root, "root").await.expect("tag");
    // A chain of referrers one longer than the limit: each refers to the one before.
    let mut subject = root;
    for n in 1..=oci_fetch::copy::MAX_REFERRER_DEPTH + 1 {
        let next = layout
            .write_blob_bytes(
                oci_ref::media_type::OCI_MANIFEST,
                manifest(Some(&subject), n),
            )
            .await
            .expect("referrer");
        layout.add_manifest(&next).await.expect("listed");
        subject = next;
    }
    let client = oci_client::Client::new_default().expect("client");
    let mut opts = CopyOptions::default();
    opts.referrers = true;
    let err = copy(
        &client,
        &at(dir.path(), TagOrDigest::tag("root").expect("valid tag")),
        &at(
            &dir.path().join("dst"),
            TagOrDigest::tag("root").expect("valid tag"),
        ),
        &opts,
    )
    .await
    .expect_err("too deep");
    assert!(
        matches!(err, CopyError::TooDeep { limit, .. } if limit == oci_fetch::copy::MAX_REFERRER_DEPTH),
        "{err:?}"
    );
}
