//! `oci-fetch tags`, `manifest fetch|delete`, `blob fetch|delete`, `login`, `logout` against a
//! real registry: the commands a person uses to inspect and tidy a repository.

use std::io::Write as _;
use std::process::{Command, Stdio};

use crate::{TestRegistry, oci_fetch, ok};

fn failure(args: &[&str], needle: &str) {
    let out = oci_fetch(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains(needle),
        "{args:?}: {stderr} should mention {needle:?}"
    );
}

/// Pushes `content` as a one-file artifact and returns the layer digest.
fn push_file(host: &str, repo_tag: &str, content: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("payload.bin");
    std::fs::write(&file, content).expect("write payload");
    ok(&[
        "push",
        "--plain-http",
        &format!("{host}/{repo_tag}"),
        file.to_str().expect("utf-8"),
    ]);
    let manifest = ok(&[
        "manifest",
        "fetch",
        "--plain-http",
        &format!("{host}/{repo_tag}"),
    ]);
    let json: serde_json::Value = serde_json::from_str(&manifest).expect("manifest JSON");
    json["layers"][0]["digest"]
        .as_str()
        .expect("a layer digest")
        .to_owned()
}

#[test]
fn tags_manifest_and_blob_round_trip() {
    let registry = TestRegistry::start();
    let host = &registry.host;
    let layer = push_file(host, "cli/inspect:one", b"kernel bytes\n");
    ok(&[
        "tag",
        "--plain-http",
        &format!("{host}/cli/inspect:one"),
        "two",
        "three",
    ]);

    let tags = ok(&[
        "tags",
        "--plain-http",
        &format!("{host}/cli/inspect"),
        "--page-size",
        "1",
    ]);
    let mut tags: Vec<&str> = tags.lines().collect();
    tags.sort_unstable();
    assert_eq!(tags, ["one", "three", "two"]);

    let digest = check_manifest_fetch(host);
    check_blob_fetch_and_delete(host, &layer);
    ok(&[
        "manifest",
        "delete",
        "--plain-http",
        &format!("{host}/cli/inspect@{digest}"),
    ]);
    failure(
        &[
            "manifest",
            "fetch",
            "--plain-http",
            &format!("{host}/cli/inspect@{digest}"),
        ],
        "MANIFEST_UNKNOWN",
    );
}

/// `manifest fetch` by tag and by digest gives the same bytes, of the descriptor's size;
/// returns the digest.
fn check_manifest_fetch(host: &str) -> String {
    let desc = ok(&[
        "manifest",
        "fetch",
        "--plain-http",
        "--descriptor",
        &format!("{host}/cli/inspect:one"),
    ]);
    let desc: serde_json::Value = serde_json::from_str(&desc).expect("descriptor JSON");
    assert_eq!(
        desc["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    let digest = desc["digest"].as_str().expect("digest");
    // By digest, the bytes are the same bytes.
    let by_tag = ok(&[
        "manifest",
        "fetch",
        "--plain-http",
        &format!("{host}/cli/inspect:one"),
    ]);
    let by_digest = ok(&[
        "manifest",
        "fetch",
        "--plain-http",
        &format!("{host}/cli/inspect@{digest}"),
    ]);
    assert_eq!(by_tag, by_digest);
    assert_eq!(by_tag.len() as u64, desc["size"].as_u64().expect("size"));
    digest.to_owned()
}

/// `blob fetch` writes the layer; after `blob delete` a fetch fails and leaves no file.
fn check_blob_fetch_and_delete(host: &str, layer: &str) {
    let out_dir = tempfile::tempdir().expect("temp dir");
    let out = out_dir.path().join("vmlinuz");
    let blob_ref = format!("{host}/cli/inspect@{layer}");
    ok(&[
        "blob",
        "fetch",
        "--plain-http",
        &blob_ref,
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(
        std::fs::read(&out).expect("fetched blob"),
        b"kernel bytes\n"
    );

    ok(&["blob", "delete", "--plain-http", &blob_ref]);
    let gone = out_dir.path().join("gone");
    failure(
        &[
            "blob",
            "fetch",
            "--plain-http",
            &blob_ref,
            "-o",
            gone.to_str().expect("utf-8"),
        ],
        "not found",
    );
    assert!(!gone.exists(), "nothing written for a missing blob");
    assert_eq!(
        std::fs::read_dir(out_dir.path()).expect("dir").count(),
        1,
        "no temporaries left"
    );
}

#[test]
fn blob_fetch_needs_a_digest() {
    crate::check_usage_error(
        &[
            "blob",
            "fetch",
            "--plain-http",
            "127.0.0.1:1/cli/x:tag",
            "-o",
            "/tmp/never-written",
        ],
        "names no blob",
    );
}

fn login(host: &str, config: &std::path::Path, user: &str, password: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_oci-fetch"))
        .args([
            "login",
            "--plain-http",
            host,
            "-u",
            user,
            "--password-stdin",
        ])
        .arg("--registry-config")
        .arg(config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("oci-fetch starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("write password");
    child.wait_with_output().expect("oci-fetch finishes")
}

#[test]
fn login_checks_stores_and_logout_removes() {
    let registry = TestRegistry::start_with(&conformance::RegistryOptions::htpasswd([(
        "alice",
        "wonderland",
    )]));
    let host = &registry.host;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("config.json");

    let wrong = login(host, &config, "alice", "not-the-password");
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert_eq!(wrong.status.code(), Some(1), "{stderr}");
    assert!(
        !stderr.contains("not-the-password"),
        "no secret in errors: {stderr}"
    );
    assert!(!config.exists(), "rejected credentials are not stored");

    let right = login(host, &config, "alice", "wonderland");
    assert!(
        right.status.success(),
        "{}",
        String::from_utf8_lossy(&right.stderr)
    );
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config).expect("config written")).expect("JSON");
    assert!(
        stored["auths"][host.as_str()]["auth"].is_string(),
        "{stored}"
    );

    // The stored credentials are used: a push to the protected registry works.
    let file = dir.path().join("f.txt");
    std::fs::write(&file, b"x").expect("write");
    let cfg = config.to_str().expect("utf-8");
    ok(&[
        "push",
        "--plain-http",
        "--registry-config",
        cfg,
        &format!("{host}/cli/auth:v1"),
        file.to_str().expect("utf-8"),
    ]);

    ok(&["logout", "--registry-config", cfg, host]);
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config).expect("config kept")).expect("JSON");
    assert!(stored["auths"].get(host.as_str()).is_none(), "{stored}");
}
