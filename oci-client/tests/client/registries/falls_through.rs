//! `falls_through`, and a property test that parsing never panics.

use oci_client::registries::{RegistriesConf, SourceFailure, falls_through, match_prefix};
use proptest::prelude::*;

#[test]
fn missing_unreachable_and_corrupt_sources_fall_through_others_stop() {
    assert!(falls_through(SourceFailure::NotFound));
    assert!(falls_through(SourceFailure::Connection));
    assert!(falls_through(SourceFailure::Integrity));
    assert!(!falls_through(SourceFailure::Other));
}

proptest! {
    #[test]
    fn parse_str_never_panics(text in "(\\PC|\n){0,200}") {
        let _ = RegistriesConf::parse_str(&text, "fuzz.conf");
    }

    #[test]
    fn parse_str_never_panics_on_registry_shaped_input(
        prefix in "[*a-z.:/@]{0,20}",
        location in "[a-z.:/@0-9]{0,20}",
        pull in "(all|digest-only|tag-only|x|)",
        flag in any::<bool>(),
    ) {
        let text = format!(
            "[[registry]]\nprefix = \"{prefix}\"\nlocation = \"{location}\"\nmirror-by-digest-only = {flag}\n[[registry.mirror]]\nlocation = \"{location}\"\npull-from-mirror = \"{pull}\"\n"
        );
        if let Ok(conf) = RegistriesConf::parse_str(&text, "fuzz.conf") {
            for name in ["a.com/x", "docker.io/library/x", "x.y.z:5000/a/b"] {
                let _ = conf.find_registry(name);
                if let Ok(r) = oci_ref::Reference::parse(&format!("{name}:1")) {
                    let _ = conf.pull_sources(&r);
                }
            }
        }
    }

    #[test]
    fn a_match_is_never_longer_than_the_reference(reference in "\\PC{0,30}", prefix in "\\PC{0,30}") {
        if let Some(n) = match_prefix(&reference, &prefix) {
            prop_assert!(n <= reference.len());
            prop_assert!(reference.is_char_boundary(n));
        }
    }
}
