//! Security checks, each against a hostile counterpart: credentials and redirects across
//! origins and schemes, caps a hostile registry runs into, control characters coming back from
//! a registry, and secrets in errors. `SECURITY.md` at the repository root lists every check
//! with the test that holds it, here or elsewhere.
//!
//! Plain-HTTP servers are `crate::server`; the HTTPS registry below ([`TlsServer`]) answers with
//! a throwaway certificate so that "a registry not marked plain-HTTP" can be tested for real.

use oci_ref::media_type::OCI_MANIFEST;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures_util::StreamExt;
use oci_auth::{Credential, Keychain, Secret};
use oci_client::{Client, Error, Limit, Limits, RetryPolicy};
use oci_ref::TagOrDigest;

use crate::server::{Body, Recorded, Reply, Server, sha256};

/// A recognisable secret: a password, an identity token, a registry token, a signed URL query.
const SECRET: &str = "s3cr3t-SECURITY-CHECK";

/// A header name that would appear on the wire if a control character broke a request apart.
const INJECTED: &str = "X-Injected";

const MANIFEST: &[u8] = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"a","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;

fn manifest_reply() -> Reply {
    Reply::new(200)
        .header("Content-Type", OCI_MANIFEST)
        .body(MANIFEST.to_vec())
}

fn reference(registry: &str, rest: &str) -> oci_ref::Reference {
    format!("{registry}/{rest}").parse().expect("reference")
}

fn repo_of(client: &Client, registry: &str) -> oci_client::Repository {
    client
        .repository(&reference(registry, "app:v1"))
        .expect("repository handle")
}

fn tag(t: &str) -> TagOrDigest {
    TagOrDigest::tag(t).expect("tag")
}

/// A server's origin as a handler can see it once the server is running.
#[derive(Clone, Default)]
struct Origin(Arc<OnceLock<String>>);

impl Origin {
    fn get(&self) -> String {
        self.0.get().cloned().unwrap_or_default()
    }

    fn set(&self, origin: String) {
        self.0.set(origin).expect("origin set once");
    }
}

// ---------------------------------------------------------------------------------------------
// An HTTPS registry for the "not marked plain-HTTP" cases.
// ---------------------------------------------------------------------------------------------

/// A test-only CA (valid 2020–2120) that signed [`LEAF_PEM`]; never used outside this file.
const CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBgDCCASWgAwIBAgIBATAKBggqhkjOPQQDAjAmMSQwIgYDVQQDDBtvY2ktY2xp
ZW50IHNlY3VyaXR5IHRlc3QgQ0EwIBcNMjAwMTAxMDAwMDAwWhgPMjEyMDAxMDEw
MDAwMDBaMCYxJDAiBgNVBAMMG29jaS1jbGllbnQgc2VjdXJpdHkgdGVzdCBDQTBZ
MBMGByqGSM49AgEGCCqGSM49AwEHA0IABOKboL0Ed99kjhUc8nu+NcMMbZMRdl6f
Q1urNK23sGo8sdXx5V2jJkuXfoxcfB9T+UJxsmV/VvPrjIQ44VaBs4ujQjBAMA8G
A1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgIEMB0GA1UdDgQWBBRf5KFvqff/
aLyAzFMgaDKD6N40ODAKBggqhkjOPQQDAgNJADBGAiEAzNHErBIOPlAoRq3bPn6s
QohRT73qxd8Fd+2ztmwGJdUCIQC6JXRWCLvoaxBhnlkqGLAMtIw3xpvzLpQLLbv5
pVUtSA==
-----END CERTIFICATE-----
";

/// The server certificate for `127.0.0.1` and `localhost` (valid 2020–2120).
const LEAF_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBvjCCAWSgAwIBAgIBAjAKBggqhkjOPQQDAjAmMSQwIgYDVQQDDBtvY2ktY2xp
ZW50IHNlY3VyaXR5IHRlc3QgQ0EwIBcNMjAwMTAxMDAwMDAwWhgPMjEyMDAxMDEw
MDAwMDBaMBQxEjAQBgNVBAMMCWxvY2FsaG9zdDBZMBMGByqGSM49AgEGCCqGSM49
AwEHA0IABJ80c9VnrkiOF+kk9pQMx2UNVSJyjBoaKc7gnLiOeL/dnond4z3rHizG
WY7YmmYYeUlbyBplMObl6+qbxI6ruuOjgZIwgY8wDAYDVR0TAQH/BAIwADAOBgNV
HQ8BAf8EBAMCB4AwEwYDVR0lBAwwCgYIKwYBBQUHAwEwGgYDVR0RBBMwEYcEfwAA
AYIJbG9jYWxob3N0MB8GA1UdIwQYMBaAFF/koW+p9/9ovIDMUyBoMoPo3jQ4MB0G
A1UdDgQWBBTVCwBjlhk6oiXtxjFI5it0cOPjKDAKBggqhkjOPQQDAgNIADBFAiA+
rU+ykPlXHbJp8xoHRY80ZxSvQPln1s6YoH4Iua0OjwIhANnvL0EuZAYSMnNTtRrf
K51egUUxPYWvzSUFzuorVsUm
-----END CERTIFICATE-----
";

/// The throwaway key of [`LEAF_PEM`]; it protects nothing.
const LEAF_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg86ZKW2IpmPlYNC9Z
KN6vjxK1XgAfkAKgvocPct1IfIqhRANCAASfNHPVZ65IjhfpJPaUDMdlDVUicowa
GinO4Jy4jni/3Z6J3eM96x4sxlmO2JpmGHlJW8gaZTDm5evqm8SOq7rj
-----END PRIVATE KEY-----
";

type Handler = Arc<dyn Fn(&Recorded) -> Reply + Send + Sync>;

/// An HTTPS/1.1 server on loopback (blocking threads, one request per connection).
struct TlsServer {
    addr: std::net::SocketAddr,
    log: Arc<Mutex<Vec<Recorded>>>,
}

impl TlsServer {
    fn start(handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> TlsServer {
        use rustls::pki_types::pem::PemObject as _;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs = vec![CertificateDer::from_pem_slice(LEAF_PEM.as_bytes()).expect("leaf PEM")];
        let key = PrivateKeyDer::from_pem_slice(LEAF_KEY_PEM.as_bytes()).expect("key PEM");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server certificate");
        let config = Arc::new(config);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let handler: Handler = Arc::new(handler);
        let log2 = log.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (config, handler, log) = (config.clone(), handler.clone(), log2.clone());
                std::thread::spawn(move || {
                    let _ = serve_tls(stream, config, &handler, &log);
                });
            }
        });
        TlsServer { addr, log }
    }

    fn registry(&self) -> String {
        self.addr.to_string()
    }

    fn requests(&self) -> Vec<Recorded> {
        self.log.lock().expect("log lock").clone()
    }

    /// A client that trusts the test CA and talks HTTPS to this server (no plain-HTTP marking).
    fn builder(&self) -> oci_client::ClientBuilder {
        Client::builder()
            .ca_pem(CA_PEM.as_bytes().to_vec())
            .keychain(Keychain::empty())
            .retry_policy(RetryPolicy::none())
    }
}

fn serve_tls(
    stream: std::net::TcpStream,
    config: Arc<rustls::ServerConfig>,
    handler: &Handler,
    log: &Mutex<Vec<Recorded>>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let conn = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, stream);
    let Some(req) = read_request(&mut tls)? else {
        return Ok(());
    };
    log.lock().expect("log lock").push(req.clone());
    let reply = handler(&req);
    write_reply(&mut tls, &req.method, &reply)?;
    tls.conn.send_close_notify();
    tls.flush()
}

/// Reads one HTTP/1.1 request (head and `Content-Length` body).
fn read_request(r: &mut impl Read) -> std::io::Result<Option<Recorded>> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    let head_end = loop {
        let n = r.read(&mut tmp)?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let (method, target, headers, len) = crate::server::parse_head(&buf[..head_end]);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = r.read(&mut tmp)?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&tmp[..n]);
    }
    Ok(Some(Recorded {
        method,
        target,
        headers,
        body,
    }))
}

fn write_reply(w: &mut impl Write, method: &str, reply: &Reply) -> std::io::Result<()> {
    let body = match &reply.body {
        Body::Bytes(b) => b.clone(),
        Body::Endless { .. } => Vec::new(),
    };
    let mut out = format!("HTTP/1.1 {} X\r\nConnection: close\r\n", reply.status);
    for (k, v) in &reply.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    w.write_all(out.as_bytes())?;
    if method != "HEAD" {
        w.write_all(&body)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 2. Authorization never crosses origins; credentials over plain HTTP only when marked.
// ---------------------------------------------------------------------------------------------

/// A registry that wants `Bearer` tokens from its own `/token` realm and answers every
/// authorised request with `authorised(req)`.
async fn bearer_registry(
    authorised: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
) -> Server {
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
    })
    .await;
    origin.set(server.origin());
    server
}

fn with_secret(server_registry: &str) -> Keychain {
    Keychain::empty().with_credential(server_registry, Credential::basic("user", SECRET))
}

/// Every request `server` saw carried no `Authorization` header.
fn assert_no_authorization(what: &str, requests: &[Recorded]) {
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
    let cdn = Server::start(move |_| Reply::new(200).body(served.clone())).await;
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
    assert!(
        registry
            .requests()
            .iter()
            .any(|r| r.header("authorization").is_some()),
        "the registry itself did get the token"
    );
    assert_no_authorization("CDN", &cdn.requests());
}

/// Storage that answers `401` with a challenge of its own: the client must not answer it with
/// the registry's credentials (only the registry's own `401`s run the challenge).
#[tokio::test]
async fn a_401_from_a_redirect_target_gets_no_credentials() {
    let cdn =
        Server::start(|_| Reply::new(401).header("WWW-Authenticate", "Basic realm=\"storage\""))
            .await;
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
    })
    .await;
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
    let by_name: Vec<Recorded> = server
        .requests()
        .into_iter()
        .filter(|r| r.header("host").is_some_and(|h| h.starts_with("localhost")))
        .collect();
    assert_no_authorization("localhost", &by_name);
}

#[tokio::test]
async fn trust_covers_exactly_the_configured_origin() {
    // registry → trusted (gets credentials) → untrusted (must not).
    let untrusted = Server::start(|_| manifest_reply()).await;
    let next = format!("{}/final", untrusted.origin());
    let trusted = Server::start(move |_| Reply::new(307).header("Location", &next)).await;
    let hop = format!("{}/hop", trusted.origin());
    let registry = Server::start(move |req| {
        if req.header("authorization").is_none() {
            Reply::new(401).header("WWW-Authenticate", "Basic realm=\"r\"")
        } else {
            Reply::new(307).header("Location", &hop)
        }
    })
    .await;
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
    let realm = Server::start(|_| Reply::new(200).body(r#"{"token":"t"}"#)).await;
    let realm_url = format!("{}/token", realm.origin());
    let registry = TlsServer::start(move |_| {
        Reply::new(401).header(
            "WWW-Authenticate",
            &format!(r#"Bearer realm="{realm_url}",service="s""#),
        )
    });
    for insecure in [false, true] {
        let mut builder = registry
            .builder()
            .keychain(with_secret(&registry.registry()));
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
    let plain = Server::start(|_| manifest_reply()).await;
    let downgrade = format!("http://127.0.0.1:{}/v2/app/manifests/v1", plain.addr.port());
    let registry = TlsServer::start(move |req| {
        if req.header("authorization").is_none() {
            Reply::new(401).header("WWW-Authenticate", "Basic realm=\"r\"")
        } else {
            Reply::new(307).header("Location", &downgrade)
        }
    });
    let client = registry
        .builder()
        .keychain(with_secret(&registry.registry()))
        .build()
        .expect("client");
    repo_of(&client, &registry.registry())
        .fetch_manifest(&tag("v1"))
        .await
        .expect("fetch through the downgrade");
    assert!(
        registry
            .requests()
            .iter()
            .any(|r| r.header("authorization").is_some()),
        "credentials went to the HTTPS registry"
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

// ---------------------------------------------------------------------------------------------
// 3. Caps a hostile registry runs into (the others are listed in SECURITY.md).
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn endless_listing_page_is_cut_at_the_page_byte_cap() {
    let total = 512 * 1024 * 1024;
    let server = Server::start(move |_| Reply::new(200).endless(total)).await;
    let max = 64 * 1024;
    let client = server
        .builder()
        .limits(Limits {
            max_page_bytes: max,
            ..Limits::default()
        })
        .build()
        .expect("client");
    let e = repo_of(&client, &server.registry())
        .tags(None)
        .await
        .expect_err("endless page");
    assert!(
        matches!(e, Error::LimitExceeded { limit: Limit::PageBytes, max: m, .. } if m == max),
        "{e}"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        server.written() < total / 4,
        "the page was drained: {} bytes",
        server.written()
    );
}

/// Many short `Retry-After`s add up: the total wait budget ends the retries even though the
/// attempt budget is far from used.
#[tokio::test]
async fn retry_after_storm_stops_at_the_total_wait_budget() {
    let server = Server::start(|_| Reply::new(429).header("Retry-After", "1")).await;
    let client = server
        .builder()
        .retry_policy(RetryPolicy {
            max_attempts: 100,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            max_total_wait: Duration::from_millis(2500),
        })
        .build()
        .expect("client");
    let start = std::time::Instant::now();
    let e = repo_of(&client, &server.registry())
        .fetch_manifest(&tag("v1"))
        .await
        .expect_err("always 429");
    assert_eq!(e.status(), Some(429), "{e}");
    assert_eq!(
        server.requests().len(),
        3,
        "waits of 1 s + 1 s fit in 2.5 s, a third does not"
    );
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn error_body_entries_and_messages_are_capped() {
    let long = "m".repeat(10 * 1024);
    let mut entries: Vec<String> = (0..100)
        .map(|i| format!(r#"{{"code":"C{i}","message":"short"}}"#))
        .collect();
    entries[0] = format!(r#"{{"code":"DENIED","message":"{long}\r\n{INJECTED}: 1"}}"#);
    let body = format!(r#"{{"errors":[{}]}}"#, entries.join(","));
    assert!(body.len() < oci_client::MAX_ERROR_BODY_BYTES);
    let server = Server::start(move |_| Reply::new(403).body(body.clone())).await;
    let e = server
        .repo("app")
        .fetch_manifest(&tag("v1"))
        .await
        .expect_err("403");
    let Error::Registry { errors, .. } = &e else {
        panic!("expected a registry error, got {e:?}");
    };
    assert_eq!(errors.len(), oci_client::MAX_ERROR_ENTRIES);
    let message = errors[0].message.as_deref().unwrap_or_default();
    assert!(
        message.len() <= oci_client::MAX_ERROR_MESSAGE_BYTES,
        "{}",
        message.len()
    );
    assert!(!message.contains(['\r', '\n']), "control characters kept");
    assert_eq!(e.to_string().lines().count(), 1, "{e}");
}

/// A registry that takes the first chunk of an upload and then answers every further `PATCH`
/// with success and an unchanged `Range`: it never makes progress.
fn stalling_upload(req: &Recorded, first: usize) -> Reply {
    let kept = format!("0-{}", first - 1);
    match req.method.as_str() {
        "HEAD" => Reply::new(404),
        "POST" => Reply::new(202).header("Location", "/v2/app/blobs/uploads/s1"),
        "PATCH" => Reply::new(202)
            .header("Location", "/v2/app/blobs/uploads/s1")
            .header("Range", &kept),
        "GET" => Reply::new(204)
            .header("Location", "/v2/app/blobs/uploads/s1")
            .header("Range", &kept),
        "DELETE" => Reply::new(204),
        _ => Reply::new(400),
    }
}

#[tokio::test]
async fn upload_without_progress_stops_at_the_stalled_chunk_cap() {
    const CHUNK: usize = 4;
    let server = Server::start(|req| stalling_upload(req, CHUNK)).await;
    let data = b"0123456789ab".to_vec();
    let started = std::time::Instant::now();
    let e = server
        .repo("app")
        .push_blob_chunked(&sha256(&data), data.len() as u64, data.as_slice(), CHUNK)
        .await
        .expect_err("an upload that makes no progress fails");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        matches!(
            e,
            Error::Protocol {
                what: oci_client::Protocol::UploadStalled,
                ..
            }
        ),
        "{e:?}"
    );
    let requests = server.requests();
    let patches: Vec<_> = requests.iter().filter(|r| r.method == "PATCH").collect();
    // The first PATCH delivers the first chunk; then the second chunk is sent exactly
    // MAX_STALLED_CHUNK_ATTEMPTS times, each answered without progress.
    let stalled = oci_client::MAX_STALLED_CHUNK_ATTEMPTS as usize;
    assert_eq!(patches.len(), 1 + stalled, "{patches:?}");
    assert!(
        patches[1..]
            .iter()
            .all(|p| p.header("content-range") == Some("4-7")),
        "every retry resends the second chunk"
    );
    assert!(
        !requests.iter().any(|r| r.method == "PUT"),
        "a stalled upload is never closed"
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Control characters never reach a request line or header.
// ---------------------------------------------------------------------------------------------

/// No request on the wire was split by an injected line, and no target or header value holds
/// a raw control character.
fn assert_clean_wire(what: &str, requests: &[Recorded]) {
    assert!(!requests.is_empty(), "{what}: nothing was sent");
    for r in requests {
        assert!(
            r.header(INJECTED).is_none(),
            "{what}: injected header in {} {}",
            r.method,
            r.target
        );
        assert!(
            !r.target.chars().any(char::is_control),
            "{what}: control character in {:?}",
            r.target
        );
        for (k, v) in &r.headers {
            assert!(
                !v.contains(INJECTED) && !v.chars().any(|c| c.is_control() && c != '\t'),
                "{what}: header {k}: {v:?}"
            );
        }
    }
}

/// The CR/LF-carrying text a hostile registry hands back, raw and percent-encoded.
const RAW_CRLF: &str = "v1\r\nX-Injected: 1";
const ENCODED_CRLF: &str = "v1%0D%0AX-Injected:%201";

/// Names outside the tag grammar that a hostile registry may list as tags: line breaks that
/// would forge output lines, paths that would reach another repository, URL syntax.
const HOSTILE_TAGS: &[&str] = &[
    RAW_CRLF,
    "v1\0",
    "v 1",
    "v1/../../other",
    "../x",
    "..",
    "v1?x=1",
    "v1#f",
    "-v1",
    "",
];

/// A tag listing is printed (`oci-fetch tags`, one tag a line) and its tags become request
/// paths: one name outside the tag grammar refuses the listing with a protocol error naming
/// the page it came on, on the first page or a later one.
#[tokio::test]
async fn hostile_tags_from_a_listing_never_become_requests() {
    for hostile in HOSTILE_TAGS {
        for on_second_page in [false, true] {
            let listing = |tags: &[&str]| serde_json::json!({ "name": "app", "tags": tags });
            let first = if on_second_page {
                listing(&["v1"])
            } else {
                listing(&["v1", hostile])
            }
            .to_string();
            let second = listing(&[hostile]).to_string();
            let server = Server::start(move |req| {
                if req.target.contains("last=") {
                    Reply::new(200).body(second.clone())
                } else if on_second_page {
                    Reply::new(200)
                        .header("Link", "</v2/app/tags/list?last=v1>; rel=\"next\"")
                        .body(first.clone())
                } else {
                    Reply::new(200).body(first.clone())
                }
            })
            .await;
            let e = server
                .repo("app")
                .tags(None)
                .await
                .expect_err("hostile listing");
            let page = if on_second_page {
                "/v2/app/tags/list?last=v1"
            } else {
                "/v2/app/tags/list"
            };
            assert!(
                matches!(
                    &e,
                    Error::Protocol { what: oci_client::Protocol::InvalidTag, url } if url.ends_with(page)
                ),
                "{hostile:?} (second page: {on_second_page}): {e:?}"
            );
            assert_eq!(e.to_string().lines().count(), 1, "{e}");
            assert_eq!(
                server.requests().len(),
                1 + usize::from(on_second_page),
                "only the listing was requested"
            );
        }
        assert!(refused_as_tag(hostile), "{hostile:?} was accepted as a tag");
    }
}

/// Tags at the edges of the grammar `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}` are listed as sent.
#[tokio::test]
async fn tags_at_the_edges_of_the_grammar_are_listed() {
    let longest = format!("A{}", "z".repeat(oci_ref::TAG_LENGTH_MAX - 1));
    let tags = vec![
        "_".to_owned(),
        "0".to_owned(),
        "v1.2-rc_3".to_owned(),
        "a..b--".to_owned(),
        longest,
    ];
    let listing = serde_json::json!({ "name": "app", "tags": tags }).to_string();
    let server = Server::start(move |_| Reply::new(200).body(listing.clone())).await;
    assert_eq!(server.repo("app").tags(None).await.expect("listing"), tags);
    let too_long = format!("A{}", "z".repeat(oci_ref::TAG_LENGTH_MAX));
    let listing = serde_json::json!({ "name": "app", "tags": [too_long] }).to_string();
    let server = Server::start(move |_| Reply::new(200).body(listing.clone())).await;
    let e = server
        .repo("app")
        .tags(None)
        .await
        .expect_err("a tag one character too long");
    assert!(
        matches!(
            e,
            Error::Protocol {
                what: oci_client::Protocol::InvalidTag,
                ..
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn encoded_crlf_in_a_link_header_stays_encoded() {
    let server = Server::start(|req| {
        if req.target.contains("last=") {
            Reply::new(200).body(r#"{"tags":["b"]}"#)
        } else {
            Reply::new(200)
                .header(
                    "Link",
                    &format!("</v2/app/tags/list?last={ENCODED_CRLF}>; rel=\"next\""),
                )
                .body(r#"{"tags":["a"]}"#)
        }
    })
    .await;
    let tags = server.repo("app").tags(None).await.expect("two pages");
    assert_eq!(tags, ["a", "b"]);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(
        requests[1].target.contains("%0D%0A"),
        "{}",
        requests[1].target
    );
    assert_clean_wire("Link", &requests);
}

#[tokio::test]
async fn encoded_crlf_in_a_redirect_location_stays_encoded() {
    let server = Server::start(|req| {
        if req.target.contains("%0D%0A") {
            manifest_reply()
        } else {
            Reply::new(307).header("Location", &format!("/v2/app/manifests/{ENCODED_CRLF}"))
        }
    })
    .await;
    server
        .repo("app")
        .fetch_manifest(&tag("v1"))
        .await
        .expect("fetch after the redirect");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_clean_wire("Location", &requests);
}

#[tokio::test]
async fn encoded_crlf_in_an_upload_location_stays_encoded() {
    let server = Server::start(|req| match req.method.as_str() {
        "HEAD" => Reply::new(404),
        "POST" => Reply::new(202).header(
            "Location",
            &format!("/v2/app/blobs/uploads/{ENCODED_CRLF}?_state=s"),
        ),
        _ => Reply::new(201),
    })
    .await;
    let data = b"payload".to_vec();
    server
        .repo("app")
        .push_blob(&sha256(&data), data.into())
        .await
        .expect("push");
    let requests = server.requests();
    let put = requests
        .iter()
        .find(|r| r.method == "PUT")
        .expect("the closing PUT");
    assert!(put.target.contains("%0D%0A"), "{}", put.target);
    assert_clean_wire("upload Location", &requests);
}

/// Inputs still accepted silently where a typed refusal is due (the URL parser would drop tabs
/// and line breaks instead, so the request would go out for something else than what was
/// named). Each entry is a reported library gap; the test fails when one starts being refused,
/// so that its entry is removed. None is known today.
const PENDING_CONTROL_CHARACTER_GAPS: &[&str] = &[];

/// Compares what happened to `label` with [`PENDING_CONTROL_CHARACTER_GAPS`].
fn check_gap(label: &str, refused: bool, problems: &mut Vec<String>) {
    let pending = PENDING_CONTROL_CHARACTER_GAPS.contains(&label);
    match (refused, pending) {
        (true, false) | (false, true) => {}
        (false, false) => problems.push(format!("{label}: accepted without a typed error")),
        (true, true) => problems.push(format!(
            "{label}: now refused: remove it from PENDING_CONTROL_CHARACTER_GAPS"
        )),
    }
}

#[tokio::test]
async fn registry_names_with_control_characters_are_refused() {
    let mut problems = Vec::new();
    for (label, suffix) in [
        ("registry name with CR/LF and a header", "\r\nX-Injected: 1"),
        ("registry name ending in LF", "\n"),
        ("registry name ending in CR", "\r"),
        ("registry name ending in TAB", "\t"),
        ("registry name ending in NUL", "\0"),
    ] {
        let server = Server::start(|_| Reply::new(200).body("{}")).await;
        let name = format!("{}{suffix}", server.registry());
        let client = server.builder().plain_http(&name).build().expect("client");
        let r = client.ping(&name).await;
        let refused = matches!(
            r,
            Err(Error::InvalidInput {
                what: "registry host",
                ..
            })
        );
        let requests = server.requests();
        if !requests.is_empty() {
            assert_clean_wire(label, &requests);
        }
        assert_eq!(refused, requests.is_empty(), "{label}: {r:?}");
        check_gap(label, refused, &mut problems);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A tag is valid by construction ([`oci_ref::Tag`]): a tag with CR/LF or holding a path
/// (`../../other/manifests/x`, which joined to the repository's URL would name another
/// repository's manifest) cannot be built, so no manifest operation can send it.
#[test]
fn hostile_tags_cannot_be_built() {
    for hostile in [
        RAW_CRLF,
        "../../other/manifests/x",
        "..",
        ".",
        "v1/../../other",
        "v1/x",
        "%2e%2e",
    ] {
        assert!(refused_as_tag(hostile), "{hostile:?} was accepted as a tag");
    }
}

/// Whether `oci-ref` refuses `text` as a tag, naming the tag as the part at fault.
fn refused_as_tag(text: &str) -> bool {
    use oci_ref::{Error as RefError, Part};
    let refused = |r: Result<(), RefError>| {
        matches!(
            r,
            Err(RefError::Invalid {
                part: Part::Tag,
                ..
            } | RefError::Empty { part: Part::Tag }
                | RefError::TagTooLong { .. })
        )
    };
    refused(oci_ref::Tag::parse(text).map(drop)) && refused(TagOrDigest::tag(text).map(drop))
}

/// Credentials carrying CR/LF: tokens are refused with a typed error before any header is
/// built; `Basic` credentials are base64-encoded, so their bytes never reach a header raw.
#[tokio::test]
async fn credentials_with_control_characters_never_reach_a_header() {
    let hostile = format!("t\r\n{INJECTED}: 1");
    for credential in [
        Credential::RegistryToken(Secret::new(hostile.clone())),
        Credential::IdentityToken(Secret::new(hostile.clone())),
        Credential::basic(hostile.clone(), "p"),
        Credential::basic("u", hostile.clone()),
    ] {
        for bearer in [false, true] {
            let origin = Origin::default();
            let o = origin.clone();
            let server = Server::start(move |req| {
                if req.path() == "/token" {
                    // The token server hands back a token with a line break in it.
                    return Reply::new(200).body(r#"{"token":"t\r\nX-Injected: 1"}"#);
                }
                if bearer {
                    Reply::new(401).header(
                        "WWW-Authenticate",
                        &format!(r#"Bearer realm="{}/token",service="s""#, o.get()),
                    )
                } else {
                    Reply::new(401).header("WWW-Authenticate", "Basic realm=\"r\"")
                }
            })
            .await;
            origin.set(server.origin());
            let keychain =
                Keychain::empty().with_credential(&server.registry(), credential.clone());
            let client = server.builder().keychain(keychain).build().expect("client");
            let e = repo_of(&client, &server.registry())
                .fetch_manifest(&tag("v1"))
                .await
                .expect_err("refused");
            let what = format!("{} bearer={bearer}", credential.describe());
            assert_clean_wire(&what, &server.requests());
            let Error::Auth { source, .. } = &e else {
                panic!("{what}: expected an authentication error, got {e:?}");
            };
            if bearer {
                let expected_kind = match credential {
                    Credential::RegistryToken(_) => {
                        matches!(source.kind(), oci_auth::ErrorKind::InvalidCredential { .. })
                    }
                    _ => matches!(
                        source.kind(),
                        oci_auth::ErrorKind::InvalidTokenResponse { .. }
                    ),
                };
                assert!(expected_kind, "{what}: {source:?}");
            }
        }
    }
}

#[test]
fn login_refuses_user_names_with_control_characters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.json");
    let mut problems = Vec::new();
    for (label, user) in [
        (
            "login user name with CR/LF and a header",
            format!("u\r\n{INJECTED}: 1"),
        ),
        ("login user name with LF", "u\nv".to_owned()),
        ("login user name with CR", "u\rv".to_owned()),
        ("login user name with NUL", "u\0v".to_owned()),
    ] {
        let r = oci_auth::login(&path, "r.example", &user, &Secret::new("p"));
        let refused = r
            .as_ref()
            .is_err_and(|e| matches!(e.kind(), oci_auth::ErrorKind::InvalidCredential { .. }));
        check_gap(label, refused, &mut problems);
        let _ = std::fs::remove_file(&path);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn annotations_with_control_characters_go_only_into_json_bodies() {
    let subject = sha256(b"subject");
    let hostile = format!("line one\r\n{INJECTED}: 1\u{1b}[31m");
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": format!("application/x\r\n{INJECTED}: 1"),
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha256(b"{}").as_str(), "size": 2},
        "layers": [],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject.as_str(), "size": 1},
        "annotations": {"org.example.note": hostile},
    })
    .to_string();
    // A registry without the referrers API: the client writes the fallback index itself.
    let server = Server::start(|req| match req.method.as_str() {
        "PUT" => Reply::new(201),
        _ => Reply::new(404),
    })
    .await;
    server
        .repo("app")
        .push_manifest(&tag("signed"), manifest.clone().into(), OCI_MANIFEST)
        .await
        .expect("push with the fallback index");
    let requests = server.requests();
    assert_clean_wire("annotations", &requests);
    let index = requests
        .iter()
        .find(|r| r.method == "PUT" && r.path().contains("sha256-"))
        .expect("the fallback index was written");
    let index: serde_json::Value = serde_json::from_slice(&index.body).expect("index JSON");
    assert_eq!(
        index["manifests"][0]["annotations"]["org.example.note"], hostile,
        "the value travels intact, JSON-escaped"
    );
}

#[tokio::test]
async fn referrer_digests_with_control_characters_are_refused() {
    let body = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"sha256:{}\r\n{INJECTED}: 1","size":1}}]}}"#,
        "a".repeat(64)
    );
    let server = Server::start(move |_| {
        Reply::new(200)
            .header("Content-Type", "application/vnd.oci.image.index.v1+json")
            .body(body.clone())
    })
    .await;
    let e = server
        .repo("app")
        .referrers(&sha256(b"s"), None)
        .await
        .expect_err("hostile digest");
    assert!(
        matches!(
            e,
            Error::Protocol {
                what: oci_client::Protocol::InvalidJson,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(server.requests().len(), 1, "nothing was fetched for it");
}

// ---------------------------------------------------------------------------------------------
// 5. Secrets never show in errors.
// ---------------------------------------------------------------------------------------------

/// Where `SECRET` shows in an error: its `Display`, its `Debug`, or anything down its
/// `source()` chain. `None` when it is clean.
fn leak(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let needles = [
        SECRET.to_owned(),
        base64(SECRET),
        base64(&format!("user:{SECRET}")),
        base64(&format!(":{SECRET}")),
    ];
    let mut level = 0;
    let mut current = Some(e);
    while let Some(err) = current {
        for (how, text) in [("Display", err.to_string()), ("Debug", format!("{err:?}"))] {
            if needles.iter().any(|n| text.contains(n.as_str())) {
                return Some(format!("source #{level} {how}: {text}"));
            }
        }
        level += 1;
        current = err.source();
    }
    None
}

/// Standard base64 with padding, as in a `Basic` header.
fn base64(text: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in text.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// How the hostile registry of [`no_client_error_shows_a_secret`] fails.
#[derive(Debug, Clone, Copy)]
enum Hostile {
    /// Always `401 Basic`.
    RejectBasic,
    /// `401 Bearer`; the token server answers `status` with the secret in its body.
    RealmFails(u16),
    /// `401 Bearer`; the token server issues the secret as the token, then the registry says
    /// it is invalid.
    TokenRejected,
    /// Redirects to storage that cannot be reached, with the secret in user info and query.
    RedirectUnreachable,
    /// Redirects to storage that answers 500, with the secret in the query.
    RedirectFails,
    /// Redirects to storage that cuts the body short, with the secret in the query.
    RedirectCut,
    /// Redirects to its own origin with the secret as user info; then answers 500.
    SelfRedirectWithUserInfo,
    /// Upload session URLs carry the secret as `_state`; the closing PUT fails.
    UploadState,
}

async fn hostile_registry(how: Hostile) -> Server {
    let cdn = Server::start(|_| {
        Reply::new(200)
            .header("Content-Length", "100")
            .body(b"short".to_vec())
    })
    .await;
    let cut_url = format!("{}/storage?X-Amz-Signature={SECRET}", cdn.origin());
    let failing = Server::start(|_| Reply::new(500).body(SECRET)).await;
    let failing_url = format!("{}/storage?X-Amz-Signature={SECRET}", failing.origin());
    // The storage servers keep serving after their handles are dropped (until the runtime ends).
    drop((cdn, failing));
    let origin = Origin::default();
    let o = origin.clone();
    let server = Server::start(move |req| {
        let bearer = || {
            Reply::new(401).header(
                "WWW-Authenticate",
                &format!(r#"Bearer realm="{}/token",service="s""#, o.get()),
            )
        };
        match how {
            Hostile::RejectBasic => Reply::new(401).header("WWW-Authenticate", "Basic realm=\"r\""),
            Hostile::RealmFails(status) if req.path() == "/token" => {
                Reply::new(status).body(format!(r#"{{"token":"{SECRET}","error":"{SECRET}"}}"#))
            }
            Hostile::RealmFails(_) => bearer(),
            Hostile::TokenRejected if req.path() == "/token" => {
                Reply::new(200).body(format!(r#"{{"token":"{SECRET}"}}"#))
            }
            Hostile::TokenRejected => Reply::new(401).header(
                "WWW-Authenticate",
                &format!(r#"Bearer realm="{}/token",error="invalid_token""#, o.get()),
            ),
            Hostile::RedirectUnreachable => Reply::new(307).header(
                "Location",
                &format!("http://user:{SECRET}@127.0.0.1:1/storage?X-Amz-Signature={SECRET}"),
            ),
            Hostile::RedirectFails => Reply::new(307).header("Location", &failing_url),
            Hostile::RedirectCut => Reply::new(307).header("Location", &cut_url),
            Hostile::SelfRedirectWithUserInfo if req.target.contains("hop") => Reply::new(500),
            Hostile::SelfRedirectWithUserInfo => Reply::new(307).header(
                "Location",
                &format!(
                    "http://user:{SECRET}@{}/v2/hop",
                    o.get().trim_start_matches("http://")
                ),
            ),
            Hostile::UploadState => match req.method.as_str() {
                "HEAD" => Reply::new(404),
                "POST" => Reply::new(202).header(
                    "Location",
                    &format!("/v2/app/blobs/uploads/u?_state={SECRET}"),
                ),
                _ => Reply::new(500),
            },
        }
    })
    .await;
    origin.set(server.origin());
    server
}

/// Runs every operation against `server` and returns each failure, named.
async fn failures(client: &Client, server: &Server) -> Vec<(String, Error)> {
    let repo = repo_of(client, &server.registry());
    let data = b"blob".to_vec();
    let d = sha256(&data);
    let mut out: Vec<(&str, Result<(), Error>)> = vec![
        ("ping", client.ping(&server.registry()).await),
        (
            "fetch_manifest",
            repo.fetch_manifest(&tag("v1")).await.map(drop),
        ),
        (
            "head_manifest",
            repo.head_manifest(&tag("v1")).await.map(drop),
        ),
        ("head_blob", repo.head_blob(&d).await.map(drop)),
        (
            "fetch_blob_range",
            repo.fetch_blob_range(&d, 1).await.map(drop),
        ),
        ("tags", repo.tags(None).await.map(drop)),
        ("referrers", repo.referrers(&d, None).await.map(drop)),
        (
            "push_blob",
            repo.push_blob(&d, data.clone().into()).await.map(drop),
        ),
        (
            "delete_manifest",
            repo.delete_manifest(&TagOrDigest::Digest(d.clone())).await,
        ),
    ];
    let streamed = match repo.fetch_blob(&d, Some(4)).await {
        Ok(mut stream) => {
            let mut result = Ok(());
            while let Some(chunk) = stream.next().await {
                if let Err(e) = chunk {
                    result = Err(e);
                    break;
                }
            }
            result
        }
        Err(e) => Err(e),
    };
    out.push(("fetch_blob", streamed));
    out.into_iter()
        .filter_map(|(what, r)| r.err().map(|e| (what.to_owned(), e)))
        .collect()
}

/// Scenarios that leak today, each a reported library bug. The test fails when a leak is gone,
/// so that its entry is removed. None is known today (`Hostile::RedirectUnreachable` leaked the
/// signed query through the HTTP library's error under `Error::Transport` until that error
/// lost its URL).
const PENDING_LEAKS: &[Hostile] = &[];

#[tokio::test]
async fn no_client_error_shows_a_secret() {
    let credentials = [
        Credential::basic("user", SECRET),
        Credential::from_pull_secret(SECRET),
        Credential::IdentityToken(Secret::new(SECRET)),
        Credential::RegistryToken(Secret::new(SECRET)),
    ];
    let mut checked = 0;
    let mut problems = Vec::new();
    for how in [
        Hostile::RejectBasic,
        Hostile::RealmFails(401),
        Hostile::RealmFails(500),
        Hostile::RealmFails(200),
        Hostile::TokenRejected,
        Hostile::RedirectUnreachable,
        Hostile::RedirectFails,
        Hostile::RedirectCut,
        Hostile::SelfRedirectWithUserInfo,
        Hostile::UploadState,
    ] {
        let server = hostile_registry(how).await;
        let mut leaks = Vec::new();
        for credential in &credentials {
            let keychain =
                Keychain::empty().with_credential(&server.registry(), credential.clone());
            assert!(!format!("{keychain:?}").contains(SECRET), "keychain Debug");
            let client = server
                .builder()
                .keychain(keychain)
                .retry_policy(RetryPolicy::none())
                .build()
                .expect("client");
            assert!(!format!("{client:?}").contains(SECRET), "client Debug");
            for (what, e) in failures(&client, &server).await {
                checked += 1;
                if let Some(l) = leak(&e) {
                    leaks.push(format!("{how:?} / {} / {what}: {l}", credential.describe()));
                }
            }
        }
        let pending = PENDING_LEAKS
            .iter()
            .any(|p| format!("{p:?}") == format!("{how:?}"));
        match (leaks.is_empty(), pending) {
            (true, false) | (false, true) => {}
            (false, false) => problems.extend(leaks),
            (true, true) => problems.push(format!(
                "{how:?} no longer leaks: remove it from PENDING_LEAKS"
            )),
        }
    }
    assert!(checked > 300, "only {checked} failures were examined");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
