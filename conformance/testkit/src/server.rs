//! A scriptable hostile HTTP/1.1 server on loopback, for behaviour no real registry produces on
//! purpose: wrong lengths, bodies cut short or endless, stalls, redirect loops, lying digests.
//!
//! One request per connection (`Connection: close`); a handler turns each [`Request`] into a
//! [`Reply`]; every request is logged ([`Server::requests`]). Plain HTTP ([`Server::start`]) or
//! TLS with the test certificate ([`Server::start_tls`], trusted through [`crate::tls::CA_PEM`]).
//!
//! The server runs on a thread of its own with its own runtime, so it serves blocking and async
//! tests alike, whatever runtime flavour the test uses. Dropping the [`Server`] stops it and
//! cuts every open connection.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _, BufReader};

pub use crate::http::Request;
use crate::http::{MAX_BODY_BYTES, MAX_HEAD_BYTES, read_body, read_head};

/// A reply body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// These bytes (not sent for `HEAD`).
    Bytes(Vec<u8>),
    /// Chunked transfer coding repeating `x` in 64 KiB chunks until `total` bytes were sent or
    /// the client hung up; [`Server::written`] counts them.
    Endless {
        /// Bytes after which the body ends after all.
        total: u64,
    },
}

/// What the server answers, with the ways it can misbehave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Status code (the reason phrase is always `X`).
    pub status: u16,
    /// Headers, sent as given and in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Body,
    /// A pause before anything is sent.
    pub delay: Duration,
    /// No `Content-Length`: the body ends when the connection closes.
    pub close_delimited: bool,
    /// A `Content-Length` other than the body's (the answer breaks off or runs over).
    pub declared_length: Option<u64>,
}

impl Reply {
    /// An empty reply with `status`; `Content-Length` is added unless a header sets one.
    pub fn new(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Body::Bytes(Vec::new()),
            delay: Duration::ZERO,
            close_delimited: false,
            declared_length: None,
        }
    }

    /// A redirect with `status` to `location`.
    pub fn redirect(status: u16, location: &str) -> Reply {
        Reply::new(status).header("Location", location)
    }

    /// `200` with a JSON body.
    pub fn json(body: &str) -> Reply {
        Reply::new(200)
            .header("Content-Type", "application/json")
            .body(body)
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Reply {
        self.body = Body::Bytes(body.into());
        self
    }

    /// An endless body (see [`Body::Endless`]).
    pub fn endless(mut self, total: u64) -> Reply {
        self.body = Body::Endless { total };
        self
    }

    /// Waits `delay` before answering.
    pub fn delay(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }

    /// Sends no `Content-Length`: the body ends with the connection.
    pub fn close_delimited(mut self) -> Reply {
        self.close_delimited = true;
        self
    }

    /// Announces `length` bytes whatever the body holds, sends the body, then closes.
    pub fn cut_short(mut self, length: u64) -> Reply {
        self.declared_length = Some(length);
        self
    }

    fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(name))
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

/// What the connections share.
struct Shared {
    handler: Box<Handler>,
    log: Mutex<Vec<Request>>,
    written: AtomicU64,
}

/// A running server; stops when dropped.
pub struct Server {
    addr: SocketAddr,
    scheme: &'static str,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("origin", &self.origin())
            .finish()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Server {
    /// Starts a plain-HTTP server on a free `127.0.0.1` port.
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Server {
        Server::launch(Box::new(handler), None)
    }

    /// Starts an HTTPS server with the test certificate ([`crate::tls`]).
    pub fn start_tls(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Server {
        let acceptor = tokio_rustls::TlsAcceptor::from(crate::tls::server_config());
        Server::launch(Box::new(handler), Some(acceptor))
    }

    fn launch(handler: Box<Handler>, tls: Option<tokio_rustls::TlsAcceptor>) -> Server {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared {
            handler,
            log: Mutex::new(Vec::new()),
            written: AtomicU64::new(0),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let conns = shared.clone();
        std::thread::Builder::new()
            .name(format!("test-server-{addr}"))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("server runtime");
                runtime.block_on(accept_loop(listener, conns, tls, stopped));
            })
            .expect("server thread");
        Server {
            addr,
            scheme,
            shared,
            stop: Some(stop),
        }
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1:<port>`, as a registry name.
    pub fn registry(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:<port>` (or `https://`).
    pub fn origin(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// The origin followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin())
    }

    /// Every request received so far, in order of arrival.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.log.lock().expect("request log").clone()
    }

    /// Bytes of endless bodies written so far.
    pub fn written(&self) -> u64 {
        self.shared.written.load(Ordering::SeqCst)
    }
}

async fn accept_loop(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    loop {
        let stream = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
        };
        let (shared, tls) = (shared.clone(), tls.clone());
        tokio::spawn(async move {
            match tls {
                Some(acceptor) => {
                    if let Ok(stream) = acceptor.accept(stream).await {
                        let _ = serve(stream, &shared).await;
                    }
                }
                None => {
                    let _ = serve(stream, &shared).await;
                }
            }
        });
    }
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    shared: &Shared,
) -> std::io::Result<()> {
    let mut stream = BufReader::new(stream);
    let Some(head) = read_head(&mut stream, MAX_HEAD_BYTES).await? else {
        return Ok(());
    };
    let body = read_body(&mut stream, &head, false, MAX_BODY_BYTES).await?;
    let request = Request::new(&head, body);
    shared
        .log
        .lock()
        .expect("request log")
        .push(request.clone());
    let reply = (shared.handler)(&request);
    tokio::time::sleep(reply.delay).await;
    write_reply(&mut stream, &request.method, &reply, &shared.written).await?;
    stream.flush().await?;
    stream.shutdown().await
}

async fn write_reply<W: AsyncWrite + Unpin>(
    w: &mut W,
    method: &str,
    reply: &Reply,
    written: &AtomicU64,
) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {} X\r\nConnection: close\r\n", reply.status);
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    match &reply.body {
        Body::Bytes(bytes) => {
            if let Some(length) = reply.declared_length {
                head.push_str(&format!("Content-Length: {length}\r\n"));
            } else if !reply.close_delimited && !reply.has_header("content-length") {
                head.push_str(&format!("Content-Length: {}\r\n", bytes.len()));
            }
            head.push_str("\r\n");
            w.write_all(head.as_bytes()).await?;
            if method != "HEAD" {
                w.write_all(bytes).await?;
            }
        }
        Body::Endless { total } => {
            head.push_str("Transfer-Encoding: chunked\r\n\r\n");
            w.write_all(head.as_bytes()).await?;
            let chunk = vec![b'x'; 64 * 1024];
            let mut sent = 0u64;
            while sent < *total {
                w.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                    .await?;
                w.write_all(&chunk).await?;
                w.write_all(b"\r\n").await?;
                sent += chunk.len() as u64;
                written.fetch_add(chunk.len() as u64, Ordering::SeqCst);
            }
            w.write_all(b"0\r\n\r\n").await?;
        }
    }
    Ok(())
}
