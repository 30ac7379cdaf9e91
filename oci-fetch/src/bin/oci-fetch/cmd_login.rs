//! `oci-fetch login|logout REGISTRY`: store or remove credentials in the docker config file.
//!
//! The file is `--registry-config` when given, else `$DOCKER_CONFIG/config.json`, else
//! `~/.docker/config.json` — where docker, podman (as a fallback) and oras look. `login`
//! checks the credentials against the registry before storing them, like `docker login`.

use std::io::Read as _;
use std::path::PathBuf;

use anyhow::{Context as _, anyhow};
use oci_auth::{Credential, Env, Keychain, Secret};
use oci_client::Client;

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

fn registry_name(global: &GlobalArgs, text: &str) -> Result<String, Failure> {
    // Accept `host[:port]` and `oci://host` forms by parsing a reference under it.
    let host = text.trim_start_matches("oci://").trim_end_matches('/');
    let reference = global.reference(&format!("oci://{host}/x"))?;
    Ok(reference.registry().to_owned())
}

pub(crate) fn login(args: LoginArgs, global: &GlobalArgs) -> Result<(), Failure> {
    let registry = registry_name(global, &args.registry)?;
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
        .with_context(|| format!("logging in to {registry} as {}", args.username))?;
    let path = config_path(global)?;
    oci_auth::login(&path, &registry, &args.username, &secret)?;
    eprintln!(
        "Login succeeded: credentials for {registry} stored in {}",
        path.display()
    );
    Ok(())
}

pub(crate) fn logout(args: LogoutArgs, global: &GlobalArgs) -> Result<(), Failure> {
    let registry = registry_name(global, &args.registry)?;
    let path = config_path(global)?;
    oci_auth::logout(&path, &registry)?;
    eprintln!("Removed credentials for {registry} from {}", path.display());
    Ok(())
}
