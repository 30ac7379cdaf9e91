//! Paginated listings (tags, catalog, referrers) through the `Link` header.
//!
//! [distribution-spec v1.1 § Listing Tags](https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#listing-tags):
//! clients should prefer `Link: <url>; rel="next"` (RFC 8288) over `last`-based paging; a short
//! page is not an end marker. The next URL may be relative or absolute; it must stay on the
//! registry's origin. The number of pages is capped by [`crate::Limits::max_pages`], and a
//! `Link` back to a page already served is an error rather than a loop. A tag listing with a
//! name outside the tag grammar is refused as a whole ([`crate::Protocol::InvalidTag`]): a
//! registry must not be able to hand out "tags" that forge output lines or request paths.

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{Stream, TryStreamExt};
use reqwest::Method;
use reqwest::header::{self, HeaderMap, HeaderValue};
use url::Url;

use crate::client::Inner;
use crate::error::{Error, Limit, Protocol};
use crate::transport::{Body, BodyError, Req, Target};
use crate::urls;

/// Which string listing a page holds.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Listing {
    Tags,
    Catalog,
}

impl Listing {
    fn key(self) -> &'static str {
        match self {
            Listing::Tags => "tags",
            Listing::Catalog => "repositories",
        }
    }
}

/// One page: the body (capped) and the response headers.
#[derive(Debug)]
pub(crate) struct Page {
    pub(crate) body: Bytes,
    pub(crate) headers: HeaderMap,
    pub(crate) url: String,
}

#[derive(Debug)]
pub(crate) struct Pager {
    inner: Arc<Inner>,
    target: Target,
    next: Option<Url>,
    seen: HashSet<String>,
    pages: u32,
    accept: Option<HeaderValue>,
}

impl Pager {
    pub(crate) fn new(inner: Arc<Inner>, target: Target, first: Url) -> Pager {
        Pager {
            inner,
            target,
            next: Some(first),
            seen: HashSet::new(),
            pages: 0,
            accept: None,
        }
    }

    pub(crate) fn accept(mut self, accept: HeaderValue) -> Pager {
        self.accept = Some(accept);
        self
    }

    /// The next page, or `None` after the last one.
    pub(crate) async fn next_page(&mut self) -> Result<Option<Page>, Error> {
        let Some(url) = self.next.take() else {
            return Ok(None);
        };
        let redacted = self.inner.redact(&url, &self.target);
        let max_pages = self.inner.config.limits.max_pages;
        if self.pages >= max_pages {
            return Err(Error::limit(&redacted, Limit::Pages, u64::from(max_pages)));
        }
        if !self.seen.insert(url.as_str().to_owned()) {
            return Err(Error::protocol(&redacted, Protocol::PaginationLoop));
        }
        self.pages += 1;
        let mut req = Req::new(Method::GET, url.clone());
        if let Some(a) = &self.accept {
            req = req.header(header::ACCEPT, a.clone());
        }
        let max = self.inner.config.limits.max_page_bytes;
        let Body {
            headers,
            bytes: body,
            ..
        } = match self.inner.get_body(&self.target, req, max).await {
            Ok(b) => b,
            Err(BodyError::TooLarge) => {
                return Err(Error::limit(&redacted, Limit::PageBytes, max));
            }
            Err(BodyError::Other(e)) => return Err(e),
        };
        if let Some(next) = next_link(&headers) {
            let next = url
                .join(&next)
                .map_err(|_| Error::protocol(&redacted, Protocol::InvalidUrl))?;
            if urls::origin(&next) != self.target.origin {
                return Err(Error::protocol(&redacted, Protocol::CrossOriginLink));
            }
            self.next = Some(next);
        }
        Ok(Some(Page {
            body,
            headers,
            url: redacted,
        }))
    }

    /// A stream of pages.
    pub(crate) fn pages(self) -> impl Stream<Item = Result<Page, Error>> + Send + 'static {
        futures_util::stream::try_unfold(self, |mut pager| async move {
            Ok(pager.next_page().await?.map(|page| (page, pager)))
        })
    }

    /// A stream of pages of a string listing (`tags` or `repositories`).
    pub(crate) fn string_pages(
        self,
        listing: Listing,
    ) -> impl Stream<Item = Result<Vec<String>, Error>> + Send + 'static {
        self.pages()
            .and_then(move |page| async move { parse_strings(&page, listing) })
    }
}

/// The strings of one page. Every name of a tag listing must match the tag grammar: a tag is
/// printed, compared and turned into requests by callers, so one carrying a line break or a
/// path is refused here ([`Protocol::InvalidTag`], naming the page) rather than handed on.
fn parse_strings(page: &Page, listing: Listing) -> Result<Vec<String>, Error> {
    let value: serde_json::Value = serde_json::from_slice(&page.body)
        .map_err(|_| Error::protocol(&page.url, Protocol::InvalidJson))?;
    let items = match value.get(listing.key()) {
        // distribution answers `"tags": null` for a repository without tags.
        None | Some(serde_json::Value::Null) => return Ok(Vec::new()),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| Error::protocol(&page.url, Protocol::InvalidJson))?,
        Some(_) => return Err(Error::protocol(&page.url, Protocol::InvalidJson)),
    };
    if matches!(listing, Listing::Tags) && !items.iter().all(|t| oci_ref::Tag::parse(t).is_ok()) {
        return Err(Error::protocol(&page.url, Protocol::InvalidTag));
    }
    Ok(items)
}

/// Collects all pages of a string listing.
pub(crate) async fn collect(
    pages: impl Stream<Item = Result<Vec<String>, Error>>,
) -> Result<Vec<String>, Error> {
    let pages: Vec<Vec<String>> = pages.try_collect().await?;
    Ok(pages.into_iter().flatten().collect())
}

/// The target of the first `rel="next"` link in the `Link` headers.
///
/// A value with bytes outside visible ASCII (obs-text, e.g. a UTF-8 `title`) is read lossily
/// rather than skipped: skipping it would end a listing early without any error.
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::LINK)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()))
        .find_map(|v| parse_next_link(&v))
}

/// Parses one `Link` header value (RFC 8288): `<uri>; param; param, <uri>; …`. Returns the URI of
/// the first link whose `rel` contains `next`.
pub fn parse_next_link(value: &str) -> Option<String> {
    let mut rest = value;
    loop {
        let start = rest.find('<')?;
        let end = start + rest[start..].find('>')?;
        let target = &rest[start + 1..end];
        let after = &rest[end + 1..];
        let params_end = after.find('<').unwrap_or(after.len());
        let params = &after[..params_end];
        let is_next = params.split(';').any(|p| {
            let Some((k, v)) = p.split_once('=') else {
                return false;
            };
            k.trim().eq_ignore_ascii_case("rel")
                && v.trim()
                    .trim_matches('"')
                    .split_ascii_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("next"))
        });
        if is_next {
            return Some(target.trim().to_owned());
        }
        rest = after;
    }
}
