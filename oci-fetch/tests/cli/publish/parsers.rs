//! The pure parsers behind the publishing flags (library API, checked here next to the flags
//! they serve).

use oci_fetch::publish::model::{FileSpec, Platform, parse_annotation};
use proptest::prelude::*;

fn check_file(input: &str, path: &str, media_type: Option<&str>) {
    let f = FileSpec::parse(input).expect("valid file spec");
    assert_eq!(f.path.to_str(), Some(path), "{input}");
    assert_eq!(f.media_type.as_deref(), media_type, "{input}");
}

#[test]
fn file_specs() {
    check_file("a.yaml", "a.yaml", None);
    check_file(
        "a.yaml:application/yaml",
        "a.yaml",
        Some("application/yaml"),
    );
    check_file("c:d.json", "c:d.json", None);
    // Ambiguous as with oras: a right side shaped like type/subtype is a media type.
    check_file("dir:x/a", "dir", Some("x/a"));
    check_file(
        "c:d.json:application/vnd.x+json",
        "c:d.json",
        Some("application/vnd.x+json"),
    );
    assert!(FileSpec::parse(":text/plain").is_err());
    assert!(FileSpec::parse("a:").is_err());
}

proptest! {
    #[test]
    fn platform_round_trips(os in "[a-z0-9_]{1,12}", arch in "[a-z0-9_]{1,12}",
                            variant in proptest::option::of("[a-z0-9]{1,6}")) {
        let text = match &variant {
            Some(v) => format!("{os}/{arch}/{v}"),
            None => format!("{os}/{arch}"),
        };
        let p = Platform::parse(&text).expect("valid platform");
        prop_assert_eq!(p.to_string(), text);
        let back: Platform = serde_json::from_slice(&p.config_json()).expect("config JSON");
        prop_assert_eq!(back, p);
    }

    #[test]
    fn parsers_never_panic(s in "\\PC{0,40}") {
        let _ = Platform::parse(&s);
        let _ = FileSpec::parse(&s);
        let _ = parse_annotation(&s);
    }

    #[test]
    fn annotation_splits_at_first_equals(k in "[a-z.]{1,10}", v in "[a-z=]{0,10}") {
        let parsed = parse_annotation(&format!("{k}={v}")).expect("valid annotation");
        prop_assert_eq!(parsed, (k, v));
    }
}
