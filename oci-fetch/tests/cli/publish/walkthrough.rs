//! The seed walkthrough against a real registry (push a YAML with an artifact type, attach a
//! signature, attach an SBOM, sign the SBOM, discover the tree) and a hostile referrers cycle.

use std::path::Path;

use super::{
    CREATED, NAMESPACE_YAML, check_ok, http_put_manifest, manifest_bytes, manifest_json, write,
};
use crate::TestRegistry;

/// The walkthrough's referrers, by digest: a signature of the YAML, an SBOM of the YAML and a
/// signature of the SBOM.
pub(super) struct Referrers {
    pub(super) signature: String,
    pub(super) sbom: String,
    pub(super) sbom_signature: String,
}

impl Referrers {
    /// The tree `discover` prints for them under `root` (the YAML's pinned reference).
    pub(super) fn tree(&self, root: &str) -> String {
        let Referrers {
            signature,
            sbom,
            sbom_signature,
        } = self;
        [
            root.to_owned(),
            "├── application/vnd.example.signature.v1+json".to_owned(),
            format!("│   └── {signature}"),
            "└── application/vnd.example.sbom.v1+json".to_owned(),
            format!("    └── {sbom}"),
            "        └── application/vnd.example.signature.v1+json".to_owned(),
            format!("            └── {sbom_signature}"),
        ]
        .join("\n")
    }
}

/// The seed walkthrough on distribution 2.8, so through the fallback tags.
#[test]
fn oras_walkthrough_push_attach_discover() {
    let registry = TestRegistry::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    write(d, "namespace.yaml", NAMESPACE_YAML.as_bytes());
    write(d, "signature.json", b"{\"signature\":\"yaml\"}\n");
    write(d, "sbom.json", b"{\"components\":[]}\n");
    write(d, "sbom-signature.json", b"{\"signature\":\"sbom\"}\n");
    let host = &registry.host;
    let v1 = format!("{host}/oras/test:v1");
    let yaml = push_yaml(d, host, &v1);
    let referrers = attach_referrers(d, host, &v1, &yaml);
    check_discover(d, host, &v1, &yaml, &referrers);
}

/// Pushes the YAML as `v1`: the walkthrough's manifest, byte for byte. Returns its digest.
fn push_yaml(d: &Path, host: &str, v1: &str) -> String {
    let yaml = check_ok(
        d,
        &[
            "push",
            v1,
            "--artifact-type",
            "application/vnd.example.manifests.v1",
            "namespace.yaml:application/yaml",
            "-a",
            CREATED,
        ],
    );
    let manifest = manifest_json(host, "oras/test", "v1");
    assert_eq!(
        manifest["artifactType"],
        "application/vnd.example.manifests.v1"
    );
    assert_eq!(
        manifest["config"],
        serde_json::json!({
            "mediaType": "application/vnd.oci.empty.v1+json",
            "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
            "size": 2,
            "data": "e30="
        })
    );
    assert_eq!(
        manifest["layers"][0],
        serde_json::json!({
            "mediaType": "application/yaml",
            "digest": "sha256:d6f2a1f4c15637d087a577dbbb85bc2c6809b70326308ebdb3abe601640e4f41",
            "size": 54,
            "annotations": {"org.opencontainers.image.title": "namespace.yaml"}
        })
    );
    // Same size as the walkthrough's manifest (572 bytes).
    assert_eq!(manifest_bytes(host, "oras/test", "v1").len(), 572);
    yaml
}

/// Attaches the three referrers (by tag, by `oci://` URL, by digest); the fallback index of the
/// YAML lists its two.
fn attach_referrers(d: &Path, host: &str, v1: &str, yaml: &str) -> Referrers {
    let attach = |subject: &str, file: &str, artifact_type: &str| {
        super::attach(d, false, subject, file, artifact_type)
    };
    let signature = attach(
        v1,
        "signature.json:application/json",
        "application/vnd.example.signature.v1+json",
    );
    let sbom = attach(
        &format!("oci://{v1}"),
        "sbom.json:application/json",
        "application/vnd.example.sbom.v1+json",
    );
    let sbom_signature = attach(
        &format!("{host}/oras/test@{sbom}"),
        "sbom-signature.json:application/json",
        "application/vnd.example.signature.v1+json",
    );
    let signed = manifest_json(host, "oras/test", &signature);
    assert_eq!(signed["subject"]["digest"], yaml);
    assert_eq!(signed["subject"]["size"], 572);

    // The fallback index of the YAML lists both referrers (distribution 2.8 has no API).
    let fallback = manifest_json(host, "oras/test", &format!("sha256-{}", &yaml[7..]));
    let listed: Vec<&str> = fallback["manifests"]
        .as_array()
        .expect("manifests array")
        .iter()
        .map(|m| m["digest"].as_str().expect("digest"))
        .collect();
    assert_eq!(listed, [signature.as_str(), sbom.as_str()]);
    Referrers {
        signature,
        sbom,
        sbom_signature,
    }
}

/// `discover` as a tree, as JSON (whole, one level deep, filtered by artifact type) and as a
/// table.
fn check_discover(d: &Path, host: &str, v1: &str, yaml: &str, r: &Referrers) {
    let tree = check_ok(d, &["discover", v1]);
    assert_eq!(tree, r.tree(&format!("{host}/oras/test@{yaml}")));

    let json: serde_json::Value =
        serde_json::from_str(&check_ok(d, &["discover", v1, "-o", "json"])).expect("JSON");
    assert_eq!(json["digest"], yaml);
    assert_eq!(json["artifactType"], "application/vnd.example.manifests.v1");
    assert_eq!(
        json["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(json["referrers"][1]["digest"], r.sbom.as_str());
    assert_eq!(
        json["referrers"][1]["referrers"][0]["digest"],
        r.sbom_signature.as_str()
    );
    assert_eq!(
        json["referrers"][0]["referrers"],
        serde_json::json!([]),
        "the YAML's signature has no referrers"
    );

    let shallow: serde_json::Value = serde_json::from_str(&check_ok(
        d,
        &["discover", v1, "-o", "json", "--depth", "1"],
    ))
    .expect("JSON");
    assert_eq!(shallow["referrers"][1]["referrers"], serde_json::json!([]));

    let filtered: serde_json::Value = serde_json::from_str(&check_ok(
        d,
        &[
            "discover",
            v1,
            "-o",
            "json",
            "--artifact-type",
            "application/vnd.example.sbom.v1+json",
        ],
    ))
    .expect("JSON");
    let referrers = filtered["referrers"].as_array().expect("array");
    assert_eq!(referrers.len(), 1);
    assert_eq!(referrers[0]["digest"], r.sbom.as_str());

    let table = check_ok(d, &["discover", v1, "-o", "table"]);
    assert_eq!(
        table,
        format!(
            "ARTIFACT TYPE                              DIGEST\n\
             application/vnd.example.signature.v1+json  {}\n\
             application/vnd.example.sbom.v1+json       {}",
            r.signature, r.sbom
        )
    );
}

/// A hostile fallback index that lists the subject under itself and under its own referrer:
/// discover terminates and shows each manifest once.
#[test]
fn discover_survives_a_referrers_cycle() {
    let registry = TestRegistry::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    write(d, "a.txt", b"a");
    write(d, "sig.txt", b"sig");
    let host = &registry.host;
    let subject = check_ok(
        d,
        &[
            "push",
            &format!("{host}/cycle/r:v1"),
            "a.txt",
            "-a",
            CREATED,
        ],
    );
    let sig = check_ok(
        d,
        &[
            "attach",
            &format!("{host}/cycle/r:v1"),
            "sig.txt",
            "--artifact-type",
            "application/x.sig",
            "-a",
            CREATED,
        ],
    );
    let size = |digest: &str| manifest_bytes(host, "cycle/r", digest).len();
    let entry = |digest: &str| {
        serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest,
            "size": size(digest),
            "artifactType": "application/x.sig",
        })
    };
    let index = |entries: Vec<serde_json::Value>| {
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": entries,
        }))
        .expect("JSON")
    };
    let oci_index = "application/vnd.oci.image.index.v1+json";
    for (tag, body) in [
        (
            format!("sha256-{}", &subject[7..]),
            index(vec![entry(&sig), entry(&subject)]),
        ),
        (
            format!("sha256-{}", &sig[7..]),
            index(vec![entry(&subject)]),
        ),
    ] {
        let status = http_put_manifest(
            host,
            &format!("/v2/cycle/r/manifests/{tag}"),
            oci_index,
            &body,
        );
        assert_eq!(status, Some(201), "PUT {tag}");
    }
    let json: serde_json::Value = serde_json::from_str(&check_ok(
        d,
        &["discover", &format!("{host}/cycle/r:v1"), "-o", "json"],
    ))
    .expect("JSON");
    assert_eq!(
        json["referrers"],
        serde_json::json!([{
            "digest": sig,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": "application/x.sig",
            "size": size(&sig),
            "referrers": [],
        }])
    );
}
