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
//! and a fresh body from `open`, under the client's [`crate::RetryPolicy`].

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use oci_ref::Digest;
use reqwest::header::{self, HeaderValue};
use reqwest::{Method, StatusCode};

use crate::error::{Error, Protocol};
use crate::repository::{Access, Repository};
use crate::transport::Target;
use crate::upload::PushOutcome;
use crate::urls;

impl Repository {
    /// Uploads `size` bytes as blob `digest` in one streamed `PUT`, unless the registry already
    /// has it. `open` gives the body from its first byte; it is called again for each retry.
    /// Memory use is what the stream holds; nothing is hashed here.
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
        if self.head_blob(digest).await?.is_some() {
            return Ok(PushOutcome::AlreadyExists);
        }
        let target = self.target(Access::Push)?;
        let policy = self.client.inner.config.retry.clone();
        let mut attempt = 0u32;
        let mut waited = Duration::ZERO;
        loop {
            attempt += 1;
            let body = open().await.map_err(Error::Source)?;
            let result = self.put_streamed(&target, digest, size, body).await;
            let error = match result {
                Ok(()) => return Ok(PushOutcome::Uploaded),
                Err(e) => e,
            };
            let delay = if error.is_retryable() {
                policy.delay(attempt, waited, None)
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

    /// One session: `POST`, then the streamed `PUT`; the session is cancelled on failure.
    async fn put_streamed<S>(
        &self,
        target: &Target,
        digest: &Digest,
        size: u64,
        body: S,
    ) -> Result<(), Error>
    where
        S: Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    {
        let (location, _) = self.start_plain_upload(target).await?;
        let mut url = location.clone();
        url.query_pairs_mut().append_pair("digest", digest.as_str());
        let inner = &self.client.inner;
        let redacted = inner.redact(&url, target);
        let origin = urls::origin(&url);
        let mut rb = inner
            .http_for(&url)
            .put(url.clone())
            .header(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            )
            .header(header::CONTENT_LENGTH, HeaderValue::from(size))
            .body(reqwest::Body::wrap_stream(body));
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
        let outcome = match rb.send().await {
            Err(e) => Err(inner.transport(&Method::PUT, &url, target, e)),
            Ok(resp) if resp.status() == StatusCode::CREATED => Ok(()),
            Ok(resp) if resp.status().is_redirection() => {
                Err(Error::protocol(&redacted, Protocol::UnexpectedStatus))
            }
            Ok(resp) if resp.status().is_success() => Ok(()),
            Ok(resp) => Err(inner.status_error(&Method::PUT, target, resp).await),
        };
        if outcome.is_err() {
            self.cancel_upload(target, location).await;
        }
        outcome
    }
}
