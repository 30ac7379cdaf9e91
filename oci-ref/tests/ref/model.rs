//! The object model: one descriptor, manifest, index and platform that reads tolerantly and
//! writes the spec's shape, and the platform's own `OS/ARCH[/VARIANT]` syntax.

use oci_ref::model::{Descriptor, ImageIndex, ImageManifest, Platform};
use oci_ref::{Algorithm, Part, digest_of};
use proptest::prelude::*;

use crate::SHA256;

/// Parses `json` as `T`, writes it back and checks the bytes are `expected`.
fn check_written<T>(json: &str, expected: &str)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let value: T = serde_json::from_str(json).expect("reads");
    let written = serde_json::to_string(&value).expect("writes");
    assert_eq!(written, expected, "from {json}");
    let again: T = serde_json::from_str(&written).expect("reads its own output");
    assert_eq!(again, value);
}

/// Parsing `json` as `T` fails with a message containing `needle`.
fn check_refused<T: serde::de::DeserializeOwned + std::fmt::Debug>(json: &str, needle: &str) {
    let err = serde_json::from_str::<T>(json).expect_err(json).to_string();
    assert!(err.contains(needle), "{json}: {err}");
}

#[test]
fn descriptor_reads_tolerantly_and_writes_the_spec_order() {
    let d = format!("sha256:{SHA256}");
    // Unknown fields (urls, a future field) are ignored; the output keeps the known ones.
    check_written::<Descriptor>(
        &format!(
            r#"{{"size":3,"digest":"{d}","mediaType":"a/b","urls":["x"],"future":1,
                "annotations":{{"org.opencontainers.image.title":"f"}}}}"#
        ),
        &format!(
            r#"{{"mediaType":"a/b","digest":"{d}","size":3,"annotations":{{"org.opencontainers.image.title":"f"}}}}"#
        ),
    );
    check_written::<Descriptor>(
        &format!(
            r#"{{"mediaType":"m/i","digest":"{d}","size":1,"artifactType":"x/y","data":"e30=",
                "platform":{{"os":"linux","architecture":"arm64","variant":"v8"}}}}"#
        ),
        &format!(
            r#"{{"mediaType":"m/i","digest":"{d}","size":1,"artifactType":"x/y","data":"e30=","platform":{{"architecture":"arm64","os":"linux","variant":"v8"}}}}"#
        ),
    );
}

#[test]
fn descriptor_refuses_a_bad_digest() {
    check_refused::<Descriptor>(
        r#"{"mediaType":"a/b","digest":"sha256:xyz","size":1}"#,
        "sha256",
    );
    check_refused::<Descriptor>(
        r#"{"mediaType":"a/b","digest":"md5:d41d8cd98f00b204e9800998ecf8427e","size":1}"#,
        "md5",
    );
    check_refused::<Descriptor>(r#"{"mediaType":"a/b","size":1}"#, "digest");
}

#[test]
fn empty_descriptor_is_the_spec_one() {
    let e = Descriptor::empty();
    assert_eq!(e.media_type, "application/vnd.oci.empty.v1+json");
    assert_eq!(e.digest, digest_of(Algorithm::Sha256, b"{}"));
    assert_eq!(
        e.digest.as_str(),
        "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    );
    assert_eq!((e.size, e.data.as_deref()), (2, Some("e30=")));
}

#[test]
fn manifest_and_index_read_docker_shapes_and_write_oci_ones() {
    let d = format!("sha256:{SHA256}");
    // A Docker schema 2 manifest reads as a manifest; the media type is kept as sent.
    let docker = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
            "config":{{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"{d}","size":7}},
            "layers":[{{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"{d}","size":9}}]}}"#
    );
    let m: ImageManifest = serde_json::from_str(&docker).expect("docker manifest");
    assert_eq!(
        m.media_type.as_deref(),
        Some("application/vnd.docker.distribution.manifest.v2+json")
    );
    assert_eq!(m.layers.len(), 1);
    // Without schemaVersion, mediaType or layers: still a manifest (layers empty).
    let bare = format!(r#"{{"config":{{"mediaType":"c/d","digest":"{d}","size":1}}}}"#);
    let m: ImageManifest = serde_json::from_str(&bare).expect("bare manifest");
    assert_eq!((m.schema_version, m.layers.len()), (2, 0));
    check_written::<ImageManifest>(
        &bare,
        &format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"c/d","digest":"{d}","size":1}},"layers":[]}}"#
        ),
    );
    let written = serde_json::to_string(&ImageIndex::new(Vec::new())).expect("writes");
    assert_eq!(
        written,
        r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#
    );
    // A manifest needs a config.
    check_refused::<ImageManifest>(r#"{"layers":[]}"#, "config");
}

#[test]
fn platform_reads_empty_strings_as_absent() {
    let p: Platform =
        serde_json::from_str(r#"{"os":"","architecture":"amd64","os.features":null,"x":1}"#)
            .expect("platform");
    assert_eq!(p.os, None);
    assert_eq!(p.architecture.as_deref(), Some("amd64"));
    assert!(p.os_features.is_empty());
    assert_eq!(p.to_string(), "?/amd64");
    assert_eq!(Platform::default().to_string(), "-");
    check_written::<Platform>(
        r#"{"variant":"v7","os.version":"10","os":"windows","architecture":"arm"}"#,
        r#"{"architecture":"arm","os":"windows","os.version":"10","variant":"v7"}"#,
    );
}

#[test]
fn platform_syntax() {
    for bad in [
        "",
        "linux",
        "linux/",
        "/amd64",
        "a/b/c/d",
        "linux/amd 64",
        "linux/a,b",
    ] {
        let err = bad.parse::<Platform>().expect_err(bad);
        assert_eq!(err.part(), Part::Platform, "{bad}");
        assert!(err.to_string().contains("OS/ARCH[/VARIANT]"), "{err}");
    }
    let p: Platform = "linux/x86_64".parse().expect("platform");
    // Kept as written: aliases are a selection rule.
    assert_eq!(p, Platform::new("linux", "x86_64"));
}

proptest! {
    #[test]
    fn platform_round_trips(os in "[a-z0-9_]{1,12}", arch in "[a-z0-9_]{1,12}",
                            variant in proptest::option::of("[a-z0-9]{1,6}")) {
        let text = match &variant {
            Some(v) => format!("{os}/{arch}/{v}"),
            None => format!("{os}/{arch}"),
        };
        let p: Platform = text.parse().expect("valid platform");
        prop_assert_eq!(p.to_string(), text);
        let json = serde_json::to_vec(&p).expect("writes");
        let back: Platform = serde_json::from_slice(&json).expect("reads");
        prop_assert_eq!(back, p);
    }

    #[test]
    fn platform_parse_never_panics(s in "\\PC{0,40}") {
        let _ = s.parse::<Platform>();
    }
}
