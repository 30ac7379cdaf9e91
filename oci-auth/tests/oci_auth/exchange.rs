//! The token exchange against hostile token servers: how failures are classified (retryable,
//! unauthorized, `Retry-After`) and how realm redirects are followed by hand.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use oci_auth::{
    Authenticator, Credential, Error, ErrorKind, Keychain, MAX_TOKEN_REDIRECTS,
    MAX_TOKEN_RESPONSE_BYTES, RedirectRefusal, Scope, Secret,
};

use oci_testkit::server::{Reply, Request, Server};

const REGISTRY: &str = "127.0.0.1:5997";
const USER: &str = "bob";
const PASSWORD: &str = "pw-never-elsewhere";
const REFRESH: &str = "refresh-never-elsewhere";

/// Asks for a token from the realm `realm` with `credential`, through `client`. Returns the
/// `Authorization` header text.
async fn fetch(
    client: reqwest::Client,
    credential: Option<Credential>,
    realm: &str,
    plain_http: bool,
) -> Result<String, Error> {
    let mut keychain = Keychain::empty();
    if let Some(c) = credential {
        keychain = keychain.with_credential(REGISTRY, c);
    }
    let challenge = vec![format!(r#"Bearer realm="{realm}",service="svc""#)];
    let header = Authenticator::new(client, keychain)
        .challenge(REGISTRY, &[Scope::pull("app")], &challenge, plain_http)
        .await?;
    Ok(header
        .header_value()
        .to_str()
        .expect("ascii header")
        .to_owned())
}

/// The token server answers every request with `reply`; the exchange must fail.
async fn failure(reply: Reply) -> Error {
    let server = Server::start(move |_| reply.clone());
    fetch(crate::http(), None, &server.url("/token"), true)
        .await
        .expect_err("the token server fails")
}

fn basic_value() -> String {
    let pair = format!("{USER}:{PASSWORD}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

fn basic() -> Option<Credential> {
    Some(Credential::basic(USER, PASSWORD))
}

fn identity() -> Option<Credential> {
    Some(Credential::IdentityToken(Secret::new(REFRESH)))
}

fn token(name: &str) -> Reply {
    Reply::json(&format!(r#"{{"token":"{name}"}}"#))
}

/// Whether a request carries any credential: Basic, or a form with a password or refresh token.
fn carries_credentials(r: &Request) -> bool {
    let body = String::from_utf8_lossy(&r.body);
    r.header("authorization").is_some() || body.contains(PASSWORD) || body.contains(REFRESH)
}

/// A redirect refusal, with the checks every one of them must pass.
fn refusal(e: &Error) -> (RedirectRefusal, String) {
    assert!(!e.is_retryable(), "{e}");
    assert!(!e.is_unauthorized(), "{e}");
    assert_eq!(e.retry_after(), None);
    let text = format!("{e} {e:?}");
    for secret in [PASSWORD, REFRESH] {
        assert!(!text.contains(secret), "{text}");
    }
    match e.kind() {
        ErrorKind::TokenRedirectRefused {
            location,
            reason,
            realm,
            ..
        } => {
            assert!(e.to_string().contains(realm.as_str()), "{e}");
            assert!(e.to_string().contains(location.as_str()), "{e}");
            (*reason, location.clone())
        }
        other => panic!("expected a redirect refusal, got {other:?}"),
    }
}

fn origin(server: &Server) -> String {
    server.url("")
}

#[tokio::test]
async fn retry_after_seconds_and_dates_reach_the_error() {
    let in_two_minutes = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
    let cases = [
        (429, Some("7".to_owned()), Some(7)),
        (503, Some(" 0 ".to_owned()), Some(0)),
        (503, Some(in_two_minutes.clone()), Some(120)),
        (
            503,
            Some("Sun, 06 Nov 1994 08:49:37 GMT".to_owned()),
            Some(0),
        ),
        (429, Some("soon".to_owned()), None),
        (429, Some("-5".to_owned()), None),
        (503, None, None),
    ];
    for (status, header, want) in cases {
        let mut reply = Reply::new(status);
        if let Some(h) = &header {
            reply = reply.header("retry-after", h);
        }
        let e = failure(reply).await;
        assert!(
            matches!(e.kind(), ErrorKind::TokenStatus { status: s, .. } if *s == status),
            "{e:?}"
        );
        assert!(e.is_retryable(), "{e}");
        assert!(!e.is_unauthorized(), "{e}");
        let got = e.retry_after().map(|d| d.as_secs());
        match (want, got) {
            // A date is whole seconds, counted from a moment after it was written.
            (Some(120), Some(g)) => assert!((118..=120).contains(&g), "{header:?}: {got:?}"),
            _ => assert_eq!(got, want, "{header:?}"),
        }
        if let Some(secs) = got {
            assert!(
                e.to_string().contains(&format!("Retry-After: {secs}s")),
                "{e}"
            );
        }
    }
}

#[tokio::test]
async fn token_status_classification() {
    // (status, retryable, unauthorized)
    let cases = [
        (408, true, false),
        (429, true, false),
        (500, true, false),
        (502, true, false),
        (503, true, false),
        (504, true, false),
        (400, false, false),
        (404, false, false),
        (418, false, false),
        (401, false, true),
        (403, false, true),
    ];
    for (status, retryable, unauthorized) in cases {
        let e = failure(Reply::new(status).header("retry-after", "3")).await;
        assert_eq!(e.is_retryable(), retryable, "{status}: {e}");
        assert_eq!(e.is_unauthorized(), unauthorized, "{status}: {e}");
        if unauthorized {
            assert_eq!(e.retry_after(), None, "{status}");
        }
    }
}

#[tokio::test]
async fn a_burst_of_503s_is_retryable_each_time_and_the_caller_gets_through() {
    let server = Server::start(|r| {
        if r.target.contains("attempt=3") {
            token("after-burst")
        } else {
            Reply::new(503).header("retry-after", "1")
        }
    });
    for attempt in 1..=3 {
        let realm = server.url(&format!("/token?attempt={attempt}"));
        match fetch(crate::http(), None, &realm, true).await {
            Ok(h) => {
                assert_eq!(attempt, 3);
                assert_eq!(h, "Bearer after-burst");
            }
            Err(e) => {
                assert!(attempt < 3, "{e}");
                assert!(e.is_retryable(), "{e}");
                assert_eq!(e.retry_after(), Some(Duration::from_secs(1)));
            }
        }
    }
    assert_eq!(server.requests().len(), 3, "oci-auth itself never retries");
}

#[tokio::test]
async fn a_body_cut_short_is_retryable() {
    let e = failure(Reply::json(r#"{"token":"abc"}"#).cut_short(4096)).await;
    assert!(matches!(e.kind(), ErrorKind::TokenRequest { .. }), "{e:?}");
    assert!(e.is_retryable(), "{e}");
    assert!(!e.is_unauthorized(), "{e}");
    assert!(e.to_string().contains("broke off"), "{e}");
}

#[tokio::test]
async fn invalid_or_oversized_token_bodies_are_neither_retryable_nor_unauthorized() {
    let cases = [
        Reply::json(r#"{"token":"t"}{"token":"appended"}"#),
        Reply::json(r#"{"token":"t"} trailing garbage"#),
        Reply::json("<html>proxy error</html>"),
        Reply::json(r#"{"token":"has space"}"#),
        Reply::json(""),
        Reply::json(&" ".repeat(MAX_TOKEN_RESPONSE_BYTES + 1)),
        Reply::json(&" ".repeat(MAX_TOKEN_RESPONSE_BYTES + 1)).close_delimited(),
    ];
    for reply in cases {
        let e = failure(reply).await;
        assert!(
            matches!(
                e.kind(),
                ErrorKind::InvalidTokenResponse { .. } | ErrorKind::TokenResponseTooLarge { .. }
            ),
            "{e:?}"
        );
        assert!(!e.is_retryable(), "{e}");
        assert!(!e.is_unauthorized(), "{e}");
        assert_eq!(e.retry_after(), None);
    }
}

#[tokio::test]
async fn same_origin_redirect_keeps_basic() {
    let server = Server::start(|r| match r.path() {
        "/token" => Reply::redirect(307, "moved/token?from=307"),
        "/moved/token" => token("moved"),
        _ => Reply::new(404),
    });
    let got = fetch(crate::http(), basic(), &server.url("/token"), true)
        .await
        .expect("token after a relative same-origin redirect");
    assert_eq!(got, "Bearer moved");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[1].target, "/moved/token?from=307");
    for r in &reqs {
        assert_eq!(r.header("authorization"), Some(basic_value().as_str()));
    }
}

/// A realm whose `/token` redirects to another origin: `/hop1` there redirects to `/hop2`,
/// which sends the client back to the realm's `/final`, which serves a token.
async fn realm_via_another_origin() -> (Server, Server) {
    let back = Arc::new(OnceLock::<String>::new());
    let back_in = back.clone();
    let other = Server::start(move |r| match r.path() {
        "/hop1" => Reply::redirect(302, "/hop2"),
        "/hop2" => Reply::redirect(303, &format!("{}/final", back_in.get().expect("set"))),
        _ => Reply::new(404),
    });
    let hop1 = other.url("/hop1");
    let realm = Server::start(move |r| match r.path() {
        "/token" => Reply::redirect(301, &hop1),
        "/final" => token("back-home"),
        _ => Reply::new(404),
    });
    back.set(origin(&realm)).expect("set once");
    (realm, other)
}

#[tokio::test]
async fn cross_origin_redirect_drops_basic_and_still_gets_the_token() {
    for credential in [None, basic()] {
        let (realm, other) = realm_via_another_origin().await;
        let got = fetch(
            crate::http(),
            credential.clone(),
            &realm.url("/token"),
            true,
        )
        .await
        .expect("token through another origin");
        assert_eq!(got, "Bearer back-home");
        // Basic on both requests to the realm's origin (the first and the last hop)...
        let home = realm.requests();
        assert_eq!(home.len(), 2);
        let want = credential.as_ref().map(|_| basic_value());
        for r in &home {
            assert_eq!(r.header("authorization"), want.as_deref(), "{r:?}");
        }
        // ...and on neither hop through the other origin.
        let foreign = other.requests();
        assert_eq!(foreign.len(), 2);
        assert!(
            foreign.iter().all(|r| !carries_credentials(r)),
            "{foreign:?}"
        );
    }
}

/// The same single cross-origin hop through a client that follows redirects itself: reqwest
/// drops `Authorization` on the hop, and the token still arrives.
#[tokio::test]
async fn cross_origin_redirect_through_a_following_client_drops_basic() {
    let other = Server::start(|_| token("elsewhere"));
    let target = other.url("/token");
    let realm = Server::start(move |_| Reply::redirect(307, &target));
    let got = fetch(crate::client(true), basic(), &realm.url("/token"), true)
        .await
        .expect("token from the other origin");
    assert_eq!(got, "Bearer elsewhere");
    assert_eq!(
        realm.requests()[0].header("authorization"),
        Some(basic_value().as_str())
    );
    let foreign = other.requests();
    assert_eq!(foreign.len(), 1);
    assert!(!carries_credentials(&foreign[0]), "{foreign:?}");
}

/// A realm refusing the GET (405) and redirecting every POST with `status` to `target`
/// (`None`: its own `/moved`, which serves a token).
async fn form_realm(status: u16, target: Option<String>) -> Server {
    Server::start(move |r| match (r.method.as_str(), r.path()) {
        ("GET", "/token") => Reply::new(405),
        ("POST", "/token") => Reply::redirect(status, target.as_deref().unwrap_or("/moved")),
        ("POST", "/moved") => token("form-moved"),
        _ => Reply::new(404),
    })
}

#[tokio::test]
async fn credential_forms_are_never_redirected_to_another_origin() {
    for follow in [false, true] {
        for credential in [basic(), identity()] {
            for status in [307, 308] {
                let other = Server::start(|_| token("stolen"));
                let realm = form_realm(status, Some(other.url("/token"))).await;
                let e = fetch(
                    crate::client(follow),
                    credential.clone(),
                    &realm.url("/token"),
                    true,
                )
                .await
                .expect_err("refused");
                let (reason, location) = refusal(&e);
                assert_eq!(reason, RedirectRefusal::CredentialFormToOtherOrigin, "{e}");
                assert_eq!(location, origin(&other));
                assert!(
                    other.requests().is_empty(),
                    "follow={follow}: nothing goes there"
                );
            }
        }
    }
}

#[tokio::test]
async fn credential_forms_are_never_turned_into_a_get() {
    for follow in [false, true] {
        for credential in [basic(), identity()] {
            for status in [301, 302, 303] {
                let realm = form_realm(status, None).await;
                let e = fetch(
                    crate::client(follow),
                    credential.clone(),
                    &realm.url("/token"),
                    true,
                )
                .await
                .expect_err("refused");
                let (reason, location) = refusal(&e);
                assert_eq!(reason, RedirectRefusal::CredentialFormMethodChange, "{e}");
                assert_eq!(location, origin(&realm));
                // A following client turned the POST into a bare GET; none re-sent the form.
                let forms = realm
                    .requests()
                    .into_iter()
                    .filter(|r| String::from_utf8_lossy(&r.body).contains("grant_type"))
                    .count();
                assert_eq!(forms, 1, "follow={follow} status={status}");
            }
        }
    }
}

#[tokio::test]
async fn credential_forms_follow_307_on_the_realm_origin() {
    for follow in [false, true] {
        let realm = form_realm(307, None).await;
        let got = fetch(
            crate::client(follow),
            identity(),
            &realm.url("/token"),
            true,
        )
        .await
        .expect("token after a same-origin 307");
        assert_eq!(got, "Bearer form-moved");
        let reqs = realm.requests();
        assert_eq!(reqs.len(), 2, "follow={follow}");
        assert_eq!(reqs[0].body, reqs[1].body, "the form is re-sent unchanged");
    }
}

#[tokio::test]
async fn a_redirect_loop_hits_the_cap() {
    let server = Server::start(|_| Reply::redirect(302, "/token"));
    let e = fetch(crate::http(), basic(), &server.url("/token"), true)
        .await
        .expect_err("loop");
    assert!(
        matches!(e.kind(), ErrorKind::TokenRedirectLimit { limit, .. } if *limit == MAX_TOKEN_REDIRECTS),
        "{e:?}"
    );
    assert!(!e.is_retryable() && !e.is_unauthorized(), "{e}");
    assert!(
        e.to_string()
            .contains(&format!("more than {MAX_TOKEN_REDIRECTS} times")),
        "{e}"
    );
    assert_eq!(
        server.requests().len(),
        MAX_TOKEN_REDIRECTS as usize + 1,
        "the first request and one per followed hop"
    );
    // A client following redirects itself stops by its own policy, also typed and final.
    let e = fetch(crate::client(true), None, &server.url("/token"), true)
        .await
        .expect_err("loop");
    assert_eq!(refusal(&e).0, RedirectRefusal::ClientPolicy, "{e}");
}

#[tokio::test]
async fn https_realm_is_not_followed_to_plain_http() {
    for follow in [false, true] {
        for credential in [None, basic()] {
            let plain = Server::start(|_| token("over-plain-http"));
            let target = plain.url("/token");
            let realm = Server::start_tls(move |r| match r.path() {
                "/token" => Reply::redirect(302, &target),
                _ => token("over-tls"),
            });
            assert!(realm.url("").starts_with("https://"));
            // TLS itself works: the realm's own token.
            let direct = fetch(
                crate::client(follow),
                credential.clone(),
                &realm.url("/direct"),
                false,
            )
            .await
            .expect("https realm");
            assert_eq!(direct, "Bearer over-tls");
            let e = fetch(
                crate::client(follow),
                credential.clone(),
                &realm.url("/token"),
                false,
            )
            .await
            .expect_err("downgrade refused");
            let (reason, location) = refusal(&e);
            assert_eq!(reason, RedirectRefusal::Downgrade, "{e}");
            assert_eq!(location, origin(&plain));
            let sent = plain.requests();
            if follow {
                // reqwest followed before the answer could be judged, without credentials.
                assert!(sent.iter().all(|r| !carries_credentials(r)), "{sent:?}");
            } else {
                assert!(sent.is_empty(), "nothing is sent over plain HTTP");
            }
            // Explicitly marked plain-HTTP/insecure: followed.
            let got = fetch(
                crate::client(follow),
                credential.clone(),
                &realm.url("/token"),
                true,
            )
            .await
            .expect("plain-http registry");
            assert_eq!(got, "Bearer over-plain-http");
        }
    }
}

#[tokio::test]
async fn unusable_locations_are_typed() {
    let cases = [
        (302, None),
        (301, Some("http://[::1")),
        (307, Some("ftp://127.0.0.1/token")),
        (308, Some("http://user:pw@127.0.0.1/token")),
        (303, Some("http://")),
    ];
    for (status, location) in cases {
        let mut reply = Reply::new(status);
        if let Some(l) = location {
            reply = reply.header("location", l);
        }
        let e = failure(reply).await;
        assert!(
            matches!(e.kind(), ErrorKind::TokenRedirectInvalid { status: s, .. } if *s == status),
            "{location:?}: {e:?}"
        );
        assert!(!e.is_retryable() && !e.is_unauthorized(), "{e}");
        assert!(!e.to_string().contains("pw"), "{e}");
    }
}
