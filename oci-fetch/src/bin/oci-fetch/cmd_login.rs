//! `oci-fetch login|logout REGISTRY`: store or remove credentials in the docker config file.
//!
//! The file is `--registry-config` when given, else `$DOCKER_CONFIG/config.json`, else
//! `~/.docker/config.json` — where docker, podman (as a fallback) and oras look. `login`
//! reads and checks that file first (a missing one is created), then checks the credentials
//! against the registry before storing them, like `docker login`: a broken file is named even
//! when the registry cannot be reached.
//!
//! Exit codes: a malformed registry name or user name and any problem with the credentials file
//! (unreadable, broken, unwritable) are bad input (2); a registry that cannot be reached or
//! refuses the credentials, and a `logout` with nothing to remove, are failures (1); a
//! `--registry-config` file that does not exist is bad input for `logout`, where a missing
//! default file only means "not logged in". Errors quote the registry as typed.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use oci_auth::{Credential, Env, ErrorKind, Keychain, Secret};
use oci_client::Client;
use oci_ref::Reference;

use crate::Failure;
use crate::cmd_resolve::runtime;
use crate::common::GlobalArgs;

/// Arguments of `oci-fetch login`.
#[derive(Debug, clap::Args)]
pub(crate) struct LoginArgs {
    /// The registry (`host[:port]`).
    registry: String,
    /// User name.
    #[arg(short = 'u', long)]
    username: String,
    /// Read the password (or token) from standard input.
    #[arg(long, required = true)]
    password_stdin: bool,
}

/// Arguments of `oci-fetch logout`.
#[derive(Debug, clap::Args)]
pub(crate) struct LogoutArgs {
    /// The registry (`host[:port]`).
    registry: String,
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
    let mut password = String::new();
    std::io::stdin()
        .read_to_string(&mut password)
        .context("reading the password from stdin")?;
    let password = password.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        return Err(Failure::Usage(anyhow!("no password on standard input")));
    }
    let secret = Secret::new(password);
    let credential = Credential::Basic {
        username: args.username.clone(),
        password: secret.clone(),
    };
    let mut builder =
        Client::builder().keychain(Keychain::empty().with_credential(&registry, credential));
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
    runtime()?
        .block_on(client.ping(&registry))
        .with_context(|| format!("logging in to {} as {}", args.registry, args.username))?;
    oci_auth::login(&path, &registry, &args.username, &secret).map_err(auth_failure)?;
    eprintln!(
        "Login succeeded: credentials for {registry} stored in {}",
        path.display()
    );
    Ok(())
}

pub(crate) fn logout(args: LogoutArgs, global: &GlobalArgs) -> Result<(), Failure> {
    let registry = registry_name(&args.registry)?;
    // A file named on the command line must exist: a missing one is a typo (bad input), not
    // "not logged in" as a missing default file is.
    global.check_registry_config()?;
    let path = config_path(global)?;
    oci_auth::logout(&path, &registry).map_err(auth_failure)?;
    eprintln!("Removed credentials for {registry} from {}", path.display());
    Ok(())
}
