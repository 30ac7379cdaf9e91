//! `oci-fetch discover`: the referrers tree of REF, like `oras discover`.
//!
//! `-o tree` (default) groups referrers by artifact type; `-o table` lists the direct
//! referrers; `-o json` prints the contract object: the subject with `digest`, `mediaType`,
//! `artifactType`, `size`, `annotations` (when any) and `referrers`, the same objects nested.

use oci_fetch::publish::discover::{DiscoverOptions, discover, render_table, render_tree};

use crate::Failure;
use crate::cmd_push::{Common, failure, runtime};
use crate::common::{DistributionSpec, GlobalArgs};
use crate::place::Place;

/// Output formats.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    /// A tree grouped by artifact type.
    Tree,
    /// The direct referrers as a table.
    Table,
    /// The nested JSON contract.
    Json,
}

/// Arguments of `oci-fetch discover`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The subject: `host/repo:tag`, `host/repo@digest` or an `oci://` URL; with `--oci-layout`
    /// `DIR:TAG` or `DIR@DIGEST`.
    reference: String,
    /// Only referrers of this artifact type (applied at every level).
    #[arg(long)]
    artifact_type: Option<String>,
    /// Levels below the subject (default: all, up to 32).
    #[arg(long, value_name = "N")]
    depth: Option<usize>,
    /// Output format (`--format`, as newer oras spells it, is the same flag).
    #[arg(
        short = 'o',
        long = "output",
        visible_alias = "format",
        value_enum,
        default_value = "tree"
    )]
    output: Format,
    /// Where referrers are read from: `v1.1-referrers-api` (the registry's referrers API only) or
    /// `v1.1-referrers-tag` (the `sha256-<hex>` fallback tag only). Default: the API when the
    /// registry has one, else the fallback tag.
    #[arg(long, value_enum, value_name = "SPEC")]
    distribution_spec: Option<DistributionSpec>,
    #[command(flatten)]
    common: Common,
}

pub(crate) fn run(args: Args, global: &GlobalArgs) -> Result<(), Failure> {
    let options = DiscoverOptions {
        artifact_type: args.artifact_type,
        depth: args.depth,
    };
    let rt = runtime()?;
    let place = rt.block_on(Place::open_subject(
        &args.reference,
        args.common.oci_layout,
        args.distribution_spec,
        global,
    ))?;
    let root = rt
        .block_on(discover(place.store(), &place.manifest(), &options))
        .map_err(failure)?;
    let format = if args.common.json {
        Format::Json
    } else {
        args.output
    };
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&root)?),
        Format::Table => print!("{}", render_table(&root)),
        Format::Tree => print!("{}", render_tree(&place.subject_name(&root.digest), &root)),
    }
    Ok(())
}
