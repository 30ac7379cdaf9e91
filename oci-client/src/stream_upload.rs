//! Streamed upload: a whole blob in one request (`POST`, then `PUT ?digest=` carrying every
//! byte as it is read), without buffering it and without hashing it again.
//!
//! [distribution-spec v1.1 § Pushing a blob monolithically](https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-a-blob-monolithically),
//! POST-then-PUT form. Compared with [`Repository::push_blob_chunked`] this sends one request
//! instead of one per chunk, copies nothing into chunk buffers, and leaves the digest check to
//! the registry (which computes it over what it stored and refuses a mismatch with
//! `DIGEST_INVALID`): the caller has hashed the content already.
//!
//! A streamed body cannot be replayed, so the `PUT` is sent once with the authorization the
//! `POST` earned (same registry, same scopes) and is never redirected; a failure that may pass
//! (connection trouble, `408`, `429`, `5xx`) starts the whole upload again with a fresh session
//! and a fresh body from `open`, under the client's [`crate::RetryPolicy`]. A failure of the
//! body stream itself is not retried: it ends the upload (the session is cancelled) with
//! [`Error::Source`] carrying the stream's own error, so the caller, who knows its source, decides
//! whether to read it again (resumed, from another place) and upload again.
//!
//! [`Repository::mount_or_push_blob_streamed`] asks for a cross-repository mount first
//! ([§ Mounting a blob from another repository](https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#mounting-a-blob-from-another-repository));
//! a registry that declines answers `202` with an upload session, and the streamed `PUT` goes
//! into that session: no second `HEAD`, no second `POST`. A registry that then refuses the
//! `PUT` there the way it refuses a session it did not mean for uploads (`404` with
//! `BLOB_UPLOAD_UNKNOWN` or no code, `400` `BLOB_UPLOAD_INVALID`, `405`) gets one more attempt
//! in a fresh session, where the upload would have gone without the mount request, before the
//! refusal is the answer. Any other refusal (`413`, `SIZE_INVALID`, `NAME_UNKNOWN`,
//! `DIGEST_INVALID`, ...) is the answer at once: a fresh session would meet it too, after the
//! whole body had been sent again.
//!
//! [`Repository::push_blob_while_hashing`] is for a caller who has not hashed the content yet:
//! the body goes out in one streamed `PATCH` (a single chunk covering the whole blob,
//! [§ Pushing a blob in chunks](https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-a-blob-in-chunks))
//! while the caller's hash runs alongside, and `PUT ?digest=` closes the session once both are
//! done. The hash usually finishes first; then a `HEAD` asks whether the registry has the blob
//! already, and if so the upload is abandoned, as `push_blob_streamed` would have skipped it.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::{Either, select};
use futures_util::{Stream, StreamExt as _};
use oci_ref::Digest;
use reqwest::header::{self, HeaderValue};
use reqwest::{Method, Response, StatusCode, Url};

use crate::error::{Error, ErrorCode, Protocol};
use crate::repository::{Access, Repository};
use crate::session::OpenSession;
use crate::transport::Target;
use crate::upload::PushOutcome;
use crate::urls;

impl Repository {
    /// Uploads `size` bytes as blob `digest` in one streamed `PUT`, unless the registry already
    /// has it. `open` gives the body from its first byte; it is called again for each retry.
    /// Memory use is what the stream holds; nothing is hashed here.
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] when the registry cannot be reached or the connection breaks (after the
    /// retries of the client's [`RetryPolicy`](crate::RetryPolicy)), [`Error::Auth`] when
    /// authentication fails, [`Error::Registry`] for an error status (see [`Error::is_not_found`],
    /// [`Error::is_unauthorized`]); [`Error::Source`] when `open` or the stream it gives fails
    /// (with the stream's own error, which may be downcast; not retried, and the upload was
    /// cancelled), [`Error::DigestMismatch`] when the registry refuses the digest
    /// (`DIGEST_INVALID`), [`Error::Protocol`] for a malformed upload answer.
    pub async fn push_blob_streamed<F, Fut, S>(
        &self,
        digest: &Digest,
        size: u64,
        open: F,
    ) -> Result<PushOutcome, Error>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = std::io::Result<S>>,
        S: Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    {
        self.stream_blob(digest, None, size, open).await
    }

    /// Mounts blob `digest` from repository `from` (same registry), or, when the registry
    /// declines the mount, uploads `size` bytes as [`push_blob_streamed`](Self::push_blob_streamed)
    /// does, the first attempt in the upload session the declining `202` opened (refused there
    /// the way a registry refuses a session it did not mean for uploads, `404`
    /// `BLOB_UPLOAD_UNKNOWN` or without a code, `400` `BLOB_UPLOAD_INVALID` or `405`, it is
    /// made once more in a fresh session; any other
    /// refusal is returned without sending the body again); skips everything when the registry
    /// already has the blob. One `HEAD`,
    /// one `POST`, then (declined) the streamed `PUT`: `open` is called only when bytes are to
    /// be sent.
    ///
    /// # Errors
    ///
    /// As [`Repository::push_blob_streamed`]; [`Error::InvalidInput`] when `from` is not a valid
    /// repository name.
    pub async fn mount_or_push_blob_streamed<F, Fut, S>(
        &self,
        digest: &Digest,
        from: &str,
        size: u64,
        open: F,
    ) -> Result<PushOutcome, Error>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = std::io::Result<S>>,
        S: Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    {
        self.stream_blob(digest, Some(from), size, open).await
    }

    /// The two above: one `HEAD`, with `from` a mount request whose declining session takes
    /// the first attempt, then the streamed upload.
    async fn stream_blob<F, Fut, S>(
        &self,
        digest: &Digest,
        from: Option<&str>,
        size: u64,
        open: F,
    ) -> Result<PushOutcome, Error>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = std::io::Result<S>>,
        S: Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    {
        if self.head_blob(digest).await?.is_some() {
            return Ok(PushOutcome::AlreadyExists);
        }
        let (target, session) = match from {
            None => (self.target(Access::Push)?, None),
            Some(from) => {
                let target = self.mount_target(from)?;
                let Some(session) = self.try_mount(&target, digest, from).await? else {
                    return Ok(PushOutcome::Mounted);
                };
                (target, Some(session))
            }
        };
        self.upload_streamed(&target, digest, size, session, open)
            .await?;
        Ok(PushOutcome::Uploaded)
    }

    /// Streamed uploads of `digest` until one stores it or fails in a way the client's retry
    /// policy does not retry: the first in `session` when the caller has one open (a declined
    /// mount's; cancelled if the body cannot be opened), each other in a fresh session. When
    /// the registry refuses the upload into that given session ([`session_refused`]), one
    /// more attempt follows at once in a fresh session, whatever the retry policy.
    async fn upload_streamed<F, Fut, S>(
        &self,
        target: &Target,
        digest: &Digest,
        size: u64,
        mut session: Option<Url>,
        open: F,
    ) -> Result<(), Error>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = std::io::Result<S>>,
        S: Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    {
        let policy = self.client.inner.config.retry.clone();
        let mut attempt = 0u32;
        let mut waited = Duration::ZERO;
        loop {
            attempt += 1;
            // A session opened already is cancelled (in the background if this is dropped)
            // unless the body opens.
            let mut given = session
                .take()
                .map(|url| OpenSession::new(self, target, url));
            let body = match open().await {
                Ok(body) => body,
                Err(e) => {
                    if let Some(url) = given.as_mut().and_then(OpenSession::close) {
                        self.cancel_upload(target, url).await;
                    }
                    return Err(Error::Source(e));
                }
            };
            let given = given.as_mut().and_then(OpenSession::close);
            let in_given = given.is_some();
            let result = self.put_streamed(target, digest, size, given, body).await;
            let error = match result {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            let delay = if error.is_retryable() {
                policy.delay(attempt, waited, None)
            } else if in_given && session_refused(&error) {
                // Not a failure that passes, so no back-off and outside the policy: the
                // upload goes where it would have gone had the mount not opened a session.
                tracing::debug!(%error, "the declined mount's session refused the upload");
                Some(Duration::ZERO)
            } else {
                None
            };
            let Some(delay) = delay else {
                return Err(error);
            };
            tracing::debug!(attempt, ?delay, "streamed upload failed, starting again");
            tokio::time::sleep(delay).await;
            waited += delay;
        }
    }

    /// Uploads `size` bytes whose digest the caller is still computing (`digest` resolves to
    /// it): one streamed `PATCH` while the digest resolves, then `PUT ?digest=`. Returns the
    /// digest and what happened. `open` gives the body from its first byte.
    ///
    /// When the digest is known while the body is still going out and the registry already has
    /// the blob, the session is cancelled and the result is [`PushOutcome::AlreadyExists`]. A
    /// failure that may pass starts again with the digest now known, the way
    /// [`push_blob_streamed`](Self::push_blob_streamed) does (`HEAD`, then `POST` + streamed
    /// `PUT`, under the client's retry policy). The registry checks the digest against what it
    /// stored (`DIGEST_INVALID` on a mismatch, for example a file that changed while read).
    ///
    /// # Errors
    ///
    /// As [`Repository::push_blob_streamed`]; [`Error::Source`] also when `digest` fails (the
    /// upload is then abandoned).
    pub async fn push_blob_while_hashing<F, Fut, S, D>(
        &self,
        size: u64,
        open: F,
        digest: D,
    ) -> Result<(Digest, PushOutcome), Error>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = std::io::Result<S>>,
        S: Stream<Item = std::io::Result<Bytes>> + Send + 'static,
        D: Future<Output = std::io::Result<Digest>>,
    {
        let target = self.target(Access::Push)?;
        let mut pending = Box::pin(digest);
        let mut known = None;
        let mut refused = false;
        let body = open().await.map_err(Error::Source)?;
        let error = match self
            .patch_session(
                &target,
                size,
                body,
                pending.as_mut(),
                &mut known,
                &mut refused,
            )
            .await
        {
            Ok((d, outcome)) => return Ok((d, outcome)),
            Err(e) if e.is_retryable() || refused => e,
            Err(e) => return Err(e),
        };
        tracing::debug!(%error, "streamed upload failed, starting again with the digest known");
        let digest = match known {
            Some(d) => d,
            None => pending.await.map_err(Error::Source)?,
        };
        let outcome = self.push_blob_streamed(&digest, size, open).await?;
        Ok((digest, outcome))
    }

    /// One session of [`push_blob_while_hashing`](Self::push_blob_while_hashing): `POST`, the
    /// `PATCH` raced against the digest, `PUT ?digest=`; cancelled unless it ends with the blob
    /// stored. `known` gets the digest as soon as it resolves; `refused` is set when the
    /// registry refused the `PATCH` itself (see [`patch_refused`]).
    async fn patch_session<S>(
        &self,
        target: &Target,
        size: u64,
        body: S,
        mut pending: Pin<&mut dyn Future<Output = std::io::Result<Digest>>>,
        known: &mut Option<Digest>,
        refused: &mut bool,
    ) -> Result<(Digest, PushOutcome), Error>
    where
        S: Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    {
        let (location, _) = self.start_plain_upload(target).await?;
        // The session's current URL, to cancel it by (in the background if this future is
        // dropped); closed once the closing `PUT` is sent (`finish_upload` guards that).
        let mut session = OpenSession::new(self, target, location.clone());
        let result = async {
            let next = if size == 0 {
                location.clone()
            } else {
                let sent = self
                    .patch_racing_digest(target, location.clone(), size, body, pending.as_mut())
                    .await;
                match sent {
                    Ok(Sent::Through(next, digest)) => {
                        *known = digest;
                        next
                    }
                    Ok(Sent::AlreadyThere(digest)) => {
                        *known = Some(digest.clone());
                        return Ok((digest, PushOutcome::AlreadyExists));
                    }
                    Err(Raced::Digest(e)) => return Err(Error::Source(e)),
                    Err(Raced::Patch(e, digest)) => {
                        *known = digest;
                        *refused = patch_refused(&e);
                        return Err(e);
                    }
                }
            };
            session.at(next.clone());
            let digest = match known {
                Some(d) => d.clone(),
                None => {
                    let d = pending.as_mut().await.map_err(Error::Source)?;
                    *known = Some(d.clone());
                    d
                }
            };
            let _ = session.close();
            self.finish_upload(target, next, &digest, None).await?;
            Ok((digest, PushOutcome::Uploaded))
        }
        .await;
        let open_at = session.close();
        if !matches!(result, Ok((_, PushOutcome::Uploaded)))
            && let Some(url) = open_at
        {
            self.cancel_upload(target, url).await;
        }
        result
    }

    /// Sends the body in one `PATCH` while the digest resolves. Once it has, a `HEAD` runs
    /// alongside the body; if the registry has the blob before the body is through, sending
    /// stops. A failed `HEAD` costs nothing but the skip.
    async fn patch_racing_digest<S>(
        &self,
        target: &Target,
        location: Url,
        size: u64,
        body: S,
        pending: Pin<&mut dyn Future<Output = std::io::Result<Digest>>>,
    ) -> Result<Sent, Raced>
    where
        S: Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    {
        let mut patch = Box::pin(self.patch_streamed(target, location, size, body));
        let digest = match select(patch.as_mut(), pending).await {
            Either::Left((r, _)) => {
                return r
                    .map(|next| Sent::Through(next, None))
                    .map_err(|e| Raced::Patch(e, None));
            }
            Either::Right((digest, _)) => digest.map_err(Raced::Digest)?,
        };
        let head = Box::pin(self.head_blob(&digest));
        let patched = match select(patch.as_mut(), head).await {
            Either::Left((r, _)) => r,
            Either::Right((Ok(Some(_)), _)) => return Ok(Sent::AlreadyThere(digest.clone())),
            Either::Right((other, _)) => {
                if let Err(e) = other {
                    tracing::debug!(%e, "HEAD during the upload failed");
                }
                patch.await
            }
        };
        match patched {
            Ok(next) => Ok(Sent::Through(next, Some(digest))),
            Err(e) => Err(Raced::Patch(e, Some(digest))),
        }
    }

    /// The whole blob in one streamed `PATCH` (`Content-Range: 0-<size-1>`); returns the
    /// session's next location, after checking that the registry took every byte.
    async fn patch_streamed<S>(
        &self,
        target: &Target,
        location: Url,
        size: u64,
        body: S,
    ) -> Result<Url, Error>
    where
        S: Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    {
        let range = crate::repository::header_value(&format!("0-{}", size - 1))?;
        let resp = self
            .send_streamed(target, Method::PATCH, &location, size, Some(range), body)
            .await?;
        let redacted = self.client.inner.redact(resp.url(), target);
        if !resp.status().is_success() {
            return Err(self
                .client
                .inner
                .status_error(&Method::PATCH, target, resp)
                .await);
        }
        if let Some(end) = crate::upload::upload_range_end(&resp)
            && end != size
        {
            return Err(Error::protocol(&redacted, Protocol::InvalidUploadRange));
        }
        self.location(target, &resp).or(Ok(location))
    }

    /// One session: `POST` (unless `session` is open already), then the streamed `PUT`; the
    /// session is cancelled on failure.
    async fn put_streamed<S>(
        &self,
        target: &Target,
        digest: &Digest,
        size: u64,
        session: Option<Url>,
        body: S,
    ) -> Result<(), Error>
    where
        S: Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    {
        let location = match session {
            Some(location) => location,
            None => self.start_plain_upload(target).await?.0,
        };
        let mut session = OpenSession::new(self, target, location.clone());
        let mut url = location.clone();
        url.query_pairs_mut().append_pair("digest", digest.as_str());
        let outcome = match self
            .send_streamed(target, Method::PUT, &url, size, None, body)
            .await
        {
            Err(e) => Err(e),
            Ok(resp) if resp.status() == StatusCode::CREATED => Ok(()),
            Ok(resp) if resp.status().is_success() => Ok(()),
            Ok(resp) => Err(self
                .client
                .inner
                .status_error(&Method::PUT, target, resp)
                .await),
        };
        let _ = session.close();
        if outcome.is_err() {
            self.cancel_upload(target, location).await;
        }
        outcome
    }

    /// Sends `body` (`size` bytes) to `url` once, with the authorization the session earned
    /// when the URL is at the registry's origin (or a trusted one). A redirect is refused: a
    /// stream cannot be replayed.
    async fn send_streamed<S>(
        &self,
        target: &Target,
        method: Method,
        url: &Url,
        size: u64,
        range: Option<HeaderValue>,
        body: S,
    ) -> Result<Response, Error>
    where
        S: Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    {
        let inner = &self.client.inner;
        let redacted = inner.redact(url, target);
        let origin = urls::origin(url);
        // The HTTP stack only learns that the body broke off; the stream's own error is kept
        // for the caller.
        let failure: Arc<Mutex<Option<std::io::Error>>> = Arc::default();
        let slot = Arc::clone(&failure);
        let body = body.map(move |item| {
            item.map_err(|e| {
                let kind = e.kind();
                slot.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get_or_insert(e);
                std::io::Error::new(kind, "the upload source failed")
            })
        });
        let mut rb = inner
            .http_for(url)
            .request(method.clone(), url.clone())
            .header(
                header::CONTENT_TYPE,
                HeaderValue::from_static(oci_ref::media_type::OCTET_STREAM),
            )
            .header(header::CONTENT_LENGTH, HeaderValue::from(size))
            .body(reqwest::Body::wrap_stream(body));
        if let Some(range) = range {
            rb = rb.header(header::CONTENT_RANGE, range);
        }
        if origin == target.origin || inner.config.is_trusted_origin(&origin) {
            let auth = inner
                .auth
                .authorize(&target.registry, &target.scopes)
                .await
                .map_err(|source| Error::Auth {
                    url: redacted.clone(),
                    source,
                })?;
            if let Some(a) = auth {
                rb = rb.header(header::AUTHORIZATION, a.header_value());
            }
        }
        let sent = rb.send().await;
        let failed = failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(e) = failed {
            return Err(Error::Source(e));
        }
        match sent {
            Err(e) => Err(inner.transport(&method, url, target, e)),
            Ok(resp) if resp.status().is_redirection() => {
                Err(Error::protocol(&redacted, Protocol::UnexpectedStatus))
            }
            Ok(resp) => Ok(resp),
        }
    }
}

/// Whether the registry refused the single whole-blob `PATCH` itself (a 4xx other than the
/// authorization and not-found answers: a chunk too large, `PATCH` not allowed, a range it
/// does not take). The upload then starts again the monolithic way, which every registry takes.
fn patch_refused(e: &Error) -> bool {
    matches!(e.status(), Some(s) if (400..500).contains(&s) && ![401, 403, 404].contains(&s))
}

/// Whether the registry refused a streamed `PUT` into the session a declined mount opened the
/// way it answers for a session it did not mean to be written to: `404` with
/// `BLOB_UPLOAD_UNKNOWN` or no code, `400` with `BLOB_UPLOAD_INVALID`, `405`. Only these are
/// worth a fresh session, which sends the whole body again (a copy reads the blob from its
/// source again). Any other refusal (`413`, `SIZE_INVALID`, `NAME_UNKNOWN`, `DIGEST_INVALID`,
/// the authorization answers, a `5xx` the retry policy gave up on) is about the blob, the
/// repository or the credentials, and a fresh session would meet it too. A failure of the
/// caller's stream is no refusal.
fn session_refused(e: &Error) -> bool {
    let only = |code: ErrorCode| e.codes().all(|c| *c == code);
    match e.status() {
        Some(404) => only(ErrorCode::BlobUploadUnknown),
        Some(400) => e.codes().next().is_some() && only(ErrorCode::BlobUploadInvalid),
        Some(405) => true,
        _ => false,
    }
}

/// How the `PATCH` of [`Repository::push_blob_while_hashing`] ended.
enum Sent {
    /// Every byte is in: the session's next URL, and the digest if it resolved meanwhile.
    Through(Url, Option<Digest>),
    /// The registry has the blob (the digest resolved and a `HEAD` found it); sending stopped.
    AlreadyThere(Digest),
}

/// How it failed: the digest could not be computed, or the `PATCH` failed (with the digest if
/// it resolved meanwhile).
enum Raced {
    Digest(std::io::Error),
    Patch(Error, Option<Digest>),
}
