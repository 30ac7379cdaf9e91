//! `oci-fetch index create`: an OCI image index over manifests already in the repository — the
//! multi-artifact index Ironic searches (one disk image per architecture and `disktype`).
//!
//! Each SRC is one entry, with its options after commas:
//!
//! ```text
//! oci-fetch index create HOST/REPO:disk \
//!     cirros-x86_64,platform=linux/x86_64,annotation=disktype=qcow2 \
//!     cirros-arm64-raw,platform=linux/arm64,annotation=disktype=raw
//! ```
//!
//! The part before the first comma is a tag or digest in REF's repository (or a full reference
//! to that same repository). `platform=OS/ARCH[/VARIANT]` sets the entry's platform (default:
//! read from the source's `--artifact-platform` config); `annotation=K=V` (repeatable) adds an
//! entry annotation over those copied from the source manifest. `--annotation K=V` annotates
//! the index itself. Prints the index digest.

use std::collections::BTreeMap;

use oci_fetch::publish::index::{IndexEntry, IndexRequest, create_index};
use oci_ref::Reference;
use oci_ref::TagOrDigest;

use crate::Failure;
use crate::cmd_push::{Common, annotations, failure, print_pushed, runtime};
use crate::common::GlobalArgs;
use crate::place::{Mode, Place};

/// `oci-fetch index` subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Create an image index from manifests in the same repository and push it under REF.
    Create(CreateArgs),
}

/// Arguments of `oci-fetch index create`.
#[derive(Debug, clap::Args)]
pub(crate) struct CreateArgs {
    /// Where to push the index: `host/repo[:tag]` or an `oci://` URL (no tag means `latest`),
    /// or with `--oci-layout` `DIR[:TAG]` (SRCs are then tags or digests in the layout).
    reference: String,
    /// Entries: `SRC[,platform=OS/ARCH[/VARIANT]][,annotation=KEY=VALUE]...`.
    #[arg(required = true, value_name = "SRC[,OPTION]...")]
    sources: Vec<String>,
    /// The index's `artifactType`.
    #[arg(long)]
    artifact_type: Option<String>,
    /// An annotation of the index itself, `KEY=VALUE` (repeatable).
    #[arg(short = 'a', long = "annotation", value_name = "KEY=VALUE")]
    annotations: Vec<String>,
    #[command(flatten)]
    common: Common,
}

/// Parses one `SRC[,OPTION]...` against the target reference (`None` for an OCI layout, where
/// SRC is a tag or digest in the layout).
fn parse_entry(
    global: &GlobalArgs,
    target: Option<&Reference>,
    s: &str,
) -> Result<IndexEntry, Failure> {
    let bad = |why: &str| Failure::Usage(anyhow::anyhow!("invalid index entry {s:?}: {why}"));
    let mut parts = s.split(',');
    let src = parts.next().unwrap_or_default();
    let source = if src.contains('/') {
        let Some(target) = target else {
            return Err(bad("with --oci-layout, name a tag or digest in the layout"));
        };
        let r = global.reference(src)?;
        if r.registry() != target.registry() || r.repository() != target.repository() {
            return Err(bad(
                "the source must be in the same repository as the index",
            ));
        }
        TagOrDigest::from(&r)
    } else if src.contains(':') {
        TagOrDigest::Digest(oci_ref::Digest::parse(src).map_err(|_| bad("not a digest"))?)
    } else {
        TagOrDigest::tag(src).map_err(|_| bad("not a tag"))?
    };
    let mut platform = None;
    let mut entry_annotations = BTreeMap::new();
    for opt in parts {
        match opt.split_once('=') {
            Some(("platform", p)) => platform = Some(crate::args::platform(p)?),
            Some(("annotation", a)) => {
                let (k, v) = crate::args::annotation(a)?;
                entry_annotations.insert(k, v);
            }
            _ => {
                return Err(bad(
                    "options are platform=OS/ARCH[/VARIANT] or annotation=K=V",
                ));
            }
        }
    }
    Ok(IndexEntry {
        source,
        platform,
        annotations: entry_annotations,
    })
}

pub(crate) fn run(command: Command, global: &GlobalArgs) -> Result<(), Failure> {
    let Command::Create(args) = command;
    let layout = args.common.oci_layout;
    // Check every argument before anything is opened or created.
    let target = if layout {
        None
    } else {
        Some(global.reference(&args.reference)?)
    };
    let entries = args
        .sources
        .iter()
        .map(|s| parse_entry(global, target.as_ref(), s))
        .collect::<Result<Vec<_>, _>>()?;
    let req = IndexRequest {
        entries,
        artifact_type: args.artifact_type,
        annotations: annotations(&args.annotations)?,
    };
    let rt = runtime()?;
    let place = rt.block_on(Place::open(&args.reference, layout, Mode::Write, global))?;
    let pushed = rt
        .block_on(create_index(place.store(), place.tag(), &req))
        .map_err(|e| {
            place.abandon();
            failure(e)
        })?;
    print_pushed(&place, &pushed.descriptor, args.common.json)
}
