//! `oci-fetch ref`: the `--json` contract and the bad-input contract.

use crate::{check_json, check_usage_error, oci_fetch};

/// `oci-fetch ref INPUT --json`, snapshotted as `ref_NAME`.
fn check_ref_json(name: &str, input: &str) {
    check_json(&format!("ref_{name}"), &["ref", input, "--json"]);
}

/// The field order is part of the snapshot: registry, repository, tag, digest, canonical.
#[test]
fn json_contract_docker_hub() {
    check_ref_json("docker_hub", "ubuntu");
}

#[test]
fn json_contract_digest_only_has_null_tag() {
    let digest = "sha256:0a175cf13c651f44750d6a5cf0cf2f75d933bd591315d77e19105e5446b73a86";
    check_ref_json(
        "digest_only",
        &format!("oci://registry.example:5000/project/disk:@{digest}"),
    );
}

#[test]
fn plain_output_is_the_canonical_form() {
    let out = oci_fetch(&["ref", "localhost:5000/app:v1"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "localhost:5000/app:v1\n"
    );
}

#[test]
fn bad_references_are_one_line_usage_errors() {
    check_usage_error(&["ref", "Quay.io/Podman/Machine-OS"], "must be lower-case");
    check_usage_error(&["ref", "repo:tag\r\nX-Injected: yes"], "carriage return");
    check_usage_error(&["ref", "https://quay.io/org/repo"], "unsupported scheme");
    check_usage_error(&["ref", "repo@md5:d41d8cd98f00b204e9800998ecf8427e"], "md5");
    check_usage_error(&["ref", "repo@sha256:abc"], "64 hex characters, got 3");
    check_usage_error(&["ref", ""], "empty");
    check_usage_error(&["ref", &format!("repo:{}", "t".repeat(129))], "128");
}

#[test]
fn hostile_inputs_never_panic() {
    for input in [
        "\u{1}", "@", ":", "/", "oci://", "oci:///", "[", "[::1", "a:@", "🦀", "a\u{7f}b",
    ] {
        let out = oci_fetch(&["ref", input]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{input:?} panicked: {stderr}");
        assert!(
            matches!(out.status.code(), Some(0) | Some(2)),
            "{input:?}: {stderr}"
        );
    }
}

fn conf_file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new()
        .suffix(".conf")
        .tempfile()
        .expect("temp file");
    std::io::Write::write_all(&mut f, text.as_bytes()).expect("write registries.conf");
    f
}

#[test]
fn registries_conf_sources_contract() {
    let conf = conf_file(
        r#"
[[registry]]
prefix = "quay.io/podman"
location = "quay.io/podman"
[[registry.mirror]]
location = "internal.example.io/abcd/podman"
insecure = true
"#,
    );
    let path = conf.path().to_str().expect("utf-8 path");
    let out = oci_fetch(&[
        "ref",
        "quay.io/podman/machine-os:5.3",
        "--registries-conf",
        path,
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        got["sources"],
        serde_json::json!([
            {"reference": "internal.example.io/abcd/podman/machine-os:5.3", "mirror": true, "insecure": true},
            {"reference": "quay.io/podman/machine-os:5.3", "mirror": false, "insecure": false},
        ])
    );
}

#[test]
fn blocked_reference_names_the_file() {
    let conf = conf_file("[[registry]]\nlocation = \"blocked.example\"\nblocked = true\n");
    let path = conf.path().to_str().expect("utf-8 path");
    let line = check_usage_error(
        &[
            "ref",
            "blocked.example/app:1",
            "--registries-conf",
            path,
            "--json",
        ],
        "blocked",
    );
    assert!(line.contains(path), "the error names the file: {line}");
}

#[test]
fn missing_explicit_registries_conf_is_an_error() {
    check_usage_error(
        &[
            "ref",
            "ubuntu",
            "--registries-conf",
            "/nonexistent/registries.conf",
        ],
        "/nonexistent/registries.conf",
    );
}
