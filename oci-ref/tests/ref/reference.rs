//! `Reference`: both syntaxes through `Reference::parse`, the tricky cases, the hostile ones,
//! and the builder methods.

use oci_ref::{Algorithm, Digest, Error, Reference, api_host};

use crate::{SHA256, SHA512, assert_round_trip, check, check_with};

#[test]
fn docker_style_names_and_domains() {
    check(
        "docker_style_names_and_domains",
        &[
            "ubuntu",
            "ubuntu:22.04",
            "library/ubuntu",
            "docker.io/ubuntu",
            "docker.io/library/ubuntu:latest",
            "index.docker.io/ubuntu",
            "INDEX.DOCKER.IO/library/ubuntu",
            "registry-1.docker.io/library/ubuntu",
            "bitnami/redis:7.2",
            "quay.io/podman/machine-os:5.3",
            "Quay.IO/podman/machine-os",
            "ghcr.io/a/b/c/d:v1",
            "localhost/foo",
            "localhost:5000/foo",
            "LOCALHOST:5000/x",
            "LOCALHOST/x",
            "localhost",
            "localhost:5000",
            "test.com:5000",
            "test.com:tag",
            "test.com/repo:tag",
            "test:5000/repo",
            "test_com",
            "test_com/repo",
            "127.0.0.1:5000/a",
            "[::1]:5000/a:b",
            "[::1]/a",
            "[2001:DB8::1]:443/ns/app",
            "[::ffff:127.0.0.1]:5000/a",
            "[::1:5000/a",
            "[zz]:5000/a",
            "[::1]x/a",
            "[fe80::1%eth0]:5000/a",
            "host:99999/a",
            "host:/a",
            "host:abc/a",
            "-host.com/a",
            "host-.com/a",
            "ho_st.com/a",
            "host..com/a",
            "a.b.c:0/d",
        ],
    );
}

#[test]
fn docker_style_path_components() {
    check(
        "docker_style_path_components",
        &[
            "a//b",
            "a/",
            "/a",
            "a/b/",
            "a_b",
            "a__b",
            "a___b",
            "a.b",
            "a..b",
            "a-b",
            "a--b",
            "a---b",
            "a-",
            "a_",
            "a.",
            "-a",
            "_a",
            ".a",
            "a.-b",
            "a_.b",
            "a-_b",
            "0",
            "Ubuntu",
            "Quay.io/Podman/Machine-OS",
            "example.com/Foo",
            "ubüntu",
            "ex%41mple/a",
            "a+b",
        ],
    );
}

#[test]
fn tags_and_digests() {
    let sha256_63 = &SHA256[..63];
    let upper = SHA256.to_uppercase();
    let with_g = format!("g{}", &SHA256[1..]);
    check(
        "tags_and_digests",
        &[
            "a:_tag",
            "a:Tag.With-Dots_and_dashes",
            "a:-tag",
            "a:.tag",
            "a:tag$",
            "a:tag:more",
            "a:",
            "a@",
            "a:@",
            ":tag",
            "@",
            &format!("a:@sha256:{SHA256}"),
            &format!("ubuntu@sha256:{SHA256}"),
            &format!("ubuntu:22.04@sha256:{SHA256}"),
            &format!("quay.io/a/b:v1@sha512:{SHA512}"),
            &format!("ubuntu@sha256:{sha256_63}"),
            "ubuntu@md5:d41d8cd98f00b204e9800998ecf8427e",
            &format!("ubuntu@SHA256:{SHA256}"),
            &format!("ubuntu@sha256:{upper}"),
            &format!("ubuntu@sha256:{with_g}"),
            &format!("ubuntu@sha256:{SHA256}@sha256:{SHA256}"),
            "ubuntu@sha256",
            SHA256,
            &format!("{SHA256}:tag"),
            &format!("library/{SHA256}"),
        ],
    );
}

#[test]
fn limits() {
    let tag_128 = format!("a:{}", "t".repeat(128));
    let tag_129 = format!("a:{}", "t".repeat(129));
    let path_255 = format!("example.com/{}", "a".repeat(255));
    let path_256 = format!("example.com/{}", "a".repeat(256));
    let nested_256 = format!("example.com/{}/b", "a".repeat(254));
    // On Docker Hub, `library/` counts: 247 + 8 = 255 fits, 248 does not.
    let hub_247 = "a".repeat(247);
    let hub_248 = "a".repeat(248);
    let bad_and_long_tag = format!("a:{}$", "t".repeat(200));
    check(
        "limits",
        &[
            &tag_128,
            &tag_129,
            &path_255,
            &path_256,
            &nested_256,
            &hub_247,
            &hub_248,
            &bad_and_long_tag,
        ],
    );
}

#[test]
fn hostile_characters() {
    check(
        "hostile_characters",
        &[
            "",
            "repo:tag\r\nX: y",
            "repo:tag\n",
            "repo\r",
            " ubuntu",
            "ubu ntu",
            "ubuntu\t",
            "ubuntu\u{0}",
            "ubuntu\u{7f}",
            "ubuntu\u{85}",
            "ubuntu\u{a0}",
            "ubuntu\u{2028}",
            "ubuntu\u{3000}",
            "ubuntu\u{202e}",
            "\u{feff}ubuntu",
            "ubuntu\u{200b}",
            "quay.io/a:ta\u{1b}[31mg",
            "oci://host/a\r\nGET / HTTP/1.1",
            "ubuntu:日本",
        ],
    );
}

#[test]
fn oci_urls() {
    check(
        "oci_urls",
        &[
            "oci://host/c",
            "oci://host/path/container",
            "oci://host:5000/p/c:tag",
            &format!("oci://host/c@sha256:{SHA256}"),
            &format!("oci://host/c:tag@sha256:{SHA256}"),
            &format!("oci://host/container:@sha256:{SHA256}"),
            &format!("oci://host/p/container:@sha512:{SHA512}"),
            "oci://host/c:",
            "oci://host/c:@",
            "oci://HOST/path",
            "oci://HOST/Path",
            "OCI://quay.io/a",
            "Oci://quay.io/a",
            "oci://docker.io/ubuntu",
            "oci://index.docker.io/ubuntu",
            "oci://localhost/foo/bar:meow",
            "oci://[::1]:5000/a:b",
            "oci://127.0.0.1:5000/a/b",
            "oci://myregistry/app",
            "oci://test.com:5000",
            "oci://host",
            "oci://host/",
            "oci:///x",
            "oci://",
            "oci://host//x",
            "oci://host/a//b",
            "oci://.",
            "oci://./x",
            "oci://host/x?y=1",
            "oci://host/x#frag",
            "oci://host?x/y",
            "oci:/host/x",
            "oci:host/x",
        ],
    );
}

#[test]
fn oci_urls_never_echo_credentials() {
    let inputs: [&str; 10] = [
        "oci://alice:s3cret@host/x",
        "oci://alice@host/x",
        "oci://alice:s3cret@host",
        "oci://alice:s3cret@host:5000/x:tag",
        "oci://alice:s3cret@@host/x",
        "oci://alice:s3cret@host/x?secret=1",
        &format!("oci://alice:s3cret@sha256:{SHA256}/x"),
        &format!("oci://host@sha256:{SHA256}"),
        "alice:s3cret@host/x",
        "alice:s3cret@host:5000/x:tag",
    ];
    for input in inputs {
        let err = Reference::parse(input).expect_err("user information is rejected");
        for shown in [err.to_string(), format!("{err:?}")] {
            assert!(
                !shown.contains("s3cret"),
                "{input:?} leaked the password: {shown}"
            );
            assert!(
                !shown.contains("alice"),
                "{input:?} leaked the user: {shown}"
            );
        }
    }
    check("oci_urls_never_echo_credentials", &inputs);
}

#[test]
fn other_schemes_are_rejected() {
    check(
        "other_schemes_are_rejected",
        &[
            "https://example.com/a",
            "http://localhost:5000/a",
            "docker://ubuntu",
            "HTTPS://example.com/a",
            "ftp://x/y",
            "localhost:5000://a",
            "a/b://c",
            "1http://a/b",
            "://a/b",
        ],
    );
}

#[test]
fn parse_docker_and_parse_oci_url_are_strict_about_syntax() {
    check_with(
        "parse_docker_entry_point",
        &["ubuntu", "oci://host/a", "https://host/a"],
        Reference::parse_docker,
    );
    check_with(
        "parse_oci_url_entry_point",
        &["oci://host/a", "host/a", "ubuntu", "https://host/a", ""],
        Reference::parse_oci_url,
    );
}

fn digest() -> Digest {
    Digest::parse(&format!("sha256:{SHA256}")).expect("valid digest")
}

#[test]
fn new_validates_and_normalises() {
    let r = Reference::new("Quay.IO", "a/b", Some("v1"), None).expect("valid parts");
    assert_eq!(r.to_string(), "quay.io/a/b:v1");
    let r = Reference::new("index.docker.io", "ubuntu", None, Some(digest())).expect("valid parts");
    assert_eq!(
        r.to_string(),
        format!("docker.io/library/ubuntu@sha256:{SHA256}")
    );
    let r = Reference::new("myregistry", "app", Some("1"), None).expect("valid parts");
    assert_eq!(r.to_string(), "oci://myregistry/app:1");
    assert_round_trip(&r);

    assert_eq!(
        Reference::new("host", "a", None, None),
        Err(Error::MissingTagOrDigest)
    );
    assert!(matches!(
        Reference::new("host", "A", Some("t"), None),
        Err(Error::UppercaseRepository { .. })
    ));
    assert!(matches!(
        Reference::new("ho st", "a", Some("t"), None),
        Err(Error::ForbiddenCharacter { .. } | Error::Invalid { .. })
    ));
    assert!(matches!(
        Reference::new("host", "a", Some("-t"), None),
        Err(Error::Invalid { .. })
    ));
    assert!(matches!(
        Reference::new("docker.io", &"a".repeat(250), Some("t"), None),
        Err(Error::NameTooLong {
            len: 258,
            max: 255,
            ..
        })
    ));
}

#[test]
fn accessors_and_derived_references() {
    let tagged = Reference::parse("quay.io/a/b:v1").expect("valid reference");
    assert_eq!(tagged.manifest_reference(), "v1");
    assert_eq!(tagged.without_tag(), None);
    assert_eq!(tagged.api_host(), "quay.io");
    assert_eq!(tagged.to_oci_url(), "oci://quay.io/a/b:v1");
    assert_eq!(tagged.name(), "quay.io/a/b");
    assert_eq!(tagged.pinned(digest()).name(), "quay.io/a/b");
    assert_eq!(
        Reference::parse("alpine").expect("valid").name(),
        "docker.io/library/alpine"
    );

    let both = tagged.pinned(digest()).with_tag("v2").expect("valid tag");
    assert_eq!(
        both.to_string(),
        "quay.io/a/b:v2",
        "with_tag drops the digest"
    );

    let full =
        Reference::parse(&format!("quay.io/a/b:v1@sha256:{SHA256}")).expect("valid reference");
    assert_eq!(
        full.manifest_reference(),
        format!("sha256:{SHA256}"),
        "the digest wins"
    );
    let bare = full.without_tag().expect("has a digest");
    assert_eq!(bare.to_string(), format!("quay.io/a/b@sha256:{SHA256}"));
    assert_eq!(bare.tag(), None);
    assert_eq!(full.pinned(digest()), bare);

    let moved = full.with_repository("c/d").expect("valid repository");
    assert_eq!(moved.to_string(), format!("quay.io/c/d:v1@sha256:{SHA256}"));
    assert!(matches!(
        full.with_repository("C"),
        Err(Error::UppercaseRepository { .. })
    ));
    assert!(matches!(full.with_tag("a b"), Err(Error::Invalid { .. })));

    let hub = Reference::parse("ubuntu").expect("valid reference");
    assert_eq!(hub.api_host(), "registry-1.docker.io");
    assert_eq!(api_host("docker.io"), "registry-1.docker.io");
    assert_eq!(api_host("localhost:5000"), "localhost:5000");
    let busybox = hub.with_repository("busybox").expect("valid repository");
    assert_eq!(
        busybox.repository(),
        "library/busybox",
        "Docker Hub gains library/"
    );
    assert_round_trip(&busybox);

    let d = Digest::from_bytes(Algorithm::Sha512, &[0xab; 64]).expect("64 bytes");
    assert_eq!(hub.pinned(d.clone()).digest(), Some(&d));
}

#[test]
fn from_str_matches_parse() {
    for input in ["ubuntu", "oci://h/a", "a b"] {
        assert_eq!(input.parse::<Reference>(), Reference::parse(input));
    }
}
