//! The authenticator against in-process token servers, including hostile ones.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use oci_auth::{
    Authenticator, AuthenticatorOptions, Credential, ErrorKind, Keychain, MAX_TOKEN_RESPONSE_BYTES,
    Scope, Secret,
};

use oci_testkit::server::{Reply, Server};

const REGISTRY: &str = "127.0.0.1:5999";

fn auth(keychain: Keychain) -> Authenticator {
    Authenticator::new(crate::http(), keychain)
}

fn bearer(server: &Server, extra: &str) -> Vec<String> {
    vec![format!(
        r#"Bearer realm="{}",service="test-svc"{extra}"#,
        server.url("/token")
    )]
}

fn header_text(a: &oci_auth::Authorization) -> String {
    a.header_value().to_str().expect("ascii header").to_owned()
}

/// Runs the documented caller rule against a registry that rejects every token with
/// `invalid_token`: challenge, retry, invalidate + challenge, retry, fail. Returns the final
/// error and how many headers were tried.
async fn caller_rule(
    a: &Authenticator,
    server: &Server,
    scopes: &[Scope],
) -> (oci_auth::Error, usize) {
    let mut tried = 0;
    let _first = a
        .challenge(REGISTRY, scopes, &bearer(server, ""), true)
        .await
        .expect("first token");
    tried += 1;
    // The retry is answered 401 error="invalid_token":
    a.invalidate(REGISTRY, scopes);
    let _second = a
        .challenge(
            REGISTRY,
            scopes,
            &bearer(server, r#",error="invalid_token""#),
            true,
        )
        .await
        .expect("second token");
    tried += 1;
    // The second retry is 401 again: stop.
    (a.rejection(REGISTRY), tried)
}

#[tokio::test]
async fn anonymous_token_get_sends_service_and_each_scope() {
    let server = Server::start(|_| Reply::json(r#"{"token":"anon-token","expires_in":300}"#));
    let a = auth(Keychain::empty());
    let scopes = [Scope::pull("a/b"), Scope::push_pull("c")];
    let got = a
        .challenge(REGISTRY, &scopes, &bearer(&server, ""), true)
        .await
        .expect("token");
    assert_eq!(header_text(&got), "Bearer anon-token");
    assert_eq!(got.scheme(), "Bearer");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(reqs[0].path(), "/token");
    assert_eq!(reqs[0].header("authorization"), None);
    assert_eq!(
        reqs[0].query(),
        [
            ("service".to_owned(), "test-svc".to_owned()),
            ("scope".to_owned(), "repository:a/b:pull".to_owned()),
            ("scope".to_owned(), "repository:c:pull,push".to_owned()),
        ]
    );
    // Cached for the same scope set, in any order; not for another.
    let cached = a
        .cached(REGISTRY, &[Scope::push_pull("c"), Scope::pull("a/b")])
        .expect("cached");
    assert_eq!(header_text(&cached), "Bearer anon-token");
    assert!(a.cached(REGISTRY, &[Scope::pull("a/b")]).is_none());
    assert!(a.cached("other:1", &scopes).is_none());
}

#[tokio::test]
async fn challenge_scope_is_merged_into_the_request() {
    let server = Server::start(|_| Reply::json(r#"{"token":"t"}"#));
    let a = auth(Keychain::empty());
    a.challenge(
        REGISTRY,
        &[Scope::pull("a")],
        &bearer(&server, r#",scope="repository:a:push repository:src:pull""#),
        true,
    )
    .await
    .expect("token");
    let scopes: Vec<String> = server.requests()[0]
        .query()
        .into_iter()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(scopes, ["repository:a:pull,push", "repository:src:pull"]);
}

#[tokio::test]
async fn basic_credentials_go_to_the_realm() {
    let server = Server::start(|_| Reply::json(r#"{"access_token":"oauth-alias"}"#));
    let a = auth(Keychain::empty().with_credential(REGISTRY, Credential::basic("bob", "pw:x")));
    let got = a
        .challenge(REGISTRY, &[Scope::pull("a")], &bearer(&server, ""), true)
        .await
        .expect("token");
    assert_eq!(header_text(&got), "Bearer oauth-alias");
    let want = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("bob:pw:x")
    );
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some(want.as_str())
    );
}

#[tokio::test]
async fn pre_shared_token_is_basic_with_empty_user() {
    let server = Server::start(|_| Reply::json(r#"{"token":"t"}"#));
    let a = auth(Keychain::empty().with_credential(REGISTRY, Credential::from_pull_secret("psk")));
    a.challenge(REGISTRY, &[Scope::pull("a")], &bearer(&server, ""), true)
        .await
        .expect("token");
    let want = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(":psk")
    );
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some(want.as_str())
    );
}

#[tokio::test]
async fn identity_token_uses_oauth2_refresh_grant() {
    let server = Server::start(|r| {
        if r.method == "POST" {
            Reply::json(r#"{"access_token":"from-refresh","scope":"x"}"#)
        } else {
            Reply::new(400)
        }
    });
    let a = auth(Keychain::empty().with_credential(
        REGISTRY,
        Credential::IdentityToken(Secret::new("refresh-me")),
    ));
    let got = a
        .challenge(
            REGISTRY,
            &[Scope::pull("a"), Scope::pull("b")],
            &bearer(&server, ""),
            true,
        )
        .await
        .expect("token");
    assert_eq!(header_text(&got), "Bearer from-refresh");
    let r = &server.requests()[0];
    assert_eq!(
        r.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        r.form(),
        [
            ("grant_type".to_owned(), "refresh_token".to_owned()),
            ("refresh_token".to_owned(), "refresh-me".to_owned()),
            ("service".to_owned(), "test-svc".to_owned()),
            (
                "client_id".to_owned(),
                oci_auth::DEFAULT_CLIENT_ID.to_owned()
            ),
            (
                "scope".to_owned(),
                "repository:a:pull repository:b:pull".to_owned()
            ),
        ]
    );
}

#[tokio::test]
async fn get_refused_falls_back_to_password_grant() {
    let server = Server::start(|r| {
        if r.method == "GET" {
            Reply::new(405)
        } else {
            Reply::json(r#"{"access_token":"pw-grant"}"#)
        }
    });
    let a = auth(Keychain::empty().with_credential(REGISTRY, Credential::basic("bob", "pw")));
    let got = a
        .challenge(REGISTRY, &[Scope::pull("a")], &bearer(&server, ""), true)
        .await
        .expect("token");
    assert_eq!(header_text(&got), "Bearer pw-grant");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    let form = reqs[1].form();
    assert!(form.contains(&("grant_type".to_owned(), "password".to_owned())));
    assert!(form.contains(&("username".to_owned(), "bob".to_owned())));
    assert!(form.contains(&("password".to_owned(), "pw".to_owned())));
}

#[tokio::test]
async fn registry_token_is_sent_without_exchange() {
    let server = Server::start(|_| Reply::new(500));
    let a = auth(
        Keychain::empty()
            .with_credential(REGISTRY, Credential::RegistryToken(Secret::new("direct"))),
    );
    let got = a
        .challenge(REGISTRY, &[Scope::pull("a")], &bearer(&server, ""), true)
        .await
        .expect("token");
    assert_eq!(header_text(&got), "Bearer direct");
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn basic_challenge_uses_credentials_directly_for_every_scope() {
    let a = auth(Keychain::empty().with_credential(REGISTRY, Credential::basic("u", "p")));
    let got = a
        .challenge(
            REGISTRY,
            &[Scope::pull("a")],
            &[r#"Basic realm="Registry Realm""#.to_owned()],
            false,
        )
        .await
        .expect("basic");
    assert_eq!(got.scheme(), "Basic");
    assert_eq!(
        header_text(&got),
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("u:p")
        )
    );
    assert!(a.cached(REGISTRY, &[Scope::push_pull("other")]).is_some());
    a.invalidate(REGISTRY, &[]);
    assert!(a.cached(REGISTRY, &[Scope::pull("a")]).is_none());
}

#[tokio::test]
async fn basic_challenge_without_credentials_is_typed() {
    let a = auth(Keychain::empty());
    let e = a
        .challenge(REGISTRY, &[], &[r#"Basic realm="r""#.to_owned()], false)
        .await
        .expect_err("no credentials");
    assert!(e.is_unauthorized(), "{e}");
    assert!(
        matches!(e.kind(), ErrorKind::CredentialsRequired { .. }),
        "{e:?}"
    );
    let e = auth(
        Keychain::empty().with_credential(REGISTRY, Credential::IdentityToken(Secret::new("x"))),
    )
    .challenge(REGISTRY, &[], &[r#"Basic realm="r""#.to_owned()], false)
    .await
    .expect_err("identity token cannot do Basic");
    assert!(
        matches!(e.kind(), ErrorKind::CredentialMismatch { .. }),
        "{e:?}"
    );
}

#[tokio::test]
async fn unusable_challenges() {
    let a = auth(Keychain::empty());
    let cases: Vec<Vec<String>> = vec![
        vec![],
        vec!["Negotiate abc==".to_owned()],
        vec![r#"Bearer service="x""#.to_owned()],
        vec![r#"Bearer realm="not a url""#.to_owned()],
        vec![r#"Bearer realm="ftp://x/token""#.to_owned()],
        vec![r#"Bearer realm="https://user:pw@x/token""#.to_owned()],
        vec!["Bearer realm=\"unterminated".to_owned()],
    ];
    let mut out = Vec::new();
    for c in cases {
        let e = a
            .challenge(REGISTRY, &[], &c, true)
            .await
            .expect_err("unusable");
        out.push(format!("{c:?} -> {e}"));
    }
    insta::assert_snapshot!(out.join("\n"));
}

#[tokio::test]
async fn plain_http_realm_needs_explicit_opt_in() {
    let server = Server::start(|_| Reply::json(r#"{"token":"t"}"#));
    let a = auth(Keychain::empty().with_credential(REGISTRY, Credential::basic("u", "p")));
    let e = a
        .challenge(REGISTRY, &[], &bearer(&server, ""), false)
        .await
        .expect_err("http realm");
    assert!(
        matches!(e.kind(), ErrorKind::InsecureTransport { .. }),
        "{e:?}"
    );
    assert!(server.requests().is_empty(), "nothing may be sent");
}

#[tokio::test]
async fn oversized_token_response_with_length_is_refused() {
    let server = Server::start(|_| Reply::json(&" ".repeat(MAX_TOKEN_RESPONSE_BYTES + 1)));
    let e = auth(Keychain::empty())
        .challenge(REGISTRY, &[], &bearer(&server, ""), true)
        .await
        .expect_err("too large");
    assert!(
        matches!(e.kind(), ErrorKind::TokenResponseTooLarge { .. }),
        "{e:?}"
    );
}

#[tokio::test]
async fn oversized_token_response_without_length_is_cut_while_reading() {
    let body = format!(
        r#"{{"token":"{}"}}"#,
        "a".repeat(4 * MAX_TOKEN_RESPONSE_BYTES)
    );
    let server = Server::start(move |_| Reply::json(&body).close_delimited());
    let e = auth(Keychain::empty())
        .challenge(REGISTRY, &[], &bearer(&server, ""), true)
        .await
        .expect_err("too large");
    assert!(
        matches!(e.kind(), ErrorKind::TokenResponseTooLarge { .. }),
        "{e:?}"
    );
}

#[tokio::test]
async fn missing_token_is_an_invalid_response() {
    let server = Server::start(|_| Reply::json(r#"{"expires_in":60}"#));
    let e = auth(Keychain::empty())
        .challenge(REGISTRY, &[], &bearer(&server, ""), true)
        .await
        .expect_err("no token");
    assert!(
        matches!(e.kind(), ErrorKind::InvalidTokenResponse { .. }),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .contains("neither \"token\" nor \"access_token\""),
        "{e}"
    );
}

#[tokio::test]
async fn realm_401_names_the_credential_source() {
    let server = Server::start(|_| Reply::new(401));
    let a = auth(Keychain::empty().with_credential(REGISTRY, Credential::basic("u", "wrong")));
    let e = a
        .challenge(REGISTRY, &[], &bearer(&server, ""), true)
        .await
        .expect_err("rejected");
    assert!(e.is_unauthorized() && !e.is_retryable());
    insta::assert_snapshot!(e.to_string().replace(&server.url(""), "http://REALM"));
}

#[tokio::test]
async fn realm_5xx_is_retryable() {
    let server = Server::start(|_| Reply::new(503));
    let e = auth(Keychain::empty())
        .challenge(REGISTRY, &[], &bearer(&server, ""), true)
        .await
        .expect_err("503");
    assert!(
        matches!(e.kind(), ErrorKind::TokenStatus { status: 503, .. }),
        "{e:?}"
    );
    assert!(e.is_retryable());
}

#[tokio::test]
async fn slow_realm_times_out() {
    let server =
        Server::start(|_| Reply::json(r#"{"token":"late"}"#).delay(Duration::from_secs(30)));
    let mut options = AuthenticatorOptions::default();
    options.token_timeout = Duration::from_millis(300);
    let a = Authenticator::with_options(crate::http(), Keychain::empty(), options);
    let e = a
        .challenge(REGISTRY, &[], &bearer(&server, ""), true)
        .await
        .expect_err("timeout");
    assert!(matches!(e.kind(), ErrorKind::TokenTimeout { .. }), "{e:?}");
    assert!(e.is_retryable());
}

#[tokio::test]
async fn unreachable_realm_is_a_retryable_request_error() {
    let server = Server::start(|_| Reply::new(200));
    let url = server.url("/token");
    drop(server);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let e = auth(Keychain::empty())
        .challenge(REGISTRY, &[], &[format!(r#"Bearer realm="{url}""#)], true)
        .await
        .expect_err("connection refused");
    assert!(matches!(e.kind(), ErrorKind::TokenRequest { .. }), "{e:?}");
    assert!(e.is_retryable());
}

#[tokio::test]
async fn expired_token_is_refreshed_once_then_the_caller_fails() {
    let n = Arc::new(AtomicUsize::new(0));
    let counter = n.clone();
    let server = Server::start(move |_| {
        let i = counter.fetch_add(1, Ordering::SeqCst);
        Reply::json(&format!(r#"{{"token":"t{i}"}}"#))
    });
    let a = auth(Keychain::empty().with_credential(REGISTRY, Credential::basic("u", "p")));
    let scopes = [Scope::pull("a")];
    let (err, tried) = caller_rule(&a, &server, &scopes).await;
    assert_eq!(tried, 2);
    assert_eq!(
        n.load(Ordering::SeqCst),
        2,
        "one fetch, one refresh, no loop"
    );
    assert!(err.is_unauthorized());
    assert_eq!(
        err.to_string(),
        "unauthorized: registry 127.0.0.1:5999 rejected the credentials from the caller"
    );
    // After invalidate + challenge the cache holds the new token.
    assert_eq!(
        header_text(&a.cached(REGISTRY, &scopes).expect("cached")),
        "Bearer t1"
    );
}

#[tokio::test]
async fn rejection_without_credentials_says_none_were_found() {
    let e = auth(Keychain::empty()).rejection(REGISTRY);
    assert!(
        matches!(e.kind(), ErrorKind::CredentialsRequired { .. }),
        "{e:?}"
    );
}

#[tokio::test]
async fn concurrent_challenges_share_one_fetch() {
    let n = Arc::new(AtomicUsize::new(0));
    let counter = n.clone();
    let server = Server::start(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        Reply::json(r#"{"token":"shared"}"#).delay(Duration::from_millis(200))
    });
    let a = auth(Keychain::empty());
    let header = bearer(&server, "");
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let a = a.clone();
        let header = header.clone();
        tasks.push(tokio::spawn(async move {
            a.challenge(REGISTRY, &[Scope::pull("x")], &header, true)
                .await
                .map(|h| header_text(&h))
        }));
    }
    for t in tasks {
        assert_eq!(t.await.expect("task").expect("token"), "Bearer shared");
    }
    assert_eq!(n.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn authorize_fetches_new_scopes_without_a_401() {
    let server = Server::start(|r| {
        let scope = r
            .query()
            .into_iter()
            .find(|(k, _)| k == "scope")
            .map(|(_, v)| v)
            .unwrap_or_default();
        Reply::json(&format!(
            r#"{{"token":"for-{}"}}"#,
            scope.replace([':', '/', ','], "_")
        ))
    });
    let a = auth(Keychain::empty());
    assert!(
        a.authorize(REGISTRY, &[Scope::pull("a")])
            .await
            .expect("no challenge yet")
            .is_none()
    );
    a.challenge(REGISTRY, &[Scope::pull("a")], &bearer(&server, ""), true)
        .await
        .expect("token");
    let b = a
        .authorize(REGISTRY, &[Scope::pull("b")])
        .await
        .expect("fetch")
        .expect("header");
    assert_eq!(header_text(&b), "Bearer for-repository_b_pull");
    let again = a
        .authorize(REGISTRY, &[Scope::pull("b")])
        .await
        .expect("cached")
        .expect("header");
    assert_eq!(header_text(&again), "Bearer for-repository_b_pull");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn authorization_debug_is_redacted() {
    let a = auth(Keychain::empty().with_credential(REGISTRY, Credential::basic("u", "hunter2")));
    let h = a
        .challenge(REGISTRY, &[], &[r#"Basic realm="r""#.to_owned()], false)
        .await
        .expect("basic");
    assert_eq!(format!("{h:?}"), "Authorization(Basic <redacted>)");
    assert!(h.header_value().is_sensitive());
}

#[test]
fn futures_are_send_and_types_are_shareable() {
    fn send<T: Send>(_: &T) {}
    fn shared<T: Send + Sync + Clone + 'static>() {}
    shared::<Authenticator>();
    shared::<Keychain>();
    let a = auth(Keychain::empty());
    let k = Keychain::empty();
    send(&a.challenge(REGISTRY, &[], &[], false));
    send(&a.authorize(REGISTRY, &[]));
    send(&k.credential_for(REGISTRY, None));
}

#[tokio::test]
async fn absurd_expires_in_is_capped_not_a_panic() {
    let server =
        Server::start(|_| Reply::json(r#"{"token":"t","expires_in":18446744073709551615}"#));
    let a = auth(Keychain::empty());
    a.challenge(REGISTRY, &[], &bearer(&server, ""), true)
        .await
        .expect("token");
    assert!(a.cached(REGISTRY, &[]).is_some());
}
