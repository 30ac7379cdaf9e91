//! `WWW-Authenticate` parsing: RFC 7235 edge cases, hostile values, round trips.

use oci_auth::challenge::{self, Challenge};

fn check(input: &str) -> String {
    match challenge::parse(input) {
        Ok(cs) => {
            let parts: Vec<String> = cs
                .iter()
                .map(|c| {
                    let params: Vec<String> = c
                        .params()
                        .iter()
                        .map(|(k, v)| format!("{k}={v:?}"))
                        .collect();
                    match c.token68() {
                        Some(t) => format!("[{} token68={t:?}]", c.scheme()),
                        None => format!("[{} {}]", c.scheme(), params.join(" ")),
                    }
                })
                .collect();
            format!("{input:?}\n  -> {}", parts.join(" "))
        }
        Err(e) => format!("{input:?}\n  -> error: {e}"),
    }
}

#[test]
fn parse_table() {
    let cases = [
        r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull""#,
        r#"Basic realm="Registry Realm""#,
        r#"bearer REALM="https://quay.io/v2/auth", Service="quay.io""#,
        r#"Basic realm="a, b", Bearer realm="https://x/token", scope="repository:a:pull,push""#,
        r#"Bearer realm="with \"quotes\" and \\ backslash""#,
        r#"Bearer error="invalid_token",realm="https://x/t",error_description="expired""#,
        r#"Bearer realm = "spaced" , service=unquoted"#,
        r#"Negotiate abc123==, Basic realm="r""#,
        "Basic",
        r#"Bearer realm="dup", realm="second""#,
        r#"Bearer realm="unterminated"#,
        r#"realm="no scheme""#,
        r#"Bearer realm="ctl	tab ok", x="a""#,
        r#"Bearer realm="x", x="a"#,
        "",
        ",,, ,",
        r#"Bearer realm="x" garbage"#,
        "Bearer realm=\"nul\u{1}\"",
        // Regression (fuzz): an escaped control character must be refused like a bare one.
        "Bearer realm=\"esc\\\u{1}\"",
    ];
    let out: Vec<String> = cases.iter().map(|c| check(c)).collect();
    insta::assert_snapshot!(out.join("\n"));
}

#[test]
fn accessors_are_case_insensitive() {
    let cs = challenge::parse(
        r#"BEARER Realm="r", SERVICE="s", Scope="repository:a:pull", Error="invalid_token""#,
    )
    .expect("valid");
    let c = &cs[0];
    assert!(c.is_bearer() && !c.is_basic());
    assert_eq!(
        (c.realm(), c.service(), c.scope(), c.error()),
        (
            Some("r"),
            Some("s"),
            Some("repository:a:pull"),
            Some("invalid_token")
        )
    );
    assert_eq!(c.param("ReAlM"), Some("r"));
}

#[test]
fn parse_all_keeps_good_values_and_reports_when_none() {
    let good = vec!["garbage \"".to_owned(), r#"Basic realm="r""#.to_owned()];
    assert_eq!(
        challenge::parse_all(&good).expect("one good value").len(),
        1
    );
    let bad = vec!["\"".to_owned()];
    assert!(challenge::parse_all(&bad).is_err());
    let none: Vec<String> = vec![];
    assert!(challenge::parse_all(&none).is_err());
}

#[test]
fn oversized_value_is_refused() {
    let v = format!(
        r#"Bearer realm="{}""#,
        "a".repeat(oci_auth::MAX_CHALLENGE_LENGTH)
    );
    let e = challenge::parse(&v).expect_err("over MAX_CHALLENGE_LENGTH");
    assert_eq!(e.reason, "value too long");
}

fn arb_challenge() -> impl proptest::strategy::Strategy<Value = Challenge> {
    use proptest::prelude::*;
    (
        "[A-Za-z][A-Za-z0-9-]{0,10}",
        proptest::collection::vec(("[a-z][a-z_]{0,8}", "[ -~\t\u{e9}\u{2603}]{0,20}"), 1..4),
    )
        .prop_map(|(scheme, params)| {
            let mut seen = std::collections::HashSet::new();
            let params: Vec<(&str, &str)> = params
                .iter()
                .filter(|(k, _)| seen.insert(k.clone()))
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            Challenge::new(&scheme, &params)
        })
}

proptest::proptest! {
    #[test]
    fn never_panics(input in "\\PC{0,200}") {
        let _ = challenge::parse(&input);
    }

    #[test]
    fn never_panics_on_header_like_input(input in "[A-Za-z =,\"\\\\a-z:/.]{0,120}") {
        let _ = challenge::parse(&input);
    }

    #[test]
    fn display_round_trips(cs in proptest::collection::vec(arb_challenge(), 1..4)) {
        let text = cs.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        let back = challenge::parse(&text).expect("display output parses");
        proptest::prop_assert_eq!(back, cs);
    }
}
