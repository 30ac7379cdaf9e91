//! `oci-fetch manifest fetch|delete REF`: a manifest's exact bytes, or its removal.
//!
//! `fetch` writes the bytes as received (digest-verified, never re-serialised) to stdout;
//! `--pretty` indents them instead (the digest then no longer matches the output);
//! `--descriptor` prints `{"mediaType", "digest", "size"}`; `--json` prints
//! `{"reference", "mediaType", "digest", "size", "content"}`.
//!
//! `delete` by tag resolves the tag first and deletes the manifest by digest (registries refuse
//! `DELETE` by tag), like `oras manifest delete`; since that removes every tag of the manifest,
//! it asks for confirmation on a terminal unless `--force`, and refuses without a terminal
//! unless `--force`. A digest names exactly what goes, so deleting by digest asks nothing.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use anyhow::{Context as _, anyhow};
use oci_ref::TagOrDigest;
use serde::Serialize;

use crate::Failure;
use crate::cmd_blob::print_deleted;
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
        #[arg(long, conflicts_with = "json")]
        descriptor: bool,
        /// Indent the JSON (re-serialised: the output no longer hashes to the digest). Also
        /// applies to `--descriptor` and `--json`.
        #[arg(long)]
        pretty: bool,
        /// Print one JSON object `{"reference", "mediaType", "digest", "size", "content"}`.
        #[arg(long)]
        json: bool,
    },
    /// Delete a manifest: by digest, or by tag (resolved first; every tag of that manifest
    /// goes with it, so this asks for confirmation unless `--force`).
    Delete {
        /// A reference by digest or tag.
        reference: String,
        /// Delete a manifest named by tag without asking (needed when stdin is not a terminal).
        #[arg(short = 'f', long)]
        force: bool,
        /// Print one JSON object `{"reference", "digest"}` instead of the message on stderr.
        #[arg(long)]
        json: bool,
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
    match command {
        Command::Fetch {
            reference,
            descriptor,
            pretty,
            json,
        } => fetch(&reference, descriptor, pretty, json, global),
        Command::Delete {
            reference,
            force,
            json,
        } => delete(&reference, force, json, global),
    }
}

fn fetch(
    text: &str,
    descriptor: bool,
    pretty: bool,
    json: bool,
    global: &GlobalArgs,
) -> Result<(), Failure> {
    let reference = global.reference(text)?;
    let client = global.client(&[reference.registry()], &[])?;
    let repo = client
        .repository(&reference)
        .map_err(|e| Failure::Usage(e.into()))?;
    let manifest = runtime()?.block_on(repo.fetch_manifest(&TagOrDigest::from(&reference)))?;
    let d = manifest.descriptor();
    let parsed = || -> Result<serde_json::Value, Failure> {
        serde_json::from_slice(manifest.bytes())
            .with_context(|| format!("manifest {} is not JSON", d.digest))
            .map_err(Failure::Operation)
    };
    let mut out = std::io::stdout().lock();
    if descriptor {
        let value = DescriptorJson {
            media_type: &d.media_type,
            digest: d.digest.as_str(),
            size: d.size,
        };
        writeln!(out, "{}", to_json(&value, pretty)?)?;
    } else if json {
        let value = serde_json::json!({
            "reference": reference.pinned(d.digest.clone()).to_string(),
            "mediaType": d.media_type,
            "digest": d.digest.as_str(),
            "size": d.size,
            "content": parsed()?,
        });
        writeln!(out, "{}", to_json(&value, pretty)?)?;
    } else if pretty {
        parsed()?;
        writeln!(out, "{}", indent(manifest.bytes()))?;
    } else {
        out.write_all(manifest.bytes())
            .context("writing to stdout")?;
    }
    out.flush().context("writing to stdout")?;
    Ok(())
}

/// `bytes` (valid JSON) indented by two spaces, members in their order, strings unchanged.
fn indent(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let (mut in_string, mut escaped) = (false, false);
    let mut chars = text.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.extend(std::iter::repeat_n("  ", depth));
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                while chars.next_if(|n| n.is_ascii_whitespace()).is_some() {}
                out.push(c);
                if chars.next_if(|n| matches!(n, '}' | ']')).is_some() {
                    out.push(if c == '{' { '}' } else { ']' });
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_ascii_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

fn to_json(value: &impl Serialize, pretty: bool) -> Result<String, serde_json::Error> {
    if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    }
}

fn delete(text: &str, force: bool, json: bool, global: &GlobalArgs) -> Result<(), Failure> {
    let reference = global.reference(text)?;
    let by_tag = reference.digest().is_none();
    let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if by_tag && !force && !terminal {
        return Err(Failure::Usage(anyhow!(
            "deleting {text:?} deletes the manifest the tag names and every tag of it: pass \
             --force to confirm (stdin is not a terminal to ask)"
        )));
    }
    let client = global.client(&[reference.registry()], &[])?;
    let repo = client
        .repository(&reference)
        .map_err(|e| Failure::Usage(e.into()))?;
    let rt = runtime()?;
    let digest = match reference.digest() {
        Some(d) => d.clone(),
        None => {
            let d = rt.block_on(repo.resolve(&TagOrDigest::from(&reference)))?;
            if !force && !confirm(&reference.to_string(), d.digest.as_str())? {
                return Err(Failure::Operation(anyhow!(
                    "deletion of {reference} cancelled"
                )));
            }
            d.digest
        }
    };
    rt.block_on(repo.delete_manifest(&TagOrDigest::Digest(digest.clone())))?;
    print_deleted(&reference, &digest, json);
    Ok(())
}

/// Asks on the terminal whether to delete; only `y` or `yes` (any case) says yes.
fn confirm(reference: &str, digest: &str) -> Result<bool, Failure> {
    eprint!(
        "Are you sure you want to delete the manifest {digest} ({reference}) and all tags \
         associated with it? [y/N] "
    );
    std::io::stderr().flush().context("writing to stderr")?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("reading the answer from stdin")?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}
