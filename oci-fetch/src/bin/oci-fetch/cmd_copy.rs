//! `oci-fetch copy SRC DST`: a manifest graph between registries and OCI layouts, like
//! `oras cp`. Prints the root digest.

use oci_fetch::copy::{Location, copy};
use oci_fetch::download::DownloadOptions;
use oci_fetch::layout::parse_layout_address;

use crate::Failure;
use crate::cmd_resolve::runtime;
use crate::common::GlobalArgs;

/// Arguments of `oci-fetch copy`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// What to copy: `host/repo:tag`, `host/repo@digest`, or `DIR:TAG` / `DIR@DIGEST` with
    /// `--from-oci-layout`.
    src: String,
    /// Where to: `host/repo[:tag]`, or `DIR[:TAG]` with `--to-oci-layout` (created if missing).
    /// Without a tag, the source's tag is used.
    dst: String,
    /// SRC is an OCI layout address.
    #[arg(long)]
    from_oci_layout: bool,
    /// DST is an OCI layout address.
    #[arg(long)]
    to_oci_layout: bool,
    /// Print the result as JSON (`digest`, `mediaType`, `size`, `tag`, counters).
    #[arg(long)]
    json: bool,
}

fn location(text: &str, layout: bool, global: &GlobalArgs) -> Result<Location, Failure> {
    if layout {
        let address = parse_layout_address(text).map_err(|e| {
            Failure::Usage(
                anyhow::Error::new(e).context(format!("invalid layout address {text:?}")),
            )
        })?;
        Ok(Location::Layout(address))
    } else {
        Ok(Location::Registry(global.reference(text)?))
    }
}

pub(crate) fn run(args: Args, global: &GlobalArgs) -> Result<(), Failure> {
    let from = location(&args.src, args.from_oci_layout, global)?;
    let to = location(&args.dst, args.to_oci_layout, global)?;
    if let Location::Layout(a) = &from
        && a.target.is_none()
    {
        return Err(Failure::Usage(anyhow::anyhow!(
            "{}: name a tag or digest to copy (DIR:TAG or DIR@DIGEST)",
            args.src
        )));
    }
    let registries: Vec<&str> = [&from, &to]
        .into_iter()
        .filter_map(|l| match l {
            Location::Registry(r) => Some(r.registry()),
            _ => None,
        })
        .collect();
    let client = global.client(&registries, &[])?;
    let copied = runtime()?
        .block_on(copy(&client, &from, &to, &DownloadOptions::default()))
        .map_err(|e| {
            if e.is_usage() {
                Failure::Usage(e.into())
            } else {
                Failure::Operation(e.into())
            }
        })?;
    if args.json {
        let out = serde_json::json!({
            "digest": copied.root.digest.as_str(),
            "mediaType": copied.root.media_type,
            "size": copied.root.size,
            "tag": copied.tag,
            "copied": copied.stats.copied,
            "skipped": copied.stats.skipped,
            "mounted": copied.stats.mounted,
            "bytes": copied.stats.bytes,
        });
        println!("{out}");
    } else {
        println!("{}", copied.root.digest);
    }
    Ok(())
}
