//! Blob uploads: monolithic (POST + PUT), chunked (POST, PATCH…, PUT) and cross-repository
//! mount with the `202` fallback; blobs the registry already has are skipped (HEAD first).
//!
//! [distribution-spec v1.1 § Pushing blobs](https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-blobs).
//! Upload locations are used as given (relative ones resolved against the request URL); the
//! `digest` parameter is appended to any query they already carry. A failed upload is cancelled
//! with `DELETE` on its location, errors ignored.

use bytes::Bytes;
use oci_ref::Digest;
use reqwest::header::{self, HeaderValue};
use reqwest::{Method, Response, StatusCode};
use tokio::io::{AsyncRead, AsyncReadExt};
use url::Url;

use crate::error::{Error, Protocol};
use crate::repository::{Access, Repository, header_value};
use crate::session::OpenSession;
use crate::transport::{Req, Target};
use crate::urls::encode_query_value;
use oci_ref::Hasher;

/// Default chunk size for [`Repository::push_blob_chunked`].
pub const DEFAULT_CHUNK_BYTES: usize = 8 * 1024 * 1024;

/// Largest chunk ever buffered, even when the registry's `OCI-Chunk-Min-Length` asks for more
/// (a hostile value must not make us allocate gigabytes); such a registry gets
/// [`Protocol::ChunkMinLengthTooLarge`].
pub const MAX_CHUNK_BYTES: usize = 256 * 1024 * 1024;

/// How many times in a row a chunk may be answered without progress before giving up.
pub const MAX_STALLED_CHUNK_ATTEMPTS: u32 = 3;

/// What [`Repository::push_blob`] and friends did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PushOutcome {
    /// The registry already had the blob; nothing was sent.
    AlreadyExists,
    /// The blob was mounted from another repository.
    Mounted,
    /// The bytes were uploaded.
    Uploaded,
}

const OCTET_STREAM: HeaderValue = HeaderValue::from_static(oci_ref::media_type::OCTET_STREAM);

impl Repository {
    /// Uploads `data` as blob `digest` in one PUT, unless the registry already has it.
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] when the registry cannot be reached or the connection breaks (after the
    /// retries of the client's [`RetryPolicy`](crate::RetryPolicy)), [`Error::Auth`] when
    /// authentication fails, [`Error::Registry`] for an error status (see [`Error::is_not_found`],
    /// [`Error::is_unauthorized`]); [`Error::Protocol`] for a malformed upload answer,
    /// [`Error::DigestMismatch`] when the registry reports another digest.
    pub async fn push_blob(&self, digest: &Digest, data: Bytes) -> Result<PushOutcome, Error> {
        if self.head_blob(digest).await?.is_some() {
            return Ok(PushOutcome::AlreadyExists);
        }
        let target = self.target(Access::Push)?;
        let (location, _) = self.start_plain_upload(&target).await?;
        self.finish_upload(&target, location, digest, Some(data))
            .await?;
        Ok(PushOutcome::Uploaded)
    }

    /// Uploads `size` bytes read from `source` as blob `digest` in chunks of `chunk_size` (or
    /// the registry's `OCI-Chunk-Min-Length` when larger), unless the registry already has it.
    /// Memory use is one chunk. The digest is checked before the upload is closed.
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] when the registry cannot be reached or the connection breaks (after the
    /// retries of the client's [`RetryPolicy`](crate::RetryPolicy)), [`Error::Auth`] when
    /// authentication fails, [`Error::Registry`] for an error status (see [`Error::is_not_found`],
    /// [`Error::is_unauthorized`]); [`Error::Source`] when reading `source` fails,
    /// [`Error::SizeMismatch`] when it gives another number of bytes than `size`,
    /// [`Error::DigestMismatch`] when the bytes do not hash to `digest` (the upload is cancelled,
    /// not closed), [`Error::Protocol`] for a malformed upload answer or a stalled chunk.
    pub async fn push_blob_chunked<R: AsyncRead + Unpin>(
        &self,
        digest: &Digest,
        size: u64,
        source: R,
        chunk_size: usize,
    ) -> Result<PushOutcome, Error> {
        if self.head_blob(digest).await?.is_some() {
            return Ok(PushOutcome::AlreadyExists);
        }
        let target = self.target(Access::Push)?;
        let (location, min) = self.start_plain_upload(&target).await?;
        let mut session = OpenSession::new(self, &target, location.clone());
        let uploaded = self
            .upload_chunks(
                &target,
                location.clone(),
                digest,
                size,
                source,
                chunk_size,
                min,
            )
            .await;
        match uploaded {
            Ok(location) => {
                // `finish_upload` guards the session from here on.
                let _ = session.close();
                self.finish_upload(&target, location, digest, None).await?;
                Ok(PushOutcome::Uploaded)
            }
            Err(e) => {
                let _ = session.close();
                self.cancel_upload(&target, location).await;
                Err(e)
            }
        }
    }

    /// Asks the registry to mount blob `digest` from repository `from` (same registry).
    /// Returns `false` when the registry declined (it answered `202`; the upload session it
    /// opened is cancelled).
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] when the registry cannot be reached or the connection breaks (after the
    /// retries of the client's [`RetryPolicy`](crate::RetryPolicy)), [`Error::Auth`] when
    /// authentication fails, [`Error::Registry`] for an error status (see [`Error::is_not_found`],
    /// [`Error::is_unauthorized`]); [`Error::InvalidInput`] when `from` is not a valid repository
    /// name.
    pub async fn mount_blob(&self, digest: &Digest, from: &str) -> Result<bool, Error> {
        let target = self.mount_target(from)?;
        match self.try_mount(&target, digest, from).await? {
            Some(location) => {
                self.cancel_upload(&target, location).await;
                Ok(false)
            }
            None => Ok(true),
        }
    }

    /// Mounts blob `digest` from `from`, or uploads `data` in the session the registry opened
    /// when it declines the mount; skips everything when the blob is already here.
    ///
    /// # Errors
    ///
    /// As [`Repository::mount_blob`] and [`Repository::push_blob`].
    pub async fn mount_or_push_blob(
        &self,
        digest: &Digest,
        from: &str,
        data: Bytes,
    ) -> Result<PushOutcome, Error> {
        if self.head_blob(digest).await?.is_some() {
            return Ok(PushOutcome::AlreadyExists);
        }
        let target = self.mount_target(from)?;
        match self.try_mount(&target, digest, from).await? {
            Some(location) => {
                self.finish_upload(&target, location, digest, Some(data))
                    .await?;
                Ok(PushOutcome::Uploaded)
            }
            None => Ok(PushOutcome::Mounted),
        }
    }

    /// The push target with pull access to `from` added, which a mount from there needs.
    pub(crate) fn mount_target(&self, from: &str) -> Result<Target, Error> {
        let mut target = self.target(Access::Push)?;
        target.scopes.push(oci_auth::Scope::pull(from));
        Ok(target)
    }

    /// `POST ?mount=<digest>&from=<from>`: `None` when the registry mounted the blob (`201`),
    /// else the location of the upload session it opened instead (`202`; the spec's
    /// [§ Mounting a blob from another repository](https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#mounting-a-blob-from-another-repository)
    /// lets the client upload there), which the caller uses or cancels.
    pub(crate) async fn try_mount(
        &self,
        target: &Target,
        digest: &Digest,
        from: &str,
    ) -> Result<Option<Url>, Error> {
        match self.start_upload(target, Some((digest, from))).await {
            Ok((location, _)) => Ok(Some(location)),
            Err(MountOr::Mounted) => Ok(None),
            Err(MountOr::Error(e)) => Err(e),
        }
    }

    pub(crate) async fn start_plain_upload(
        &self,
        target: &Target,
    ) -> Result<(Url, Option<u64>), Error> {
        match self.start_upload(target, None).await {
            Ok(started) => Ok(started),
            Err(MountOr::Error(e)) => Err(e),
            // Only returned when a mount was asked for.
            Err(MountOr::Mounted) => Err(Error::protocol(
                self.base.as_str(),
                Protocol::UnexpectedStatus,
            )),
        }
    }

    /// POST `/blobs/uploads/` (with `mount`/`from` when given): the session location and the
    /// registry's minimum chunk length.
    async fn start_upload(
        &self,
        target: &Target,
        mount: Option<(&Digest, &str)>,
    ) -> Result<(Url, Option<u64>), MountOr> {
        let mut url = self.url("blobs/uploads/")?;
        if let Some((digest, from)) = mount {
            url.set_query(Some(&format!(
                "mount={}&from={}",
                encode_query_value(digest.as_str()),
                encode_query_value(from)
            )));
        }
        // Starting a session changes nothing a repeat could harm: after a 5xx the worst case is
        // an orphaned, empty session that the registry expires. So the POST is retried like a
        // GET, unlike the requests that carry data into a session.
        let resp = self
            .send_ok(target, Req::new(Method::POST, url).idempotent(true))
            .await?;
        if mount.is_some() && resp.status() == StatusCode::CREATED {
            return Err(MountOr::Mounted);
        }
        if resp.status() != StatusCode::ACCEPTED {
            let url = self.client.inner.redact(resp.url(), target);
            return Err(Error::protocol(&url, Protocol::UnexpectedStatus).into());
        }
        let min = resp
            .headers()
            .get("oci-chunk-min-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        Ok((self.location(target, &resp)?, min))
    }

    /// The `Location` of `resp`, resolved against its URL.
    pub(crate) fn location(&self, target: &Target, resp: &Response) -> Result<Url, Error> {
        let redacted = || self.client.inner.redact(resp.url(), target);
        let loc = resp
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Error::protocol(&redacted(), Protocol::MissingLocation))?;
        resp.url()
            .join(loc)
            .map_err(|_| Error::protocol(&redacted(), Protocol::InvalidUrl))
    }

    /// Closes a session with `PUT <location>?digest=`, carrying `data` when given.
    pub(crate) async fn finish_upload(
        &self,
        target: &Target,
        mut location: Url,
        digest: &Digest,
        data: Option<Bytes>,
    ) -> Result<(), Error> {
        location
            .query_pairs_mut()
            .append_pair("digest", digest.as_str());
        let mut req = Req::new(Method::PUT, location.clone()).idempotent(false);
        if let Some(data) = data {
            req = req.header(header::CONTENT_TYPE, OCTET_STREAM).body(data);
        }
        let mut open = location.clone();
        open.set_query(None);
        // Dropped while the `PUT` is in flight: cancelled in the background.
        let mut session = OpenSession::new(self, target, open.clone());
        let sent = self.send_ok(target, req).await;
        let _ = session.close();
        match sent {
            Ok(_) => Ok(()),
            Err(e) => {
                self.cancel_upload(target, open).await;
                Err(e)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn upload_chunks<R: AsyncRead + Unpin>(
        &self,
        target: &Target,
        mut location: Url,
        digest: &Digest,
        size: u64,
        mut source: R,
        chunk_size: usize,
        min: Option<u64>,
    ) -> Result<Url, Error> {
        let redacted = self.client.inner.redact(&location, target);
        let min = usize::try_from(min.unwrap_or(0)).unwrap_or(usize::MAX);
        if min > MAX_CHUNK_BYTES {
            return Err(Error::protocol(&redacted, Protocol::ChunkMinLengthTooLarge));
        }
        let chunk_size = chunk_size.clamp(1, MAX_CHUNK_BYTES).max(min);
        let mut hasher = Hasher::new(digest.algorithm());
        let mut offset = 0u64;
        let mut buf =
            Vec::with_capacity(chunk_size.min(usize::try_from(size).unwrap_or(usize::MAX)));
        loop {
            buf.clear();
            (&mut source)
                .take(chunk_size as u64)
                .read_to_end(&mut buf)
                .await
                .map_err(Error::Source)?;
            if buf.is_empty() {
                break;
            }
            hasher.update(&buf);
            let chunk = Bytes::copy_from_slice(&buf);
            location = self.send_chunk(target, location, offset, chunk).await?;
            offset += buf.len() as u64;
        }
        if offset != size {
            return Err(Error::SizeMismatch {
                url: redacted,
                expected: size,
                actual: offset,
            });
        }
        let actual = hasher.finish();
        if &actual != digest {
            return Err(Error::DigestMismatch {
                url: redacted,
                expected: digest.clone(),
                actual,
            });
        }
        Ok(location)
    }

    /// PATCHes `chunk` (which starts at `offset` of the blob) until the registry has all of it,
    /// resending the tail it reports missing (`Range`, or the status after a `416`).
    async fn send_chunk(
        &self,
        target: &Target,
        mut location: Url,
        offset: u64,
        chunk: Bytes,
    ) -> Result<Url, Error> {
        let end = offset + chunk.len() as u64; // exclusive
        let mut sent = offset;
        let mut stalls = 0u32;
        while sent < end {
            let part = chunk.slice((sent - offset) as usize..);
            let req = Req::new(Method::PATCH, location.clone())
                .idempotent(false)
                .header(header::CONTENT_TYPE, OCTET_STREAM)
                .header(
                    header::CONTENT_RANGE,
                    header_value(&format!("{sent}-{}", end - 1))?,
                )
                .body(part);
            let resp = self.client.inner.send(target, req).await?;
            let redacted = self.client.inner.redact(resp.url(), target);
            let (next_location, have) = if resp.status() == StatusCode::RANGE_NOT_SATISFIABLE {
                drop(resp);
                self.upload_status(target, &location).await?
            } else if resp.status().is_success() {
                let loc = self
                    .location(target, &resp)
                    .unwrap_or_else(|_| location.clone());
                (loc, upload_range_end(&resp).unwrap_or(end))
            } else {
                return Err(self
                    .client
                    .inner
                    .status_error(&Method::PATCH, target, resp)
                    .await);
            };
            if have < offset || have > end {
                return Err(Error::protocol(&redacted, Protocol::InvalidUploadRange));
            }
            if have <= sent {
                stalls += 1;
                if stalls >= MAX_STALLED_CHUNK_ATTEMPTS {
                    return Err(Error::protocol(&redacted, Protocol::UploadStalled));
                }
            } else {
                stalls = 0;
            }
            location = next_location;
            sent = have;
        }
        Ok(location)
    }

    /// `GET <location>`: the session's location and how many bytes it holds.
    async fn upload_status(&self, target: &Target, location: &Url) -> Result<(Url, u64), Error> {
        let resp = self
            .send_ok(target, Req::new(Method::GET, location.clone()))
            .await?;
        let redacted = self.client.inner.redact(resp.url(), target);
        let have = upload_range_end(&resp)
            .ok_or_else(|| Error::protocol(&redacted, Protocol::InvalidUploadRange))?;
        let loc = self
            .location(target, &resp)
            .unwrap_or_else(|_| location.clone());
        Ok((loc, have))
    }
}

/// From an upload response's `Range: 0-<last>` (with or without `bytes=`): the number of bytes
/// the session holds. `None` when absent or malformed.
pub(crate) fn upload_range_end(resp: &Response) -> Option<u64> {
    let v = resp.headers().get(header::RANGE)?.to_str().ok()?.trim();
    let v = v.strip_prefix("bytes=").unwrap_or(v);
    let (start, last) = v.split_once('-')?;
    if start.trim() != "0" {
        return None;
    }
    last.trim().parse::<u64>().ok().map(|l| l + 1)
}

/// A mount answered `201`, or anything failed.
enum MountOr {
    Mounted,
    Error(Error),
}

impl From<Error> for MountOr {
    fn from(e: Error) -> Self {
        MountOr::Error(e)
    }
}
