//! `oci-fetch blob fetch|delete REF@DIGEST`: one blob, verified to a file, or its removal.
//!
//! `fetch -o FILE` streams through the download engine: digest and size are checked in
//! transit, the bytes land in a temporary file beside FILE and are renamed into place only
//! after verification; on failure nothing is left at FILE. The partial file is kept for the next
//! fetch to FILE to resume, unless `--no-resume`.

use std::path::PathBuf;

use anyhow::{Context as _, anyhow};
use oci_fetch::descriptor::Descriptor;
use oci_fetch::download::{DownloadOptions, download};
use oci_fetch::registry::RegistrySource;
use oci_ref::{Digest, Reference};

use crate::Failure;
use crate::cmd_resolve::runtime;
use crate::common::GlobalArgs;
use crate::progress;

/// `oci-fetch blob …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Download a blob, verified, to a file.
    Fetch {
        /// `host/repo@sha256:…` (the digest names the blob).
        reference: String,
        /// Where to write the blob.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: PathBuf,
        /// Do not resume: an interrupted or failed fetch removes its partial file, and a
        /// partial file an earlier run left is discarded. By default it is kept beside FILE, as
        /// `.FILE.<12 hex of the digest>.oci-fetch-partial`, and the next fetch to FILE
        /// re-hashes it and fetches only the rest.
        #[arg(long)]
        no_resume: bool,
    },
    /// Delete a blob.
    Delete {
        /// `host/repo@sha256:…`.
        reference: String,
    },
}

fn blob_digest(reference: &Reference) -> Result<Digest, Failure> {
    reference.digest().cloned().ok_or_else(|| {
        Failure::Usage(anyhow!(
            "{reference} names no blob: write REPOSITORY@sha256:<digest>"
        ))
    })
}

pub(crate) fn run(command: Command, global: &GlobalArgs) -> Result<(), Failure> {
    let rt = runtime()?;
    match command {
        Command::Fetch {
            reference,
            output,
            no_resume,
        } => {
            let reference = global.reference(&reference)?;
            let digest = blob_digest(&reference)?;
            let client = global.client(&[reference.registry()], &[])?;
            let repo = client
                .repository(&reference)
                .map_err(|e| Failure::Usage(e.into()))?;
            let source = RegistrySource::direct(&client, &reference)?;
            rt.block_on(async {
                let info = repo
                    .head_blob(&digest)
                    .await?
                    .ok_or_else(|| anyhow!("blob {digest} not found in {reference}"))?;
                let size = info.size.ok_or_else(|| {
                    anyhow!(
                        "the registry did not say how large blob {digest} is (no Content-Length)"
                    )
                })?;
                let desc = Descriptor::new("application/octet-stream", digest.clone(), size);
                source.expect_size(&digest, size);
                let mut opts = DownloadOptions::default();
                opts.keep_partial = !no_resume;
                if global.progress(false) {
                    opts.progress = Some(progress::bars([]));
                }
                let done = download(&source, &desc, &output, &opts)
                    .await
                    .with_context(|| format!("fetching {digest} to {}", output.display()))?;
                eprintln!(
                    "{} {} ({} bytes, verified)",
                    done.path.display(),
                    done.digest,
                    done.size
                );
                Ok::<(), Failure>(())
            })?;
        }
        Command::Delete { reference } => {
            let reference = global.reference(&reference)?;
            let digest = blob_digest(&reference)?;
            let client = global.client(&[reference.registry()], &[])?;
            let repo = client
                .repository(&reference)
                .map_err(|e| Failure::Usage(e.into()))?;
            rt.block_on(repo.delete_blob(&digest))?;
            eprintln!("deleted {digest}");
        }
    }
    Ok(())
}
