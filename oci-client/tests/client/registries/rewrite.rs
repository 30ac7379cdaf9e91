//! `rewrite_reference`: the catalogue's rewrite-success and rewrite-failure cases.

use oci_client::registries::{RewriteError, rewrite_reference};

use super::{DIGEST_A, reference};

/// Checks that rewriting `input` with `prefix` → `location` gives `expected`.
#[track_caller]
fn check(input: &str, prefix: &str, location: &str, expected: &str) {
    let rewritten = rewrite_reference(&reference(input), prefix, location)
        .unwrap_or_else(|e| panic!("rewriting {input} with {prefix} -> {location}: {e}"));
    assert_eq!(
        rewritten.to_string(),
        expected,
        "{input} with {prefix} -> {location}"
    );
}

/// Checks that rewriting fails, and returns the error message.
#[track_caller]
fn check_err(input: &str, prefix: &str, location: &str) -> RewriteError {
    match rewrite_reference(&reference(input), prefix, location) {
        Ok(r) => {
            panic!("rewriting {input} with {prefix} -> {location} gave {r}, expected an error")
        }
        Err(e) => e,
    }
}

#[test]
fn identity_rewrites_leave_the_reference_unchanged() {
    let d = DIGEST_A;
    for r in [
        "example.com/image:latest".to_owned(),
        format!("example.com/image@{d}"),
        format!("example.com/image:latest@{d}"),
    ] {
        check(&r, "example.com", "example.com", &r);
    }
    for r in [
        "example.com:5000/image:latest".to_owned(),
        format!("example.com:5000/image@{d}"),
    ] {
        check(&r, "example.com:5000", "example.com:5000", &r);
    }
    check(
        "docker.io/library/image:latest",
        "docker.io",
        "docker.io",
        "docker.io/library/image:latest",
    );
}

#[test]
fn namespace_rewrites() {
    check(
        "example.com/foo/image:latest",
        "example.com/foo",
        "example.com",
        "example.com/image:latest",
    );
    check(
        "example.com/foo/image:latest",
        "example.com/foo",
        "example.com/path",
        "example.com/path/image:latest",
    );
    check(
        "docker.io/library/image",
        "docker.io/library",
        "example.com",
        "example.com/image:latest",
    );
    check(
        "docker.io/library/image",
        "docker.io",
        "example.com",
        "example.com/library/image:latest",
    );
    check(
        "docker.io/library/prefix/image",
        "docker.io/library/prefix",
        "example.com",
        "example.com/image:latest",
    );
    // The example: host and namespace both change.
    check(
        "quay.io/foo/myimage:1",
        "quay.io/foo",
        "registry.com/bar/baz",
        "registry.com/bar/baz/myimage:1",
    );
}

#[test]
fn wildcard_rewrites_replace_the_host_only() {
    check(
        "docker.io/namespace/image",
        "*.io",
        "example.com",
        "example.com/namespace/image:latest",
    );
    check(
        "sub.example.io/library/prefix/image",
        "*.example.io",
        "example.com",
        "example.com/library/prefix/image:latest",
    );
    // The port is kept: only the host was matched.
    check(
        "another.sub.example.io:5000/library/prefix/image:latest",
        "*.sub.example.io",
        "example.com",
        "example.com:5000/library/prefix/image:latest",
    );
    check(
        "foo.bar.io/ns1/ns2/ns3/ns4",
        "*.bar.io",
        "omg.bbq.com/roflmao",
        "omg.bbq.com/roflmao/ns1/ns2/ns3/ns4:latest",
    );
}

#[test]
fn empty_location_with_a_wildcard_returns_the_input() {
    let d = DIGEST_A;
    for r in [
        "sub.example.io/image:latest".to_owned(),
        format!("sub.example.io/image@{d}"),
        "sub.example.io:5000/image:v1".to_owned(),
    ] {
        check(&r, "*.example.io", "", &r);
    }
}

#[test]
fn failures() {
    let mut report = String::new();
    let d = DIGEST_A;
    let cases: Vec<(String, &str, &str)> = vec![
        // Double slash after rewriting.
        (
            "example.com/foo/image:latest".into(),
            "example.com/foo",
            "example.com/path/",
        ),
        // A bare host followed directly by a digest is not a reference.
        (
            format!("example.com/foo@{d}"),
            "example.com/foo",
            "example.com",
        ),
        // An empty location needs a wildcard prefix.
        ("example.com/foo:latest".into(), "example.com", ""),
        // The quirk match of `example.com` against `example.com:5000` doubles the port.
        (
            "example.com:5000/image:latest".into(),
            "example.com",
            "example.com:5000",
        ),
        // Malformed prefixes never match.
        (
            "example.com/foo:latest".into(),
            "example.com//foo",
            "example.com",
        ),
        ("example.com/foo:latest".into(), "image", "example.com"),
        (
            "example.com/foo:latest".into(),
            "example.com/foo/",
            "example.com",
        ),
        ("foo:latest".into(), "example.com/f", "example.com"),
        (
            format!("example.com/foo@{d}"),
            "example.com/foo/",
            "example.com",
        ),
        (
            "docker.io/library/image:latest".into(),
            "example.com",
            "example.com",
        ),
        (
            "docker.io/library/image:latest".into(),
            "*.com",
            "example.com",
        ),
        (
            "foo.docker.io/library/image:latest".into(),
            "*.example.com",
            "example.com",
        ),
        (
            "foo.docker.io/library/image:latest".into(),
            "*.docker.com",
            "example.com",
        ),
        // The result would be normalised to something else (Docker Hub's `library/`).
        (
            "docker.io/library/image:latest".into(),
            "docker.io/library",
            "docker.io",
        ),
        // A location with a tag followed by more path.
        (
            "example.com/foo/image:latest".into(),
            "example.com/foo",
            "example.com/bar:tag",
        ),
        // A location with an upper-case repository.
        (
            "example.com/foo/image:latest".into(),
            "example.com/foo",
            "example.com/Bar",
        ),
    ];
    for (input, prefix, location) in cases {
        let e = check_err(&input, prefix, location);
        report.push_str(&format!("{input} | {prefix} -> {location:?}\n  {e}\n"));
    }
    insta::assert_snapshot!(report);
}

#[test]
fn failure_kinds_are_typed() {
    assert!(matches!(
        check_err(
            "docker.io/library/image:latest",
            "example.com",
            "example.com"
        ),
        RewriteError::PrefixMismatch { .. }
    ));
    assert!(matches!(
        check_err("example.com/foo:latest", "example.com", ""),
        RewriteError::EmptyLocation { .. }
    ));
    assert!(matches!(
        check_err(
            "docker.io/library/image:latest",
            "docker.io/library",
            "docker.io"
        ),
        RewriteError::NotCanonical { .. }
    ));
    assert!(matches!(
        check_err(
            "example.com/foo/image:latest",
            "example.com/foo",
            "example.com/path/"
        ),
        RewriteError::Invalid { .. }
    ));
}
