//! oras's flags and verbs with oras's meaning, against a real CNCF distribution registry
//! ([`TestRegistry`]; distribution 2.8 has no referrers API) and, for what no real registry does,
//! a hostile one (`oci-testkit`): `--distribution-spec`, `discover --format`, `repo tags|ls`,
//! `manifest fetch --pretty`, `manifest delete` by tag with `--force` or a confirmation,
//! `blob fetch -o -`, and `push` with annotations only.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use oci_testkit::server::{Reply, Server};

use crate::publish::{CREATED, check_ok, manifest_json, write};
use crate::{TestRegistry, listed_tags};

/// Runs `oci-fetch ARGS --plain-http` in `dir`; returns the output, whatever the status.
pub(crate) fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oci-fetch"))
        .args(args)
        .arg("--plain-http")
        .current_dir(dir)
        .env_remove("DOCKER_CONFIG")
        .env_remove("REGISTRY_AUTH_FILE")
        .stdin(Stdio::null())
        .output()
        .expect("the oci-fetch binary runs")
}

/// Asserts that `out` failed with `code` and one stderr line containing `needle`.
fn check_failed(out: &Output, code: i32, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(needle), "{needle:?} in {stderr}");
}

/// The digests of the referrers `discover` lists directly under the subject.
fn referrer_digests(d: &Path, subject: &str, spec: Option<&str>) -> Vec<String> {
    let mut args = vec!["discover", subject, "--format", "json"];
    if let Some(spec) = spec {
        args.extend(["--distribution-spec", spec]);
    }
    let tree: serde_json::Value = serde_json::from_str(&check_ok(d, &args)).expect("JSON");
    tree["referrers"]
        .as_array()
        .expect("referrers")
        .iter()
        .map(|r| r["digest"].as_str().expect("digest").to_owned())
        .collect()
}

/// Quay's chapter: attach and discover with `--distribution-spec v1.1-referrers-tag` and
/// `v1.1-referrers-api`, on a registry without the referrers API.
#[test]
fn distribution_spec_chooses_where_referrers_are_recorded_and_read() {
    let registry = TestRegistry::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    write(d, "hi.txt", b"hi\n");
    let host = &registry.host;
    let v1 = format!("{host}/quay/spec:v1");
    let subject = check_ok(d, &["push", &v1, "hi.txt", "-a", CREATED]);
    let attach = |spec: &str| {
        check_ok(
            d,
            &[
                "attach",
                "--artifact-type",
                "doc/example",
                "--distribution-spec",
                spec,
                &v1,
                "hi.txt",
                "-a",
                CREATED,
                "-a",
                &format!("spec={spec}"),
            ],
        )
    };
    let by_tag = attach("v1.1-referrers-tag");
    let fallback = format!("sha256-{}", &subject[7..]);
    assert_eq!(
        manifest_json(host, "quay/spec", &fallback)["manifests"][0]["digest"],
        by_tag.as_str()
    );
    // Recorded with the API only: the registry has none, so nothing lists it...
    let by_api = attach("v1.1-referrers-api");
    assert_eq!(
        manifest_json(host, "quay/spec", &by_api)["subject"]["digest"],
        subject.as_str()
    );
    for spec in [None, Some("v1.1-referrers-tag")] {
        assert_eq!(
            referrer_digests(d, &v1, spec),
            [by_tag.as_str()],
            "{spec:?}"
        );
    }
    // ...and asking the API only is an error, not a silent fallback to the tag.
    let out = run(
        d,
        &["discover", &v1, "--distribution-spec", "v1.1-referrers-api"],
    );
    check_failed(&out, 1, "no referrers API");
    assert!(out.stdout.is_empty());
}

#[test]
fn discover_format_is_the_output_flag() {
    let registry = TestRegistry::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    write(d, "a.txt", b"a");
    let v1 = format!("{}/fmt/d:v1", registry.host);
    check_ok(d, &["push", &v1, "a.txt", "-a", CREATED]);
    check_ok(
        d,
        &[
            "attach",
            "--artifact-type",
            "doc/x",
            &v1,
            "a.txt",
            "-a",
            CREATED,
        ],
    );
    for format in ["tree", "table", "json"] {
        assert_eq!(
            check_ok(d, &["discover", &v1, "--format", format]),
            check_ok(d, &["discover", &v1, "-o", format]),
            "{format}"
        );
    }
}

/// Quay's expiry recipe: `oras push --annotation quay.expires-after=2d REF` pushes no file.
#[test]
fn push_with_annotations_only() {
    let registry = TestRegistry::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let host = &registry.host;
    let digest = check_ok(
        d,
        &[
            "push",
            &format!("{host}/quay/expiring:v1"),
            "--annotation",
            "quay.expires-after=2d",
            "-a",
            CREATED,
        ],
    );
    let manifest = manifest_json(host, "quay/expiring", "v1");
    let empty = serde_json::json!({
        "mediaType": "application/vnd.oci.empty.v1+json",
        "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
        "size": 2,
        "data": "e30="
    });
    assert_eq!(manifest["config"], empty);
    assert_eq!(manifest["layers"], serde_json::json!([empty]));
    assert_eq!(
        manifest["artifactType"],
        "application/vnd.unknown.artifact.v1"
    );
    assert_eq!(manifest["annotations"]["quay.expires-after"], "2d");
    assert_eq!(
        check_ok(
            d,
            &[
                "manifest",
                "fetch",
                "--descriptor",
                &format!("{host}/quay/expiring:v1")
            ]
        ),
        format!(
            r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{digest}","size":{}}}"#,
            crate::publish::manifest_bytes(host, "quay/expiring", "v1").len()
        )
    );
    // With a config of its own, the empty layer is uploaded as a blob too.
    write(d, "config.json", b"{\"x\":1}");
    check_ok(
        d,
        &[
            "push",
            &format!("{host}/quay/configured:v1"),
            "--config",
            "config.json:application/vnd.example.config+json",
            "-a",
            CREATED,
        ],
    );
    assert_eq!(
        manifest_json(host, "quay/configured", "v1")["layers"],
        serde_json::json!([empty])
    );
    let blob = format!(
        "{host}/quay/configured@sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    );
    assert_eq!(check_ok(d, &["blob", "fetch", "-o", "-", &blob]), "{}");
}

#[test]
fn repo_tags_and_repo_ls() {
    let registry = TestRegistry::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    write(d, "a.txt", b"a");
    let host = &registry.host;
    for tag in ["v1", "v2"] {
        check_ok(d, &["push", &format!("{host}/listed/one:{tag}"), "a.txt"]);
    }
    check_ok(d, &["push", &format!("{host}/listed/two:v1"), "a.txt"]);
    let repo = format!("{host}/listed/one");
    // In the registry's order, its own (see `listed_tags`): compared as sets.
    let mut repo_tags: Vec<String> = check_ok(d, &["repo", "tags", &repo])
        .lines()
        .map(str::to_owned)
        .collect();
    repo_tags.sort();
    assert_eq!(repo_tags, ["v1", "v2"]);
    assert_eq!(repo_tags, listed_tags(&repo));
    assert_eq!(check_ok(d, &["repo", "ls", host]), "listed/one\nlisted/two");
    assert_eq!(
        check_ok(
            d,
            &["repo", "ls", &format!("oci://{host}"), "--page-size", "1"]
        ),
        "listed/one\nlisted/two"
    );
}

#[test]
fn manifest_fetch_pretty_indents_the_same_document() {
    let registry = TestRegistry::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    write(d, "a.txt", b"a");
    let v1 = format!("{}/pretty/m:v1", registry.host);
    // A string holding JSON punctuation and an escaped quote stays as it is.
    let tricky = r#"note=say "{[a, b]}": \ {}"#;
    check_ok(d, &["push", &v1, "a.txt", "-a", CREATED, "-a", tricky]);
    let raw = check_ok(d, &["manifest", "fetch", &v1]);
    let pretty = check_ok(d, &["manifest", "fetch", "--pretty", &v1]);
    assert!(!raw.contains('\n'));
    // Members keep the order of the bytes (the raw output starts with schemaVersion too).
    assert!(raw.starts_with(r#"{"schemaVersion":2,"#), "{raw}");
    assert!(
        pretty.starts_with("{\n  \"schemaVersion\": 2,\n  \""),
        "{pretty}"
    );
    assert!(
        pretty.contains(r#""note": "say \"{[a, b]}\": \\ {}""#),
        "{pretty}"
    );
    let parse = |s: &str| serde_json::from_str::<serde_json::Value>(s).expect("JSON");
    assert_eq!(parse(&raw), parse(&pretty));
}

/// Runs `oci-fetch ARGS --plain-http` under `script`, so that stdin and stderr are a terminal,
/// typing `answer`; returns the exit status and everything the terminal showed.
fn run_on_a_terminal(args: &[&str], answer: &str) -> (Option<i32>, String) {
    let args = [args, &["--plain-http"]].concat();
    let mut child = crate::tty::under_script(&args)
        .spawn()
        .expect("script(1) runs");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(answer.as_bytes()).expect("type the answer");
    }
    let out = child.wait_with_output().expect("script finishes");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn manifest_delete_by_tag_resolves_and_confirms() {
    let registry = TestRegistry::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    write(d, "a.txt", b"a");
    let host = &registry.host;
    let tagged = |tag: &str| format!("{host}/del/m:{tag}");
    let exists = |tag: &str| {
        run(d, &["manifest", "fetch", &tagged(tag)])
            .status
            .success()
    };
    let first = check_ok(d, &["push", &tagged("v1"), "a.txt", "-a", CREATED]);
    check_ok(d, &["tag", &tagged("v1"), "also"]);

    // No terminal to ask and no --force: bad input, nothing deleted.
    let out = run(d, &["manifest", "delete", &tagged("v1")]);
    check_failed(&out, 2, "--force");
    assert!(exists("v1"));

    // On a terminal: "n" keeps it, "y" deletes the manifest (both tags go).
    let (code, screen) = run_on_a_terminal(&["manifest", "delete", &tagged("v1")], "n\n");
    assert_eq!(code, Some(1), "{screen}");
    assert!(
        screen.contains(&format!("delete the manifest {first}")),
        "{screen}"
    );
    assert!(screen.contains("cancelled"), "{screen}");
    assert!(exists("v1"));
    let (code, screen) = run_on_a_terminal(&["manifest", "delete", &tagged("v1")], "y\n");
    assert_eq!(code, Some(0), "{screen}");
    assert!(!exists("v1") && !exists("also"));

    // --force (oras's -f) asks nothing.
    let second = check_ok(d, &["push", &tagged("v2"), "a.txt"]);
    let out = run(d, &["manifest", "delete", "-f", &tagged("v2")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        format!("deleted {host}/del/m@{second}")
    );
    assert!(!exists("v2"));
}

#[test]
fn blob_fetch_to_stdout_streams_the_verified_bytes() {
    let registry = TestRegistry::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(d.join("big.bin"), &content).expect("write");
    let host = &registry.host;
    check_ok(d, &["push", &format!("{host}/stream/b:v1"), "big.bin"]);
    let digest = oci_testkit::sha256(&content);
    let out = run(
        d,
        &[
            "blob",
            "fetch",
            "-o",
            "-",
            &format!("{host}/stream/b@{digest}"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout == content, "stdout is the blob");
    assert!(out.stderr.is_empty());
    assert!(!d.join("-").exists(), "no file named -");
}

/// A registry that serves the blob with one byte flipped: every byte reaches stdout, and the
/// exit status says they are not the blob.
#[test]
fn blob_fetch_to_stdout_fails_at_the_end_when_the_digest_does_not_match() {
    let content = vec![7u8; 100_000];
    let digest = oci_testkit::sha256(&content);
    let mut flipped = content.clone();
    flipped[99_999] ^= 1;
    let server = Server::start(move |req| {
        if req.path().starts_with("/v2/app/blobs/") {
            Reply::new(200)
                .header("Content-Type", "application/octet-stream")
                .body(flipped.clone())
        } else {
            Reply::new(200)
        }
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let reference = format!("{}/app@{digest}", server.addr());
    let out = run(dir.path(), &["blob", "fetch", "-o", "-", &reference]);
    check_failed(&out, 1, "digest mismatch");
    assert_eq!(out.stdout.len(), content.len(), "the bytes were streamed");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not the blob"));
}
