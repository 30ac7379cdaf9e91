//! Pick the kernel out of an IPA kernel+ramdisk artifact and write it to a file, verified.
//!
//! ```text
//! cargo run -p oci-fetch --example ipa_kernel -- REFERENCE OUTPUT [REGISTRIES_CONF]
//! ```
//!
//! REFERENCE names a manifest whose layers are the kernel (title ending in `.kernel`) and the
//! ramdisk, or an index of such manifests, one per architecture (this machine's is chosen).
//! Hosts listed in `OCI_FETCH_PLAIN_HTTP` (comma-separated) are spoken to over plain HTTP.
//! With REGISTRIES_CONF, the reference is pulled through its mirrors with the same fall-through
//! as `oci-fetch pull`.

use std::path::Path;

use oci_client::Client;
use oci_client::registries::RegistriesConf;
use oci_fetch::artifact::Artifact;
use oci_fetch::download::{DownloadOptions, Downloaded};
use oci_ref::Reference;
use oci_select::rules::SingleLayer;
use oci_select::{DownloadSource, Policy};

mod common;

use common::{Error, client_from_env};

/// Resolves `reference` for `arch` (an index of kernel+ramdisk artifacts is chosen by platform:
/// the single-layer rule is dropped) and downloads the layer whose title ends in `.kernel` to
/// `output`.
pub(crate) async fn fetch_kernel(
    client: &Client,
    reference: &Reference,
    conf: Option<&RegistriesConf>,
    arch: &str,
    output: &Path,
) -> Result<Downloaded, Error> {
    let policy = Policy::ironic(DownloadSource::Local, Some(arch)).without(SingleLayer::NAME);
    let artifact = Artifact::from_registry(client, reference, conf, &policy).await?;
    let kernel = artifact
        .layers()
        .iter()
        .find(|l| l.title().is_some_and(|t| t.ends_with(".kernel")))
        .ok_or("no layer titled *.kernel")?;
    Ok(artifact
        .download(kernel, output, &DownloadOptions::default())
        .await?)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: ipa_kernel REFERENCE OUTPUT [REGISTRIES_CONF]";
    let reference: Reference = args.next().ok_or(usage)?.parse()?;
    let output = args.next().ok_or(usage)?;
    let conf = match args.next() {
        Some(path) => Some(RegistriesConf::parse_str(
            &std::fs::read_to_string(&path)?,
            Path::new(&path),
        )?),
        None => None,
    };
    let client = client_from_env()?;
    let done = fetch_kernel(
        &client,
        &reference,
        conf.as_ref(),
        std::env::consts::ARCH,
        Path::new(&output),
    )
    .await?;
    println!(
        "{} ({} bytes, {}, verified)",
        done.path.display(),
        done.size,
        done.digest
    );
    Ok(())
}
