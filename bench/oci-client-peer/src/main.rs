//! Benchmark peer for `cargo xtask bench`: one pull or push of one blob with the crates.io
//! `oci-client` crate, over plain HTTP, anonymous.
//!
//! `oci-client-peer MODE REFERENCE DIGEST SIZE FILE`
//!
//! Modes:
//! - `pull-stream`: `Client::pull_blob_stream` (verifies the layer digest once) written to FILE;
//! - `pull-blob`: `Client::pull_blob` into FILE (verifies the layer digest and the
//!   `Docker-Content-Digest` header: two hash passes);
//! - `pull`: `Client::pull` (manifest, config, every layer in memory), then the first layer
//!   written to FILE;
//! - `push`: `Client::push_blob` with the whole FILE read into memory (the crate's default
//!   chunked upload);
//! - `push-stream`: `Client::push_blob_stream` with `use_monolithic_push`, streaming FILE from
//!   disk in one PUT.

use std::process::ExitCode;

use futures_util::StreamExt;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Read size when streaming a file to the registry.
const READ_CHUNK: usize = 1024 * 1024;

#[tokio::main]
async fn main() -> ExitCode {
    // reqwest is built without a crypto provider: install ring (plain HTTP is used anyway).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, reference, digest, size, file] = args.as_slice() else {
        eprintln!("usage: oci-client-peer MODE REFERENCE DIGEST SIZE FILE");
        return ExitCode::from(2);
    };
    match run(mode, reference, digest, size, file).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(
    mode: &str,
    reference: &str,
    digest: &str,
    size: &str,
    file: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let reference: Reference = reference.parse()?;
    let size: u64 = size.parse()?;
    let monolithic = mode == "push-stream";
    let client = Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        use_monolithic_push: monolithic,
        ..Default::default()
    });
    let auth = RegistryAuth::Anonymous;
    let desc = OciDescriptor {
        media_type: "application/octet-stream".to_owned(),
        digest: digest.to_owned(),
        size: i64::try_from(size)?,
        ..Default::default()
    };
    match mode {
        "pull-stream" => {
            client
                .store_auth_if_needed(reference.resolve_registry(), &auth)
                .await;
            let mut stream = client.pull_blob_stream(&reference, &desc).await?;
            let mut out = tokio::fs::File::create(file).await?;
            while let Some(chunk) = stream.next().await {
                out.write_all(&chunk?).await?;
            }
            out.flush().await?;
            out.sync_all().await?;
        }
        "pull-blob" => {
            client
                .store_auth_if_needed(reference.resolve_registry(), &auth)
                .await;
            let mut out = tokio::fs::File::create(file).await?;
            client.pull_blob(&reference, &desc, &mut out).await?;
            out.sync_all().await?;
        }
        "pull" => {
            let image = client
                .pull(
                    &reference,
                    &auth,
                    vec![
                        "application/octet-stream",
                        "application/vnd.oci.image.layer.v1.tar",
                    ],
                )
                .await?;
            let layer = image.layers.first().ok_or("no layer")?;
            let mut out = tokio::fs::File::create(file).await?;
            out.write_all(&layer.data).await?;
            out.sync_all().await?;
        }
        "push" => {
            client
                .store_auth_if_needed(reference.resolve_registry(), &auth)
                .await;
            let data = tokio::fs::read(file).await?;
            client.push_blob(&reference, data, digest).await?;
        }
        "push-stream" => {
            client
                .store_auth_if_needed(reference.resolve_registry(), &auth)
                .await;
            let f = tokio::fs::File::open(file).await?;
            let stream = futures_util::stream::unfold(f, |mut f| async move {
                let mut buf = vec![0u8; READ_CHUNK];
                match f.read(&mut buf).await {
                    Ok(0) => None,
                    Ok(n) => {
                        buf.truncate(n);
                        Some((Ok(bytes::Bytes::from(buf)), f))
                    }
                    Err(e) => Some((Err(e.into()), f)),
                }
            });
            client
                .push_blob_stream(&reference, stream, digest, Some(size))
                .await?;
        }
        other => return Err(format!("unknown mode {other:?}").into()),
    }
    Ok(())
}
