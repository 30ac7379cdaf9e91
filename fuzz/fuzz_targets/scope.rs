//! Fuzz target: any UTF-8 input as a challenge's `scope` parameter through
//! `oci_auth::Scope::parse_list` and `Scope::parse`. Nothing may panic; every accepted scope
//! survives its display round trip, and `Scope::merge` keeps every scope covered and is
//! idempotent.
//!
//! Run from the repository root: `RUSTC_BOOTSTRAP=1 cargo fuzz run scope`.
//! The corpus `fuzz/corpus/scope` is replayed by `cargo test -p oci-auth`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use oci_auth::Scope;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Scope::parse(text);
    if let Ok(scopes) = Scope::parse_list(text) {
        for s in &scopes {
            let shown = s.to_string();
            let again = Scope::parse(&shown).expect("the display form of a scope parses");
            assert_eq!(&again, s, "display round trip of {shown:?}");
        }
        let merged = Scope::merge(&scopes);
        for s in &scopes {
            assert!(merged.iter().any(|m| m.covers(s)), "{s} lost by merge");
        }
        assert_eq!(Scope::merge(&merged), merged, "merge is idempotent");
    }
});
