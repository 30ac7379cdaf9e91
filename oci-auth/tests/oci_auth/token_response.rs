//! Token responses: `token`/`access_token`, `expires_in`, `issued_at`.

use std::time::{Duration, UNIX_EPOCH};

use oci_auth::token_response::{self, parse_rfc3339, remaining_lifetime};

#[test]
fn responses() {
    let check = |body: &str| match token_response::parse(body.as_bytes()) {
        Ok(r) => format!(
            "token-len={} expires_in={:?} issued_at={:?} refresh={}",
            r.token.expose().len(),
            r.expires_in,
            r.issued_at.map(|t| t
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)),
            r.refresh_token.is_some()
        ),
        Err(e) => format!("error: {e}"),
    };
    let cases = [
        r#"{"token":"abc"}"#,
        r#"{"access_token":"abcd","expires_in":300}"#,
        r#"{"token":"t1","access_token":"t2-longer"}"#,
        r#"{"token":"","access_token":"fallback"}"#,
        r#"{"token":"abc","expires_in":10}"#,
        r#"{"token":"abc","expires_in":-5}"#,
        r#"{"token":"abc","expires_in":90.5}"#,
        r#"{"token":"abc","expires_in":"300"}"#,
        r#"{"token":"abc","expires_in":18446744073709551615}"#,
        r#"{"token":"abc","expires_in":1e300}"#,
        r#"{"token":"abc","issued_at":"2024-01-02T03:04:05Z","expires_in":3600}"#,
        r#"{"token":"abc","issued_at":"yesterday"}"#,
        r#"{"token":"abc","refresh_token":"r"}"#,
        r#"{"token":"has space"}"#,
        r#"{"expires_in":60}"#,
        r#"[]"#,
        "",
    ];
    let out: Vec<String> = cases
        .iter()
        .map(|c| format!("{c} -> {}", check(c)))
        .collect();
    insta::assert_snapshot!(out.join("\n"));
}

#[test]
fn oversized_token_is_refused() {
    let body = format!(
        r#"{{"token":"{}"}}"#,
        "a".repeat(oci_auth::TOKEN_LENGTH_MAX + 1)
    );
    assert!(token_response::parse(body.as_bytes()).is_err());
}

#[test]
fn rfc3339() {
    let secs = |s: &str| {
        parse_rfc3339(s).map(|t| {
            t.duration_since(UNIX_EPOCH)
                .expect("after epoch")
                .as_secs_f64()
        })
    };
    assert_eq!(secs("1970-01-01T00:00:00Z"), Some(0.0));
    assert_eq!(secs("2024-01-02T03:04:05Z"), Some(1_704_164_645.0));
    assert_eq!(secs("2024-01-02T05:04:05+02:00"), Some(1_704_164_645.0));
    assert_eq!(secs("2024-01-02T03:04:05.5Z"), Some(1_704_164_645.5));
    assert_eq!(secs("2000-02-29T00:00:00Z"), Some(951_782_400.0));
    for bad in [
        "2024-01-02",
        "2024-13-02T03:04:05Z",
        "2024-01-02T03:04:05",
        "2024-01-02T03:04:05.Z",
        "x024-01-02T03:04:05Z",
    ] {
        assert_eq!(secs(bad), None, "{bad}");
    }
}

#[test]
fn remaining_lifetime_counts_from_issued_at() {
    let now = UNIX_EPOCH + Duration::from_secs(1000);
    let mut r = token_response::parse(br#"{"token":"t","expires_in":300}"#).expect("valid");
    assert_eq!(remaining_lifetime(&r, now), Duration::from_secs(300));
    r.issued_at = Some(UNIX_EPOCH + Duration::from_secs(900));
    assert_eq!(remaining_lifetime(&r, now), Duration::from_secs(200));
    r.issued_at = Some(UNIX_EPOCH + Duration::from_secs(2000)); // in the future: skew
    assert_eq!(remaining_lifetime(&r, now), Duration::from_secs(300));
    r.issued_at = Some(UNIX_EPOCH);
    assert_eq!(remaining_lifetime(&r, now), Duration::ZERO);
}

proptest::proptest! {
    #[test]
    fn rfc3339_never_panics(s in "[0-9TZ:.+-]{0,40}") {
        let _ = parse_rfc3339(&s);
    }
}
