//! Fuzz target: any bytes as a credential helper's output through
//! `oci_auth::helper_protocol::parse_get_response`, `failure_excerpt` and `is_not_found`.
//! Nothing may panic; an accepted answer is a Basic credential or an identity token with a
//! non-empty secret that `Debug` hides; and the excerpt an error may repeat is always one of the
//! fixed texts, never the helper's output (which may hold the secret it was about to return).
//!
//! Run from the repository root: `RUSTC_BOOTSTRAP=1 cargo fuzz run helper_protocol`.
//! The corpus `fuzz/corpus/helper_protocol` is replayed by `cargo test -p oci-auth`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use oci_auth::Credential;
use oci_auth::helper_protocol::{
    CREDENTIALS_NOT_FOUND, KNOWN_MESSAGES, failure_excerpt, is_not_found, parse_get_response,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(c)) = parse_get_response(data) {
        let secret = match &c {
            Credential::Basic { password, .. } => password,
            Credential::IdentityToken(token) => token,
            other => panic!("a helper answer became {other:?}"),
        };
        assert!(
            !secret.is_empty(),
            "an empty secret is anonymous, not a credential"
        );
        assert!(
            format!("{c:?}").contains("Secret(<redacted>)"),
            "Debug hides the secret"
        );
    }
    let excerpt = failure_excerpt(data);
    let fixed = KNOWN_MESSAGES.contains(&excerpt.as_str())
        || excerpt == "no output"
        || excerpt.starts_with("its message is withheld");
    assert!(fixed, "excerpt {excerpt:?} is not a fixed text");
    if is_not_found(data) {
        assert_eq!(excerpt, CREDENTIALS_NOT_FOUND);
    }
});
