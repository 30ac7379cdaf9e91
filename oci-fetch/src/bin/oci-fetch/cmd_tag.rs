//! `oci-fetch tag`: the manifest of REF, byte for byte, under more tags. Prints the digest.

use oci_fetch::publish::tag::tag;
use oci_ref::TagOrDigest;

use crate::Failure;
use crate::cmd_push::{Common, failure, print_pushed, runtime};
use crate::common::GlobalArgs;
use crate::place::{Mode, Place};

/// Arguments of `oci-fetch tag`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The manifest to tag: `host/repo:tag`, `host/repo@digest` or an `oci://` URL; with
    /// `--oci-layout` `DIR:TAG` or `DIR@DIGEST`.
    reference: String,
    /// New tags in the same repository.
    #[arg(required = true)]
    tags: Vec<String>,
    #[command(flatten)]
    common: Common,
}

pub(crate) fn run(args: Args, global: &GlobalArgs) -> Result<(), Failure> {
    for t in &args.tags {
        if TagOrDigest::tag(t).is_err() {
            return Err(Failure::Usage(anyhow::anyhow!("invalid tag {t:?}")));
        }
    }
    let rt = runtime()?;
    let place = rt.block_on(Place::open(
        &args.reference,
        args.common.oci_layout,
        Mode::Read,
        global,
    ))?;
    let d = rt
        .block_on(tag(place.store(), &place.manifest(), &args.tags))
        .map_err(failure)?;
    print_pushed(&place, &d, args.common.json)
}
