//! Fuzz target: any UTF-8 input through `Reference::parse` and `Digest::parse`. Accepted input
//! must survive the display round trip; nothing may panic.
//!
//! Run from the repository root: `RUSTC_BOOTSTRAP=1 cargo fuzz run reference`.
//! The corpus `fuzz/corpus/reference` is replayed by `cargo test -p oci-ref`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use oci_ref::{Digest, Reference};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = Reference::parse(text) {
        let shown = r.to_string();
        let again = Reference::parse(&shown).expect("the display form parses");
        assert_eq!(again, r, "display round trip of {shown:?}");
        assert_eq!(again.to_string(), shown, "display is stable");
        let from_url = Reference::parse(&r.to_oci_url()).expect("the oci:// form parses");
        assert_eq!(from_url, r, "oci:// round trip");
    }
    let _ = Reference::parse_docker(text);
    let _ = Reference::parse_oci_url(text);
    if let Ok(d) = Digest::parse(text) {
        assert_eq!(d.as_str(), text, "a digest is kept as written");
        assert_eq!(Digest::parse(&format!("{d}")), Ok(d), "digest round trip");
    }
});
