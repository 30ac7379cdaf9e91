//! Docker `config.json` / containers `auth.json` parsing and key matching.

use base64::Engine as _;
use oci_auth::Credential;
use oci_auth::config::{self, AuthFile};

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn describe(c: &Credential) -> String {
    match c {
        Credential::Basic { username, password } => {
            format!("basic({username:?}, len {})", password.expose().len())
        }
        other => other.describe(),
    }
}

/// Parses `json` and looks up each `(registry, repository)`; one line per lookup.
fn check(json: &str, lookups: &[(&str, Option<&str>)]) -> String {
    let file = match AuthFile::parse(json.as_bytes()) {
        Ok(f) => f,
        Err(e) => return format!("error: {e}"),
    };
    lookups
        .iter()
        .map(|(reg, repo)| {
            let found = file.find(reg, *repo);
            let helper = file.helper_for(reg);
            format!(
                "{reg} {repo:?} -> {} helper={helper:?}",
                found.map_or("none".to_owned(), |e| format!(
                    "{} via {:?}",
                    e.credential.as_ref().map_or("marker".to_owned(), describe),
                    e.key
                ))
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn docker_config_lookups() {
    let json = format!(
        r#"{{
        "auths": {{
            "https://index.docker.io/v1/": {{ "auth": "{hub}" }},
            "localhost:5000": {{ "username": "u", "password": "p:w" }},
            "http://legacy.example/v2/": {{ "auth": "{legacy}" }},
            "token.example": {{ "identitytoken": "refresh" }},
            "rt.example": {{ "registrytoken": "bearer" }},
            "marker.example": {{}},
            "nul.example": {{ "auth": "{nul}" }}
        }},
        "credsStore": "desktop",
        "credHelpers": {{ "gcr.io": "gcloud", "https://helper.example": "x" }},
        "unknown": {{ "kept": true }}
    }}"#,
        hub = b64("hubuser:hub:pass"),
        legacy = b64("leg:acy"),
        nul = b64("n:pw\0\0"),
    );
    insta::assert_snapshot!(check(
        &json,
        &[
            ("docker.io", Some("library/alpine")),
            ("index.docker.io", None),
            ("registry-1.docker.io", None),
            ("localhost:5000", None),
            ("LOCALHOST:5000", None),
            ("localhost:5001", None),
            ("legacy.example", None),
            ("token.example", None),
            ("rt.example", None),
            ("marker.example", None),
            ("nul.example", None),
            ("gcr.io", None),
            ("helper.example", None),
        ],
    ));
}

#[test]
fn namespaced_keys_longest_match_wins() {
    let json = format!(
        r#"{{ "auths": {{
            "quay.io": {{ "auth": "{a}" }},
            "quay.io/org": {{ "auth": "{b}" }},
            "quay.io/org/team": {{ "auth": "{c}" }},
            "quay.io/organisation": {{ "auth": "{d}" }}
        }} }}"#,
        a = b64("host:x"),
        b = b64("org:xx"),
        c = b64("team:xxx"),
        d = b64("organisation:xxxx"),
    );
    insta::assert_snapshot!(check(
        &json,
        &[
            ("quay.io", None),
            ("quay.io", Some("other/repo")),
            ("quay.io", Some("org/repo")),
            ("quay.io", Some("org")),
            ("quay.io", Some("org/team/repo")),
            ("quay.io", Some("organisation/repo")),
            ("quay.io", Some("orgx/repo")),
        ],
    ));
}

#[test]
fn malformed_files() {
    let cases = [
        "{",
        "[]",
        r#"{"auths": "secret-looking-text"}"#,
        r#"{"auths": {"r": {"auth": "!!!not base64"}}}"#,
        &format!(r#"{{"auths": {{"r": {{"auth": "{}"}}}}}}"#, b64("nocolon")),
        &format!(
            r#"{{"auths": {{"r": {{"auth": "{}"}}}}}}"#,
            b64(":emptyuser")
        ),
        r#"{"auths": {"r": {"username": "u"}}}"#,
        r#"{"auths": {"r": {"password": "p"}}}"#,
        r#"{"credsStore": "../../bin/sh"}"#,
        r#"{"credHelpers": {"r": "a/b"}}"#,
        r#"{"auths": {"r": {"auth": 5}}}"#,
    ];
    let out: Vec<String> = cases
        .iter()
        .map(|c| format!("{c}\n  -> {}", check(c, &[])))
        .collect();
    insta::assert_snapshot!(out.join("\n"));
}

#[test]
fn parse_errors_never_quote_the_file() {
    for json in [
        r#"{"auths": "hunter2-secret"}"#,
        r#"{"auths": {"r": {"auth": "hunter2-secret"}}}"#,
        r#"{"auths": {"r": {"auth": ["hunter2-secret"]}}}"#,
        r#"{"auths": {"r": {"username": "u", "password": 5, "x": "hunter2-secret"}}}"#,
    ] {
        let e = AuthFile::parse(json.as_bytes()).expect_err("malformed");
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
}

#[test]
fn empty_file_is_empty_config() {
    assert_eq!(
        AuthFile::parse(b"  \n").expect("empty ok"),
        AuthFile::default()
    );
    assert_eq!(AuthFile::parse(b"{}").expect("{} ok"), AuthFile::default());
}

#[test]
fn key_normalisation() {
    let cases = [
        ("https://index.docker.io/v1/", "docker.io"),
        ("registry-1.docker.io", "docker.io"),
        ("http://Host.Example:5000/v2/", "host.example:5000"),
        ("quay.io/org/", "quay.io/org"),
        ("localhost:5000", "localhost:5000"),
    ];
    for (input, want) in cases {
        assert_eq!(config::normalize_key(input), want, "{input}");
    }
    assert_eq!(config::server_key("docker.io"), config::DOCKER_HUB_AUTH_KEY);
    assert_eq!(config::server_key("quay.io"), "quay.io");
}

#[test]
fn decode_auth_splits_at_first_colon() {
    let (u, p) = config::decode_auth(&b64("user:pa:ss")).expect("valid");
    assert_eq!((u.as_str(), p.expose()), ("user", "pa:ss"));
    let (u, p) = config::decode_auth(&b64("user:")).expect("valid");
    assert_eq!((u.as_str(), p.expose()), ("user", ""));
    // Unpadded base64 is accepted too.
    let (u, _) = config::decode_auth(b64("ab:c").trim_end_matches('=')).expect("unpadded");
    assert_eq!(u, "ab");
}

proptest::proptest! {
    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
        let _ = AuthFile::parse(&bytes);
    }
}
