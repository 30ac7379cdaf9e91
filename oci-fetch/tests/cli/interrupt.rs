//! Interruptions with real signals: SIGINT, SIGTERM and SIGKILL sent to a child `oci-fetch`
//! in the middle of a large pull from the real registry, then one more run.
//!
//! The child pulls through a [`Gate`], a byte-counting TCP proxy in front of the registry that
//! can hold the answers back after a given number of bytes: the transfer is stopped mid-blob
//! deterministically (no timing), the signal is sent once the partial file on disk has reached
//! a given size, and the resumed run's bytes are counted on the wire.

use std::io::{Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use oci_fetch::download::PARTIAL_SUFFIX;
use sha2::Digest as _;

use crate::TestRegistry;

const MIB: u64 = 1024 * 1024;
/// The blob: large enough that a pull is many writes, small enough for a test.
const BLOB: u64 = 64 * MIB;
const TITLE: &str = "big.img";
/// Longest wait for a child to reach a point (a partial file of some size, an exit): a bound
/// against hanging, never a measure of speed.
const PATIENCE: Duration = Duration::from_secs(120);

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
        let pushed = crate::oci_fetch(&[
            "push",
            "--plain-http",
            &format!("{}/interrupt/big:latest", registry.host),
            file.to_str().expect("utf-8"),
        ]);
        assert!(pushed.status.success(), "{pushed:?}");
        let digest = format!("sha256:{:x}", sha2::Sha256::digest(&data));
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

/// A TCP proxy to the registry that counts the bytes it passes to the client and holds them
/// back once `limit` is reached (until the limit is raised or the gate dropped).
struct Gate {
    addr: String,
    shared: Arc<GateShared>,
}

struct GateShared {
    sent: AtomicU64,
    limit: Mutex<u64>,
    moved: Condvar,
    closed: AtomicBool,
    streams: Mutex<Vec<TcpStream>>,
}

impl GateShared {
    /// Waits until `n` more bytes may pass; false when the gate closed.
    fn admit(&self, n: u64) -> bool {
        let mut limit = self.limit.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if self.closed.load(Ordering::SeqCst) {
                return false;
            }
            if self.sent.load(Ordering::SeqCst) + n <= *limit {
                self.sent.fetch_add(n, Ordering::SeqCst);
                return true;
            }
            limit = self
                .moved
                .wait(limit)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

impl Gate {
    /// A gate in front of `upstream` that lets `limit` bytes through to clients.
    fn start(upstream: &str, limit: u64) -> Gate {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the gate");
        let addr = listener.local_addr().expect("gate address").to_string();
        let shared = Arc::new(GateShared {
            sent: AtomicU64::new(0),
            limit: Mutex::new(limit),
            moved: Condvar::new(),
            closed: AtomicBool::new(false),
            streams: Mutex::new(Vec::new()),
        });
        let upstream = upstream.to_owned();
        let accept = shared.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if accept.closed.load(Ordering::SeqCst) {
                    break;
                }
                let (Ok(client), Ok(server)) = (client, TcpStream::connect(&upstream)) else {
                    continue;
                };
                relay(&accept, client, server);
            }
        });
        Gate { addr, shared }
    }

    /// Bytes passed to clients so far.
    fn sent(&self) -> u64 {
        self.shared.sent.load(Ordering::SeqCst)
    }
}

/// Copies client → server freely and server → client through the gate, each on a thread.
fn relay(shared: &Arc<GateShared>, client: TcpStream, server: TcpStream) {
    let (Ok(mut c_read), Ok(mut s_write), Ok(mut s_read), Ok(mut c_write)) = (
        client.try_clone(),
        server.try_clone(),
        server.try_clone(),
        client.try_clone(),
    ) else {
        return;
    };
    {
        let mut streams = shared
            .streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        streams.push(client);
        streams.push(server);
    }
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut c_read, &mut s_write);
        let _ = s_write.shutdown(Shutdown::Write);
    });
    let shared = shared.clone();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match s_read.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if !shared.admit(n as u64) || c_write.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = c_write.shutdown(Shutdown::Both);
    });
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        self.shared.moved.notify_all();
        for s in self
            .shared
            .streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let _ = s.shutdown(Shutdown::Both);
        }
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(&self.addr);
    }
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

/// Waits until a partial file in `dir` holds at least `bytes` bytes.
fn wait_for_partial(child: &mut Child, dir: &Path, bytes: u64) {
    let start = Instant::now();
    loop {
        let longest = partials(dir)
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .max();
        if longest.is_some_and(|n| n >= bytes) {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("oci-fetch ended ({status}) before its partial file reached {bytes} bytes");
        }
        assert!(
            start.elapsed() < PATIENCE,
            "no partial file of {bytes} bytes in {}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
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
    let gate = Gate::start(&f.registry.host, hold);
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
    let gate = Gate::start(&f.registry.host, u64::MAX);
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
    let gate = Gate::start(&f.registry.host, u64::MAX);
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
