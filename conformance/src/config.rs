//! Renders a CNCF distribution configuration file and its auth side files.
//!
//! Reference: <https://distribution.github.io/distribution/about/configuration/>. The rendered
//! file enables deletes (`storage.delete.enabled`) so later delete tests can run, sets
//! `http.secret` (otherwise distribution logs a warning and picks a random one) and keeps logs at
//! `warn`.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;

use crate::options::Auth;

/// bcrypt cost of generated htpasswd entries. distribution verifies the hash on every request, so
/// the test registry uses a low cost (the minimum bcrypt allows is 4); this is a throwaway
/// test password, never a real one.
pub const HTPASSWD_BCRYPT_COST: u32 = 5;

/// Where the files of the configuration live, as the registry process sees them.
#[derive(Debug)]
pub(crate) struct Layout<'a> {
    /// `http.addr`.
    pub(crate) listen: &'a str,
    /// Filesystem storage root.
    pub(crate) storage: &'a str,
    /// Directory holding `htpasswd` and `token-root.pem`.
    pub(crate) auth_dir: &'a str,
}

/// File name of the generated htpasswd file inside the auth directory.
pub(crate) const HTPASSWD_FILE: &str = "htpasswd";
/// File name of the copied token root certificate bundle inside the auth directory.
pub(crate) const TOKEN_ROOT_FILE: &str = "token-root.pem";
/// File name of the configuration itself.
pub(crate) const CONFIG_FILE: &str = "config.yml";

/// Writes `config.yml` and the auth side files into `dir` (on the host), with paths inside the
/// configuration taken from `layout` (which may be container paths).
pub(crate) fn write(
    dir: &Path,
    layout: &Layout<'_>,
    auth: &Auth,
    proxy_remote_url: Option<&str>,
) -> anyhow::Result<()> {
    let mut yaml = String::new();
    let secret = crate::random_hex(16);
    // `write!` into a String cannot fail.
    let _ = write!(
        yaml,
        "version: 0.1\n\
         log:\n  level: warn\n  accesslog:\n    disabled: true\n\
         storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n\
         \x20 cache:\n    blobdescriptor: inmemory\n\
         http:\n  addr: {listen}\n  secret: {secret}\n\
         \x20 headers:\n    X-Content-Type-Options: [nosniff]\n",
        storage = quote(layout.storage),
        listen = quote(layout.listen),
    );
    if let Some(url) = proxy_remote_url {
        let _ = write!(yaml, "proxy:\n  remoteurl: {}\n", quote(url));
    }
    match auth {
        Auth::None => {}
        Auth::Htpasswd { users } => {
            let mut file = String::new();
            for (user, pass) in users {
                anyhow::ensure!(
                    !user.is_empty() && !user.contains([':', '\n', '\r']),
                    "htpasswd user name {user:?} must be non-empty without ':' or line breaks"
                );
                let hash = bcrypt::hash_with_result(pass.expose(), HTPASSWD_BCRYPT_COST)
                    .context("bcrypt hashing of a test password")?
                    .format_for_version(bcrypt::Version::TwoY);
                let _ = writeln!(file, "{user}:{hash}");
            }
            std::fs::write(dir.join(HTPASSWD_FILE), file).context("writing htpasswd file")?;
            let _ = write!(
                yaml,
                "auth:\n  htpasswd:\n    realm: {realm}\n    path: {path}\n",
                realm = quote("conformance"),
                path = quote(&format!("{}/{HTPASSWD_FILE}", layout.auth_dir)),
            );
        }
        Auth::Token {
            realm,
            service,
            issuer,
            root_cert_bundle_pem_path,
        } => {
            std::fs::copy(root_cert_bundle_pem_path, dir.join(TOKEN_ROOT_FILE)).with_context(
                || {
                    format!(
                        "copying token root bundle {}",
                        root_cert_bundle_pem_path.display()
                    )
                },
            )?;
            let _ = write!(
                yaml,
                "auth:\n  token:\n    realm: {realm}\n    service: {service}\n    issuer: {issuer}\n    rootcertbundle: {bundle}\n",
                realm = quote(realm),
                service = quote(service),
                issuer = quote(issuer),
                bundle = quote(&format!("{}/{TOKEN_ROOT_FILE}", layout.auth_dir)),
            );
        }
    }
    std::fs::write(dir.join(CONFIG_FILE), yaml).context("writing registry config.yml")?;
    Ok(())
}

/// A YAML double-quoted scalar (JSON string syntax is valid YAML).
fn quote(value: &str) -> String {
    serde_json::Value::String(value.to_owned()).to_string()
}
