//! Bad input against a real registry ([`TestRegistry`]): unknown tags and repositories, broken
//! credentials files and output paths that cannot be written, for every command that takes one,
//! and a mirror whose source or destination cannot be reached.

use super::*;
use crate::TestRegistry;

/// Pushes a one-file artifact as `reference` and returns the layer digest.
fn push_artifact(s: &Scratch, reference: &str) -> String {
    let run = Run::new(
        "push",
        &[
            "push",
            "--plain-http",
            "--json",
            reference,
            &s.path("file.txt"),
        ],
    );
    let out = s.run(&run);
    assert!(
        out.status.success(),
        "seed push: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest = s.run(&Run::new(
        "manifest fetch",
        &["manifest", "fetch", "--plain-http", reference],
    ));
    let json: serde_json::Value = serde_json::from_slice(&manifest.stdout).expect("manifest JSON");
    json["layers"][0]["digest"]
        .as_str()
        .expect("a layer digest")
        .to_owned()
}

/// Against a real registry: unknown tags and repositories, broken credentials files and output
/// paths that cannot be written, for every command that takes one.
#[test]
fn registry_failures_are_named() {
    let registry = TestRegistry::start();
    let host = registry.host.as_str();
    let s = Scratch::new();
    let exists = format!("{host}/bad-input/exists:v1");
    let layer = push_artifact(&s, &exists);
    let mut problems = Vec::new();
    let write = write_cases(&s, host, &exists, &layer);
    let mirror = mirror_cases(&s, host);
    for (run, needle) in unknown_cases(&s, host).iter().chain(&write).chain(&mirror) {
        if let Err(problem) = s.try_check(run, needle) {
            problems.push(problem);
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `name ARGS --plain-http`.
fn plain(name: &'static str, args: &[&str]) -> Run {
    Run::new(name, args).with_flags(&["--plain-http"])
}

/// Unknown tags and repositories: the line names what does not exist.
fn unknown_cases<'a>(s: &Scratch, host: &'a str) -> Vec<(Run, &'a str)> {
    let missing_tag = format!("{host}/bad-input/exists:no-such-tag");
    let missing_repo = format!("{host}/bad-input/no-such-repo:v1");
    let unknown = format!("{host}/bad-input/exists@{UNKNOWN_DIGEST}");
    let file = s.path("file.txt");
    let out = s.path("out");
    let no_auths = s.path("no-auths.json");
    std::fs::write(&no_auths, br#"{"auths": {}}"#).expect("write");
    vec![
        (plain("resolve", &["resolve", &missing_tag]), "no-such-tag"),
        (
            plain("pull", &["pull", "-o", &out, &missing_tag]),
            "no-such-tag",
        ),
        (
            plain(
                "attach",
                &[
                    "attach",
                    "--artifact-type",
                    "application/x.sig",
                    &missing_tag,
                    &file,
                ],
            ),
            "no-such-tag",
        ),
        (
            plain("discover", &["discover", &missing_tag]),
            "no-such-tag",
        ),
        (
            plain(
                "index create",
                &[
                    "index",
                    "create",
                    &format!("{host}/bad-input/index:v1"),
                    "no-such-tag",
                ],
            ),
            "no-such-tag",
        ),
        (plain("tag", &["tag", &missing_tag, "v2"]), "no-such-tag"),
        (plain("tags", &["tags", &missing_repo]), "no-such-repo"),
        (
            plain("repo tags", &["repo", "tags", &missing_repo]),
            "no-such-repo",
        ),
        (
            plain("manifest fetch", &["manifest", "fetch", &missing_tag]),
            "no-such-tag",
        ),
        (
            plain("manifest delete", &["manifest", "delete", &unknown]),
            UNKNOWN_DIGEST,
        ),
        (
            plain(
                "manifest delete",
                &["manifest", "delete", "--force", &missing_tag],
            ),
            "no-such-tag",
        ),
        (
            plain("blob fetch", &["blob", "fetch", "-o", &out, &unknown]),
            UNKNOWN_DIGEST,
        ),
        (
            plain("blob delete", &["blob", "delete", &unknown]),
            UNKNOWN_DIGEST,
        ),
        (
            plain(
                "copy",
                &["copy", &missing_tag, &format!("{host}/bad-input/copy:v1")],
            ),
            "no-such-tag",
        ),
        // Not logged in to this registry: the credentials file does not know it.
        (
            Run::new("logout", &["logout", "--registry-config", &no_auths, host]),
            host,
        ),
    ]
}

/// `mirror` of an unknown tag, and from or to a registry that cannot be reached while the
/// other end is the real one: the line names the tag, or the registry that failed.
fn mirror_cases(s: &Scratch, host: &str) -> Vec<(Run, &'static str)> {
    let to_real = format!("{host}/mirror");
    let exists = format!("{host}/bad-input/exists");
    let unknown_tag = s.mirror_set("unknown-tag.toml", &to_real, &exists, "no-such-tag");
    let from_unreachable = s.mirror_set(
        "from-unreachable.toml",
        &to_real,
        &format!("{UNREACHABLE}/bad-input/repo"),
        "v1",
    );
    let to_unreachable = s.mirror_set(
        "to-unreachable.toml",
        &format!("{UNREACHABLE}/mirror"),
        &exists,
        "v1",
    );
    vec![
        (plain("mirror", &["mirror", &unknown_tag]), "no-such-tag"),
        (plain("mirror", &["mirror", &from_unreachable]), UNREACHABLE),
        (plain("mirror", &["mirror", &to_unreachable]), UNREACHABLE),
    ]
}

/// Files that cannot be written: a broken credentials file (named by `login` once the registry
/// answers) and output paths below a regular file.
fn write_cases(s: &Scratch, host: &str, exists: &str, layer: &str) -> Vec<(Run, &'static str)> {
    let file = s.path("file.txt");
    let below_file = s.path("file.txt/below");
    let login = |config: &str| {
        plain(
            "login",
            &[
                "login",
                "-u",
                "bad-input",
                "--password-stdin",
                "--registry-config",
                config,
                host,
            ],
        )
        .stdin(PASSWORD)
    };
    let broken = s.path("broken.json");
    vec![
        (login(&broken), "broken.json"),
        // Output paths below a regular file can never be created, whoever runs the test.
        (login(&below_file), "file.txt/below"),
        (
            plain(
                "push",
                &[
                    "push",
                    "--export-manifest",
                    &below_file,
                    &format!("{host}/bad-input/export:v1"),
                    &file,
                ],
            ),
            "file.txt/below",
        ),
        (
            plain(
                "attach",
                &[
                    "attach",
                    "--artifact-type",
                    "application/x.sig",
                    "--export-manifest",
                    &below_file,
                    exists,
                    &file,
                ],
            ),
            "file.txt/below",
        ),
        (
            plain(
                "blob fetch",
                &[
                    "blob",
                    "fetch",
                    "-o",
                    &below_file,
                    &format!("{host}/bad-input/exists@{layer}"),
                ],
            ),
            "file.txt/below",
        ),
        (
            plain(
                "copy",
                &[
                    "copy",
                    "--to-oci-layout",
                    exists,
                    &format!("{below_file}:v1"),
                ],
            ),
            "file.txt/below",
        ),
        (
            plain("pull", &["pull", "-o", &below_file, exists]),
            "file.txt/below",
        ),
    ]
}
