//! The seed walkthrough with `--oci-layout` (like `oras push/attach/discover --oci-layout`): the
//! same manifests as in a registry, referrers listed untagged in `index.json`, and `tag`,
//! `index create` and `pull` working on the layout too; and bad input that writes nothing.

use std::path::Path;

use super::walkthrough::Referrers;
use super::{CREATED, NAMESPACE_YAML, check_ok_offline, write};
use crate::check_usage_error;

/// A blob of the layout under `d`.
fn blob(d: &Path, digest: &str) -> Vec<u8> {
    std::fs::read(d.join("layout/blobs/sha256").join(&digest[7..])).expect("blob in layout")
}

#[test]
fn oras_walkthrough_in_an_oci_layout() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    write(d, "namespace.yaml", NAMESPACE_YAML.as_bytes());
    write(d, "signature.json", b"{\"signature\":\"yaml\"}\n");
    write(d, "sbom.json", b"{\"components\":[]}\n");
    let yaml = check_ok_offline(
        d,
        &[
            "push",
            "--oci-layout",
            "layout:v1",
            "--artifact-type",
            "application/vnd.example.manifests.v1",
            "namespace.yaml:application/yaml",
            "-a",
            CREATED,
        ],
    );
    // Byte for byte the manifest the registry walkthrough pushes (572 bytes).
    let manifest: serde_json::Value = serde_json::from_slice(&blob(d, &yaml)).expect("JSON");
    assert_eq!(blob(d, &yaml).len(), 572);
    assert_eq!(
        manifest["layers"][0]["digest"],
        "sha256:d6f2a1f4c15637d087a577dbbb85bc2c6809b70326308ebdb3abe601640e4f41"
    );
    assert_eq!(
        blob(d, manifest["layers"][0]["digest"].as_str().expect("digest")),
        NAMESPACE_YAML.as_bytes()
    );
    let r = attach_referrers(d, &yaml);
    check_index_json(d, &yaml, &r);

    let tree = check_ok_offline(d, &["discover", "--oci-layout", "layout:v1"]);
    assert_eq!(tree, r.tree(&format!("layout@{yaml}")));
    let filtered: serde_json::Value = serde_json::from_str(&check_ok_offline(
        d,
        &[
            "discover",
            "--oci-layout",
            "layout:v1",
            "-o",
            "json",
            "--artifact-type",
            "application/vnd.example.sbom.v1+json",
        ],
    ))
    .expect("JSON");
    assert_eq!(filtered["referrers"].as_array().map(Vec::len), Some(1));
    assert_eq!(filtered["referrers"][0]["digest"], r.sbom.as_str());
    tag_index_and_pull(d, &yaml);
}

/// Attaches the three referrers in the layout (by tag, then by digest).
fn attach_referrers(d: &Path, yaml: &str) -> Referrers {
    let attach = |subject: &str, file: &str, artifact_type: &str| {
        super::attach(d, true, subject, file, artifact_type)
    };
    let signature = attach(
        "layout:v1",
        "signature.json:application/json",
        "application/vnd.example.signature.v1+json",
    );
    let sbom = attach(
        &format!("layout@{yaml}"),
        "sbom.json:application/json",
        "application/vnd.example.sbom.v1+json",
    );
    let sbom_signature = attach(
        &format!("layout@{sbom}"),
        "signature.json:application/json",
        "application/vnd.example.signature.v1+json",
    );
    let referrer: serde_json::Value = serde_json::from_slice(&blob(d, &signature)).expect("JSON");
    assert_eq!(referrer["subject"]["digest"], yaml);
    Referrers {
        signature,
        sbom,
        sbom_signature,
    }
}

/// index.json: the tagged push, then each referrer untagged, once.
fn check_index_json(d: &Path, yaml: &str, r: &Referrers) {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("layout/index.json")).expect("index.json"))
            .expect("JSON");
    let entries: Vec<(&str, Option<&str>)> = index["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .map(|m| {
            (
                m["digest"].as_str().expect("digest"),
                m["annotations"]["org.opencontainers.image.ref.name"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            (yaml, Some("v1")),
            (r.signature.as_str(), None),
            (r.sbom.as_str(), None),
            (r.sbom_signature.as_str(), None),
        ]
    );
}

/// `tag`, `index create` and `pull` on the same layout.
fn tag_index_and_pull(d: &Path, yaml: &str) {
    assert_eq!(
        check_ok_offline(d, &["tag", "--oci-layout", "layout:v1", "stable"]),
        yaml
    );
    let indexed = check_ok_offline(
        d,
        &[
            "index",
            "create",
            "--oci-layout",
            "layout:all",
            "stable,platform=linux/x86_64,annotation=disktype=qcow2",
        ],
    );
    let built: serde_json::Value = serde_json::from_slice(&blob(d, &indexed)).expect("JSON");
    assert_eq!(built["manifests"][0]["digest"], yaml);
    assert_eq!(built["manifests"][0]["platform"]["architecture"], "x86_64");
    assert_eq!(built["manifests"][0]["annotations"]["disktype"], "qcow2");
    check_ok_offline(d, &["pull", "--oci-layout", "layout:stable", "-o", "out"]);
    assert_eq!(
        std::fs::read(d.join("out/namespace.yaml")).expect("pulled file"),
        NAMESPACE_YAML.as_bytes()
    );
}

/// `--oci-layout` bad input: nothing is created or written.
#[test]
fn oci_layout_bad_input_writes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    write(d, "a.txt", b"a");
    let missing = d.join("missing");
    let missing = missing.to_str().expect("UTF-8 path");
    let digest = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    for (args, needle) in [
        (
            vec![
                "push",
                "--oci-layout",
                &format!("{missing}:v1"),
                "no-such-file.txt",
            ],
            "cannot read",
        ),
        (
            vec![
                "push",
                "--oci-layout",
                &format!("{missing}@{digest}"),
                "a.txt",
            ],
            "give DIR or DIR:TAG",
        ),
        (
            vec![
                "attach",
                "--oci-layout",
                &format!("{missing}:v1"),
                "a.txt",
                "--artifact-type",
                "x/y",
            ],
            "is not an OCI layout",
        ),
        (
            vec![
                "attach",
                "--oci-layout",
                missing,
                "a.txt",
                "--artifact-type",
                "x/y",
            ],
            "names no tag or digest",
        ),
        (
            vec!["discover", "--oci-layout", &format!("{missing}:v1")],
            "is not an OCI layout",
        ),
        (
            vec!["tag", "--oci-layout", &format!("{missing}:v1"), "v2"],
            "is not an OCI layout",
        ),
        (
            vec![
                "index",
                "create",
                "--oci-layout",
                &format!("{missing}:i"),
                "host/repo:v1",
            ],
            "name a tag or digest in the layout",
        ),
    ] {
        let args: Vec<&str> = args.iter().map(|s| s.as_ref()).collect();
        check_usage_error(&args, needle);
        assert!(!Path::new(missing).exists(), "{args:?} created the layout");
    }
}
