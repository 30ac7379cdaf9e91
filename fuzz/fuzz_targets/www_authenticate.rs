//! Fuzz target: any UTF-8 input through `oci_auth::challenge::parse` (one `WWW-Authenticate`
//! value) and `parse_all` (the value split into several header lines). Nothing may panic, and
//! every accepted challenge must survive its display round trip.
//!
//! Run from the repository root: `RUSTC_BOOTSTRAP=1 cargo fuzz run www_authenticate`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use oci_auth::challenge;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(challenges) = challenge::parse(text) {
        for c in &challenges {
            let _ = (c.realm(), c.service(), c.scope(), c.error(), c.token68());
            let shown = c.to_string();
            let again = challenge::parse(&shown).expect("the display form of a challenge parses");
            assert_eq!(again.len(), 1, "one challenge displays as one: {shown:?}");
            assert_eq!(&again[0], c, "display round trip of {shown:?}");
        }
    }
    let lines: Vec<&str> = text.split('\n').collect();
    let _ = challenge::parse_all(&lines);
});
