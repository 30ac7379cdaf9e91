//! `oci-fetch manifest fetch|delete REF`: a manifest's exact bytes, or its removal.
//!
//! `fetch` writes the bytes as received (digest-verified, never re-serialised) to stdout;
//! `--descriptor` prints `{"mediaType", "digest", "size"}` instead.

use std::io::Write as _;

use anyhow::Context as _;
use oci_ref::TagOrDigest;
use serde::Serialize;

use crate::Failure;
use crate::cmd_resolve::runtime;
use crate::common::GlobalArgs;

/// `oci-fetch manifest …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Print a manifest's exact bytes (verified against its digest).
    Fetch {
        /// A reference by tag or digest.
        reference: String,
        /// Print the manifest's descriptor (media type, digest, size) as JSON instead.
        #[arg(long)]
        descriptor: bool,
    },
    /// Delete a manifest (by digest; some registries also accept a tag).
    Delete {
        /// A reference by digest (or tag).
        reference: String,
    },
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DescriptorJson<'a> {
    media_type: &'a str,
    digest: &'a str,
    size: u64,
}

pub(crate) fn run(command: Command, global: &GlobalArgs) -> Result<(), Failure> {
    let rt = runtime()?;
    match command {
        Command::Fetch {
            reference,
            descriptor,
        } => {
            let reference = global.reference(&reference)?;
            let client = global.client(&[reference.registry()], &[])?;
            let repo = client
                .repository(&reference)
                .map_err(|e| Failure::Usage(e.into()))?;
            let manifest = rt.block_on(repo.fetch_manifest(&TagOrDigest::from(&reference)))?;
            let mut out = std::io::stdout().lock();
            if descriptor {
                let d = manifest.descriptor();
                let json = DescriptorJson {
                    media_type: &d.media_type,
                    digest: d.digest.as_str(),
                    size: d.size,
                };
                writeln!(out, "{}", serde_json::to_string(&json)?)?;
            } else {
                out.write_all(manifest.bytes())
                    .context("writing to stdout")?;
            }
            out.flush().context("writing to stdout")?;
        }
        Command::Delete { reference } => {
            let reference = global.reference(&reference)?;
            let client = global.client(&[reference.registry()], &[])?;
            let repo = client
                .repository(&reference)
                .map_err(|e| Failure::Usage(e.into()))?;
            rt.block_on(repo.delete_manifest(&TagOrDigest::from(&reference)))?;
            eprintln!("deleted {reference}");
        }
    }
    Ok(())
}
