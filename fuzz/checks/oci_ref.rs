//! What the `reference` fuzz target checks on one input. Included (`#[path]`) by
//! `fuzz/fuzz_targets/reference.rs` and by the replay in `oci-ref/tests/ref/fuzzed.rs`.

#![allow(dead_code)]

use oci_ref::{Digest, Reference};

/// Any input (read lossily as UTF-8) through `Reference::parse` and `Digest::parse`: accepted
/// input survives the display and `oci://` round trips; a digest is kept as written.
pub(crate) fn reference(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();
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
}
