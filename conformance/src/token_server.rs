//! A token-server fixture issuing JWTs that a real CNCF distribution registry verifies.
//!
//! The registry side is [`Auth::Token`]: distribution names the realm in its `WWW-Authenticate`
//! challenge and verifies every bearer token it is shown ([distribution token spec], and
//! `registry/auth/token` in distribution 2.8):
//!
//! - the JWT header carries `x5c`: the signing certificate, which must chain to a certificate in
//!   `rootcertbundle` (here: the self-signed certificate itself is the whole bundle);
//! - `iss` must equal the configured `issuer`, `aud` the configured `service`;
//! - `exp`/`nbf` are checked with 60 s of leeway (so a token "expired" by `exp = now - 58` dies
//!   two seconds after issue);
//! - the `access` claim lists what the token grants; a token without the needed action gets
//!   `401 error="insufficient_scope"`, an invalid or expired one `401 error="invalid_token"`.
//!
//! This fixture generates an RSA key and a self-signed certificate with the `openssl` command-line
//! tool (no crypto crate needed), listens on a free loopback port with a small blocking HTTP/1.1
//! server on its own thread, and signs `RS256` tokens with `openssl dgst`. It implements the GET
//! flow (HTTP Basic or anonymous, `service` and repeated `scope`) and the OAuth2 POST flow
//! (`grant_type=password` and `grant_type=refresh_token`, `scope` space-separated).
//!
//! Grants: anonymous requests get `pull` on every repository (the "anonymous pull" policy of
//! public registries); a known user gets every action requested; wrong credentials get `401`.
//!
//! [distribution token spec]: https://distribution.github.io/distribution/spec/auth/jwt/

use std::io::{BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use base64::Engine as _;
use oci_testkit::http::{self, Request};

use crate::options::{Auth, Secret};

/// `iss` of every token, and the `issuer` the registry is configured with.
pub const TOKEN_ISSUER: &str = "conformance-token-server";

/// `aud` of every token, and the registry's `service`.
pub const TOKEN_SERVICE: &str = "conformance-registry";

/// Lifetime (`exp - iat` and `expires_in`) of normal tokens.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(300);

/// Largest request head or body the fixture reads; token requests are tiny.
const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// One token request as the fixture saw it (for assertions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// The user that authenticated (Basic, password grant or refresh token); `None` if anonymous.
    pub user: Option<String>,
    /// `grant_type` of a POST.
    pub grant_type: Option<String>,
    /// The requested scopes, as sent.
    pub scopes: Vec<String>,
    /// The status answered.
    pub status: u16,
}

#[derive(Debug, Default)]
struct State {
    requests: Vec<TokenRequest>,
    /// `exp` offsets (seconds from now) for the next tokens, consumed first-in first-out.
    next_exp_offsets: Vec<i64>,
    refresh_tokens: Vec<(String, String)>,
}

#[derive(Debug)]
struct Shared {
    users: Vec<(String, Secret)>,
    key: PathBuf,
    x5c: String,
    state: Mutex<State>,
    stop: AtomicBool,
}

/// A running token server; stopped when dropped.
#[derive(Debug)]
pub struct TokenServer {
    shared: Arc<Shared>,
    addr: std::net::SocketAddr,
    root_bundle: PathBuf,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl TokenServer {
    /// Generates a key and certificate and starts serving on `127.0.0.1:<free port>`.
    /// `users` are the accepted `(user, password)` pairs.
    pub fn start<U, P>(users: impl IntoIterator<Item = (U, P)>) -> anyhow::Result<TokenServer>
    where
        U: Into<String>,
        P: Into<String>,
    {
        let dir = tempfile::tempdir().context("token server temp dir")?;
        let key = dir.path().join("key.pem");
        let cert = dir.path().join("cert.pem");
        openssl(
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-sha256",
                "-days",
                "2",
                "-subj",
                "/CN=conformance-token-server",
            ],
            &[("-keyout", &key), ("-out", &cert)],
            None,
        )
        .context("generating the token signing key and certificate (is `openssl` installed?)")?;
        let der = openssl(&["x509", "-outform", "DER"], &[("-in", &cert)], None)
            .context("converting the certificate to DER")?;
        let listener = TcpListener::bind("127.0.0.1:0").context("binding the token server")?;
        let addr = listener.local_addr().context("token server address")?;
        let shared = Arc::new(Shared {
            users: users
                .into_iter()
                .map(|(u, p)| (u.into(), Secret::new(p)))
                .collect(),
            key,
            x5c: base64_std(&der),
            state: Mutex::new(State::default()),
            stop: AtomicBool::new(false),
        });
        let worker = shared.clone();
        let thread = std::thread::Builder::new()
            .name("token-server".to_owned())
            .spawn(move || {
                for stream in listener.incoming() {
                    if worker.stop.load(Ordering::SeqCst) {
                        return;
                    }
                    if let Ok(s) = stream {
                        // A broken client connection only affects that request.
                        let _ = handle(&worker, s);
                    }
                }
            })
            .context("spawning the token server thread")?;
        Ok(TokenServer {
            shared,
            addr,
            root_bundle: cert,
            thread: Some(thread),
            _dir: dir,
        })
    }

    /// The token endpoint URL (`realm`).
    pub fn realm(&self) -> String {
        format!("http://{}/token", self.addr)
    }

    /// The registry authentication that trusts this server.
    pub fn auth(&self) -> Auth {
        Auth::Token {
            realm: self.realm(),
            service: TOKEN_SERVICE.to_owned(),
            issuer: TOKEN_ISSUER.to_owned(),
            root_cert_bundle_pem_path: self.root_bundle.clone(),
        }
    }

    /// The PEM certificate bundle the registry must trust.
    pub fn root_bundle(&self) -> &Path {
        &self.root_bundle
    }

    /// Makes the next token's `exp` lie `offset` seconds from its issue (negative: already
    /// past). `expires_in` in the answer still says [`TOKEN_LIFETIME`], so clients cache it: this
    /// is how a test gets a token that expires mid-run.
    pub fn expire_next_token_at(&self, offset: i64) {
        self.state().next_exp_offsets.push(offset);
    }

    /// Every request served so far.
    pub fn requests(&self) -> Vec<TokenRequest> {
        self.state().requests.clone()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

fn openssl(
    args: &[&str],
    paths: &[(&str, &Path)],
    stdin: Option<&[u8]>,
) -> anyhow::Result<Vec<u8>> {
    let mut cmd = Command::new("openssl");
    cmd.args(args);
    for (flag, path) in paths {
        cmd.arg(flag).arg(path);
    }
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().context("running openssl")?;
    if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(data).context("writing to openssl")?;
    }
    let out = child.wait_with_output().context("waiting for openssl")?;
    anyhow::ensure!(
        out.status.success(),
        "openssl {} failed: {}",
        args.first().copied().unwrap_or_default(),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(out.stdout)
}

/// Reads one request: head, then a `Content-Length` body (both bounded).
fn read_request(stream: &TcpStream) -> anyhow::Result<Request> {
    let mut reader = BufReader::new(stream.take(MAX_REQUEST_BYTES as u64));
    let head = http::read_head_blocking(&mut reader, MAX_REQUEST_BYTES)?
        .context("connection closed before a request")?;
    let body = http::read_body_blocking(&mut reader, &head, MAX_REQUEST_BYTES)?;
    Ok(Request::new(&head, body))
}

fn respond(mut stream: &TcpStream, status: u16, body: &str) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Error",
    };
    write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

/// Why a token request was refused: the status and the `error` message.
type Refusal = (u16, &'static str);

/// What a token request asks for: who authenticated (if anyone), the scopes, and whether it
/// wants a refresh token.
struct Ask {
    user: Option<String>,
    scopes: Vec<String>,
    offline: bool,
}

fn handle(shared: &Shared, stream: TcpStream) -> anyhow::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let req = read_request(&stream)?;
    let mut record = TokenRequest {
        method: req.method.clone(),
        user: None,
        grant_type: None,
        scopes: Vec::new(),
        status: 200,
    };
    let result = ask(shared, &req, &mut record.grant_type).and_then(|ask| {
        record.user = ask.user.clone();
        record.scopes = ask.scopes.clone();
        issue(shared, ask)
    });
    let (status, body) = match result {
        Ok(b) => (200, b),
        Err((s, msg)) => (s, serde_json::json!({ "error": msg }).to_string()),
    };
    record.status = status;
    shared
        .state
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .requests
        .push(record);
    respond(&stream, status, &body)?;
    Ok(())
}

/// Reads what `req` asks for: a `GET` (scopes in the query, optional Basic credentials) or an
/// OAuth2 `POST` (form; `grant_type` is recorded in `grant_type`).
fn ask(shared: &Shared, req: &Request, grant_type: &mut Option<String>) -> Result<Ask, Refusal> {
    if req.path() != "/token" {
        return Err((404, "no such endpoint"));
    }
    match req.method.as_str() {
        "GET" => {
            let q = req.query();
            let scopes: Vec<String> = q
                .iter()
                .filter(|(k, _)| k == "scope")
                .map(|(_, v)| v.clone())
                .collect();
            let offline = q.iter().any(|(k, v)| k == "offline_token" && v == "true");
            let user = match req.header("authorization") {
                None => None,
                Some(h) => Some(check_basic(shared, h).ok_or((401, "invalid credentials"))?),
            };
            Ok(Ask {
                user,
                scopes,
                offline,
            })
        }
        "POST" => ask_oauth2(shared, &req.form(), grant_type),
        _ => Err((404, "method not supported")),
    }
}

/// An OAuth2 `POST` form: a password or a refresh-token grant.
fn ask_oauth2(
    shared: &Shared,
    form: &[(String, String)],
    grant_type: &mut Option<String>,
) -> Result<Ask, Refusal> {
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let grant = get("grant_type").unwrap_or_default();
    *grant_type = Some(grant.clone());
    let scopes: Vec<String> = get("scope")
        .map(|s| {
            s.split(' ')
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let offline = get("access_type").as_deref() == Some("offline");
    let user = match grant.as_str() {
        "password" => {
            let u = get("username").unwrap_or_default();
            let p = get("password").unwrap_or_default();
            shared
                .users
                .iter()
                .any(|(name, pw)| *name == u && pw.expose() == p)
                .then_some(u)
                .ok_or((401, "invalid credentials"))?
        }
        "refresh_token" => {
            let t = get("refresh_token").unwrap_or_default();
            let st = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
            st.refresh_tokens
                .iter()
                .find(|(tok, _)| *tok == t)
                .map(|(_, u)| u.clone())
                .ok_or((401, "unknown refresh token"))?
        }
        _ => return Err((400, "unsupported grant_type")),
    };
    Ok(Ask {
        user: Some(user),
        scopes,
        offline: offline || grant == "password",
    })
}

/// Signs the token `ask` earned (with a refresh token when it asked for one); the JSON body.
fn issue(shared: &Shared, ask: Ask) -> Result<String, Refusal> {
    let Ask {
        user,
        scopes,
        offline,
    } = ask;
    let access = grant(user.is_some(), &scopes);
    let exp_offset = {
        let mut st = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
        if st.next_exp_offsets.is_empty() {
            TOKEN_LIFETIME.as_secs() as i64
        } else {
            st.next_exp_offsets.remove(0)
        }
    };
    let token = sign(
        shared,
        user.as_deref().unwrap_or_default(),
        &access,
        exp_offset,
    )
    .map_err(|_| (500, "signing failed"))?;
    let mut body = serde_json::json!({
        "token": token,
        "access_token": token,
        "expires_in": TOKEN_LIFETIME.as_secs(),
        "issued_at": rfc3339_now(),
    });
    if offline && let Some(u) = &user {
        let refresh = format!("refresh-{}", crate::random_hex(16));
        shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .refresh_tokens
            .push((refresh.clone(), u.clone()));
        body["refresh_token"] = refresh.into();
    }
    Ok(body.to_string())
}

fn check_basic(shared: &Shared, header: &str) -> Option<String> {
    let encoded = header
        .strip_prefix("Basic ")
        .or_else(|| header.strip_prefix("basic "))?;
    let decoded = base64_std_decode(encoded.trim())?;
    let text = String::from_utf8(decoded).ok()?;
    let (u, p) = text.split_once(':')?;
    shared
        .users
        .iter()
        .any(|(name, pw)| name == u && pw.expose() == p)
        .then(|| u.to_owned())
}

/// The `access` claim: anonymous callers get `pull` on repositories only; users get what they
/// asked for.
fn grant(authenticated: bool, scopes: &[String]) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for scope in scopes {
        let Some((kind, rest)) = scope.split_once(':') else {
            continue;
        };
        let Some((name, actions)) = rest.rsplit_once(':') else {
            continue;
        };
        let actions: Vec<&str> = actions
            .split(',')
            .filter(|a| authenticated || (kind == "repository" && *a == "pull"))
            .collect();
        out.push(serde_json::json!({ "type": kind, "name": name, "actions": actions }));
    }
    out
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn sign(
    shared: &Shared,
    subject: &str,
    access: &[serde_json::Value],
    exp_offset: i64,
) -> anyhow::Result<String> {
    let now = now_secs();
    let header = serde_json::json!({ "typ": "JWT", "alg": "RS256", "x5c": [shared.x5c] });
    let claims = serde_json::json!({
        "iss": TOKEN_ISSUER,
        "sub": subject,
        "aud": TOKEN_SERVICE,
        "exp": now + exp_offset,
        "nbf": now - 10,
        "iat": now,
        "jti": crate::random_hex(12),
        "access": access,
    });
    let signing_input = format!(
        "{}.{}",
        base64_url(header.to_string().as_bytes()),
        base64_url(claims.to_string().as_bytes())
    );
    let signature = openssl(
        &["dgst", "-sha256"],
        &[("-sign", &shared.key)],
        Some(signing_input.as_bytes()),
    )?;
    Ok(format!("{signing_input}.{}", base64_url(&signature)))
}

fn rfc3339_now() -> String {
    oci_ref::rfc3339::format(std::time::SystemTime::now())
}

fn base64_std(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn base64_url(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

fn base64_std_decode(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_known_vectors() {
        assert_eq!(base64_std(b""), "");
        assert_eq!(base64_std(b"f"), "Zg==");
        assert_eq!(base64_std(b"fo"), "Zm8=");
        assert_eq!(base64_std(b"foo"), "Zm9v");
        assert_eq!(base64_url(&[0xfb, 0xff]), "-_8");
        assert_eq!(base64_std_decode("Zm9vYg==").as_deref(), Some(&b"foob"[..]));
    }

    #[test]
    fn anonymous_grants_pull_only() {
        let g = grant(
            false,
            &[
                "repository:a:pull,push".to_owned(),
                "registry:catalog:*".to_owned(),
            ],
        );
        assert_eq!(g[0]["actions"], serde_json::json!(["pull"]));
        assert_eq!(g[1]["actions"], serde_json::json!([]));
        let g = grant(true, &["repository:localhost:5000/a:pull,push".to_owned()]);
        assert_eq!(g[0]["name"], "localhost:5000/a");
        assert_eq!(g[0]["actions"], serde_json::json!(["pull", "push"]));
    }

    #[test]
    fn rfc3339_shape() {
        let s = rfc3339_now();
        assert_eq!(s.len(), 20);
        assert!(s.ends_with('Z') && s.as_bytes()[10] == b'T', "{s}");
    }
}
