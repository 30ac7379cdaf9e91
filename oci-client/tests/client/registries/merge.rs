//! `merge_drop_in`: the drop-in merge rules, with text inputs (no IO).

use oci_client::registries::{RegistriesConf, ShortNameMode};

/// Parses a main file and merges the drop-ins in order; all must be valid.
fn merged(main: &str, drop_ins: &[(&str, &str)]) -> RegistriesConf {
    let mut c = RegistriesConf::parse_str(main, "main.conf").expect("main is valid");
    for (name, text) in drop_ins {
        c.merge_drop_in(RegistriesConf::parse_str(text, name).expect("drop-in is valid"));
    }
    c
}

/// Renders the tables as `prefix -> location [flags] (file:line)`.
fn tables(c: &RegistriesConf) -> String {
    c.registries()
        .iter()
        .map(|r| {
            let mut flags = String::new();
            if r.insecure {
                flags.push_str(" insecure");
            }
            if r.blocked {
                flags.push_str(" blocked");
            }
            let mirrors: Vec<&str> = r.mirrors.iter().map(|m| m.location.as_str()).collect();
            format!(
                "{} -> {}{flags} mirrors={mirrors:?} ({})\n",
                r.prefix, r.location, r.origin
            )
        })
        .collect()
}

#[test]
fn same_prefix_replaces_the_whole_table() {
    let c = merged(
        r#"
[[registry]]
location = "base.com"
insecure = true
[[registry.mirror]]
location = "mirror.base.com"

[[registry]]
location = "kept.com"
"#,
        &[
            (
                "10-block.conf",
                "[[registry]]\nlocation = \"base.com\"\nblocked = true\n",
            ),
            ("20-new.conf", "[[registry]]\nlocation = \"added.com\"\n"),
        ],
    );
    insta::assert_snapshot!(tables(&c));
    let base = c.find_registry("base.com/x").expect("base.com");
    assert!(base.blocked && !base.insecure && base.mirrors.is_empty());
}

#[test]
fn no_conflict_check_across_files() {
    // Same location, different `insecure`, in two files: accepted (the check is per file).
    let c = merged(
        "[[registry]]\nprefix = \"a.com/x\"\nlocation = \"shared.com\"\n",
        &[(
            "d.conf",
            "[[registry]]\nprefix = \"a.com/y\"\nlocation = \"shared.com\"\ninsecure = true\n",
        )],
    );
    assert_eq!(c.registries().len(), 2);
}

#[test]
fn search_registries_are_replaced_only_when_present() {
    let main = "unqualified-search-registries = [\"registry-a.com\", \"registry-c.com\", \"registry-d.com\"]\n";
    let c = merged(
        main,
        &[("absent.conf", "[[registry]]\nlocation = \"x.com\"\n")],
    );
    assert_eq!(
        c.unqualified_search_registries(),
        ["registry-a.com", "registry-c.com", "registry-d.com"]
    );
    assert_eq!(
        c.unqualified_search_registries_origin()
            .and_then(|p| p.to_str()),
        Some("main.conf")
    );

    let c = merged(
        main,
        &[("empty.conf", "unqualified-search-registries = []\n")],
    );
    assert!(c.unqualified_search_registries().is_empty());
    assert_eq!(
        c.unqualified_search_registries_origin()
            .and_then(|p| p.to_str()),
        Some("empty.conf")
    );

    let c = merged(
        main,
        &[
            (
                "one.conf",
                "unqualified-search-registries = [\"one.com\"]\n",
            ),
            ("later.conf", ""),
        ],
    );
    assert_eq!(c.unqualified_search_registries(), ["one.com"]);
    assert_eq!(
        c.unqualified_search_registries_origin()
            .and_then(|p| p.to_str()),
        Some("one.conf")
    );
}

#[test]
fn credential_helpers_are_replaced_when_present() {
    let main = "credential-helpers = [\"helper-1\", \"helper-2\"]\n";
    assert_eq!(
        merged(main, &[("a.conf", "")]).credential_helpers(),
        ["helper-1", "helper-2"]
    );
    // `[]` empties the list, which then means the default.
    assert_eq!(
        merged(main, &[("a.conf", "credential-helpers = []\n")]).credential_helpers(),
        ["containers-auth.json"]
    );
    let c = merged(
        main,
        &[
            (
                "1.conf",
                "credential-helpers = [\"one\", \"two\", \"three\", \"four\", \"five\"]\n",
            ),
            (
                "2.conf",
                "credential-helpers = [\"dropin-1\", \"dropin-2\"]\n",
            ),
        ],
    );
    assert_eq!(c.credential_helpers(), ["dropin-1", "dropin-2"]);
}

#[test]
fn short_name_mode_and_layer_helper_are_replaced_when_set() {
    let main = "short-name-mode = \"enforcing\"\nadditional-layer-store-auth-helper = \"h1\"\n";
    let c = merged(
        main,
        &[
            ("a.conf", ""),
            (
                "b.conf",
                "short-name-mode = \"\"\nadditional-layer-store-auth-helper = \"\"\n",
            ),
        ],
    );
    assert_eq!(c.short_name_mode(), ShortNameMode::Enforcing);
    assert_eq!(c.additional_layer_store_auth_helper(), Some("h1"));
    let c = merged(
        main,
        &[(
            "a.conf",
            "short-name-mode = \"disabled\"\nadditional-layer-store-auth-helper = \"h2\"\n",
        )],
    );
    assert_eq!(c.short_name_mode(), ShortNameMode::Disabled);
    assert_eq!(c.additional_layer_store_auth_helper(), Some("h2"));
}

#[test]
fn aliases_merge_per_name_and_empty_erases() {
    let c = merged(
        "[aliases]\nkeep = \"a.com/keep\"\nchange = \"a.com/change\"\nerase = \"a.com/erase\"\n",
        &[(
            "d.conf",
            "[aliases]\nchange = \"b.com/changed\"\nerase = \"\"\nnew = \"b.com/new\"\n",
        )],
    );
    let rendered: Vec<String> = c
        .aliases()
        .iter()
        .map(|(name, a)| {
            let target = a
                .target
                .as_ref()
                .map_or_else(|| "<erased>".to_owned(), ToString::to_string);
            format!("{name} = {target} ({})", a.origin)
        })
        .collect();
    insta::assert_snapshot!(rendered.join("\n"));
}

#[test]
fn files_are_recorded_in_order() {
    let c = merged("", &[("a.conf", ""), ("b.conf", "")]);
    let files: Vec<&str> = c.files().iter().filter_map(|p| p.to_str()).collect();
    assert_eq!(files, ["main.conf", "a.conf", "b.conf"]);
}
