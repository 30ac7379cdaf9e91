//! A hostile in-process HTTP/1.1 server: hand-rolled so it can misbehave in ways real servers
//! won't (endless bodies, wrong digests, redirect loops). One request per connection.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use oci_client::{Client, ClientBuilder, RetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as received.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub(crate) method: String,
    /// Path with query.
    pub(crate) target: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Recorded {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
}

/// A response body.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    Bytes(Vec<u8>),
    /// Chunked transfer encoding, repeating `x` until `total` bytes or the client hangs up.
    Endless {
        total: u64,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Body,
}

impl Reply {
    pub(crate) fn new(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Body::Bytes(Vec::new()),
        }
    }

    pub(crate) fn header(mut self, k: &str, v: &str) -> Reply {
        self.headers.push((k.to_owned(), v.to_owned()));
        self
    }

    pub(crate) fn body(mut self, b: impl Into<Vec<u8>>) -> Reply {
        self.body = Body::Bytes(b.into());
        self
    }

    pub(crate) fn endless(mut self, total: u64) -> Reply {
        self.body = Body::Endless { total };
        self
    }
}

type Handler = Arc<dyn Fn(&Recorded) -> Reply + Send + Sync>;

pub(crate) struct Server {
    pub(crate) addr: std::net::SocketAddr,
    log: Arc<Mutex<Vec<Recorded>>>,
    written: Arc<AtomicU64>,
}

impl Server {
    pub(crate) async fn start(
        handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
    ) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let written = Arc::new(AtomicU64::new(0));
        let handler: Handler = Arc::new(handler);
        let (log2, written2) = (log.clone(), written.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (handler, log, written) = (handler.clone(), log2.clone(), written2.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, handler, log, written).await;
                });
            }
        });
        Server { addr, log, written }
    }

    /// `127.0.0.1:<port>`, as a registry name.
    pub(crate) fn registry(&self) -> String {
        self.addr.to_string()
    }

    pub(crate) fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.log.lock().expect("log lock").clone()
    }

    /// Body bytes written by endless bodies so far.
    pub(crate) fn written(&self) -> u64 {
        self.written.load(Ordering::SeqCst)
    }

    pub(crate) fn builder(&self) -> ClientBuilder {
        Client::builder()
            .plain_http(&self.registry())
            .keychain(oci_auth::Keychain::empty())
            .retry_policy(fast_retries())
    }

    pub(crate) fn client(&self) -> Client {
        self.builder().build().expect("client builds")
    }

    pub(crate) fn repo(&self, name: &str) -> oci_client::Repository {
        let r: oci_ref::Reference = format!("{}/{name}:latest", self.registry())
            .parse()
            .expect("reference parses");
        self.client().repository(&r).expect("repository handle")
    }
}

pub(crate) fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 5,
        initial_backoff: std::time::Duration::from_millis(1),
        max_backoff: std::time::Duration::from_millis(5),
        max_total_wait: std::time::Duration::from_secs(5),
    }
}

/// A request head: method, target, headers and the `Content-Length` (0 when absent). Shared by
/// this server and the TLS one in `security.rs`.
pub(crate) fn parse_head(head: &[u8]) -> (String, String, Vec<(String, String)>, usize) {
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let method = first.next().unwrap_or("").to_owned();
    let target = first.next().unwrap_or("").to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    (method, target, headers, len)
}

async fn serve(
    mut stream: TcpStream,
    handler: Handler,
    log: Arc<Mutex<Vec<Recorded>>>,
    written: Arc<AtomicU64>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    let head_end = loop {
        let n = stream.read(&mut tmp).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let (method, target, headers, len) = parse_head(&buf[..head_end]);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = stream.read(&mut tmp).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&tmp[..n]);
    }
    let req = Recorded {
        method: method.clone(),
        target,
        headers,
        body,
    };
    log.lock().expect("log lock").push(req.clone());
    let reply = handler(&req);
    let mut out = format!("HTTP/1.1 {} X\r\nConnection: close\r\n", reply.status);
    for (k, v) in &reply.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    match &reply.body {
        Body::Bytes(b) => {
            if !reply
                .headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            {
                out.push_str(&format!("Content-Length: {}\r\n", b.len()));
            }
            out.push_str("\r\n");
            stream.write_all(out.as_bytes()).await?;
            if method != "HEAD" {
                stream.write_all(b).await?;
            }
        }
        Body::Endless { total } => {
            out.push_str("Transfer-Encoding: chunked\r\n\r\n");
            stream.write_all(out.as_bytes()).await?;
            let chunk = vec![b'x'; 64 * 1024];
            let mut sent = 0u64;
            while sent < *total {
                stream
                    .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                    .await?;
                stream.write_all(&chunk).await?;
                stream.write_all(b"\r\n").await?;
                sent += chunk.len() as u64;
                written.fetch_add(chunk.len() as u64, Ordering::SeqCst);
            }
            stream.write_all(b"0\r\n\r\n").await?;
        }
    }
    stream.flush().await?;
    Ok(())
}

/// sha256 digest string of `data`.
pub(crate) fn sha256(data: &[u8]) -> oci_ref::Digest {
    oci_ref::digest_of(oci_ref::Algorithm::Sha256, data)
}
