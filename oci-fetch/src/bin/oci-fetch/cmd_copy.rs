//! `oci-fetch copy SRC DST`: a manifest graph (with `-r` its referrers tree) between
//! registries and OCI layouts, like `oras cp`. Prints the root digest (`TAG DIGEST` per tag
//! with `--all-tags`).

use anyhow::anyhow;
use oci_fetch::copy::{
    Copied, Copier, CopyError, CopyOptions, CopyStats, DestinationTags, Location, copy,
};
use oci_fetch::layout::parse_layout_address;
use oci_fetch::registry::insecure_hosts;
use oci_ref::{Tag, TagOrDigest};

use crate::Failure;
use crate::cmd_resolve::runtime;
use crate::common::{GlobalArgs, TransferArgs};
use crate::progress;
use crate::sides::{self, ForRegistry, Side, SideArgs};

/// Arguments of `oci-fetch copy`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// What to copy: `host/repo:tag`, `host/repo@digest`, or `DIR:TAG` / `DIR@DIGEST` with
    /// `--from-oci-layout`; with `--all-tags`, the repository (`host/repo`, `DIR`).
    src: String,
    /// Where to: `host/repo[:tag[,tag…]]`, or `DIR[:TAG[,TAG…]]` with `--to-oci-layout`
    /// (created if missing). Without a tag, the source's tag is used; a source named by
    /// digest only moves no tag.
    dst: String,
    /// SRC is an OCI layout address.
    #[arg(long)]
    from_oci_layout: bool,
    /// DST is an OCI layout address.
    #[arg(long)]
    to_oci_layout: bool,
    /// Copy the referrers tree too (signatures, SBOMs, and their referrers).
    #[arg(short = 'r', long)]
    recursive: bool,
    /// Copy every tag of the source repository to the same tag at the destination.
    #[arg(long)]
    all_tags: bool,
    /// Copy only this platform's entry of an index, `OS/ARCH[/VARIANT]` (it becomes the root).
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    platform: Option<String>,
    #[command(flatten)]
    transfer: TransferArgs,
    /// Print the result as JSON (`digest`, `mediaType`, `size`, `tag`, `tags`, counters).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    from: SideArgs<sides::From>,
    #[command(flatten)]
    to: SideArgs<sides::To>,
}

/// `TEXT` without a tag list, and the list: `NAME:T1,T2[@DIGEST]` gives `NAME:T1[@DIGEST]`
/// and `[T1, T2]`; a name without a tag gives no list.
fn split_tags(text: &str) -> Result<(String, Option<Vec<Tag>>), Failure> {
    let (head, digest) = match text.split_once('@') {
        Some((h, d)) => (h, Some(d)),
        None => (text, None),
    };
    let last = head.rfind('/').map_or(0, |i| i + 1);
    let Some(colon) = head[last..].find(':').map(|i| last + i) else {
        return Ok((text.to_owned(), None));
    };
    let list = &head[colon + 1..];
    if list.is_empty() {
        return Ok((text.to_owned(), None));
    }
    let tags = list
        .split(',')
        .map(|t| {
            Tag::parse(t).map_err(|e| {
                Failure::Usage(
                    anyhow::Error::new(e).context(format!("invalid reference {text:?}: tag {t:?}")),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut first = format!("{}:{}", &head[..colon], tags[0]);
    if let Some(d) = digest {
        first.push('@');
        first.push_str(d);
    }
    Ok((first, Some(tags)))
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

fn copy_failure(e: CopyError) -> Failure {
    if e.is_usage() {
        Failure::Usage(e.into())
    } else {
        Failure::Operation(e.into())
    }
}

pub(crate) fn run(args: Args, global: &GlobalArgs) -> Result<(), Failure> {
    let (src_text, src_tags) = split_tags(&args.src)?;
    let (dst_text, dst_tags) = split_tags(&args.dst)?;
    if src_tags.as_ref().is_some_and(|t| t.len() > 1) {
        return Err(Failure::Usage(anyhow!(
            "{}: a source names one tag (several tags go on DST)",
            args.src
        )));
    }
    if args.all_tags
        && (src_tags.is_some()
            || dst_tags.is_some()
            || args.src.contains('@')
            || args.dst.contains('@'))
    {
        return Err(Failure::Usage(anyhow!(
            "--all-tags copies every tag to the same tag: name SRC and DST without tag or digest"
        )));
    }
    // A repository without tag parses with `latest`, which --all-tags never uses.
    let from = location(&src_text, args.from_oci_layout, global)?;
    let to = location(&dst_text, args.to_oci_layout, global)?;
    if let Location::Layout(a) = &from
        && a.target.is_none()
        && !args.all_tags
    {
        return Err(Failure::Usage(anyhow!(
            "{}: name a tag or digest to copy (DIR:TAG or DIR@DIGEST)",
            args.src
        )));
    }
    let mut opts = args.transfer.copy_options();
    if global.progress(args.json) {
        opts.download.progress = Some(progress::bars([]));
    }
    opts.referrers = args.recursive;
    opts.platform = match &args.platform {
        Some(p) => Some(crate::args::platform(p)?),
        None => None,
    };
    opts.tags = match dst_tags {
        Some(tags) => DestinationTags::These(tags),
        None if args.to_oci_layout => DestinationTags::Given,
        None => DestinationTags::FromSource,
    };
    let mut extra_plain = Vec::new();
    if let Location::Registry(reference) = &from {
        let sources = global
            .registries_conf()?
            .pull_sources(reference)
            .map_err(|e| {
                Failure::Usage(
                    anyhow::Error::new(e)
                        .context(format!("resolving pull sources for {reference}")),
                )
            })?;
        extra_plain = insecure_hosts(&sources);
        opts.pull_sources = Some(sources);
    }
    let registries: Vec<&str> = [&from, &to].into_iter().filter_map(registry_of).collect();
    let (from_flags, to_flags) = side_flags(&args, global, &from, &to)?;
    let mut per_side = Vec::new();
    for (location, flags) in [(&from, &from_flags), (&to, &to_flags)] {
        if let Some(registry) = registry_of(location) {
            per_side.push((registry, flags));
        }
    }
    let extra: Vec<&str> = extra_plain.iter().map(String::as_str).collect();
    let client = global.client_with(&registries, &extra, &per_side)?;
    let rt = runtime()?;
    if args.all_tags {
        let (copied, stats) = rt
            .block_on(copy_all_tags(&client, &from, &to, &opts))
            .map_err(copy_failure)?;
        print_all(&copied, &stats, args.json);
        return Ok(());
    }
    let copied = rt
        .block_on(copy(&client, &from, &to, &opts))
        .map_err(copy_failure)?;
    if args.json {
        println!("{}", summary(&copied, &copied.stats));
    } else {
        println!("{}", copied.root.digest);
    }
    Ok(())
}

fn registry_of(location: &Location) -> Option<&str> {
    match location {
        Location::Registry(r) => Some(r.registry()),
        _ => None,
    }
}

/// Checks, before any flag reads standard input, that only one flag of the command asks for
/// it (the shared credential flags are read before the command runs).
pub(crate) fn preflight(args: &Args, global: &GlobalArgs) -> Result<(), Failure> {
    let stdin: Vec<String> = [
        global.credentials.stdin_flags(&crate::credentials::SHARED),
        args.from
            .credentials
            .stdin_flags(&<sides::From as Side>::NAMES),
        args.to.credentials.stdin_flags(&<sides::To as Side>::NAMES),
    ]
    .concat()
    .into_iter()
    .map(|f| format!("--{f}"))
    .collect();
    if stdin.len() > 1 {
        return Err(Failure::Usage(anyhow!(
            "standard input gives one secret, and {} each ask for it: pass the others as values \
             or store them with `oci-fetch login`",
            stdin.join(", ")
        )));
    }
    Ok(())
}

/// The `--from-*` and `--to-*` flags, checked and read: each side's flags need a registry on
/// that side; the shared credential flags do not mix with the per-side ones; one registry
/// gets one credential. ([`preflight`] checked standard input.)
fn side_flags(
    args: &Args,
    global: &GlobalArgs,
    from: &Location,
    to: &Location,
) -> Result<(ForRegistry, ForRegistry), Failure> {
    fn check<S: Side>(side: &SideArgs<S>, location: &Location) -> Result<(), Failure> {
        match (side.first_flag(), location) {
            (Some(flag), location) if registry_of(location).is_none() => Err(Failure::Usage(
                anyhow!("{flag}: the {} is an OCI layout, not a registry", S::WHAT),
            )),
            _ => Ok(()),
        }
    }
    check(&args.from, from)?;
    check(&args.to, to)?;
    let side_credentials = [
        (args.from.credentials.any(), "--from-*"),
        (args.to.credentials.any(), "--to-*"),
    ];
    if let Some(shared) = &global.flag_credential
        && let Some((_, side)) = side_credentials.iter().find(|(given, _)| *given)
    {
        return Err(Failure::Usage(anyhow!(
            "{} applies to every registry the command names; with {side} give each side its \
             own (--from-username, --to-username, …)",
            shared.origin
        )));
    }
    if side_credentials.iter().all(|(given, _)| *given)
        && let (Some(a), Some(b)) = (registry_of(from), registry_of(to))
        && a == b
    {
        return Err(Failure::Usage(anyhow!(
            "the source and the destination are both on {a}: give its credentials once \
             (-u/--username …)"
        )));
    }
    Ok((args.from.resolve()?, args.to.resolve()?))
}

async fn copy_all_tags(
    client: &oci_client::Client,
    from: &Location,
    to: &Location,
    opts: &CopyOptions,
) -> Result<(Vec<Copied>, CopyStats), CopyError> {
    let copier = Copier::open(client, from, to, opts).await?;
    let mut out = Vec::new();
    let listing = copier.source_tags().await?;
    if let Some(mirror) = &listing.mirror {
        eprintln!("warning: {mirror}");
    }
    for tag in listing.tags {
        let target = TagOrDigest::Tag(tag.clone());
        out.push(copier.copy(&target, &[tag]).await?);
    }
    Ok((out, copier.stats()))
}

/// `out` (an object) with the counters' fields added (`CopyStats` serialises them).
fn with_counters(mut out: serde_json::Value, stats: &CopyStats) -> serde_json::Value {
    if let (Some(o), serde_json::Value::Object(c)) = (out.as_object_mut(), serde_json::json!(stats))
    {
        o.extend(c);
    }
    out
}

fn summary(copied: &Copied, stats: &CopyStats) -> serde_json::Value {
    let tags: Vec<&str> = copied.tags.iter().map(Tag::as_str).collect();
    let out = serde_json::json!({
        "digest": copied.root.digest.as_str(),
        "mediaType": copied.root.media_type,
        "size": copied.root.size,
        "tag": tags.first(),
        "tags": tags,
    });
    with_counters(out, stats)
}

fn print_all(copied: &[Copied], stats: &CopyStats, json: bool) {
    if json {
        let roots: Vec<_> = copied.iter().map(|c| summary(c, &c.stats)).collect();
        let out = serde_json::json!({ "roots": roots });
        println!("{}", with_counters(out, stats));
        return;
    }
    for c in copied {
        for t in &c.tags {
            println!("{t} {}", c.root.digest);
        }
    }
}
