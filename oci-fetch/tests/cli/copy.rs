//! `oci-fetch copy`: layout → registry → registry (another repository) → layout, byte-exact,
//! and bad input refused before anything is written.

use std::path::{Path, PathBuf};

use crate::{TestRegistry, check_usage_error, ok};

/// The example layout committed under `examples/`.
fn example_layout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/machine-images")
}

/// The digest `index.json` of `layout` records for `tag`.
fn layout_digest(layout: &Path, tag: &str) -> String {
    let index = std::fs::read(layout.join("index.json")).expect("index.json");
    let index: serde_json::Value = serde_json::from_slice(&index).expect("index JSON");
    index["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .and_then(|m| m["digest"].as_str())
        .expect("tag in index.json")
        .to_owned()
}

/// Every file under `blobs/` of a layout, relative path → bytes.
fn blobs(layout: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for alg in std::fs::read_dir(layout.join("blobs")).expect("blobs dir") {
        let alg = alg.expect("entry").path();
        for blob in std::fs::read_dir(&alg).expect("alg dir") {
            let blob = blob.expect("entry").path();
            let name = blob
                .strip_prefix(layout)
                .expect("under layout")
                .display()
                .to_string();
            out.push((name, std::fs::read(&blob).expect("blob")));
        }
    }
    out.sort();
    out
}

/// Copies `fedora-42` layout → `demo/a` → `demo/b` (cross-repository) → a new layout, and
/// checks each hop keeps the root digest and the manifest bytes.
fn check_round_trip(host: &str) {
    let src = example_layout();
    let tag = "fedora-42";
    let want = layout_digest(&src, tag);
    let src_addr = format!("{}:{tag}", src.display());
    let a = format!("{host}/copy/a:{tag}");
    let b = format!("{host}/copy/b:{tag}");

    let printed = ok(&["copy", "--plain-http", "--from-oci-layout", &src_addr, &a]);
    assert_eq!(printed.trim(), want);
    let json = ok(&["copy", "--plain-http", "--json", &a, &b]);
    let json: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(json["digest"], want.as_str());
    assert!(
        json["mounted"].as_u64() > Some(0),
        "cross-repo mounts: {json}"
    );

    let root_blob = src
        .join("blobs/sha256")
        .join(want.trim_start_matches("sha256:"));
    let original = std::fs::read(root_blob).expect("root manifest in the example");
    let fetched = ok(&["manifest", "fetch", "--plain-http", &b]);
    assert_eq!(fetched.trim_end().as_bytes(), original.trim_ascii_end());

    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out");
    let dst_addr = format!("{}:{tag}", out.display());
    let printed = ok(&["copy", "--plain-http", "--to-oci-layout", &b, &dst_addr]);
    assert_eq!(printed.trim(), want);
    assert_eq!(layout_digest(&out, tag), want);
    let copied = blobs(&out);
    let originals: Vec<_> = blobs(&src)
        .into_iter()
        .filter(|(name, _)| copied.iter().any(|(n, _)| n == name))
        .collect();
    assert_eq!(copied, originals, "blobs byte-exact");
    assert!(
        copied.len() > 5,
        "the whole graph came along: {}",
        copied.len()
    );

    // A second copy into the same layout transfers nothing new.
    let json = ok(&[
        "copy",
        "--plain-http",
        "--to-oci-layout",
        "--json",
        &b,
        &dst_addr,
    ]);
    let json: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(json["copied"], 0, "{json}");
}

#[test]
fn layout_to_registry_to_registry_to_layout() {
    let registry = TestRegistry::start();
    check_round_trip(&registry.host);
}

#[test]
fn registry_to_another_registry_streams() {
    let first = TestRegistry::start();
    let second = TestRegistry::start();
    let src = format!("{}:fedora-42-kernel", example_layout().display());
    let a = format!("{}/copy/k:v1", first.host);
    let b = format!("{}/copy/k:v1", second.host);
    ok(&["copy", "--plain-http", "--from-oci-layout", &src, &a]);
    let json = ok(&["copy", "--plain-http", "--json", &a, &b]);
    let json: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(json["mounted"], 0, "{json}");
    assert!(
        json["copied"].as_u64() >= Some(3),
        "config, layer, manifest: {json}"
    );
    let original = ok(&["manifest", "fetch", "--plain-http", &a]);
    assert_eq!(ok(&["manifest", "fetch", "--plain-http", &b]), original);
    let again = ok(&["copy", "--plain-http", "--json", &a, &b]);
    let again: serde_json::Value = serde_json::from_str(&again).expect("JSON");
    assert_eq!(
        (&again["copied"], &again["skipped"]),
        (&0.into(), &1.into()),
        "the manifest is there, so nothing under it is walked: {again}"
    );
}

#[test]
fn layout_to_layout_copies_the_graph() {
    let src = example_layout();
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("copy");
    for tag in ["fedora-42", "fedora-42-kernel"] {
        let from = format!("{}:{tag}", src.display());
        let to = format!("{}:{tag}", out.display());
        let printed = ok(&["copy", "--from-oci-layout", "--to-oci-layout", &from, &to]);
        assert_eq!(printed.trim(), layout_digest(&src, tag));
        assert_eq!(layout_digest(&out, tag), layout_digest(&src, tag));
    }
    for (name, bytes) in blobs(&out) {
        assert_eq!(
            std::fs::read(src.join(&name)).expect("same blob in source"),
            bytes
        );
    }
}

#[test]
fn bad_input_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("never");
    let to = format!("{}:x", out.display());
    let src = format!("{}", example_layout().display());
    check_usage_error(
        &["copy", "--from-oci-layout", "--to-oci-layout", &src, &to],
        "tag or digest",
    );
    check_usage_error(
        &["copy", "--to-oci-layout", "not a ref!", &to],
        "invalid reference",
    );
    let bad_digest = format!("{}@sha256:zz", example_layout().display());
    check_usage_error(
        &[
            "copy",
            "--from-oci-layout",
            "--to-oci-layout",
            &bad_digest,
            &to,
        ],
        "layout address",
    );
    let mismatch = format!("{}@sha256:{}", out.display(), "0".repeat(64));
    let from = format!("{}:fedora-42", example_layout().display());
    check_usage_error(
        &[
            "copy",
            "--from-oci-layout",
            "--to-oci-layout",
            &from,
            &mismatch,
        ],
        "differs",
    );
    assert!(!out.exists(), "nothing written on bad input");
}
