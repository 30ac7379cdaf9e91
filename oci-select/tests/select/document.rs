//! Telling an index from a single manifest.

use oci_select::Document;

#[test]
fn classify_index_or_manifest() {
    let check = |ct: Option<&str>, body: &str| {
        oci_select::classify(ct, body.as_bytes()).map_err(|e| e.to_string())
    };
    assert_eq!(
        check(Some("application/vnd.oci.image.index.v1+json"), "{}"),
        Ok(Document::Index)
    );
    assert_eq!(
        check(
            Some("application/vnd.docker.distribution.manifest.v2+json; charset=utf-8"),
            "{}"
        ),
        Ok(Document::Manifest)
    );
    assert_eq!(
        check(
            Some("application/json"),
            r#"{"mediaType": "application/vnd.oci.image.manifest.v1+json"}"#
        ),
        Ok(Document::Manifest)
    );
    // Ironic's blind spot: a manifest without mediaType.
    assert_eq!(
        check(None, r#"{"schemaVersion": 2, "layers": []}"#),
        Ok(Document::Manifest)
    );
    assert_eq!(check(None, r#"{"manifests": []}"#), Ok(Document::Index));
    let unknown = check(Some("text/plain"), r#"{"schemaVersion": 2}"#).expect_err("unknown");
    insta::assert_snapshot!(unknown);
    assert!(check(None, "not json").is_err());
}
