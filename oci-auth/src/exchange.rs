//! The token exchange with a `Bearer` realm: GET with Basic credentials, or the OAuth2 POST
//! form ([distribution token spec], [OAuth2 variant]).
//!
//! - [`Credential::Anonymous`]: `GET realm?service=…&scope=…&scope=…` without credentials.
//! - [`Credential::Basic`]: the same GET with HTTP Basic; if the realm answers 404 or 405 to the
//!   GET, the POST form with `grant_type=password` is tried once.
//! - [`Credential::IdentityToken`]: the POST form with `grant_type=refresh_token`.
//!
//! The answer is read with a size cap ([`TOKEN_RESPONSE_MAX_BYTES`]), the whole exchange with a
//! time limit ([`TOKEN_REQUEST_TIMEOUT`] by default).
//!
//! [distribution token spec]: https://distribution.github.io/distribution/spec/auth/token/
//! [OAuth2 variant]: https://distribution.github.io/distribution/spec/auth/oauth/

use std::time::Duration;

use base64::Engine as _;
use reqwest::StatusCode;
use url::Url;

use crate::credential::{Credential, CredentialSource};
use crate::error::{Error, ErrorKind};
use crate::scope::Scope;
use crate::secret::Secret;
use crate::token_response::{self, TokenResponse};

/// Largest token-server response body read, in bytes; enforced while reading.
///
/// A token response is a small JSON object: a JWT of a few KiB (with an `x5c` certificate chain,
/// perhaps 10 KiB), an expiry and maybe a refresh token. A hostile or broken realm must not make
/// us buffer megabytes.
pub const TOKEN_RESPONSE_MAX_BYTES: usize = 256 * 1024;

/// Default time limit for one token exchange (connect, send, read the whole answer).
pub const TOKEN_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The `client_id` sent in OAuth2 POST requests (required there by the spec).
pub const DEFAULT_CLIENT_ID: &str = "oci-auth";

/// Everything needed for one exchange.
pub(crate) struct Exchange<'a> {
    pub(crate) http: &'a reqwest::Client,
    pub(crate) registry: &'a str,
    pub(crate) realm: &'a Url,
    pub(crate) service: Option<&'a str>,
    pub(crate) scopes: &'a [Scope],
    pub(crate) credential: &'a Credential,
    pub(crate) source: &'a CredentialSource,
    pub(crate) client_id: &'a str,
    pub(crate) timeout: Duration,
}

enum Form<'a> {
    Password {
        username: &'a str,
        password: &'a Secret,
    },
    Refresh {
        token: &'a Secret,
    },
}

impl Exchange<'_> {
    fn realm_text(&self) -> String {
        let mut u = self.realm.clone();
        u.set_query(None);
        u.set_fragment(None);
        u.to_string()
    }

    /// Runs the exchange within the time limit.
    pub(crate) async fn run(&self) -> Result<TokenResponse, Error> {
        match tokio::time::timeout(self.timeout, self.run_inner()).await {
            Ok(r) => r,
            Err(_) => Err(ErrorKind::TokenTimeout {
                registry: self.registry.to_owned(),
                realm: self.realm_text(),
                timeout: self.timeout,
            }
            .into()),
        }
    }

    async fn run_inner(&self) -> Result<TokenResponse, Error> {
        match self.credential {
            Credential::Anonymous => self.finish(self.get(None).await?).await,
            Credential::Basic { username, password } => {
                let resp = self.get(Some((username, password))).await?;
                let status = resp.status();
                if (status == StatusCode::NOT_FOUND || status == StatusCode::METHOD_NOT_ALLOWED)
                    && !username.is_empty()
                {
                    tracing::debug!(
                        registry = self.registry, %status,
                        "token GET refused, trying the OAuth2 password grant"
                    );
                    return self
                        .finish(self.post(Form::Password { username, password }).await?)
                        .await;
                }
                self.finish(resp).await
            }
            Credential::IdentityToken(token) => {
                self.finish(self.post(Form::Refresh { token }).await?).await
            }
            Credential::RegistryToken(_) => Err(ErrorKind::CredentialMismatch {
                registry: self.registry.to_owned(),
                scheme: "token-exchange".to_owned(),
                credential: self.credential.describe(),
                credentials_from: self.source.clone(),
            }
            .into()),
        }
    }

    async fn get(&self, basic: Option<(&String, &Secret)>) -> Result<reqwest::Response, Error> {
        let mut url = self.realm.clone();
        {
            let mut q = url.query_pairs_mut();
            if let Some(s) = self.service {
                q.append_pair("service", s);
            }
            for s in self.scopes {
                q.append_pair("scope", &s.to_string());
            }
        }
        let mut req = self.http.get(url);
        if let Some((u, p)) = basic {
            let encoded =
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{}", p.expose()));
            req = req.header(
                reqwest::header::AUTHORIZATION,
                sensitive(&format!("Basic {encoded}"))?,
            );
        }
        req.send().await.map_err(|e| self.transport(&e))
    }

    async fn post(&self, form: Form<'_>) -> Result<reqwest::Response, Error> {
        let scope = self
            .scopes
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ");
        // The serializer is not `Send`: finish it before any `.await`.
        let body = {
            let mut body = url::form_urlencoded::Serializer::new(String::new());
            match form {
                Form::Password { username, password } => {
                    body.append_pair("grant_type", "password");
                    body.append_pair("username", username);
                    body.append_pair("password", password.expose());
                }
                Form::Refresh { token } => {
                    body.append_pair("grant_type", "refresh_token");
                    body.append_pair("refresh_token", token.expose());
                }
            }
            body.append_pair("service", self.service.unwrap_or_default());
            body.append_pair("client_id", self.client_id);
            if !scope.is_empty() {
                body.append_pair("scope", &scope);
            }
            body.finish()
        };
        self.http
            .post(self.realm.clone())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .map_err(|e| self.transport(&e))
    }

    async fn finish(&self, mut resp: reqwest::Response) -> Result<TokenResponse, Error> {
        let status = resp.status();
        let realm = self.realm_text();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(ErrorKind::Unauthorized {
                registry: self.registry.to_owned(),
                credentials_from: self.source.clone(),
                detail: Some(format!("token server {realm} answered {}", status.as_u16())),
            }
            .into());
        }
        if !status.is_success() {
            return Err(ErrorKind::TokenStatus {
                registry: self.registry.to_owned(),
                realm,
                status: status.as_u16(),
            }
            .into());
        }
        let too_large = || -> Error {
            ErrorKind::TokenResponseTooLarge {
                registry: self.registry.to_owned(),
                realm: self.realm_text(),
                limit: TOKEN_RESPONSE_MAX_BYTES,
            }
            .into()
        };
        if resp
            .content_length()
            .is_some_and(|l| l > TOKEN_RESPONSE_MAX_BYTES as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.transport(&e))? {
            if body.len() + chunk.len() > TOKEN_RESPONSE_MAX_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        token_response::parse(&body).map_err(|reason| {
            ErrorKind::InvalidTokenResponse {
                registry: self.registry.to_owned(),
                realm: self.realm_text(),
                reason: reason.to_owned(),
            }
            .into()
        })
    }

    fn transport(&self, e: &reqwest::Error) -> Error {
        if e.is_timeout() {
            return ErrorKind::TokenTimeout {
                registry: self.registry.to_owned(),
                realm: self.realm_text(),
                timeout: self.timeout,
            }
            .into();
        }
        let reason = if e.is_connect() {
            "cannot connect"
        } else if e.is_redirect() {
            "too many redirects"
        } else if e.is_body() || e.is_decode() {
            "reading the answer failed"
        } else {
            "the request failed"
        };
        ErrorKind::TokenRequest {
            registry: self.registry.to_owned(),
            realm: self.realm_text(),
            reason: reason.to_owned(),
        }
        .into()
    }
}

fn sensitive(text: &str) -> Result<reqwest::header::HeaderValue, Error> {
    let mut v =
        reqwest::header::HeaderValue::from_str(text).map_err(|_| ErrorKind::InvalidCredential {
            reason: "the credential contains characters not allowed in an HTTP header",
        })?;
    v.set_sensitive(true);
    Ok(v)
}
