//! Token responses: `token`/`access_token`, `expires_in`, `issued_at`; `Retry-After` values.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use oci_auth::token_response::{self, parse_retry_after, remaining_lifetime};

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
        "a".repeat(oci_auth::MAX_TOKEN_LENGTH + 1)
    );
    assert!(token_response::parse(body.as_bytes()).is_err());
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

#[test]
fn retry_after_values() {
    // 1994-11-06T08:49:37Z, the RFC 9110 example date.
    let date = UNIX_EPOCH + Duration::from_secs(784_111_777);
    let check = |value: &str, now: SystemTime| parse_retry_after(value, now).map(|d| d.as_secs());
    let before = date - Duration::from_secs(90);
    let cases = [
        ("120", Some(120)),
        ("0", Some(0)),
        (" 7\t", Some(7)),
        ("007", Some(7)),
        ("99999999999999999999999999", Some(u64::MAX)),
        ("Sun, 06 Nov 1994 08:49:37 GMT", Some(90)),
        ("Sunday, 06-Nov-94 08:49:37 GMT", Some(90)),
        ("Sun Nov  6 08:49:37 1994", Some(90)),
        ("", None),
        ("-5", None),
        ("+5", None),
        ("1.5", None),
        ("5 s", None),
        ("soon", None),
        ("Sun, 06 Nov 1994 08:49:37 PST", None),
    ];
    for (value, want) in cases {
        assert_eq!(check(value, before), want, "{value:?}");
    }
    // A date already past is no wait at all.
    assert_eq!(
        check(
            "Sun, 06 Nov 1994 08:49:37 GMT",
            date + Duration::from_secs(5)
        ),
        Some(0)
    );
}

proptest::proptest! {
    #[test]
    fn retry_after_never_panics(s in "[0-9A-Za-z ,:-]{0,40}") {
        let _ = parse_retry_after(&s, SystemTime::now());
    }

}
