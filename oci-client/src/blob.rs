//! Blobs: HEAD, streaming GET (verified, or unverified for callers that hash themselves), GET
//! with `Range` (from an offset on, or just the first bytes), DELETE.
//!
//! Nothing here buffers a blob: [`BlobStream`] yields chunks as they arrive. A full fetch hashes
//! while streaming and ends with an error item instead of end-of-stream when the digest or size
//! is wrong, so a consumer that writes chunks somewhere must treat the data as unverified until
//! the stream has ended cleanly (`oci-fetch` writes to a temporary file and renames afterwards).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt};
use oci_ref::Digest;
use reqwest::header;
use reqwest::{Method, StatusCode};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::error::{Error, Protocol};
use crate::manifest::{content_length, docker_content_digest};
use crate::repository::{Access, Repository, header_value};
use crate::transport::{Req, transport_error};
use oci_ref::Hasher;

/// What a blob `HEAD` told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    /// `Content-Length`, when sent.
    pub size: Option<u64>,
}

/// A blob body as a stream of chunks.
pub struct BlobStream {
    content_length: Option<u64>,
    partial: bool,
    inner: BoxStream<'static, Result<Bytes, Error>>,
}

impl std::fmt::Debug for BlobStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobStream")
            .field("content_length", &self.content_length)
            .field("partial", &self.partial)
            .finish_non_exhaustive()
    }
}

impl BlobStream {
    /// The length of this response's body (for a range fetch: of the part sent).
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// For [`Repository::fetch_blob_range`]: whether the registry honoured the range
    /// (`206` with a matching `Content-Range`). When `false` the stream starts at byte 0.
    pub fn is_partial(&self) -> bool {
        self.partial
    }
}

impl BlobStream {
    /// The body of `resp` (from `url`, redacted) as it arrives, nothing checked.
    fn unverified(resp: reqwest::Response, url: String, partial: bool) -> BlobStream {
        let content_length = resp.content_length();
        let inner = resp
            .bytes_stream()
            .map(move |r| r.map_err(|e| transport_error(&Method::GET, &url, e)))
            .boxed();
        BlobStream {
            content_length,
            partial,
            inner,
        }
    }
}

impl Stream for BlobStream {
    type Item = Result<Bytes, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

/// Hashes and counts chunks; the last item is an error when digest or size are wrong.
struct Verify {
    inner: BoxStream<'static, reqwest::Result<Bytes>>,
    hasher: Option<Hasher>,
    expected: Digest,
    expected_size: Option<u64>,
    seen: u64,
    url: String,
}

impl Stream for Verify {
    type Item = Result<Bytes, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.hasher.is_none() {
            return Poll::Ready(None);
        }
        match self.inner.poll_next_unpin(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(chunk))) => {
                self.seen += chunk.len() as u64;
                if let Some(expected) = self.expected_size.filter(|&s| self.seen > s) {
                    self.hasher = None;
                    let (url, actual) = (self.url.clone(), self.seen);
                    return Poll::Ready(Some(Err(Error::SizeMismatch {
                        url,
                        expected,
                        actual,
                    })));
                }
                if let Some(h) = self.hasher.as_mut() {
                    h.update(&chunk);
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => {
                self.hasher = None;
                Poll::Ready(Some(Err(transport_error(&Method::GET, &self.url, e))))
            }
            Poll::Ready(None) => {
                let Some(hasher) = self.hasher.take() else {
                    return Poll::Ready(None);
                };
                let url = self.url.clone();
                if let Some(expected) = self.expected_size.filter(|&s| self.seen != s) {
                    return Poll::Ready(Some(Err(Error::SizeMismatch {
                        url,
                        expected,
                        actual: self.seen,
                    })));
                }
                let actual = hasher.finish();
                if actual != self.expected {
                    return Poll::Ready(Some(Err(Error::DigestMismatch {
                        url,
                        expected: self.expected.clone(),
                        actual,
                    })));
                }
                Poll::Ready(None)
            }
        }
    }
}

impl Repository {
    /// `HEAD` on a blob: `None` when it does not exist.
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] when the registry cannot be reached or the connection breaks (after the
    /// retries of the client's [`RetryPolicy`](crate::RetryPolicy)), [`Error::Auth`] when
    /// authentication fails, [`Error::Registry`] for an error status (see [`Error::is_not_found`],
    /// [`Error::is_unauthorized`]) (404 is `Ok(None)`); [`Error::Protocol`] for an invalid
    /// `Docker-Content-Digest`.
    pub async fn head_blob(&self, digest: &Digest) -> Result<Option<BlobInfo>, Error> {
        let target = self.target(Access::Pull)?;
        let url = self.url(&format!("blobs/{digest}"))?;
        let resp = self
            .client
            .inner
            .send(&target, Req::new(Method::HEAD, url))
            .await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(self
                .client
                .inner
                .status_error(&Method::HEAD, &target, resp)
                .await);
        }
        Ok(Some(BlobInfo {
            size: content_length(resp.headers()),
        }))
    }

    /// Streams a whole blob, verified against `digest` (and `expected_size` when given) while
    /// it arrives. Redirects to storage are followed without credentials unless trusted.
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] when the registry cannot be reached or the connection breaks (after the
    /// retries of the client's [`RetryPolicy`](crate::RetryPolicy)), [`Error::Auth`] when
    /// authentication fails, [`Error::Registry`] for an error status (see [`Error::is_not_found`],
    /// [`Error::is_unauthorized`]). The stream itself ends with [`Error::DigestMismatch`] or
    /// [`Error::SizeMismatch`] when the bytes are wrong, and [`Error::Transport`] when the body
    /// breaks off.
    pub async fn fetch_blob(
        &self,
        digest: &Digest,
        expected_size: Option<u64>,
    ) -> Result<BlobStream, Error> {
        let hasher = Hasher::new(digest.algorithm());
        let (resp, redacted) = self.open_blob(digest, expected_size).await?;
        let content_length = resp.content_length();
        let verify = Verify {
            inner: resp.bytes_stream().boxed(),
            hasher: Some(hasher),
            expected: digest.clone(),
            expected_size: expected_size.or(content_length),
            seen: 0,
            url: redacted,
        };
        Ok(BlobStream {
            content_length,
            partial: false,
            inner: verify.boxed(),
        })
    }

    /// Streams a whole blob **without hashing it**, for callers that verify the bytes
    /// themselves (`oci-fetch`'s download engine hashes while it writes, so hashing here too
    /// would cost a second pass over every byte). Only what the answer's headers show is
    /// checked: a `Docker-Content-Digest` naming another digest, and a `Content-Length` other
    /// than `expected_size`.
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] when the registry cannot be reached or the connection breaks (after the
    /// retries of the client's [`RetryPolicy`](crate::RetryPolicy)), [`Error::Auth`] when
    /// authentication fails, [`Error::Registry`] for an error status (see [`Error::is_not_found`],
    /// [`Error::is_unauthorized`]); [`Error::DigestMismatch`] when `Docker-Content-Digest` names
    /// another digest, [`Error::SizeMismatch`] when `Content-Length` differs from `expected_size`.
    pub async fn fetch_blob_unverified(
        &self,
        digest: &Digest,
        expected_size: Option<u64>,
    ) -> Result<BlobStream, Error> {
        let (resp, url) = self.open_blob(digest, expected_size).await?;
        Ok(BlobStream::unverified(resp, url, false))
    }

    /// `GET` a whole blob and check its headers against `digest` and `expected_size`.
    async fn open_blob(
        &self,
        digest: &Digest,
        expected_size: Option<u64>,
    ) -> Result<(reqwest::Response, String), Error> {
        let target = self.target(Access::Pull)?;
        let url = self.url(&format!("blobs/{digest}"))?;
        let resp = self.send_ok(&target, Req::new(Method::GET, url)).await?;
        let redacted = self.client.inner.redact(resp.url(), &target);
        if let Some(announced) = docker_content_digest(resp.headers(), &redacted)?
            && announced.algorithm() == digest.algorithm()
            && &announced != digest
        {
            return Err(Error::DigestMismatch {
                url: redacted,
                expected: digest.clone(),
                actual: announced,
            });
        }
        if let (Some(expected), Some(actual)) = (expected_size, resp.content_length())
            && expected != actual
        {
            return Err(Error::SizeMismatch {
                url: redacted,
                expected,
                actual,
            });
        }
        Ok((resp, redacted))
    }

    /// Streams a blob from byte `offset` (`Range: bytes=<offset>-`). Not verified: the caller
    /// holds the earlier bytes. Check [`BlobStream::is_partial`]: a registry that ignores the
    /// range answers `200` with the whole blob.
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] when the registry cannot be reached or the connection breaks (after the
    /// retries of the client's [`RetryPolicy`](crate::RetryPolicy)), [`Error::Auth`] when
    /// authentication fails, [`Error::Registry`] for an error status (see [`Error::is_not_found`],
    /// [`Error::is_unauthorized`]); [`Error::Protocol`] for an invalid `Content-Range`.
    pub async fn fetch_blob_range(
        &self,
        digest: &Digest,
        offset: u64,
    ) -> Result<BlobStream, Error> {
        let (resp, url, partial) = self.open_range(digest, offset, None).await?;
        Ok(BlobStream::unverified(resp, url, partial))
    }

    /// The first `len` bytes of a blob, with one bounded request (`Range: bytes=0-<len-1>`),
    /// unverified: enough to tell its compression by its magic number without starting a
    /// transfer of the whole blob. No more than `len` bytes are kept, and the connection is
    /// dropped once they have arrived: a registry that ignores the range (`200` with the whole
    /// blob) or sends more than asked costs what the transport has buffered by then, not the
    /// blob. `len` 0 sends no request.
    ///
    /// The caller knows the blob has at least `len` bytes (from its descriptor): a body that
    /// ends sooner is an error, not a shorter answer.
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] when the registry cannot be reached or the connection breaks (after the
    /// retries of the client's [`RetryPolicy`](crate::RetryPolicy)), [`Error::Auth`] when
    /// authentication fails, [`Error::Registry`] for an error status (see [`Error::is_not_found`],
    /// [`Error::is_unauthorized`]), among them `416` (the registry holds no byte of the range);
    /// [`Error::Protocol`] ([`Protocol::InvalidContentRange`]) for a `206` whose
    /// `Content-Range` does not start at byte 0; [`Error::SizeMismatch`] when the body ends
    /// before `len` bytes.
    pub async fn fetch_blob_prefix(&self, digest: &Digest, len: usize) -> Result<Bytes, Error> {
        let Some(last) = (len as u64).checked_sub(1) else {
            return Ok(Bytes::new());
        };
        let (resp, url, _) = self.open_range(digest, 0, Some(last)).await?;
        let mut body = resp.bytes_stream();
        let mut prefix = Vec::new();
        while prefix.len() < len {
            match body.next().await {
                Some(Ok(chunk)) => {
                    let take = chunk.len().min(len - prefix.len());
                    prefix.reserve_exact(take);
                    prefix.extend_from_slice(&chunk[..take]);
                }
                Some(Err(e)) => return Err(transport_error(&Method::GET, &url, e)),
                None => {
                    return Err(Error::SizeMismatch {
                        url,
                        expected: len as u64,
                        actual: prefix.len() as u64,
                    });
                }
            }
        }
        Ok(Bytes::from(prefix))
    }

    /// `GET` a blob with `Range: bytes=<first>-[<last>]`. Returns the answer, its redacted URL
    /// and whether the range was honoured: `206` with a `Content-Range` starting at `first`
    /// (any other start is an error), or `200` with the whole blob.
    async fn open_range(
        &self,
        digest: &Digest,
        first: u64,
        last: Option<u64>,
    ) -> Result<(reqwest::Response, String, bool), Error> {
        let target = self.target(Access::Pull)?;
        let url = self.url(&format!("blobs/{digest}"))?;
        let range = match last {
            Some(last) => format!("bytes={first}-{last}"),
            None => format!("bytes={first}-"),
        };
        let req = Req::new(Method::GET, url).header(header::RANGE, header_value(&range)?);
        let resp = self.send_ok(&target, req).await?;
        let redacted = self.client.inner.redact(resp.url(), &target);
        let partial = resp.status() == StatusCode::PARTIAL_CONTENT;
        if partial {
            let start = resp
                .headers()
                .get(header::CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(content_range_start);
            if start != Some(first) {
                return Err(Error::protocol(&redacted, Protocol::InvalidContentRange));
            }
        }
        Ok((resp, redacted, partial))
    }

    /// Fetches a whole blob into `sink`, verified; returns the number of bytes written. On
    /// error, whatever was written is unverified and must be discarded by the caller.
    ///
    /// # Errors
    ///
    /// As [`Repository::fetch_blob`], and [`Error::Sink`] when writing to `sink` fails.
    pub async fn fetch_blob_to<W: AsyncWrite + Unpin>(
        &self,
        digest: &Digest,
        expected_size: Option<u64>,
        sink: &mut W,
    ) -> Result<u64, Error> {
        let mut stream = self.fetch_blob(digest, expected_size).await?;
        let mut written = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            sink.write_all(&chunk).await.map_err(Error::Sink)?;
            written += chunk.len() as u64;
        }
        sink.flush().await.map_err(Error::Sink)?;
        Ok(written)
    }

    /// Deletes a blob. Registries that do not allow deletion answer 400 or 405.
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] when the registry cannot be reached or the connection breaks (after the
    /// retries of the client's [`RetryPolicy`](crate::RetryPolicy)), [`Error::Auth`] when
    /// authentication fails, [`Error::Registry`] for an error status (see [`Error::is_not_found`],
    /// [`Error::is_unauthorized`]) (registries that do not allow deletion answer 400 or 405).
    pub async fn delete_blob(&self, digest: &Digest) -> Result<(), Error> {
        let target = self.target(Access::Push)?;
        let url = self.url(&format!("blobs/{digest}"))?;
        self.send_ok(&target, Req::new(Method::DELETE, url)).await?;
        Ok(())
    }
}

/// The first byte position of `Content-Range: bytes <start>-<end>/<total>`.
fn content_range_start(v: &str) -> Option<u64> {
    let rest = v.trim().strip_prefix("bytes")?.trim_start();
    rest.split('-').next()?.trim().parse().ok()
}
