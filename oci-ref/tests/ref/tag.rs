//! `Tag` and `TagOrDigest`: the one tag grammar, and the referrers fallback tag.

use oci_ref::{Algorithm, Digest, Reference, Tag, TagOrDigest};

use crate::{SHA256, SHA512};

/// Parses `input` with [`TagOrDigest::parse`] and compares the outcome with `expected`: the
/// `Display` form for accepted input, or a fragment of the error message.
fn check(input: &str, expected: Result<&str, &str>) {
    match (TagOrDigest::parse(input), expected) {
        (Ok(t), Ok(shown)) => {
            assert_eq!(t.to_string(), shown, "{input:?}");
            assert_eq!(t.as_str(), input, "{input:?}: as_str is the bare text");
            if let TagOrDigest::Tag(tag) = &t {
                assert_eq!(Tag::parse(input).as_ref(), Ok(tag), "{input:?}");
            }
        }
        (Err(e), Err(fragment)) => {
            assert!(e.to_string().contains(fragment), "{input:?}: {e}");
            if !input.contains(':') {
                assert!(Tag::parse(input).is_err(), "{input:?}");
            }
        }
        (got, want) => panic!("{input:?}: got {got:?}, want {want:?}"),
    }
}

#[test]
fn tags_and_digests() {
    let longest = format!("A{}", "z".repeat(oci_ref::MAX_TAG_LENGTH - 1));
    let too_long = format!("{longest}z");
    let sha256 = format!("sha256:{SHA256}");
    let sha512 = format!("sha512:{SHA512}");
    let cases: &[(&str, Result<&str, &str>)] = &[
        ("v1", Ok(":v1")),
        ("_", Ok(":_")),
        ("0", Ok(":0")),
        ("v1.2-rc_3", Ok(":v1.2-rc_3")),
        ("a..b--", Ok(":a..b--")),
        (&longest, Ok(&format!(":{longest}"))),
        (&sha256, Ok(&format!("@{sha256}"))),
        (&sha512, Ok(&format!("@{sha512}"))),
        ("", Err("empty")),
        (&too_long, Err("128")),
        (".hidden", Err("must start with a letter, digit or '_'")),
        ("-x", Err("must start with a letter, digit or '_'")),
        ("v1/x", Err("may only contain")),
        ("..", Err("must start with")),
        ("%2e%2e", Err("must start with")),
        ("v1\r\nX-Injected: 1", Err("carriage return")),
        ("v1\r\nX-Injected 1", Err("may only contain")),
        ("v 1", Err("may only contain")),
        ("sha256:abc", Err("digest")),
        ("md5:d41d8cd98f00b204e9800998ecf8427e", Err("md5")),
    ];
    for (input, expected) in cases {
        check(input, *expected);
    }
}

#[test]
fn a_reference_targets_its_digest_before_its_tag() {
    let r: Reference = format!("localhost:5000/app:v1@sha256:{SHA256}")
        .parse()
        .expect("reference");
    assert_eq!(r.target().to_string(), format!("@sha256:{SHA256}"));
    assert_eq!(r.typed_tag().map(Tag::into_string).as_deref(), Some("v1"));
    let r: Reference = "localhost:5000/app".parse().expect("reference");
    assert_eq!(r.target(), TagOrDigest::Tag(Tag::latest()));
    assert_eq!(TagOrDigest::from(&r).as_str(), r.manifest_reference());
}

#[test]
fn fallback_tag_schema() {
    let d = oci_ref::digest_of(Algorithm::Sha256, b"x");
    assert_eq!(
        Tag::referrers_fallback(&d),
        format!("sha256-{}", d.encoded())
    );
    let long: Digest = format!("sha512:{}", "a".repeat(128))
        .parse()
        .expect("sha512");
    assert_eq!(
        Tag::referrers_fallback(&long),
        format!("sha512-{}", "a".repeat(64))
    );
    assert!(Tag::parse(Tag::referrers_fallback(&long).as_str()).is_ok());
}
