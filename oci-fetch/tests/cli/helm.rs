//! Helm charts (Quay's chapter): a chart layer without a title is pulled as
//! `<name>-<version>.tgz`, the name `helm pull` gives it, read from the chart's config; and
//! `resolve` reports the same `filename` (invariant 8). Against a real registry; the chart
//! manifests are written as `helm push` writes them (no title), byte for byte over HTTP.

use std::path::Path;

use crate::TestRegistry;
use crate::publish::{check_ok, http_put_manifest, write};

const CHART: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
const CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";
const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// The chart archive's bytes (a gzip header and some bytes; nothing reads inside).
const ARCHIVE: &[u8] = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03etherpad chart";

/// Uploads `config` and the chart archive into `repo` (through a titled staging push), then
/// writes a `helm push`-style manifest (no title on the chart layer) under `tag`.
fn push_chart(d: &Path, host: &str, repo: &str, tag: &str, config: &[u8]) -> String {
    write(d, "config.json", config);
    write(d, "chart.tgz", ARCHIVE);
    check_ok(
        d,
        &[
            "push",
            &format!("{host}/{repo}:staging-{tag}"),
            &format!("chart.tgz:{CHART}"),
            "--config",
            &format!("config.json:{CONFIG}"),
        ],
    );
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": {"mediaType": CONFIG, "digest": oci_testkit::sha256(config), "size": config.len()},
        "layers": [{"mediaType": CHART, "digest": oci_testkit::sha256(ARCHIVE), "size": ARCHIVE.len()}],
        "annotations": {"org.opencontainers.image.created": "2024-03-17T08:42:37Z"}
    });
    let body = serde_json::to_vec(&manifest).expect("JSON");
    let status = http_put_manifest(
        host,
        &format!("/v2/{repo}/manifests/{tag}"),
        MANIFEST,
        &body,
    );
    assert_eq!(status, Some(201), "PUT the chart manifest");
    oci_testkit::sha256(&body)
}

/// Runs `oci-fetch ARGS --plain-http` in `dir` expecting nothing on stdout; returns the exit
/// code and stderr.
fn fails(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = crate::oras::run(dir, args);
    assert!(out.stdout.is_empty());
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn resolved_filename(d: &Path, reference: &str) -> serde_json::Value {
    let json: serde_json::Value =
        serde_json::from_str(&check_ok(d, &["resolve", reference, "--json"])).expect("JSON");
    json["filename"].clone()
}

#[test]
fn an_untitled_chart_is_named_as_helm_pull_names_it() {
    let registry = TestRegistry::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let host = &registry.host;
    let config = br#"{"apiVersion":"v2","name":"etherpad","version":"0.0.4","type":"application"}"#;
    let digest = push_chart(d, host, "charts/etherpad", "0.0.4", config);
    let by_tag = format!("{host}/charts/etherpad:0.0.4");
    let by_digest = format!("{host}/charts/etherpad@{digest}");
    for reference in [&by_tag, &by_digest] {
        assert_eq!(resolved_filename(d, reference), "etherpad-0.0.4.tgz");
        let out = d.join(format!("out-{}", reference.len()));
        check_ok(
            d,
            &["pull", reference, "-o", out.to_str().expect("UTF-8 path")],
        );
        let names: Vec<_> = std::fs::read_dir(&out)
            .expect("pulled")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["etherpad-0.0.4.tgz"]);
        assert_eq!(
            std::fs::read(out.join("etherpad-0.0.4.tgz")).expect("read"),
            ARCHIVE
        );
    }
    // A title, when the layer has one, still names the file.
    assert_eq!(
        resolved_filename(d, &format!("{host}/charts/etherpad:staging-0.0.4")),
        "chart.tgz"
    );
}

#[test]
fn a_chart_config_that_names_no_plain_file_is_an_error() {
    let registry = TestRegistry::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let host = &registry.host;
    for (tag, config, problem) in [
        (
            "escape",
            &br#"{"name":"../../etc","version":"1"}"#[..],
            "not a plain file name",
        ),
        ("noversion", br#"{"name":"etherpad"}"#, "no chart `version`"),
        ("notjson", b"name: etherpad", "not a JSON object"),
    ] {
        push_chart(d, host, "charts/bad", tag, config);
        let reference = format!("{host}/charts/bad:{tag}");
        for command in [
            vec!["resolve", &reference],
            vec!["pull", &reference, "-o", "out"],
        ] {
            let (code, stderr) = fails(d, &command);
            assert_eq!(code, Some(1), "{command:?}: {stderr}");
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
            assert!(
                stderr.contains("Helm chart config") && stderr.contains(problem),
                "{stderr}"
            );
        }
        assert!(!d.join("out").exists(), "nothing pulled");
    }
}
