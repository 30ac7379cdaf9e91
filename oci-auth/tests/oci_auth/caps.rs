//! Caps against hostile counterparts: real credential-helper processes that never answer or
//! answer without end ([`oci_auth::HELPER_TIMEOUT`], [`oci_auth::MAX_HELPER_OUTPUT_BYTES`]).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use oci_auth::{ErrorKind, Keychain};

/// The helper time limit the tests configure; the default, [`oci_auth::HELPER_TIMEOUT`], is 30 s
/// and goes through the same code.
const TEST_HELPER_TIMEOUT: Duration = Duration::from_millis(500);

/// How long a capped helper call may take in all: the time limit plus slack for a loaded machine.
const CALL_BUDGET: Duration = Duration::from_secs(10);

/// A temp dir holding `docker-credential-hostile` (the shell `script`) and a config naming it for
/// every registry; returns the dir and the keychain, with [`TEST_HELPER_TIMEOUT`].
fn hostile_helper(script: &str) -> (tempfile::TempDir, Keychain) {
    hostile_helper_with_timeout(script, TEST_HELPER_TIMEOUT)
}

/// [`hostile_helper`] with an explicit helper time limit.
fn hostile_helper_with_timeout(script: &str, timeout: Duration) -> (tempfile::TempDir, Keychain) {
    use std::os::unix::fs::PermissionsExt as _;
    let tmp = tempfile::tempdir().expect("tempdir");
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let program = bin.join("docker-credential-hostile");
    std::fs::write(&program, script).expect("write helper");
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let cfg = tmp.path().join("config.json");
    std::fs::write(&cfg, r#"{"credsStore": "hostile"}"#).expect("write config");
    let k = Keychain::from_file(&cfg)
        .expect("keychain")
        .with_helper_path(vec![bin])
        .with_helper_timeout(timeout);
    (tmp, k)
}

/// Runs the helper for `r.example`, checks it failed within [`CALL_BUDGET`] and returns the error.
async fn run(k: &Keychain) -> oci_auth::Error {
    let started = Instant::now();
    let result = k.credential_for("r.example", None).await;
    let took = started.elapsed();
    assert!(took < CALL_BUDGET, "the helper call took {took:?}");
    result
        .map(|_| ())
        .expect_err("a hostile helper gives no credential")
}

/// Whether process `pid` is gone (or a zombie nobody runs any more).
fn is_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// Waits (bounded) for the process whose id the helper wrote to `pid_file` to be gone.
async fn assert_killed(pid_file: &Path) {
    let pid: u32 = std::fs::read_to_string(pid_file)
        .expect("the helper wrote its pid")
        .trim()
        .parse()
        .expect("a pid");
    let deadline = Instant::now() + CALL_BUDGET;
    while !is_gone(pid) {
        assert!(
            Instant::now() < deadline,
            "helper process {pid} still runs after the time limit"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn pid_file(tmp: &tempfile::TempDir) -> PathBuf {
    tmp.path().join("helper.pid")
}

#[tokio::test]
async fn helper_that_never_answers_hits_the_time_limit_and_is_killed() {
    // Reads its request, then waits for a password prompt nobody answers. `exec` makes the
    // sleeping process the helper itself, so killing the helper ends it.
    let tmp = tempfile::tempdir().expect("tempdir");
    let pids = pid_file(&tmp);
    let script = format!(
        "#!/bin/sh\necho $$ > '{}'\ncat > /dev/null\nexec sleep 3600\n",
        pids.display()
    );
    let (_dir, k) = hostile_helper(&script);
    let e = run(&k).await;
    match e.kind() {
        ErrorKind::HelperTimeout {
            helper, timeout, ..
        } => {
            assert_eq!(helper, "docker-credential-hostile");
            assert_eq!(*timeout, TEST_HELPER_TIMEOUT);
        }
        other => panic!("expected HelperTimeout, got {other:?}"),
    }
    assert!(e.is_retryable(), "{e:?}");
    assert!(
        e.to_string().contains("docker-credential-hostile"),
        "the message names the helper: {e}"
    );
    assert_killed(&pids).await;
}

#[tokio::test]
async fn helper_that_never_closes_its_stderr_hits_the_time_limit() {
    // Answers a valid credential on stdout, then keeps stderr open forever (a daemonised child
    // inheriting it): the reader must not wait for that end of file past the time limit.
    let script = "#!/bin/sh\ncat > /dev/null\n\
                  printf '{\"ServerURL\":\"r.example\",\"Username\":\"u\",\"Secret\":\"p\"}'\n\
                  exec 1>&-\nexec sleep 3600\n";
    let (_dir, k) = hostile_helper(script);
    let e = run(&k).await;
    assert!(
        matches!(e.kind(), ErrorKind::HelperTimeout { .. }),
        "expected HelperTimeout, got {e:?}"
    );
}

#[tokio::test]
async fn endless_helper_output_is_cut_at_the_output_cap() {
    // Endless stdout that stops, with exit status 0, only once the reader stops reading. Under
    // a time limit longer than the whole call budget, only the output cap can end the call: the
    // answer is cut at MAX_HELPER_OUTPUT_BYTES and refused as output.
    let script = "#!/bin/sh\ncat > /dev/null\ntrap '' PIPE\nyes xxxxxxxxxxxxxxxx\nexit 0\n";
    let (_dir, k) = hostile_helper_with_timeout(script, 4 * CALL_BUDGET);
    let e = run(&k).await;
    assert!(
        matches!(e.kind(), ErrorKind::HelperOutput { .. }),
        "expected HelperOutput, got {e:?}"
    );
    assert!(
        e.to_string().len() < 4096,
        "the message does not echo the output: {} bytes",
        e.to_string().len()
    );
}

#[tokio::test]
async fn endless_helper_output_from_a_helper_that_keeps_running_is_bounded() {
    // Endless stdout and stderr, SIGPIPE ignored, never exits: memory stays bounded by the
    // output cap and the call ends at the time limit with the process killed.
    let tmp = tempfile::tempdir().expect("tempdir");
    let pids = pid_file(&tmp);
    let script = format!(
        "#!/bin/sh\necho $$ > '{}'\ncat > /dev/null\ntrap '' PIPE\n\
         while :; do echo xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; echo yyyy >&2; done\n",
        pids.display()
    );
    let (_dir, k) = hostile_helper(&script);
    let e = run(&k).await;
    assert!(
        matches!(e.kind(), ErrorKind::HelperTimeout { .. }),
        "expected HelperTimeout, got {e:?}"
    );
    assert_killed(&pids).await;
}

#[tokio::test]
async fn failure_text_beyond_the_output_cap_is_not_echoed() {
    // A failing helper printing endless text on stderr, stopping only once the reader stops:
    // reading ends at MAX_HELPER_OUTPUT_BYTES (the time limit is longer than the call budget),
    // and the error quotes an excerpt, not the flood.
    let script = "#!/bin/sh\ncat > /dev/null\ntrap '' PIPE\nyes eeeeeeeeeeeeeeee >&2\nexit 7\n";
    let (_dir, k) = hostile_helper_with_timeout(script, 4 * CALL_BUDGET);
    let e = run(&k).await;
    match e.kind() {
        ErrorKind::HelperFailed { message, .. } => {
            assert!(message.contains("status 7"), "{message}");
            assert!(message.len() < 4096, "{} bytes", message.len());
        }
        other => panic!("expected HelperFailed, got {other:?}"),
    }
}
