//! Bad input at every command: a malformed reference, a broken or missing configuration file,
//! an unknown flag value, an unreachable registry, an unknown tag or repository, an output path
//! that cannot be written. Each must end with a non-zero exit, nothing on stdout, one line on
//! stderr naming the problem, no panic and nothing written.
//!
//! "Unreachable" is `127.0.0.1:1` (nothing listens on port 1). "Unknown tag" uses the committed
//! example layout and, for every command that takes a tag or repository, a real registry
//! ([`TestRegistry`]). Every run gets a scratch directory as its `HOME`, so that nothing can be
//! written outside the directory the checks watch.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::TestRegistry;
use crate::pull::example_dir;

/// The credential flags and other global flags, at every command.
mod flags;

/// A port nothing listens on.
const UNREACHABLE: &str = "127.0.0.1:1";

/// A well-formed digest that names nothing.
const UNKNOWN_DIGEST: &str =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// What `login` reads on standard input.
const PASSWORD: &str = "bad-input-password";

/// The reference used where a well-formed but unreachable one is needed.
fn unreachable_ref() -> String {
    format!("{UNREACHABLE}/bad-input/repo:v1")
}

/// One command line and what it reads on standard input.
#[derive(Debug, Clone)]
struct Run {
    /// The command, as in `oci-fetch --help`.
    name: &'static str,
    args: Vec<String>,
    stdin: Option<&'static str>,
}

impl Run {
    fn new(name: &'static str, args: &[&str]) -> Run {
        Run {
            name,
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            stdin: None,
        }
    }

    fn stdin(mut self, text: &'static str) -> Run {
        self.stdin = Some(text);
        self
    }

    /// The same run with `flags` in front (global flags go before the command).
    fn with_flags(&self, flags: &[&str]) -> Run {
        let mut run = self.clone();
        run.args = flags.iter().map(|f| (*f).to_owned()).collect();
        run.args.extend(self.args.iter().cloned());
        run
    }

    /// Whether the command talks to a registry (`ref` and `logout` never do).
    fn contacts_registry(&self) -> bool {
        !matches!(self.name, "ref" | "logout")
    }
}

/// A scratch directory, `HOME` of every run: a file to push, a broken credentials file and a
/// broken registries.conf.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("file.txt"), b"payload").expect("write");
        std::fs::write(dir.path().join("broken.json"), b"{\"auths\": {").expect("write");
        std::fs::write(dir.path().join("broken.conf"), b"[[registry]\nlocation =").expect("write");
        Scratch { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// Runs the built binary with this directory as `HOME` and no credential variables.
    fn run(&self, run: &Run) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_oci-fetch"))
            .args(&run.args)
            .env("HOME", self.dir.path())
            .env_remove("DOCKER_CONFIG")
            .env_remove("REGISTRY_AUTH_FILE")
            .env_remove("CONTAINERS_REGISTRIES_CONF")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the oci-fetch binary runs");
        let mut stdin = child.stdin.take().expect("stdin");
        if let Some(text) = run.stdin {
            // The command may fail before it reads: a closed pipe is not a test failure.
            let _ = writeln!(stdin, "{text}");
        }
        drop(stdin);
        child.wait_with_output().expect("oci-fetch finishes")
    }

    /// Every path under the directory with the content of its files, to see that nothing was
    /// written, replaced or removed.
    fn snapshot(&self) -> Vec<(PathBuf, Option<Vec<u8>>)> {
        let mut out: Vec<_> = walk(self.dir.path())
            .into_iter()
            .map(|p| {
                let content = p.is_file().then(|| std::fs::read(&p).unwrap_or_default());
                (p, content)
            })
            .collect();
        out.sort();
        out
    }

    /// [`Scratch::try_check`] that panics with the broken part of the contract; returns the
    /// exit code and the stderr line.
    fn check(&self, run: &Run, needle: &str) -> (i32, String) {
        self.try_check(run, needle)
            .unwrap_or_else(|problem| panic!("{problem}"))
    }

    /// Runs `run` and checks the bad-input contract: exit status not 0, stdout empty, exactly
    /// one non-empty stderr line that contains `needle` and no panic message, and nothing
    /// written under the directory. Returns the exit code and the stderr line, or what was
    /// broken.
    fn try_check(&self, run: &Run, needle: &str) -> Result<(i32, String), String> {
        let before = self.snapshot();
        let out = self.run(run);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let args = &run.args;
        let code = match out.status.code() {
            Some(code) if code != 0 => code,
            _ => {
                return Err(format!(
                    "{}: {args:?}: exit status {:?}; stderr: {stderr}",
                    run.name, out.status
                ));
            }
        };
        if !out.stdout.is_empty() {
            return Err(format!(
                "{}: {args:?}: stdout must be empty, got {:?}",
                run.name,
                String::from_utf8_lossy(&out.stdout)
            ));
        }
        if stderr.contains("panicked") || stderr.contains("RUST_BACKTRACE") {
            return Err(format!("{}: {args:?}: panic: {stderr}", run.name));
        }
        if stderr.lines().count() != 1 || !stderr.starts_with("error:") {
            return Err(format!(
                "{}: {args:?}: one `error:` line on stderr expected: {stderr:?}",
                run.name
            ));
        }
        if !stderr.contains(needle) {
            return Err(format!(
                "{}: {args:?}: stderr should name {needle:?}: {stderr}",
                run.name
            ));
        }
        if self.snapshot() != before {
            return Err(format!(
                "{}: {args:?}: files written, replaced or removed under {:?}",
                run.name,
                self.dir.path()
            ));
        }
        Ok((code, stderr))
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            }
            out.push(p);
        }
    }
    out
}

/// The registry part of `reference` (`host[:port]`) for `login`/`logout`/`repo ls`; a malformed
/// reference is passed on unchanged.
fn registry_of(reference: &str) -> &str {
    match reference.split_once('/') {
        Some((host, _)) if reference.starts_with(UNREACHABLE) => host,
        _ => reference,
    }
}

/// The unreachable `reference` with its tag replaced by a digest (`blob fetch|delete` name a
/// blob by digest); any other (malformed) reference is passed on unchanged.
fn blob_reference(reference: &str) -> String {
    match reference.rsplit_once(':') {
        Some((repo, tag))
            if reference.starts_with(UNREACHABLE) && !tag.contains('/') && repo.contains('/') =>
        {
            format!("{repo}@{UNKNOWN_DIGEST}")
        }
        _ => reference.to_owned(),
    }
}

/// Every command with the arguments it needs around a reference, so one table covers all.
fn commands(s: &Scratch, reference: &str) -> Vec<Run> {
    let file = s.path("file.txt");
    let out = s.path("out");
    let r = reference;
    let blob = blob_reference(r);
    let registry = registry_of(r);
    let copy_to = format!("{UNREACHABLE}/bad-input/copy:v1");
    vec![
        Run::new("ref", &["ref", r]),
        Run::new("push", &["push", r, &file]),
        Run::new(
            "attach",
            &[
                "attach",
                "--artifact-type",
                "application/vnd.example.sig",
                r,
                &file,
            ],
        ),
        Run::new("discover", &["discover", r]),
        Run::new("index create", &["index", "create", r, UNKNOWN_DIGEST]),
        Run::new("tag", &["tag", r, "v2"]),
        Run::new("resolve", &["resolve", r]),
        Run::new("pull", &["pull", "-o", &out, r]),
        Run::new("copy", &["copy", r, &copy_to]),
        Run::new("tags", &["tags", r]),
        Run::new("repo tags", &["repo", "tags", r]),
        Run::new("repo ls", &["repo", "ls", registry]),
        Run::new("manifest fetch", &["manifest", "fetch", r]),
        Run::new("manifest delete", &["manifest", "delete", "--force", r]),
        Run::new("blob fetch", &["blob", "fetch", "-o", &out, &blob]),
        Run::new("blob delete", &["blob", "delete", &blob]),
        Run::new(
            "login",
            &["login", "-u", "bad-input", "--password-stdin", registry],
        )
        .stdin(PASSWORD),
        Run::new("logout", &["logout", registry]),
    ]
}

/// The names of every command the CLI has; the tables below must cover each.
const ALL_COMMANDS: &[&str] = &[
    "ref",
    "push",
    "attach",
    "discover",
    "index create",
    "tag",
    "resolve",
    "pull",
    "copy",
    "tags",
    "repo tags",
    "repo ls",
    "manifest fetch",
    "manifest delete",
    "blob fetch",
    "blob delete",
    "login",
    "logout",
];

fn assert_covers_every_command(what: &str, names: impl IntoIterator<Item = &'static str>) {
    let mut names: Vec<&str> = names.into_iter().collect();
    names.sort_unstable();
    names.dedup();
    let mut all = ALL_COMMANDS.to_vec();
    all.sort_unstable();
    assert_eq!(names, all, "{what} must cover every command");
}

#[test]
fn command_table_covers_every_command() {
    let s = Scratch::new();
    assert_covers_every_command(
        "commands()",
        commands(&s, &unreachable_ref()).iter().map(|r| r.name),
    );
}

#[test]
fn malformed_reference_is_named() {
    let s = Scratch::new();
    let mut problems = Vec::new();
    for bad in [
        "Bad Ref!!",
        "host/repo:tag with space",
        "UPPER/case:v1",
        "host/repo@sha256:zz",
    ] {
        for run in commands(&s, bad) {
            match s.try_check(&run, "invalid reference") {
                Ok((_, line)) if !line.contains(bad) => {
                    problems.push(format!(
                        "{}: the line should quote {bad:?}: {line}",
                        run.name
                    ));
                }
                // `login`/`logout` take a registry: the line quotes it as typed, not a
                // reference built around it.
                Ok((_, line)) if line.contains("oci://") => {
                    problems.push(format!(
                        "{}: the line should quote {bad:?} as typed: {line}",
                        run.name
                    ));
                }
                Ok(_) => {}
                Err(problem) => problems.push(problem),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Commands that do not yet report a missing or broken file given with the flag: `(command,
/// flag, "missing" | "broken")`. The test fails when an entry here starts naming the file, so
/// that the entry is removed. None is known today: `ref` loads a credentials file named on the
/// command line although it uses none, and `login` reads the file it will update before it
/// contacts the registry.
const PENDING_CONFIG_GAPS: &[(&str, &str, &str)] = &[];

#[test]
fn missing_and_broken_config_files_are_named() {
    let s = Scratch::new();
    let reference = unreachable_ref();
    let mut problems = Vec::new();
    for flag in ["--registry-config", "--auth-file", "--registries-conf"] {
        let (missing, broken) = if flag == "--registries-conf" {
            ("missing.conf", "broken.conf")
        } else {
            ("missing.json", "broken.json")
        };
        for (case, file) in [("missing", missing), ("broken", broken)] {
            let path = s.path(file);
            for run in commands(&s, &reference) {
                if run.name == "login" && case == "missing" && flag != "--registries-conf" {
                    // `login` creates the credentials file it is given: a missing one is fine.
                    continue;
                }
                let full = run.with_flags(&["--plain-http", flag, &path]);
                // Paths under `HOME` may be shown as `~/…`: the file name is what must appear.
                // A file named on the command line is input: its problems are bad input.
                let result = s.try_check(&full, file).and_then(|(code, line)| {
                    if code == 2 {
                        Ok((code, line))
                    } else {
                        Err(format!(
                            "{} {flag} ({case}): exit {code}, not 2: {line}",
                            run.name
                        ))
                    }
                });
                let pending = PENDING_CONFIG_GAPS.contains(&(run.name, flag, case));
                match (result, pending) {
                    (Ok(_), false) | (Err(_), true) => {}
                    (Err(problem), false) => problems.push(problem),
                    (Ok(_), true) => problems.push(format!(
                        "{} {flag} ({case}) now names the file: remove it from \
                         PENDING_CONFIG_GAPS",
                        run.name
                    )),
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn unknown_flag_values_are_refused() {
    let s = Scratch::new();
    let r = unreachable_ref();
    let blob = blob_reference(&r);
    let file = s.path("file.txt");
    let out = s.path("out");
    let sig = "application/vnd.example.sig";
    let cases = [
        (Run::new("ref", &["ref", "--json=yes", &r]), "--json"),
        (
            Run::new("push", &["push", "-a", "disktype", &r, &file]),
            "disktype",
        ),
        (
            Run::new("push", &["push", "--artifact-platform", "linux", &r, &file]),
            "linux",
        ),
        (
            Run::new(
                "attach",
                &[
                    "attach",
                    "--artifact-type",
                    sig,
                    "-a",
                    "disktype",
                    &r,
                    &file,
                ],
            ),
            "disktype",
        ),
        (
            Run::new("discover", &["discover", "-o", "yaml", &r]),
            "--output",
        ),
        (
            Run::new("discover", &["discover", "--depth", "deep", &r]),
            "--depth",
        ),
        (
            Run::new("discover", &["discover", "--format", "yaml", &r]),
            "--output",
        ),
        (
            Run::new("discover", &["discover", "--distribution-spec", "v1.0", &r]),
            "--distribution-spec",
        ),
        (
            Run::new(
                "attach",
                &[
                    "attach",
                    "--artifact-type",
                    sig,
                    "--distribution-spec",
                    "v1.1-referrers",
                    &r,
                    &file,
                ],
            ),
            "--distribution-spec",
        ),
        (
            Run::new("index create", &["index", "create", &r, "v1,bogus=1"]),
            "bogus=1",
        ),
        (Run::new("tag", &["tag", &r, "bad/tag"]), "bad/tag"),
        (
            Run::new("resolve", &["resolve", "--download-source", "ftp", &r]),
            "--download-source",
        ),
        (
            Run::new(
                "pull",
                &["pull", "--download-source", "ftp", "-o", &out, &r],
            ),
            "--download-source",
        ),
        (Run::new("copy", &["copy", "--json=yes", &r, &r]), "--json"),
        (
            Run::new("tags", &["tags", "--page-size", "many", &r]),
            "--page-size",
        ),
        (
            Run::new("repo tags", &["repo", "tags", "--json=yes", &r]),
            "--json",
        ),
        (
            Run::new(
                "repo ls",
                &["repo", "ls", "--page-size", "many", UNREACHABLE],
            ),
            "--page-size",
        ),
        (
            Run::new(
                "manifest fetch",
                &["manifest", "fetch", "--descriptor", "--json", &r],
            ),
            "--descriptor",
        ),
        (
            Run::new(
                "manifest delete",
                &["manifest", "delete", "--force=maybe", &r],
            ),
            "--force",
        ),
        (
            Run::new(
                "manifest fetch",
                &["manifest", "fetch", "--descriptor=yes", &r],
            ),
            "--descriptor",
        ),
        (
            Run::new(
                "manifest delete",
                &["manifest", "delete", "--plain-http=maybe", &r],
            ),
            "--plain-http",
        ),
        (
            Run::new(
                "blob fetch",
                &["blob", "fetch", "--insecure=maybe", "-o", &out, &blob],
            ),
            "--insecure",
        ),
        (
            Run::new(
                "blob delete",
                &["blob", "delete", "--plain-http=maybe", &blob],
            ),
            "--plain-http",
        ),
        (
            Run::new(
                "login",
                &["login", "-u", "u", "--password-stdin=yes", UNREACHABLE],
            )
            .stdin(PASSWORD),
            "--password-stdin",
        ),
        (
            Run::new("logout", &["logout", "--plain-http=maybe", UNREACHABLE]),
            "--plain-http",
        ),
    ];
    assert_covers_every_command(
        "unknown_flag_values_are_refused",
        cases.iter().map(|(r, _)| r.name),
    );
    for (run, needle) in &cases {
        let (code, line) = s.check(run, needle);
        assert_eq!(
            code, 2,
            "{}: a bad flag value is a usage error: {line}",
            run.name
        );
    }
    // The switches added for oras habits and scripts take no value.
    let switches: [(&'static str, Vec<&str>, &str); 6] = [
        ("tags", vec!["tags", "--json=yes", &r], "--json"),
        (
            "repo ls",
            vec!["repo", "ls", "--json=yes", UNREACHABLE],
            "--json",
        ),
        (
            "manifest fetch",
            vec!["manifest", "fetch", "--pretty=yes", &r],
            "--pretty",
        ),
        (
            "manifest delete",
            vec!["manifest", "delete", "--json=yes", &r],
            "--json",
        ),
        (
            "blob fetch",
            vec!["blob", "fetch", "--json=yes", "-o", &out, &blob],
            "--json",
        ),
        (
            "blob delete",
            vec!["blob", "delete", "--json=yes", &blob],
            "--json",
        ),
    ];
    for (name, args, flag) in &switches {
        let (code, line) = s.check(&Run::new(name, args), flag);
        assert_eq!(code, 2, "{name}: a bad flag value is a usage error: {line}");
    }
}

/// Flags that are well-formed but wrong together, or wrong for the place: bad input (exit 2),
/// named, before any network or file is touched.
#[test]
fn misused_flags_are_refused() {
    let s = Scratch::new();
    let r = unreachable_ref();
    let blob = blob_reference(&r);
    let sig = "application/vnd.example.sig";
    let cases = [
        (
            Run::new("blob fetch", &["blob", "fetch", "--json", "-o", "-", &blob]),
            "--json",
        ),
        // Deleting by tag deletes every tag of the manifest: without a terminal to ask,
        // only --force says yes.
        (
            Run::new("manifest delete", &["manifest", "delete", &r]),
            "--force",
        ),
        (
            Run::new(
                "discover",
                &[
                    "discover",
                    "--oci-layout",
                    "--distribution-spec",
                    "v1.1-referrers-tag",
                    &format!("{}:fedora-42-kernel", example_dir().display()),
                ],
            ),
            "--distribution-spec",
        ),
        (
            Run::new(
                "attach",
                &[
                    "attach",
                    "--artifact-type",
                    sig,
                    "--oci-layout",
                    "--distribution-spec",
                    "v1.1-referrers-api",
                    &format!("{}:fedora-42-kernel", example_dir().display()),
                    &s.path("file.txt"),
                ],
            ),
            "--distribution-spec",
        ),
    ];
    for (run, needle) in &cases {
        let (code, line) = s.check(run, needle);
        assert_eq!(code, 2, "{}: {line}", run.name);
    }
}

#[test]
fn unreachable_registry_is_named() {
    let reference = unreachable_ref();
    let names: Vec<&str> = commands(&Scratch::new(), &reference)
        .iter()
        .filter(|run| run.contacts_registry())
        .map(|run| run.name)
        .collect();
    // At once, each in its own thread and directory: the time goes into retry backoff.
    let problems: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = names
            .iter()
            .map(|name| {
                let reference = &reference;
                scope.spawn(move || {
                    let s = Scratch::new();
                    let run = commands(&s, reference)
                        .into_iter()
                        .find(|run| run.name == *name)
                        .expect("a command of the table");
                    s.try_check(&run.with_flags(&["--plain-http"]), UNREACHABLE)
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().expect("check thread").err())
            .collect()
    });
    assert_eq!(
        names.len(),
        ALL_COMMANDS.len() - 2,
        "all but ref and logout"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn unknown_tag_in_a_layout_is_named() {
    let s = Scratch::new();
    let layout = format!("{}:no-such-tag", example_dir().display());
    let out = s.path("out");
    for command in ["resolve", "pull"] {
        let mut args = vec![command, "--oci-layout", &layout, "--arch", "any"];
        if command == "pull" {
            args.extend(["-o", &out]);
        }
        s.check(&Run::new(command, &args), "no-such-tag");
    }
}

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
    let missing_tag = format!("{host}/bad-input/exists:no-such-tag");
    let missing_repo = format!("{host}/bad-input/no-such-repo:v1");
    let unknown = format!("{host}/bad-input/exists@{UNKNOWN_DIGEST}");
    let file = s.path("file.txt");
    let out = s.path("out");
    let below_file = s.path("file.txt/below");
    let no_auths = s.path("no-auths.json");
    std::fs::write(&no_auths, br#"{"auths": {}}"#).expect("write");
    let plain =
        |name: &'static str, args: &[&str]| Run::new(name, args).with_flags(&["--plain-http"]);

    // Unknown tags and repositories: the line names what does not exist.
    let unknown_cases = [
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
    ];
    let mut problems = Vec::new();
    for (run, needle) in &unknown_cases {
        if let Err(problem) = s.try_check(run, needle) {
            problems.push(problem);
        }
    }

    // A broken credentials file is named by `login` once the registry answers.
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
    let write_cases = [
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
                    &exists,
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
                    &exists,
                    &format!("{below_file}:v1"),
                ],
            ),
            "file.txt/below",
        ),
        (
            plain("pull", &["pull", "-o", &below_file, &exists]),
            "file.txt/below",
        ),
    ];
    for (run, needle) in &write_cases {
        if let Err(problem) = s.try_check(run, needle) {
            problems.push(problem);
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn unwritable_output_path_is_named() {
    let s = Scratch::new();
    // A path below a regular file can never be created, whoever runs the test.
    let below_file = s.path("file.txt/out");
    let layout = format!("{}:fedora-42-kernel", example_dir().display());
    s.check(
        &Run::new(
            "pull",
            &[
                "pull",
                "--oci-layout",
                &layout,
                "--arch",
                "any",
                "-o",
                &below_file,
            ],
        ),
        "file.txt/out",
    );
    let to = format!("{}:v1", s.path("file.txt/layout"));
    s.check(
        &Run::new(
            "copy",
            &["copy", "--from-oci-layout", "--to-oci-layout", &layout, &to],
        ),
        "file.txt/layout",
    );
}
