//! Fuzz target: any UTF-8 input as a `Link` header through `oci_client::parse_next_link`, and
//! as one or several header values through `oci_client::next_link`. Nothing may panic, and
//! `next_link` on a single valid header value agrees with `parse_next_link`.
//!
//! Run from the repository root: `RUSTC_BOOTSTRAP=1 cargo fuzz run link_header`.
//! Check: `link_header` in `fuzz/checks/oci_client.rs`, also run by the corpus replay test.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../checks/oci_client.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::link_header(data));
