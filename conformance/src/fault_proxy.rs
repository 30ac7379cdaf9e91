//! A fault-injecting HTTP/1.1 proxy in front of a real registry (or the token server).
//!
//! [`FaultProxy::start`] listens on a free `127.0.0.1` port and forwards every request to the
//! upstream (another loopback address), one request per connection. [`Rule`]s, added and removed
//! at runtime, pick requests by method and path and mangle them or their answer with a
//! [`Fault`]: a body cut short, a stall, a flipped byte, extra bytes, `429` with `Retry-After`,
//! bursts of `500`/`503`, a slow trickle, a redirect to another origin, a malformed JSON body.
//! Each rule counts the requests it was applied to ([`FaultProxy::hits`]); every request that
//! reached the main listener whole is logged, head only ([`FaultProxy::log`]). The most
//! requests the main listener served at once is kept ([`FaultProxy::max_in_flight`]): a
//! client's request limit, observed from the registry's side.
//!
//! The redirect target is a second listener of the same proxy: it forwards to the same upstream
//! (with an `Authorization` of the test's choosing, like a presigned storage URL) and records
//! whether the client sent `Authorization` across the origin change
//! ([`FaultProxy::redirect_authorizations`]).
//!
//! Bounds: loopback only (a non-loopback upstream is refused), at most [`MAX_CONNECTIONS`]
//! connections at once, request heads up to [`MAX_HEAD_BYTES`], bodies buffered up to
//! [`MAX_BODY_BYTES`], every upstream exchange under [`UPSTREAM_TIMEOUT`]. Dropping the
//! [`FaultProxy`] stops both listeners and every connection task.
//!
//! Responses are buffered whole before the fault is applied (HTTP/1.1 framing is rewritten to a
//! `Content-Length`), so the proxy is for tests with blobs of a few MiB, not for throughput.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context as _;
use oci_testkit::http::{self, Head, Request};
use tokio::io::{AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};

/// Connections served at once, per listener; further clients wait in the accept queue. Enough
/// for the soak's concurrent pulls, small enough to bound the proxy's memory.
pub const MAX_CONNECTIONS: usize = 256;

/// Largest request or response head (request line or status line plus headers) read.
pub const MAX_HEAD_BYTES: usize = http::MAX_HEAD_BYTES;

/// Largest request or response body buffered; a bigger one ends the connection.
pub const MAX_BODY_BYTES: usize = http::MAX_BODY_BYTES;

/// Time allowed for one upstream exchange (connect, send, read the whole answer).
pub const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(60);

/// Interval between two writes of a [`Fault::Trickle`].
const TRICKLE_TICK: Duration = Duration::from_millis(50);

/// What a rule does to a matching request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Sends the upstream's head (with its full `Content-Length`), then `bytes` body bytes, then
    /// closes the connection.
    CloseAfter {
        /// Body bytes sent before the close.
        bytes: u64,
    },
    /// Sends the head and `after_bytes` body bytes, waits `duration`, then sends the rest.
    Stall {
        /// Body bytes sent before the pause.
        after_bytes: u64,
        /// Length of the pause.
        duration: Duration,
    },
    /// Inverts the lowest bit of the body byte at `offset` (the last byte if the body is
    /// shorter).
    FlipByte {
        /// Body offset of the byte.
        offset: u64,
    },
    /// Appends `bytes` to the body; `Content-Length` counts them.
    Append {
        /// The extra bytes.
        bytes: Vec<u8>,
    },
    /// Answers `429 Too Many Requests` with `Retry-After: <retry_after>` without asking upstream.
    TooManyRequests {
        /// The `Retry-After` value, sent as given (seconds or an HTTP date).
        retry_after: String,
    },
    /// Answers `status` (e.g. 500, 503) with a registry error body without asking upstream.
    Status {
        /// The status code.
        status: u16,
    },
    /// Sends the body at `bytes_per_sec`.
    Trickle {
        /// Body bytes per second (at least 1).
        bytes_per_sec: u64,
    },
    /// Answers `307` to the same path on the proxy's second listener (another origin).
    Redirect,
    /// Replaces a successful body with truncated JSON and drops `Docker-Content-Digest`, so the
    /// client's parser, not its digest check, meets it.
    MalformedJson,
}

impl Fault {
    /// A short name for tables (`close-after`, `stall`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Fault::CloseAfter { .. } => "close-after",
            Fault::Stall { .. } => "stall",
            Fault::FlipByte { .. } => "flip-byte",
            Fault::Append { .. } => "append",
            Fault::TooManyRequests { .. } => "429-retry-after",
            Fault::Status { .. } => "5xx-burst",
            Fault::Trickle { .. } => "trickle",
            Fault::Redirect => "redirect",
            Fault::MalformedJson => "malformed-json",
        }
    }
}

/// Which requests a fault applies to: method (any when `None`), a substring of the request
/// target (path and query), and how many times (every time when `None`; "the first N" for
/// bursts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Upper-case method, or any.
    pub method: Option<String>,
    /// Substring the request target must contain (`""` matches all).
    pub path_contains: String,
    /// The fault.
    pub fault: Fault,
    /// Matching requests the fault is applied to; later ones pass through.
    pub times: Option<u64>,
    /// Only requests that carry `Authorization` (skips the anonymous first try that a registry
    /// with authentication answers with `401`).
    pub authorized_only: bool,
}

impl Rule {
    /// `fault` for every request whose target contains `path_contains`.
    pub fn new(path_contains: impl Into<String>, fault: Fault) -> Rule {
        Rule {
            method: None,
            path_contains: path_contains.into(),
            fault,
            times: None,
            authorized_only: false,
        }
    }

    /// Only requests with this method.
    pub fn method(mut self, method: &str) -> Rule {
        self.method = Some(method.to_ascii_uppercase());
        self
    }

    /// Only the first `n` matching requests.
    pub fn times(mut self, n: u64) -> Rule {
        self.times = Some(n);
        self
    }

    /// Only requests that carry `Authorization`.
    pub fn authorized(mut self) -> Rule {
        self.authorized_only = true;
        self
    }

    fn matches(&self, method: &str, target: &str, authorized: bool) -> bool {
        (authorized || !self.authorized_only)
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && target.contains(&self.path_contains)
    }
}

/// Handle of a rule added with [`FaultProxy::add`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RuleId(usize);

#[derive(Debug)]
struct RuleState {
    rule: Rule,
    hits: u64,
    active: bool,
}

#[derive(Debug)]
struct Shared {
    upstream: SocketAddr,
    redirect_addr: Mutex<Option<SocketAddr>>,
    rules: Mutex<Vec<RuleState>>,
    requests: AtomicU64,
    /// Requests of the main listener between their head's arrival and their answer's end.
    in_flight: AtomicU64,
    /// The most `in_flight` has been.
    max_in_flight: AtomicU64,
    /// Heads (without bodies) of the requests the main listener received whole.
    log: Mutex<Vec<Request>>,
    redirect_requests: AtomicU64,
    redirect_authorizations: AtomicU64,
    redirect_upstream_authorization: Mutex<Option<String>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running fault proxy; stops when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    redirect_addr: SocketAddr,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream` (`host:port`, which must resolve to loopback).
    /// Must be called inside a tokio runtime with IO and time enabled.
    pub async fn start(upstream: &str) -> anyhow::Result<FaultProxy> {
        let upstream_addr = tokio::net::lookup_host(upstream)
            .await
            .with_context(|| format!("resolving upstream {upstream}"))?
            .find(|a| a.ip().is_loopback())
            .with_context(|| format!("upstream {upstream} is not a loopback address"))?;
        let main = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the proxy listener")?;
        let redirect = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the redirect listener")?;
        let addr = main.local_addr()?;
        let redirect_addr = redirect.local_addr()?;
        let shared = Arc::new(Shared {
            upstream: upstream_addr,
            redirect_addr: Mutex::new(Some(redirect_addr)),
            rules: Mutex::new(Vec::new()),
            requests: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
            log: Mutex::new(Vec::new()),
            redirect_requests: AtomicU64::new(0),
            redirect_authorizations: AtomicU64::new(0),
            redirect_upstream_authorization: Mutex::new(None),
        });
        let tasks = vec![
            tokio::spawn(accept_loop(main, shared.clone(), false)),
            tokio::spawn(accept_loop(redirect, shared.clone(), true)),
        ];
        Ok(FaultProxy {
            addr,
            redirect_addr,
            shared,
            tasks,
        })
    }

    /// `127.0.0.1:<port>`: use it as the registry host.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `127.0.0.1:<port>` of the redirect origin.
    pub fn redirect_host(&self) -> String {
        self.redirect_addr.to_string()
    }

    /// Adds a rule after the existing ones (the first matching active rule applies).
    pub fn add(&self, rule: Rule) -> RuleId {
        let mut rules = lock(&self.shared.rules);
        rules.push(RuleState {
            rule,
            hits: 0,
            active: true,
        });
        RuleId(rules.len() - 1)
    }

    /// Deactivates a rule; its count stays readable.
    pub fn remove(&self, id: RuleId) {
        if let Some(r) = lock(&self.shared.rules).get_mut(id.0) {
            r.active = false;
        }
    }

    /// Deactivates every rule.
    pub fn clear(&self) {
        for r in lock(&self.shared.rules).iter_mut() {
            r.active = false;
        }
    }

    /// Requests a rule has been applied to.
    pub fn hits(&self, id: RuleId) -> u64 {
        lock(&self.shared.rules).get(id.0).map_or(0, |r| r.hits)
    }

    /// Requests received on the main listener.
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// The most requests the main listener was serving at once: from a request's head arriving
    /// to just before the last byte of its answer is written (or the connection's end), so a
    /// client's next request, sent once it has that byte, never overlaps it here.
    pub fn max_in_flight(&self) -> u64 {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    /// Every request the main listener received whole (its body read to the end), in order of
    /// arrival, head only: the body is not kept. A request whose client broke off while sending
    /// its body is not in it.
    pub fn log(&self) -> Vec<Request> {
        lock(&self.shared.log).clone()
    }

    /// Requests received on the redirect origin.
    pub fn redirect_requests(&self) -> u64 {
        self.shared.redirect_requests.load(Ordering::Relaxed)
    }

    /// Requests that arrived at the redirect origin carrying an `Authorization` header (a
    /// credential that crossed origins).
    pub fn redirect_authorizations(&self) -> u64 {
        self.shared.redirect_authorizations.load(Ordering::Relaxed)
    }

    /// The `Authorization` value the redirect origin adds when it forwards upstream (the
    /// client's own is never forwarded from there), like the signature of a presigned URL.
    pub fn set_redirect_upstream_authorization(&self, value: Option<String>) {
        *lock(&self.shared.redirect_upstream_authorization) = value;
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        *lock(&self.shared.redirect_addr) = None;
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, redirect: bool) {
    let limit = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    // Owned here: aborting this task drops the set, which aborts every connection task.
    let mut connections = JoinSet::new();
    loop {
        let Ok(permit) = limit.clone().acquire_owned().await else {
            return;
        };
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        while connections.try_join_next().is_some() {}
        let shared = shared.clone();
        connections.spawn(async move {
            let _permit = permit;
            let _ = serve(stream, &shared, redirect).await;
        });
    }
}

async fn read_head<R: tokio::io::AsyncBufRead + Unpin>(r: &mut R) -> anyhow::Result<Head> {
    http::read_head(r, MAX_HEAD_BYTES)
        .await?
        .context("connection closed before a message head")
}

async fn read_body<R: tokio::io::AsyncBufRead + Unpin>(
    r: &mut R,
    head: &Head,
    until_eof: bool,
) -> anyhow::Result<Vec<u8>> {
    Ok(http::read_body(r, head, until_eof, MAX_BODY_BYTES).await?)
}

/// Headers never copied between the two sides: framing and connection management are redone.
fn hop_by_hop(name: &str) -> bool {
    [
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
        "proxy-connection",
        "te",
        "upgrade",
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h))
}

fn pick_fault(shared: &Shared, method: &str, target: &str, authorized: bool) -> Option<Fault> {
    let mut rules = lock(&shared.rules);
    let state = rules.iter_mut().find(|r| {
        r.active
            && r.rule.matches(method, target, authorized)
            && r.rule.times.is_none_or(|n| r.hits < n)
    })?;
    state.hits += 1;
    Some(state.rule.fault.clone())
}

/// One request of the main listener being served, counted in `in_flight` until dropped.
struct InFlight<'a>(&'a Shared);

/// An answer going out to a client, `left` bytes of it still to send. On the main listener the
/// request stops counting in flight ([`InFlight`]) just before the answer's last byte is
/// written, not when the connection task ends: a client that has the whole answer may send its
/// next request at once (on the place of its request limit this one just gave back), and that
/// request must not find this one still counted.
struct Answer<'c, 's> {
    client: &'c mut TcpStream,
    left: usize,
    in_flight: Option<InFlight<'s>>,
}

impl Answer<'_, '_> {
    /// Sends `bytes`; when they end the answer, the count ends before the last one goes.
    async fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.left = self.left.saturating_sub(bytes.len());
        match bytes.split_last() {
            Some((last, rest)) if self.left == 0 => {
                self.client.write_all(rest).await?;
                self.in_flight.take();
                self.client.write_all(std::slice::from_ref(last)).await?;
            }
            _ => self.client.write_all(bytes).await?,
        }
        self.client.flush().await
    }

    /// Ends the answer: the count (if no byte ended it) and the sending side.
    async fn finish(mut self) -> std::io::Result<()> {
        self.in_flight.take();
        self.client.flush().await?;
        let _ = self.client.shutdown().await;
        Ok(())
    }
}

impl InFlight<'_> {
    fn enter(shared: &Shared) -> InFlight<'_> {
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(shared)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn serve(stream: TcpStream, shared: &Shared, redirect: bool) -> anyhow::Result<()> {
    // An answer's last byte is written on its own (see `Answer`): it must not wait for the
    // acknowledgement of the bytes before it.
    stream.set_nodelay(true)?;
    let mut client = BufReader::new(stream);
    let request = read_head(&mut client).await?;
    let in_flight = (!redirect).then(|| InFlight::enter(shared));
    let body = read_body(&mut client, &request, false).await?;
    let mut parts = request.start.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let fault = count_and_pick(shared, redirect, &request, &method, &target);

    let mut answer = Answer {
        client: client.get_mut(),
        left: 0,
        in_flight,
    };
    if answer_alone(&mut answer, shared, fault.as_ref(), &target).await? {
        answer.finish().await?;
        return Ok(());
    }
    let upstream_auth = if redirect {
        Some(lock(&shared.redirect_upstream_authorization).clone())
    } else {
        None
    };
    let exchange = forward(shared.upstream, &method, &request, &body, upstream_auth);
    let (mut response, mut response_body) =
        tokio::time::timeout(UPSTREAM_TIMEOUT, exchange).await??;
    let head_request = method.eq_ignore_ascii_case("HEAD");
    tamper(
        fault.as_ref(),
        &mut response,
        &mut response_body,
        head_request,
    );
    let length = if head_request {
        response.content_length().unwrap_or(0)
    } else {
        response_body.len()
    };
    let head = response_head(&response, length);
    if head_request {
        answer.left = head.len();
        answer.send(&head).await?;
        answer.client.flush().await?;
        return Ok(());
    }
    answer.left = head.len() + response_body.len();
    answer.send(&head).await?;
    write_body(answer, fault, &response_body).await
}

/// Counts the request (on the redirect target: whether it carried `Authorization`) and picks
/// the fault of the first active rule it matches; the redirect target injects none.
fn count_and_pick(
    shared: &Shared,
    redirect: bool,
    request: &Head,
    method: &str,
    target: &str,
) -> Option<Fault> {
    let authorized = request.get("authorization").is_some();
    if redirect {
        shared.redirect_requests.fetch_add(1, Ordering::Relaxed);
        if authorized {
            shared
                .redirect_authorizations
                .fetch_add(1, Ordering::Relaxed);
        }
        return None;
    }
    shared.requests.fetch_add(1, Ordering::Relaxed);
    lock(&shared.log).push(Request::new(request, Vec::new()));
    pick_fault(shared, method, target, authorized)
}

/// Answers the faults that need no upstream (429, a status, a redirect); whether it did.
async fn answer_alone(
    client: &mut Answer<'_, '_>,
    shared: &Shared,
    fault: Option<&Fault>,
    target: &str,
) -> anyhow::Result<bool> {
    match fault {
        Some(Fault::TooManyRequests { retry_after }) => {
            let body = br#"{"errors":[{"code":"TOOMANYREQUESTS","message":"injected fault"}]}"#;
            let extra = format!("Retry-After: {retry_after}\r\n");
            write_simple(client, "429 Too Many Requests", &extra, body).await?;
        }
        Some(Fault::Status { status }) => {
            let body = br#"{"errors":[{"code":"UNKNOWN","message":"injected fault"}]}"#;
            write_simple(client, &format!("{status} Injected"), "", body).await?;
        }
        Some(Fault::Redirect) => {
            let Some(to) = *lock(&shared.redirect_addr) else {
                return Ok(true);
            };
            let extra = format!("Location: http://{to}{target}\r\n");
            write_simple(client, "307 Temporary Redirect", &extra, b"").await?;
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// Changes the upstream's answer as the fault says: a flipped byte, bytes appended, a manifest
/// cut into malformed JSON (without the digest header that would give it away).
fn tamper(fault: Option<&Fault>, response: &mut Head, body: &mut Vec<u8>, head_request: bool) {
    let status_ok = response
        .start
        .split_whitespace()
        .nth(1)
        .is_some_and(|s| s.starts_with('2'));
    match fault {
        Some(Fault::FlipByte { offset }) if !body.is_empty() => {
            let at = usize::try_from(*offset)
                .unwrap_or(usize::MAX)
                .min(body.len() - 1);
            body[at] ^= 0x01;
        }
        Some(Fault::Append { bytes }) if !head_request => body.extend_from_slice(bytes),
        Some(Fault::MalformedJson) if status_ok && !head_request => {
            *body = br#"{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "layers": [{"digest": "#.to_vec();
            response
                .headers
                .retain(|(n, _)| !n.eq_ignore_ascii_case("docker-content-digest"));
        }
        _ => {}
    }
}

/// The response head sent to the client: the upstream's status and end-to-end headers, the
/// body's `length`, and `Connection: close`.
fn response_head(response: &Head, length: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(response.start.as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in &response.headers {
        if hop_by_hop(name) {
            continue;
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(
        format!("Content-Length: {length}\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    out
}

/// Sends the body as the fault says: cut off, stalled, trickled, or whole.
async fn write_body(
    mut client: Answer<'_, '_>,
    fault: Option<Fault>,
    body: &[u8],
) -> anyhow::Result<()> {
    match fault {
        Some(Fault::CloseAfter { bytes }) => {
            let n = usize::try_from(bytes).unwrap_or(usize::MAX).min(body.len());
            client.send(&body[..n]).await?;
            return Ok(());
        }
        Some(Fault::Stall {
            after_bytes,
            duration,
        }) => {
            let n = usize::try_from(after_bytes)
                .unwrap_or(usize::MAX)
                .min(body.len());
            client.send(&body[..n]).await?;
            tokio::time::sleep(duration).await;
            client.send(&body[n..]).await?;
        }
        Some(Fault::Trickle { bytes_per_sec }) => {
            let per_tick = usize::try_from(bytes_per_sec.max(1) / 20)
                .unwrap_or(usize::MAX)
                .max(1);
            for piece in body.chunks(per_tick) {
                client.send(piece).await?;
                tokio::time::sleep(TRICKLE_TICK).await;
            }
        }
        _ => client.send(body).await?,
    }
    client.finish().await?;
    Ok(())
}

/// Sends a whole answer of its own (not the upstream's).
async fn write_simple(
    client: &mut Answer<'_, '_>,
    status: &str,
    extra_headers: &str,
    body: &[u8],
) -> anyhow::Result<()> {
    let content_type = if body.is_empty() {
        ""
    } else {
        "Content-Type: application/json\r\n"
    };
    let mut answer = format!(
        "HTTP/1.1 {status}\r\n{extra_headers}{content_type}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(body);
    client.left = answer.len();
    client.send(&answer).await?;
    Ok(())
}

/// Sends `request` upstream on a fresh connection and reads the whole answer.
/// `redirect_auth`: `Some` on the redirect origin, whose forwarded `Authorization` is replaced.
async fn forward(
    upstream: SocketAddr,
    method: &str,
    request: &Head,
    body: &[u8],
    redirect_auth: Option<Option<String>>,
) -> anyhow::Result<(Head, Vec<u8>)> {
    let mut stream = TcpStream::connect(upstream)
        .await
        .context("connecting upstream")?;
    let mut out = Vec::with_capacity(512 + body.len());
    out.extend_from_slice(request.start.as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in &request.headers {
        if hop_by_hop(name) {
            continue;
        }
        if redirect_auth.is_some() && name.eq_ignore_ascii_case("authorization") {
            continue;
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    if let Some(Some(auth)) = &redirect_auth {
        out.extend_from_slice(format!("Authorization: {auth}\r\n").as_bytes());
    }
    let sends_body = !body.is_empty() || matches!(method, "PUT" | "POST" | "PATCH");
    if sends_body {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out.extend_from_slice(body);
    stream.write_all(&out).await?;
    stream.flush().await?;

    let mut reader = BufReader::new(stream);
    let head = read_head(&mut reader).await?;
    let status = head.start.split_whitespace().nth(1).unwrap_or_default();
    let bodiless = method.eq_ignore_ascii_case("HEAD")
        || status.starts_with('1')
        || status == "204"
        || status == "304";
    let body = if bodiless {
        Vec::new()
    } else {
        read_body(&mut reader, &head, true).await?
    };
    Ok((head, body))
}
