//! `Error`: every variant names its part; messages are one line.

use oci_ref::{Error, Part, Reference};

use crate::SHA256;

/// Parses `input`, expecting an error about `part` whose message contains `phrase`.
fn check(input: &str, part: Part, phrase: &str) {
    let err = Reference::parse(input).expect_err("invalid input");
    assert_eq!(err.part(), part, "part of the error for {input:?}: {err}");
    let shown = err.to_string();
    assert!(
        shown.contains(phrase),
        "{shown:?} should contain {phrase:?}"
    );
    assert!(!shown.contains(['\n', '\r']), "one line: {shown:?}");
}

#[test]
fn errors_name_the_part_and_the_reason() {
    check(
        "Ubuntu",
        Part::Repository,
        "repository name must be lower-case",
    );
    check(
        &format!("a:{}", "t".repeat(129)),
        Part::Tag,
        "tag longer than 128 characters",
    );
    check(
        &format!("a@sha256:{}", &SHA256[..63]),
        Part::Digest,
        "sha256 digest needs 64 hex characters, got 63",
    );
    check(
        "a@md5:d41d8cd98f00b204e9800998ecf8427e",
        Part::Digest,
        "\"md5\"",
    );
    check(
        "a:b\r\nX: y",
        Part::Input,
        "a carriage return (U+000D) at byte 3",
    );
    check("", Part::Input, "reference is empty");
    check("a:", Part::Tag, "tag is empty");
    check("https://x/y", Part::Scheme, "unsupported scheme \"https\"");
    check(
        "oci://u:p@h/x",
        Part::Registry,
        "credentials do not belong in a reference",
    );
    check("h:70000/x", Part::Registry, "port");
    check(
        &format!("example.com/{}", "a".repeat(256)),
        Part::Repository,
        "the limit is 255",
    );
    assert_eq!(
        Reference::parse_oci_url("h/x").map_err(|e| e.part()),
        Err(Part::Scheme)
    );
    assert_eq!(Error::MissingTagOrDigest.part(), Part::Tag);
}

#[test]
fn part_names() {
    let names: Vec<String> = [
        Part::Input,
        Part::Scheme,
        Part::Registry,
        Part::Repository,
        Part::Tag,
        Part::Digest,
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(
        names,
        [
            "reference",
            "scheme",
            "registry",
            "repository name",
            "tag",
            "digest"
        ]
    );
}
