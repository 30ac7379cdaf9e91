//! `oci-fetch mirror SET`: mirror a set of repositories (a TOML file) to a registry prefix or
//! to layouts on disk, or from disk to a registry, and write the `registries.conf` that sends
//! consumers to the mirror. Sources in registries are read through `registries.conf`
//! (`--registries-conf`), as `pull` and `copy` read them.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context as _, anyhow};
use oci_client::registries::redirects_toml;
use oci_fetch::copy::{CopyStats, DEFAULT_MIRROR_CONCURRENCY};
use oci_fetch::mirror::{
    MirrorDestination, MirrorOrigin, MirrorReport, MirrorSet, Placed, SetError, SetPullSources,
    mirror, redirects,
};

use crate::Failure;
use crate::cmd_resolve::runtime;
use crate::common::{GlobalArgs, TransferArgs};
use crate::progress;

/// Arguments of `oci-fetch mirror`.
#[derive(Debug, clap::Args)]
#[command(mut_arg("concurrency", concurrency))]
pub(crate) struct Args {
    /// The mirror set file (TOML: `[destination]` and `[[source]]` entries; see the README).
    set: PathBuf,
    /// Mirror to this registry and repository prefix, `HOST[:PORT][/PREFIX]`, instead of the
    /// set's destination.
    #[arg(
        long,
        value_name = "HOST[:PORT][/PREFIX]",
        conflicts_with = "to_oci_layout"
    )]
    to: Option<String>,
    /// Mirror to disk: one OCI layout per repository under DIR (`DIR/HOST/REPOSITORY`).
    #[arg(long, value_name = "DIR")]
    to_oci_layout: Option<PathBuf>,
    /// Read the sources from layouts a mirror-to-disk run wrote under DIR, not from their
    /// registries (disk to mirror).
    #[arg(long, value_name = "DIR")]
    from_oci_layout: Option<PathBuf>,
    /// Write the registries.conf (v2) that redirects pulls of the mirrored repositories to
    /// the mirror (a registry destination only).
    #[arg(long, value_name = "FILE")]
    write_registries_conf: Option<PathBuf>,
    #[command(flatten)]
    transfer: TransferArgs,
    /// Print the report as one JSON line.
    #[arg(long)]
    json: bool,
}

/// `--concurrency` as `mirror` has it: the run's limit, with a default of its own
/// ([`DEFAULT_MIRROR_CONCURRENCY`], `copy`'s is oras's 3).
fn concurrency(arg: clap::Arg) -> clap::Arg {
    static DEFAULT: OnceLock<String> = OnceLock::new();
    let default = DEFAULT.get_or_init(|| DEFAULT_MIRROR_CONCURRENCY.to_string());
    arg.default_value(default.as_str())
        .help("Requests at a time for the whole run, shared by its repositories")
        .long_help(format!(
            "Requests at a time for the whole run, shared by its repositories (not that many per \
             repository). The default, {DEFAULT_MIRROR_CONCURRENCY}, is higher than oras's 3 \
             (`copy`'s default): a mirror moves many repositories under this one limit, where \
             a copy moves one, and 3 at a time leave a run markedly slower"
        ))
}

fn usage(e: impl Into<anyhow::Error>) -> Failure {
    Failure::Usage(e.into())
}

/// A set file's problem as bad input naming the file (an error about a value quotes the value
/// but not the file it came from).
fn set_error(path: &Path, e: SetError) -> Failure {
    if e.path().is_some() {
        usage(e)
    } else {
        usage(anyhow::Error::new(e).context(path.display().to_string()))
    }
}

pub(crate) fn run(args: Args, global: &GlobalArgs) -> Result<(), Failure> {
    let set = MirrorSet::load(&args.set).map_err(|e| set_error(&args.set, e))?;
    let destination = match (&args.to, &args.to_oci_layout, &set.destination) {
        (Some(to), _, _) => MirrorDestination::registry(to)
            .map_err(|e| usage(anyhow::Error::new(e).context("--to")))?,
        (None, Some(dir), _) => MirrorDestination::Layout(dir.clone()),
        (None, None, Some(d)) => d.clone(),
        (None, None, None) => {
            return Err(usage(anyhow!(
                "{}: no [destination]; give --to or --to-oci-layout",
                args.set.display()
            )));
        }
    };
    if args.write_registries_conf.is_some()
        && !matches!(destination, MirrorDestination::Registry { .. })
    {
        return Err(usage(anyhow!(
            "--write-registries-conf needs a registry destination (consumers pull from a registry)"
        )));
    }
    let mut registries: Vec<&str> = Vec::new();
    // Mirrors that registries.conf marks insecure are talked to in plain HTTP, as `pull` does:
    // the pull sources are resolved here, once, before the client exists, and the run reads
    // the same ones.
    let mut extra_plain: Vec<String> = Vec::new();
    let origin = match &args.from_oci_layout {
        Some(dir) => MirrorOrigin::Layout(dir.clone()),
        None => {
            let conf = global.registries_conf()?;
            let pulls = SetPullSources::resolve(&conf, &set).map_err(usage)?;
            extra_plain = pulls.insecure_hosts();
            registries.extend(set.sources.iter().map(|s| s.repository.registry()));
            MirrorOrigin::Registries(pulls)
        }
    };
    if let MirrorDestination::Registry { registry, .. } = &destination {
        registries.push(registry);
    }
    let extra: Vec<&str> = extra_plain.iter().map(String::as_str).collect();
    let client = global.client(&registries, &extra)?;
    let mut opts = args.transfer.copy_options();
    // Blobs written to disk keep their partial file on failure, so a rerun resumes them.
    opts.download.keep_partial = true;
    if global.progress(args.json) {
        opts.download.progress = Some(progress::bars([]));
    }
    let report = runtime()?
        .block_on(mirror(&client, &set, &origin, &destination, &opts))
        .map_err(|e| Failure::Operation(e.into()))?;
    for r in &report.repositories {
        if let Some(mirror) = &r.tags_listed_by_mirror {
            eprintln!("warning: {mirror}");
        }
    }
    if let Some(path) = &args.write_registries_conf {
        let insecure = global.plain_http || global.insecure;
        let header = format!(
            "Written by `oci-fetch mirror {}`: pulls of the mirrored repositories go to the mirror first.",
            args.set.display()
        );
        write_atomically(
            path,
            &redirects_toml(&header, &redirects(&report, insecure)),
        )?;
    }
    if args.json {
        println!("{}", report_json(&report));
    } else {
        print_report(&report);
    }
    Ok(())
}

/// Writes `text` to `path` atomically (temporary file, sync, rename).
fn write_atomically(path: &Path, text: &str) -> Result<(), Failure> {
    oci_fetch::download::write_atomic(path, text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
        .map_err(Failure::Operation)
}

fn placed(p: &Placed) -> String {
    match p {
        Placed::Registry(r) => r.name(),
        Placed::Layout(d) => d.display().to_string(),
        _ => String::new(),
    }
}

fn counters(s: &CopyStats) -> String {
    format!(
        "copied {} ({} bytes), skipped {}, mounted {}, tagged {}",
        s.copied, s.bytes, s.skipped, s.mounted, s.tagged
    )
}

fn print_report(report: &MirrorReport) {
    for r in &report.repositories {
        println!(
            "{}/{} -> {}: {} roots; {}",
            r.source.registry(),
            r.source.repository(),
            placed(&r.destination),
            r.roots.len(),
            counters(&r.stats)
        );
    }
    if report.is_noop() {
        println!("nothing new: the destination has every root of the set");
    } else {
        println!("mirrored: {}", counters(&report.stats()));
    }
}

fn report_json(report: &MirrorReport) -> serde_json::Value {
    let repositories: Vec<_> = report
        .repositories
        .iter()
        .map(|r| {
            let roots: Vec<_> = r
                .roots
                .iter()
                .map(|c| {
                    let tags: Vec<&str> = c.tags.iter().map(|t| t.as_str()).collect();
                    serde_json::json!({ "digest": c.root.digest.as_str(), "tags": tags })
                })
                .collect();
            serde_json::json!({
                "source": r.source.name(),
                "destination": placed(&r.destination),
                "roots": roots,
                "stats": r.stats,
            })
        })
        .collect();
    serde_json::json!({
        "repositories": repositories,
        "stats": report.stats(),
        "nothing_new": report.is_noop(),
    })
}
