//! Docker `config.json` and containers `auth.json`, parsed from bytes. Pure, no IO.
//!
//! Both files share one shape ([docker config], [containers-auth.json(5)]):
//!
//! ```json
//! { "auths": { "quay.io": { "auth": "base64(user:password)" },
//!              "quay.io/org": { "username": "u", "password": "p" },
//!              "https://index.docker.io/v1/": { "identitytoken": "…" } },
//!   "credsStore": "pass",
//!   "credHelpers": { "gcr.io": "gcloud" } }
//! ```
//!
//! Keys are normalised before matching: a legacy `http(s)://host/anything` key is reduced to
//! `host`; `index.docker.io`, `registry-1.docker.io` and `docker.io` all mean Docker Hub. A key may
//! carry a namespace (`quay.io/org`), and the longest key that is a path-prefix of
//! `registry/repository` wins.
//!
//! [docker config]: https://docs.docker.com/reference/cli/docker/#configuration-files
//! [containers-auth.json(5)]: https://github.com/containers/image/blob/main/docs/containers-auth.json.5.md

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Deserialize;

use crate::credential::Credential;
use crate::secret::Secret;

/// Largest credentials file read, in bytes.
///
/// Real files hold a handful of entries (a few KiB); a larger file is a mistake (or a device),
/// and reading it whole would be unbounded memory.
pub const MAX_CONFIG_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Docker Hub's key in `auths` and the server URL its helpers expect.
pub const DOCKER_HUB_AUTH_KEY: &str = "https://index.docker.io/v1/";

/// Why a file's content was rejected (the IO layer adds the file name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// One parsed `auths` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthEntry {
    /// The key as written in the file.
    pub key: String,
    /// The normalised key (`host[/namespace]`).
    pub normalized: String,
    /// The credential; `None` for an empty entry (a marker for a helper or store).
    pub credential: Option<Credential>,
}

/// A parsed docker `config.json` or containers `auth.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthFile {
    auths: Vec<AuthEntry>,
    creds_store: Option<String>,
    cred_helpers: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct RawFile {
    #[serde(default)]
    auths: Option<BTreeMap<String, RawEntry>>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize, Default)]
struct RawEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
    #[serde(default)]
    registrytoken: Option<String>,
}

impl AuthFile {
    /// Parses the bytes of a `config.json` / `auth.json`. An empty (or whitespace-only) file is
    /// an empty configuration, as docker treats it.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming what is wrong: the top level is not a JSON object, the JSON is
    /// malformed, or a known field (`auths`, `credHelpers`, `credsStore`, an `auth` value) has the
    /// wrong type or an invalid helper name.
    pub fn parse(bytes: &[u8]) -> Result<AuthFile, ConfigError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(AuthFile::default());
        }
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ConfigError("the top level is not a JSON object".to_owned()));
        }
        // serde_json messages can quote input text (which may be a secret): keep only the
        // category and position.
        let raw: RawFile = serde_json::from_slice(bytes).map_err(|e| {
            let what = match e.classify() {
                serde_json::error::Category::Syntax => "invalid JSON syntax",
                serde_json::error::Category::Eof => "unexpected end of JSON",
                serde_json::error::Category::Data => "unexpected JSON structure",
                serde_json::error::Category::Io => "read error",
            };
            ConfigError(format!("{what} at line {} column {}", e.line(), e.column()))
        })?;
        let mut auths = Vec::new();
        for (key, entry) in raw.auths.unwrap_or_default() {
            let credential = entry_credential(&key, entry)?;
            auths.push(AuthEntry {
                normalized: normalize_key(&key),
                key,
                credential,
            });
        }
        let cred_helpers = raw.cred_helpers.unwrap_or_default();
        for (host, helper) in &cred_helpers {
            check_helper_name(helper)
                .map_err(|r| ConfigError(format!("credHelpers.{host:?}: {r}")))?;
        }
        let creds_store = raw.creds_store.filter(|s| !s.is_empty());
        if let Some(store) = &creds_store {
            check_helper_name(store).map_err(|r| ConfigError(format!("credsStore: {r}")))?;
        }
        Ok(AuthFile {
            auths,
            creds_store,
            cred_helpers,
        })
    }

    /// The `auths` entries, in key order.
    pub fn auths(&self) -> &[AuthEntry] {
        &self.auths
    }

    /// `credsStore`.
    pub fn creds_store(&self) -> Option<&str> {
        self.creds_store.as_deref()
    }

    /// `credHelpers`.
    pub fn cred_helpers(&self) -> &BTreeMap<String, String> {
        &self.cred_helpers
    }

    /// The helper to ask for `registry`: `credHelpers[registry]` (keys normalised like `auths`
    /// keys), else `credsStore`.
    pub fn helper_for(&self, registry: &str) -> Option<&str> {
        let host = normalize_key(registry);
        self.cred_helpers
            .iter()
            .find(|(k, _)| normalize_key(k) == host)
            .map(|(_, v)| v.as_str())
            .or(self.creds_store.as_deref())
    }

    /// The most specific non-empty `auths` entry for `registry` (and `repository`, for
    /// namespaced keys): the longest key equal to `registry` or to a path-prefix of
    /// `registry/repository`.
    pub fn find(&self, registry: &str, repository: Option<&str>) -> Option<&AuthEntry> {
        let host = normalize_key(registry);
        let full = match repository {
            Some(r) if !r.is_empty() => format!("{host}/{r}"),
            _ => host.clone(),
        };
        self.auths
            .iter()
            .filter(|e| e.credential.is_some())
            .filter(|e| {
                e.normalized == host
                    || e.normalized == full
                    || (e.normalized.starts_with(&format!("{host}/"))
                        && full.starts_with(&format!("{}/", e.normalized)))
            })
            .max_by_key(|e| e.normalized.len())
    }

    /// Sets `auths[key].auth` to base64(`username:password`), replacing the entry. Used by
    /// login; the IO layer keeps the file's other keys by editing the JSON value instead.
    pub fn auth_value(username: &str, password: &Secret) -> String {
        base64::engine::general_purpose::STANDARD
            .encode(format!("{username}:{}", password.expose()))
    }
}

fn entry_credential(key: &str, e: RawEntry) -> Result<Option<Credential>, ConfigError> {
    if let Some(t) = e.registrytoken.filter(|t| !t.is_empty()) {
        return Ok(Some(Credential::RegistryToken(Secret::new(t))));
    }
    if let Some(t) = e.identitytoken.filter(|t| !t.is_empty()) {
        return Ok(Some(Credential::IdentityToken(Secret::new(t))));
    }
    if let Some(auth) = e.auth.filter(|a| !a.is_empty()) {
        let (u, p) =
            decode_auth(&auth).map_err(|r| ConfigError(format!("auths.{key:?}.auth {r}")))?;
        return Ok(Some(Credential::Basic {
            username: u,
            password: p,
        }));
    }
    match (e.username.filter(|u| !u.is_empty()), e.password) {
        (Some(u), Some(p)) => Ok(Some(Credential::basic(u, p))),
        (Some(_), None) => Err(ConfigError(format!(
            "auths.{key:?} has a username but no password"
        ))),
        (None, Some(p)) if !p.is_empty() => Err(ConfigError(format!(
            "auths.{key:?} has a password but no username"
        ))),
        _ => Ok(None),
    }
}

/// Decodes an `auth` value: base64 of `user:password`, split at the first `:`; trailing NULs are
/// stripped from the password (docker/cli does the same). The error never includes the value.
///
/// # Errors
///
/// A fixed description (never the value) when `auth` is not base64, does not decode to UTF-8
/// text, has no `:` between user and password, or has an empty user name.
pub fn decode_auth(auth: &str) -> Result<(String, Secret), &'static str> {
    let trimmed = auth.trim();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(trimmed)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed))
        .map_err(|_| "is not valid base64")?;
    let text = String::from_utf8(bytes).map_err(|_| "does not decode to UTF-8 text")?;
    let (user, pass) = text
        .split_once(':')
        .ok_or("does not decode to \"user:password\"")?;
    if user.is_empty() {
        return Err("decodes to an empty user name");
    }
    Ok((user.to_owned(), Secret::new(pass.trim_end_matches('\0'))))
}

/// Normalises an `auths` / `credHelpers` key or a registry name for matching: strips a scheme
/// (and then any path: legacy URL keys name a host), trailing `/`, and maps Docker Hub's
/// aliases to `docker.io`. Host names are compared case-insensitively.
pub fn normalize_key(key: &str) -> String {
    let key = key.trim();
    let (had_scheme, rest) = match key.split_once("://") {
        Some((scheme, rest))
            if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") =>
        {
            (true, rest)
        }
        _ => (false, key),
    };
    let rest = rest.trim_end_matches('/');
    let (host, path) = match rest.split_once('/') {
        Some((h, p)) if !had_scheme => (h, Some(p)),
        Some((h, _)) => (h, None),
        None => (rest, None),
    };
    let mut host = host.to_ascii_lowercase();
    if matches!(
        host.as_str(),
        "index.docker.io" | "registry-1.docker.io" | "docker.io"
    ) {
        host = oci_ref::DOCKER_HUB.to_owned();
    }
    match path {
        Some(p) if !p.is_empty() => format!("{host}/{p}"),
        _ => host,
    }
}

/// The key login writes and helpers receive for `registry`: [`DOCKER_HUB_AUTH_KEY`] for Docker
/// Hub, else the registry name as given.
pub fn server_key(registry: &str) -> String {
    if normalize_key(registry) == oci_ref::DOCKER_HUB {
        DOCKER_HUB_AUTH_KEY.to_owned()
    } else {
        registry.to_owned()
    }
}

/// A helper suffix must be a plain name: it becomes part of a program name searched on the
/// helper path, so `/`, `..` and friends from a hostile config are refused.
///
/// # Errors
///
/// A fixed description when `name` is empty, longer than 64 characters, or holds a character
/// other than ASCII letters, digits, `-`, `_` and `.`.
pub fn check_helper_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > 64 {
        return Err("helper name must be 1 to 64 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        || name.starts_with('.')
    {
        return Err("helper name may hold only letters, digits, '-', '_' and '.'");
    }
    Ok(())
}
