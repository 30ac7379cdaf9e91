//! Tests of the `oci-fetch` command as a user runs it: arguments in, stdout/stderr/exit code out.

mod bad_input;
mod cmd_ref;
mod copy;
mod copy_graph;
mod credentials;
mod decompress;
mod errors;
mod helm;
mod interrupt;
mod json;
mod mirror;
mod multi_file;
mod oras;
mod publish;
mod pull;
mod registry;
mod resolve;
mod tty;

use std::io::Read as _;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Longest a command of these tests may run: one that hangs (a copy waiting on itself for a
/// place in its request limit) is killed and fails its test instead of stopping the suite.
const COMMAND_PATIENCE: Duration = Duration::from_secs(300);

/// Runs the built `oci-fetch` binary with `args`, killed after [`COMMAND_PATIENCE`].
pub(crate) fn oci_fetch(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_oci-fetch"))
        .args(args)
        .env_remove("DOCKER_CONFIG")
        .env_remove("REGISTRY_AUTH_FILE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the oci-fetch binary runs");
    // Both pipes are drained while the command runs: a full pipe would stop it.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                pipe.read_to_end(&mut bytes)
                    .expect("read the command's output");
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for oci-fetch") {
            break status;
        }
        if start.elapsed() > COMMAND_PATIENCE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("oci-fetch {args:?} still running after {COMMAND_PATIENCE:?}: killed (a hang)");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

/// Runs `oci-fetch` with `args` (a command with `--json`), asserts that it succeeds with one
/// JSON line, and snapshots that line as `name` (`tests/cli/snapshots/`): field names, their
/// order and every value are the contract. The checkout's path is written `<oci-fetch>`, so the
/// snapshot holds on every machine. Returns the parsed value.
pub(crate) fn check_json(name: &str, args: &[&str]) -> serde_json::Value {
    let out = oci_fetch(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8 output");
    assert_eq!(text.lines().count(), 1, "one JSON line: {text}");
    let here = |s: &str| s.replace(env!("CARGO_MANIFEST_DIR"), "<oci-fetch>");
    let command = here(&format!("oci-fetch {}", args.join(" ")));
    insta::assert_snapshot!(name, here(text.trim_end()), &command);
    serde_json::from_str(&text).expect("valid JSON")
}

/// The subcommands `oci-fetch PATH… --help` lists (without `help`): `&[]` for the top level,
/// `&["blob"]` for `blob fetch` and `blob delete`. Empty for a command without subcommands.
pub(crate) fn subcommands(path: &[&str]) -> Vec<String> {
    let help = ok(&[path, &["--help"]].concat());
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// Runs `oci-fetch` expecting success; returns stdout.
pub(crate) fn ok(args: &[&str]) -> String {
    let out = oci_fetch(args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// The tags `oci-fetch tags REPO --plain-http` prints, sorted. `tags` prints them in the order
/// the registry lists them, and that order is the registry's own: the distribution-spec asks for
/// lexical order, distribution 2.8 lists its storage's order (which differs between file
/// systems, so between the docker and the process backend). What a test can rely on is the set.
pub(crate) fn listed_tags(repo: &str) -> Vec<String> {
    let mut tags: Vec<String> = ok(&["tags", repo, "--plain-http"])
        .lines()
        .map(str::to_owned)
        .collect();
    tags.sort();
    tags
}

/// Asserts the bad-input contract: exit code 2, nothing on stdout, exactly one line on stderr
/// that contains `needle`. Returns that line.
pub(crate) fn check_usage_error(args: &[&str], needle: &str) -> String {
    let out = oci_fetch(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(2),
        "exit code for {args:?}; stderr: {stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "stdout must be empty for {args:?}: {:?}",
        out.stdout
    );
    assert_eq!(
        stderr.lines().count(),
        1,
        "one line on stderr for {args:?}: {stderr:?}"
    );
    assert!(
        stderr.contains(needle),
        "stderr for {args:?} should mention {needle:?}: {stderr}"
    );
    stderr
}

/// A real CNCF distribution registry from the conformance harness, for commands that talk to
/// a registry. Stopped (and its storage removed) on drop.
pub(crate) struct TestRegistry {
    /// `127.0.0.1:PORT`, what goes into references.
    pub(crate) host: String,
    registry: Option<conformance::Registry>,
    runtime: tokio::runtime::Runtime,
}

impl TestRegistry {
    /// Starts a registry with the harness's backend selection (`OCI_CONFORMANCE_BACKEND`).
    pub(crate) fn start() -> TestRegistry {
        TestRegistry::start_with(&conformance::RegistryOptions::default())
    }

    /// Starts a registry with options (e.g. htpasswd auth).
    pub(crate) fn start_with(options: &conformance::RegistryOptions) -> TestRegistry {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime for the registry fixture");
        let registry = runtime
            .block_on(conformance::Registry::start_with(options))
            .expect("a real registry for the CLI tests (see the conformance crate docs)");
        TestRegistry {
            host: registry.host().to_owned(),
            registry: Some(registry),
            runtime,
        }
    }

    /// Runs `future` on the fixture's runtime, whose worker keeps serving what it spawns (a
    /// proxy in front of the registry) while the test runs the command.
    pub(crate) fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _guard = self.runtime.enter();
        drop(self.registry.take());
    }
}
