//! `oci-fetch push`: files as an OCI 1.1 artifact manifest, like `oras push`. Also the helpers
//! the other publishing commands share (reference parsing, client, error mapping, output).
//!
//! Prints the manifest digest on stdout; `--json` prints
//! `{"reference": "...", "digest": "...", "mediaType": "...", "size": N, "artifactType": "..."}`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context as _;
use oci_client::Repository;
use oci_fetch::descriptor::Descriptor;
use oci_fetch::publish::PublishError;
use oci_fetch::publish::input::read_annotation_file;
use oci_fetch::publish::push::{PushRequest, export_manifest, push};
use oci_ref::Reference;

use crate::Failure;
use crate::common::GlobalArgs;
use crate::place::{Mode, Place};
use crate::progress;

/// Arguments of `oci-fetch push`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Where to push: `host/repo[:tag]` or `oci://host/repo[:tag]` (no tag means `latest`), or
    /// with `--oci-layout` `DIR[:TAG]` (no tag: listed in `index.json` by digest only).
    reference: String,
    /// Files to push, each `FILE[:MEDIATYPE]` (default media type
    /// `application/vnd.oci.image.layer.v1.tar`), titled with the file name. None: an
    /// annotation-only artifact whose single layer is the empty descriptor, as with `oras push`.
    files: Vec<String>,
    /// The manifest's `artifactType` (default `application/vnd.unknown.artifact.v1` unless
    /// `--config` is given).
    #[arg(long)]
    artifact_type: Option<String>,
    /// A manifest annotation, `KEY=VALUE` (repeatable).
    #[arg(short = 'a', long = "annotation", value_name = "KEY=VALUE")]
    annotations: Vec<String>,
    /// oras-format annotation file: `{"$manifest": {..}, "$config": {..}, "<file>": {..}}`.
    #[arg(long, value_name = "FILE")]
    annotation_file: Option<PathBuf>,
    /// Write a small image config with this platform, `OS/ARCH[/VARIANT]`.
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    artifact_platform: Option<String>,
    /// A config blob from disk, `FILE:MEDIATYPE`.
    #[arg(long, value_name = "FILE:MEDIATYPE")]
    config: Option<String>,
    /// Also write the pushed manifest to this file.
    #[arg(long, value_name = "FILE")]
    export_manifest: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
}

/// Flags every publishing command takes (beyond the global ones: `--plain-http`,
/// `--registry-config`, ...).
#[derive(Debug, clap::Args)]
pub(crate) struct Common {
    /// Print a JSON object instead of the digest.
    #[arg(long)]
    pub(crate) json: bool,
    /// REF is an OCI image layout: `DIR[:TAG]` or `DIR@DIGEST` (push creates DIR if missing).
    #[arg(long)]
    pub(crate) oci_layout: bool,
}

/// A client for `reference`'s registry (global flags applied) and the repository handle.
pub(crate) fn repository(
    reference: &Reference,
    global: &GlobalArgs,
) -> Result<Repository, Failure> {
    let client = global.client(&[reference.registry()], &[])?;
    Ok(client
        .repository(reference)
        .with_context(|| format!("repository of {reference}"))?)
}

/// Maps a library error to the exit-code contract.
pub(crate) fn failure(e: PublishError) -> Failure {
    if e.is_usage() {
        Failure::Usage(e.into())
    } else {
        Failure::Operation(e.into())
    }
}

pub(crate) use crate::interrupt::runtime;

/// Parses repeated `KEY=VALUE` arguments.
pub(crate) fn annotations(args: &[String]) -> Result<BTreeMap<String, String>, Failure> {
    args.iter().map(|a| crate::args::annotation(a)).collect()
}

/// Prints the result of a push: the digest, or the `--json` object.
pub(crate) fn print_pushed(place: &Place, d: &Descriptor, json: bool) -> Result<(), Failure> {
    if json {
        let out = serde_json::json!({
            "reference": place.pinned(&d.digest),
            "digest": d.digest,
            "mediaType": d.media_type,
            "size": d.size,
            "artifactType": d.artifact_type,
        });
        println!("{out}");
    } else {
        println!("{}", d.digest);
    }
    Ok(())
}

/// Builds the request shared by `push` and `attach`.
pub(crate) fn request(
    files: &[String],
    artifact_type: Option<String>,
    annotation_args: &[String],
    annotation_file: Option<&PathBuf>,
) -> Result<PushRequest, Failure> {
    let files = files
        .iter()
        .map(|f| crate::args::file_spec(f))
        .collect::<Result<Vec<_>, _>>()?;
    let annotation_file = match annotation_file {
        Some(p) => Some(read_annotation_file(p).map_err(failure)?),
        None => None,
    };
    Ok(PushRequest {
        files,
        artifact_type,
        annotations: annotations(annotation_args)?,
        annotation_file,
        // The clock is read here, in the binary; the library takes the time as a value.
        created: Some(std::time::SystemTime::now()),
        ..PushRequest::default()
    })
}

/// Progress bars for the files of `req` (on a terminal, without `--no-progress` or `--json`).
pub(crate) fn show_progress(req: &mut PushRequest, global: &GlobalArgs, json: bool) {
    if !global.progress(json) {
        return;
    }
    let names = req.files.iter().chain(&req.config).map(|spec| {
        let name = spec.path.file_name().map_or_else(
            || spec.path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        (progress::Key::File(spec.path.clone()), name)
    });
    req.progress = Some(progress::bars(names));
}

pub(crate) fn run(args: Args, global: &GlobalArgs) -> Result<(), Failure> {
    let mut req = request(
        &args.files,
        args.artifact_type,
        &args.annotations,
        args.annotation_file.as_ref(),
    )?;
    req.platform = match &args.artifact_platform {
        Some(p) => Some(crate::args::platform(p)?),
        None => None,
    };
    req.config = match &args.config {
        Some(c) => Some(crate::args::file_spec(c)?),
        None => None,
    };
    show_progress(&mut req, global, args.common.json);
    let rt = runtime()?;
    let place = rt.block_on(Place::open(
        &args.reference,
        args.common.oci_layout,
        Mode::Write,
        global,
    ))?;
    let pushed = rt
        .block_on(push(place.store(), place.tag(), &req))
        .map_err(|e| {
            place.abandon();
            failure(e)
        })?;
    if let Some(path) = &args.export_manifest {
        export_manifest(path, &pushed.manifest).map_err(failure)?;
    }
    print_pushed(&place, &pushed.descriptor, args.common.json)
}
