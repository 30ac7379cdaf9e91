//! `oci-fetch tags REPO`: list a repository's tags, one per line (paginated on the wire).

use futures_util::StreamExt as _;

use crate::Failure;
use crate::cmd_resolve::runtime;
use crate::common::GlobalArgs;

/// Arguments of `oci-fetch tags`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The repository (`host/repo`; a tag or digest, if given, is ignored).
    repository: String,
    /// Tags requested per page (`n`); registries may ignore it.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    page_size: u32,
}

pub(crate) fn run(args: Args, global: &GlobalArgs) -> Result<(), Failure> {
    let reference = global.reference(&args.repository)?;
    let client = global.client(&[reference.registry()], &[])?;
    let repo = client
        .repository(&reference)
        .map_err(|e| Failure::Usage(e.into()))?;
    runtime()?.block_on(async {
        let mut pages = std::pin::pin!(repo.tag_pages(Some(args.page_size))?);
        while let Some(page) = pages.next().await {
            for tag in page? {
                println!("{tag}");
            }
        }
        Ok::<(), Failure>(())
    })
}
