//! Our side of `cargo xtask bench`: one operation per process, so the harness can measure wall
//! time, CPU time and peak RSS of exactly that operation.
//!
//! ```text
//! oci-fetch-bench pull REPO DIGEST SIZE MEDIA_TYPE FILE [decompress]
//! oci-fetch-bench many REPO CONCURRENCY DIR DIGEST:SIZE...
//! oci-fetch-bench push REPO DIGEST SIZE FILE
//! oci-fetch-bench refparse ours|oci-spec ITERATIONS
//! ```
//!
//! `REPO` is `host:port/name` on a plain-HTTP registry.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use oci_fetch::decompress::Decompress;
use oci_fetch::descriptor::Descriptor;
use oci_fetch::download::{DownloadOptions, download};
use oci_fetch::many::{DownloadJob, download_many};
use oci_fetch::registry::RegistrySource;
use oci_ref::{Digest, Reference};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// References parsed by `refparse`: the shapes a provisioning system sees.
const REFERENCES: &[&str] = &[
    "quay.io/metal3-io/ironic-python-agent:latest",
    "registry.example.com:5000/images/ubuntu/noble@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "docker.io/library/busybox:1.36",
    "localhost/kernel:6.8.0",
    "ghcr.io/org/team/project/disk-image:v2.1.0-rc.1",
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Res<()> {
    let Some((mode, rest)) = args.split_first() else {
        return Err("usage: oci-fetch-bench pull|many|push|refparse ...".into());
    };
    if mode == "refparse" {
        return refparse(rest);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        match (mode.as_str(), rest) {
            ("pull", [repo, digest, size, media, file, more @ ..]) => {
                pull(repo, digest, size, media, file, more).await
            }
            ("many", [repo, conc, dir, blobs @ ..]) => many(repo, conc, dir, blobs).await,
            ("push", [repo, digest, size, file]) => push(repo, digest, size, file).await,
            _ => Err(format!("bad arguments: {args:?}").into()),
        }
    })
}

fn client(repo: &str) -> Res<(oci_client::Client, Reference)> {
    let reference = Reference::parse(&format!("{repo}:bench"))?;
    let client = oci_client::Client::builder()
        .plain_http(reference.registry())
        .build()?;
    Ok((client, reference))
}

async fn pull(
    repo: &str,
    digest: &str,
    size: &str,
    media: &str,
    file: &str,
    more: &[String],
) -> Res<()> {
    let (client, reference) = client(repo)?;
    let source = RegistrySource::direct(&client, &reference)?;
    let digest = Digest::parse(digest)?;
    let size: u64 = size.parse()?;
    source.expect_size(&digest, size);
    let desc = Descriptor::new(media, digest, size);
    let mut opts = DownloadOptions::default();
    if more.iter().any(|m| m == "decompress") {
        opts.decompress = Decompress::Auto;
    }
    download(&source, &desc, Path::new(file), &opts).await?;
    Ok(())
}

async fn many(repo: &str, conc: &str, dir: &str, blobs: &[String]) -> Res<()> {
    let (client, reference) = client(repo)?;
    let source = RegistrySource::direct(&client, &reference)?;
    let mut jobs = Vec::new();
    for (i, b) in blobs.iter().enumerate() {
        let (d, s) = b.rsplit_once(':').ok_or("blob is DIGEST:SIZE")?;
        let digest = Digest::parse(d)?;
        let size: u64 = s.parse()?;
        source.expect_size(&digest, size);
        jobs.push(DownloadJob {
            descriptor: Descriptor::new("application/octet-stream", digest, size),
            dest: PathBuf::from(dir).join(format!("blob{i}")),
        });
    }
    let results = download_many(&source, &jobs, &DownloadOptions::default(), conc.parse()?).await;
    for r in results {
        r?;
    }
    Ok(())
}

async fn push(repo: &str, digest: &str, size: &str, file: &str) -> Res<()> {
    let (client, reference) = client(repo)?;
    let repository = client.repository(&reference)?;
    let digest = Digest::parse(digest)?;
    let f = tokio::fs::File::open(file).await?;
    repository
        .push_blob_chunked(&digest, size.parse()?, f, oci_client::DEFAULT_CHUNK_BYTES)
        .await?;
    Ok(())
}

/// Parses [`REFERENCES`] round-robin `ITERATIONS` times; prints parses per second.
fn refparse(rest: &[String]) -> Res<()> {
    let [which, iterations] = rest else {
        return Err("usage: refparse ours|oci-spec ITERATIONS".into());
    };
    let n: usize = iterations.parse()?;
    let start = Instant::now();
    let mut ok = 0usize;
    for i in 0..n {
        let text = REFERENCES[i % REFERENCES.len()];
        let parsed = match which.as_str() {
            "ours" => Reference::parse(std::hint::black_box(text)).is_ok(),
            "oci-spec" => std::hint::black_box(text)
                .parse::<oci_client::spec::distribution::Reference>()
                .is_ok(),
            other => return Err(format!("unknown parser {other:?}").into()),
        };
        ok += usize::from(std::hint::black_box(parsed));
    }
    let secs = start.elapsed().as_secs_f64();
    if ok != n {
        return Err(format!("{} of {n} references failed to parse", n - ok).into());
    }
    println!(
        "{{\"parser\":\"{which}\",\"iterations\":{n},\"seconds\":{secs},\"per_second\":{}}}",
        n as f64 / secs
    );
    Ok(())
}
