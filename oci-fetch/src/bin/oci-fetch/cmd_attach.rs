//! `oci-fetch attach`: files as an artifact whose `subject` is REF, like `oras attach`.
//!
//! The manifest is pushed by digest; on registries without the referrers API the subject's
//! `sha256-<hex>` fallback index is created or updated. Prints the manifest digest.

use std::path::PathBuf;

use oci_fetch::publish::push::{export_manifest, push, resolve_subject};

use crate::Failure;
use crate::cmd_push::{Common, failure, print_pushed, request, runtime};
use crate::common::{DistributionSpec, GlobalArgs};
use crate::place::Place;

/// Arguments of `oci-fetch attach`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The subject: `host/repo:tag`, `host/repo@digest` or an `oci://` URL; with `--oci-layout`
    /// `DIR:TAG` or `DIR@DIGEST` (the referrer is listed in `index.json` without a tag).
    reference: String,
    /// Files to attach, each `FILE[:MEDIATYPE]`.
    #[arg(required = true)]
    files: Vec<String>,
    /// The referrer's `artifactType` (required, as with `oras attach`).
    #[arg(long, required = true)]
    artifact_type: String,
    /// A manifest annotation, `KEY=VALUE` (repeatable).
    #[arg(short = 'a', long = "annotation", value_name = "KEY=VALUE")]
    annotations: Vec<String>,
    /// oras-format annotation file.
    #[arg(long, value_name = "FILE")]
    annotation_file: Option<PathBuf>,
    /// Also write the pushed manifest to this file.
    #[arg(long, value_name = "FILE")]
    export_manifest: Option<PathBuf>,
    /// Where the referrer is recorded: `v1.1-referrers-api` (the registry's referrers API only) or
    /// `v1.1-referrers-tag` (the `sha256-<hex>` fallback tag only). Default: the API when the
    /// registry has one, else the fallback tag.
    #[arg(long, value_enum, value_name = "SPEC")]
    distribution_spec: Option<DistributionSpec>,
    #[command(flatten)]
    common: Common,
}

pub(crate) fn run(args: Args, global: &GlobalArgs) -> Result<(), Failure> {
    let mut req = request(
        &args.files,
        Some(args.artifact_type),
        &args.annotations,
        args.annotation_file.as_ref(),
    )?;
    crate::cmd_push::show_progress(&mut req, global, args.common.json);
    let rt = runtime()?;
    let place = rt.block_on(Place::open_subject(
        &args.reference,
        args.common.oci_layout,
        args.distribution_spec,
        global,
    ))?;
    let pushed = rt
        .block_on(async {
            req.subject = Some(resolve_subject(place.store(), &place.manifest()).await?);
            push(place.store(), None, &req).await
        })
        .map_err(failure)?;
    if let Some(path) = &args.export_manifest {
        export_manifest(path, &pushed.manifest).map_err(failure)?;
    }
    print_pushed(&place, &pushed.descriptor, args.common.json)
}
