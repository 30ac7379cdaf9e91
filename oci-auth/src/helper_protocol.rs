//! The docker credential-helper protocol, encoding and decoding only. Pure, no IO.
//!
//! [docker-credential-helpers](https://github.com/docker/docker-credential-helpers#development):
//! the program `docker-credential-<name>` is run with the action as its only argument. For `get`,
//! stdin is the server URL; stdout is `{"ServerURL": …, "Username": …, "Secret": …}`. A
//! `Username` of `<token>` means `Secret` is an identity (refresh) token. On failure the helper
//! exits non-zero and prints a message on stdout; `credentials not found in native keychain`
//! means "no credentials", which is anonymous access, not an error. For `store`, stdin is the
//! same JSON object (`login`); for `erase`, the server URL (`logout`).

use serde::Deserialize;

use crate::credential::Credential;
use crate::secret::Secret;

/// The message helpers print when they hold nothing for the server.
pub const CREDENTIALS_NOT_FOUND: &str = "credentials not found in native keychain";

/// The `Username` that marks `Secret` as an identity token.
pub const IDENTITY_TOKEN_USERNAME: &str = "<token>";

/// The program name for a helper suffix: `docker-credential-<name>`.
pub fn program_name(name: &str) -> String {
    format!("docker-credential-{name}")
}

/// What `get` writes on the helper's stdin for `registry`.
pub fn get_request(registry: &str) -> String {
    crate::config::server_key(registry)
}

#[derive(serde::Serialize)]
struct StoreRequest<'a> {
    #[serde(rename = "ServerURL")]
    server_url: String,
    #[serde(rename = "Username")]
    username: &'a str,
    #[serde(rename = "Secret")]
    secret: &'a str,
}

/// What `store` writes on the helper's stdin: `{"ServerURL", "Username", "Secret"}`, the
/// server written as [`get_request`] writes it, so that `get` finds it again. Holds the secret:
/// write it to the helper only.
pub fn store_request(registry: &str, username: &str, password: &Secret) -> String {
    let request = StoreRequest {
        server_url: get_request(registry),
        username,
        secret: password.expose(),
    };
    // Serialising strings into a JSON object cannot fail.
    serde_json::to_string(&request).unwrap_or_default()
}

/// Whether a failing helper's output says it has no credentials (anonymous access).
pub fn is_not_found(output: &[u8]) -> bool {
    String::from_utf8_lossy(output)
        .to_ascii_lowercase()
        .contains(CREDENTIALS_NOT_FOUND)
}

#[derive(Deserialize)]
struct GetResponse {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// Decodes a successful `get` answer. An empty secret is anonymous (`None`). The error never
/// contains the output (which holds the secret).
///
/// # Errors
///
/// A fixed description (never the output, which holds the secret) when `stdout` is not the JSON
/// object with `Username` and `Secret` a helper must print.
pub fn parse_get_response(stdout: &[u8]) -> Result<Option<Credential>, &'static str> {
    let r: GetResponse = serde_json::from_slice(stdout)
        .map_err(|_| "expected JSON with \"Username\" and \"Secret\"")?;
    if r.secret.is_empty() {
        return Ok(None);
    }
    if r.username == IDENTITY_TOKEN_USERNAME {
        return Ok(Some(Credential::IdentityToken(Secret::new(r.secret))));
    }
    Ok(Some(Credential::Basic {
        username: r.username,
        password: Secret::new(r.secret),
    }))
}

/// Messages of the docker-credential-helpers library, safe to repeat in errors.
pub const KNOWN_MESSAGES: &[&str] = &[
    CREDENTIALS_NOT_FOUND,
    "no credentials server URL",
    "no credentials username",
    "no credentials secret",
    "unknown credential action",
];

/// What an error may say about a failing helper's output: one of [`KNOWN_MESSAGES`] if the
/// output contains it, else a note that the message was withheld. Arbitrary helper output is
/// never repeated, because a broken helper may print the secret it was about to return.
pub fn failure_excerpt(output: &[u8]) -> String {
    let text = String::from_utf8_lossy(output).to_ascii_lowercase();
    match KNOWN_MESSAGES
        .iter()
        .find(|m| text.contains(&m.to_ascii_lowercase()))
    {
        Some(m) => (*m).to_owned(),
        None if text.trim().is_empty() => "no output".to_owned(),
        None => "its message is withheld because it may contain a secret; run the helper \
                 with `get` by hand to see it"
            .to_owned(),
    }
}
