//! login / logout on a docker config file.

use std::os::unix::fs::PermissionsExt as _;

use oci_auth::{Credential, ErrorKind, Keychain, Secret, login, logout};

#[tokio::test]
async fn login_creates_0600_file_and_keychain_reads_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("new-dir/config.json");
    login(&path, "localhost:5000", "bob", &Secret::new("pa:ss")).expect("login");
    let mode = std::fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let (c, _) = Keychain::from_file(&path)
        .expect("keychain")
        .credential_for("localhost:5000", None)
        .await
        .expect("lookup");
    assert_eq!(c, Credential::basic("bob", "pa:ss"));
}

#[test]
fn login_keeps_other_keys_and_replaces_aliases() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("config.json");
    std::fs::write(
        &path,
        r#"{"auths": {"docker.io": {"auth": "b2xkOm9sZA=="}, "quay.io": {"auth": "cTpx"}},
            "credHelpers": {"gcr.io": "gcloud"}, "psFormat": "table"}"#,
    )
    .expect("write");
    login(&path, "index.docker.io", "new", &Secret::new("pw")).expect("login");
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
    insta::assert_json_snapshot!(doc);
}

#[test]
fn logout_removes_and_then_reports_not_logged_in() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("config.json");
    login(&path, "r.example", "u", &Secret::new("p")).expect("login");
    logout(&path, "https://r.example").expect("logout");
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(!text.contains("r.example"), "{text}");
    let e = logout(&path, "r.example").expect_err("second logout");
    assert!(
        e.is_not_found() && matches!(e.kind(), ErrorKind::NotLoggedIn { .. }),
        "{e:?}"
    );
    let e = logout(&tmp.path().join("none.json"), "r.example").expect_err("no file");
    assert!(e.is_not_found());
}

#[test]
fn login_refuses_to_rewrite_a_malformed_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("config.json");
    std::fs::write(&path, "{not json").expect("write");
    let e = login(&path, "r.example", "u", &Secret::new("p")).expect_err("malformed");
    assert!(matches!(e.kind(), ErrorKind::ConfigParse { .. }), "{e:?}");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), "{not json");
    std::fs::write(&path, r#"{"auths": []}"#).expect("write");
    let e = login(&path, "r.example", "u", &Secret::new("p")).expect_err("auths not an object");
    assert!(matches!(e.kind(), ErrorKind::ConfigParse { .. }), "{e:?}");
}

#[test]
fn login_validates_inputs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("config.json");
    for (reg, user) in [
        ("r", ""),
        ("r", "a:b"),
        ("", "u"),
        ("a b", "u"),
        ("u@r", "u"),
    ] {
        assert!(
            login(&path, reg, user, &Secret::new("p")).is_err(),
            "{reg:?} {user:?}"
        );
    }
    assert!(!path.exists());
}

#[test]
fn login_through_a_symlink_updates_the_target() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let real = tmp.path().join("real.json");
    std::fs::write(&real, "{}").expect("write");
    let link = tmp.path().join("config.json");
    std::os::unix::fs::symlink(&real, &link).expect("symlink");
    login(&link, "r.example", "u", &Secret::new("p")).expect("login");
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("stat")
            .file_type()
            .is_symlink()
    );
    assert!(
        std::fs::read_to_string(&real)
            .expect("read")
            .contains("r.example")
    );
}
