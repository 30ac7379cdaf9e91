//! `match_prefix`: the catalogue's refMatchingPrefix and refMatchingSubdomainPrefix tables.

use oci_client::registries::match_prefix;

use super::DIGEST_A;

/// Checks that `prefix` matches `reference` with length `expected` (or does not match).
#[track_caller]
fn check(reference: &str, prefix: &str, expected: Option<usize>) {
    assert_eq!(
        match_prefix(reference, prefix),
        expected,
        "match_prefix({reference:?}, {prefix:?})"
    );
}

#[test]
fn wildcard_prefixes() {
    let host = |r: &str| Some(r.find(['/', '@']).unwrap_or(r.len()));
    check("docker.io", "*.io", Some(9));
    check("docker.io/foo", "*.com", None);
    check("example.com/foo", "*.co", None);
    check("example.com/foo", "*.example.com", None);
    for r in [
        "example.com/foo",
        "example.com/foo:bar",
        "example.com/foo/bar:baz",
    ] {
        check(r, "*.com", host(r));
    }
    check("yet.another.example.com/foo", "**.example.com", None);
    check(
        "yet.another.example.com/foo",
        "***.another.example.com",
        None,
    );
    check(
        "yet.another.example.com/foo",
        "**********.another.example.com",
        None,
    );
    let r = "yet.another.example.com/foo/bar";
    check(r, "*.another.example.com", host(r));
    let r = "another.example.com/namespace.com/foo/bar/bbq:baz";
    check(r, "*.example.com", host(r));
    check(
        "example.net/namespace-ends-in.com/foo/bar/bbq:baz",
        "*.com",
        None,
    );
    check(
        "another.example.com/namespace.com/foo/bar/bbq:baz",
        "*.namespace.com",
        None,
    );
    let r = "sub.example.com/foo/bar";
    check(r, "*.com", host(r));
    check(r, "*.example.com", host(r));
    let r = "another.sub.example.com/foo/bar/bbq:baz";
    check(r, "*.example.com", host(r));
    check(r, "*.sub.example.com", host(r));
    let r = format!("yet.another.example.com/foo/bar@{DIGEST_A}");
    check(&r, "*.example.com", host(&r));
    let r = format!("yet.another.sub.example.com/foo/bar@{DIGEST_A}");
    check(&r, "*.sub.example.com", host(&r));
}

#[test]
fn wildcard_needs_at_least_one_label_and_may_have_many() {
    check("example.com", "*.example.com", None);
    check("a.example.com", "*.example.com", Some(13));
    check("a.b.c.example.com/x", "*.example.com", Some(17));
}

#[test]
fn wildcard_match_stops_before_the_port() {
    // Only the host is matched: the port stays in the remainder.
    check("sub.example.io:5000/x", "*.example.io", Some(14));
}

#[test]
fn wildcard_suffix_must_end_at_a_separator() {
    check("a.example.community/x", "*.example.com", None);
}

#[test]
fn domain_prefixes() {
    check("docker.io", "docker.io", Some(9));
    check("docker.io", "example.com", None);
    check("example.com:5000", "example.com:5000", Some(16));
    check("example.com:50000", "example.com:5000", None);
    // The known quirk: `:` after the prefix counts as a separator, so the port slips through.
    check("example.com:5000", "example.com", Some(11));
    for r in [
        "example.com/foo".to_owned(),
        "example.com/foo/bar".to_owned(),
        "example.com/foo/bar:baz".to_owned(),
        format!("example.com/foo/bar@{DIGEST_A}"),
    ] {
        check(&r, "example.com", Some(11));
    }
}

#[test]
fn namespace_prefixes() {
    check("docker.io", "docker.io/library", None);
    check("docker.io/library", "docker.io/library", Some(17));
    check("example.com/library", "docker.io/library", None);
    check("docker.io/libraryy", "docker.io/library", None);
    check("docker.io/library/busybox", "docker.io/library", Some(17));
    check("docker.io", "docker.io/library/busybox", None);
    check(
        "docker.io/library/busybox",
        "docker.io/library/busybox",
        Some(25),
    );
    check(
        "example.com/library/busybox",
        "docker.io/library/busybox",
        None,
    );
    check(
        "docker.io/library/busybox2",
        "docker.io/library/busybox",
        None,
    );
}

#[test]
fn single_image_prefixes() {
    check("example.com", "example.com/foo:bar", None);
    check("example.com/foo", "example.com/foo:bar", None);
    check("example.com/foo:bar", "example.com/foo:bar", Some(19));
    check("example.com/foo:bar2", "example.com/foo:bar", None);
    let digested = format!("example.com/foo@{DIGEST_A}");
    check("example.com", &digested, None);
    check("example.com/foo", &digested, None);
    check(&digested, &digested, Some(digested.len()));
    let other = format!("example.com/foo@{}", super::DIGEST_B);
    check(&other, &digested, None);
}

#[test]
fn invalid_prefixes_never_match() {
    check("example.com/foo", "*", None);
    check("*", "*", Some(1)); // textual equality; no valid reference starts with '*'
    check("example.com/foo", "", None);
    check("", "example.com", None);
    check("example.com/foo", "example.com/foo/", None);
    check("example.com/foo", "example.com//foo", None);
    check("foo", "example.com/f", None);
    check("example.com/foo", "image", None);
}

#[test]
fn non_ascii_input_does_not_panic() {
    check("é.example.com/x", "*.example.com", Some(14));
    check("exampleé", "example", None);
    check("example", "exampleé", None);
}
