//! The credential flags (`-u`, `-p`, `--password-stdin`, `--registry-token[-stdin]`,
//! `--identity-token[-stdin]`), their precedence over credentials files and helpers, and
//! `login`/`logout` through a credential helper, against a real htpasswd registry with no
//! credentials file unless a test writes one. Their `--json` output is snapshotted (see `json`).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use oci_testkit::secrets::Scanner;

use crate::TestRegistry;

const USER: &str = "alice";
const PASSWORD: &str = "wonder-land-7";

/// A clean home (no docker or containers credentials files) and a directory on `$PATH` for
/// credential helpers.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        Home {
            dir: tempfile::tempdir().expect("temp home"),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn bin(&self) -> PathBuf {
        self.path().join("bin")
    }

    /// `login --plain-http HOST -u USER --password-stdin --json`, [`PASSWORD`] on stdin (with
    /// `stdin`'s line end), through [`Home::json`].
    fn login_json(&self, name: &str, host: &str, line_end: &str) -> serde_json::Value {
        let args = [
            "login",
            "--plain-http",
            host,
            "-u",
            USER,
            "--password-stdin",
            "--json",
        ];
        self.json(name, host, &args, &format!("{PASSWORD}{line_end}"))
    }

    /// Runs `oci-fetch args` with `stdin` in this home, expects success with no form of
    /// [`PASSWORD`] in the output, and snapshots the JSON it prints as `json_<name>`, the
    /// registry `HOST` written `<registry>` and this home `<home>`.
    fn json(&self, name: &str, host: &str, args: &[&str], stdin: &str) -> serde_json::Value {
        let out = self.run(args, stdin);
        check_ok(&out, PASSWORD, name);
        let home = self.path().display().to_string();
        crate::json::snapshot(
            name,
            args,
            &text(&out.stdout),
            &[(host, "<registry>"), (&home, "<home>")],
        )
    }

    /// Runs `oci-fetch args` with `stdin`, in this home, helpers looked for in `bin/`.
    fn run(&self, args: &[&str], stdin: &str) -> Output {
        let path = format!(
            "{}:{}",
            self.bin().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut child = Command::new(env!("CARGO_BIN_EXE_oci-fetch"))
            .args(args)
            .env("HOME", self.path())
            .env("PATH", path)
            .env_remove("DOCKER_CONFIG")
            .env_remove("REGISTRY_AUTH_FILE")
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("XDG_CONFIG_HOME")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("oci-fetch starts");
        let mut input = child.stdin.take().expect("stdin");
        // A command that reads no stdin may exit before this is written.
        let _ = input.write_all(stdin.as_bytes());
        drop(input);
        child.wait_with_output().expect("oci-fetch finishes")
    }

    /// A file to push.
    fn file(&self) -> String {
        let f = self.path().join("payload.txt");
        std::fs::write(&f, b"payload\n").expect("write payload");
        f.to_str().expect("utf-8").to_owned()
    }

    /// Writes `~/.docker/config.json`.
    fn docker_config(&self, json: &serde_json::Value) -> PathBuf {
        let dir = self.path().join(".docker");
        std::fs::create_dir_all(&dir).expect("docker dir");
        let f = dir.join("config.json");
        std::fs::write(&f, json.to_string()).expect("write config");
        f
    }

    /// Installs `docker-credential-NAME` on `$PATH`, a real helper speaking the protocol that
    /// keeps one entry in `bin/NAME.json`.
    fn helper(&self, name: &str) -> PathBuf {
        std::fs::create_dir_all(self.bin()).expect("bin dir");
        let store = self.bin().join(format!("{name}.json"));
        let script = format!(
            r#"#!/bin/sh
store='{store}'
case "$1" in
  store) cat > "$store" ;;
  get) read -r server
       if [ -f "$store" ] && grep -q "\"ServerURL\":\"$server\"" "$store"; then cat "$store"
       else echo "credentials not found in native keychain"; exit 1; fi ;;
  erase) read -r server
       if [ -f "$store" ] && grep -q "\"ServerURL\":\"$server\"" "$store"; then rm "$store"
       else echo "credentials not found in native keychain"; exit 1; fi ;;
  *) echo "unknown credential action"; exit 1 ;;
esac
"#,
            store = store.display()
        );
        let program = self.bin().join(format!("docker-credential-{name}"));
        std::fs::write(&program, script).expect("write helper");
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755))
            .expect("chmod helper");
        store
    }
}

fn registry() -> TestRegistry {
    TestRegistry::start_with(&conformance::RegistryOptions::htpasswd([(USER, PASSWORD)]))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts success and that no form of `secret` shows on stdout or stderr.
fn check_ok(out: &Output, secret: &str, what: &str) {
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{what}: {stderr}");
    check_clean(&stdout, &stderr, secret, what);
}

/// Asserts exit 1, one error line holding `needle`, and no form of `secret` in the output.
fn check_failed(out: &Output, secret: &str, needle: &str, what: &str) {
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{what}: one error line: {stderr}");
    assert!(errors[0].contains(needle), "{what}: {needle:?} in {stderr}");
    check_clean(&stdout, &stderr, secret, what);
}

fn check_clean(stdout: &str, stderr: &str, secret: &str, what: &str) {
    let scanner = Scanner::new(secret);
    assert!(
        !scanner.in_text(stdout),
        "{what}: secret on stdout: {stdout}"
    );
    assert!(
        !scanner.in_text(stderr),
        "{what}: secret on stderr: {stderr}"
    );
}

const WARNING: &str = "WARNING! Using --password via the CLI is insecure. Use --password-stdin.";

#[test]
fn credential_flags_reach_an_htpasswd_registry_with_no_credentials_file() {
    let registry = registry();
    let home = Home::new();
    let file = home.file();
    let target = format!("{}/cli/creds:v1", registry.host);
    let push = |extra: &[&str], stdin: &str| {
        let mut args = vec!["push", "--plain-http"];
        args.extend_from_slice(extra);
        args.extend([target.as_str(), file.as_str()]);
        home.run(&args, stdin)
    };

    // Nothing given: the message names the flags and `login` that would have helped.
    let out = push(&[], "");
    check_failed(&out, PASSWORD, "requires credentials", "anonymous");
    assert!(
        text(&out.stderr).contains("--username"),
        "{}",
        text(&out.stderr)
    );

    // -u/-p works, with docker's warning.
    let out = push(&["-u", USER, "-p", PASSWORD], "");
    check_ok(&out, "no-secret-expected-here", "-u -p");
    assert!(text(&out.stderr).contains(WARNING), "{}", text(&out.stderr));

    // -u --password-stdin works without the warning, and the secret shows nowhere.
    let out = push(
        &["--username", USER, "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    check_ok(&out, PASSWORD, "--password-stdin");
    assert!(!text(&out.stderr).contains("WARNING"));

    // Read commands take them too (after the subcommand, as oras writes them).
    let out = home.run(
        &[
            "tags",
            "--plain-http",
            &format!("{}/cli/creds", registry.host),
            "-u",
            USER,
            "--password-stdin",
        ],
        PASSWORD,
    );
    check_ok(&out, PASSWORD, "tags");
    assert_eq!(text(&out.stdout).trim(), "v1");

    // A wrong password: the error names the flags it came from, never the password.
    let wrong = "not-the-password-42";
    let out = push(&["-u", USER, "--password-stdin"], wrong);
    check_failed(
        &out,
        wrong,
        "rejected the credentials from --username/--password-stdin",
        "wrong password",
    );

    // A registry token cannot answer a Basic challenge: said, with the flag, without the token.
    let token = "pre-shared-token-99";
    let out = push(&["--registry-token-stdin"], token);
    check_failed(
        &out,
        token,
        "cannot use a registry token from --registry-token-stdin",
        "registry token",
    );
    let out = push(&["--identity-token", token], "");
    check_failed(
        &out,
        token,
        "cannot use an identity token from --identity-token",
        "identity token",
    );
    assert!(
        text(&out.stderr).contains("WARNING! Using --identity-token via the CLI is insecure"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn flags_win_over_files_and_a_files_helper_wins_over_its_auths_entry() {
    let registry = registry();
    let host = registry.host.as_str();
    let home = Home::new();
    let file = home.file();
    let target = format!("{host}/cli/precedence:v1");
    let push = |extra: &[&str], stdin: &str| {
        let mut args = vec!["push", "--plain-http"];
        args.extend_from_slice(extra);
        args.extend([target.as_str(), file.as_str()]);
        home.run(&args, stdin)
    };
    let auth =
        |user: &str, password: &str| oci_testkit::secrets::base64(format!("{user}:{password}"));

    // The file holds wrong credentials: the flags win.
    home.docker_config(&serde_json::json!({"auths": {host: {"auth": auth(USER, "stale")}}}));
    check_ok(
        &push(&["-u", USER, "--password-stdin"], PASSWORD),
        PASSWORD,
        "flags over file",
    );
    check_failed(
        &push(&[], ""),
        "stale",
        "rejected the credentials",
        "file only",
    );

    // The file holds the right ones and the flags wrong ones: the flags still win (no silent
    // fallback to the file).
    home.docker_config(&serde_json::json!({"auths": {host: {"auth": auth(USER, PASSWORD)}}}));
    check_ok(&push(&[], ""), PASSWORD, "file");
    check_failed(
        &push(&["-u", USER, "--password-stdin"], "wrong-flag-pw"),
        "wrong-flag-pw",
        "from --username/--password-stdin",
        "flags over a good file",
    );

    // The file names a helper that holds the right credentials beside a stale auths entry:
    // the helper wins, as with docker and oras.
    let store = home.helper("testkeys");
    std::fs::write(
        &store,
        serde_json::json!({"ServerURL": host, "Username": USER, "Secret": PASSWORD}).to_string(),
    )
    .expect("seed the helper");
    home.docker_config(&serde_json::json!({
        "credsStore": "testkeys",
        "auths": {host: {"auth": auth(USER, "stale")}},
    }));
    check_ok(&push(&[], ""), PASSWORD, "helper over auths entry");
}

#[test]
fn login_stores_through_the_credential_helper_and_logout_erases_there() {
    let registry = registry();
    let host = registry.host.as_str();
    let home = Home::new();
    let store = home.helper("testkeys");
    // A plain-text entry left from before the helper was configured: removed by the login.
    let stale = oci_testkit::secrets::base64(format!("{USER}:stale-plain-text"));
    let config = home.docker_config(&serde_json::json!({
        "credsStore": "testkeys",
        "auths": {host: {"auth": stale}},
    }));

    // The snapshot says where: the helper `docker-credential-testkeys`.
    home.login_json("login", host, "\n");
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&store).expect("the helper stored")).expect("JSON");
    assert_eq!(stored["Username"], USER);
    assert_eq!(stored["Secret"], PASSWORD);
    let file = std::fs::read_to_string(&config).expect("config kept");
    assert!(
        !Scanner::new(PASSWORD).in_text(&file),
        "no secret in config.json: {file}"
    );
    assert!(
        !file.contains(&stale),
        "the plain-text entry is gone: {file}"
    );
    assert!(
        file.contains("credsStore"),
        "the rest of the file stays: {file}"
    );

    // What the helper holds is used.
    let payload = home.file();
    let target = format!("{host}/cli/helper:v1");
    check_ok(
        &home.run(&["push", "--plain-http", &target, &payload], ""),
        PASSWORD,
        "push through the helper",
    );

    home.json("logout", host, &["logout", host, "--json"], "");
    assert!(!store.exists(), "the helper erased its entry");
    check_failed(
        &home.run(&["logout", host], ""),
        PASSWORD,
        "not logged in",
        "second logout",
    );
}

#[test]
fn login_without_a_helper_writes_the_file_and_says_so_in_json() {
    let registry = registry();
    let host = registry.host.as_str();
    let home = Home::new();
    // The snapshots say where: `<home>/.docker/config.json`.
    home.login_json("login_config_file", host, "");
    let config = home.path().join(".docker/config.json");
    let entry = |config: &Path| {
        let file: serde_json::Value =
            serde_json::from_slice(&std::fs::read(config).expect("config.json")).expect("JSON");
        file["auths"][host]["auth"].clone()
    };
    assert_eq!(
        entry(&config),
        oci_testkit::secrets::base64(format!("{USER}:{PASSWORD}")).as_str(),
        "the file holds the entry"
    );
    home.json("logout_config_file", host, &["logout", host, "--json"], "");
    assert!(entry(&config).is_null(), "the entry is gone");
}

/// `curl` against the token server; returns the JSON answer.
fn curl_json(args: &[&str]) -> serde_json::Value {
    let out = Command::new("curl")
        .args(["-sS", "--fail"])
        .args(args)
        .output()
        .expect("curl runs");
    assert!(out.status.success(), "curl {args:?}: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("a JSON token answer")
}

#[test]
fn registry_and_identity_tokens_reach_a_token_auth_registry() {
    let server = conformance::token_server::TokenServer::start([("bob", "hunter2")])
        .expect("token server starts");
    let registry =
        TestRegistry::start_with(&conformance::RegistryOptions::with_auth(server.auth()));
    let home = Home::new();
    let file = home.file();
    let realm = server.realm();
    let repo = "cli/tokens";

    // A pre-shared bearer token (what Ironic gets as a pull secret): sent as it is.
    let scope = format!("repository:{repo}:pull,push");
    let answer = curl_json(&[
        "-u",
        "bob:hunter2",
        "-G",
        &realm,
        "--data-urlencode",
        "service=conformance-registry",
        "--data-urlencode",
        &format!("scope={scope}"),
    ]);
    let token = answer["token"].as_str().expect("a token").to_owned();
    let target = format!("{}/{repo}:v1", registry.host);
    let before = server.requests().len();
    let out = home.run(
        &[
            "push",
            "--plain-http",
            "--registry-token-stdin",
            &target,
            &file,
        ],
        &token,
    );
    check_ok(&out, &token, "--registry-token-stdin push");
    assert_eq!(
        server.requests().len(),
        before,
        "a registry token is used without any token exchange"
    );

    // An identity (refresh) token: exchanged with grant_type=refresh_token.
    let answer = curl_json(&[
        &realm,
        "--data",
        "grant_type=password&username=bob&password=hunter2&service=conformance-registry&client_id=t&access_type=offline",
    ]);
    let refresh = answer["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned();
    let out = home.run(
        &[
            "tags",
            "--plain-http",
            "--identity-token-stdin",
            &format!("{}/{repo}", registry.host),
        ],
        &refresh,
    );
    check_ok(&out, &refresh, "--identity-token-stdin tags");
    assert_eq!(text(&out.stdout).trim(), "v1");
    let last = server.requests().pop().expect("a token request");
    assert_eq!(
        last.grant_type.as_deref(),
        Some("refresh_token"),
        "{last:?}"
    );
}

/// `copy` between two htpasswd registries with different users: `--from-*` / `--to-*` give
/// each registry its own credential, each side's `--*-plain-http` is its own, and a rejection
/// names the side's flags.
#[test]
fn copy_gives_the_source_and_the_destination_their_own_credentials() {
    const BOB: &str = "bob";
    const BOBS: &str = "builder-of-9";
    let source = registry();
    let destination =
        TestRegistry::start_with(&conformance::RegistryOptions::htpasswd([(BOB, BOBS)]));
    let home = Home::new();
    let file = home.file();
    let from = format!("{}/cli/sides:v1", source.host);
    let to = format!("{}/cli/sides:v1", destination.host);
    let pushed = home.run(
        &[
            "push",
            "--plain-http",
            &from,
            &file,
            "-u",
            USER,
            "--password-stdin",
        ],
        PASSWORD,
    );
    check_ok(&pushed, PASSWORD, "push to the source");

    let sides = |from_user: &str, from_password: &str, to_user: &str, stdin: &str| {
        home.run(
            &[
                "copy",
                &from,
                &to,
                "--from-plain-http",
                "--to-plain-http",
                "--from-username",
                from_user,
                "--from-password",
                from_password,
                "--to-username",
                to_user,
                "--to-password-stdin",
            ],
            stdin,
        )
    };
    let copied = sides(USER, PASSWORD, BOB, BOBS);
    check_ok(&copied, BOBS, "--from-* and --to-*");
    assert!(
        text(&copied.stderr).contains(
            "WARNING! Using --from-password via the CLI is insecure. Use --from-password-stdin."
        ),
        "{}",
        text(&copied.stderr)
    );
    let tags = home.run(
        &[
            "tags",
            "--plain-http",
            &format!("{}/cli/sides", destination.host),
            "-u",
            BOB,
            "--password-stdin",
        ],
        BOBS,
    );
    check_ok(&tags, BOBS, "tags at the destination");
    assert_eq!(text(&tags.stdout).trim(), "v1");

    // Swapped: the source rejects bob, and the error names the source's flags.
    let swapped = sides(BOB, BOBS, USER, PASSWORD);
    check_failed(
        &swapped,
        PASSWORD,
        "rejected the credentials from --from-username/--from-password",
        "swapped credentials",
    );
}

/// With two registries the shared flags are refused (a password would reach both), naming the
/// per-side flags; one flag only can read standard input. Both are refused before any request.
#[test]
fn copy_refuses_shared_credentials_for_two_registries_and_two_stdin_readers() {
    let home = Home::new();
    let (from, to) = ("127.0.0.1:1/cli/sides:v1", "127.0.0.1:2/cli/sides:v1");
    let shared = home.run(
        &[
            "copy",
            "--plain-http",
            from,
            to,
            "-u",
            USER,
            "--password-stdin",
        ],
        PASSWORD,
    );
    assert_eq!(shared.status.code(), Some(2), "{}", text(&shared.stderr));
    assert!(
        text(&shared.stderr).contains("--from-username"),
        "{}",
        text(&shared.stderr)
    );
    check_clean(
        &text(&shared.stdout),
        &text(&shared.stderr),
        PASSWORD,
        "shared",
    );

    // Only one flag can read standard input.
    let two = home.run(
        &[
            "copy",
            from,
            to,
            "--from-username",
            USER,
            "--from-password-stdin",
            "--to-username",
            "bob",
            "--to-password-stdin",
        ],
        PASSWORD,
    );
    assert_eq!(two.status.code(), Some(2), "{}", text(&two.stderr));
    let stderr = text(&two.stderr);
    assert!(
        stderr.contains("--from-password-stdin, --to-password-stdin"),
        "{stderr}"
    );
}
