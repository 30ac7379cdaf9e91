//! `oci-fetch push`, `attach`, `discover`, `index create` and `tag` as a user runs them: bad
//! input without a registry, and the ORAS walkthrough and Ironic recipes against a real CNCF
//! distribution registry from the conformance harness ([`TestRegistry`]).

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

pub(crate) fn write(dir: &Path, name: &str, content: &[u8]) {
    std::fs::write(dir.join(name), content).expect("write test file");
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

/// The seed walkthrough: push a YAML with an artifact type, attach a signature, attach an
/// SBOM, sign the SBOM, discover the tree — on distribution 2.8, so through the fallback tags.
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

    let yaml = check_ok(
        d,
        &[
            "push",
            &v1,
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

    let attach = |subject: &str, file: &str, artifact_type: &str| {
        check_ok(
            d,
            &[
                "attach",
                subject,
                "--artifact-type",
                artifact_type,
                file,
                "-a",
                CREATED,
            ],
        )
    };
    let signature = attach(
        &v1,
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
    assert_eq!(signed["subject"]["digest"], yaml.as_str());
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

    let tree = check_ok(d, &["discover", &v1]);
    let expected = [
        format!("{host}/oras/test@{yaml}"),
        "├── application/vnd.example.signature.v1+json".to_owned(),
        format!("│   └── {signature}"),
        "└── application/vnd.example.sbom.v1+json".to_owned(),
        format!("    └── {sbom}"),
        "        └── application/vnd.example.signature.v1+json".to_owned(),
        format!("            └── {sbom_signature}"),
    ];
    assert_eq!(tree, expected.join("\n"));

    let json: serde_json::Value =
        serde_json::from_str(&check_ok(d, &["discover", &v1, "-o", "json"])).expect("JSON");
    assert_eq!(json["digest"], yaml.as_str());
    assert_eq!(json["artifactType"], "application/vnd.example.manifests.v1");
    assert_eq!(
        json["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(json["referrers"][1]["digest"], sbom.as_str());
    assert_eq!(
        json["referrers"][1]["referrers"][0]["digest"],
        sbom_signature.as_str()
    );
    assert_eq!(
        json["referrers"][0]["referrers"],
        serde_json::json!([]),
        "the YAML's signature has no referrers"
    );

    let shallow: serde_json::Value = serde_json::from_str(&check_ok(
        d,
        &["discover", &v1, "-o", "json", "--depth", "1"],
    ))
    .expect("JSON");
    assert_eq!(shallow["referrers"][1]["referrers"], serde_json::json!([]));

    let filtered: serde_json::Value = serde_json::from_str(&check_ok(
        d,
        &[
            "discover",
            &v1,
            "-o",
            "json",
            "--artifact-type",
            "application/vnd.example.sbom.v1+json",
        ],
    ))
    .expect("JSON");
    let referrers = filtered["referrers"].as_array().expect("array");
    assert_eq!(referrers.len(), 1);
    assert_eq!(referrers[0]["digest"], sbom.as_str());

    let table = check_ok(d, &["discover", &v1, "-o", "table"]);
    assert_eq!(
        table,
        format!(
            "ARTIFACT TYPE                              DIGEST\n\
             application/vnd.example.signature.v1+json  {signature}\n\
             application/vnd.example.sbom.v1+json       {sbom}"
        )
    );
}

/// Ironic's recipe (`oras push -a disktype=qcow2 --artifact-platform linux/x86_64`) and the
/// multi-artifact index over such pushes.
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
    assert_eq!(entries[0]["digest"], x86.as_str());
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
    assert_eq!(entries[1]["digest"], arm.as_str());
    assert_eq!(
        entries[1]["platform"],
        serde_json::json!({"architecture": "arm64", "os": "linux", "variant": "v8"})
    );
    assert_eq!(entries[1]["annotations"]["disktype"], "applehv");
    assert_eq!(
        entries[1]["artifactType"],
        "application/vnd.unknown.artifact.v1"
    );

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

/// Runs `oci-fetch ARGS` in `dir` without `--plain-http` (no registry involved); expects
/// success, returns stdout trimmed.
fn check_ok_offline(dir: &Path, args: &[&str]) -> String {
    run_ok(dir, args, false)
}

/// The seed walkthrough with `--oci-layout` (like `oras push/attach/discover --oci-layout`):
/// the same manifests as in a registry, referrers listed untagged in `index.json`, and `tag`,
/// `index create` and `pull` working on the layout too.
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
    let blob = |digest: &str| {
        std::fs::read(d.join("layout/blobs/sha256").join(&digest[7..])).expect("blob in layout")
    };
    // Byte for byte the manifest the registry walkthrough pushes (572 bytes).
    let manifest: serde_json::Value = serde_json::from_slice(&blob(&yaml)).expect("JSON");
    assert_eq!(blob(&yaml).len(), 572);
    assert_eq!(
        manifest["layers"][0]["digest"],
        "sha256:d6f2a1f4c15637d087a577dbbb85bc2c6809b70326308ebdb3abe601640e4f41"
    );
    assert_eq!(
        blob(manifest["layers"][0]["digest"].as_str().expect("digest")),
        NAMESPACE_YAML.as_bytes()
    );

    let attach = |subject: &str, file: &str, artifact_type: &str| {
        check_ok_offline(
            d,
            &[
                "attach",
                "--oci-layout",
                subject,
                "--artifact-type",
                artifact_type,
                file,
                "-a",
                CREATED,
            ],
        )
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
    let referrer: serde_json::Value = serde_json::from_slice(&blob(&signature)).expect("JSON");
    assert_eq!(referrer["subject"]["digest"], yaml.as_str());

    // index.json: the tagged push, then each referrer untagged, once.
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
            (yaml.as_str(), Some("v1")),
            (signature.as_str(), None),
            (sbom.as_str(), None),
            (sbom_signature.as_str(), None),
        ]
    );

    let tree = check_ok_offline(d, &["discover", "--oci-layout", "layout:v1"]);
    let expected = [
        format!("layout@{yaml}"),
        "├── application/vnd.example.signature.v1+json".to_owned(),
        format!("│   └── {signature}"),
        "└── application/vnd.example.sbom.v1+json".to_owned(),
        format!("    └── {sbom}"),
        "        └── application/vnd.example.signature.v1+json".to_owned(),
        format!("            └── {sbom_signature}"),
    ];
    assert_eq!(tree, expected.join("\n"));
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
    assert_eq!(filtered["referrers"][0]["digest"], sbom.as_str());

    // tag, index create and pull on the same layout.
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
    let built: serde_json::Value = serde_json::from_slice(&blob(&indexed)).expect("JSON");
    assert_eq!(built["manifests"][0]["digest"], yaml.as_str());
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
