//! Building candidates from index, manifest and config JSON; hostile and malformed documents.

use oci_select::{Candidate, CandidateError, Document, ManifestFacts, Platform};

use crate::digest;

fn check_index_error(json: &str) -> CandidateError {
    Candidate::from_index(json.as_bytes()).expect_err("the index must be refused")
}

#[test]
fn index_entries_keep_order_and_fields() {
    let json = format!(
        r#"{{"manifests": [
            {{"mediaType": "m", "digest": "{}", "size": 7, "artifactType": "a/b",
              "platform": {{"os": "linux", "architecture": "arm", "variant": "v7",
                            "os.version": "1", "os.features": ["f"], "features": ["g"]}},
              "annotations": {{"k": "v"}}}},
            {{"digest": "{}", "artifactType": ""}}
        ]}}"#,
        digest("a"),
        digest("b")
    );
    let c = Candidate::from_index(json.as_bytes()).expect("parses");
    assert_eq!(c.len(), 2);
    assert_eq!(c[0].position(), 0);
    assert_eq!(c[0].media_type(), Some("m"));
    assert_eq!(c[0].size(), Some(7));
    assert_eq!(c[0].artifact_type(), Some("a/b"));
    assert_eq!(c[0].annotation("k"), Some("v"));
    let p = c[0].platform().expect("platform");
    assert_eq!(p.summary(), "linux/arm/v7");
    assert_eq!(p.os_version.as_deref(), Some("1"));
    assert_eq!(p.os_features, vec!["f".to_owned()]);
    assert_eq!(p.features, vec!["g".to_owned()]);
    assert_eq!(c[1].position(), 1);
    assert_eq!(
        c[1].artifact_type(),
        None,
        "an empty artifactType is absent"
    );
    assert_eq!(c[1].platform(), None);
    assert!(c[1].manifest().is_none());
}

#[test]
fn index_without_manifests_is_empty() {
    assert!(Candidate::from_index(b"{}").expect("parses").is_empty());
}

#[test]
fn invalid_digest_names_the_entry() {
    let err = check_index_error(r#"{"manifests": [{"digest": "md5:abc"}]}"#);
    assert!(
        matches!(&err, CandidateError::InvalidDigest { document: Document::Index, field, .. } if field == "manifests[0]"),
        "{err:?}"
    );
    insta::assert_snapshot!(err.to_string());
}

#[test]
fn missing_digest_is_refused() {
    let err = check_index_error(r#"{"manifests": [{"mediaType": "x"}]}"#);
    assert_eq!(err.to_string(), "image index: `manifests[0]` has no digest");
}

#[test]
fn malformed_json_gives_line_and_column() {
    let err = check_index_error("{\n  \"manifests\": [\n    {\"digest\": 5}\n  ]\n}");
    let CandidateError::Json { document, line, .. } = err else {
        panic!("expected a JSON error, got {err:?}");
    };
    assert_eq!(document, Document::Index);
    assert_eq!(line, 3);
}

#[test]
fn negative_size_is_refused() {
    let json = format!(
        r#"{{"manifests": [{{"digest": "{}", "size": -1}}]}}"#,
        digest("a")
    );
    assert!(matches!(
        check_index_error(&json),
        CandidateError::Json { .. }
    ));
}

#[test]
fn hostile_bytes_never_panic() {
    for bytes in [
        &b""[..],
        b"\xff\xfe",
        b"[]",
        b"null",
        b"{\"manifests\": null}",
        b"{\"manifests\": {}}",
    ] {
        let _ = Candidate::from_index(bytes);
        let _ = ManifestFacts::from_json(bytes);
    }
}

#[test]
fn manifest_layer_digests_are_checked() {
    let err = ManifestFacts::from_json(br#"{"layers": [{"digest": "sha256:xyz"}]}"#)
        .expect_err("bad layer digest");
    assert!(
        matches!(err, CandidateError::InvalidDigest { document: Document::Manifest, ref field, .. } if field == "layers[0]")
    );
}

#[test]
fn config_is_read_only_for_image_configs() {
    let artifact = ManifestFacts::with_layers(Vec::new())
        .with_config_media_type("application/vnd.oci.empty.v1+json");
    let c = Candidate::from_manifest(
        digest("a"),
        artifact,
        None,
        Some(br#"{"architecture": "arm64"}"#),
    )
    .expect("the config is ignored");
    assert_eq!(c.platform(), None);

    let image = ManifestFacts::with_layers(Vec::new())
        .with_config_media_type("application/vnd.oci.image.config.v1+json");
    let err = Candidate::from_manifest(digest("a"), image, None, Some(b"not json"))
        .expect_err("bad config");
    assert!(matches!(
        err,
        CandidateError::Json {
            document: Document::Config,
            ..
        }
    ));
}

#[test]
fn single_manifest_takes_manifest_annotations() {
    let facts = ManifestFacts::with_layers(Vec::new())
        .with_annotation("disktype", "raw")
        .with_artifact_type("a/b");
    let c = Candidate::from_manifest(digest("a"), facts, Some(10), None).expect("builds");
    assert_eq!(c.annotation("disktype"), Some("raw"));
    assert_eq!(c.artifact_type(), Some("a/b"));
    assert_eq!(c.size(), Some(10));
    assert!(c.manifest().is_some());
}

#[test]
fn platform_summary() {
    assert_eq!(Platform::default().summary(), "-");
    assert_eq!(Platform::new("linux", "amd64").summary(), "linux/amd64");
}

#[test]
fn total_size_saturates() {
    let json = format!(
        r#"{{"config": {{"mediaType": "x", "digest": "{}", "size": 18446744073709551615}},
             "layers": [{{"mediaType": "x", "digest": "{}", "size": 18446744073709551615}}]}}"#,
        digest("a"),
        digest("b")
    );
    let facts = ManifestFacts::from_json(json.as_bytes()).expect("parses");
    assert_eq!(facts.total_size(), u64::MAX);
}
