//! `oci-fetch login|logout REGISTRY`: store or remove credentials where docker and oras keep
//! them.
//!
//! The file is `--registry-config` when given, else `$DOCKER_CONFIG/config.json`, else
//! `~/.docker/config.json` — where docker, podman (as a fallback) and oras look. When that file
//! names a credential helper for the registry (`credHelpers`, else `credsStore`), `login`
//! stores through the helper (`store`) and `logout` erases through it (`erase`), as docker and
//! oras do; otherwise the file's `auths` entry is written or removed. `login` reads and checks
//! the file first (a missing one is created), then checks the credentials against the registry
//! before storing them, like `docker login`: a broken file is named even when the registry
//! cannot be reached. The user name comes from `-u`, the password from `--password-stdin` or
//! `-p`; on a terminal, whichever is missing is asked for (the password without echo), and
//! without a terminal a missing one is bad input naming the flag. `logout` needs no secret and
//! contacts no registry (as `docker logout` and `oras logout`, which take no credential flags):
//! a credential flag given to it is refused as bad input, before any standard input is read.
//!
//! Exit codes: a malformed registry name or user name and any problem with the credentials file
//! (unreadable, broken, unwritable) are bad input (2); a registry that cannot be reached or
//! refuses the credentials, a failing helper, and a `logout` with nothing to remove, are
//! failures (1); a `--registry-config` file that does not exist is bad input for `logout`,
//! where a missing default file only means "not logged in". Errors quote the registry as typed.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use oci_auth::{Credential, CredentialStore, Env, ErrorKind, Keychain};
use oci_client::Client;
use oci_ref::Reference;
use serde::Serialize;

use crate::Failure;
use crate::cmd_resolve::runtime;
use crate::common::GlobalArgs;
use crate::credentials::prompt_username;

/// Arguments of `oci-fetch login` (the credential flags are global: `-u`, `-p`,
/// `--password-stdin`).
#[derive(Debug, clap::Args)]
pub(crate) struct LoginArgs {
    /// The registry (`host[:port]`).
    registry: String,
    /// Print the result as one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

/// Arguments of `oci-fetch logout`.
#[derive(Debug, clap::Args)]
pub(crate) struct LogoutArgs {
    /// The registry (`host[:port]`).
    registry: String,
    /// Print the result as one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

/// `login --json` and `logout --json`: where the credentials went or were removed from.
#[derive(Debug, Serialize)]
struct StoreJson<'a> {
    registry: &'a str,
    /// The user name stored (`login` only; never the password).
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    /// `config-file` or `credential-helper`.
    store: &'static str,
    /// The config file's path, or the helper program's name.
    location: String,
}

impl<'a> StoreJson<'a> {
    fn new(registry: &'a str, username: Option<&'a str>, store: &CredentialStore) -> Self {
        let (kind, location) = match store {
            CredentialStore::Helper(h) => ("credential-helper", h.clone()),
            CredentialStore::ConfigFile(p) => ("config-file", p.display().to_string()),
            _ => ("other", store.to_string()),
        };
        StoreJson {
            registry,
            username,
            store: kind,
            location,
        }
    }

    fn print(&self) -> Result<(), Failure> {
        println!("{}", serde_json::to_string(self)?);
        Ok(())
    }
}

fn config_path(global: &GlobalArgs) -> Result<PathBuf, Failure> {
    match &global.registry_config {
        Some(p) => Ok(p.clone()),
        None => Env::process()
            .docker_config_path()
            .map_err(|e| Failure::Usage(e.into())),
    }
}

/// The registry named by `text`, `host[:port]` or `oci://host[:port]`, normalised as in
/// references (`index.docker.io` is `docker.io`). Errors quote `text` as typed.
pub(crate) fn registry_name(text: &str) -> Result<String, Failure> {
    let host = text.trim_start_matches("oci://").trim_end_matches('/');
    // `Reference::new` checks each part against the reference grammar; the repository and tag
    // are placeholders that always pass, so an error is about the registry.
    Reference::new(host, "x", Some(oci_ref::DEFAULT_TAG), None)
        .map(|r| r.registry().to_owned())
        .map_err(|e| {
            Failure::Usage(anyhow::Error::new(e).context(format!(
                "invalid reference {text:?}: expected a registry host[:port]"
            )))
        })
}

/// An error of [`oci_auth::login`] or [`oci_auth::logout`]: bad input when it is about the
/// credentials file or the names given, a failure otherwise.
fn auth_failure(e: oci_auth::Error) -> Failure {
    let bad_input = matches!(
        e.kind(),
        ErrorKind::ConfigRead { .. }
            | ErrorKind::ConfigParse { .. }
            | ErrorKind::ConfigWrite { .. }
            | ErrorKind::InvalidCredential { .. }
            | ErrorKind::InvalidRegistry { .. }
    );
    if bad_input {
        Failure::Usage(e.into())
    } else {
        Failure::Operation(e.into())
    }
}

/// Reads and parses the credentials file `login` will update, before anything is contacted.
/// A file that does not exist yet is fine (`login` creates it); any other problem reaching it
/// (a directory, a path below a regular file, no permission) is reported by the read.
fn check_config_file(path: &Path) -> Result<(), Failure> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        _ => Keychain::from_file(path).map(drop).map_err(auth_failure),
    }
}

pub(crate) fn login(args: LoginArgs, global: &GlobalArgs) -> Result<(), Failure> {
    let registry = registry_name(&args.registry)?;
    let path = config_path(global)?;
    check_config_file(&path)?;
    let flags = &global.credentials;
    if let Some(flag) = flags.token_flag() {
        return Err(Failure::Usage(anyhow!(
            "login stores a user name and password; --{flag} is used per command, not stored"
        )));
    }
    flags.warn_insecure();
    let username = match &flags.username {
        Some(u) => u.clone(),
        None => prompt_username()?,
    };
    let (secret, origin) = flags.password()?;
    let credential = Credential::basic(username.clone(), secret.clone());
    let keychain = Keychain::empty().with_credential_from(&registry, credential, origin);
    let mut builder = Client::builder().keychain(keychain);
    if global.plain_http {
        builder = builder.plain_http(&registry);
    }
    if global.insecure {
        builder = builder.skip_tls_verify(&registry);
    }
    if let Some(ca) = &global.ca_file {
        builder = builder.ca_file(ca);
    }
    let client = builder.build()?;
    let runtime = runtime()?;
    runtime
        .block_on(client.ping(&registry))
        .with_context(|| format!("logging in to {} as {username}", args.registry))?;
    let helper_path = Env::process().helper_search_path();
    let store = runtime
        .block_on(oci_auth::store_credentials(
            &path,
            &registry,
            &username,
            &secret,
            &helper_path,
        ))
        .map_err(auth_failure)?;
    if args.json {
        return StoreJson::new(&registry, Some(&username), &store).print();
    }
    eprintln!("Login succeeded: credentials for {registry} stored in {store}");
    Ok(())
}

pub(crate) fn logout(args: LogoutArgs, global: &GlobalArgs) -> Result<(), Failure> {
    let registry = registry_name(&args.registry)?;
    // A file named on the command line must exist: a missing one is a typo (bad input), not
    // "not logged in" as a missing default file is.
    global.check_registry_config()?;
    let path = config_path(global)?;
    let helper_path = Env::process().helper_search_path();
    let store = runtime()?
        .block_on(oci_auth::erase_credentials(&path, &registry, &helper_path))
        .map_err(auth_failure)?;
    if args.json {
        return StoreJson::new(&registry, None, &store).print();
    }
    eprintln!("Removed credentials for {registry} from {store}");
    Ok(())
}
