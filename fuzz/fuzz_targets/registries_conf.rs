//! Fuzz target: any UTF-8 input through `oci_client::registries::RegistriesConf::parse_str`,
//! and for accepted files the pull sources of a few references. Nothing may panic.
//!
//! Run from the repository root: `RUSTC_BOOTSTRAP=1 cargo fuzz run registries_conf`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use oci_client::registries::RegistriesConf;
use oci_ref::Reference;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(conf) = RegistriesConf::parse_str(text, "fuzz/registries.conf") else {
        return;
    };
    for r in [
        "docker.io/library/busybox:latest",
        "quay.io/ns/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "localhost:5000/a/b/c:v1",
    ] {
        let reference: Reference = r.parse().expect("fixed references parse");
        let _ = conf.pull_sources(&reference);
    }
});
