//! Credentials, pull secrets and redaction.

use oci_auth::{Credential, CredentialSource, Secret};

#[test]
fn pull_secrets_split_like_ironic() {
    let check = |s: &str| match Credential::from_pull_secret(s) {
        Credential::Basic { username, password } => (username, password.expose().to_owned()),
        Credential::Anonymous => ("<anonymous>".to_owned(), String::new()),
        other => (other.describe(), String::new()),
    };
    assert_eq!(check(""), ("<anonymous>".to_owned(), String::new()));
    assert_eq!(check("tok"), (String::new(), "tok".to_owned()));
    assert_eq!(
        check("user:pass:with:colons"),
        ("user".to_owned(), "pass:with:colons".to_owned())
    );
    assert_eq!(check("username:"), ("username".to_owned(), String::new()));
}

#[test]
fn secrets_are_redacted() {
    let s = Secret::new("hunter2");
    assert_eq!(format!("{s}"), "<redacted>");
    assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
    for c in [
        Credential::basic("u", "hunter2"),
        Credential::IdentityToken(Secret::new("hunter2")),
        Credential::RegistryToken(Secret::new("hunter2")),
    ] {
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(!c.describe().contains("hunter2"));
    }
}

#[test]
fn source_display() {
    assert_eq!(
        CredentialSource::Caller("--username/--password".to_owned()).to_string(),
        "--username/--password"
    );
    assert_eq!(
        CredentialSource::Helper("docker-credential-x".to_owned()).to_string(),
        "credential helper docker-credential-x"
    );
    assert_eq!(CredentialSource::Anonymous.to_string(), "anonymous access");
}
