//! Our side of `cargo xtask bench`: one operation per process, so the harness can measure wall
//! time, CPU time and peak RSS of exactly that operation.
//!
//! ```text
//! oci-fetch-bench pull REPO DIGEST SIZE MEDIA_TYPE FILE [decompress]
//! oci-fetch-bench many REPO CONCURRENCY DIR DIGEST:SIZE...
//! oci-fetch-bench push REPO DIGEST SIZE FILE
//! oci-fetch-bench resolve ours|ironic REPO TAG ARCH ITERATIONS
//! oci-fetch-bench refparse ours|oci-spec ITERATIONS
//! oci-fetch-bench hash FILE DIGEST SIZE
//! ```
//!
//! `hash` verifies a file with the engine's own `Verifier` in 1 MiB reads and nothing else: the
//! hash limit a verified pull cannot beat on one core.
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
        return Err("usage: oci-fetch-bench pull|many|push|resolve|refparse ...".into());
    };
    if mode == "refparse" {
        return refparse(rest);
    }
    if let ("hash", [file, digest, size]) = (mode.as_str(), rest) {
        return hash(file, digest, size);
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
            ("resolve", [which, repo, tag, arch, iterations]) => {
                resolve_bench(which, repo, tag, arch, iterations).await
            }
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
    // The path `oci-fetch push` takes for large files: one streamed PUT read from disk.
    let open = || async {
        use tokio::io::AsyncReadExt as _;
        let file = tokio::fs::File::open(file).await?;
        Ok(futures_util::stream::unfold(
            Some(file),
            |state| async move {
                let mut file = state?;
                let mut buf = vec![0u8; 1024 * 1024];
                match file.read(&mut buf).await {
                    Ok(0) => None,
                    Ok(n) => {
                        buf.truncate(n);
                        Some((Ok(bytes::Bytes::from(buf)), Some(file)))
                    }
                    Err(e) => Some((Err(e), None)),
                }
            },
        ))
    };
    repository
        .push_blob_streamed(&digest, size.parse()?, open)
        .await?;
    Ok(())
}

/// `resolve ours|ironic REPO TAG ARCH ITERATIONS`: resolves `REPO:TAG` for `ARCH` with the
/// Ironic policy (local download) `ITERATIONS` times; prints the requests of one resolve, the
/// mean time per resolve and the blob chosen.
async fn resolve_bench(
    which: &str,
    repo: &str,
    tag: &str,
    arch: &str,
    iterations: &str,
) -> Res<()> {
    let n: u32 = iterations.parse()?;
    let reference = Reference::parse(&format!("{repo}:{tag}"))?;
    let client = oci_client::Client::builder()
        .plain_http(reference.registry())
        .build()?;
    let mut requests = 0u64;
    let mut chosen = String::new();
    let start = Instant::now();
    for _ in 0..n {
        (requests, chosen) = match which {
            "ours" => ours_resolve(&client, &reference, arch).await?,
            "ironic" => ironic_resolve(&client, &reference, tag, arch).await?,
            other => return Err(format!("unknown resolver {other:?}").into()),
        };
    }
    let ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(n.max(1));
    println!(
        "{{\"who\":\"{which}\",\"requests\":{requests},\"ms_per_resolve\":{ms},\"chosen\":\"{chosen}\"}}"
    );
    Ok(())
}

async fn ours_resolve(
    client: &oci_client::Client,
    reference: &Reference,
    arch: &str,
) -> Res<(u64, String)> {
    let source = RegistrySource::direct(client, reference)?;
    let policy = oci_select::Policy::ironic(oci_select::DownloadSource::Local, Some(arch));
    let target = oci_ref::TagOrDigest::from(reference);
    let r = oci_fetch::resolve::resolve(&source, &reference.to_string(), &target, &policy).await?;
    let blob = r.blob.ok_or("no blob chosen")?;
    Ok((r.requests, blob.digest.to_string()))
}

/// Ironic's sequence: the tag list (the tag must be in it), the index, the candidates filtered
/// by architecture (with its aliases) and sorted by its disk-type priority for local downloads,
/// then each candidate's manifest in turn until one has a layer.
async fn ironic_resolve(
    client: &oci_client::Client,
    reference: &Reference,
    tag: &str,
    arch: &str,
) -> Res<(u64, String)> {
    use futures_util::StreamExt as _;
    let repo = client.repository(reference)?;
    let mut requests = 1u64;
    let mut pages = Box::pin(repo.tag_pages(None)?);
    let first = pages.next().await.ok_or("no tag page")??;
    if !first.iter().any(|t| t == tag) {
        return Err(format!("tag {tag} not listed").into());
    }
    requests += 1;
    let index = repo
        .fetch_manifest(&oci_ref::TagOrDigest::tag(tag)?)
        .await?;
    let index: serde_json::Value = serde_json::from_slice(index.bytes())?;
    let aliases: &[&str] = match arch {
        "x86_64" | "amd64" => &["x86_64", "amd64"],
        "aarch64" | "arm64" => &["aarch64", "arm64"],
        other => &[other][..],
    };
    let priority = |d: Option<&str>| match d {
        Some("qcow2") => Some(1),
        Some("qemu") => Some(2),
        Some("raw") => Some(3),
        Some("applehv") => Some(4),
        None | Some("") => Some(100),
        Some(_) => None,
    };
    let mut candidates: Vec<(u32, String)> = Vec::new();
    for m in index["manifests"]
        .as_array()
        .ok_or("index without manifests")?
    {
        if let Some(a) = m["platform"]["architecture"].as_str()
            && !aliases.contains(&a)
        {
            continue;
        }
        let Some(p) = priority(m["annotations"]["disktype"].as_str()) else {
            continue;
        };
        candidates.push((
            p,
            m["digest"]
                .as_str()
                .ok_or("entry without digest")?
                .to_owned(),
        ));
    }
    candidates.sort_by_key(|c| c.0);
    for (_, digest) in candidates {
        requests += 1;
        let m = repo
            .fetch_manifest(&oci_ref::TagOrDigest::Digest(Digest::parse(&digest)?))
            .await?;
        let m: serde_json::Value = serde_json::from_slice(m.bytes())?;
        if let Some(layer) = m["layers"][0]["digest"].as_str() {
            return Ok((requests, layer.to_owned()));
        }
    }
    Err("no candidate qualified".into())
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
                .parse::<oci_spec::distribution::Reference>()
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

/// Verifies `file` against `digest` and `size` with the engine's `Verifier`.
fn hash(file: &str, digest: &str, size: &str) -> Res<()> {
    use std::io::Read as _;
    let mut verifier = oci_fetch::verify::Verifier::new(Digest::parse(digest)?, size.parse()?);
    let mut f = std::fs::File::open(file)?;
    let mut buf = vec![0u8; 1024 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        verifier.update(&buf[..n])?;
    }
    verifier.finish()?;
    Ok(())
}
