//! Read a small JSON layer of an artifact into memory, verified, under a size cap.
//!
//! ```text
//! cargo run -p oci-fetch --example json_layer -- REFERENCE [MEDIA_TYPE]
//! ```
//!
//! The layer is picked by media type (default `application/json`); it is returned only after
//! its digest and size were checked. Hosts listed in `OCI_FETCH_PLAIN_HTTP`
//! (comma-separated) are spoken to over plain HTTP.

use oci_client::Client;
use oci_fetch::artifact::{Artifact, LayerPick};
use oci_ref::Reference;
use oci_select::Policy;

mod common;

use common::{Error, client_from_env};

/// The cap: a JSON document larger than this is refused before any byte is read.
pub(crate) const MAX_JSON_BYTES: u64 = 1 << 20;

/// The layer of `media_type` in the artifact `reference` names, parsed as JSON.
pub(crate) async fn read_json_layer(
    client: &Client,
    reference: &Reference,
    media_type: &str,
) -> Result<serde_json::Value, Error> {
    // An empty policy: the manifest the reference names (or an index's first entry).
    let artifact = Artifact::from_registry(client, reference, None, &Policy::new()).await?;
    let layer = artifact.layer(&LayerPick::media_type(media_type))?.clone();
    let bytes = artifact.read_to_vec(&layer, MAX_JSON_BYTES).await?;
    Ok(serde_json::from_slice(&bytes)?)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let reference: Reference = args
        .next()
        .ok_or("usage: json_layer REFERENCE [MEDIA_TYPE]")?
        .parse()?;
    let media_type = args.next().unwrap_or_else(|| "application/json".to_owned());
    let value = read_json_layer(&client_from_env()?, &reference, &media_type).await?;
    println!("{value:#}");
    Ok(())
}
