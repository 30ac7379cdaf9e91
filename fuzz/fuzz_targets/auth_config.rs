//! Fuzz target: docker `config.json` / containers `auth.json` bytes through
//! `oci_auth::config::AuthFile::parse`, then every lookup a keychain makes on the result, and
//! the `auth` field decoder on the raw input. Nothing may panic.
//!
//! Run from the repository root: `RUSTC_BOOTSTRAP=1 cargo fuzz run auth_config`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use oci_auth::config::{AuthFile, decode_auth, normalize_key, server_key};

fuzz_target!(|data: &[u8]| {
    if let Ok(file) = AuthFile::parse(data) {
        let _ = format!("{file:?}");
        for entry in file.auths() {
            let _ = file.find(&entry.normalized, None);
            let _ = file.helper_for(&entry.normalized);
            let _ = normalize_key(&entry.key);
        }
        let _ = file.find("registry.example", Some("library/busybox"));
        let _ = file.creds_store();
        let _ = file.cred_helpers();
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = decode_auth(text);
        let _ = normalize_key(text);
        let _ = server_key(text);
    }
});
