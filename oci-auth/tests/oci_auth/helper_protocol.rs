//! Credential-helper protocol encoding and decoding.

use oci_auth::Credential;
use oci_auth::helper_protocol as hp;

#[test]
fn get_request_names_the_server() {
    assert_eq!(hp::get_request("docker.io"), "https://index.docker.io/v1/");
    assert_eq!(hp::get_request("localhost:5000"), "localhost:5000");
    assert_eq!(hp::program_name("pass"), "docker-credential-pass");
}

#[test]
fn responses() {
    let check = |out: &str| match hp::parse_get_response(out.as_bytes()) {
        Ok(Some(Credential::Basic { username, password })) => {
            format!("basic {username:?} secret-len={}", password.expose().len())
        }
        Ok(Some(c)) => c.describe(),
        Ok(None) => "anonymous".to_owned(),
        Err(e) => format!("error: {e}"),
    };
    let cases = [
        r#"{"ServerURL":"x","Username":"bob","Secret":"pw"}"#,
        r#"{"ServerURL":"x","Username":"<token>","Secret":"refresh"}"#,
        r#"{"ServerURL":"x","Username":"bob","Secret":""}"#,
        r#"{"Username":"bob"}"#,
        "not json secret-ish",
    ];
    let out: Vec<String> = cases
        .iter()
        .map(|c| format!("{c} -> {}", check(c)))
        .collect();
    insta::assert_snapshot!(out.join("\n"));
}

#[test]
fn not_found_message_means_anonymous() {
    assert!(hp::is_not_found(
        b"credentials not found in native keychain\n"
    ));
    assert!(hp::is_not_found(
        b"Credentials not found in native keychain"
    ));
    assert!(!hp::is_not_found(b"no credentials server URL"));
}

#[test]
fn failure_excerpt_repeats_only_known_messages() {
    assert_eq!(
        hp::failure_excerpt(b"error: no credentials server URL\n"),
        "no credentials server URL"
    );
    assert_eq!(hp::failure_excerpt(b"  \n"), "no output");
    let ex = hp::failure_excerpt(b"token abcdef-secret is bad");
    assert!(ex.contains("withheld") && !ex.contains("abcdef"), "{ex}");
}
