//! [`Repository`]: a handle on one repository of one registry; the endpoints live in the
//! `manifest`, `blob`, `upload`, `referrers` modules, tags here.

use std::sync::Arc;

use futures_util::Stream;
use oci_ref::{Digest, TagOrDigest};
use reqwest::Method;
use reqwest::header::HeaderValue;
use url::Url;

use crate::client::Client;
use crate::error::Error;
use crate::pager::{Listing, Pager};
use crate::referrers::{ReferrersSource, ReferrersState};
use crate::transport::{Req, Target};

/// A repository handle from [`Client::repository`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Repository {
    pub(crate) client: Client,
    pub(crate) registry: String,
    pub(crate) name: String,
    /// `scheme://api-host/v2/<name>/`
    pub(crate) base: Url,
    /// How referrers are listed and maintained: `None` detects the API (once per repository,
    /// see [`Repository::referrers_api_known`]).
    pub(crate) referrers_source: Option<ReferrersSource>,
    /// What the client learned about this repository's referrers, shared by every handle on it.
    pub(crate) referrers: Arc<ReferrersState>,
}

/// Whether a request reads or writes, which decides the token scope asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Pull,
    Push,
}

impl Repository {
    pub(crate) fn new(client: Client, registry: &str, name: &str) -> Result<Repository, Error> {
        let root = client.base_url(registry)?;
        let base = root
            .join(&format!("{name}/"))
            .map_err(|_| Error::InvalidInput {
                what: "repository name",
                source: None,
            })?;
        let referrers = client.inner.referrers.of(registry, name);
        Ok(Repository {
            client,
            registry: registry.to_owned(),
            name: name.to_owned(),
            base,
            referrers_source: None,
            referrers,
        })
    }

    /// This handle with referrers always taken from `source` instead of detected (oras's
    /// `--distribution-spec v1.1-referrers-api|v1.1-referrers-tag`, oras-go's
    /// `SetReferrersCapability`):
    ///
    /// - [`ReferrersSource::Api`]: [`Repository::referrers`] asks only the referrers API (a 404
    ///   is [`crate::Protocol::NoReferrersApi`]); pushing or deleting a manifest with a `subject`
    ///   never touches the `<alg>-<hex>` fallback index.
    /// - [`ReferrersSource::TagSchema`]: referrers are read only from the fallback index, which
    ///   pushing and deleting a manifest with a `subject` always maintain, whatever the registry
    ///   answers with `OCI-Subject`.
    ///
    /// By default (detection), the API is tried and a 404 falls back to the tag schema (and is
    /// remembered for the repository, so later listings read the tag schema directly); pushes
    /// update the fallback index unless the registry confirms the subject with `OCI-Subject`.
    #[must_use]
    pub fn with_referrers_source(mut self, source: ReferrersSource) -> Repository {
        self.referrers_source = Some(source);
        self
    }

    /// The referrers source chosen with [`Repository::with_referrers_source`], `None` when it is
    /// detected.
    pub fn referrers_source(&self) -> Option<ReferrersSource> {
        self.referrers_source
    }

    /// The registry, as named in references.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The base URL requests go to, `scheme://api-host/v2/<name>/` (`registry-1.docker.io` for
    /// `docker.io`).
    pub fn api_base(&self) -> &str {
        self.base.as_str()
    }

    /// `scheme://host/v2/<name>/blobs/<digest>`: where this repository serves the blob
    /// `digest` (the scheme is `http` when the client talks plain HTTP to the registry).
    pub fn blob_url(&self, digest: &Digest) -> Url {
        let mut url = self.base.clone();
        url.set_path(&format!("{}blobs/{digest}", self.base.path()));
        url
    }

    /// The repository name, e.g. `library/ubuntu`.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn target(&self, access: Access) -> Result<Target, Error> {
        let scope = match access {
            Access::Pull => oci_auth::Scope::pull(&self.name),
            Access::Push => oci_auth::Scope::push_pull(&self.name),
        };
        self.client.target(&self.registry, vec![scope])
    }

    /// `base` + `path` (relative, no leading `/`).
    ///
    /// `path` is built from fixed words, digests and tags; as a last line of defence it may only
    /// hold the characters those use (`A-Za-z0-9`, `/`, `.`, `_`, `-`, `:`, `+`, `=`) and no `.`
    /// or `..` segment, so that nothing in it is dropped, re-encoded or resolved by URL parsing
    /// into a request for something else.
    pub(crate) fn url(&self, path: &str) -> Result<Url, Error> {
        let invalid = || Error::InvalidInput {
            what: "request path",
            source: None,
        };
        let safe_bytes = path.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'_' | b'-' | b':' | b'+' | b'=')
        });
        if !safe_bytes || path.split('/').any(|s| s == "." || s == "..") {
            return Err(invalid());
        }
        self.base.join(path).map_err(|_| invalid())
    }

    /// The URL of `/v2/<name>/manifests/<reference>`.
    pub(crate) fn manifest_url(&self, reference: &TagOrDigest) -> Result<Url, Error> {
        self.url(&format!("manifests/{}", reference.as_str()))
    }

    /// Sends and returns the response, turning error statuses into errors.
    pub(crate) async fn send_ok(
        &self,
        target: &Target,
        req: Req,
    ) -> Result<reqwest::Response, Error> {
        let method = req.method.clone();
        let resp = self.client.inner.send(target, req).await?;
        if resp.status().is_success() {
            Ok(resp)
        } else {
            Err(self.client.inner.status_error(&method, target, resp).await)
        }
    }

    /// The tags, page by page (`GET /v2/<name>/tags/list?n=`), following `Link` headers.
    /// At most [`crate::Limits::max_pages`] pages are read. A page holding a name outside the
    /// tag grammar is refused with [`crate::Protocol::InvalidTag`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when the request URL cannot be formed; each page may then fail as
    /// [`Repository::tags`] does.
    pub fn tag_pages(
        &self,
        page_size: Option<u32>,
    ) -> Result<impl Stream<Item = Result<Vec<String>, Error>> + Send + 'static, Error> {
        let target = self.target(Access::Pull)?;
        let mut url = self.url("tags/list")?;
        if let Some(n) = page_size {
            url.set_query(Some(&format!("n={n}")));
        }
        Ok(Pager::new(self.client.inner.clone(), target, url).string_pages(Listing::Tags))
    }

    /// All tags; see [`Repository::tag_pages`].
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] when the registry cannot be reached or the connection breaks (after the
    /// retries of the client's [`RetryPolicy`](crate::RetryPolicy)), [`Error::Auth`] when
    /// authentication fails, [`Error::Registry`] for an error status (see [`Error::is_not_found`],
    /// [`Error::is_unauthorized`]); [`Error::LimitExceeded`] beyond
    /// [`Limits::max_pages`](crate::Limits::max_pages) or
    /// [`Limits::max_page_bytes`](crate::Limits::max_page_bytes), [`Error::Protocol`] for invalid
    /// JSON, a name outside the tag grammar, a `Link` to another origin or a pagination loop.
    pub async fn tags(&self, page_size: Option<u32>) -> Result<Vec<String>, Error> {
        crate::pager::collect(self.tag_pages(page_size)?).await
    }

    /// The `Authorization` header value this client sends to read from this repository (the
    /// blob URLs under [`Repository::api_base`]), for a caller that hands such a URL to another
    /// program (Ironic's conductor hands `image_request_authorization` to its agent).
    ///
    /// It is the header obtained by earlier requests (a fetched manifest leaves a pull token in
    /// the cache), or a fresh token when the registry answered a `Bearer` challenge before;
    /// `None` when this client sends none (anonymous access, or nothing requested yet). The
    /// value is a secret: its `Debug` is redacted and nothing here logs it.
    ///
    /// # Errors
    ///
    /// [`Error::Auth`] when a token had to be fetched and the exchange failed.
    pub async fn pull_authorization(&self) -> Result<Option<oci_auth::Authorization>, Error> {
        let target = self.target(Access::Pull)?;
        self.client
            .inner
            .auth
            .authorize(&target.registry, &target.scopes)
            .await
            .map_err(|source| Error::Auth {
                url: self.base.to_string(),
                source,
            })
    }

    /// Cancels an upload session (best effort; errors are ignored as the spec asks).
    pub(crate) async fn cancel_upload(&self, target: &Target, location: Url) {
        let req = Req::new(Method::DELETE, location).idempotent(false);
        let _ = self.client.inner.send(target, req).await;
    }
}

pub(crate) fn header_value(s: &str) -> Result<HeaderValue, Error> {
    HeaderValue::from_str(s).map_err(|e| Error::InvalidInput {
        what: "header value",
        source: Some(Box::new(e)),
    })
}
