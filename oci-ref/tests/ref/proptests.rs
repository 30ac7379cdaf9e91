//! Property tests: generated valid references round-trip through `Display`, arbitrary strings
//! never panic the parser, and digests round-trip.

use oci_ref::{Algorithm, Digest, Reference};
use proptest::prelude::*;

use crate::assert_round_trip;

/// A domain that docker-style parsing recognises: DNS names with a dot, IPv4, `localhost`,
/// bracketed IPv6, each with an optional port; mixed case.
fn domain() -> impl Strategy<Value = String> {
    let host = prop_oneof![
        "[a-zA-Z0-9]([a-zA-Z0-9-]{0,6}[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,6}[a-zA-Z0-9])?){1,3}",
        "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}",
        Just("localhost".to_owned()),
        Just("LocalHost".to_owned()),
        "\\[(::1|::|2001:[dD][bB]8::[0-9a-fA-F]{1,4}|fe80::[0-9a-f]{1,4}:[0-9a-f]{1,4})\\]",
    ];
    (host, proptest::option::of("[1-9][0-9]{0,4}")).prop_filter_map("port in range", |(h, p)| {
        match p {
            Some(p) if p.parse::<u16>().is_err() => None,
            Some(p) => Some(format!("{h}:{p}")),
            None => Some(h),
        }
    })
}

/// A host for `oci://` URLs: anything a domain can be, plus dotless names.
fn url_host() -> impl Strategy<Value = String> {
    prop_oneof![domain(), "[a-zA-Z0-9]{1,10}"]
}

/// A path component: `[a-z0-9]+ (separator [a-z0-9]+)*`.
fn component(dots: bool) -> impl Strategy<Value = String> {
    if dots {
        "[a-z0-9]{1,6}((\\.|_|__|-{1,3})[a-z0-9]{1,6}){0,2}".boxed()
    } else {
        // The first component of a domain-less docker name must not look like a domain.
        "[a-z0-9]{1,6}((_|__|-{1,3})[a-z0-9]{1,6}){0,2}".boxed()
    }
}

/// A repository path whose first component has no dot.
fn path() -> impl Strategy<Value = String> {
    (
        component(false),
        proptest::collection::vec(component(true), 0..4),
    )
        .prop_map(|(first, rest)| {
            std::iter::once(first)
                .chain(rest)
                .collect::<Vec<_>>()
                .join("/")
        })
}

fn tag() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
}

fn digest() -> impl Strategy<Value = Digest> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 32).prop_map(|b| Digest::from_bytes(
            Algorithm::Sha256,
            &b
        )
        .expect("32 bytes")),
        proptest::collection::vec(any::<u8>(), 64).prop_map(|b| Digest::from_bytes(
            Algorithm::Sha512,
            &b
        )
        .expect("64 bytes")),
    ]
}

/// The parts of a valid reference and whether to write it as an `oci://` URL.
#[derive(Debug, Clone)]
struct Written {
    url: bool,
    domain: Option<String>,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Written {
    fn text(&self) -> String {
        let mut s = String::new();
        if self.url {
            s.push_str("oci://");
        }
        if let Some(d) = &self.domain {
            s.push_str(d);
            s.push('/');
        }
        s.push_str(&self.path);
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d.as_str());
        }
        s
    }
}

fn written() -> impl Strategy<Value = Written> {
    let docker = (
        proptest::option::of(domain()),
        path(),
        proptest::option::of(tag()),
    )
        .prop_flat_map(|(domain, path, tag)| {
            proptest::option::of(digest()).prop_map(move |digest| Written {
                url: false,
                domain: domain.clone(),
                path: path.clone(),
                tag: tag.clone(),
                digest,
            })
        });
    let url = (
        url_host(),
        path(),
        proptest::option::of(tag()),
        proptest::option::of(digest()),
    )
        .prop_map(|(host, path, tag, digest)| Written {
            url: true,
            domain: Some(host),
            path,
            tag,
            digest,
        });
    prop_oneof![docker, url]
}

/// Strings near the grammar, so the parser's error paths get exercised too.
fn near_miss() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9:/@._\\-\\[\\]%?#+ ]{0,64}",
        "(oci|OCI|https)://[a-zA-Z0-9:/@._\\-\\[\\]]{0,64}",
        "[a-z0-9./:]{0,20}@sha(256|512):[0-9a-fA-F]{60,130}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn valid_references_parse_to_their_parts_and_round_trip(w in written()) {
        let input = w.text();
        let r = Reference::parse(&input).map_err(|e| TestCaseError::fail(format!("{input:?}: {e}")))?;
        let registry = w.domain.as_deref().unwrap_or("docker.io").to_ascii_lowercase();
        prop_assert_eq!(r.registry(), registry.as_str());
        if registry == "docker.io" && !w.path.contains('/') {
            prop_assert_eq!(r.repository(), format!("library/{}", w.path));
        } else {
            prop_assert_eq!(r.repository(), w.path.as_str());
        }
        let expected_tag = match (&w.tag, &w.digest) {
            (Some(t), _) => Some(t.as_str()),
            (None, None) => Some("latest"),
            (None, Some(_)) => None,
        };
        prop_assert_eq!(r.tag(), expected_tag);
        prop_assert_eq!(r.digest(), w.digest.as_ref());
        assert_round_trip(&r);
    }

    #[test]
    fn parse_never_panics_on_arbitrary_strings(s in any::<String>()) {
        if let Ok(r) = Reference::parse(&s) {
            assert_round_trip(&r);
        }
        if let Ok(d) = Digest::parse(&s) {
            prop_assert_eq!(d.as_str(), s.as_str());
        }
    }

    #[test]
    fn parse_never_panics_on_near_misses(s in near_miss()) {
        if let Ok(r) = Reference::parse(&s) {
            assert_round_trip(&r);
        }
        let _ = Reference::parse_oci_url(&s);
        let _ = Reference::parse_docker(&s);
        if let Ok(d) = Digest::parse(&s) {
            prop_assert_eq!(Digest::parse(&format!("{d}")), Ok(d));
        }
    }

    #[test]
    fn digests_round_trip(d in digest()) {
        prop_assert_eq!(Digest::parse(d.as_str()), Ok(d.clone()));
        prop_assert_eq!(d.to_string().parse::<Digest>(), Ok(d.clone()));
        prop_assert_eq!(d.encoded().len(), d.algorithm().hex_len());
    }
}
