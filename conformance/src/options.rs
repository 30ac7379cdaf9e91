//! What a test asks of the registry it gets: authentication variants and credentials.

use std::fmt;
use std::path::PathBuf;

/// How the provisioned registry authenticates clients.
///
/// The variants map one-to-one onto the `auth:` section of a CNCF distribution configuration
/// (<https://distribution.github.io/distribution/about/configuration/#auth>). They are honoured by
/// the `process` and `docker` backends; the `external` backend runs whatever the user's registry is
/// configured with, so only [`Auth::None`] is meaningful there.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Auth {
    /// No authentication: every request is allowed.
    #[default]
    None,
    /// HTTP Basic authentication against an htpasswd file generated from `users` (bcrypt).
    ///
    /// Over plain HTTP distribution answers `401` with `WWW-Authenticate: Basic realm=…`.
    Htpasswd {
        /// The accepted `(user, password)` pairs.
        users: Vec<(String, Secret)>,
    },
    /// Bearer-token authentication (`auth: token:`), passed through to the configuration as is.
    ///
    /// The registry itself never contacts `realm`: it only names it in `WWW-Authenticate` and
    /// verifies the JWTs clients present against the certificates in `root_cert_bundle_pem_path`.
    /// A token server is therefore a separate fixture built on top of this option.
    Token {
        /// URL of the token endpoint, as clients should reach it (`realm` in the configuration).
        realm: String,
        /// Service name the token server puts in `aud` (`service`).
        service: String,
        /// Expected `iss` claim (`issuer`).
        issuer: String,
        /// PEM bundle of certificates whose keys sign valid tokens (`rootcertbundle`). For the
        /// docker backend the file is copied into the mounted configuration directory.
        root_cert_bundle_pem_path: PathBuf,
    },
}

/// Options for [`crate::Registry::start_with`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RegistryOptions {
    /// Authentication the registry enforces.
    pub auth: Auth,
    /// Run as a pull-through cache of this registry (`proxy: remoteurl:`), e.g.
    /// `http://127.0.0.1:5000`. Only the `process` backend can reach a loopback upstream.
    pub proxy_remote_url: Option<String>,
}

impl RegistryOptions {
    /// Options for an open registry (no authentication).
    pub fn new() -> Self {
        Self::default()
    }

    /// Options for a registry that accepts exactly these Basic-auth users.
    pub fn htpasswd<U, P>(users: impl IntoIterator<Item = (U, P)>) -> Self
    where
        U: Into<String>,
        P: Into<String>,
    {
        Self {
            proxy_remote_url: None,
            auth: Auth::Htpasswd {
                users: users
                    .into_iter()
                    .map(|(user, pass)| (user.into(), Secret::new(pass)))
                    .collect(),
            },
        }
    }

    /// Options with the given authentication.
    pub fn with_auth(auth: Auth) -> Self {
        Self {
            auth,
            proxy_remote_url: None,
        }
    }

    /// Options for an open pull-through cache of `remote_url` (CNCF distribution's proxy
    /// mode: it fetches what it lacks from the remote and keeps it).
    pub fn proxy(remote_url: impl Into<String>) -> Self {
        Self {
            auth: Auth::None,
            proxy_remote_url: Some(remote_url.into()),
        }
    }
}

/// A password or token: shown as `<redacted>` by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A user name and password a test can use against the registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Password (redacted in `Debug`).
    pub password: Secret,
}
