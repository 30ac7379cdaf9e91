//! `oci-fetch ref`: parse and normalise a reference.
//!
//! `--json` is a stable contract for tools:
//! `{"registry": "docker.io", "repository": "library/ubuntu", "tag": "latest", "digest": null,
//! "canonical": "docker.io/library/ubuntu:latest"}`.
//! With `--registries-conf FILE`, a `sources` list follows: each pull source in the order it is
//! tried, `{"reference": "mirror.example/ns/repo:tag", "mirror": true, "insecure": false}`.
//!
//! `ref` contacts nothing and uses no credentials: a credential flag is refused as bad input
//! naming it (`main` does so before reading any standard input), not read and ignored. A
//! `--registry-config`/`--auth-file` given explicitly is loaded all the same: a missing or
//! broken file is reported (exit 2).

use oci_client::registries::PullSource;
use serde::Serialize;

use crate::common::GlobalArgs;

use crate::Failure;

/// Arguments of `oci-fetch ref`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// A docker-style reference (`quay.io/org/repo:tag`) or an `oci://host/repo[:tag][@digest]` URL.
    reference: String,
    /// Print a JSON object instead of the canonical form.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: Args, global: &GlobalArgs) -> Result<(), Failure> {
    let reference = global.reference(&args.reference)?;
    // `ref` uses no credentials, but a credentials file named on the command line is still
    // checked: a typo in it must not go unnoticed.
    global.check_registry_config()?;
    // Pull sources are reported only when a registries.conf was named explicitly, so that
    // the plain `ref` contract does not depend on files that happen to be on the machine.
    let sources = match &global.registries_conf {
        Some(_) => Some(
            global
                .registries_conf()?
                .pull_sources(&reference)
                .map_err(|e| {
                    Failure::Usage(
                        anyhow::Error::new(e)
                            .context(format!("resolving pull sources for {reference}")),
                    )
                })?,
        ),
        None => None,
    };
    if args.json {
        let out = RefJson {
            registry: reference.registry(),
            repository: reference.repository(),
            tag: reference.tag(),
            digest: reference.digest().map(|d| d.as_str()),
            canonical: reference.to_string(),
            sources,
        };
        println!("{}", serde_json::to_string(&out)?);
    } else {
        println!("{reference}");
        for s in sources.iter().flatten() {
            let kind = if s.mirror { "mirror" } else { "primary" };
            let insecure = if s.insecure { " (insecure)" } else { "" };
            println!("  {kind}: {}{insecure}", s.reference);
        }
    }
    Ok(())
}

/// The `--json` contract, fields in this order.
#[derive(Debug, Serialize)]
struct RefJson<'a> {
    registry: &'a str,
    repository: &'a str,
    tag: Option<&'a str>,
    digest: Option<&'a str>,
    canonical: String,
    /// Present only with `--registries-conf`: the pull sources in the order they are tried.
    #[serde(skip_serializing_if = "Option::is_none")]
    sources: Option<Vec<PullSource>>,
}
