//! Authorization never crosses origins; credentials over plain HTTP only when marked.

use super::*;

/// A registry that wants `Bearer` tokens from its own `/token` realm and answers every
/// authorised request with `authorised(req)`.
async fn bearer_registry(authorised: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Server {
    let origin = Origin::default();
    let o = origin.clone();
    let server = Server::start(move |req| {
        if req.path() == "/token" {
            return Reply::new(200).body(format!(r#"{{"token":"{SECRET}"}}"#));
        }
        if req.header("authorization") != Some(&format!("Bearer {SECRET}")) {
            return Reply::new(401).header(
                "WWW-Authenticate",
                &format!(r#"Bearer realm="{}/token",service="s""#, o.get()),
            );
        }
        authorised(req)
    });
    origin.set(server.origin());
    server
}

fn with_secret(server_registry: &str) -> Keychain {
    Keychain::empty().with_credential(server_registry, Credential::basic("user", SECRET))
}

/// At least one request to the registry carried credentials (`what` says whose).
fn assert_some_authorization(what: &str, requests: &[Request]) {
    assert!(
        requests.iter().any(|r| r.header("authorization").is_some()),
        "{what}"
    );
}

/// Every request `server` saw carried no `Authorization` header.
fn assert_no_authorization(what: &str, requests: &[Request]) {
    assert!(!requests.is_empty(), "{what}: the server was never reached");
    for r in requests {
        assert_eq!(
            r.header("authorization"),
            None,
            "{what}: {} {} carried credentials",
            r.method,
            r.target
        );
    }
}

#[tokio::test]
async fn blob_redirect_to_a_cdn_carries_no_authorization() {
    let data = b"blob bytes".to_vec();
    let digest = sha256(&data);
    let served = data.clone();
    let cdn = Server::start(move |_| Reply::new(200).body(served.clone()));
    let cdn_url = format!("{}/storage/blob?X-Amz-Signature=abc", cdn.origin());
    let registry = bearer_registry(move |_| Reply::new(307).header("Location", &cdn_url)).await;
    let client = registry
        .builder()
        .keychain(with_secret(&registry.registry()))
        .build()
        .expect("client");
    let repo = repo_of(&client, &registry.registry());
    let mut stream = repo
        .fetch_blob(&digest, Some(data.len() as u64))
        .await
        .expect("fetch via the CDN");
    let mut got = Vec::new();
    while let Some(chunk) = stream.next().await {
        got.extend_from_slice(&chunk.expect("verified chunk"));
    }
    assert_eq!(got, data);
    let _ = repo
        .fetch_blob_range(&digest, 3)
        .await
        .expect("range via the CDN");
    repo.head_blob(&digest).await.expect("HEAD via the CDN");
    assert_some_authorization(
        "the registry itself did get the token",
        &registry.requests(),
    );
    assert_no_authorization("CDN", &cdn.requests());
}

/// Storage that answers `401` with a challenge of its own: the client must not answer it with
/// the registry's credentials (only the registry's own `401`s run the challenge).
#[tokio::test]
async fn a_401_from_a_redirect_target_gets_no_credentials() {
    let cdn =
        Server::start(|_| Reply::new(401).header("WWW-Authenticate", "Basic realm=\"storage\""));
    let cdn_url = format!("{}/storage/manifest", cdn.origin());
    let registry = bearer_registry(move |_| Reply::new(307).header("Location", &cdn_url)).await;
    let client = registry
        .builder()
        .keychain(with_secret(&registry.registry()))
        .build()
        .expect("client");
    let e = repo_of(&client, &registry.registry())
        .fetch_manifest(&tag("v1"))
        .await
        .expect_err("storage refuses");
    assert_eq!(e.status(), Some(401), "{e}");
    assert_eq!(
        cdn.requests().len(),
        1,
        "the storage challenge was not answered"
    );
    assert_no_authorization("storage", &cdn.requests());
}

#[tokio::test]
async fn another_name_for_the_same_server_is_another_origin() {
    // The registry is `127.0.0.1:P`; it redirects to `localhost:P`, the very same socket.
    let origin = Origin::default();
    let o = origin.clone();
    let server = Server::start(move |req| {
        let host = req.header("host").unwrap_or_default();
        if host.starts_with("localhost") {
            return manifest_reply();
        }
        if req.header("authorization").is_none() {
            return Reply::new(401).header("WWW-Authenticate", "Basic realm=\"r\"");
        }
        let port = o.get().rsplit(':').next().unwrap_or_default().to_owned();
        Reply::new(307).header(
            "Location",
            &format!("http://localhost:{port}/v2/app/manifests/v1"),
        )
    });
    origin.set(server.origin());
    let client = server
        .builder()
        .keychain(with_secret(&server.registry()))
        .build()
        .expect("client");
    repo_of(&client, &server.registry())
        .fetch_manifest(&tag("v1"))
        .await
        .expect("fetch through the other name");
    let by_name: Vec<Request> = server
        .requests()
        .into_iter()
        .filter(|r| r.header("host").is_some_and(|h| h.starts_with("localhost")))
        .collect();
    assert_no_authorization("localhost", &by_name);
}

#[tokio::test]
async fn trust_covers_exactly_the_configured_origin() {
    // registry → trusted (gets credentials) → untrusted (must not).
    let untrusted = Server::start(|_| manifest_reply());
    let next = format!("{}/final", untrusted.origin());
    let trusted = Server::start(move |_| Reply::new(307).header("Location", &next));
    let hop = format!("{}/hop", trusted.origin());
    let registry = Server::start(move |req| {
        if req.header("authorization").is_none() {
            Reply::new(401).header("WWW-Authenticate", "Basic realm=\"r\"")
        } else {
            Reply::new(307).header("Location", &hop)
        }
    });
    let client = registry
        .builder()
        .keychain(with_secret(&registry.registry()))
        // A trailing slash is the same origin; the path of an origin is not part of it.
        .trust_redirect_origin(&format!("{}/", trusted.origin()))
        .build()
        .expect("client");
    repo_of(&client, &registry.registry())
        .fetch_manifest(&tag("v1"))
        .await
        .expect("fetch through two hops");
    assert!(
        trusted.requests().iter().all(|r| r
            .header("authorization")
            .is_some_and(|a| a.starts_with("Basic "))),
        "the trusted origin gets the credentials"
    );
    assert_no_authorization("untrusted second hop", &untrusted.requests());
}

/// An HTTPS registry (not marked plain-HTTP) whose `Bearer` realm is plain HTTP: the token
/// request would carry the password in clear, so it is refused before anything is sent.
#[tokio::test]
async fn https_registry_with_a_plain_http_realm_sends_nothing() {
    let realm = Server::start(|_| Reply::new(200).body(r#"{"token":"t"}"#));
    let realm_url = format!("{}/token", realm.origin());
    let registry = Server::start_tls(move |_| {
        Reply::new(401).header(
            "WWW-Authenticate",
            &format!(r#"Bearer realm="{realm_url}",service="s""#),
        )
    });
    for insecure in [false, true] {
        let mut builder = tls_builder().keychain(with_secret(&registry.registry()));
        if insecure {
            // Skipping certificate checks is not a plain-HTTP marking.
            builder = builder.skip_tls_verify(&registry.registry());
        }
        let client = builder.build().expect("client");
        let e = repo_of(&client, &registry.registry())
            .fetch_manifest(&tag("v1"))
            .await
            .expect_err("insecure realm");
        let Error::Auth { source, .. } = &e else {
            panic!("expected an authentication error, got {e:?}");
        };
        assert!(
            matches!(source.kind(), oci_auth::ErrorKind::InsecureTransport { .. }),
            "{source:?}"
        );
    }
    assert!(
        realm.requests().is_empty(),
        "nothing may reach a plain-HTTP realm"
    );
    assert_eq!(registry.requests().len(), 2, "one anonymous try per client");
}

/// An HTTPS registry that redirects an authorised request to plain HTTP on the same host: the
/// scheme makes it another origin, so the credentials stay behind.
#[tokio::test]
async fn https_to_http_redirect_carries_no_authorization() {
    let plain = Server::start(|_| manifest_reply());
    let downgrade = format!(
        "http://127.0.0.1:{}/v2/app/manifests/v1",
        plain.addr().port()
    );
    let registry = Server::start_tls(move |req| {
        if req.header("authorization").is_none() {
            Reply::new(401).header("WWW-Authenticate", "Basic realm=\"r\"")
        } else {
            Reply::new(307).header("Location", &downgrade)
        }
    });
    let client = tls_builder()
        .keychain(with_secret(&registry.registry()))
        .build()
        .expect("client");
    repo_of(&client, &registry.registry())
        .fetch_manifest(&tag("v1"))
        .await
        .expect("fetch through the downgrade");
    assert_some_authorization(
        "credentials went to the HTTPS registry",
        &registry.requests(),
    );
    assert_no_authorization("plain-HTTP redirect target", &plain.requests());
}

/// Without a plain-HTTP marking the client speaks TLS: a registry reachable only over plain
/// HTTP never sees a readable request, let alone credentials.
#[tokio::test]
async fn unmarked_registry_is_never_spoken_to_in_plain_http() {
    let received = Arc::new(Mutex::new(Vec::<u8>::new()));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let sink = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
            let mut buf = [0u8; 4096];
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().expect("lock").extend_from_slice(&buf[..n]);
                // Answer like a plain-HTTP registry asking for Basic credentials.
                let _ = stream.write_all(
                    b"HTTP/1.1 401 X\r\nWWW-Authenticate: Basic realm=\"r\"\r\nContent-Length: 0\r\n\r\n",
                );
            }
        }
    });
    let registry = addr.to_string();
    let client = Client::builder()
        .keychain(with_secret(&registry))
        .retry_policy(RetryPolicy::none())
        .connect_timeout(Duration::from_secs(2))
        .read_timeout(Duration::from_secs(2))
        .build()
        .expect("client");
    let e = repo_of(&client, &registry)
        .fetch_manifest(&tag("v1"))
        .await
        .expect_err("no TLS there");
    assert!(matches!(e, Error::Transport { .. }), "{e:?}");
    let bytes = received.lock().expect("lock").clone();
    assert!(!bytes.is_empty(), "the client did connect");
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        !text.contains("HTTP/1.1") && !text.to_ascii_lowercase().contains("authorization"),
        "plain HTTP was spoken: {text:?}"
    );
}
