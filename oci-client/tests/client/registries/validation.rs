//! Load-time validation: every error of the catalogue, with file and line, and what is
//! accepted.

use oci_client::registries::{
    Error, Field, PullFromMirror, RegistriesConf, Setting, ShortNameMode,
};

use super::{conf, fixture};

/// Parses `text` (as `test.conf`), which must fail; returns the error.
#[track_caller]
fn parse_err(text: &str) -> Error {
    match RegistriesConf::parse_str(text, "test.conf") {
        Ok(c) => panic!("expected an error, got {c:?}"),
        Err(e) => e,
    }
}

/// Renders each named invalid configuration's error message, one per paragraph.
fn report(cases: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (name, text) in cases {
        out.push_str(&format!("{name}:\n  {}\n", parse_err(text)));
    }
    out
}

#[test]
fn invalid_registry_tables() {
    insta::assert_snapshot!(report(&[
        (
            "insecure conflict",
            "[[registry]]\nlocation = \"registry.com\"\n\n[[registry]]\nprefix = \"registry.com/foo\"\nlocation = \"registry.com\"\ninsecure = true\n"
        ),
        (
            "blocked conflict",
            "[[registry]]\nlocation = \"registry.com\"\nblocked = true\n\n[[registry]]\nprefix = \"registry.com/foo\"\nlocation = \"registry.com\"\n"
        ),
        (
            "missing mirror location",
            "[[registry]]\nlocation = \"registry.com\"\n\n[[registry.mirror]]\n"
        ),
        (
            "empty mirror location",
            "[[registry]]\nlocation = \"registry.com\"\n\n[[registry.mirror]]\nlocation = \"///\"\n"
        ),
        (
            "prefix with scheme",
            "[[registry]]\nprefix = \"http://schema-is-invalid.com\"\nlocation = \"registry.com\"\n"
        ),
        (
            "location with scheme",
            "[[registry]]\nlocation = \"https://registry.com\"\n"
        ),
        (
            "mirror with scheme",
            "[[registry]]\nlocation = \"registry.com\"\n[[registry.mirror]]\nlocation = \"oci://mirror.com\"\n"
        ),
        (
            "prefix and location unset",
            "[[registry]]\ninsecure = true\n"
        ),
        (
            "location unset, prefix not a wildcard",
            "[[registry]]\nprefix = \"registry.com\"\n"
        ),
        (
            "wildcard with a path",
            "[[registry]]\nprefix = \"*.example.com/foo\"\nlocation = \"x.example\"\n"
        ),
        (
            "wildcard with a port",
            "[[registry]]\nprefix = \"*.example.com:5000\"\n"
        ),
        (
            "wildcard with a digest",
            "[[registry]]\nprefix = \"*.example.com@sha256\"\n"
        ),
        (
            "pull-from-mirror on a registry",
            "[[registry]]\nprefix = \"registry-a.com/foo\"\nlocation = \"registry-a.com/bar\"\npull-from-mirror = \"digest-only\"\n"
        ),
        (
            "mirror-by-digest-only with pull-from-mirror",
            "[[registry]]\nprefix = \"registry-a.com/foo\"\nlocation = \"registry-a.com/bar\"\nmirror-by-digest-only = true\n\n[[registry.mirror]]\nlocation = \"mirror-1.registry-a.com\"\npull-from-mirror = \"all\"\n"
        ),
        (
            "unsupported pull-from-mirror",
            "[[registry]]\nprefix = \"registry-a.com/foo\"\nlocation = \"registry-a.com/bar\"\n\n[[registry.mirror]]\nlocation = \"mirror-1.registry-a.com\"\npull-from-mirror = \"notvalid\"\n"
        ),
    ]));
}

#[test]
fn invalid_top_level_keys() {
    insta::assert_snapshot!(report(&[
        (
            "search registry with a namespace",
            "unqualified-search-registries = [\"registry-a.com\", \"registry-b.com/namespace\"]\n"
        ),
        (
            "search registry with a scheme",
            "unqualified-search-registries = [\"https://registry-a.com\"]\n"
        ),
        (
            "search registry with a bad host",
            "unqualified-search-registries = [\"-bad-.com\"]\n"
        ),
        (
            "empty search registry",
            "unqualified-search-registries = [\"\"]\n"
        ),
        ("short-name mode", "short-name-mode = \"xxx\"\n"),
        (
            "version 1",
            "[registries.search]\nregistries = [\"registry-a.com\"]\n\n[registries.block]\nregistries = [\"registry-b.com\"]\n"
        ),
        (
            "version 1 with http",
            "[registries.insecure]\nregistries = [\"http://schema-is-invalid.com\"]\n"
        ),
        (
            "mixing v1 and v2",
            "unqualified-search-registries = [\"registry-a.com\"]\n\n[registries.search]\nregistries = [\"registry-b.com\"]\n"
        ),
        (
            "mixing v1 and v2, all empty",
            "unqualified-search-registries = []\ncredential-helpers = []\n[[registry]]\nlocation = \"x.com\"\n[registries.search]\nregistries = []\n[registries.block]\nregistries = []\n[registries.insecure]\nregistries = []\n"
        ),
    ]));
}

#[test]
fn invalid_toml_names_file_line_and_column() {
    insta::assert_snapshot!(report(&[
        (
            "syntax error",
            "unqualified-search-registries = [\"a.com\"]\n\n[[registry]\nlocation = \"b.com\"\n"
        ),
        (
            "wrong type",
            "[[registry]]\nlocation = \"b.com\"\ninsecure = \"yes\"\n"
        ),
        (
            "duplicate key",
            "[[registry]]\nlocation = \"b.com\"\nlocation = \"c.com\"\n"
        ),
        (
            "duplicate alias",
            "[aliases]\nfoo = \"a.com/foo\"\nfoo = \"b.com/foo\"\n"
        ),
        (
            "registry is not an array of tables",
            "registry = \"a.com\"\n"
        ),
        (
            "v1 table of the wrong shape",
            "[[registries]]\nlocation = \"a.com\"\n"
        ),
        ("just a word", "invalid\n"),
    ]));
    let err = parse_err("\n\n[[registry]]\ninsecure = 1\n");
    match err {
        Error::Toml { origin, column, .. } => {
            assert_eq!(origin.line, Some(4));
            assert_eq!(origin.file.to_str(), Some("test.conf"));
            assert_eq!(column, Some(12));
        }
        other => panic!("expected a TOML error, got {other:?}"),
    }
}

#[test]
fn errors_are_typed_with_origins() {
    match parse_err(
        "[[registry]]\nlocation = \"r.com\"\n\n[[registry]]\nprefix = \"r.com/x\"\nlocation = \"r.com\"\nblocked = true\n",
    ) {
        Error::ConflictingSetting {
            origin,
            first,
            location,
            setting,
        } => {
            assert_eq!((origin.line, first.line), (Some(4), Some(1)));
            assert_eq!(location, "r.com");
            assert_eq!(setting, Setting::Blocked);
        }
        other => panic!("{other:?}"),
    }
    match parse_err("[[registry]]\nprefix = \"https://x.com\"\nlocation = \"x.com\"\n") {
        Error::UriScheme {
            origin,
            field,
            value,
        } => {
            assert_eq!(origin.line, Some(2));
            assert_eq!(field, Field::Prefix);
            assert_eq!(value, "https://x.com");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        parse_err("[registries.search]\nregistries = []\n"),
        Error::Version1 { .. }
    ));
}

#[test]
fn locations_are_normalised() {
    let c = conf(
        r#"
[[registry]]
location = "example.com//////"

[[registry]]
location = "example.com:5000/with/path"

[[registry]]
location = "john.doe@example.com"

[[registry]]
prefix = "prefixed.com/"
location = "target.com/"

[[registry.mirror]]
location = "mirror.com/"
"#,
    );
    let tables: Vec<(&str, &str)> = c
        .registries()
        .iter()
        .map(|r| (r.prefix.as_str(), r.location.as_str()))
        .collect();
    assert_eq!(
        tables,
        [
            ("example.com", "example.com"),
            ("example.com:5000/with/path", "example.com:5000/with/path"),
            ("john.doe@example.com", "john.doe@example.com"),
            ("prefixed.com", "target.com"),
        ]
    );
    assert_eq!(c.registries()[3].mirrors[0].location, "mirror.com");
}

#[test]
fn duplicate_prefixes_keep_the_first_and_tables_sort_by_prefix() {
    let c = conf(
        r#"
[[registry]]
location = "untrusted.registry.com"

[[registry]]
location = "registry.com"

[[registry]]
prefix = "registry.com"
location = "second.registry.com"

[[registry]]
location = "insecure.registry.com"
insecure = true

[[registry]]
location = "blocked.registry.com"
blocked = true

[[registry]]
prefix = "*.wild.com"
"#,
    );
    let tables: Vec<(&str, &str)> = c
        .registries()
        .iter()
        .map(|r| (r.prefix.as_str(), r.location.as_str()))
        .collect();
    assert_eq!(
        tables,
        [
            ("*.wild.com", ""),
            ("blocked.registry.com", "blocked.registry.com"),
            ("insecure.registry.com", "insecure.registry.com"),
            ("registry.com", "registry.com"),
            ("untrusted.registry.com", "untrusted.registry.com"),
        ]
    );
    assert!(c.registries()[1].blocked);
    assert!(c.registries()[2].insecure);
    assert_eq!(c.registries()[3].origin.line, Some(5));
}

#[test]
fn same_location_with_agreeing_settings_is_fine() {
    let c = conf(
        r#"
[[registry]]
prefix = "a.com/one"
location = "internal.com"
insecure = true

[[registry]]
prefix = "a.com/two"
location = "internal.com"
insecure = true
"#,
    );
    assert_eq!(c.registries().len(), 2);
}

#[test]
fn unknown_keys_are_ignored() {
    let c = conf(
        r#"
future-setting = "x"

[[registry]]
location = "a.com"
something-new = true

[[registry.mirror]]
location = "m.a.com"
weight = 3
"#,
    );
    assert_eq!(c.registries().len(), 1);
}

#[test]
fn empty_and_default_values() {
    let c = conf("");
    assert!(c.registries().is_empty());
    assert!(c.unqualified_search_registries().is_empty());
    assert_eq!(c.credential_helpers(), ["containers-auth.json"]);
    assert_eq!(c.short_name_mode(), ShortNameMode::Permissive);
    assert_eq!(c.additional_layer_store_auth_helper(), None);
    // An explicitly empty mode in a file means "unset", as in containers/image.
    assert_eq!(
        conf("short-name-mode = \"\"\n").short_name_mode(),
        ShortNameMode::Permissive
    );
    // A version 1 table without a `registries` array is not version 1.
    assert!(conf("[registries.search]\n").registries().is_empty());
}

#[test]
fn top_level_settings() {
    let c = conf(
        r#"
unqualified-search-registries = ["registry-a.com////", "registry-c.com", "registry-d.com:5000", "[::1]:5000"]
credential-helpers = ["helper-1", "helper-2"]
short-name-mode = "enforcing"
additional-layer-store-auth-helper = "layer-helper"
"#,
    );
    assert_eq!(
        c.unqualified_search_registries(),
        [
            "registry-a.com",
            "registry-c.com",
            "registry-d.com:5000",
            "[::1]:5000"
        ]
    );
    assert_eq!(
        c.unqualified_search_registries_origin()
            .and_then(|p| p.to_str()),
        Some("test.conf")
    );
    assert_eq!(c.credential_helpers(), ["helper-1", "helper-2"]);
    assert_eq!(c.short_name_mode(), ShortNameMode::Enforcing);
    assert_eq!(c.additional_layer_store_auth_helper(), Some("layer-helper"));
    for (text, mode) in [
        ("disabled", ShortNameMode::Disabled),
        ("permissive", ShortNameMode::Permissive),
    ] {
        assert_eq!(
            conf(&format!("short-name-mode = \"{text}\"\n")).short_name_mode(),
            mode
        );
    }
    assert_eq!(
        fixture("cred-helper.conf").credential_helpers(),
        ["helper-1", "helper-2"]
    );
}

#[test]
fn unqualified_search_fixture() {
    let c = fixture("unqualified-search.conf");
    assert_eq!(c.registries().len(), 4);
    assert_eq!(
        c.unqualified_search_registries(),
        ["registry-a.com", "registry-c.com", "registry-d.com"]
    );
    let origin = c.unqualified_search_registries_origin().expect("origin");
    assert!(origin.ends_with("unqualified-search.conf"));
}

#[test]
fn pull_from_mirror_values() {
    let c = conf(
        r#"
[[registry]]
location = "r.com"
[[registry.mirror]]
location = "m1.com"
[[registry.mirror]]
location = "m2.com"
pull-from-mirror = ""
[[registry.mirror]]
location = "m3.com"
pull-from-mirror = "all"
[[registry.mirror]]
location = "m4.com"
pull-from-mirror = "digest-only"
[[registry.mirror]]
location = "m5.com"
pull-from-mirror = "tag-only"
"#,
    );
    let modes: Vec<PullFromMirror> = c.registries()[0]
        .mirrors
        .iter()
        .map(|m| m.pull_from_mirror)
        .collect();
    use PullFromMirror::{All, DigestOnly, TagOnly};
    assert_eq!(modes, [All, All, All, DigestOnly, TagOnly]);
    // An empty pull-from-mirror on the registry, or on a mirror with mirror-by-digest-only, is
    // "unset".
    let c = conf(
        "[[registry]]\nlocation = \"r.com\"\npull-from-mirror = \"\"\nmirror-by-digest-only = true\n[[registry.mirror]]\nlocation = \"m.com\"\npull-from-mirror = \"\"\n",
    );
    assert!(c.registries()[0].mirror_by_digest_only);
}

#[test]
fn oversized_text_is_rejected_before_parsing() {
    let text = "#"
        .repeat(usize::try_from(oci_client::registries::MAX_CONFIG_FILE_BYTES).expect("fits") + 1);
    assert!(matches!(parse_err(&text), Error::TooLarge { .. }));
}

#[test]
fn hostile_nesting_is_a_toml_error() {
    let deep = format!("a = {}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(matches!(parse_err(&deep), Error::Toml { .. }));
    let deep = format!("a = {}1{}", "{b=".repeat(100_000), "}".repeat(100_000));
    assert!(matches!(parse_err(&deep), Error::Toml { .. }));
}

#[test]
fn many_tables_with_a_late_conflict() {
    // Line lookups and the conflict check are linear: this file would take minutes otherwise.
    let mut text = String::new();
    for i in 0..20_000 {
        text.push_str(&format!(
            "[[registry]]\nprefix = \"p{i}.com\"\nlocation = \"shared.com\"\n"
        ));
    }
    text.push_str(
        "[[registry]]\nprefix = \"last.com\"\nlocation = \"shared.com\"\ninsecure = true\n",
    );
    match parse_err(&text) {
        Error::ConflictingSetting {
            origin,
            first,
            setting,
            ..
        } => {
            assert_eq!((origin.line, first.line), (Some(60_001), Some(1)));
            assert_eq!(setting, Setting::Insecure);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_first_conflicting_group_in_file_order_is_reported() {
    let err = parse_err(
        "[[registry]]\nlocation = \"a.com\"\n\
         [[registry]]\nlocation = \"b.com\"\n\
         [[registry]]\nprefix = \"b.com/x\"\nlocation = \"b.com\"\nblocked = true\n\
         [[registry]]\nprefix = \"a.com/x\"\nlocation = \"a.com\"\ninsecure = true\n",
    );
    match err {
        Error::ConflictingSetting {
            location,
            setting,
            origin,
            ..
        } => {
            assert_eq!(
                (location.as_str(), setting, origin.line),
                ("a.com", Setting::Insecure, Some(9))
            );
        }
        other => panic!("{other:?}"),
    }
}
