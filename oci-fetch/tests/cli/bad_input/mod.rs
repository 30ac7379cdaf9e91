//! Bad input at every command: a malformed reference, a broken or missing configuration file,
//! an unknown flag value, an unreachable registry, an unknown tag or repository, an output path
//! that cannot be written, a broken mirror set file. Each must end with a non-zero exit, nothing
//! on stdout, one line on stderr naming the problem, no panic and nothing written.
//!
//! [`ALL_COMMANDS`] is checked against the commands `oci-fetch --help` lists, and every table
//! against [`ALL_COMMANDS`]; a command that does not take a kind of input says so in
//! [`commands`] ([`Takes`]), so a new command cannot be left out silently.
//!
//! "Unreachable" is `127.0.0.1:1` (nothing listens on port 1). "Unknown tag" uses the committed
//! example layout and, for every command that takes a tag or repository, a real registry
//! ([`TestRegistry`]). Every run gets a scratch directory as its `HOME`, so that nothing can be
//! written outside the directory the checks watch.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::pull::example_dir;
use crate::subcommands;

mod flags;
mod offline;
mod registry;

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

/// What a command's entry in [`commands`] is built around, said for every command: a test
/// that leaves a command out says why by this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Takes {
    /// A reference (or its registry, or a blob of its repository, or a mirror set naming its
    /// repository), and the command contacts that registry.
    Registry,
    /// A reference or registry name that the command parses without contacting anything
    /// (`ref`, `logout`).
    NameOnly,
    /// Neither reference nor registry (`generate`): only the global flags reach it.
    Nothing,
}

/// One command line and what it reads on standard input.
#[derive(Debug, Clone)]
struct Run {
    /// The command, as in `oci-fetch --help`.
    name: &'static str,
    args: Vec<String>,
    stdin: Option<&'static str>,
    /// What the command line is built around (in [`commands`]).
    takes: Takes,
}

impl Run {
    /// A run of `name` that takes a reference and contacts its registry ([`Takes::Registry`]).
    fn new(name: &'static str, args: &[&str]) -> Run {
        Run {
            name,
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            stdin: None,
            takes: Takes::Registry,
        }
    }

    fn stdin(mut self, text: &'static str) -> Run {
        self.stdin = Some(text);
        self
    }

    fn takes(mut self, takes: Takes) -> Run {
        self.takes = takes;
        self
    }

    /// The same run with `flags` in front (global flags go before the command).
    fn with_flags(&self, flags: &[&str]) -> Run {
        let mut run = self.clone();
        run.args = flags.iter().map(|f| (*f).to_owned()).collect();
        run.args.extend(self.args.iter().cloned());
        run
    }

    /// Whether the command talks to a registry.
    fn contacts_registry(&self) -> bool {
        self.takes == Takes::Registry
    }
}

/// A scratch directory, `HOME` of every run: a file to push, a broken credentials file and a
/// broken registries.conf.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        let s = Scratch {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        s.write("file.txt", "payload");
        s.write("broken.json", "{\"auths\": {");
        s.write("broken.conf", "[[registry]\nlocation =");
        s
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// Writes `text` to the file `name` in the directory; returns its path.
    fn write(&self, name: &str, text: &str) -> String {
        let path = self.path(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    /// Writes the mirror set `name` that mirrors `repository:tag` to the registry prefix
    /// `destination`; returns its path. Values are written as TOML strings as given, malformed
    /// or not.
    fn mirror_set(&self, name: &str, destination: &str, repository: &str, tag: &str) -> String {
        // A JSON string is a TOML basic string.
        let toml = |s: &str| serde_json::to_string(s).expect("a JSON string");
        self.write(
            name,
            &format!(
                "[destination]\nregistry = {}\n\n[[source]]\nrepository = {}\ntags = [{}]\n",
                toml(destination),
                toml(repository),
                toml(tag)
            ),
        )
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

/// The unreachable `reference` as repository and tag; `None` for any other (malformed)
/// reference.
fn split_tag(reference: &str) -> Option<(&str, &str)> {
    match reference.rsplit_once(':') {
        Some((repo, tag))
            if reference.starts_with(UNREACHABLE) && !tag.contains('/') && repo.contains('/') =>
        {
            Some((repo, tag))
        }
        _ => None,
    }
}

/// The unreachable `reference` with its tag replaced by a digest (`blob fetch|delete` name a
/// blob by digest); any other (malformed) reference is passed on unchanged.
fn blob_reference(reference: &str) -> String {
    match split_tag(reference) {
        Some((repo, _)) => format!("{repo}@{UNKNOWN_DIGEST}"),
        None => reference.to_owned(),
    }
}

/// A mirror set (`set.toml` in `s`) whose one source is the repository and tag of the
/// unreachable `reference`, or a malformed `reference` as its repository, mirrored to
/// [`UNREACHABLE`] too (one registry: the credential flags apply). Returns its path.
fn mirror_set(s: &Scratch, reference: &str) -> String {
    let (repository, tag) = split_tag(reference).unwrap_or((reference, "v1"));
    let destination = format!("{UNREACHABLE}/mirror");
    s.mirror_set("set.toml", &destination, repository, tag)
}

/// Every command with the arguments it needs around a reference, so one table covers all; what
/// each takes is said with [`Takes`].
fn commands(s: &Scratch, reference: &str) -> Vec<Run> {
    let file = s.path("file.txt");
    let out = s.path("out");
    let r = reference;
    let blob = blob_reference(r);
    let registry = registry_of(r);
    let copy_to = format!("{UNREACHABLE}/bad-input/copy:v1");
    vec![
        Run::new("ref", &["ref", r]).takes(Takes::NameOnly),
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
        Run::new("mirror", &["mirror", &mirror_set(s, r)]),
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
        Run::new("logout", &["logout", registry]).takes(Takes::NameOnly),
        Run::new("generate", &["generate", "bash"]).takes(Takes::Nothing),
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
    "mirror",
    "tags",
    "repo tags",
    "repo ls",
    "manifest fetch",
    "manifest delete",
    "blob fetch",
    "blob delete",
    "login",
    "logout",
    "generate",
];

fn assert_covers_every_command<S: AsRef<str>>(what: &str, names: impl IntoIterator<Item = S>) {
    let names: Vec<S> = names.into_iter().collect();
    let mut names: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
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

/// [`ALL_COMMANDS`] is what `oci-fetch --help` lists, groups (`blob`, …) as their commands
/// (`blob fetch`, …): a new command fails here until the tables cover it.
#[test]
fn all_commands_are_the_ones_help_lists() {
    let mut listed = Vec::new();
    for name in subcommands(&[]) {
        let children = subcommands(&[&name]);
        if children.is_empty() {
            listed.push(name);
        } else {
            listed.extend(children.iter().map(|child| format!("{name} {child}")));
        }
    }
    assert_covers_every_command("ALL_COMMANDS (`oci-fetch --help`)", listed);
}
