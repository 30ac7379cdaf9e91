//! Flags every command shares, and the objects built from them (client, keychain,
//! registries.conf).

use std::path::PathBuf;

use anyhow::Context;
use oci_auth::Keychain;
use oci_client::Client;
use oci_client::registries::{LoadOptions, RegistriesConf};
use oci_ref::Reference;

use crate::Failure;

/// Options accepted by every command (`oci-fetch --plain-http pull …` or `oci-fetch pull … --plain-http`).
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct GlobalArgs {
    /// Talk plain HTTP (no TLS) to the registries named on the command line.
    #[arg(long, global = true)]
    pub(crate) plain_http: bool,
    /// Skip TLS certificate verification for the registries named on the command line.
    #[arg(long, global = true)]
    pub(crate) insecure: bool,
    /// Trust the CA certificates in this PEM file in addition to the system roots.
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) ca_file: Option<PathBuf>,
    /// Credentials file to use instead of the docker/podman defaults (docker `config.json` or
    /// containers `auth.json` format).
    #[arg(long, global = true, value_name = "PATH", visible_alias = "auth-file")]
    pub(crate) registry_config: Option<PathBuf>,
    /// containers `registries.conf` (v2) to use for mirrors, rewrites and blocked registries,
    /// instead of `$CONTAINERS_REGISTRIES_CONF`, `~/.config/containers/registries.conf` or
    /// `/etc/containers/registries.conf`.
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) registries_conf: Option<PathBuf>,
}

impl GlobalArgs {
    /// Parses a reference given on the command line; a bad one is a usage error.
    pub(crate) fn reference(&self, text: &str) -> Result<Reference, Failure> {
        Reference::parse(text).map_err(|e| {
            Failure::Usage(anyhow::Error::new(e).context(format!("invalid reference {text:?}")))
        })
    }

    /// The credentials to use: `--registry-config`, else the docker/podman discovery order.
    pub(crate) fn keychain(&self) -> Result<Keychain, Failure> {
        match &self.registry_config {
            Some(path) => Keychain::from_file(path).map_err(|e| Failure::Usage(e.into())),
            None => Keychain::from_env().map_err(|e| Failure::Usage(e.into())),
        }
    }

    /// Loads `--registry-config` (or `--auth-file`) when it was given, for commands that need
    /// no credentials: a file the user named explicitly is read and checked, so a missing or
    /// broken one is bad input (exit 2) naming the file, never silently ignored.
    pub(crate) fn check_registry_config(&self) -> Result<(), Failure> {
        match &self.registry_config {
            Some(_) => self.keychain().map(drop),
            None => Ok(()),
        }
    }

    /// The pull-source configuration (`registries.conf`), with the `--registries-conf` override.
    pub(crate) fn registries_conf(&self) -> Result<RegistriesConf, Failure> {
        let mut options = LoadOptions::from_env();
        if let Some(file) = &self.registries_conf {
            options = options.with_file(file);
        }
        RegistriesConf::load(&options).map_err(|e| Failure::Usage(e.into()))
    }

    /// A client for talking to `registries` (the ones named on the command line get
    /// `--plain-http`/`--insecure`; `extra_plain` are further hosts that must be plain HTTP,
    /// e.g. insecure mirrors from registries.conf).
    pub(crate) fn client(
        &self,
        registries: &[&str],
        extra_plain: &[&str],
    ) -> Result<Client, Failure> {
        let mut builder = Client::builder().keychain(self.keychain()?);
        if let Some(ca) = &self.ca_file {
            let pem = std::fs::read(ca)
                .with_context(|| format!("reading --ca-file {}", ca.display()))
                .map_err(Failure::Usage)?;
            builder = builder.ca_pem(pem);
        }
        for r in registries {
            if self.plain_http {
                builder = builder.plain_http(r);
            }
            if self.insecure {
                builder = builder.skip_tls_verify(r);
            }
        }
        for r in extra_plain {
            builder = builder.plain_http(r);
        }
        builder.build().map_err(|e| Failure::Operation(e.into()))
    }
}

/// `--distribution-spec`: how referrers are read and written, as oras names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DistributionSpec {
    /// The referrers API only (no fallback tag is written).
    #[value(name = "v1.1-referrers-api")]
    V11ReferrersApi,
    /// The referrers tag schema (`<alg>-<hex>` fallback index), even where an API exists.
    #[value(name = "v1.1-referrers-tag")]
    V11ReferrersTag,
}

impl DistributionSpec {
    /// The library's mode for `spec` (none given: whatever the registry supports).
    pub(crate) fn referrers_mode(spec: Option<DistributionSpec>) -> oci_client::ReferrersMode {
        match spec {
            None => oci_client::ReferrersMode::Auto,
            Some(DistributionSpec::V11ReferrersApi) => oci_client::ReferrersMode::Api,
            Some(DistributionSpec::V11ReferrersTag) => oci_client::ReferrersMode::TagSchema,
        }
    }
}

/// Flags of the commands that copy graphs (`copy`, `mirror`).
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct TransferArgs {
    /// Requests at a time.
    #[arg(long, default_value_t = oci_fetch::copy::DEFAULT_CONCURRENCY as u16, value_parser = clap::value_parser!(u16).range(1..=i64::from(oci_fetch::copy::MAX_CONCURRENCY)))]
    concurrency: u16,
    /// How referrers are written at a destination registry (default: what it supports).
    #[arg(long, value_enum)]
    distribution_spec: Option<DistributionSpec>,
}

impl TransferArgs {
    /// Copy options with these flags.
    pub(crate) fn copy_options(&self) -> oci_fetch::copy::CopyOptions {
        let mut opts = oci_fetch::copy::CopyOptions::default();
        opts.concurrency = usize::from(self.concurrency);
        opts.referrers_mode = DistributionSpec::referrers_mode(self.distribution_spec);
        opts
    }
}
