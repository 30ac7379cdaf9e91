//! `oci-fetch tags REPO` (also `repo tags`, as oras spells it): a repository's tags, one per
//! line (paginated on the wire); `repo ls REGISTRY`: the registry's repositories (its catalog).
//!
//! `--json` prints one object: `{"repository": "host/repo", "tags": [...]}` for tags,
//! `{"registry": "host", "repositories": [...]}` for `repo ls`.
//!
//! Names are printed in the order the registry lists them, not sorted here: the
//! distribution-spec asks registries for lexical order, distribution 2.8 lists tags in its
//! storage's order (a file system's directory order), and skopeo, oras and crane print what
//! they receive too. Printing as listed lets lines stream page by page; a caller who needs an
//! order sorts (`docs/json.md` says so).

use futures_util::{Stream, StreamExt as _};

use crate::Failure;
use crate::cmd_login::registry_name;
use crate::cmd_resolve::runtime;
use crate::common::GlobalArgs;

/// Arguments of `oci-fetch tags` and `oci-fetch repo tags`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The repository (`host/repo`; a tag or digest, if given, is ignored).
    repository: String,
    /// Tags requested per page (`n`); registries may ignore it.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    page_size: u32,
    /// Print one JSON object `{"repository", "tags"}` instead of one tag per line.
    #[arg(long)]
    json: bool,
}

/// `oci-fetch repo …`, oras's repository verbs.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum RepoCommand {
    /// List a repository's tags (the same as `oci-fetch tags`).
    Tags(Args),
    /// List the repositories of a registry (`GET /v2/_catalog`; many registries restrict it).
    Ls(LsArgs),
}

/// Arguments of `oci-fetch repo ls`.
#[derive(Debug, clap::Args)]
pub(crate) struct LsArgs {
    /// The registry, `host[:port]`.
    registry: String,
    /// Repositories requested per page (`n`); registries may ignore it.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    page_size: u32,
    /// Print one JSON object `{"registry", "repositories"}` instead of one name per line.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: Args, global: &GlobalArgs) -> Result<(), Failure> {
    let reference = global.reference(&args.repository)?;
    let client = global.client(&[reference.registry()], &[])?;
    let repo = client
        .repository(&reference)
        .map_err(|e| Failure::Usage(e.into()))?;
    let name = reference.name();
    let pages = repo.tag_pages(Some(args.page_size))?;
    print_listing(pages, args.json.then_some(("repository", &name, "tags")))
}

pub(crate) fn run_repo(command: RepoCommand, global: &GlobalArgs) -> Result<(), Failure> {
    match command {
        RepoCommand::Tags(args) => run(args, global),
        RepoCommand::Ls(args) => {
            let registry = registry_name(&args.registry)?;
            global.check_registry_config()?;
            let client = global.client(&[&registry], &[])?;
            let pages = client.catalog_pages(&registry, Some(args.page_size))?;
            print_listing(
                pages,
                args.json.then_some(("registry", &registry, "repositories")),
            )
        }
    }
}

/// Prints every name of `pages`, one per line as they arrive, or with `json = (key, value,
/// list)` one object `{key: value, list: [...]}` once all pages are read.
fn print_listing(
    pages: impl Stream<Item = Result<Vec<String>, oci_client::Error>>,
    json: Option<(&str, &str, &str)>,
) -> Result<(), Failure> {
    runtime()?.block_on(async {
        let mut pages = std::pin::pin!(pages);
        let mut all = Vec::new();
        while let Some(page) = pages.next().await {
            for name in page? {
                if json.is_some() {
                    all.push(name);
                } else {
                    println!("{name}");
                }
            }
        }
        if let Some((key, value, list)) = json {
            let mut out = serde_json::Map::new();
            out.insert(key.to_owned(), value.into());
            out.insert(list.to_owned(), all.into());
            println!("{}", serde_json::Value::Object(out));
        }
        Ok::<(), Failure>(())
    })
}
