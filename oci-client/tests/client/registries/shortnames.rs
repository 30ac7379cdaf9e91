//! Short names: aliases, search registries, alias validation.

use oci_client::registries::{AliasReason, Error, RegistriesConf, ShortNameResolution};

use super::{DIGEST_A, conf, fixture};

/// Resolves `input` and renders `kind reference`.
fn resolve(c: &RegistriesConf, input: &str) -> String {
    match c.resolve_short_name(input) {
        Ok(ShortNameResolution::Qualified(r)) => format!("qualified {r}"),
        Ok(ShortNameResolution::Alias { reference, origin }) => {
            format!("alias {reference} ({origin})")
        }
        Ok(ShortNameResolution::SearchRegistry { reference, .. }) => format!("search {reference}"),
        Ok(other) => format!("other {other:?}"),
        Err(e) => format!("error: {e}"),
    }
}

/// Checks that `input` resolves to `expected` (as rendered by [`resolve`]).
#[track_caller]
fn check(c: &RegistriesConf, input: &str, expected: &str) {
    assert_eq!(resolve(c, input), expected, "resolving {input:?}");
}

#[test]
fn aliases_resolve_with_the_inputs_tag_or_digest() {
    let c = fixture("aliases.conf");
    assert_eq!(c.aliases().len(), 4);
    let text = resolve(&c, "docker");
    assert!(
        text.starts_with("alias docker.io/library/foo:latest ("),
        "{text}"
    );
    assert!(text.ends_with("aliases.conf:4)"), "{text}");
    let c = conf(
        "[aliases]\ndocker = \"docker.io/library/foo\"\n\"quay/foo\" = \"quay.io/library/foo\"\nexample = \"example.com/library/foo\"\n",
    );
    check(
        &c,
        "docker",
        "alias docker.io/library/foo:latest (test.conf:2)",
    );
    check(
        &c,
        "quay/foo",
        "alias quay.io/library/foo:latest (test.conf:3)",
    );
    check(
        &c,
        "example:v2",
        "alias example.com/library/foo:v2 (test.conf:4)",
    );
    check(
        &c,
        &format!("docker@{DIGEST_A}"),
        &format!("alias docker.io/library/foo@{DIGEST_A} (test.conf:2)"),
    );
    check(
        &c,
        &format!("docker:v1@{DIGEST_A}"),
        &format!("alias docker.io/library/foo:v1@{DIGEST_A} (test.conf:2)"),
    );
}

#[test]
fn alias_values_are_docker_hub_normalised() {
    let c = conf("[aliases]\nfedora = \"docker.io/fedora\"\nhub = \"index.docker.io/library/x\"\n");
    check(
        &c,
        "fedora",
        "alias docker.io/library/fedora:latest (test.conf:2)",
    );
    check(&c, "hub", "alias docker.io/library/x:latest (test.conf:3)");
}

#[test]
fn an_erased_alias_falls_back_to_search_registries() {
    let mut c = conf(
        "unqualified-search-registries = [\"quay.io\"]\n[aliases]\nfoo = \"example.com/foo\"\n",
    );
    c.merge_drop_in(conf("[aliases]\nfoo = \"\"\n"));
    let alias = c.aliases().get("foo").expect("still recorded");
    assert!(alias.target.is_none());
    check(&c, "foo", "search quay.io/foo:latest");
}

#[test]
fn a_single_search_registry_resolves() {
    let c = conf("unqualified-search-registries = [\"docker.io\"]\n");
    check(&c, "fedora", "search docker.io/library/fedora:latest");
    check(
        &c,
        "library/fedora:39",
        "search docker.io/library/fedora:39",
    );
    check(&c, "someone/app", "search docker.io/someone/app:latest");
    let c = conf("unqualified-search-registries = [\"registry.local:5000\"]\n");
    check(&c, "fedora", "search registry.local:5000/fedora:latest");
    // A search registry without a dot is still a registry.
    let c = conf("unqualified-search-registries = [\"myregistry\"]\n");
    check(&c, "fedora", "search oci://myregistry/fedora:latest");
}

#[test]
fn several_search_registries_are_an_error_listing_them() {
    let c = conf(
        "unqualified-search-registries = [\"registry.fedoraproject.org\", \"quay.io\", \"docker.io\"]\n",
    );
    let err = c.resolve_short_name("fedora:40").expect_err("ambiguous");
    match &err {
        Error::AmbiguousShortName { candidates, .. } => assert_eq!(
            candidates,
            &[
                "registry.fedoraproject.org/fedora:40",
                "quay.io/fedora:40",
                "docker.io/library/fedora:40"
            ]
        ),
        other => panic!("{other:?}"),
    }
    insta::assert_snapshot!(err.to_string());
}

#[test]
fn no_alias_and_no_search_registries_is_an_error() {
    let err = conf("")
        .resolve_short_name("fedora")
        .expect_err("unresolved");
    assert!(matches!(err, Error::UnresolvedShortName { .. }));
    insta::assert_snapshot!(err.to_string(), @r#"short name "fedora" did not resolve to an alias and no unqualified-search registries are defined in test.conf"#);
    let err = RegistriesConf::default()
        .resolve_short_name("fedora")
        .expect_err("unresolved");
    insta::assert_snapshot!(err.to_string(), @r#"short name "fedora" did not resolve to an alias and no unqualified-search registries are defined"#);
}

#[test]
fn qualified_names_pass_through() {
    let c = conf(
        "unqualified-search-registries = [\"a.com\", \"b.com\"]\n[aliases]\nfedora = \"a.com/fedora\"\n",
    );
    check(
        &c,
        "docker.io/fedora",
        "qualified docker.io/library/fedora:latest",
    );
    check(&c, "localhost/fedora", "qualified localhost/fedora:latest");
    check(
        &c,
        "localhost:5000/ns/fedora:1",
        "qualified localhost:5000/ns/fedora:1",
    );
    check(&c, "oci://quay.io/fedora:1", "qualified quay.io/fedora:1");
}

#[test]
fn invalid_input_is_a_typed_error() {
    let c = conf("unqualified-search-registries = [\"a.com\"]\n");
    for input in ["", "$$4455%%", "Fedora", "docker-archive://foo", "a b"] {
        let err = c.resolve_short_name(input).expect_err("invalid");
        assert!(
            matches!(err, Error::InvalidName { .. }),
            "{input:?}: {err:?}"
        );
    }
}

#[test]
fn alias_validation() {
    let valid_values = [
        "docker.io/library/fedora",
        "localhost/fedora",
        "localhost:5000/fedora",
        "localhost:5000/namespace/fedora",
    ];
    for value in valid_values {
        let c = conf(&format!("[aliases]\nx = \"{value}\"\n"));
        let target = c.aliases()["x"]
            .target
            .as_ref()
            .expect("has a target")
            .to_string();
        assert_eq!(target, value, "the value round-trips");
    }
    let valid_names = ["library/fedora", "fedora", "1234567489"];
    for name in valid_names {
        conf(&format!("[aliases]\n\"{name}\" = \"a.com/x\"\n"));
    }
    let d = DIGEST_A;
    let bad_values = [
        "docker.io/library/fedora:latest".to_owned(),
        format!("localhost/fedora@{d}"),
        "fedora".into(),
        "fedora:latest".into(),
        "library/fedora".into(),
        "library/fedora:latest".into(),
        "$$4455%%".into(),
        "docker://foo".into(),
        "docker-archive://foo".into(),
        "quay.io/repo/image:1".into(),
        "image:1".into(),
    ];
    let bad_names = [
        "fedora:latest".to_owned(),
        format!("fedora@{d}"),
        "quay.io/fedora".into(),
        "localhost/fedora".into(),
        "$$4455%%".into(),
        "docker://foo".into(),
        "".into(),
    ];
    let mut text = String::from("[aliases]\n");
    for (i, v) in bad_values.iter().enumerate() {
        text.push_str(&format!("\"bad-value-{i:02}\" = \"{v}\"\n"));
    }
    for n in &bad_names {
        text.push_str(&format!("\"{n}\" = \"a.com/x\"\n"));
    }
    text.push_str("good = \"a.com/good\"\n");
    let err = RegistriesConf::parse_str(&text, "aliases.conf").expect_err("invalid aliases");
    let Error::InvalidAliases { problems, file } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(file.to_str(), Some("aliases.conf"));
    assert_eq!(
        problems.len(),
        bad_values.len() + bad_names.len(),
        "all problems are reported together"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.reason == AliasReason::NameHasRegistry)
    );
    assert!(
        problems
            .iter()
            .any(|p| p.reason == AliasReason::ValueLacksRegistry)
    );
    let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
    insta::assert_snapshot!(lines.join("\n"));
}

#[test]
fn short_name_mode_does_not_allow_guessing() {
    for mode in ["enforcing", "permissive", "disabled"] {
        let c = conf(&format!(
            "short-name-mode = \"{mode}\"\nunqualified-search-registries = [\"a.com\", \"b.com\"]\n"
        ));
        assert!(
            matches!(
                c.resolve_short_name("x"),
                Err(Error::AmbiguousShortName { .. })
            ),
            "{mode}"
        );
    }
}
