//! Interruptions with real signals: SIGINT, SIGTERM and SIGKILL sent to a child `oci-fetch`
//! in the middle of a large pull from the real registry, then one more run.
//!
//! The child talks to the registry through a [`Gate`], a byte-counting TCP proxy that can hold
//! the bytes back after a given count: the transfer is stopped mid-blob deterministically (no
//! timing), the signal is sent once the partial file on disk (or the upload) has reached a given
//! size, and the resumed run's bytes are counted on the wire.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use oci_fetch::download::PARTIAL_SUFFIX;
use oci_testkit::gate::Gate;

use crate::TestRegistry;

const MIB: u64 = 1024 * 1024;
/// The blob: large enough that a pull is many writes, small enough for a test.
const BLOB: u64 = 64 * MIB;
const TITLE: &str = "big.img";
/// Longest wait for a child to reach a point (a partial file of some size, an exit): a bound
/// against hanging, never a measure of speed.
const PATIENCE: Duration = Duration::from_secs(600);

/// The registry with the big artifact pushed, shared by the tests of this module.
struct Fixture {
    registry: TestRegistry,
    data: Vec<u8>,
    digest: String,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let registry = TestRegistry::start();
        let data = content(BLOB as usize);
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join(TITLE);
        std::fs::write(&file, &data).expect("write the blob");
        // Pushed with the default (generic) layer type: `resolve` reads the blob's first bytes
        // to tell its compression, one `Range: bytes=0-3` request that takes a fixed few
        // hundred bytes of the gate's budget before the download starts.
        let pushed = crate::oci_fetch(&[
            "push",
            "--plain-http",
            &format!("{}/interrupt/big:latest", registry.host),
            file.to_str().expect("utf-8"),
        ]);
        assert!(pushed.status.success(), "{pushed:?}");
        let digest = oci_testkit::sha256(&data);
        Fixture {
            registry,
            data,
            digest,
        }
    })
}

/// Incompressible, deterministic bytes (xorshift).
fn content(len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// What to run: `pull` of the artifact into a directory, or `blob fetch` of its blob to a file.
#[derive(Debug, Clone, Copy)]
enum Run {
    Pull,
    BlobFetch,
}

impl Run {
    fn args(self, host: &str, out: &Path, extra: &[&str]) -> Vec<String> {
        let f = fixture();
        let mut args: Vec<String> = match self {
            Run::Pull => vec![
                "pull".into(),
                "--plain-http".into(),
                format!("{host}/interrupt/big:latest"),
                "-o".into(),
                out.display().to_string(),
            ],
            Run::BlobFetch => vec![
                "blob".into(),
                "fetch".into(),
                "--plain-http".into(),
                format!("{host}/interrupt/big@{}", f.digest),
                "-o".into(),
                out.join(TITLE).display().to_string(),
            ],
        };
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    }

    fn spawn(self, host: &str, out: &Path, extra: &[&str]) -> Child {
        if matches!(self, Run::BlobFetch) {
            std::fs::create_dir_all(out).expect("output dir");
        }
        Command::new(env!("CARGO_BIN_EXE_oci-fetch"))
            .args(self.args(host, out, extra))
            .env_remove("DOCKER_CONFIG")
            .env_remove("REGISTRY_AUTH_FILE")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn oci-fetch")
    }
}

/// The partial files in `dir`.
fn partials(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(PARTIAL_SUFFIX))
        .collect()
}

/// Waits until `reached` says the child got where it should (`what`, for the message).
fn wait_until(child: &mut Child, what: &str, reached: impl Fn() -> bool) {
    let start = Instant::now();
    while !reached() {
        if let Ok(Some(status)) = child.try_wait() {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                std::io::Read::read_to_string(&mut pipe, &mut stderr).expect("read stderr");
            }
            panic!("oci-fetch ended ({status}) before {what}; stderr: {stderr}");
        }
        assert!(start.elapsed() < PATIENCE, "never reached: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until a partial file in `dir` holds at least `bytes` bytes.
fn wait_for_partial(child: &mut Child, dir: &Path, bytes: u64) {
    let what = format!("a partial file of {bytes} bytes in {}", dir.display());
    wait_until(child, &what, || {
        partials(dir)
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .any(|m| m.len() >= bytes)
    });
}

fn send(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{signal}");
}

/// Starts `run` through a gate that stops the blob at `hold` bytes, waits for `at` bytes in
/// the partial file, sends `signal` and returns the child's output.
fn interrupt(
    run: Run,
    out: &Path,
    hold: u64,
    at: u64,
    signal: &str,
    extra: &[&str],
) -> std::process::Output {
    let f = fixture();
    let gate = Gate::start(&f.registry.host, hold, u64::MAX);
    let mut child = run.spawn(&gate.addr, out, extra);
    wait_for_partial(&mut child, out, at);
    send(&child, signal);
    let output = child.wait_with_output().expect("wait for oci-fetch");
    drop(gate);
    output
}

/// Checks the contract of a signal that the CLI handles: the exit status and one line.
fn check_stopped(output: &std::process::Output, code: i32, signal: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "stderr: {stderr}");
    assert_eq!(
        stderr.lines().collect::<Vec<_>>(),
        vec![format!("error: interrupted by {signal}")],
        "one line on stderr"
    );
}

/// Runs `run` to the end through a counting gate; returns the bytes it fetched.
fn finish(run: Run, out: &Path, extra: &[&str]) -> u64 {
    let f = fixture();
    let gate = Gate::start(&f.registry.host, u64::MAX, u64::MAX);
    let child = run.spawn(&gate.addr, out, extra);
    let output = child.wait_with_output().expect("wait for oci-fetch");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    gate.sent()
}

/// The directory holds exactly the verified file.
fn check_only_the_verified_file(out: &Path) {
    let names: Vec<String> = std::fs::read_dir(out)
        .expect("output dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec![TITLE.to_owned()], "in {}", out.display());
    let bytes = std::fs::read(out.join(TITLE)).expect("the pulled file");
    assert!(
        bytes == fixture().data,
        "the pulled file has the blob's bytes"
    );
}

fn only_partial(out: &Path) -> PathBuf {
    let found = partials(out);
    assert_eq!(found.len(), 1, "one partial file: {found:?}");
    assert!(!out.join(TITLE).exists(), "nothing at the destination");
    found.into_iter().next().expect("one")
}

/// Interrupts `run` with `signal` once `at` bytes of the partial file are on disk (the gate
/// holding the blob at `hold`), checks the child's report (`Some((code, name))` for a signal
/// the CLI handles) and that only the partial file is left, then runs it again: the second run
/// fetches only what was missing and leaves exactly the verified file.
fn check_interrupted_then_resumed(
    run: Run,
    (hold, at): (u64, u64),
    signal: &str,
    report: Option<(i32, &str)>,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let stopped = interrupt(run, &out, hold, at, signal, &[]);
    match report {
        Some((code, name)) => check_stopped(&stopped, code, name),
        None => assert_eq!(stopped.status.code(), None, "killed by the signal"),
    }
    let kept = std::fs::metadata(only_partial(&out))
        .expect("partial")
        .len();
    assert!(kept >= at, "partial file of {kept} bytes");

    let fetched = finish(run, &out, &[]);
    // The resumed run fetched the rest of the blob (and a few manifests), not the whole.
    assert!(
        fetched < BLOB - at / 2,
        "resumed run fetched {fetched} bytes after {kept} were kept"
    );
    check_only_the_verified_file(&out);
}

#[test]
fn sigint_mid_pull_keeps_a_partial_that_the_next_pull_resumes() {
    check_interrupted_then_resumed(
        Run::Pull,
        (24 * MIB, 16 * MIB),
        "INT",
        Some((130, "SIGINT")),
    );
}

#[test]
fn sigterm_mid_blob_fetch_keeps_a_partial_that_the_next_fetch_resumes() {
    check_interrupted_then_resumed(
        Run::BlobFetch,
        (48 * MIB, 40 * MIB),
        "TERM",
        Some((143, "SIGTERM")),
    );
}

#[test]
fn sigkill_early_in_a_pull_leaves_a_partial_that_the_next_pull_resumes() {
    check_interrupted_then_resumed(Run::Pull, (12 * MIB, 8 * MIB), "KILL", None);
}

#[test]
fn sigkill_late_in_a_pull_leaves_a_partial_that_the_next_pull_resumes() {
    check_interrupted_then_resumed(Run::Pull, (60 * MIB, 56 * MIB), "KILL", None);
}

#[test]
fn no_resume_removes_the_partial_on_sigint_and_a_killed_ones_on_the_next_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let stopped = interrupt(Run::Pull, &out, 24 * MIB, 16 * MIB, "INT", &["--no-resume"]);
    check_stopped(&stopped, 130, "SIGINT");
    assert_eq!(partials(&out), Vec::<PathBuf>::new(), "nothing left");
    assert!(!out.join(TITLE).exists());

    // A SIGKILL leaves the partial file whatever the flag; the next run, without resuming,
    // takes it over and fetches everything.
    let killed = interrupt(Run::Pull, &out, 12 * MIB, 8 * MIB, "KILL", &["--no-resume"]);
    assert_eq!(killed.status.code(), None);
    only_partial(&out);
    let fetched = finish(Run::Pull, &out, &["--no-resume"]);
    assert!(fetched >= BLOB, "a fresh download: {fetched} bytes");
    check_only_the_verified_file(&out);
}

/// Damages the interrupted run's partial file with `damage`, then checks that the next pull
/// does not trust it: it ends with the verified file all the same.
fn check_damaged_partial_is_not_trusted(damage: impl FnOnce(&Path)) {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let stopped = interrupt(Run::Pull, &out, 24 * MIB, 16 * MIB, "INT", &[]);
    check_stopped(&stopped, 130, "SIGINT");
    damage(&only_partial(&out));
    let fetched = finish(Run::Pull, &out, &[]);
    assert!(
        fetched >= BLOB,
        "the blob was fetched whole: {fetched} bytes"
    );
    check_only_the_verified_file(&out);
}

#[test]
fn a_partial_with_a_flipped_byte_is_not_trusted() {
    check_damaged_partial_is_not_trusted(|partial| {
        let mut bytes = std::fs::read(partial).expect("read partial");
        bytes[5 * MIB as usize] ^= 0x40;
        std::fs::write(partial, bytes).expect("write partial");
    });
}

#[test]
fn a_partial_longer_than_the_blob_is_not_trusted() {
    check_damaged_partial_is_not_trusted(|partial| {
        let mut bytes = fixture().data.clone();
        bytes.extend_from_slice(b"trailing junk");
        std::fs::write(partial, bytes).expect("write partial");
    });
}

#[test]
fn two_concurrent_pulls_to_one_place_both_end_verified() {
    let f = fixture();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let gate = Gate::start(&f.registry.host, u64::MAX, u64::MAX);
    let children: Vec<Child> = (0..2)
        .map(|_| Run::Pull.spawn(&gate.addr, &out, &["--overwrite"]))
        .collect();
    for child in children {
        let output = child.wait_with_output().expect("wait for oci-fetch");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    check_only_the_verified_file(&out);
}

/// An upload in flight is abandoned on SIGINT: exit 130 with one line, its session cancelled
/// with a `DELETE`, nothing published under the tag, and the same push works afterwards.
#[test]
fn sigint_mid_push_abandons_the_upload() {
    let f = fixture();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join(TITLE);
    std::fs::write(&file, &f.data).expect("write the file");
    let file = file.to_str().expect("utf-8");
    let gate = Gate::start(&f.registry.host, u64::MAX, 16 * MIB);
    let mut child = Command::new(env!("CARGO_BIN_EXE_oci-fetch"))
        .args([
            "push",
            "--plain-http",
            &format!("{}/interrupt/pushed:v1", gate.addr),
            file,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn oci-fetch");
    // The gate holds the upload just short of 16 MiB.
    wait_until(&mut child, "12 MiB uploaded", || {
        gate.received() >= 12 * MIB
    });
    send(&child, "INT");
    let stopped = child.wait_with_output().expect("wait for oci-fetch");
    let deletes = gate.deletes();
    drop(gate);
    check_stopped(&stopped, 130, "SIGINT");
    assert!(stopped.stdout.is_empty(), "no digest printed");
    assert_eq!(deletes, 1, "the upload session was cancelled");

    let tag = format!("{}/interrupt/pushed:v1", f.registry.host);
    let fetched = crate::oci_fetch(&["manifest", "fetch", "--plain-http", &tag]);
    assert_eq!(
        fetched.status.code(),
        Some(1),
        "nothing published under the tag"
    );
    let pushed = crate::oci_fetch(&["push", "--plain-http", &tag, file]);
    assert!(pushed.status.success(), "{pushed:?}");
}
