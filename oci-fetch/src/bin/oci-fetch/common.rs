//! Flags every command shares, and the objects built from them (client, keychain,
//! registries.conf).

use std::path::PathBuf;

use anyhow::Context;
use oci_auth::Keychain;
use oci_client::Client;
use oci_client::registries::{LoadOptions, RegistriesConf};
use oci_ref::Reference;

use crate::Failure;
use crate::credentials::{CredentialArgs, FlagCredential};
use crate::sides::ForRegistry;

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
    /// No progress bars (they are drawn on stderr only when it is a terminal, and never with
    /// `--json`).
    #[arg(long, global = true)]
    pub(crate) no_progress: bool,
    #[command(flatten)]
    pub(crate) credentials: CredentialArgs,
    /// The credential the flags gave (filled once by `main`, after reading stdin or prompting).
    #[arg(skip)]
    pub(crate) flag_credential: Option<FlagCredential>,
}

impl GlobalArgs {
    /// Whether to draw progress bars: stderr is a terminal, no `--no-progress`, no `--json`.
    pub(crate) fn progress(&self, json: bool) -> bool {
        use std::io::IsTerminal as _;
        !self.no_progress && !json && std::io::stderr().is_terminal()
    }

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

    /// The keychain with the credential flags applied to `registries` (the ones named on the
    /// command line, never mirrors or other hosts), then each of `sides`' credential to its
    /// registry. Shared credential flags with two different registries named are refused: a
    /// password is never sent to a registry it was not meant for.
    fn keychain_for(
        &self,
        registries: &[&str],
        sides: &[(&str, &ForRegistry)],
    ) -> Result<Keychain, Failure> {
        let mut keychain = self.keychain()?;
        for (registry, side) in sides {
            if let Some(c) = &side.credential {
                keychain =
                    keychain.with_credential_from(registry, c.credential.clone(), c.origin.clone());
            }
        }
        let Some(flags) = &self.flag_credential else {
            return Ok(keychain);
        };
        let mut named: Vec<&str> = registries.to_vec();
        named.sort_unstable();
        named.dedup();
        if named.len() > 1 {
            return Err(Failure::Usage(anyhow::anyhow!(
                "{} applies to one registry, and this command names {}: give each its own \
                 (`copy --from-username … --to-username …`), or store them with `oci-fetch \
                 login` (or use --registry-config)",
                flags.origin,
                named.join(" and ")
            )));
        }
        for r in named {
            keychain = keychain.with_credential_from(r, flags.credential.clone(), &flags.origin);
        }
        Ok(keychain)
    }

    /// A client for talking to `registries` (the ones named on the command line get
    /// `--plain-http`/`--insecure` and the credential flags; `extra_plain` are further hosts that
    /// must be plain HTTP, e.g. insecure mirrors from registries.conf).
    pub(crate) fn client(
        &self,
        registries: &[&str],
        extra_plain: &[&str],
    ) -> Result<Client, Failure> {
        self.client_with(registries, extra_plain, &[])
    }

    /// [`client`](Self::client), with `sides`: flags for one registry only (`copy`'s
    /// `--from-*` / `--to-*`).
    pub(crate) fn client_with(
        &self,
        registries: &[&str],
        extra_plain: &[&str],
        sides: &[(&str, &ForRegistry)],
    ) -> Result<Client, Failure> {
        let mut builder = Client::builder().keychain(self.keychain_for(registries, sides)?);
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
        for (r, side) in sides {
            if side.plain_http {
                builder = builder.plain_http(r);
            }
            if side.insecure {
                builder = builder.skip_tls_verify(r);
            }
        }
        builder.build().map_err(|e| Failure::Operation(e.into()))
    }
}

/// `--distribution-spec`: oras's name for where referrers are read and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DistributionSpec {
    /// OCI distribution-spec v1.1 with the referrers API only: a registry without it is an
    /// error, and no `sha256-<hex>` fallback tag is written.
    #[value(name = "v1.1-referrers-api")]
    ReferrersApi,
    /// OCI distribution-spec v1.1 referrers tag schema only: referrers are read from and
    /// recorded in the `sha256-<hex>` fallback index, whether or not the registry has the API.
    #[value(name = "v1.1-referrers-tag")]
    ReferrersTag,
}

impl From<DistributionSpec> for oci_client::ReferrersSource {
    fn from(spec: DistributionSpec) -> Self {
        match spec {
            DistributionSpec::ReferrersApi => oci_client::ReferrersSource::Api,
            DistributionSpec::ReferrersTag => oci_client::ReferrersSource::TagSchema,
        }
    }
}

/// Flags of the commands that copy graphs (`copy`, `mirror`).
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct TransferArgs {
    // `mirror` gives this flag a default and a help text of its own (`cmd_mirror::concurrency`).
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
        opts.referrers_source = self.distribution_spec.map(Into::into);
        opts
    }
}
