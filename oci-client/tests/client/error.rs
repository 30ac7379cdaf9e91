//! Error classification and display: what users and logs see.

use oci_client::{Error, ErrorCode, Limit, Protocol, RegistryError};

fn registry(status: u16, codes: &[&str]) -> Error {
    Error::Registry {
        method: "GET",
        url: "https://r.example/v2/app/manifests/v1".into(),
        status,
        errors: codes
            .iter()
            .map(|c| RegistryError {
                code: ErrorCode::from_wire(c),
                message: Some("msg".into()),
            })
            .collect(),
    }
}

#[test]
fn classification() {
    let check = |e: Error, retry: bool, missing: bool, unauth: bool| {
        assert_eq!(
            (e.is_retryable(), e.is_not_found(), e.is_unauthorized()),
            (retry, missing, unauth),
            "{e}"
        );
    };
    check(registry(404, &["MANIFEST_UNKNOWN"]), false, true, false);
    check(registry(400, &["BLOB_UNKNOWN"]), false, true, false);
    check(registry(401, &["UNAUTHORIZED"]), false, false, true);
    check(registry(403, &[]), false, false, true);
    check(registry(429, &["TOOMANYREQUESTS"]), true, false, false);
    check(registry(503, &[]), true, false, false);
    check(registry(408, &[]), true, false, false);
    check(registry(400, &["DENIED"]), false, false, true);
    assert!(registry(400, &["DIGEST_INVALID"]).is_digest_mismatch());
}

#[test]
fn codes_round_trip() {
    for code in [
        "BLOB_UNKNOWN",
        "BLOB_UPLOAD_INVALID",
        "BLOB_UPLOAD_UNKNOWN",
        "DIGEST_INVALID",
        "MANIFEST_BLOB_UNKNOWN",
        "MANIFEST_INVALID",
        "MANIFEST_UNKNOWN",
        "NAME_INVALID",
        "NAME_UNKNOWN",
        "SIZE_INVALID",
        "UNAUTHORIZED",
        "DENIED",
        "UNSUPPORTED",
        "TOOMANYREQUESTS",
        "VENDOR_SPECIFIC",
    ] {
        assert_eq!(ErrorCode::from_wire(code).as_str(), code);
    }
}

#[test]
fn display() {
    let d = |s: &[u8]| oci_ref::digest_of(oci_ref::Algorithm::Sha256, s);
    let errors = [
        registry(404, &["MANIFEST_UNKNOWN", "NAME_UNKNOWN"]),
        registry(500, &[]),
        Error::DigestMismatch {
            url: "https://r.example/v2/a/blobs/x".into(),
            expected: d(b"a"),
            actual: d(b"b"),
        },
        Error::LimitExceeded {
            url: "https://r.example/v2/a/manifests/v1".into(),
            limit: Limit::ManifestBytes,
            max: 4194304,
        },
        Error::Protocol {
            url: "https://r.example/v2/a/tags/list".into(),
            what: Protocol::PaginationLoop,
        },
        Error::UnsupportedManifest {
            url: "https://r.example/v2/a/manifests/old".into(),
            media_type: oci_ref::media_type::DOCKER_SCHEMA1.into(),
        },
    ];
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    insta::assert_snapshot!(text.join("\n"));
}
