//! `oci-fetch tag`: the manifest of REF, byte for byte, under more tags. Prints the digest.

use oci_client::ManifestRef;
use oci_fetch::publish::tag::tag;

use crate::Failure;
use crate::cmd_push::{Common, failure, print_pushed, repository, runtime};
use crate::common::GlobalArgs;

/// Arguments of `oci-fetch tag`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The manifest to tag: `host/repo:tag`, `host/repo@digest` or an `oci://` URL.
    reference: String,
    /// New tags in the same repository.
    #[arg(required = true)]
    tags: Vec<String>,
    #[command(flatten)]
    common: Common,
}

pub(crate) fn run(args: Args, global: &GlobalArgs) -> Result<(), Failure> {
    let reference = global.reference(&args.reference)?;
    for t in &args.tags {
        if ManifestRef::tag(t).is_err() {
            return Err(Failure::Usage(anyhow::anyhow!("invalid tag {t:?}")));
        }
    }
    let repo = repository(&reference, global)?;
    let d = runtime()?
        .block_on(tag(&repo, &ManifestRef::from(&reference), &args.tags))
        .map_err(failure)?;
    print_pushed(&reference, &d, args.common.json)
}
