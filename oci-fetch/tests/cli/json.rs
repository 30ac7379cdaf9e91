//! The `--json` contract of every command (documented in `docs/json.md`), one `insta` snapshot
//! per schema, taken against a real registry ([`TestRegistry`]) here or, with [`snapshot`], by
//! the tests that set up what a command needs (`login`/`logout` with a credential helper in
//! `credentials`, `mirror` with two registries in `mirror`). Field names, their order and
//! the values are the contract; what changes from run to run is redacted: the registry's
//! address (`<registry>`), the scratch directory (`<dir>`), and digests, numbered in order of
//! first appearance (`<digest-1>`, …) so that a digest repeated across fields stays visibly
//! the same.

use std::path::Path;

use crate::TestRegistry;
use crate::publish::{CREATED, write};

/// Replaces every `sha256:<64 hex>` in `text` by `<digest-N>`, the same N for the same digest.
fn number_digests(text: &str) -> String {
    let mut seen: Vec<String> = Vec::new();
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("sha256:") {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let hex: String = from["sha256:".len()..]
            .chars()
            .take_while(char::is_ascii_hexdigit)
            .collect();
        if hex.len() != 64 {
            out.push_str("sha256:");
            rest = &from["sha256:".len()..];
            continue;
        }
        let digest = format!("sha256:{hex}");
        let n = match seen.iter().position(|d| *d == digest) {
            Some(i) => i + 1,
            None => {
                seen.push(digest.clone());
                seen.len()
            }
        };
        out.push_str(&format!("<digest-{n}>"));
        rest = &from[digest.len()..];
    }
    out.push_str(rest);
    out
}

/// Snapshots `stdout`, what `oci-fetch ARGS` printed, as `json_<name>` after checking that it
/// is one JSON object: each `(text, placeholder)` of `redact` replaced (longest text first, so
/// that a registry address that is a prefix of another stays apart), then digests numbered.
/// Returns the parsed value.
pub(crate) fn snapshot(
    name: &str,
    args: &[&str],
    stdout: &str,
    redact: &[(&str, &str)],
) -> serde_json::Value {
    let value: serde_json::Value = serde_json::from_str(stdout)
        .unwrap_or_else(|e| panic!("{args:?}: not one JSON value ({e}): {stdout}"));
    assert!(value.is_object(), "{args:?}: an object: {stdout}");
    let mut redact = redact.to_vec();
    redact.sort_by_key(|(text, _)| std::cmp::Reverse(text.len()));
    let redacted = |s: &str| {
        let s = redact.iter().fold(s.to_owned(), |s, (text, placeholder)| {
            s.replace(text, placeholder)
        });
        number_digests(&s)
    };
    let command = redacted(&format!("oci-fetch {}", args.join(" ")));
    insta::assert_snapshot!(
        format!("json_{name}"),
        redacted(stdout.trim_end()),
        &command
    );
    value
}

/// Runs `oci-fetch ARGS --plain-http` in `dir`, expects success and one JSON value on stdout,
/// and snapshots it (redacted) as `json_<name>`. Returns the parsed value.
fn check(name: &str, registry: &TestRegistry, dir: &Path, args: &[&str]) -> serde_json::Value {
    check_with(name, registry, dir, args, str::to_owned)
}

/// [`check`] with stdout passed through `edit` before the snapshot.
fn check_with(
    name: &str,
    registry: &TestRegistry,
    dir: &Path,
    args: &[&str],
    edit: impl Fn(&str) -> String,
) -> serde_json::Value {
    let stdout = edit(&crate::publish::check_ok(dir, args));
    let dir = dir.display().to_string();
    snapshot(
        name,
        &[args, &["--plain-http"]].concat(),
        &stdout,
        &[(&dir, "<dir>"), (&registry.host, "<registry>")],
    )
}

#[test]
fn every_command_prints_its_documented_json() {
    let registry = TestRegistry::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    write(d, "hello.txt", b"hello\n");
    write(d, "sig.json", b"{\"signature\":1}\n");
    let host = &registry.host;
    let v1 = format!("{host}/json/app:v1");
    let run = |name: &str, args: &[&str]| check(name, &registry, d, args);

    let pushed = run("push", &["push", &v1, "hello.txt", "-a", CREATED, "--json"]);
    let digest = pushed["digest"].as_str().expect("digest").to_owned();
    run(
        "attach",
        &[
            "attach",
            "--artifact-type",
            "application/vnd.example.sig",
            &v1,
            "sig.json",
            "-a",
            CREATED,
            "--json",
        ],
    );
    run("discover", &["discover", &v1, "--json"]);
    let tagged = run("tag", &["tag", &v1, "v2", "--json"]);
    assert_eq!(
        tagged["artifactType"],
        "application/vnd.unknown.artifact.v1"
    );
    let repo = format!("{host}/json/app");
    let tags = check_with(
        "tags",
        &registry,
        d,
        &["tags", &repo, "--json"],
        tags_sorted,
    );
    assert_eq!(tags["tags"].as_array().map(Vec::len), Some(3), "{tags}");
    run("repo_ls", &["repo", "ls", host, "--json"]);
    run(
        "index_create",
        &[
            "index",
            "create",
            &format!("{host}/json/app:index"),
            "v1,platform=linux/amd64",
            "--json",
        ],
    );
    run(
        "manifest_fetch_descriptor",
        &["manifest", "fetch", "--descriptor", &v1],
    );
    run("manifest_fetch", &["manifest", "fetch", &v1, "--json"]);
    run(
        "copy",
        &["copy", &v1, &format!("{host}/json/copy:v1"), "--json"],
    );
    run("pull", &["pull", &v1, "-o", "pulled", "--json"]);
    let layer = crate::publish::manifest_json(host, "json/app", "v1")["layers"][0]["digest"]
        .as_str()
        .expect("layer digest")
        .to_owned();
    let blob = format!("{repo}@{layer}");
    run(
        "blob_fetch",
        &["blob", "fetch", &blob, "-o", "blob.txt", "--json"],
    );
    run(
        "manifest_delete",
        &[
            "manifest",
            "delete",
            "--force",
            &format!("{host}/json/copy:v1"),
            "--json",
        ],
    );
    run("blob_delete", &["blob", "delete", &blob, "--json"]);
    assert!(digest.starts_with("sha256:"));
}

/// `tags --json`'s line with its `tags` array sorted, the rest exactly as printed: a registry
/// lists tags in its own order (distribution 2.8 in its storage's, which differs between file
/// systems; see `docs/json.md`), so the contract is the fields and the set of tags.
fn tags_sorted(stdout: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(stdout).expect("tags --json: JSON");
    let listed = serde_json::to_string(&value["tags"]).expect("JSON");
    let mut tags: Vec<String> =
        serde_json::from_value(value["tags"].clone()).expect("tags: a list of strings");
    tags.sort();
    let sorted = serde_json::to_string(&tags).expect("JSON");
    assert_eq!(
        stdout.matches(&listed).count(),
        1,
        "one tags array: {stdout}"
    );
    stdout.replacen(&listed, &sorted, 1)
}

#[test]
fn digests_are_numbered_by_first_appearance() {
    let a = format!("sha256:{}", "a".repeat(64));
    let b = format!("sha256:{}", "b".repeat(64));
    assert_eq!(
        number_digests(&format!("{b} x@{a} {b} sha256:short")),
        "<digest-1> x@<digest-2> <digest-1> sha256:short"
    );
}
