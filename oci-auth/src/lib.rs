//! Registry authentication for the `oci-*` workspace: challenges, scopes, credentials and where
//! they come from, the token exchange and the token cache.
//!
//! # Where this sits
//!
//! Depends on `oci-ref`; used by `oci-client` whenever a registry answers `401`. It owns
//! `WWW-Authenticate` challenge parsing, scopes, credentials and where they come from (docker
//! `config.json`, containers `auth.json`, credential helpers), the token exchange and the token
//! cache. It never touches manifests or blobs and never chooses between artifacts, and it never
//! builds an HTTP client: TLS settings belong to the caller's [`reqwest::Client`].
//!
//! Precedence of credentials, first hit wins: what the caller supplies
//! ([`Keychain::with_credential`], e.g. a pull secret or command-line flags) > the credentials
//! files (docker `config.json`, containers `auth.json`), each with the credential helper it
//! names for the registry asked before its own `auths` entry > anonymous. See [`Keychain`].
//! [`store_credentials`] and [`erase_credentials`] write where lookups read: through the helper a
//! config names, else into the file.
//!
//! The pure half ([`challenge`], [`scope`](Scope), [`config`], [`helper_protocol`],
//! [`token_response`]) does no IO; the IO half ([`Keychain`], [`Authenticator`], [`login()`] and
//! [`logout()`]) reads files, runs credential helpers and talks to token servers.
//!
//! # The caller's retry rule
//!
//! On a `401` the caller asks [`Authenticator::challenge`] for a header and retries **once**; on a
//! second `401` with `error="invalid_token"` it calls [`Authenticator::invalidate`] and
//! `challenge` once more; after that it fails with [`Authenticator::rejection`]. The caller never
//! loops on `401`s.
//!
//! A token exchange that failed for a transient reason (the token server unreachable, an answer
//! that broke off, a timeout, `408`/`429`/`5xx`) is [`Error::is_retryable`]; the caller may try
//! again after [`Error::retry_after`] (the token server's `Retry-After`) when that is `Some`.
//! `oci-auth` itself never retries and never sleeps.
//!
//! # Token realm redirects
//!
//! The exchange follows a realm's `301`/`302`/`303`/`307`/`308` itself, at most
//! [`MAX_TOKEN_REDIRECTS`] hops: Basic credentials go only to the realm's own origin, the OAuth2
//! form with a password or refresh token is never re-sent to another origin nor turned into a
//! `GET`, and an `https` realm is never followed to plain `http` unless the registry was marked
//! plain-HTTP/insecure. Hand the [`Authenticator`] a client with automatic redirects off
//! (`reqwest::redirect::Policy::none()`), as `oci-client` does; see [`Authenticator::new`].
//!
//! # Examples
//!
//! ```
//! use oci_auth::{Credential, Scope, challenge};
//!
//! // Challenges: several per header, case-insensitive names, commas inside quotes.
//! let cs = challenge::parse(
//!     r#"Basic realm="x", BEARER Realm="https://auth.example/token",service="reg",scope="repository:a/b:pull,push""#,
//! )?;
//! assert!(cs[1].is_bearer());
//! assert_eq!(cs[1].scope(), Some("repository:a/b:pull,push"));
//!
//! // Scopes parse from both ends: a port puts ':' in the name.
//! let s: Scope = "repository:localhost:5000/app:push,pull".parse()?;
//! assert_eq!(s.name(), "localhost:5000/app");
//! assert_eq!(s.to_string(), "repository:localhost:5000/app:pull,push");
//!
//! // Pull secrets split at the first ':'; secrets never print.
//! let c = Credential::from_pull_secret("bob:pa:ss");
//! assert_eq!(format!("{c:?}"), r#"Basic { username: "bob", password: Secret(<redacted>) }"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Cancel safety
//!
//! Dropping an [`Authenticator`] future abandons its token fetch without caching anything;
//! dropping a [`Keychain::credential_for`] future kills the credential helper it started.

#![warn(clippy::missing_errors_doc)]

mod authenticator;
mod authorization;
pub mod challenge;
pub mod config;
mod credential;
mod env;
mod error;
mod exchange;
mod helper;
pub mod helper_protocol;
mod keychain;
mod login;
mod scope;
mod secret;
pub mod token_response;

pub use authenticator::{
    Authenticator, AuthenticatorOptions, MAX_TOKEN_CACHE_ENTRIES, REGISTRY_TOKEN_REUSE,
    TOKEN_REFRESH_MARGIN,
};
pub use authorization::Authorization;
pub use challenge::{Challenge, ChallengeError, MAX_CHALLENGE_LENGTH};
pub use config::MAX_CONFIG_FILE_BYTES;
pub use credential::{Credential, CredentialSource};
pub use env::Env;
pub use error::{Error, ErrorKind, RedirectRefusal};
pub use exchange::{
    DEFAULT_CLIENT_ID, MAX_TOKEN_REDIRECTS, MAX_TOKEN_RESPONSE_BYTES, TOKEN_REQUEST_TIMEOUT,
};
pub use helper::{HELPER_TIMEOUT, MAX_HELPER_OUTPUT_BYTES};
pub use keychain::Keychain;
pub use login::{CredentialStore, erase_credentials, login, logout, store_credentials};
pub use scope::{Action, MAX_SCOPE_LENGTH, Scope};
pub use secret::Secret;
pub use token_response::{DEFAULT_TOKEN_LIFETIME, MAX_TOKEN_LENGTH, MAX_TOKEN_LIFETIME};
