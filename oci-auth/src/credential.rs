//! [`Credential`] (what is presented) and [`CredentialSource`] (where it came from).

use std::fmt;
use std::path::PathBuf;

use crate::secret::Secret;

/// Something presented to a registry or token server.
///
/// `Debug` never shows secret text (the [`Secret`] fields are redacted).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Credential {
    /// No credentials: anonymous token requests, no `Basic` header.
    #[default]
    Anonymous,
    /// A user name and password, sent as HTTP Basic to the registry or token realm.
    Basic {
        /// The user name (may be empty: a "pre-shared token" used as the password).
        username: String,
        /// The password.
        password: Secret,
    },
    /// An OAuth2 refresh token (docker `identitytoken`, a helper's `<token>` user), exchanged
    /// with `grant_type=refresh_token`.
    IdentityToken(Secret),
    /// A bearer token sent to the registry as it is, without any token exchange
    /// (docker `registrytoken`).
    RegistryToken(Secret),
}

impl Credential {
    /// Reads a "pull secret" the way Ironic does: empty → anonymous; `user:password` split at
    /// the **first** `:` (so `user:pa:ss` has password `pa:ss`, `user:` an empty password); no
    /// `:` at all → a pre-shared token used as the password with an empty user name.
    ///
    /// # Deviation
    ///
    /// None from Ironic; note that, as there, a bare token containing `:` is read as
    /// `user:password`. Pass [`Credential::RegistryToken`] directly to avoid that.
    pub fn from_pull_secret(secret: &str) -> Credential {
        if secret.is_empty() {
            return Credential::Anonymous;
        }
        match secret.split_once(':') {
            Some((user, pass)) => Credential::basic(user, pass),
            None => Credential::basic("", secret),
        }
    }

    /// `Basic { username, password }`.
    pub fn basic(username: impl Into<String>, password: impl Into<Secret>) -> Credential {
        Credential::Basic {
            username: username.into(),
            password: password.into(),
        }
    }

    /// Whether this is [`Credential::Anonymous`].
    pub fn is_anonymous(&self) -> bool {
        matches!(self, Credential::Anonymous)
    }

    /// A short description without any secret: `anonymous`, `user "bob"`, `identity token`,
    /// `registry token`.
    pub fn describe(&self) -> String {
        match self {
            Credential::Anonymous => "anonymous".to_owned(),
            Credential::Basic { username, .. } if username.is_empty() => {
                "a pre-shared token".to_owned()
            }
            Credential::Basic { username, .. } => format!("user {username:?}"),
            Credential::IdentityToken(_) => "an identity token".to_owned(),
            Credential::RegistryToken(_) => "a registry token".to_owned(),
        }
    }
}

/// Where a [`Credential`] came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialSource {
    /// Passed by the caller ([`Keychain::with_credential`](crate::Keychain::with_credential),
    /// e.g. a pull secret, or command-line flags through
    /// [`Keychain::with_credential_from`](crate::Keychain::with_credential_from)). The text
    /// says where the caller got it, for messages: `the caller` by default.
    Caller(String),
    /// An `auths` entry of a docker `config.json`.
    DockerConfig(PathBuf),
    /// An entry of a containers `auth.json` (podman, skopeo, buildah).
    ContainersAuth(PathBuf),
    /// A file given explicitly (`--registry-config`, `--auth-file`).
    File(PathBuf),
    /// A credential helper program, e.g. `docker-credential-pass`.
    Helper(String),
    /// No credentials were found.
    Anonymous,
}

impl fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialSource::Caller(origin) => f.write_str(origin),
            CredentialSource::DockerConfig(p)
            | CredentialSource::ContainersAuth(p)
            | CredentialSource::File(p) => f.write_str(&crate::env::display_path(p)),
            CredentialSource::Helper(h) => write!(f, "credential helper {h}"),
            CredentialSource::Anonymous => f.write_str("anonymous access"),
        }
    }
}
