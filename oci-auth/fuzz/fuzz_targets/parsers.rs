//! Fuzzes every pure parser of `oci-auth` with the same input: `WWW-Authenticate` values,
//! scopes, docker/containers credential files, helper answers and token responses. None may
//! panic; a parsed challenge must survive a display/parse round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oci_auth::{Scope, challenge, config, helper_protocol, token_response};

fuzz_target!(|data: &[u8]| {
    let _ = config::AuthFile::parse(data);
    let _ = helper_protocol::parse_get_response(data);
    let _ = helper_protocol::failure_excerpt(data);
    let _ = token_response::parse(data);
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = Scope::parse_list(text);
    let _ = token_response::parse_rfc3339(text);
    let _ = config::normalize_key(text);
    let _ = config::decode_auth(text);
    if let Ok(challenges) = challenge::parse(text) {
        // Only parameter-style challenges round-trip through Display (token68 is kept verbatim).
        if challenges.iter().all(|c| c.token68().is_none()) {
            let shown = challenges.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
            let again = challenge::parse(&shown).expect("displayed challenges parse");
            assert_eq!(again, challenges);
        }
    }
});
