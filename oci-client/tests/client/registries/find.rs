//! `find_registry`: the catalogue's FindRegistry table over `find-registry.conf` plus
//! `registries.conf.d`.

use oci_client::registries::{DropIns, LoadOptions, RegistriesConf};

use super::{DIGEST_A, conf, fixtures};

fn find_registry_conf() -> RegistriesConf {
    let options = LoadOptions::default()
        .with_file(fixtures().join("find-registry.conf"))
        .with_drop_ins(DropIns::Dir(fixtures().join("registries.conf.d")));
    RegistriesConf::load(&options).expect("the fixtures load")
}

/// Checks that `name` selects the table with `prefix` and `location` (or none).
#[track_caller]
fn check(conf: &RegistriesConf, name: &str, expected: Option<(&str, &str)>) {
    let found = conf
        .find_registry(name)
        .map(|r| (r.prefix.as_str(), r.location.as_str()));
    assert_eq!(found, expected, "find_registry({name:?})");
}

#[test]
fn merged_fixture_has_nineteen_tables() {
    let c = find_registry_conf();
    assert_eq!(c.registries().len(), 19);
    let prefixes: Vec<&str> = c.registries().iter().map(|r| r.prefix.as_str()).collect();
    insta::assert_snapshot!(prefixes.join("\n"));
}

#[test]
fn longest_prefix_wins() {
    let c = find_registry_conf();
    let d = DIGEST_A;
    check(
        &c,
        "simple-prefix.com/foo/bar:latest",
        Some(("simple-prefix.com", "registry.com:5000")),
    );
    check(
        &c,
        "simple-prefix.com/",
        Some(("simple-prefix.com", "registry.com:5000")),
    );
    check(
        &c,
        "simple-prefix.com",
        Some(("simple-prefix.com", "registry.com:5000")),
    );
    check(
        &c,
        "not.so.simple-prefix.com/",
        Some(("*.so.simple-prefix.com", "subdomain-prefix.com")),
    );
    check(
        &c,
        "not.quite.simple-prefix.com/",
        Some(("*.simple-prefix.com", "subdomain-prefix-2.com")),
    );
    check(
        &c,
        "not.quite.simple-prefix.com:5000/with/path/and/beyond:tag",
        Some(("*.simple-prefix.com", "subdomain-prefix-2.com")),
    );
    check(
        &c,
        "really.not.quite.simple-prefix.com:5000/with/path/and/beyond:tag",
        Some((
            "*.not.quite.simple-prefix.com",
            "subdomain-prefix-1-overridden-by-dropin-location.com",
        )),
    );
    check(
        &c,
        "foo.docker.io:5000/omg/wtf/bbq:foo",
        Some(("*.docker.io", "subdomain-prefix-2.com")),
    );
    check(
        &c,
        &format!("foo.bar.example.com:6000/omg/wtf/bbq@{d}"),
        Some((
            "*.bar.example.com",
            "subdomain-prefix-3-overridden-by-dropin-location.com",
        )),
    );
    check(
        &c,
        "foo.bar.docker.io:5000/omg/wtf/bbq:foo",
        Some(("*.bar.docker.io", "subdomain-prefix-4.com")),
    );
    check(
        &c,
        "foo.bar.example.com:5000/omg/wtf/bbq:foo",
        Some(("foo.bar.example.com:5000", "subdomain-prefix-5.com")),
    );
    check(&c, "simple-prefix.comx", None);
    check(
        &c,
        "complex-prefix.com:4000/with/path/and/beyond:tag",
        Some((
            "complex-prefix.com:4000/with/path",
            "another-registry.com:5000",
        )),
    );
    check(
        &c,
        "no-prefix.com/foo:tag",
        Some(("no-prefix.com", "no-prefix.com")),
    );
    check(
        &c,
        "empty-prefix.com/foo:tag",
        Some(("empty-prefix.com", "empty-prefix.com")),
    );
}

#[test]
fn equal_lengths_pick_the_first_in_prefix_order() {
    // `*.b.example` and `a.b.example` have the same length; `*` sorts first.
    let c = conf(
        r#"
[[registry]]
prefix = "a.b.example"
location = "plain.example"

[[registry]]
prefix = "*.b.example"
location = "wild.example"
"#,
    );
    check(&c, "a.b.example/x", Some(("*.b.example", "wild.example")));
}

#[test]
fn matching_is_textual_without_docker_hub_normalisation() {
    let c = conf(
        r#"
[[registry]]
prefix = "docker.io/alpine"
location = "mirror.example/alpine"
"#,
    );
    check(&c, "docker.io/library/alpine", None);
    check(
        &c,
        "docker.io/alpine/git",
        Some(("docker.io/alpine", "mirror.example/alpine")),
    );
}

#[test]
fn empty_configuration_matches_nothing() {
    let c = RegistriesConf::default();
    check(&c, "example.com/foo", None);
    assert!(c.registries().is_empty());
}
