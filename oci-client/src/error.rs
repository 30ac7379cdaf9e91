//! Typed errors for every operation of this crate, with the registry's own error codes.
//!
//! Registry error bodies follow
//! [distribution-spec v1.1 § Error Codes](https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#error-codes):
//! a JSON object with an `errors` array of `{code, message, detail}`. Bodies that are not JSON, or
//! JSON of another shape, still give a typed [`Error::Registry`] with an empty `errors` list.

use std::fmt;

use oci_ref::Digest;

/// Longest registry error body read, in bytes. Larger bodies are truncated before parsing.
///
/// containers/image caps error bodies at 1 MiB; error bodies are tiny in practice, and a hostile
/// registry must not make us buffer an endless body
/// ([distribution-spec v1.1 § Error Codes](https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#error-codes)).
pub const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// At most this many entries of a registry's `errors` array are kept.
pub const MAX_ERROR_ENTRIES: usize = 16;

/// Registry error messages longer than this many bytes are truncated (they end up in logs).
pub const MAX_ERROR_MESSAGE_BYTES: usize = 1024;

/// A registry error code from the `errors[].code` field of an error body.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `BLOB_UNKNOWN`: blob unknown to registry.
    BlobUnknown,
    /// `BLOB_UPLOAD_INVALID`: blob upload invalid.
    BlobUploadInvalid,
    /// `BLOB_UPLOAD_UNKNOWN`: blob upload unknown to registry.
    BlobUploadUnknown,
    /// `DIGEST_INVALID`: provided digest did not match uploaded content.
    DigestInvalid,
    /// `MANIFEST_BLOB_UNKNOWN`: manifest references a manifest or blob unknown to registry.
    ManifestBlobUnknown,
    /// `MANIFEST_INVALID`: manifest invalid.
    ManifestInvalid,
    /// `MANIFEST_UNKNOWN`: manifest unknown to registry.
    ManifestUnknown,
    /// `NAME_INVALID`: invalid repository name.
    NameInvalid,
    /// `NAME_UNKNOWN`: repository name not known to registry.
    NameUnknown,
    /// `SIZE_INVALID`: provided length did not match content length.
    SizeInvalid,
    /// `UNAUTHORIZED`: authentication required.
    Unauthorized,
    /// `DENIED`: requested access to the resource is denied.
    Denied,
    /// `UNSUPPORTED`: the operation is unsupported.
    Unsupported,
    /// `TOOMANYREQUESTS`: too many requests.
    TooManyRequests,
    /// A code outside the specification, as sent (upper case and `_` per the spec, but not checked).
    Other(String),
}

impl ErrorCode {
    /// Maps the wire form to a code.
    pub fn from_wire(code: &str) -> ErrorCode {
        match code {
            "BLOB_UNKNOWN" => ErrorCode::BlobUnknown,
            "BLOB_UPLOAD_INVALID" => ErrorCode::BlobUploadInvalid,
            "BLOB_UPLOAD_UNKNOWN" => ErrorCode::BlobUploadUnknown,
            "DIGEST_INVALID" => ErrorCode::DigestInvalid,
            "MANIFEST_BLOB_UNKNOWN" => ErrorCode::ManifestBlobUnknown,
            "MANIFEST_INVALID" => ErrorCode::ManifestInvalid,
            "MANIFEST_UNKNOWN" => ErrorCode::ManifestUnknown,
            "NAME_INVALID" => ErrorCode::NameInvalid,
            "NAME_UNKNOWN" => ErrorCode::NameUnknown,
            "SIZE_INVALID" => ErrorCode::SizeInvalid,
            "UNAUTHORIZED" => ErrorCode::Unauthorized,
            "DENIED" => ErrorCode::Denied,
            "UNSUPPORTED" => ErrorCode::Unsupported,
            "TOOMANYREQUESTS" => ErrorCode::TooManyRequests,
            other => ErrorCode::Other(truncate(other, 64)),
        }
    }

    /// The wire form, e.g. `MANIFEST_UNKNOWN`.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::BlobUnknown => "BLOB_UNKNOWN",
            ErrorCode::BlobUploadInvalid => "BLOB_UPLOAD_INVALID",
            ErrorCode::BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            ErrorCode::DigestInvalid => "DIGEST_INVALID",
            ErrorCode::ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
            ErrorCode::ManifestInvalid => "MANIFEST_INVALID",
            ErrorCode::ManifestUnknown => "MANIFEST_UNKNOWN",
            ErrorCode::NameInvalid => "NAME_INVALID",
            ErrorCode::NameUnknown => "NAME_UNKNOWN",
            ErrorCode::SizeInvalid => "SIZE_INVALID",
            ErrorCode::Unauthorized => "UNAUTHORIZED",
            ErrorCode::Denied => "DENIED",
            ErrorCode::Unsupported => "UNSUPPORTED",
            ErrorCode::TooManyRequests => "TOOMANYREQUESTS",
            ErrorCode::Other(s) => s,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of a registry's `errors` array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryError {
    /// The code.
    pub code: ErrorCode,
    /// The human-readable message, truncated to [`MAX_ERROR_MESSAGE_BYTES`].
    pub message: Option<String>,
}

/// The name of an HTTP method, as used in error fields (`GET`, `PUT`, …).
pub(crate) fn method_name(m: &reqwest::Method) -> &'static str {
    match *m {
        reqwest::Method::GET => "GET",
        reqwest::Method::HEAD => "HEAD",
        reqwest::Method::PUT => "PUT",
        reqwest::Method::POST => "POST",
        reqwest::Method::PATCH => "PATCH",
        reqwest::Method::DELETE => "DELETE",
        _ => "other",
    }
}

/// What went wrong below HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportKind {
    /// The connection could not be established (DNS, refused, TLS handshake).
    Connect,
    /// A connect or read timeout elapsed.
    Timeout,
    /// The connection broke while reading the response body.
    Body,
    /// The request could not be sent for another reason.
    Request,
    /// The TLS handshake got a plain-HTTP answer: the registry speaks HTTP, not HTTPS (Go's
    /// "server gave HTTP response to HTTPS client"). Not retryable: the next try gets the same.
    PlainHttpServer,
}

impl std::fmt::Display for TransportKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "connect error",
            TransportKind::Timeout => "timeout",
            TransportKind::Body => "connection broke while reading the body",
            TransportKind::Request => "request error",
            TransportKind::PlainHttpServer => "server gave HTTP response to HTTPS client",
        })
    }
}

/// A response that did not follow the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protocol {
    /// A redirect or upload response had no usable `Location` header.
    MissingLocation,
    /// A `Location` or `Link` URL could not be parsed or resolved.
    InvalidUrl,
    /// A `Link` header pointed at another origin than the registry.
    CrossOriginLink,
    /// A `Docker-Content-Digest` header is not a digest.
    InvalidDigestHeader,
    /// A `Content-Range` header does not match the requested range.
    InvalidContentRange,
    /// A `Range` header of an upload response is missing or malformed.
    InvalidUploadRange,
    /// A JSON body did not parse or has the wrong shape.
    InvalidJson,
    /// The manifest's `mediaType` differs from the response `Content-Type`.
    MediaTypeMismatch,
    /// The response has no `Content-Type` and the body names no `mediaType`.
    MissingMediaType,
    /// A paginated listing asked for a page it had already served.
    PaginationLoop,
    /// The upload did not make progress (the registry keeps asking for the same bytes).
    UploadStalled,
    /// The existing referrers fallback tag is not an image index.
    ReferrersTagNotIndex,
    /// The registry asked for chunks larger than [`crate::MAX_CHUNK_BYTES`].
    ChunkMinLengthTooLarge,
    /// The response status is not one the endpoint defines.
    UnexpectedStatus,
    /// A tag listing holds a name outside the tag grammar (a line break, a space, `/`, …).
    InvalidTag,
    /// The referrers API was required ([`crate::ReferrersSource::Api`] chosen with
    /// [`crate::Repository::with_referrers_source`]) but the registry answered 404: it has none.
    NoReferrersApi,
}

impl Protocol {
    fn describe(self) -> &'static str {
        match self {
            Protocol::MissingLocation => "no usable Location header",
            Protocol::InvalidUrl => "an unusable URL in Location or Link",
            Protocol::CrossOriginLink => "a Link header pointing at another origin",
            Protocol::InvalidDigestHeader => "a Docker-Content-Digest header that is not a digest",
            Protocol::InvalidContentRange => "a Content-Range that does not match the request",
            Protocol::InvalidUploadRange => "a missing or malformed upload Range header",
            Protocol::InvalidJson => "a JSON body of the wrong shape",
            Protocol::MediaTypeMismatch => "a manifest whose mediaType differs from Content-Type",
            Protocol::MissingMediaType => "a manifest with neither Content-Type nor mediaType",
            Protocol::PaginationLoop => "a pagination Link back to a page already served",
            Protocol::UploadStalled => "an upload that makes no progress",
            Protocol::ReferrersTagNotIndex => "a referrers fallback tag that is not an image index",
            Protocol::ChunkMinLengthTooLarge => "an OCI-Chunk-Min-Length above our chunk limit",
            Protocol::UnexpectedStatus => "a status this endpoint does not define",
            Protocol::InvalidTag => "a tag listing with a name outside the tag grammar",
            Protocol::NoReferrersApi => {
                "no referrers API (404), and the referrers tag schema was not allowed"
            }
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Which limit was exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    /// [`crate::Limits::max_manifest_bytes`].
    ManifestBytes,
    /// [`crate::Limits::max_page_bytes`].
    PageBytes,
    /// [`crate::Limits::max_pages`].
    Pages,
    /// [`crate::Limits::max_redirects`].
    Redirects,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::ManifestBytes => "manifest size",
            Limit::PageBytes => "listing page size",
            Limit::Pages => "number of pages",
            Limit::Redirects => "number of redirects",
        })
    }
}

/// Everything that can go wrong talking to a registry.
///
/// URLs in errors never carry user info, and URLs on another origin than the registry (for
/// example presigned storage URLs) have their query string removed. This holds for the whole
/// `source()` chain: the HTTP library's error under [`Error::Transport`] has its URL removed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The registry answered with an error status.
    #[error("{method} {url}: registry answered {status}{}", Codes(errors))]
    Registry {
        /// Request method.
        method: &'static str,
        /// Request URL (redacted).
        url: String,
        /// HTTP status code.
        status: u16,
        /// Parsed entries of the error body (empty when the body was not a registry error).
        errors: Vec<RegistryError>,
    },
    /// Authentication failed before the registry could answer.
    #[error("{url}: authentication failed")]
    Auth {
        /// Request URL (redacted).
        url: String,
        /// What `oci-auth` reported.
        #[source]
        source: oci_auth::Error,
    },
    /// The request did not get an HTTP answer, or the body broke off.
    #[error("{method} {url}: {kind}")]
    Transport {
        /// Request method.
        method: &'static str,
        /// Request URL (redacted).
        url: String,
        /// What failed.
        kind: TransportKind,
        /// The underlying error, without a URL of its own (`url` is the redacted one).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Content did not hash to the expected digest.
    #[error("{url}: digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        /// Request URL (redacted).
        url: String,
        /// The digest asked for, or announced by `Docker-Content-Digest`.
        expected: Digest,
        /// The digest of the bytes received.
        actual: Digest,
    },
    /// Content did not have the expected size.
    #[error("{url}: size mismatch: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        /// Request URL (redacted).
        url: String,
        /// The expected size.
        expected: u64,
        /// The size received.
        actual: u64,
    },
    /// A configured limit was exceeded.
    #[error("{url}: {limit} limit of {max} exceeded")]
    LimitExceeded {
        /// Request URL (redacted).
        url: String,
        /// Which limit.
        limit: Limit,
        /// The limit's value.
        max: u64,
    },
    /// A manifest type this crate does not handle (Docker schema 1).
    #[error("{url}: unsupported manifest media type {media_type:?}")]
    UnsupportedManifest {
        /// Request URL (redacted).
        url: String,
        /// The media type received.
        media_type: String,
    },
    /// The registry broke the protocol.
    #[error("{url}: protocol violation: {what}")]
    Protocol {
        /// Request URL (redacted).
        url: String,
        /// What was wrong.
        what: Protocol,
    },
    /// Input given to this crate was invalid.
    #[error("invalid {what}")]
    InvalidInput {
        /// What was invalid.
        what: &'static str,
        /// Why, when a lower layer said so.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The client configuration could not be applied.
    #[error("client configuration: {what}")]
    Config {
        /// What was wrong.
        what: &'static str,
        /// The underlying error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// Reading the caller's upload source failed.
    #[error("reading upload source")]
    Source(#[source] std::io::Error),
    /// Writing to the caller's sink failed.
    #[error("writing to sink")]
    Sink(#[source] std::io::Error),
}

struct Codes<'a>(&'a [RegistryError]);

impl fmt::Display for Codes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { ", " })?;
            write!(f, "{}", e.code)?;
            if let Some(m) = &e.message {
                write!(f, " ({m})")?;
            }
        }
        Ok(())
    }
}

impl Error {
    /// The HTTP status, if the registry answered with an error status.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Registry { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The registry's error codes (empty unless [`Error::Registry`] with a parsed body).
    pub fn codes(&self) -> impl Iterator<Item = &ErrorCode> {
        let errors: &[RegistryError] = match self {
            Error::Registry { errors, .. } => errors,
            _ => &[],
        };
        errors.iter().map(|e| &e.code)
    }

    fn has_code(&self, pred: impl Fn(&ErrorCode) -> bool) -> bool {
        self.codes().any(pred)
    }

    /// Whether trying again later may succeed: connection failures, timeouts, 408, 429, 5xx.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport { kind, .. } => {
                matches!(
                    kind,
                    TransportKind::Connect | TransportKind::Timeout | TransportKind::Body
                )
            }
            Error::Registry { status, .. } => {
                matches!(status, 408 | 429 | 500..=599)
                    || self.has_code(|c| *c == ErrorCode::TooManyRequests)
            }
            Error::Auth { source, .. } => source.is_retryable(),
            _ => false,
        }
    }

    /// Whether the thing asked for does not exist (404, or a `*_UNKNOWN` code).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
            || self.has_code(|c| {
                matches!(
                    c,
                    ErrorCode::BlobUnknown
                        | ErrorCode::ManifestUnknown
                        | ErrorCode::NameUnknown
                        | ErrorCode::BlobUploadUnknown
                )
            })
    }

    /// Whether credentials were missing, wrong or insufficient (401, 403, `UNAUTHORIZED`,
    /// `DENIED`, or a token exchange that refused them). A token server that is down or answers
    /// garbage is not "unauthorized": see [`Error::is_retryable`].
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, Error::Auth { source, .. } if source.is_unauthorized())
            || matches!(self.status(), Some(401 | 403))
            || self.has_code(|c| matches!(c, ErrorCode::Unauthorized | ErrorCode::Denied))
    }

    /// Whether content did not match its digest.
    pub fn is_digest_mismatch(&self) -> bool {
        matches!(self, Error::DigestMismatch { .. })
            || self.has_code(|c| *c == ErrorCode::DigestInvalid)
    }

    pub(crate) fn protocol(url: &str, what: Protocol) -> Error {
        Error::Protocol {
            url: url.to_owned(),
            what,
        }
    }

    pub(crate) fn limit(url: &str, limit: Limit, max: u64) -> Error {
        Error::LimitExceeded {
            url: url.to_owned(),
            limit,
            max,
        }
    }
}

/// Parses a registry error body. Never fails: anything unparsable gives an empty list.
pub(crate) fn parse_error_body(body: &[u8]) -> Vec<RegistryError> {
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(default)]
        errors: Vec<serde_json::Value>,
    }
    let Ok(parsed) = serde_json::from_slice::<Body>(body) else {
        return Vec::new();
    };
    parsed
        .errors
        .iter()
        .take(MAX_ERROR_ENTRIES)
        .filter_map(|e| {
            let code = e.get("code")?.as_str()?;
            let message = e
                .get("message")
                .and_then(|m| m.as_str())
                .map(|m| truncate(m, MAX_ERROR_MESSAGE_BYTES));
            Some(RegistryError {
                code: ErrorCode::from_wire(code),
                message,
            })
        })
        .collect()
}

/// Truncates at a char boundary at or below `max` bytes and drops control characters.
fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].chars().filter(|c| !c.is_control()).collect()
}
