//! HTTP/1.1 message heads and bodies, read the same way by the hostile [`crate::server`], the
//! conformance token server (blocking) and the conformance fault proxy (async).
//!
//! [`Head::parse`] is sans-IO; [`read_head`]/[`read_body`] read from a tokio stream and
//! [`read_head_blocking`]/[`read_body_blocking`] from a `std` one. Header values are kept as the
//! bytes that arrived, so a proxy forwards them unchanged.

use std::io::{self, BufRead, Read as _};

use tokio::io::{AsyncBufRead, AsyncBufReadExt as _, AsyncReadExt as _};

/// Largest message head (start line plus headers) read; a longer one is refused.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Largest body read; a longer one is refused.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// A parsed HTTP/1.1 message head: a request or a status line, then headers in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The request line or status line, without its line break.
    pub start: String,
    /// Header names as sent (trimmed) and values as sent (trimmed bytes), in order.
    pub headers: Vec<(String, Vec<u8>)>,
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

impl Head {
    /// Parses a head: lines separated by `\n` or `\r\n`, up to the first empty line (leading
    /// empty lines are skipped, as RFC 9112 §2.2 allows).
    ///
    /// # Errors
    ///
    /// `InvalidData` when there is no start line or a header line has no colon.
    pub fn parse(bytes: &[u8]) -> io::Result<Head> {
        let mut builder = HeadBuilder::default();
        for line in bytes.split(|b| *b == b'\n') {
            if let Some(head) = builder.line(line)? {
                return Ok(head);
            }
        }
        builder.finish()
    }

    /// The first value of header `name` (any case).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// The `Content-Length`, when present and a number.
    pub fn content_length(&self) -> Option<usize> {
        std::str::from_utf8(self.get("content-length")?)
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Whether the body is sent with chunked transfer coding.
    pub fn is_chunked(&self) -> bool {
        self.get("transfer-encoding").is_some_and(|v| {
            String::from_utf8_lossy(v)
                .to_ascii_lowercase()
                .contains("chunked")
        })
    }

    /// The first word of the start line: a request's method.
    pub fn method(&self) -> &str {
        self.start.split_whitespace().next().unwrap_or_default()
    }

    /// The second word of the start line: a request's target, or a response's status code.
    pub fn target(&self) -> &str {
        self.start.split_whitespace().nth(1).unwrap_or_default()
    }
}

/// Builds a [`Head`] line by line.
#[derive(Default)]
struct HeadBuilder {
    start: String,
    headers: Vec<(String, Vec<u8>)>,
    /// Bytes a reader took so far ([`HeadBuilder::read_line`]).
    taken: usize,
}

impl HeadBuilder {
    /// Takes one line (its `\n` and `\r` are stripped); the head once the empty line came.
    fn line(&mut self, line: &[u8]) -> io::Result<Option<Head>> {
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        if text.is_empty() {
            return if self.start.is_empty() {
                Ok(None)
            } else {
                self.finish().map(Some)
            };
        }
        if self.start.is_empty() {
            self.start = String::from_utf8_lossy(text).into_owned();
            return Ok(None);
        }
        let colon = text
            .iter()
            .position(|b| *b == b':')
            .ok_or_else(|| invalid("header line without a colon"))?;
        let name = String::from_utf8_lossy(&text[..colon]).trim().to_owned();
        self.headers
            .push((name, text[colon + 1..].trim_ascii().to_vec()));
        Ok(None)
    }

    /// Takes one line a reader read (empty at the end of the stream), against a budget of `max`
    /// bytes for the head; `Some` once reading is over: the head, or `None` when the peer closed
    /// before sending a byte. Both readers ([`read_head`], [`read_head_blocking`]) go through it.
    fn read_line(&mut self, line: &[u8], max: usize) -> io::Result<Option<Option<Head>>> {
        if line.is_empty() {
            return match self.taken {
                0 => Ok(Some(None)),
                _ => Err(invalid("connection closed inside a message head")),
            };
        }
        self.taken += line.len();
        if self.taken >= max {
            return Err(invalid("message head too large"));
        }
        Ok(self.line(line)?.map(Some))
    }

    fn finish(&mut self) -> io::Result<Head> {
        if self.start.is_empty() {
            return Err(invalid("message head without a start line"));
        }
        Ok(Head {
            start: std::mem::take(&mut self.start),
            headers: std::mem::take(&mut self.headers),
        })
    }
}

/// Reads a head of at most `max` bytes. `None` when the peer closed before sending a byte.
///
/// # Errors
///
/// IO errors; `InvalidData` for a head over `max`, one the peer broke off, or a malformed one.
pub async fn read_head<R: AsyncBufRead + Unpin>(r: &mut R, max: usize) -> io::Result<Option<Head>> {
    let mut builder = HeadBuilder::default();
    let mut line = Vec::new();
    loop {
        line.clear();
        let budget = (max - builder.taken) as u64;
        (&mut *r).take(budget).read_until(b'\n', &mut line).await?;
        if let Some(done) = builder.read_line(&line, max)? {
            return Ok(done);
        }
    }
}

/// The blocking twin of [`read_head`].
///
/// # Errors
///
/// As [`read_head`].
pub fn read_head_blocking<R: BufRead>(r: &mut R, max: usize) -> io::Result<Option<Head>> {
    let mut builder = HeadBuilder::default();
    let mut line = Vec::new();
    loop {
        line.clear();
        let budget = (max - builder.taken) as u64;
        (&mut *r).take(budget).read_until(b'\n', &mut line)?;
        if let Some(done) = builder.read_line(&line, max)? {
            return Ok(done);
        }
    }
}

/// Reads the body `head` announces: chunked, `Content-Length`, or (when `until_eof`, as for a
/// response without either) everything up to the close. At most `max` bytes.
///
/// # Errors
///
/// IO errors (a body cut short is `UnexpectedEof`); `InvalidData` for a body over `max` or a
/// malformed chunk size.
pub async fn read_body<R: AsyncBufRead + Unpin>(
    r: &mut R,
    head: &Head,
    until_eof: bool,
    max: usize,
) -> io::Result<Vec<u8>> {
    if head.is_chunked() {
        return read_chunked(r, max).await;
    }
    if let Some(len) = head.content_length() {
        if len > max {
            return Err(invalid("body too large"));
        }
        let mut body = vec![0u8; len];
        r.read_exact(&mut body).await?;
        return Ok(body);
    }
    let mut body = Vec::new();
    if until_eof {
        (&mut *r)
            .take(max as u64 + 1)
            .read_to_end(&mut body)
            .await?;
        if body.len() > max {
            return Err(invalid("body too large"));
        }
    }
    Ok(body)
}

async fn read_chunked<R: AsyncBufRead + Unpin>(r: &mut R, max: usize) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        (&mut *r).take(1024).read_until(b'\n', &mut line).await?;
        let size = chunk_size(&line)?;
        if size == 0 {
            // Trailers, up to the empty line.
            loop {
                line.clear();
                let n = (&mut *r).take(8192).read_until(b'\n', &mut line).await?;
                if n == 0 || line.trim_ascii().is_empty() {
                    return Ok(body);
                }
            }
        }
        if body.len() + size > max {
            return Err(invalid("chunked body too large"));
        }
        let at = body.len();
        body.resize(at + size, 0);
        r.read_exact(&mut body[at..]).await?;
        let mut crlf = [0u8; 2];
        r.read_exact(&mut crlf).await?;
    }
}

fn chunk_size(line: &[u8]) -> io::Result<usize> {
    let text = String::from_utf8_lossy(line);
    let size = text.trim().split(';').next().unwrap_or_default();
    usize::from_str_radix(size, 16).map_err(|_| invalid("malformed chunk size"))
}

/// The blocking twin of [`read_body`] for request bodies: `Content-Length` only (none is an
/// empty body).
///
/// # Errors
///
/// IO errors (a body cut short is `UnexpectedEof`); `InvalidData` for a chunked body or one
/// over `max`.
pub fn read_body_blocking<R: BufRead>(r: &mut R, head: &Head, max: usize) -> io::Result<Vec<u8>> {
    if head.is_chunked() {
        return Err(invalid(
            "chunked request bodies are not read by the blocking reader",
        ));
    }
    let len = head.content_length().unwrap_or(0);
    if len > max {
        return Err(invalid("body too large"));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    Ok(body)
}

/// One request as received, as test assertions look at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method, as sent.
    pub method: String,
    /// The request target: path and query.
    pub target: String,
    /// Headers in order, values read lossily as UTF-8.
    pub headers: Vec<(String, String)>,
    /// The body (chunked coding removed).
    pub body: Vec<u8>,
}

impl Request {
    /// The request of `head` with `body`.
    pub fn new(head: &Head, body: Vec<u8>) -> Request {
        Request {
            method: head.method().to_owned(),
            target: head.target().to_owned(),
            headers: head
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned()))
                .collect(),
            body,
        }
    }

    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The target without its query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    /// Query parameters, decoded, in order.
    pub fn query(&self) -> Vec<(String, String)> {
        let q = self
            .target
            .split_once('?')
            .map(|(_, q)| q)
            .unwrap_or_default();
        form_pairs(q.as_bytes())
    }

    /// `application/x-www-form-urlencoded` body parameters, decoded, in order.
    pub fn form(&self) -> Vec<(String, String)> {
        form_pairs(&self.body)
    }
}

/// `application/x-www-form-urlencoded` pairs, decoded, in order (a query string or a form body).
pub fn form_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(bytes).into_owned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_pairs_decode_percent_and_plus() {
        assert_eq!(
            form_pairs(b"scope=repository%3Aa%2Fb%3Apull&x=a+b&bad=%zz&y"),
            [
                ("scope".to_owned(), "repository:a/b:pull".to_owned()),
                ("x".to_owned(), "a b".to_owned()),
                ("bad".to_owned(), "%zz".to_owned()),
                ("y".to_owned(), String::new()),
            ]
        );
    }

    #[test]
    fn heads_parse_and_malformed_ones_are_refused() {
        let head =
            Head::parse(b"\r\nPUT /v2/a?x=1 HTTP/1.1\r\nContent-Length: 3\r\nX:  v \r\n\r\nbody")
                .expect("head");
        assert_eq!((head.method(), head.target()), ("PUT", "/v2/a?x=1"));
        assert_eq!(head.content_length(), Some(3));
        assert_eq!(head.get("x"), Some(&b"v"[..]));
        let request = Request::new(&head, b"abc".to_vec());
        assert_eq!(request.path(), "/v2/a");
        assert_eq!(request.query(), [("x".to_owned(), "1".to_owned())]);
        let e = Head::parse(b"GET / HTTP/1.1\r\nno colon\r\n\r\n").expect_err("no colon");
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(Head::parse(b"\r\n\r\n").is_err(), "no start line");
    }

    #[test]
    fn blocking_reader_reads_one_request_and_refuses_oversized_heads() {
        let mut wire = &b"POST /token HTTP/1.1\r\nContent-Length: 5\r\n\r\na=b&c"[..];
        let head = read_head_blocking(&mut wire, MAX_HEAD_BYTES)
            .expect("read")
            .expect("a head");
        let body = read_body_blocking(&mut wire, &head, MAX_BODY_BYTES).expect("body");
        assert_eq!(Request::new(&head, body).form().len(), 2);
        let mut empty = &b""[..];
        assert!(
            read_head_blocking(&mut empty, MAX_HEAD_BYTES)
                .expect("eof")
                .is_none()
        );
        let mut long = &b"GET / HTTP/1.1\r\nX: 0123456789\r\n\r\n"[..];
        let e = read_head_blocking(&mut long, 20).expect_err("too large");
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    }
}
