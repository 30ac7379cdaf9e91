//! Fuzz target: docker `config.json` / containers `auth.json` bytes through
//! `oci_auth::config::AuthFile::parse`, then every lookup a keychain makes on the result, and
//! the `auth` field decoder on the raw input. Nothing may panic.
//!
//! Run from the repository root: `RUSTC_BOOTSTRAP=1 cargo fuzz run auth_config`.
//! Check: `auth_config` in `fuzz/checks/oci_auth.rs`, also run by the corpus replay test.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../checks/oci_auth.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::auth_config(data));
