//! How failures read: each cause once, and the flag that would have helped named by the
//! binary (`--plain-http`, `--overwrite`); the man page and completions generated from the
//! same definitions as `--help`.

use crate::pull::example_dir;
use crate::{TestRegistry, oci_fetch, ok, subcommands};

/// Runs `args`, expects exit 1 and returns the one stderr line.
fn failed(args: &[&str]) -> String {
    let out = oci_fetch(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: one line: {stderr}");
    stderr
}

/// `run`s a pull of the example layout's aarch64 disk into `out`.
fn pull_example(out: &str, run: fn(&[&str]) -> String) -> String {
    let layout = format!("{}:fedora-42", example_dir().display());
    run(&[
        "pull",
        "--oci-layout",
        &layout,
        "--arch",
        "aarch64",
        "-o",
        out,
    ])
}

#[test]
fn https_to_a_plain_http_registry_names_plain_http() {
    let registry = TestRegistry::start();
    let line = failed(&["tags", &format!("{}/cli/errors", registry.host)]);
    assert!(
        line.contains("server gave HTTP response to HTTPS client"),
        "{line}"
    );
    assert!(line.contains("pass --plain-http"), "{line}");
}

#[test]
fn refusing_to_overwrite_names_overwrite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().to_str().expect("utf-8");
    pull_example(out, ok);
    let line = pull_example(out, failed);
    assert!(line.contains("refusing to overwrite"), "{line}");
    assert!(line.contains("pass --overwrite"), "{line}");
}

#[test]
fn each_cause_is_printed_once() {
    // Creating a file in /proc/self fails; the library's error says so in its message and
    // again down its `source()` chain.
    let line = pull_example("/proc/self", failed);
    assert_eq!(line.matches("(os error").count(), 1, "{line}");
    assert_eq!(line.matches("create temporary file").count(), 1, "{line}");
}

#[test]
fn the_man_page_and_completions_cover_every_subcommand() {
    let names = subcommands(&[]);
    assert!(names.len() > 10, "{names:?}");
    let man = ok(&["generate", "man"]);
    assert!(man.contains(".TH oci-fetch 1"), "a roff man page: {man}");
    for name in &names {
        assert!(
            man.contains(&format!("oci\\-fetch\\-{}", name.replace('-', "\\-"))),
            "the man page lists {name}"
        );
    }
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = ok(&["generate", shell]);
        for name in &names {
            assert!(script.contains(name.as_str()), "{shell} completes {name}");
        }
    }
}

#[test]
fn a_failed_compression_peek_names_the_blob_once() {
    let registry = TestRegistry::start();
    let host = &registry.host;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("disk.img");
    std::fs::write(&file, b"disk").expect("write");
    let reference = format!("{host}/cli/peek:v1");
    // The default (generic) media type: `resolve` reads the blob's first bytes.
    ok(&[
        "push",
        "--plain-http",
        &reference,
        file.to_str().expect("utf-8"),
    ]);
    let manifest = ok(&["manifest", "fetch", "--plain-http", &reference]);
    let manifest: serde_json::Value = serde_json::from_str(&manifest).expect("manifest JSON");
    let layer = manifest["layers"][0]["digest"].as_str().expect("a layer");
    let blob = format!("{host}/cli/peek@{layer}");
    ok(&["blob", "delete", "--plain-http", &blob]);

    let line = failed(&["resolve", "--plain-http", &reference]);
    assert!(
        line.starts_with(&format!(
            "error: blob {layer}: reading its first bytes to tell its compression: "
        )),
        "{line}"
    );
    // Named once in words; the failed request's URL holds it too.
    let url = format!("http://{host}/v2/cli/peek/blobs/{layer}");
    assert!(line.contains(&url), "{line}");
    assert_eq!(line.replace(&url, "").matches(layer).count(), 1, "{line}");
}
