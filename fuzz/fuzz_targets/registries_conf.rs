//! Fuzz target: any UTF-8 input through `oci_client::registries::RegistriesConf::parse_str`,
//! and for accepted files the pull sources of a few references. Nothing may panic.
//!
//! Run from the repository root: `RUSTC_BOOTSTRAP=1 cargo fuzz run registries_conf`.
//! Check: `registries_conf` in `fuzz/checks/oci_client.rs`, also run by the corpus replay test.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../checks/oci_client.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::registries_conf(data));
