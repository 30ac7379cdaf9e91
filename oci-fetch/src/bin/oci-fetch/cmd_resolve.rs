//! `oci-fetch resolve`: choose the one artifact a machine should get, pinned by digest.
//!
//! Selection (shared with `pull`):
//!
//! - Without `--policy`, Ironic's preset: `--arch` (default: this machine's architecture;
//!   `any` turns the filter off, like Ironic without `cpu_arch`), the `disktype` preference of
//!   `--download-source` (default `local`: `oci-fetch` downloads the image to this machine,
//!   which is Ironic's `local` mode, qcow2 preferred; `http` prefers raw), and single-layer
//!   artifacts.
//! - `--policy FILE` **replaces** the preset with the file's rules (see `oci_select::file`);
//!   `--arch` and `--download-source` then apply only when given.
//! - `--os`, `--variant`, `--artifact-type` and each `--annotation KEY=VALUE` add a rule after
//!   the others, with or without `--policy`.
//! - `--multi-file` drops the single-layer rule, for an index whose entries are multi-file
//!   artifacts (kernel + ramdisk per architecture): the entry is chosen by platform and the
//!   other rules, and `pull` writes every layer of it. A manifest named by tag is always pulled
//!   whole (as `oras pull`); the single-layer rule only chooses among index entries.
//!
//! `--json` is a stable contract: `manifest_url`, `manifest_digest`, `blob_digest`, `blob_url`,
//! `source` (`{"kind": "primary"|"mirror"|"layout", "location": …}`: where the manifest was
//! read, and where `blob_url` points), `size`, `media_type`, `filename`, `disk_format`,
//! `compression`, `rule_set`, `requests`, `candidates` (each `digest`, `verdict`, `reason`), in
//! this order. `--show-authorization` adds `authorization` last: the `Authorization` header
//! value for `blob_url` (a secret, printed only with this flag; `null` when none is needed). `--oci-layout` reads REF as a layout
//! address `DIR:TAG` or `DIR@DIGEST` (like `oras --oci-layout`).

use std::path::PathBuf;

use anyhow::{Context as _, anyhow};
use oci_fetch::layout::{OciLayout, parse_layout_address};
use oci_fetch::registry::{RegistrySource, insecure_hosts};
use oci_fetch::resolve::{LayoutSource, Resolved, RuleSet, ServedBy, resolve};
use oci_ref::TagOrDigest;
use oci_select::rules::{
    Annotation, Architecture, ArtifactType, DiskFormatPreference, Os, SingleLayer, Variant,
};
use oci_select::{DownloadSource, Policy};
use serde::Serialize;

use crate::Failure;
use crate::common::GlobalArgs;

/// `--download-source` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum SourceArg {
    /// The image is downloaded to this machine (Ironic's conductor-side mode): qcow2 first.
    Local,
    /// The machine streams the blob itself (Ironic's agent-side mode): raw first.
    Http,
}

/// Selection flags shared by `resolve` and `pull`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct SelectArgs {
    /// Architecture to select (`x86_64`/`amd64`, `aarch64`/`arm64`, …); default: this
    /// machine's; `any` for no architecture filter.
    #[arg(long, value_name = "ARCH")]
    pub(crate) arch: Option<String>,
    /// Operating system entries must declare (when they declare one).
    #[arg(long, value_name = "OS")]
    pub(crate) os: Option<String>,
    /// Platform variant to prefer (e.g. `v8`).
    #[arg(long, value_name = "VARIANT")]
    pub(crate) variant: Option<String>,
    /// How the machine gets the image, which decides the disk-format preference
    /// [default: local].
    #[arg(long, value_enum, value_name = "SOURCE")]
    pub(crate) download_source: Option<SourceArg>,
    /// Artifact type the chosen manifest must have.
    #[arg(long, value_name = "TYPE")]
    pub(crate) artifact_type: Option<String>,
    /// Annotation the chosen entry must carry, `KEY=VALUE` (repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    pub(crate) annotation: Vec<String>,
    /// TOML policy file; replaces the built-in Ironic preset.
    #[arg(long, value_name = "FILE")]
    pub(crate) policy: Option<PathBuf>,
    /// For an index of multi-file artifacts (kernel + ramdisk per architecture): choose the
    /// entry without the single-layer rule and pull every layer of it.
    #[arg(long)]
    pub(crate) multi_file: bool,
    /// Read REF as an OCI layout address (`DIR:TAG` or `DIR@DIGEST`) instead of a registry
    /// reference.
    #[arg(long)]
    pub(crate) oci_layout: bool,
}

/// Arguments of `oci-fetch resolve`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// A reference (`host/repo:tag`, `oci://host/repo@sha256:…`), or with `--oci-layout` a
    /// layout address.
    reference: String,
    #[command(flatten)]
    select: SelectArgs,
    /// Print the table of every candidate and why it was chosen or rejected.
    #[arg(long)]
    explain: bool,
    /// Print a JSON object (the stable contract in the module docs).
    #[arg(long)]
    json: bool,
    /// Also print the `Authorization` header value for the blob URL (a secret: for handing the
    /// URL to another machine, as Ironic's conductor does for its agent).
    #[arg(long)]
    show_authorization: bool,
}

/// The default architecture: this machine's, in the names Ironic uses.
pub(crate) fn host_arch() -> &'static str {
    std::env::consts::ARCH
}

impl SelectArgs {
    /// The policy the flags describe.
    pub(crate) fn policy(&self) -> Result<Policy, Failure> {
        let download_source = self.download_source.map(|s| match s {
            SourceArg::Local => DownloadSource::Local,
            SourceArg::Http => DownloadSource::Http,
        });
        let arch = match self.arch.as_deref() {
            Some("any") => None,
            Some(a) => Some(a.to_owned()),
            None => Some(host_arch().to_owned()),
        };
        let mut policy = match &self.policy {
            None => Policy::ironic(
                download_source.unwrap_or(DownloadSource::Local),
                arch.as_deref(),
            ),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading --policy {}", path.display()))
                    .map_err(Failure::Usage)?;
                let mut p = Policy::from_toml(&text)
                    .map_err(|e| Failure::Usage(anyhow!("{}: {e}", path.display())))?;
                if let Some(a) = self.arch.as_deref().filter(|a| *a != "any") {
                    p = p.with(Architecture::ironic(a));
                }
                if let Some(s) = download_source {
                    p = p.with(DiskFormatPreference::ironic(s));
                }
                p
            }
        };
        if let Some(os) = &self.os {
            policy = policy.with(Os::new(os));
        }
        if let Some(v) = &self.variant {
            policy = policy.with(Variant::new(v));
        }
        if let Some(t) = &self.artifact_type {
            policy = policy.with(ArtifactType::new(t));
        }
        if self.multi_file {
            policy = policy.without(SingleLayer::NAME);
        }
        for a in &self.annotation {
            let Some((k, v)) = a.split_once('=').filter(|(k, _)| !k.is_empty()) else {
                return Err(Failure::Usage(anyhow!(
                    "--annotation {a:?} is not KEY=VALUE"
                )));
            };
            policy = policy.with(Annotation::equals(k, v));
        }
        Ok(policy)
    }
}

/// Where a command reads from: a registry (with its pull sources) or a layout.
pub(crate) use oci_fetch::artifact::ArtifactSource as Opened;

/// Opens REF: a layout address with `--oci-layout`, else a registry reference with its pull
/// sources from registries.conf. Returns the source, the target and a display name.
pub(crate) async fn open(
    text: &str,
    select: &SelectArgs,
    global: &GlobalArgs,
) -> Result<(Opened, TagOrDigest, String), Failure> {
    if select.oci_layout {
        let address = parse_layout_address(text).map_err(|e| {
            Failure::Usage(
                anyhow::Error::new(e).context(format!("invalid layout address {text:?}")),
            )
        })?;
        let target = match address.target {
            Some(target) => target,
            None => {
                return Err(Failure::Usage(anyhow!(
                    "layout address {text:?} names no tag or digest; use DIR:TAG or DIR@DIGEST"
                )));
            }
        };
        let layout = OciLayout::open(&address.dir)
            .await
            .map_err(|e| Failure::Usage(e.into()))?;
        return Ok((
            Opened::Layout(LayoutSource::new(layout)),
            target,
            text.to_owned(),
        ));
    }
    let reference = global.reference(text)?;
    let sources = global
        .registries_conf()?
        .pull_sources(&reference)
        .map_err(|e| {
            Failure::Usage(
                anyhow::Error::new(e).context(format!("resolving pull sources for {reference}")),
            )
        })?;
    let insecure = insecure_hosts(&sources);
    let extra: Vec<&str> = insecure.iter().map(String::as_str).collect();
    let client = global.client(&[reference.registry()], &extra)?;
    let source =
        RegistrySource::new(&client, &reference, sources).map_err(|e| Failure::Usage(e.into()))?;
    let target = TagOrDigest::from(&reference);
    Ok((Opened::Registry(source), target, reference.to_string()))
}

pub(crate) use crate::interrupt::runtime;

/// Resolves REF with the selection flags.
pub(crate) async fn resolve_with(
    opened: &Opened,
    target: &TagOrDigest,
    name: &str,
    policy: &Policy,
) -> Result<Resolved, Failure> {
    resolve(opened.manifests(), name, target, policy)
        .await
        .map_err(|e| Failure::Operation(e.into()))
}

pub(crate) fn run(args: Args, global: &GlobalArgs) -> Result<(), Failure> {
    let policy = args.select.policy()?;
    let rt = runtime()?;
    let (resolved, authorization) = rt.block_on(async {
        let (opened, target, name) = open(&args.reference, &args.select, global).await?;
        let resolved = resolve_with(&opened, &target, &name, &policy).await?;
        let authorization = match (&opened, args.show_authorization) {
            (Opened::Registry(r), true) => r
                .blob_authorization(&resolved.manifest_digest)
                .await
                .map_err(|e| Failure::Operation(e.into()))?
                .map(|a| a.header_value().to_str().map(str::to_owned))
                .transpose()
                .context("the Authorization value is not text")?,
            _ => None,
        };
        Ok::<_, Failure>((resolved, authorization))
    })?;
    if args.json {
        let mut out = ResolveJson::of(&resolved);
        if args.show_authorization {
            out.authorization = Some(authorization);
        }
        println!("{}", serde_json::to_string(&out)?);
        return Ok(());
    }
    if args.explain {
        print_explain(&resolved);
    }
    print_summary(&resolved);
    if args.show_authorization {
        println!(
            "authorization: {}",
            authorization.as_deref().unwrap_or("none")
        );
    }
    Ok(())
}

/// The explanation table (or a note for a digest reference) and the request count.
pub(crate) fn print_explain(r: &Resolved) {
    match &r.explanation {
        Some(e) => println!("{e}"),
        None => println!("digest reference: no selection, manifest verified by digest"),
    }
    println!(
        "rule set: {} ({})",
        r.rule_set.as_str(),
        r.rule_set.reason()
    );
    println!("source: {} ({})", r.source, r.source.kind());
    println!("requests: {}", r.requests);
}

fn print_summary(r: &Resolved) {
    println!("manifest: {}", r.manifest_url);
    match &r.blob {
        Some(b) => {
            println!("blob: {} ({} bytes, {})", b.digest, b.size, b.media_type);
            if let Some(url) = &r.blob_url {
                println!("blob url: {url}");
            }
        }
        None if r.rule_set == RuleSet::DiskImage || r.layers.len() <= 1 => {
            println!("blob: none (container image, {} bytes)", r.size)
        }
        None => println!("blob: none ({} files, {} bytes)", r.layers.len(), r.size),
    }
    if let Some(f) = &r.filename {
        println!("filename: {f}");
    }
    println!(
        "disk format: {}",
        r.disk_format.map(|d| d.as_str()).unwrap_or("-")
    );
    println!(
        "compression: {}",
        r.compression.map(|c| c.as_str()).unwrap_or("-")
    );
}

/// The `--json` contract of `resolve`, fields in this order.
#[derive(Debug, Serialize)]
pub(crate) struct ResolveJson<'a> {
    manifest_url: String,
    manifest_digest: &'a str,
    blob_digest: Option<&'a str>,
    blob_url: Option<&'a str>,
    source: SourceJson,
    size: u64,
    media_type: Option<&'a str>,
    filename: Option<&'a str>,
    disk_format: Option<&'static str>,
    compression: Option<&'static str>,
    rule_set: &'static str,
    requests: u64,
    candidates: Vec<CandidateJson<'a>>,
    /// Only with `--show-authorization` (then `null` when no header is needed).
    #[serde(skip_serializing_if = "Option::is_none")]
    authorization: Option<Option<String>>,
}

#[derive(Debug, Serialize)]
struct SourceJson {
    kind: &'static str,
    location: String,
}

impl SourceJson {
    fn of(s: &ServedBy) -> SourceJson {
        SourceJson {
            kind: s.kind(),
            location: s.to_string(),
        }
    }
}

#[derive(Debug, Serialize)]
struct CandidateJson<'a> {
    digest: &'a str,
    verdict: &'static str,
    reason: &'a str,
}

impl<'a> ResolveJson<'a> {
    pub(crate) fn of(r: &'a Resolved) -> ResolveJson<'a> {
        ResolveJson {
            manifest_url: r.manifest_url.to_string(),
            manifest_digest: r.manifest_digest.as_str(),
            blob_digest: r.blob.as_ref().map(|b| b.digest.as_str()),
            blob_url: r.blob_url.as_ref().map(url::Url::as_str),
            source: SourceJson::of(&r.source),
            size: r.size,
            media_type: r.blob.as_ref().map(|b| b.media_type.as_str()),
            filename: r.filename.as_deref(),
            disk_format: r.disk_format.map(|d| d.as_str()),
            compression: r.compression.map(|c| c.as_str()),
            rule_set: r.rule_set.as_str(),
            requests: r.requests,
            candidates: r
                .explanation
                .iter()
                .flat_map(|e| &e.candidates)
                .map(|c| CandidateJson {
                    digest: &c.digest,
                    verdict: c.verdict.as_str(),
                    reason: &c.reason,
                })
                .collect(),
            authorization: None,
        }
    }
}
