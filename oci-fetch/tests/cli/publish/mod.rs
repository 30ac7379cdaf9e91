//! `oci-fetch push`, `attach`, `discover`, `index create` and `tag` as a user runs them: bad
//! input without a registry (here), the ORAS walkthrough against a real CNCF distribution
//! registry from the conformance harness ([`TestRegistry`]) and in an OCI layout, and the Ironic
//! recipes.

mod ironic;
mod layout;
mod walkthrough;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;

use crate::{TestRegistry, check_usage_error, oci_fetch};

/// A fixed creation time, so that manifests (and their digests) are reproducible.
pub(crate) const CREATED: &str = "org.opencontainers.image.created=2024-03-17T08:42:37Z";

/// The seed walkthrough's YAML: 54 bytes, `sha256:d6f2a1f4c156…`.
const NAMESPACE_YAML: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: test\n";

/// A plain HTTP/1.0 GET (no chunked encoding) returning status and body.
pub(crate) fn http_get(host: &str, path: &str, accept: &str) -> Option<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(host).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: {host}\r\nAccept: {accept}\r\n\r\n"
    )
    .ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, raw[split + 4..].to_vec()))
}

/// A plain HTTP/1.0 PUT of a manifest; returns the status.
pub(crate) fn http_put_manifest(
    host: &str,
    path: &str,
    media_type: &str,
    body: &[u8],
) -> Option<u16> {
    let mut s = TcpStream::connect(host).ok()?;
    write!(
        s,
        "PUT {path} HTTP/1.0\r\nHost: {host}\r\nContent-Type: {media_type}\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    )
    .ok()?;
    s.write_all(body).ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    String::from_utf8_lossy(&raw)
        .split(' ')
        .nth(1)?
        .parse()
        .ok()
}

pub(crate) fn manifest_bytes(host: &str, repo: &str, reference: &str) -> Vec<u8> {
    let accept = "application/vnd.oci.image.manifest.v1+json, \
                  application/vnd.oci.image.index.v1+json";
    let (status, body) = http_get(host, &format!("/v2/{repo}/manifests/{reference}"), accept)
        .expect("registry answers");
    assert_eq!(status, 200, "GET manifest {repo}:{reference}");
    body
}

pub(crate) fn manifest_json(host: &str, repo: &str, reference: &str) -> serde_json::Value {
    serde_json::from_slice(&manifest_bytes(host, repo, reference)).expect("manifest is JSON")
}

/// Runs `oci-fetch ARGS --plain-http` in `dir`, expects success, returns stdout trimmed.
pub(crate) fn check_ok(dir: &Path, args: &[&str]) -> String {
    run_ok(dir, args, true)
}

fn run_ok(dir: &Path, args: &[&str], plain_http: bool) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_oci-fetch"))
        .args(args)
        .args(plain_http.then_some("--plain-http"))
        .current_dir(dir)
        .env_remove("DOCKER_CONFIG")
        .env_remove("REGISTRY_AUTH_FILE")
        .output()
        .expect("the oci-fetch binary runs");
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("stdout is UTF-8")
        .trim_end()
        .to_owned()
}

/// `oci-fetch attach SUBJECT FILE --artifact-type TYPE -a CREATED` in `dir`, with
/// `--oci-layout` when `layout` (else over plain HTTP); returns the referrer's digest.
fn attach(dir: &Path, layout: bool, subject: &str, file: &str, artifact_type: &str) -> String {
    let mut args = vec![
        "attach",
        subject,
        "--artifact-type",
        artifact_type,
        file,
        "-a",
        CREATED,
    ];
    if layout {
        args.insert(1, "--oci-layout");
    }
    run_ok(dir, &args, !layout)
}

pub(crate) fn write(dir: &Path, name: &str, content: &[u8]) {
    std::fs::write(dir.join(name), content).expect("write test file");
}

/// Runs `oci-fetch ARGS` in `dir` without `--plain-http` (no registry involved); expects
/// success, returns stdout trimmed.
fn check_ok_offline(dir: &Path, args: &[&str]) -> String {
    run_ok(dir, args, false)
}

#[test]
fn bad_input_is_exit_2_before_any_network() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("f.txt");
    std::fs::write(&file, b"x").expect("write");
    let f = file.to_str().expect("UTF-8 temp path");
    // Port 1 on loopback: nothing listens, so reaching the network would be exit 1, not 2.
    let host = "127.0.0.1:1/repo:tag";
    check_usage_error(&["push", host, f, "-a", "disktype"], "KEY=VALUE");
    check_usage_error(&["push", host, f, "-a", "=x"], "annotation");
    check_usage_error(&["push", host, "/no/such/file"], "/no/such/file");
    check_usage_error(
        &["push", host, f, "--artifact-platform", "linux"],
        "OS/ARCH",
    );
    check_usage_error(
        &["push", host, f, "--artifact-platform", "linux/amd64/v8/x"],
        "OS/ARCH",
    );
    check_usage_error(&["push", "Bad Ref", f], "invalid reference");
    check_usage_error(
        &[
            "push",
            "127.0.0.1:1/r@sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
            f,
        ],
        "digest reference",
    );
    check_usage_error(&["push", host, f, &format!("{f}:text/plain")], "duplicate");
    check_usage_error(
        &[
            "push",
            host,
            f,
            "--config",
            "c.json:a/b",
            "--artifact-platform",
            "linux/amd64",
        ],
        "one or the other",
    );
    let annotations = dir.path().join("a.json");
    std::fs::write(&annotations, br#"{"other.txt": {"k": "v"}}"#).expect("write");
    let a = annotations.to_str().expect("UTF-8");
    check_usage_error(&["push", host, f, "--annotation-file", a], "other.txt");
    std::fs::write(&annotations, br#"{"$manifest": ["not", "an", "object"]}"#).expect("write");
    check_usage_error(
        &["push", host, f, "--annotation-file", a],
        "annotation file",
    );
    check_usage_error(
        &[
            "attach",
            "oci://127.0.0.1:1/r:t",
            f,
            "--artifact-type",
            "a/b",
            "-a",
            "x",
        ],
        "KEY=VALUE",
    );
    check_usage_error(&["discover", "UPPER/Case:x"], "invalid reference");
    check_usage_error(&["tag", host, "bad tag"], "invalid tag");
    check_usage_error(&["index", "create", host, "x86,platform=linux"], "OS/ARCH");
    check_usage_error(&["index", "create", host, "x86,colour=blue"], "platform=");
    check_usage_error(
        &["index", "create", host, "127.0.0.1:1/other:x86"],
        "same repository",
    );
}

#[test]
fn operation_failures_are_exit_1_on_one_line() {
    let registry = TestRegistry::start();
    let dir = tempfile::tempdir().expect("temp dir");
    for args in [
        vec![
            "tag".to_owned(),
            format!("{}/r:missing", registry.host),
            "new".to_owned(),
        ],
        vec![
            "discover".to_owned(),
            format!("{}/r:missing", registry.host),
        ],
        vec![
            "attach".to_owned(),
            format!("{}/r:missing", registry.host),
            "/dev/null".to_owned(),
            "--artifact-type".to_owned(),
            "a/b".to_owned(),
        ],
    ] {
        let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
        args.push("--plain-http");
        let out = oci_fetch(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains("404"), "{args:?}: {stderr}");
    }
    drop(dir);
}
