//! Keychain: lookup order, env-var discovery (injected, never the process env), real
//! credential-helper programs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use oci_auth::{Credential, CredentialSource, Env, ErrorKind, Keychain};

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn auth_json(registry: &str, user: &str, pass: &str) -> String {
    let b = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    format!(r#"{{"auths": {{"{registry}": {{"auth": "{b}"}}}}}}"#)
}

/// Looks `registry` up and describes the answer as `user@source` (source with the temp dir
/// replaced by `$T`).
async fn check(k: &Keychain, registry: &str, repo: Option<&str>, tmp: &Path) -> String {
    match k.credential_for(registry, repo).await {
        Ok((c, source)) => {
            let who = match &c {
                Credential::Basic { username, .. } => username.clone(),
                other => other.describe(),
            };
            let src = match &source {
                CredentialSource::DockerConfig(p) => format!("docker:{}", p.display()),
                CredentialSource::ContainersAuth(p) => format!("containers:{}", p.display()),
                CredentialSource::File(p) => format!("file:{}", p.display()),
                other => other.to_string(),
            };
            format!(
                "{who} from {}",
                src.replace(&tmp.display().to_string(), "$T")
            )
        }
        Err(e) => format!(
            "error: {}",
            e.to_string().replace(&tmp.display().to_string(), "$T")
        ),
    }
}

#[tokio::test]
async fn discovery_through_env_vars() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    write(
        &t.join("dockercfg/config.json"),
        &auth_json("a.example", "docker-config-dir", "p"),
    );
    write(
        &t.join("home/.docker/config.json"),
        &auth_json("a.example", "home-docker", "p"),
    );
    write(
        &t.join("regauth.json"),
        &auth_json("b.example", "registry-auth-file", "p"),
    );
    write(
        &t.join("run/containers/auth.json"),
        &auth_json("c.example", "xdg-runtime", "p"),
    );
    write(
        &t.join("home/.config/containers/auth.json"),
        &auth_json("d.example", "home-config", "p"),
    );
    write(
        &t.join("xdgconfig/containers/auth.json"),
        &auth_json("d.example", "xdg-config-home", "p"),
    );

    let home = t.join("home");
    let all = Env::from_vars([
        ("HOME", home.as_os_str()),
        ("DOCKER_CONFIG", t.join("dockercfg").as_os_str()),
        ("REGISTRY_AUTH_FILE", t.join("regauth.json").as_os_str()),
        ("XDG_RUNTIME_DIR", t.join("run").as_os_str()),
    ]);
    let only_home = Env::from_vars([("HOME", home.as_os_str())]);
    let xdg_config = Env::from_vars([
        ("HOME", home.as_os_str()),
        ("XDG_CONFIG_HOME", t.join("xdgconfig").as_os_str()),
    ]);
    let mut out = Vec::new();
    for (name, env) in [
        ("all", &all),
        ("only HOME", &only_home),
        ("XDG_CONFIG_HOME", &xdg_config),
    ] {
        let k = Keychain::from_environment(env).expect("keychain");
        for reg in [
            "a.example",
            "b.example",
            "c.example",
            "d.example",
            "e.example",
        ] {
            out.push(format!(
                "{name}: {reg} -> {}",
                check(&k, reg, None, t).await
            ));
        }
    }
    insta::assert_snapshot!(out.join("\n"));
}

#[tokio::test]
async fn docker_config_beats_containers_auth_and_caller_beats_both() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    write(
        &t.join("d/config.json"),
        &auth_json("r.example", "from-docker", "p"),
    );
    write(
        &t.join("run/containers/auth.json"),
        &auth_json("r.example", "from-containers", "p"),
    );
    let env = Env::from_vars([
        ("DOCKER_CONFIG", t.join("d")),
        ("XDG_RUNTIME_DIR", t.join("run")),
    ]);
    let k = Keychain::from_environment(&env).expect("keychain");
    assert_eq!(
        check(&k, "r.example", None, t).await,
        "from-docker from docker:$T/d/config.json"
    );
    let k = k.with_credential("r.example", Credential::from_pull_secret("caller:pw"));
    assert_eq!(
        check(&k, "r.example", None, t).await,
        "caller from the caller"
    );
    let k = k.with_credential_from(
        "r.example",
        Credential::from_pull_secret("flag:pw"),
        "-u/-p",
    );
    assert_eq!(check(&k, "r.example", None, t).await, "flag from -u/-p");
    assert_eq!(
        check(&k, "other.example", None, t).await,
        "anonymous from anonymous access"
    );
}

#[tokio::test]
async fn malformed_file_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    write(&t.join("d/config.json"), "{ \"auths\": ");
    let env = Env::from_vars([("DOCKER_CONFIG", t.join("d"))]);
    let e = Keychain::from_environment(&env).expect_err("malformed");
    assert!(matches!(e.kind(), ErrorKind::ConfigParse { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains(&t.join("d/config.json").display().to_string()),
        "{e}"
    );

    std::fs::create_dir_all(t.join("dir/config.json")).expect("mkdir");
    let env = Env::from_vars([("DOCKER_CONFIG", t.join("dir"))]);
    let e = Keychain::from_environment(&env).expect_err("a directory");
    assert!(matches!(e.kind(), ErrorKind::ConfigRead { .. }), "{e:?}");
}

#[tokio::test]
async fn oversized_file_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let f = tmp.path().join("big.json");
    let padding = " ".repeat(oci_auth::MAX_CONFIG_FILE_BYTES as usize);
    write(&f, &format!("{{{padding}}}"));
    let e = Keychain::from_file(&f).expect_err("too large");
    assert!(e.to_string().contains("larger than"), "{e}");
}

#[tokio::test]
async fn from_file_requires_the_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let e = Keychain::from_file(&tmp.path().join("missing.json")).expect_err("missing");
    assert!(matches!(e.kind(), ErrorKind::ConfigRead { .. }), "{e:?}");
    let f = tmp.path().join("auth.json");
    write(&f, &auth_json("quay.io/org", "org-user", "p"));
    let k = Keychain::from_file(&f).expect("keychain");
    assert_eq!(
        check(&k, "quay.io", Some("org/app"), tmp.path()).await,
        "org-user from file:$T/auth.json"
    );
    assert_eq!(
        check(&k, "quay.io", Some("else/app"), tmp.path()).await,
        "anonymous from anonymous access"
    );
}

const HELPER: &str = r#"#!/bin/sh
read -r server
case "$server" in
  notfound.example) echo "credentials not found in native keychain"; exit 1;;
  broken.example) echo "keyring is locked"; exit 3;;
  slow.example) sleep 30; exit 0;;
  token.example) printf '{"ServerURL":"%s","Username":"<token>","Secret":"refresh"}' "$server";;
  garbage.example) echo "not json";;
  *) printf '{"ServerURL":"%s","Username":"user-for-%s","Secret":"pw"}' "$server" "$server";;
esac
"#;

/// A temp dir holding `docker-credential-test`, and a config naming it for every host.
fn helper_setup() -> (tempfile::TempDir, PathBuf) {
    use std::os::unix::fs::PermissionsExt as _;
    let tmp = tempfile::tempdir().expect("tempdir");
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let script = bin.join("docker-credential-test");
    write(&script, HELPER);
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let cfg = tmp.path().join("config.json");
    let fallback = base64::engine::general_purpose::STANDARD.encode("from-auths:p");
    write(
        &cfg,
        &format!(
            r#"{{"credsStore": "test", "credHelpers": {{"missing.example": "nothere"}},
                "auths": {{"notfound.example": {{"auth": "{fallback}"}}}}}}"#
        ),
    );
    (tmp, bin)
}

#[tokio::test]
async fn credential_helper_program() {
    let (tmp, bin) = helper_setup();
    let k = Keychain::from_file(&tmp.path().join("config.json"))
        .expect("keychain")
        .with_helper_path(vec![tmp.path().join("empty-dir"), bin])
        .with_helper_timeout(Duration::from_millis(500));
    let mut out = Vec::new();
    for reg in [
        "localhost:5000",
        "docker.io",
        "token.example",
        "notfound.example",
        "broken.example",
        "slow.example",
        "garbage.example",
        "missing.example",
    ] {
        out.push(format!(
            "{reg} -> {}",
            check(&k, reg, None, tmp.path()).await
        ));
    }
    insta::assert_snapshot!(out.join("\n"));
}

#[tokio::test]
async fn helper_errors_are_typed() {
    let (tmp, bin) = helper_setup();
    let k = Keychain::from_file(&tmp.path().join("config.json"))
        .expect("keychain")
        .with_helper_path(vec![bin])
        .with_helper_timeout(Duration::from_millis(500));
    let kind = |r: Result<_, oci_auth::Error>| r.map(|_| ()).expect_err("fails");
    let e = kind(k.credential_for("slow.example", None).await);
    assert!(
        matches!(e.kind(), ErrorKind::HelperTimeout { .. }) && e.is_retryable(),
        "{e:?}"
    );
    let e = kind(k.credential_for("missing.example", None).await);
    assert!(
        matches!(e.kind(), ErrorKind::HelperNotFound { .. }) && e.is_not_found(),
        "{e:?}"
    );
    let e = kind(k.credential_for("broken.example", None).await);
    assert!(matches!(e.kind(), ErrorKind::HelperFailed { .. }), "{e:?}");
    let e = kind(k.credential_for("garbage.example", None).await);
    assert!(matches!(e.kind(), ErrorKind::HelperOutput { .. }), "{e:?}");
}

#[tokio::test]
async fn helper_is_searched_on_the_environment_path() {
    let (tmp, bin) = helper_setup();
    write(
        &tmp.path().join("d/config.json"),
        r#"{"credsStore": "test"}"#,
    );
    let env = Env::from_vars([("DOCKER_CONFIG", tmp.path().join("d")), ("PATH", bin)]);
    let k = Keychain::from_environment(&env).expect("keychain");
    assert_eq!(
        check(&k, "r.example", None, tmp.path()).await,
        "user-for-r.example from credential helper docker-credential-test"
    );
}
