//! The crate's [`Error`]: an opaque struct with a structured [`ErrorKind`].
//!
//! No variant carries secret text: messages name the registry, the realm URL (which never holds
//! credentials), the file or the helper, and what failed.

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
        /// What failed (connection refused, reset…).
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
    /// The token server answered a non-success status other than 401/403.
    #[error("token server {realm} for registry {registry} answered HTTP {status}")]
    TokenStatus {
        /// The registry.
        registry: String,
        /// The realm URL.
        realm: String,
        /// The HTTP status.
        status: u16,
    },
    /// The token response body exceeded [`crate::TOKEN_RESPONSE_MAX_BYTES`].
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

    /// Whether this means "the credentials were missing or rejected".
    pub fn is_unauthorized(&self) -> bool {
        matches!(
            *self.kind,
            ErrorKind::Unauthorized { .. }
                | ErrorKind::CredentialsRequired { .. }
                | ErrorKind::CredentialMismatch { .. }
        )
    }

    /// Whether retrying the same operation later may succeed (network trouble, timeouts, 5xx or
    /// 429 from the token server, a helper timeout).
    pub fn is_retryable(&self) -> bool {
        match &*self.kind {
            ErrorKind::TokenRequest { .. }
            | ErrorKind::TokenTimeout { .. }
            | ErrorKind::HelperTimeout { .. } => true,
            ErrorKind::TokenStatus { status, .. } => *status == 429 || *status >= 500,
            _ => false,
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
