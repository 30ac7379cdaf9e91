//! Under a terminal (`script -qec`, util-linux): progress bars for every transfer, none with
//! `--no-progress`, and `login` asking for the user name and the password (not echoed).

use std::io::{Read as _, Write as _};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::TestRegistry;

/// `oci-fetch ARGS` under `script -qec` (util-linux), so that its stdin, stdout and stderr are
/// a terminal; no credential variables, all three pipes open to the caller.
pub(crate) fn under_script(args: &[&str]) -> Command {
    let line = std::iter::once(env!("CARGO_BIN_EXE_oci-fetch"))
        .chain(args.iter().copied())
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut command = Command::new("script");
    command
        .args(["-qec", &line, "/dev/null"])
        .env_remove("DOCKER_CONFIG")
        .env_remove("REGISTRY_AUTH_FILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Runs `args` under a pseudo-terminal, answering each `(prompt, answer)` in turn once the
/// prompt was printed; returns everything the terminal showed and whether the command
/// succeeded.
fn on_a_terminal(
    args: &[&str],
    home: &std::path::Path,
    answers: &[(&str, &str)],
) -> (String, bool) {
    let mut child = under_script(args)
        .env("HOME", home)
        .spawn()
        .expect("script (util-linux) runs");
    let shown = Arc::new(Mutex::new(Vec::new()));
    let mut stdout = child.stdout.take().expect("stdout");
    let sink = Arc::clone(&shown);
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().expect("lock").extend_from_slice(&buf[..n]);
        }
    });
    let mut stdin = child.stdin.take().expect("stdin");
    // Where to look for the next prompt: after the one answered last (nothing is cleared, so
    // an echoed answer stays in what is returned).
    let mut from = 0;
    let after =
        |from: usize| String::from_utf8_lossy(&shown.lock().expect("lock")[from..]).into_owned();
    for (prompt, answer) in answers {
        let start = Instant::now();
        while !after(from).contains(prompt) {
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "no {prompt:?} prompt: {}",
                String::from_utf8_lossy(&shown.lock().expect("lock"))
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        from = shown.lock().expect("lock").len();
        stdin
            .write_all(format!("{answer}\n").as_bytes())
            .expect("answer the prompt");
    }
    let status = child.wait().expect("script ends");
    drop(stdin);
    reader.join().expect("reader");
    let text = String::from_utf8_lossy(&shown.lock().expect("lock")).into_owned();
    (text, status.success())
}

#[test]
fn transfers_show_progress_on_a_terminal_and_not_with_no_progress() {
    let registry = TestRegistry::start();
    let home = tempfile::tempdir().expect("temp home");
    let file = home.path().join("payload.bin");
    // Larger than one monolithic PUT: streamed, with progress as it goes.
    std::fs::write(&file, vec![7u8; 12 * 1024 * 1024]).expect("write payload");
    let file = file.to_str().expect("utf-8");
    let target = format!("{}/cli/tty:v1", registry.host);

    let (shown, ok) = on_a_terminal(&["push", "--plain-http", &target, file], home.path(), &[]);
    assert!(ok, "{shown}");
    assert!(
        shown.contains("payload.bin") && shown.contains("12.00 MiB/12.00 MiB"),
        "a push bar: {shown}"
    );

    let out = home.path().join("out");
    let out = out.to_str().expect("utf-8");
    let (shown, ok) = on_a_terminal(
        &["pull", "--plain-http", &target, "-o", out],
        home.path(),
        &[],
    );
    assert!(ok, "{shown}");
    assert!(
        shown.contains("payload.bin") && shown.contains("12.00 MiB/12.00 MiB"),
        "a pull bar: {shown}"
    );

    let again = home.path().join("again");
    std::fs::create_dir(&again).expect("mkdir");
    let again = again.to_str().expect("utf-8");
    let (shown, ok) = on_a_terminal(
        &[
            "pull",
            "--no-progress",
            "--plain-http",
            &target,
            "-o",
            again,
        ],
        home.path(),
        &[],
    );
    assert!(ok, "{shown}");
    assert!(
        !shown.contains("MiB/"),
        "no bar with --no-progress: {shown}"
    );
}

#[test]
fn login_prompts_on_a_terminal_without_echoing_the_password() {
    const PASSWORD: &str = "typed-at-the-prompt-5";
    let registry = TestRegistry::start_with(&conformance::RegistryOptions::htpasswd([(
        "carol", PASSWORD,
    )]));
    let home = tempfile::tempdir().expect("temp home");
    let (shown, ok) = on_a_terminal(
        &["login", "--plain-http", &registry.host],
        home.path(),
        &[("Username: ", "carol"), ("Password: ", PASSWORD)],
    );
    assert!(ok, "{shown}");
    assert!(shown.contains("Login succeeded"), "{shown}");
    assert!(
        !shown.contains(PASSWORD),
        "the password was echoed: {shown}"
    );
    let config = std::fs::read_to_string(home.path().join(".docker/config.json"))
        .expect("credentials stored");
    assert!(config.contains(&registry.host), "{config}");
}

/// `oci-fetch --plain-http ARGS` on a terminal succeeds and shows the whole 12 MiB blob's bar.
fn check_bar(args: &[&str], home: &std::path::Path) {
    let args: Vec<&str> = std::iter::once("--plain-http")
        .chain(args.iter().copied())
        .collect();
    let (shown, ok) = on_a_terminal(&args, home, &[]);
    assert!(ok, "{args:?}: {shown}");
    assert!(
        shown.contains("12.00 MiB/12.00 MiB"),
        "a bar for {args:?}: {shown}"
    );
}

#[test]
fn copy_and_mirror_show_progress_on_a_terminal_and_print_only_the_digest_elsewhere() {
    let registry = TestRegistry::start();
    let home = tempfile::tempdir().expect("temp home");
    let file = home.path().join("payload.bin");
    std::fs::write(&file, vec![9u8; 12 * 1024 * 1024]).expect("write payload");
    let file = file.to_str().expect("utf-8");
    let target = format!("{}/cli/tty-copy:v1", registry.host);
    crate::ok(&["push", "--plain-http", &target, file]);
    let layout = home.path().join("layout");
    let layout = format!("{}:v1", layout.to_str().expect("utf-8"));

    // Registry → layout: the verified download's bar.
    check_bar(&["copy", "--to-oci-layout", &target, &layout], home.path());
    // Layout → registry: the streamed upload's bar (a layout source is never mounted).
    let copied = format!("{}/cli/tty-copied:v1", registry.host);
    check_bar(
        &["copy", "--from-oci-layout", &layout, &copied],
        home.path(),
    );
    // A mirror to disk: the same walker, the same bars.
    let set = home.path().join("set.toml");
    let source = format!("{}/cli/tty-copy", registry.host);
    let set_text = format!("[[source]]\nrepository = \"{source}\"\ntags = [\"v1\"]\n");
    std::fs::write(&set, set_text).expect("write the set");
    let disk = home.path().join("disk");
    let (set, disk) = (set.to_str().expect("utf-8"), disk.to_str().expect("utf-8"));
    check_bar(&["mirror", set, "--to-oci-layout", disk], home.path());

    // Not a terminal: the digest on stdout and nothing on stderr.
    let plain = format!("{}/cli/tty-plain:v1", registry.host);
    let out = crate::oci_fetch(&["copy", "--plain-http", "--from-oci-layout", &layout, &plain]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let index = std::fs::read(home.path().join("layout/index.json")).expect("index.json");
    let index: serde_json::Value = serde_json::from_slice(&index).expect("JSON");
    let root = index["manifests"][0]["digest"].as_str().expect("the root");
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(stdout, format!("{root}\n"), "only the root digest");
}
