//! `pull_sources`, `pull_plan` and `push_target`: source order, mirror filters, rewriting,
//! blocking.

use oci_client::registries::{Error, PullSource, RegistriesConf};

use super::{DIGEST_A, conf, fixture, redact, reference};

/// Renders sources one per line: `reference` plus `mirror`/`primary` and `insecure`.
fn render(sources: &[PullSource]) -> Vec<String> {
    sources
        .iter()
        .map(|s| {
            let kind = if s.mirror { "mirror" } else { "primary" };
            let insecure = if s.insecure { " insecure" } else { "" };
            format!("{} {kind}{insecure}", s.reference)
        })
        .collect()
}

/// Checks the pull sources of `input` against `expected` (as rendered by [`render`]).
#[track_caller]
fn check(conf: &RegistriesConf, input: &str, expected: &[&str]) {
    let sources = conf.pull_sources(&reference(input)).expect("pull sources");
    assert_eq!(render(&sources), expected, "pull sources of {input}");
}

#[test]
fn catalogue_table_for_digest_and_tag_references() {
    let c = fixture("pull-sources-from-reference.conf");
    assert_eq!(c.registries().len(), 9);
    // (prefix, primary location, mirrors for digests, mirrors for tags); `*` marks insecure.
    let cases: [(&str, &str, &[&str], &[&str]); 9] = [
        (
            "registry-a.com/foo",
            "registry-a.com/bar",
            &["mirror-1.registry-a.com", "mirror-2.registry-a.com*"],
            &["mirror-1.registry-a.com", "mirror-2.registry-a.com*"],
        ),
        (
            "registry-b.com/foo",
            "registry-b.com/bar",
            &["mirror-1.registry-b.com", "mirror-2.registry-b.com"],
            &[],
        ),
        (
            "registry-a.com/baz",
            "registry-a.com/bar",
            &["mirror-1.registry-a.com", "mirror-2.registry-a.com*"],
            &["mirror-1.registry-a.com", "mirror-2.registry-a.com*"],
        ),
        (
            "registry-b.com/baz",
            "registry-b.com/bar",
            &["mirror-1.registry-b.com", "mirror-2.registry-b.com"],
            &[],
        ),
        (
            "registry-c.com/baz",
            "registry-c.com/bar",
            &["mirror-1.registry-c.com", "mirror-2.registry-c.com"],
            &["mirror-1.registry-c.com"],
        ),
        (
            "registry-d.com/baz",
            "registry-d.com/bar",
            &["mirror-1.registry-d.com", "mirror-2.registry-d.com"],
            &[],
        ),
        (
            "registry-e.com/baz",
            "registry-e.com/bar",
            &[],
            &["mirror-1.registry-e.com", "mirror-2.registry-e.com"],
        ),
        (
            "registry-f.com/baz",
            "registry-f.com/bar",
            &["mirror-1.registry-f.com"],
            &["mirror-1.registry-f.com", "mirror-2.registry-f.com"],
        ),
        (
            "registry-g.com/baz",
            "registry-g.com/bar",
            &[
                "mirror-1.registry-g.com",
                "mirror-3.registry-g.com",
                "mirror-4.registry-g.com",
            ],
            &[
                "mirror-2.registry-g.com",
                "mirror-3.registry-g.com",
                "mirror-4.registry-g.com",
            ],
        ),
    ];
    for (prefix, primary, digest_mirrors, tag_mirrors) in cases {
        for (suffix, mirrors) in [
            (format!("@{DIGEST_A}"), digest_mirrors),
            (":aaa".to_owned(), tag_mirrors),
        ] {
            let mut expected: Vec<String> = mirrors
                .iter()
                .map(|m| match m.strip_suffix('*') {
                    Some(m) => format!("{m}/image{suffix} mirror insecure"),
                    None => format!("{m}/image{suffix} mirror"),
                })
                .collect();
            expected.push(format!("{primary}/image{suffix} primary"));
            let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
            check(&c, &format!("{prefix}/image{suffix}"), &expected);
        }
    }
}

#[test]
fn man_page_example() {
    let c = conf(
        r#"
unqualified-search-registries = ["example.com"]

[[registry]]
prefix = "example.com/foo"
insecure = false
blocked = false
location = "internal-registry-for-example.com/bar"

[[registry.mirror]]
location = "example-mirror-0.local/mirror-for-foo"

[[registry.mirror]]
location = "example-mirror-1.local/mirrors/foo"
insecure = true
"#,
    );
    check(
        &c,
        "example.com/foo/image:latest",
        &[
            "example-mirror-0.local/mirror-for-foo/image:latest mirror",
            "example-mirror-1.local/mirrors/foo/image:latest mirror insecure",
            "internal-registry-for-example.com/bar/image:latest primary",
        ],
    );
}

#[test]
fn oc_mirror_configuration_rewrites_host_and_namespace_and_falls_back() {
    let c = fixture("oc-mirror.conf");
    let sources = c
        .pull_sources(&reference("quay.io/podman/machine-os:5.3"))
        .expect("sources");
    // The CLI's `--json` contract, field order included.
    let compact = serde_json::to_string(&sources).expect("serialises");
    assert_eq!(
        compact,
        r#"[{"reference":"internal.example.io/abcd/podman/machine-os:5.3","mirror":true,"insecure":true},{"reference":"quay.io/podman/machine-os:5.3","mirror":false,"insecure":false}]"#
    );
    insta::assert_snapshot!(serde_json::to_string_pretty(&sources).expect("serialises"));
    // prod.com/abc has mirror-by-digest-only: a tag goes to the primary only...
    check(
        &c,
        "prod.com/abc/operator:v1",
        &["prod.com/abc/operator:v1 primary"],
    );
    // ...and a digest goes to the mirror first, with a deeper namespace.
    let digested = format!("prod.com/abc/team/operator@{DIGEST_A}");
    let expected_mirror = format!("internal.example.io/cp/team/operator@{DIGEST_A} mirror");
    let expected_primary = format!("{digested} primary");
    check(&c, &digested, &[&expected_mirror, &expected_primary]);
}

#[test]
fn a_mirror_belongs_only_to_its_own_table() {
    let c = fixture("mirrors.conf");
    assert_eq!(c.registries().len(), 2);
    let table = c.find_registry("registry.com/image").expect("registry.com");
    let mirrors: Vec<(&str, bool)> = table
        .mirrors
        .iter()
        .map(|m| (m.location.as_str(), m.insecure))
        .collect();
    assert_eq!(
        mirrors,
        [
            ("mirror-1.registry.com", false),
            ("mirror-2.registry.com", true)
        ]
    );
    check(
        &c,
        "registry.com/image:tag",
        &[
            "mirror-1.registry.com/image:tag mirror",
            "mirror-2.registry.com/image:tag mirror insecure",
            "registry.com/image:tag primary",
        ],
    );
    check(
        &c,
        "other.registry.com/image:tag",
        &["other.registry.com/image:tag primary"],
    );
}

#[test]
fn no_matching_table_gives_the_reference_itself() {
    let c = RegistriesConf::default();
    check(
        &c,
        "quay.io/podman/machine-os:5.3",
        &["quay.io/podman/machine-os:5.3 primary"],
    );
    check(&c, "ubuntu", &["docker.io/library/ubuntu:latest primary"]);
}

#[test]
fn the_primary_uses_the_table_insecure_flag() {
    let c = conf(
        r#"
[[registry]]
location = "registry.local:5000"
insecure = true
"#,
    );
    check(
        &c,
        "registry.local:5000/app:1",
        &["registry.local:5000/app:1 primary insecure"],
    );
}

#[test]
fn docker_hub_official_images_need_library_in_the_prefix() {
    let c = conf(
        r#"
[[registry]]
prefix = "docker.io/library"
location = "mirror.example/hub"

[[registry]]
prefix = "docker.io/alpine"
location = "mirror.example/alpine-org"
"#,
    );
    check(&c, "alpine", &["mirror.example/hub/alpine:latest primary"]);
    check(
        &c,
        "docker.io/alpine/git:v2",
        &["mirror.example/alpine-org/git:v2 primary"],
    );
}

#[test]
fn wildcard_with_empty_location_applies_settings_without_rewriting() {
    let c = conf(
        r#"
[[registry]]
prefix = "*.internal.example"
insecure = true

[[registry.mirror]]
location = "cache.example/internal"
"#,
    );
    check(
        &c,
        "a.internal.example/team/app:1",
        &[
            "cache.example/internal/team/app:1 mirror",
            "a.internal.example/team/app:1 primary insecure",
        ],
    );
    // With a port, the mirror's rewrite keeps `:5000` after a path: not a valid reference.
    let err = c
        .pull_sources(&reference("a.internal.example:5000/team/app:1"))
        .expect_err("invalid");
    assert!(matches!(err, Error::Rewrite { .. }), "{err:?}");
}

#[test]
fn a_reference_with_tag_and_digest_counts_as_digested() {
    let c = fixture("pull-sources-from-reference.conf");
    let input = format!("registry-b.com/foo/image:v1@{DIGEST_A}");
    let sources = c.pull_sources(&reference(&input)).expect("sources");
    assert_eq!(sources.len(), 3, "{:?}", render(&sources));
    assert_eq!(
        sources[0].reference.to_string(),
        format!("mirror-1.registry-b.com/image:v1@{DIGEST_A}")
    );
}

#[test]
fn blocked_reference_is_an_error_naming_file_and_line() {
    let c = fixture("mirrors.conf");
    let err = c
        .pull_sources(&reference("blocked.registry.com/image:tag"))
        .expect_err("blocked");
    assert!(matches!(err, Error::Blocked { .. }), "{err:?}");
    insta::assert_snapshot!(redact(&err.to_string()));
}

#[test]
fn blocked_primary_with_mirrors_pulls_only_from_mirrors() {
    // OpenShift's "NeverContactSource": the source is blocked, mirrors serve it.
    let c = conf(
        r#"
[[registry]]
location = "quay.io/openshift-release-dev"
blocked = true

[[registry.mirror]]
location = "mirror.internal/release"
"#,
    );
    let r = reference("quay.io/openshift-release-dev/ocp-release:4.16");
    let plan = c.pull_plan(&r).expect("plan");
    assert_eq!(
        render(&plan.sources),
        ["mirror.internal/release/ocp-release:4.16 mirror"]
    );
    assert_eq!(plan.blocked.len(), 1);
    assert_eq!(
        plan.blocked[0].reference.to_string(),
        "quay.io/openshift-release-dev/ocp-release:4.16"
    );
    assert!(!plan.blocked[0].mirror);
    assert_eq!(plan.blocked[0].origin.line, Some(2));
    check(
        &c,
        "quay.io/openshift-release-dev/ocp-release:4.16",
        &["mirror.internal/release/ocp-release:4.16 mirror"],
    );
}

#[test]
fn blocked_is_checked_on_the_rewritten_name() {
    let c = conf(
        r#"
[[registry]]
prefix = "example.com/foo"
location = "old.example.net/foo"

[[registry.mirror]]
location = "evil.example.org/foo"

[[registry]]
location = "evil.example.org"
blocked = true

[[registry]]
location = "old.example.net"
blocked = true
"#,
    );
    // The mirror is dropped because its rewritten name is blocked, and so is the primary.
    let err = c
        .pull_sources(&reference("example.com/foo/app:1"))
        .expect_err("all blocked");
    insta::assert_snapshot!(err.to_string());
    let plan = c
        .pull_plan(&reference("example.com/foo/app:1"))
        .expect("plan");
    assert!(plan.sources.is_empty());
    let blocked: Vec<String> = plan
        .blocked
        .iter()
        .map(|b| format!("{} {}", b.reference, b.prefix))
        .collect();
    assert_eq!(
        blocked,
        [
            "evil.example.org/foo/app:1 evil.example.org",
            "old.example.net/foo/app:1 old.example.net"
        ]
    );
}

#[test]
fn a_blocked_prefix_does_not_block_a_reference_rewritten_away_from_it() {
    let c = conf(
        r#"
[[registry]]
prefix = "docker.io"
location = "hub-mirror.example"

[[registry]]
prefix = "docker.io/library"
location = "docker.io/library"
blocked = true
"#,
    );
    check(
        &c,
        "docker.io/someone/app:1",
        &["hub-mirror.example/someone/app:1 primary"],
    );
    assert!(c.pull_sources(&reference("ubuntu")).is_err());
}

#[test]
fn a_location_that_cannot_be_applied_is_a_rewrite_error() {
    let c = conf(
        r#"
[[registry]]
prefix = "docker.io/library"
location = "docker.io"
"#,
    );
    let err = c
        .pull_sources(&reference("docker.io/library/busybox:1"))
        .expect_err("not canonical");
    assert!(matches!(err, Error::Rewrite { .. }), "{err:?}");
    insta::assert_snapshot!(err.to_string());
}

#[test]
fn push_ignores_mirrors_and_location() {
    let c = conf(
        r#"
[[registry]]
prefix = "quay.io/team"
location = "internal.example/team"
insecure = true

[[registry.mirror]]
location = "mirror.example/team"

[[registry]]
location = "blocked.example"
blocked = true
"#,
    );
    let target = c
        .push_target(&reference("quay.io/team/app:1"))
        .expect("not blocked");
    assert_eq!(target.reference.to_string(), "quay.io/team/app:1");
    assert!(target.insecure);
    let json = serde_json::to_string(&target).expect("serialises");
    assert_eq!(
        json,
        r#"{"reference":"quay.io/team/app:1","insecure":true}"#
    );
    let target = c
        .push_target(&reference("other.example/app:1"))
        .expect("no table");
    assert!(!target.insecure);
    let err = c
        .push_target(&reference("blocked.example/app:1"))
        .expect_err("blocked");
    assert!(matches!(err, Error::Blocked { .. }));
    assert!(err.to_string().contains("test.conf:10"), "{err}");
}
