//! Ironic's recipe (`oras push -a disktype=qcow2 --artifact-platform linux/x86_64`), the
//! multi-artifact index over such pushes, and annotations from a file with `--json` output.

use std::path::Path;

use super::{check_ok, http_get, manifest_bytes, manifest_json, write};
use crate::TestRegistry;

#[test]
fn ironic_push_with_platform_and_index_create() {
    let registry = TestRegistry::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    // Above the monolithic limit, so the file is hashed while it uploads (PATCH, PUT ?digest=).
    let big: Vec<u8> = (0..9 * 1024 * 1024 + 7).map(|i| (i % 251) as u8).collect();
    write(d, "cirros-x86_64-disk.img", &big);
    write(d, "cirros-arm64-disk.raw", b"raw disk bytes");
    let host = &registry.host;
    let x86 = push_x86(d, host, &big);
    let arm = check_ok(
        d,
        &[
            "push",
            &format!("oci://{host}/ironic/cirros:arm"),
            "cirros-arm64-disk.raw",
            "-a",
            "disktype=raw",
        ],
    );
    let index = create_index(d, host, &x86, &arm);

    // Tag: same bytes under new tags.
    let tagged = check_ok(
        d,
        &[
            "tag",
            &format!("{host}/ironic/cirros@{index}"),
            "latest",
            "v1",
        ],
    );
    assert_eq!(tagged, index);
    let original = manifest_bytes(host, "ironic/cirros", &index);
    for t in ["latest", "v1"] {
        assert_eq!(
            manifest_bytes(host, "ironic/cirros", t),
            original,
            "tag {t}"
        );
    }
}

/// Pushes the x86 disk `big` with a platform and a disk type; checks the exported manifest and
/// the stored bytes. Returns the manifest digest.
fn push_x86(d: &Path, host: &str, big: &[u8]) -> String {
    let x86 = check_ok(
        d,
        &[
            "push",
            "-a",
            "disktype=qcow2",
            "--artifact-platform",
            "linux/x86_64",
            &format!("{host}/ironic/cirros:x86"),
            "./cirros-x86_64-disk.img",
            "--export-manifest",
            "x86.json",
        ],
    );
    let exported = std::fs::read(d.join("x86.json")).expect("exported manifest");
    assert_eq!(exported, manifest_bytes(host, "ironic/cirros", &x86));
    let manifest: serde_json::Value = serde_json::from_slice(&exported).expect("JSON");
    assert_eq!(
        manifest["artifactType"],
        "application/vnd.unknown.artifact.v1"
    );
    assert_eq!(manifest["annotations"]["disktype"], "qcow2");
    // The same config blob oras writes for linux/x86_64 (the Ironic docs show this digest).
    assert_eq!(
        manifest["config"],
        serde_json::json!({
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": "sha256:369358945e345b86304b802b704a7809f98ccbda56b0a459a269077169a0ac5a",
            "size": 38
        })
    );
    assert_eq!(
        manifest["layers"][0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar"
    );
    let layer = manifest["layers"][0]["digest"].as_str().expect("digest");
    let (status, body) = http_get(host, &format!("/v2/ironic/cirros/blobs/{layer}"), "*/*")
        .expect("registry answers");
    assert_eq!((status, body.len()), (200, big.len()));
    assert!(body == big, "the chunked upload stored other bytes");
    x86
}

/// `index create` over the two pushes, one of them with its platform and annotation given on
/// the command line. Returns the index digest.
fn create_index(d: &Path, host: &str, x86: &str, arm: &str) -> String {
    let index = check_ok(
        d,
        &[
            "index",
            "create",
            &format!("{host}/ironic/cirros:cirros-0.6.3"),
            "x86",
            &format!("{arm},platform=linux/arm64/v8,annotation=disktype=applehv"),
            "-a",
            "org.example.built-by=test",
        ],
    );
    let got = manifest_json(host, "ironic/cirros", "cirros-0.6.3");
    assert_eq!(got["mediaType"], "application/vnd.oci.image.index.v1+json");
    assert_eq!(got["annotations"]["org.example.built-by"], "test");
    let entries = got["manifests"].as_array().expect("manifests");
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["digest"], x86);
    assert_eq!(
        entries[0]["platform"],
        serde_json::json!({"architecture": "x86_64", "os": "linux"}),
        "platform read from the --artifact-platform config"
    );
    assert_eq!(
        entries[0]["annotations"],
        serde_json::json!({"disktype": "qcow2"}),
        "source annotations copied, created dropped"
    );
    assert_eq!(entries[1]["digest"], arm);
    assert_eq!(
        entries[1]["platform"],
        serde_json::json!({"architecture": "arm64", "os": "linux", "variant": "v8"})
    );
    assert_eq!(entries[1]["annotations"]["disktype"], "applehv");
    assert_eq!(
        entries[1]["artifactType"],
        "application/vnd.unknown.artifact.v1"
    );
    index
}

#[test]
fn annotation_file_and_json_output() {
    let registry = TestRegistry::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    write(d, "a.txt", b"a");
    write(d, "b.bin", b"b");
    write(
        d,
        "annotations.json",
        br#"{"$manifest": {"m": "1", "disktype": "from-file"}, "a.txt": {"fa": "x"}}"#,
    );
    let host = &registry.host;
    let out = check_ok(
        d,
        &[
            "push",
            &format!("{host}/ann/r:t"),
            "a.txt:text/plain",
            "b.bin",
            "--annotation-file",
            "annotations.json",
            "-a",
            "disktype=cli",
            "--json",
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&out).expect("--json is JSON");
    let digest = json["digest"].as_str().expect("digest");
    assert_eq!(json["reference"], format!("{host}/ann/r@{digest}").as_str());
    assert_eq!(json["artifactType"], "application/vnd.unknown.artifact.v1");
    let m = manifest_json(host, "ann/r", "t");
    assert_eq!(m["annotations"]["m"], "1");
    assert_eq!(m["annotations"]["disktype"], "cli", "-a wins over the file");
    let created = m["annotations"]["org.opencontainers.image.created"]
        .as_str()
        .expect("created is set");
    assert!(
        created.len() == 20 && created.ends_with('Z') && created.as_bytes()[10] == b'T',
        "RFC 3339 UTC: {created}"
    );
    assert_eq!(
        m["layers"][0]["annotations"],
        serde_json::json!({"fa": "x", "org.opencontainers.image.title": "a.txt"})
    );
    assert_eq!(
        m["layers"][1]["annotations"]["org.opencontainers.image.title"],
        "b.bin"
    );
    assert_eq!(
        m["layers"][1]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar"
    );
}
