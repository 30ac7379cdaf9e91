//! Replays the fuzz corpora of the `oci-auth` targets (`fuzz/corpus/www_authenticate`,
//! `auth_config`, `token_response`, `helper_protocol`, `scope`: seeds and minimised findings)
//! through the checks the fuzz targets run (`fuzz/checks/oci_auth.rs`), each input under a
//! time bound.

use oci_auth::challenge;
use oci_testkit::corpus;

#[path = "../../../fuzz/checks/oci_auth.rs"]
mod checks;

/// Replays `target`'s corpus through `check`; the corpus has its seeds.
fn replay(target: &str, check: fn(&[u8])) {
    let n = corpus::replay(target, check);
    assert!(n >= 3, "{target}: the corpus has its seeds");
}

#[test]
fn www_authenticate_corpus_replays() {
    replay("www_authenticate", checks::www_authenticate);
}

#[test]
fn auth_config_corpus_replays() {
    replay("auth_config", checks::auth_config);
}

#[test]
fn token_response_corpus_replays() {
    replay("token_response", checks::token_response);
}

#[test]
fn helper_protocol_corpus_replays() {
    replay("helper_protocol", checks::helper_protocol);
}

#[test]
fn scope_corpus_replays() {
    replay("scope", checks::scope);
}

/// Fuzz findings `www_authenticate/finding-backslash-run-in-realm` and
/// `finding-escaped-control-char-in-realm`: a quoted `realm` holding a backslash-escaped control
/// character, which once parsed into a challenge whose display form did not parse back. A
/// control character is refused inside a quoted string, escaped or not.
#[test]
fn escaped_control_characters_in_a_realm_are_refused() {
    for finding in [
        "finding-backslash-run-in-realm",
        "finding-escaped-control-char-in-realm",
    ] {
        let bytes = corpus::file("www_authenticate", finding);
        let text = String::from_utf8(bytes).expect("finding is UTF-8");
        let e = challenge::parse(&text).expect_err("refused");
        assert_eq!(e.reason, "control character in quoted string", "{finding}");
    }
}
