//! `oci-fetch blob fetch|delete REF@DIGEST`: one blob, verified to a file or to stdout, or its
//! removal.
//!
//! `fetch -o FILE` streams through the download engine: digest and size are checked in
//! transit, the bytes land in a temporary file beside FILE and are renamed into place only
//! after verification; on failure nothing is left at FILE. The partial file is kept for the next
//! fetch to FILE to resume, unless `--no-resume`.
//!
//! `fetch -o -` streams the bytes to stdout as they arrive (like `oras blob fetch --output -`):
//! they can only be checked once the last one has been written, so a mismatch is reported by
//! the exit status (1) and the bytes already written must be discarded.
//!
//! `--json` prints `{"reference", "digest", "size", "path"}` for `fetch -o FILE` and
//! `{"reference", "digest"}` for `delete`.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context as _, anyhow};
use futures_util::StreamExt as _;
use oci_client::Repository;
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
    /// Download a blob, verified, to a file (or to stdout with `-o -`).
    Fetch {
        /// `host/repo@sha256:…` (the digest names the blob).
        reference: String,
        /// Where to write the blob. `-` writes it to stdout as it arrives: the digest can only
        /// be checked after the last byte, so the bytes written are unverified until the
        /// command exits with status 0 (a mismatch exits 1, and the output must be discarded).
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: PathBuf,
        /// Do not resume: an interrupted or failed fetch removes its partial file, and a
        /// partial file an earlier run left is discarded. By default it is kept beside FILE, as
        /// `.FILE.<12 hex of the digest>.oci-fetch-partial`, and the next fetch to FILE
        /// re-hashes it and fetches only the rest.
        #[arg(long)]
        no_resume: bool,
        /// Print one JSON object `{"reference", "digest", "size", "path"}` on stdout once the
        /// blob is verified in place (not with `-o -`).
        #[arg(long)]
        json: bool,
    },
    /// Delete a blob.
    Delete {
        /// `host/repo@sha256:…`.
        reference: String,
        /// Print one JSON object `{"reference", "digest"}` instead of the message on stderr.
        #[arg(long)]
        json: bool,
    },
}

fn blob_digest(reference: &Reference) -> Result<Digest, Failure> {
    reference.digest().cloned().ok_or_else(|| {
        Failure::Usage(anyhow!(
            "{reference} names no blob: write REPOSITORY@sha256:<digest>"
        ))
    })
}

/// A blob named on the command line: its reference, digest, client and repository handle.
struct Blob {
    reference: Reference,
    digest: Digest,
    client: oci_client::Client,
    repo: Repository,
}

fn open(text: &str, global: &GlobalArgs) -> Result<Blob, Failure> {
    let reference = global.reference(text)?;
    let digest = blob_digest(&reference)?;
    let client = global.client(&[reference.registry()], &[])?;
    let repo = client
        .repository(&reference)
        .map_err(|e| Failure::Usage(e.into()))?;
    Ok(Blob {
        reference,
        digest,
        client,
        repo,
    })
}

pub(crate) fn run(command: Command, global: &GlobalArgs) -> Result<(), Failure> {
    match command {
        Command::Fetch {
            reference,
            output,
            no_resume,
            json,
        } => {
            let to_stdout = output.as_os_str() == "-";
            if to_stdout && json {
                return Err(Failure::Usage(anyhow!(
                    "--json cannot be used with -o - (stdout carries the blob)"
                )));
            }
            let Blob {
                reference,
                digest,
                client,
                repo,
            } = open(&reference, global)?;
            if to_stdout {
                return fetch_to_stdout(&repo, &digest);
            }
            let source = RegistrySource::direct(&client, &reference)?;
            let done = runtime()?.block_on(async {
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
                if global.progress(json) {
                    opts.progress = Some(progress::bars([]));
                }
                download(&source, &desc, &output, &opts)
                    .await
                    .with_context(|| format!("fetching {digest} to {}", output.display()))
            })?;
            if json {
                let out = serde_json::json!({
                    "reference": reference.pinned(done.digest.clone()).to_string(),
                    "digest": done.digest.to_string(),
                    "size": done.size,
                    "path": done.path,
                });
                println!("{out}");
            } else {
                eprintln!(
                    "{} {} ({} bytes, verified)",
                    done.path.display(),
                    done.digest,
                    done.size
                );
            }
        }
        Command::Delete { reference, json } => {
            let blob = open(&reference, global)?;
            runtime()?.block_on(blob.repo.delete_blob(&blob.digest))?;
            print_deleted(&blob.reference, &blob.digest, json);
        }
    }
    Ok(())
}

/// Streams the blob to stdout, hashing as it goes; the error (exit 1) comes after the last byte
/// when the digest or size is wrong.
fn fetch_to_stdout(repo: &Repository, digest: &Digest) -> Result<(), Failure> {
    runtime()?.block_on(async {
        let mut stream = repo.fetch_blob(digest, None).await?;
        let mut out = std::io::stdout().lock();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.with_context(|| {
                format!("blob {digest}: the bytes written to stdout are not the blob")
            })?;
            out.write_all(&chunk).context("writing to stdout")?;
        }
        out.flush().context("writing to stdout")?;
        Ok::<(), Failure>(())
    })
}

/// Reports a deletion: the `--json` object `{"reference", "digest"}` on stdout, else a line on
/// stderr.
pub(crate) fn print_deleted(reference: &Reference, digest: &Digest, json: bool) {
    let pinned = reference.pinned(digest.clone()).to_string();
    if json {
        println!(
            "{}",
            serde_json::json!({"reference": pinned, "digest": digest.to_string()})
        );
    } else {
        eprintln!("deleted {pinned}");
    }
}
