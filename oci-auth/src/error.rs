//! The crate's [`Error`]: an opaque struct with a structured [`ErrorKind`].
//!
//! No variant carries secret text: messages name the registry, the realm URL (which never holds
//! credentials), the file or the helper, and what failed. A redirect target is named by its
//! origin only (`scheme://host:port`), never with its path or query.
//!
//! # Classification
//!
//! Callers decide what to do from three questions, never from the message:
//!
//! - [`Error::is_retryable`]: trying the same operation again later may succeed. True for a
//!   token server that cannot be reached ([`ErrorKind::TokenRequest`]: connection refused or
//!   reset, an answer that broke off while it was read), that did not answer in time
//!   ([`ErrorKind::TokenTimeout`]), or that answered `408`, `429` or `5xx`
//!   ([`ErrorKind::TokenStatus`]), and for a credential helper that timed out. False for
//!   everything else: rejected credentials, an invalid or oversized token response, a refused
//!   or broken redirect.
//! - [`Error::retry_after`]: how long the token server asked the caller to wait (its
//!   `Retry-After`, [RFC 9110 § 10.2.3](https://www.rfc-editor.org/rfc/rfc9110#section-10.2.3)).
//!   `oci-auth` never waits or retries itself; the caller's retry loop does.
//! - [`Error::is_unauthorized`]: the credentials were missing or rejected (`401`/`403` from the
//!   token server, no credentials for a `Basic` challenge, a credential of the wrong kind). A
//!   token server that answers `200` with a body that is not a token is broken, not a judge of
//!   the credentials: [`ErrorKind::InvalidTokenResponse`] and
//!   [`ErrorKind::TokenResponseTooLarge`] are not "unauthorized".

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::credential::CredentialSource;

/// What went wrong. Matched through [`Error::kind`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The registry or its token server rejected the credentials (or asked for credentials and
    /// none were found).
    #[error(
        "unauthorized: registry {registry} rejected the credentials from {credentials_from}{}",
        in_parens(detail)
    )]
    Unauthorized {
        /// The registry (`host[:port]`).
        registry: String,
        /// Where the credentials came from ([`CredentialSource::Anonymous`] when none).
        credentials_from: CredentialSource,
        /// Extra context, e.g. `token server https://auth.example/token answered 401`.
        detail: Option<String>,
    },
    /// The registry asked for credentials (`Basic`) and none were configured.
    #[error(
        "unauthorized: registry {registry} requires credentials and none were found (looked in: {searched})"
    )]
    CredentialsRequired {
        /// The registry.
        registry: String,
        /// Where the keychain looked.
        searched: String,
    },
    /// The credential kind cannot answer this challenge (e.g. an identity token against `Basic`).
    #[error(
        "registry {registry} asked for {scheme} authentication, which cannot use {credential} from {credentials_from}"
    )]
    CredentialMismatch {
        /// The registry.
        registry: String,
        /// The challenge scheme.
        scheme: String,
        /// What the credential is (see [`crate::Credential::describe`]).
        credential: String,
        /// Where it came from.
        credentials_from: CredentialSource,
    },
    /// No `WWW-Authenticate` challenge with a supported scheme.
    #[error("registry {registry} answered 401 without a usable challenge ({reason})")]
    NoUsableChallenge {
        /// The registry.
        registry: String,
        /// What was wrong: no header, unknown schemes, a `Bearer` without realm…
        reason: String,
    },
    /// A token realm URL that is not a valid absolute `http(s)` URL.
    #[error("registry {registry} named an invalid token realm {realm:?}: {reason}")]
    InvalidRealm {
        /// The registry.
        registry: String,
        /// The realm as received (truncated).
        realm: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// Credentials or a token request would go over plain HTTP to a registry not marked
    /// plain-HTTP/insecure.
    #[error(
        "refusing to send credentials for registry {registry} over plain HTTP to {url}; mark the registry as plain-http/insecure to allow it"
    )]
    InsecureTransport {
        /// The registry.
        registry: String,
        /// The `http://` URL.
        url: String,
    },
    /// The token request could not be sent or its answer not read.
    #[error("token request for registry {registry} to {realm} failed: {reason}")]
    TokenRequest {
        /// The registry.
        registry: String,
        /// The realm URL (without query).
        realm: String,
        /// What failed: cannot connect, the connection closed or was reset before the answer,
        /// the answer broke off while it was read. All of these are retryable.
        reason: String,
    },
    /// The token server did not answer in time.
    #[error("token request for registry {registry} to {realm} timed out after {timeout:?}")]
    TokenTimeout {
        /// The registry.
        registry: String,
        /// The realm URL.
        realm: String,
        /// The limit that was hit.
        timeout: Duration,
    },
    /// The token server answered a non-success status other than 401/403 (and other than a
    /// redirect that was followed).
    #[error(
        "token server {realm} for registry {registry} answered HTTP {status}{}",
        retry_after_note(retry_after)
    )]
    TokenStatus {
        /// The registry.
        registry: String,
        /// The realm URL.
        realm: String,
        /// The HTTP status.
        status: u16,
        /// The answer's `Retry-After` (delay-seconds, or an HTTP-date counted from the time the
        /// answer arrived; a date in the past is zero), `None` when absent or unreadable. Not
        /// capped: bounding the wait is the caller's retry policy. See [`Error::retry_after`].
        retry_after: Option<Duration>,
    },
    /// The token realm redirected, and the redirect was not followed because following it would
    /// break a rule of the exchange (see [`RedirectRefusal`]). Nothing secret was sent to
    /// `location`.
    #[error(
        "token server {realm} for registry {registry} redirected to {location}, which was not followed: {reason}"
    )]
    TokenRedirectRefused {
        /// The registry.
        registry: String,
        /// The realm URL.
        realm: String,
        /// The origin (`scheme://host:port`) of the refused location; never its path or query.
        location: String,
        /// Which rule refused it.
        reason: RedirectRefusal,
    },
    /// The token realm answered a redirect status without a usable `Location`.
    #[error(
        "token server {realm} for registry {registry} answered HTTP {status} without a usable Location: {reason}"
    )]
    TokenRedirectInvalid {
        /// The registry.
        registry: String,
        /// The realm URL.
        realm: String,
        /// The redirect status (301, 302, 303, 307 or 308).
        status: u16,
        /// What was wrong: missing, not a URL, not `http(s)`, with user information.
        reason: &'static str,
    },
    /// The token realm kept redirecting past [`crate::MAX_TOKEN_REDIRECTS`] hops.
    #[error(
        "token server {realm} for registry {registry} redirected more than {limit} times (MAX_TOKEN_REDIRECTS)"
    )]
    TokenRedirectLimit {
        /// The registry.
        registry: String,
        /// The realm URL.
        realm: String,
        /// The limit that was hit ([`crate::MAX_TOKEN_REDIRECTS`]).
        limit: u32,
    },
    /// The token response body exceeded [`crate::MAX_TOKEN_RESPONSE_BYTES`].
    #[error(
        "token server {realm} for registry {registry} sent a response larger than {limit} bytes"
    )]
    TokenResponseTooLarge {
        /// The registry.
        registry: String,
        /// The realm URL.
        realm: String,
        /// The limit.
        limit: usize,
    },
    /// The token response was not the expected JSON.
    #[error("token server {realm} for registry {registry} sent an invalid response: {reason}")]
    InvalidTokenResponse {
        /// The registry.
        registry: String,
        /// The realm URL.
        realm: String,
        /// What was wrong.
        reason: String,
    },
    /// A credential file could not be read.
    #[error("cannot read credentials file {path}: {reason}", path = crate::env::display_path(path))]
    ConfigRead {
        /// The file.
        path: PathBuf,
        /// The OS error.
        reason: String,
    },
    /// A credential file exists but is malformed.
    #[error("malformed credentials file {path}: {reason}", path = crate::env::display_path(path))]
    ConfigParse {
        /// The file.
        path: PathBuf,
        /// What is wrong, e.g. `auths."quay.io".auth is not valid base64`.
        reason: String,
    },
    /// A credential file could not be written (login/logout).
    #[error("cannot write credentials file {path}: {reason}", path = crate::env::display_path(path))]
    ConfigWrite {
        /// The file.
        path: PathBuf,
        /// The OS error.
        reason: String,
    },
    /// `logout` found no stored credentials for the registry.
    #[error("not logged in to {registry} in {path}", path = crate::env::display_path(path))]
    NotLoggedIn {
        /// The registry.
        registry: String,
        /// The file.
        path: PathBuf,
    },
    /// The credential helper program is not on the helper search path.
    #[error("credential helper {helper} for registry {registry} not found on the search path")]
    HelperNotFound {
        /// `docker-credential-<name>`.
        helper: String,
        /// The registry.
        registry: String,
    },
    /// The credential helper failed.
    #[error("credential helper {helper} failed for registry {registry}: {message}")]
    HelperFailed {
        /// `docker-credential-<name>`.
        helper: String,
        /// The registry.
        registry: String,
        /// Exit status and the helper's first output line (truncated).
        message: String,
    },
    /// The credential helper did not finish in time.
    #[error("credential helper {helper} for registry {registry} did not answer within {timeout:?}")]
    HelperTimeout {
        /// `docker-credential-<name>`.
        helper: String,
        /// The registry.
        registry: String,
        /// The limit.
        timeout: Duration,
    },
    /// The credential helper's output was not the expected JSON.
    #[error("credential helper {helper} for registry {registry} printed invalid output: {reason}")]
    HelperOutput {
        /// `docker-credential-<name>`.
        helper: String,
        /// The registry.
        registry: String,
        /// What was wrong.
        reason: String,
    },
    /// A scope string did not match the grammar.
    #[error("invalid scope {input:?}: {reason}")]
    InvalidScope {
        /// The input (truncated).
        input: String,
        /// Why.
        reason: &'static str,
    },
    /// No home directory to find default credential files in.
    #[error("cannot find the home directory ($HOME is not set) to locate {what}")]
    NoHome {
        /// What was being located.
        what: &'static str,
    },
    /// A registry name that cannot be used as a credentials key.
    #[error("invalid registry name {registry:?} for credentials: {reason}")]
    InvalidRegistry {
        /// The name (truncated).
        registry: String,
        /// Why.
        reason: &'static str,
    },
    /// A credential that cannot be sent (e.g. a token with characters not allowed in a header).
    #[error("invalid credential: {reason}")]
    InvalidCredential {
        /// Why.
        reason: &'static str,
    },
    /// A feature not implemented yet.
    #[error("{feature} is not implemented yet")]
    NotImplemented {
        /// What.
        feature: &'static str,
    },
}

/// Why a redirect from the token realm was not followed ([`ErrorKind::TokenRedirectRefused`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RedirectRefusal {
    /// The request is the OAuth2 POST whose form carries a password or refresh token, and the
    /// location is on another origin than the realm: the form is never re-sent there.
    CredentialFormToOtherOrigin,
    /// A `301`, `302` or `303` answered the credential form: following it would turn the form
    /// into a `GET` (RFC 9110 § 15.4), which is not the token request the realm asked for.
    CredentialFormMethodChange,
    /// The location is plain `http://` and the registry is not marked plain-HTTP/insecure.
    Downgrade,
    /// The HTTP client follows redirects itself (its redirect policy is not
    /// `reqwest::redirect::Policy::none()`) and that policy stopped following, e.g. after too
    /// many hops.
    ClientPolicy,
}

impl fmt::Display for RedirectRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RedirectRefusal::CredentialFormToOtherOrigin => {
                "the request carries credentials in its form, which are never sent to another origin"
            }
            RedirectRefusal::CredentialFormMethodChange => {
                "a 301/302/303 would turn the credential form into a GET"
            }
            RedirectRefusal::Downgrade => {
                "it is plain HTTP; mark the registry as plain-http/insecure to allow it"
            }
            RedirectRefusal::ClientPolicy => "the HTTP client's own redirect policy stopped it",
        })
    }
}

fn retry_after_note(retry_after: &Option<Duration>) -> String {
    retry_after
        .map(|d| format!(" (Retry-After: {}s)", d.as_secs()))
        .unwrap_or_default()
}

fn in_parens(detail: &Option<String>) -> String {
    detail
        .as_deref()
        .map(|d| format!(" ({d})"))
        .unwrap_or_default()
}

/// The error of every fallible `oci-auth` operation.
///
/// `Display` is one line naming the registry (or file/helper) and what failed; it never contains
/// a secret. Ask [`Error::kind`] for the structured details.
pub struct Error {
    kind: Box<ErrorKind>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Error {
        Error {
            kind: Box::new(kind),
        }
    }

    /// The structured kind.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// Whether this means "the credentials were missing or rejected": a `401`/`403` from the
    /// token server, no credentials for a `Basic` challenge, or a credential of the wrong kind.
    /// False for an invalid or oversized token response (a broken server, not a verdict on the
    /// credentials).
    pub fn is_unauthorized(&self) -> bool {
        matches!(
            *self.kind,
            ErrorKind::Unauthorized { .. }
                | ErrorKind::CredentialsRequired { .. }
                | ErrorKind::CredentialMismatch { .. }
        )
    }

    /// Whether retrying the same operation later may succeed: the token server could not be
    /// reached or its answer broke off ([`ErrorKind::TokenRequest`]), it did not answer in time,
    /// it answered `408`, `429` or `5xx`, or a credential helper timed out.
    ///
    /// `oci-auth` never retries by itself; the caller does, waiting [`Error::retry_after`] when
    /// that is `Some`.
    pub fn is_retryable(&self) -> bool {
        match &*self.kind {
            ErrorKind::TokenRequest { .. }
            | ErrorKind::TokenTimeout { .. }
            | ErrorKind::HelperTimeout { .. } => true,
            ErrorKind::TokenStatus { status, .. } => matches!(status, 408 | 429 | 500..=599),
            _ => false,
        }
    }

    /// How long the token server asked the caller to wait before trying again: the parsed
    /// `Retry-After` of an [`ErrorKind::TokenStatus`] answer (e.g. `429` or `503`). `None` for
    /// every other kind, and when the header was absent or unreadable. Not capped here.
    pub fn retry_after(&self) -> Option<Duration> {
        match &*self.kind {
            ErrorKind::TokenStatus { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether something looked for does not exist (a helper program, a login entry).
    pub fn is_not_found(&self) -> bool {
        matches!(
            *self.kind,
            ErrorKind::HelperNotFound { .. } | ErrorKind::NotLoggedIn { .. }
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.kind, f)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.kind, f)
    }
}

impl std::error::Error for Error {}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Error {
        Error::new(kind)
    }
}
