//! Every error path, with a recognisable secret in play: no `Display` or `Debug` may contain it.

use std::time::Duration;

use base64::Engine as _;
use oci_auth::{
    Authenticator, AuthenticatorOptions, Credential, Keychain, Scope, Secret, login, logout,
};

use oci_testkit::server::{Reply, Server};

const SECRET: &str = "hunter2-SECRET";
const REGISTRY: &str = "127.0.0.1:5998";

fn b64_secret() -> String {
    base64::engine::general_purpose::STANDARD.encode(SECRET)
}

fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(SECRET), "{what} leaks the secret: {text}");
    assert!(
        !text.contains(&b64_secret()),
        "{what} leaks the base64 secret: {text}"
    );
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("u:{SECRET}"));
    assert!(
        !text.contains(&basic),
        "{what} leaks a Basic header: {text}"
    );
}

fn clean_err(what: &str, e: &oci_auth::Error) {
    assert_clean(what, &e.to_string());
    assert_clean(what, &format!("{e:?}"));
}

#[tokio::test]
async fn no_error_path_shows_a_secret() {
    let credentials = [
        Credential::basic("u", SECRET),
        Credential::from_pull_secret(SECRET),
        Credential::IdentityToken(Secret::new(SECRET)),
        Credential::RegistryToken(Secret::new(SECRET)),
    ];
    // Where redirects lead: another origin over plain HTTP.
    let other = Server::start(|_| Reply::new(500).body(SECRET.as_bytes().to_vec()));
    let mut checked = 0;
    let mut seen = std::collections::BTreeSet::new();
    for (reply, tls) in hostile_replies(&other)
        .iter()
        .flat_map(|r| [(r.clone(), false), (r.clone(), true)])
    {
        let server = if tls {
            Server::start_tls(move |_| reply.clone())
        } else {
            Server::start(move |_| reply.clone())
        };
        let challenge = vec![format!(
            r#"Bearer realm="{}",service="s""#,
            server.url("/t")
        )];
        for c in &credentials {
            checked += check_credential(c, &challenge, &mut seen).await;
        }
    }
    assert!(checked > 40, "only {checked} error paths were exercised");
    let want = [
        "InsecureTransport",
        "InvalidTokenResponse",
        "TokenRedirectInvalid",
        "TokenRedirectLimit",
        "TokenRedirectRefused",
        "TokenRequest",
        "TokenResponseTooLarge",
        "TokenStatus",
        "TokenTimeout",
        "Unauthorized",
    ];
    for kind in want {
        assert!(
            seen.contains(kind),
            "no {kind} error was checked; saw {seen:?}"
        );
    }
}

/// Token-server answers that carry the secret, redirect, stall or break the protocol.
fn hostile_replies(other: &Server) -> Vec<Reply> {
    let elsewhere = format!("{}/{SECRET}?p={SECRET}", other.url(""));
    let with_userinfo = format!(
        "http://u:{SECRET}@{}/t",
        other.url("").trim_start_matches("http://")
    );
    vec![
        Reply::new(429)
            .header("retry-after", "5")
            .body(SECRET.as_bytes().to_vec()),
        Reply::new(503).header("retry-after", SECRET),
        Reply::json(&format!(r#"{{"token":"{SECRET}"}}"#)).cut_short(4096),
        // Redirects: to another origin (refused for forms, followed without Basic for GETs,
        // and a downgrade from the https realm), to itself (the hop limit, and a form turned
        // into a GET), without or with an unusable Location.
        Reply::redirect(307, &elsewhere),
        Reply::redirect(302, "/t"),
        Reply::new(301),
        Reply::redirect(308, &with_userinfo),
        Reply::redirect(303, &format!("ftp://{SECRET}/")),
        Reply::new(401).body(SECRET.as_bytes().to_vec()),
        Reply::new(403),
        Reply::new(404),
        Reply::new(500).body(SECRET.as_bytes().to_vec()),
        Reply::json(&format!(r#"{{"tok":"{SECRET}"}}"#)),
        Reply::json(&format!(r#"{{"token":"{SECRET} with space"}}"#)),
        Reply::json(&format!(r#"{{"token":"x","expires_in":"{SECRET}"}}"#)),
        Reply::json(&format!(r#"{{"token":"x","issued_at":"{SECRET}"}}"#)),
        Reply::json(&format!("not json {SECRET}")),
        Reply::json(&format!(
            "{SECRET}{}",
            " ".repeat(oci_auth::MAX_TOKEN_RESPONSE_BYTES)
        )),
        Reply::json(r#"{"token":"late"}"#).delay(Duration::from_secs(30)),
    ]
}

/// Challenges with `c` against `challenge` (and two non-Bearer ones) over both transports,
/// checking every error and debug form for the secret; returns how many errors it checked.
async fn check_credential(
    c: &Credential,
    challenge: &[String],
    seen: &mut std::collections::BTreeSet<String>,
) -> usize {
    let mut checked = 0;
    let mut options = AuthenticatorOptions::default();
    options.token_timeout = Duration::from_millis(300);
    let kc = Keychain::empty().with_credential(REGISTRY, c.clone());
    assert_clean("keychain", &format!("{kc:?}"));
    let a = Authenticator::with_options(crate::http(), kc, options);
    assert_clean("authenticator", &format!("{a:?}"));
    for plain_http in [true, false] {
        match a
            .challenge(REGISTRY, &[Scope::pull("r")], challenge, plain_http)
            .await
        {
            Ok(h) => assert_clean("header debug", &format!("{h:?}")),
            Err(e) => {
                clean_err("challenge", &e);
                seen.insert(kind_name(&e));
                checked += 1;
            }
        }
        for basic in [r#"Basic realm="r""#, "Negotiate x"] {
            match a
                .challenge(REGISTRY, &[], &[basic.to_owned()], plain_http)
                .await
            {
                Ok(h) => assert_clean("basic header debug", &format!("{h:?}")),
                Err(e) => {
                    clean_err("basic challenge", &e);
                    checked += 1;
                }
            }
        }
    }
    clean_err("rejection", &a.rejection(REGISTRY));
    checked
}

/// The variant name of an error, from its `Debug` form.
fn kind_name(e: &oci_auth::Error) -> String {
    let debug = format!("{e:?}");
    debug
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn config_and_helper_errors_show_no_secret() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let files = [
        format!(r#"{{"auths": "{SECRET}"}}"#),
        format!(r#"{{"auths": {{"r": {{"auth": "{SECRET}"}}}}}}"#),
        format!(r#"{{"auths": {{"r": {{"auth": "{}"}}}}}}"#, b64_secret()),
        format!(r#"{{"auths": {{"r": {{"username": "u", "password": ["{SECRET}"]}}}}}}"#),
        format!(r#"{{"auths": {{"r": {{"password": "{SECRET}"}}}}}}"#),
        format!(r#"{{"credsStore": "{SECRET}/x"}}"#),
        format!("{{ {SECRET}"),
    ];
    for (i, text) in files.iter().enumerate() {
        let p = tmp.path().join(format!("{i}.json"));
        std::fs::write(&p, text).expect("write");
        let e = Keychain::from_file(&p).expect_err("malformed");
        clean_err("config", &e);
        let e = login(&p, "r", "u", &Secret::new(SECRET)).expect_err("malformed for login");
        clean_err("login", &e);
        let e = logout(&p, "r").expect_err("malformed for logout");
        clean_err("logout", &e);
    }
    // A helper that fails after printing the secret on stderr, and one that prints invalid
    // JSON containing it on stdout.
    use std::os::unix::fs::PermissionsExt as _;
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    for (name, body) in [
        ("stderr", format!("echo {SECRET} >&2; exit 2")),
        ("badjson", format!("echo '{{\"Secret\": \"{SECRET}\"'")),
    ] {
        let script = bin.join(format!("docker-credential-{name}"));
        std::fs::write(&script, format!("#!/bin/sh\ncat >/dev/null\n{body}\n")).expect("write");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let cfg = tmp.path().join(format!("helper-{name}.json"));
        std::fs::write(&cfg, format!(r#"{{"credsStore": "{name}"}}"#)).expect("write");
        let k = Keychain::from_file(&cfg)
            .expect("keychain")
            .with_helper_path(vec![bin.clone()]);
        let e = k
            .credential_for("r.example", None)
            .await
            .map(|_| ())
            .expect_err("helper fails");
        clean_err("helper", &e);
    }
}
