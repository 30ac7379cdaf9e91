//! Multi-file artifacts as `oras pull` sees them (every titled layer is a file), an index of
//! multi-file artifacts chosen by platform (`--multi-file`), and resolve/pull through a mirror
//! that alone has the artifact, against a real registry.

use oci_ref::TagOrDigest;
use std::path::Path;
use std::process::Command;

use bytes::Bytes;
use oci_client::Client;
use oci_ref::{Algorithm, Digest, Reference};
use serde_json::json;

use crate::{TestRegistry, oci_fetch, ok};

const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const EMPTY: &str = "application/vnd.oci.empty.v1+json";

/// `oci-fetch push --plain-http REF FILES…` run inside `dir` (titles are the relative names).
fn push_in(dir: &Path, reference: &str, files: &[&str], extra: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_oci-fetch"))
        .current_dir(dir)
        .env_remove("DOCKER_CONFIG")
        .env_remove("REGISTRY_AUTH_FILE")
        .args(["push", "--plain-http", reference])
        .args(files)
        .args(extra)
        .output()
        .expect("oci-fetch runs");
    assert!(
        out.status.success(),
        "push: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes `files` (name, content) into a new directory.
fn files(specs: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("dir");
    for (name, content) in specs {
        std::fs::write(dir.path().join(name), content).expect("write");
    }
    dir
}

/// Pulls with `--json` into a new directory; checks every file byte-exact.
fn pull_and_check(args: &[&str], expected: &[(&str, &[u8])]) -> serde_json::Value {
    let out = tempfile::tempdir().expect("dir");
    let dir = out.path().to_str().expect("utf-8");
    let mut all = vec!["pull", "--plain-http", "--json", "-o", dir];
    all.extend_from_slice(args);
    let v: serde_json::Value = serde_json::from_str(&ok(&all)).expect("json");
    let written = v["files"].as_array().expect("files").len();
    assert_eq!(written, expected.len(), "{v}");
    for (name, content) in expected {
        let got = std::fs::read(out.path().join(name)).expect(name);
        assert_eq!(&got[..], *content, "{name} byte-exact");
    }
    v
}

fn digest(data: &[u8]) -> Digest {
    oci_ref::digest_of(Algorithm::Sha256, data)
}

/// Pushes a manifest shaped exactly as the oras CLI's `oras push REF a b` (artifactType
/// `application/vnd.unknown.artifact.v1`, the empty config with its `data`, each layer
/// `application/vnd.oci.image.layer.v1.tar` titled, a creation annotation).
fn push_oras_cli_shape(host: &str, reference: &str, layers: &[(&str, &[u8])]) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        oci_client::install_crypto_provider();
        let client = Client::builder()
            .keychain(oci_auth::Keychain::empty())
            .plain_http(host)
            .build()
            .expect("client");
        let r: Reference = reference.parse().expect("reference");
        let repo = client.repository(&r).expect("repo");
        repo.push_blob(&digest(b"{}"), Bytes::from_static(b"{}"))
            .await
            .expect("config");
        let mut descs = Vec::new();
        for (title, data) in layers {
            repo.push_blob(&digest(data), Bytes::from(data.to_vec()))
                .await
                .expect("layer");
            descs.push(json!({
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": digest(data).as_str(), "size": data.len(),
                "annotations": {"org.opencontainers.image.title": title},
            }));
        }
        let body = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "artifactType": "application/vnd.unknown.artifact.v1",
            "config": {"mediaType": EMPTY, "digest": digest(b"{}").as_str(), "size": 2,
                       "data": "e30="},
            "layers": descs,
            "annotations": {"org.opencontainers.image.created": "2025-04-15T00:00:00Z"},
        }))
        .expect("json");
        let tag = r.tag().expect("tag");
        repo.push_manifest(
            &TagOrDigest::tag(tag).expect("tag"),
            Bytes::from(body),
            MANIFEST,
        )
        .await
        .expect("manifest");
    });
}

/// A plain HTTP/1.0 `GET` of `url` (`http://host:port/path`): the body of a `200`.
fn http_get(url: &str) -> Vec<u8> {
    use std::io::{Read as _, Write as _};
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').expect("path"));
    let mut conn = std::net::TcpStream::connect(host).expect("connect");
    write!(conn, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").expect("request");
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).expect("answer");
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("headers end");
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    assert!(
        head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"),
        "{head}"
    );
    answer[split + 4..].to_vec()
}

#[test]
fn our_multi_file_push_pulls_every_titled_file() {
    let registry = TestRegistry::start();
    let host = &registry.host;
    let reference = format!("{host}/multi/push:abc");
    let specs: [(&str, &[u8]); 3] = [
        ("a.txt", b"first file\n"),
        ("b.bin", &[0u8, 1, 2, 255]),
        ("c.json", b"{\"c\": true}"),
    ];
    let src = files(&specs);
    push_in(src.path(), &reference, &["a.txt", "b.bin", "c.json"], &[]);
    pull_and_check(&[&reference], &specs);

    // resolve says which rule set ran and why, and that there are three files.
    let explain = ok(&["resolve", "--plain-http", "--explain", &reference]);
    assert!(
        explain.contains("rule set: artifact") && explain.contains("oras pull"),
        "{explain}"
    );
    assert!(explain.contains("blob: none (3 files"), "{explain}");
    let v: serde_json::Value =
        serde_json::from_str(&ok(&["resolve", "--plain-http", "--json", &reference]))
            .expect("json");
    assert_eq!(v["rule_set"], "artifact");
    assert_eq!(v["blob_url"], serde_json::Value::Null);
}

#[test]
fn oras_cli_shaped_artifact_pulls_every_titled_file() {
    let registry = TestRegistry::start();
    let host = &registry.host;
    let reference = format!("{host}/multi/oras:v1");
    let specs: [(&str, &[u8]); 2] = [
        ("vmlinuz", b"kernel bytes"),
        ("initramfs.img", b"ramdisk bytes"),
    ];
    push_oras_cli_shape(host, &reference, &specs);
    let v = pull_and_check(&[&reference, "--arch", "any"], &specs);
    assert!(
        v["manifest_url"]
            .as_str()
            .expect("url")
            .contains("@sha256:")
    );
}

#[test]
fn index_of_multi_file_artifacts_is_pulled_by_platform() {
    let registry = TestRegistry::start();
    let host = &registry.host;
    for (tag, arch) in [("amd64", "amd64"), ("arm64", "arm64")] {
        let specs: [(&str, Vec<u8>); 2] = [
            ("ipa.kernel", format!("kernel {arch}").into_bytes()),
            ("ipa.initramfs", format!("ramdisk {arch}").into_bytes()),
        ];
        let refs: Vec<(&str, &[u8])> = specs.iter().map(|(n, c)| (*n, c.as_slice())).collect();
        let src = files(&refs);
        push_in(
            src.path(),
            &format!("{host}/multi/ipa:{tag}"),
            &["ipa.kernel", "ipa.initramfs"],
            &["--artifact-platform", &format!("linux/{arch}")],
        );
    }
    let index = format!("{host}/multi/ipa:latest");
    ok(&[
        "index",
        "create",
        "--plain-http",
        &index,
        "amd64,platform=linux/amd64",
        "arm64,platform=linux/arm64",
    ]);

    // The Ironic rule set refuses two-layer entries, and says so.
    let out = oci_fetch(&["resolve", "--plain-http", &index, "--arch", "arm64"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("only single-layer"), "{stderr}");

    // With --multi-file, the arm64 entry is chosen and both its files are written.
    pull_and_check(
        &[&index, "--arch", "aarch64", "--multi-file"],
        &[
            ("ipa.kernel", b"kernel arm64"),
            ("ipa.initramfs", b"ramdisk arm64"),
        ],
    );
    let explain = ok(&[
        "resolve",
        "--plain-http",
        "--explain",
        &index,
        "--arch",
        "x86_64",
        "--multi-file",
    ]);
    assert!(explain.contains("rule set: multi-file"), "{explain}");
    let help = ok(&["pull", "--help"]);
    assert!(help.contains("--multi-file"), "{help}");
}

#[test]
fn mirror_alone_serves_resolve_and_pull_with_primary_unreachable() {
    let registry = TestRegistry::start();
    let mirror = &registry.host;
    // The primary is a closed loopback port: every request to it fails to connect.
    let primary = "127.0.0.1:1";
    let content: &[u8] = b"only the mirror has this disk";
    let src = files(&[("disk.raw", content)]);
    push_in(
        src.path(),
        &format!("{mirror}/mirror-ns/disk:v1"),
        &["disk.raw"],
        &[],
    );
    let conf_dir = tempfile::tempdir().expect("dir");
    let conf = conf_dir.path().join("registries.conf");
    std::fs::write(
        &conf,
        format!(
            "[[registry]]\nprefix = \"{primary}/ns\"\nlocation = \"{primary}/ns\"\n\
             insecure = true\n[[registry.mirror]]\nlocation = \"{mirror}/mirror-ns\"\n\
             insecure = true\n"
        ),
    )
    .expect("conf");
    let conf = conf.to_str().expect("utf-8");
    let reference = format!("{primary}/ns/disk:v1");

    let v: serde_json::Value = serde_json::from_str(&ok(&[
        "resolve",
        "--registries-conf",
        conf,
        "--json",
        "--download-source",
        "http",
        &reference,
    ]))
    .expect("json");
    assert_eq!(v["source"]["kind"], "mirror", "{v}");
    assert_eq!(
        v["source"]["location"],
        format!("{mirror}/mirror-ns/disk:v1")
    );
    let blob_url = v["blob_url"].as_str().expect("blob url");
    let expected = format!(
        "http://{mirror}/v2/mirror-ns/disk/blobs/{}",
        v["blob_digest"].as_str().expect("digest")
    );
    assert_eq!(blob_url, expected);
    // The URL serves the blob (what a machine told to fetch it would get).
    assert_eq!(http_get(blob_url), content);
    assert!(v.get("authorization").is_none(), "never printed unasked");
    let with_auth: serde_json::Value = serde_json::from_str(&ok(&[
        "resolve",
        "--registries-conf",
        conf,
        "--json",
        "--show-authorization",
        &reference,
    ]))
    .expect("json");
    assert_eq!(
        with_auth["authorization"],
        serde_json::Value::Null,
        "an anonymous registry needs no header"
    );

    let out = tempfile::tempdir().expect("dir");
    let dir = out.path().to_str().expect("utf-8");
    ok(&["pull", "--registries-conf", conf, "-o", dir, &reference]);
    assert_eq!(
        std::fs::read(out.path().join("disk.raw")).expect("pulled"),
        content
    );
}

#[test]
fn show_authorization_prints_the_header_for_the_blob_url_only_when_asked() {
    let registry = TestRegistry::start_with(&conformance::RegistryOptions::htpasswd([(
        "alice",
        "wonderland",
    )]));
    let host = &registry.host;
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("config.json");
    let basic = "YWxpY2U6d29uZGVybGFuZA==";
    std::fs::write(
        &config,
        format!(r#"{{"auths": {{"{host}": {{"auth": "{basic}"}}}}}}"#),
    )
    .expect("config");
    let config = config.to_str().expect("utf-8");
    let src = files(&[("disk.raw", b"secret disk")]);
    let reference = format!("{host}/auth/disk:v1");
    push_in(
        src.path(),
        &reference,
        &["disk.raw"],
        &["--registry-config", config],
    );
    let plain = ok(&[
        "resolve",
        "--plain-http",
        "--registry-config",
        config,
        "--json",
        &reference,
    ]);
    assert!(!plain.contains(basic), "never printed unasked: {plain}");
    let v: serde_json::Value = serde_json::from_str(&ok(&[
        "resolve",
        "--plain-http",
        "--registry-config",
        config,
        "--json",
        "--show-authorization",
        &reference,
    ]))
    .expect("json");
    assert_eq!(v["authorization"], format!("Basic {basic}"));
    assert_eq!(v["source"]["kind"], "primary");
}
