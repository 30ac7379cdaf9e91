//! The fault matrix and the soak: every fault of [`conformance::fault_proxy`] against every
//! operation of the stack, through a proxy in front of a real registry.
//!
//! Each cell runs one operation with one fault rule active and checks the expected outcome
//! (recovered and verified, or an error of the expected class) and the invariants: nothing
//! corrupt or partial at the destination, no temporary file left, neither the password nor the
//! `Authorization` value in the error's `Display` or `Debug`, a bounded time
//! ([`CELL_TIMEOUT`]), no `Authorization` sent to the redirect origin.
//!
//! `OCI_FAULTS_PRINT=1` prints the matrix (`cargo xtask faults`). The soak runs
//! [`DEFAULT_SOAK`] pulls (`OCI_FAULTS_SOAK=N` to change) with seeded random faults.

use oci_ref::media_type::OCI_MANIFEST;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use conformance::capability::provisioned_only;
use conformance::fault_proxy::{Fault, FaultProxy, Rule};
use conformance::token_server::{TOKEN_ISSUER, TOKEN_SERVICE, TokenServer};
use conformance::{Auth, Registry, RegistryOptions, unique_repo};
use oci_client::{Client, Repository, RetryPolicy};
use oci_fetch::descriptor::Descriptor;
use oci_fetch::download::{DownloadOptions, download};
use oci_fetch::registry::RegistrySource;
use oci_ref::TagOrDigest;
use oci_ref::{Algorithm, Digest, Reference};

/// The registry user of the matrix.
const USER: &str = "faultuser";
/// Its password: must never appear in an error.
const PASSWORD: &str = "pw-3c1f9e7a-do-not-leak";
/// Upper bound of one cell (operation with retries and stalls included).
const CELL_TIMEOUT: Duration = Duration::from_secs(40);
/// Pulls in the soak unless `OCI_FAULTS_SOAK` says otherwise.
const DEFAULT_SOAK: usize = 200;
/// Seed of the soak's fault choices.
const SOAK_SEED: u64 = 0x5eed_f417;
/// Size of the matrix's blob: large enough for offsets, trickle and several body chunks.
const BLOB_BYTES: usize = 96 * 1024;

fn setup() {
    oci_client::install_crypto_provider();
}

fn digest(data: &[u8]) -> Digest {
    oci_ref::digest_of(Algorithm::Sha256, data)
}

/// Deterministic pseudo-random bytes (xorshift), so blobs differ and runs repeat.
fn pseudo_random(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn base64(data: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn basic_value() -> String {
    format!("Basic {}", base64(format!("{USER}:{PASSWORD}").as_bytes()))
}

/// A client for `host` (plain HTTP) with the matrix's credentials, short timeouts and quick
/// retries, so that every cell ends well within [`CELL_TIMEOUT`].
fn client_for(host: &str) -> Client {
    let keychain = oci_auth::Keychain::empty().with_credential(
        host,
        oci_auth::Credential::basic(USER.to_owned(), PASSWORD.to_owned()),
    );
    Client::builder()
        .plain_http(host)
        .keychain(keychain)
        .read_timeout(Duration::from_secs(2))
        .connect_timeout(Duration::from_secs(2))
        .retry_policy(RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(200),
            max_total_wait: Duration::from_secs(5),
        })
        .build()
        .expect("a client with loopback settings builds")
}

fn download_options() -> DownloadOptions {
    let mut o = DownloadOptions::default();
    o.max_attempts = 4;
    o.backoff_initial = Duration::from_millis(20);
    o.backoff_max = Duration::from_millis(200);
    o.stall_timeout = Duration::from_secs(1);
    o
}

/// How a cell ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    /// Succeeded, and the result was verified.
    Recovered,
    /// Failed: content did not verify (digest or size).
    Integrity,
    /// Failed: credentials refused.
    Unauthorized,
    /// Failed: not found.
    NotFound,
    /// Failed with an error that says retrying may help.
    Retryable,
    /// Failed with a final, typed error (protocol violation, bad status…).
    Terminal,
    /// The cell passed its time bound.
    Hung,
    /// An invariant broke (corrupt output, leftover file, leaked secret).
    Broken,
}

impl Outcome {
    fn name(self) -> &'static str {
        match self {
            Outcome::Recovered => "recovered",
            Outcome::Integrity => "err:integrity",
            Outcome::Unauthorized => "err:unauthorized",
            Outcome::NotFound => "err:not-found",
            Outcome::Retryable => "err:retryable",
            Outcome::Terminal => "err:terminal",
            Outcome::Hung => "HUNG",
            Outcome::Broken => "BROKEN",
        }
    }
}

/// One classified failure: its class and its rendered text (checked for secrets).
struct Failure {
    outcome: Outcome,
    text: String,
}

fn client_failure(e: &oci_client::Error) -> Failure {
    let outcome = if e.is_digest_mismatch() || matches!(e, oci_client::Error::SizeMismatch { .. }) {
        Outcome::Integrity
    } else if e.is_unauthorized() {
        Outcome::Unauthorized
    } else if e.is_not_found() {
        Outcome::NotFound
    } else if e.is_retryable() {
        Outcome::Retryable
    } else {
        Outcome::Terminal
    };
    Failure {
        outcome,
        text: format!("{e} | {e:?}"),
    }
}

fn download_failure(e: &oci_fetch::download::DownloadError) -> Failure {
    let outcome = if e.is_verification() {
        Outcome::Integrity
    } else if e.is_unauthorized() {
        Outcome::Unauthorized
    } else if e.is_not_found() {
        Outcome::NotFound
    } else if e.is_retryable() {
        Outcome::Retryable
    } else {
        Outcome::Terminal
    };
    Failure {
        outcome,
        text: format!("{e} | {e:?}"),
    }
}

fn other_failure(what: String) -> Failure {
    Failure {
        outcome: Outcome::Broken,
        text: what,
    }
}

/// Content prepared in the registry before the cells run (pushed without the proxy).
struct Content {
    repo: String,
    blob: Vec<u8>,
    blob_digest: Digest,
    manifest: Vec<u8>,
    manifest_digest: Digest,
    referrer_digest: Digest,
}

fn image_manifest(layer: &[u8], subject: Option<(&Digest, usize)>) -> Vec<u8> {
    let mut m = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.empty.v1+json",
            "digest": digest(b"{}").as_str(),
            "size": 2
        },
        "layers": [{
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": digest(layer).as_str(),
            "size": layer.len(),
        }],
    });
    if let Some((d, size)) = subject {
        m["artifactType"] = "application/vnd.example.sig".into();
        m["subject"] = serde_json::json!({
            "mediaType": OCI_MANIFEST, "digest": d.as_str(), "size": size
        });
    }
    serde_json::to_vec(&m).expect("JSON serialises")
}

async fn prepare(registry_host: &str) -> anyhow::Result<Content> {
    let repo_name = unique_repo("faults");
    let client = client_for(registry_host);
    let reference: Reference = format!("{registry_host}/{repo_name}:v1").parse()?;
    let repo = client.repository(&reference)?;
    let blob = pseudo_random(1, BLOB_BYTES);
    repo.push_blob(&digest(b"{}"), Bytes::from_static(b"{}"))
        .await?;
    repo.push_blob(&digest(&blob), Bytes::from(blob.clone()))
        .await?;
    let manifest = image_manifest(&blob, None);
    repo.push_manifest(
        &TagOrDigest::tag("v1")?,
        Bytes::from(manifest.clone()),
        OCI_MANIFEST,
    )
    .await?;
    let manifest_digest = digest(&manifest);
    let referrer = image_manifest(&blob, Some((&manifest_digest, manifest.len())));
    let referrer_digest = digest(&referrer);
    repo.push_manifest(
        &TagOrDigest::Digest(referrer_digest.clone()),
        Bytes::from(referrer),
        OCI_MANIFEST,
    )
    .await?;
    Ok(Content {
        repo: repo_name,
        blob_digest: digest(&blob),
        blob,
        manifest,
        manifest_digest,
        referrer_digest,
    })
}

/// The operations of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    ResolveTag,
    ManifestByDigest,
    PullBlob,
    PushBlob,
    PushManifest,
    Discover,
    TokenFetch,
}

impl Op {
    const ALL: [Op; 7] = [
        Op::ResolveTag,
        Op::ManifestByDigest,
        Op::PullBlob,
        Op::PushBlob,
        Op::PushManifest,
        Op::Discover,
        Op::TokenFetch,
    ];

    fn name(self) -> &'static str {
        match self {
            Op::ResolveTag => "resolve tag",
            Op::ManifestByDigest => "manifest by digest",
            Op::PullBlob => "pull blob (download)",
            Op::PushBlob => "push blob",
            Op::PushManifest => "push manifest",
            Op::Discover => "discover (referrers)",
            Op::TokenFetch => "token fetch",
        }
    }

    /// The rules' method and path filters for this operation (discover: the referrers API and
    /// the tag-schema fallback a registry without the API is read through).
    fn targets(self) -> &'static [(Option<&'static str>, &'static str)] {
        match self {
            Op::ResolveTag => &[(Some("GET"), "/manifests/v1")],
            Op::ManifestByDigest => &[(Some("GET"), "/manifests/sha256:")],
            Op::PullBlob => &[(Some("GET"), "/blobs/sha256:")],
            Op::PushBlob => &[(None, "/blobs/uploads/")],
            Op::PushManifest => &[(Some("PUT"), "/manifests/")],
            Op::Discover => &[
                (Some("GET"), "/referrers/"),
                (Some("GET"), "/manifests/sha256-"),
            ],
            Op::TokenFetch => &[(None, "/token")],
        }
    }
}

/// The faults of the matrix: a name, the fault, and how many requests it hits (`None`: all).
fn faults() -> Vec<(&'static str, Fault, Option<u64>)> {
    vec![
        (
            "close-after-64 x1",
            Fault::CloseAfter { bytes: 64 },
            Some(1),
        ),
        (
            "close-after-64 always",
            Fault::CloseAfter { bytes: 64 },
            None,
        ),
        (
            "stall-3s x1",
            Fault::Stall {
                after_bytes: 64,
                duration: Duration::from_secs(3),
            },
            Some(1),
        ),
        ("flip-byte x1", Fault::FlipByte { offset: 100 }, Some(1)),
        ("flip-byte always", Fault::FlipByte { offset: 100 }, None),
        (
            "append always",
            Fault::Append {
                bytes: b"trailing junk".to_vec(),
            },
            None,
        ),
        (
            "429 retry-after x2",
            Fault::TooManyRequests {
                retry_after: "1".to_owned(),
            },
            Some(2),
        ),
        ("503 burst x2", Fault::Status { status: 503 }, Some(2)),
        ("500 always", Fault::Status { status: 500 }, None),
        (
            "trickle 256KiB/s",
            Fault::Trickle {
                bytes_per_sec: 256 * 1024,
            },
            None,
        ),
        ("redirect always", Fault::Redirect, None),
        ("malformed-json always", Fault::MalformedJson, None),
    ]
}

/// Cells where the stack does not yet do what [`expected`] asks, with the typed outcome it
/// gives today. Each is reported; a cell listed here passes only with exactly that outcome, so
/// a fix makes the test fail until its entry is removed. Empty: the last entries (body reads and
/// upload starts not retried, token-endpoint faults reported as "unauthorized", a single
/// corrupting source reported as "not found") were fixed and each has a regression test in its
/// crate.
const KNOWN_GAPS: &[(&str, Op, Outcome)] = &[];

fn known_gap(fault: &str, op: Op) -> Option<Outcome> {
    KNOWN_GAPS
        .iter()
        .find(|(f, o, _)| *f == fault && *o == op)
        .map(|(_, _, outcome)| *outcome)
}

/// What a cell must end with. `Recovered` alone means the stack must ride the fault out.
fn expected(fault: &str, op: Op) -> &'static [Outcome] {
    use Outcome::*;
    let transient = fault.ends_with("x1") || fault.ends_with("x2");
    match fault {
        // Stalls, trickles and redirects are not errors: every operation must complete.
        "trickle 256KiB/s" | "redirect always" => &[Recovered],
        _ if fault.starts_with("stall") => &[Recovered],
        // Error statuses that stop: retried, then reported as retryable.
        "429 retry-after x2" | "503 burst x2" => &[Recovered],
        "500 always" => &[Retryable],
        // A corrupted byte is never accepted; it may be detected and retried.
        _ if fault.starts_with("flip-byte") => match op {
            // Push: the fault hits the registry's answer to the upload, not the content.
            Op::PushBlob | Op::PushManifest => &[Recovered, Retryable, Terminal],
            Op::TokenFetch => &[Recovered, Unauthorized, Terminal],
            // The fallback index is fetched by tag and verified against its digest header.
            Op::Discover => &[Recovered, Integrity, Terminal],
            _ if transient => &[Recovered, Integrity],
            _ => &[Integrity],
        },
        "append always" => match op {
            Op::PushBlob | Op::PushManifest => &[Recovered, Terminal],
            Op::TokenFetch => &[Recovered, Terminal],
            _ => &[Integrity, Terminal],
        },
        "malformed-json always" => match op {
            // Push answers and blob bodies are not JSON documents the client parses.
            Op::PushBlob | Op::PushManifest | Op::PullBlob => &[Recovered, Integrity, Terminal],
            _ => &[Terminal, Integrity, Unauthorized],
        },
        _ if fault.starts_with("close-after") => match op {
            _ if transient => &[Recovered],
            // Upload answers have empty bodies: there is nothing to cut short.
            Op::PushBlob | Op::PushManifest => &[Recovered, Retryable],
            _ => &[Retryable],
        },
        _ => &[Recovered],
    }
}

struct Bed {
    _registry: Registry,
    proxy: FaultProxy,
    content: Content,
}

/// Runs one operation against the proxy. `dir` is an empty directory for its output.
async fn run_op(bed: &Bed, op: Op, dir: &Path, cell: usize) -> Result<(), Failure> {
    let host = bed.proxy.host();
    let client = client_for(&host);
    let c = &bed.content;
    let reference: Reference = format!("{host}/{}:v1", c.repo)
        .parse()
        .map_err(|e| other_failure(format!("reference: {e}")))?;
    let repo: Repository = client
        .repository(&reference)
        .map_err(|e| client_failure(&e))?;
    match op {
        Op::ResolveTag | Op::ManifestByDigest => {
            let target = if op == Op::ResolveTag {
                TagOrDigest::tag("v1").expect("valid tag")
            } else {
                TagOrDigest::Digest(c.manifest_digest.clone())
            };
            let m = repo
                .fetch_manifest(&target)
                .await
                .map_err(|e| client_failure(&e))?;
            if m.digest() != &c.manifest_digest || m.bytes().as_ref() != c.manifest.as_slice() {
                return Err(other_failure(format!(
                    "accepted a wrong manifest {}",
                    m.digest()
                )));
            }
            Ok(())
        }
        Op::PullBlob => {
            let source = RegistrySource::direct(&client, &reference)
                .map_err(|e| other_failure(format!("source: {e}")))?;
            let desc = Descriptor::new(
                "application/octet-stream",
                c.blob_digest.clone(),
                c.blob.len() as u64,
            );
            let dest = dir.join("blob");
            let result = download(&source, &desc, &dest, &download_options()).await;
            match result {
                Ok(_) => {
                    let written = std::fs::read(&dest)
                        .map_err(|e| other_failure(format!("reading the output: {e}")))?;
                    if written != c.blob {
                        return Err(other_failure("the output differs from the blob".into()));
                    }
                    Ok(())
                }
                Err(e) => Err(download_failure(&e)),
            }
        }
        Op::PushBlob => {
            let data = pseudo_random(1000 + cell as u64, 8 * 1024);
            let d = digest(&data);
            repo.push_blob(&d, Bytes::from(data.clone()))
                .await
                .map_err(|e| client_failure(&e))?;
            verify_blob_direct(bed, &d, &data).await
        }
        Op::PushManifest => {
            let tag = TagOrDigest::tag(&format!("cell-{cell}"))
                .map_err(|e| other_failure(format!("tag: {e}")))?;
            repo.push_manifest(&tag, Bytes::from(c.manifest.clone()), OCI_MANIFEST)
                .await
                .map_err(|e| client_failure(&e))?;
            let direct = client_for(bed._registry.host());
            let direct_ref: Reference = format!("{}/{}{tag}", bed._registry.host(), c.repo)
                .parse()
                .map_err(|e| other_failure(format!("reference: {e}")))?;
            let m = direct
                .repository(&direct_ref)
                .map_err(|e| client_failure(&e))?
                .fetch_manifest(&tag)
                .await
                .map_err(|e| other_failure(format!("pushed manifest not readable: {e}")))?;
            if m.digest() != &c.manifest_digest {
                return Err(other_failure("the stored manifest differs".into()));
            }
            Ok(())
        }
        Op::Discover => {
            let r = repo
                .referrers(&c.manifest_digest, None)
                .await
                .map_err(|e| client_failure(&e))?;
            if !r
                .descriptors
                .iter()
                .any(|d| d.digest().as_ref() == c.referrer_digest.as_str())
            {
                return Err(other_failure("the referrer is missing".into()));
            }
            Ok(())
        }
        Op::TokenFetch => Err(other_failure("token cells run on their own bed".into())),
    }
}

async fn verify_blob_direct(bed: &Bed, d: &Digest, data: &[u8]) -> Result<(), Failure> {
    let host = bed._registry.host();
    let direct = client_for(host);
    let reference: Reference = format!("{host}/{}:v1", bed.content.repo)
        .parse()
        .map_err(|e| other_failure(format!("reference: {e}")))?;
    let mut out = Vec::new();
    direct
        .repository(&reference)
        .map_err(|e| client_failure(&e))?
        .fetch_blob_to(d, Some(data.len() as u64), &mut out)
        .await
        .map_err(|e| other_failure(format!("pushed blob not readable: {e}")))?;
    if out != data {
        return Err(other_failure("the stored blob differs".into()));
    }
    Ok(())
}

/// The token bed: a registry trusting a token server that is reached through the proxy.
struct TokenBed {
    _server: TokenServer,
    proxy: FaultProxy,
    registry: Registry,
    repo: String,
    manifest_digest: Digest,
}

async fn token_bed() -> anyhow::Result<TokenBed> {
    let server = TokenServer::start([(USER, PASSWORD)])?;
    let realm = server.realm();
    let server_host = realm
        .strip_prefix("http://")
        .and_then(|r| r.strip_suffix("/token"))
        .ok_or_else(|| anyhow::anyhow!("unexpected realm {realm}"))?
        .to_owned();
    let proxy = FaultProxy::start(&server_host).await?;
    let registry = Registry::start_with(&RegistryOptions::with_auth(Auth::Token {
        realm: format!("{}/token", proxy.base_url()),
        service: TOKEN_SERVICE.to_owned(),
        issuer: TOKEN_ISSUER.to_owned(),
        root_cert_bundle_pem_path: server.root_bundle().to_path_buf(),
    }))
    .await?;
    let content = prepare(registry.host()).await?;
    Ok(TokenBed {
        _server: server,
        proxy,
        repo: content.repo,
        manifest_digest: content.manifest_digest,
        registry,
    })
}

async fn run_token_op(bed: &TokenBed) -> Result<(), Failure> {
    let host = bed.registry.host();
    let client = client_for(host);
    let reference: Reference = format!("{host}/{}:v1", bed.repo)
        .parse()
        .map_err(|e| other_failure(format!("reference: {e}")))?;
    let m = client
        .repository(&reference)
        .map_err(|e| client_failure(&e))?
        .fetch_manifest(&TagOrDigest::tag("v1").expect("valid tag"))
        .await
        .map_err(|e| client_failure(&e))?;
    if m.digest() != &bed.manifest_digest {
        return Err(other_failure("accepted a wrong manifest".into()));
    }
    Ok(())
}

/// Files in `dir` other than the expected output `blob`: partial or temporary files.
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != "blob")
                .collect()
        })
        .unwrap_or_default()
}

/// One row of the printed matrix.
struct CellResult {
    op: Op,
    fault: &'static str,
    outcome: Outcome,
    expected: &'static [Outcome],
    /// Listed in [`KNOWN_GAPS`].
    gap: bool,
    hits: u64,
    millis: u128,
    /// The error's `Display | Debug`, when it failed.
    text: Option<String>,
    problem: Option<String>,
}

fn check_invariants(r: &CellResult, dir: &Path, blob: &[u8], redirect_auth: u64) -> Option<String> {
    if let Some(text) = &r.text {
        for secret in [PASSWORD, &basic_value()] {
            if text.contains(secret) {
                return Some(format!("secret in error: {text}"));
            }
        }
    }
    if r.outcome != Outcome::Recovered {
        if dir.join("blob").exists() {
            return Some("a failed pull left its destination behind".into());
        }
    } else if dir.join("blob").exists()
        && std::fs::read(dir.join("blob")).ok().as_deref() != Some(blob)
    {
        return Some("corrupt output".into());
    }
    let left = leftovers(dir);
    if !left.is_empty() {
        return Some(format!("left in the output directory: {left:?}"));
    }
    if redirect_auth > 0 {
        return Some(format!(
            "{redirect_auth} request(s) carried Authorization to the other origin"
        ));
    }
    None
}

async fn run_cell<F>(op: Op, name: &'static str, hits: impl Fn() -> u64, cell: F) -> CellResult
where
    F: std::future::Future<Output = Result<(), Failure>>,
{
    let started = Instant::now();
    let outcome = tokio::time::timeout(CELL_TIMEOUT, cell).await;
    let millis = started.elapsed().as_millis();
    let (outcome, text) = match &outcome {
        Err(_) => (Outcome::Hung, None),
        Ok(Ok(())) => (Outcome::Recovered, None),
        Ok(Err(f)) => (f.outcome, Some(f.text.clone())),
    };
    let expected = expected(name, op);
    let gap = known_gap(name, op);
    let problem = match gap {
        Some(g) if g == outcome => None,
        Some(g) if expected.contains(&outcome) => Some(format!(
            "listed in KNOWN_GAPS as {} but now {}: remove the entry",
            g.name(),
            outcome.name()
        )),
        _ if expected.contains(&outcome) => None,
        _ => Some(format!(
            "expected {:?}, got {}{}",
            expected.iter().map(|o| o.name()).collect::<Vec<_>>(),
            outcome.name(),
            text.as_ref().map(|t| format!(": {t}")).unwrap_or_default()
        )),
    };
    CellResult {
        op,
        fault: name,
        outcome,
        expected,
        gap: gap.is_some(),
        hits: hits(),
        millis,
        text,
        problem,
    }
}

fn print_matrix(results: &[CellResult]) {
    let print = std::env::var_os("OCI_FAULTS_PRINT").is_some();
    let mut lines = vec![format!(
        "{:<22} {:<22} {:<17} {:>5} {:>7}  {}",
        "fault", "operation", "outcome", "hits", "ms", "expected"
    )];
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in results {
        *counts.entry(r.outcome.name()).or_default() += 1;
        lines.push(format!(
            "{:<22} {:<22} {:<17} {:>5} {:>7}  {}{}",
            r.fault,
            r.op.name(),
            r.outcome.name(),
            r.hits,
            r.millis,
            r.expected
                .iter()
                .map(|o| o.name())
                .collect::<Vec<_>>()
                .join("|"),
            if r.problem.is_some() {
                "  <-- FAIL"
            } else {
                ""
            }
        ));
    }
    let failed = results.iter().filter(|r| r.problem.is_some()).count();
    let gaps = results
        .iter()
        .filter(|r| r.gap && r.problem.is_none())
        .count();
    lines.push(format!(
        "cells: {} ({} as expected, {} known gaps, {} failing); outcomes: {}",
        results.len(),
        results.len() - failed - gaps,
        gaps,
        failed,
        counts
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    ));
    if print || failed > 0 {
        println!("{}", lines.join("\n"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_matrix() {
    if !provisioned_only(
        &["faults/matrix"],
        "a registry with htpasswd behind its fault proxy",
    )
    .expect("valid backend selection")
    {
        return;
    }
    setup();
    let registry = Registry::start_with(&RegistryOptions::htpasswd([(USER, PASSWORD)]))
        .await
        .expect("a registry with Basic auth starts");
    let content = prepare(registry.host())
        .await
        .expect("content is pushed without faults");
    let proxy = FaultProxy::start(registry.host())
        .await
        .expect("the proxy starts");
    // The redirect origin plays a presigned storage URL: it authorises requests itself.
    proxy.set_redirect_upstream_authorization(Some(basic_value()));
    let bed = Bed {
        _registry: registry,
        proxy,
        content,
    };
    let token = token_bed().await.expect("the token bed starts");

    let mut results = Vec::new();
    let mut cell = 0usize;
    for (name, fault, times) in faults() {
        for op in Op::ALL {
            cell += 1;
            let proxy = if op == Op::TokenFetch {
                &token.proxy
            } else {
                &bed.proxy
            };
            // Only authenticated requests: the anonymous first try is answered 401 and
            // thrown away by the client, so a fault there would test nothing.
            let ids: Vec<_> = op
                .targets()
                .iter()
                .map(|(method, path)| {
                    let mut rule = Rule::new(*path, fault.clone()).authorized();
                    if let Some(m) = method {
                        rule = rule.method(m);
                    }
                    if let Some(n) = times {
                        rule = rule.times(n);
                    }
                    proxy.add(rule)
                })
                .collect();
            let dir = tempfile::tempdir().expect("temp dir");
            let before = proxy.redirect_authorizations();
            let hits = || ids.iter().map(|id| proxy.hits(*id)).sum();
            let r = if op == Op::TokenFetch {
                run_cell(op, name, hits, run_token_op(&token)).await
            } else {
                run_cell(op, name, hits, run_op(&bed, op, dir.path(), cell)).await
            };
            for id in &ids {
                proxy.remove(*id);
            }
            let result = (r, proxy.redirect_authorizations() - before);
            let (mut r, redirect_auth) = result;
            if let Some(p) = check_invariants(&r, dir.path(), &bed.content.blob, redirect_auth) {
                r.problem = Some(p);
            }
            results.push(r);
        }
    }
    print_matrix(&results);
    let problems: Vec<String> = results
        .iter()
        .filter_map(|r| {
            r.problem
                .as_ref()
                .map(|p| format!("{} × {}: {p}", r.fault, r.op.name()))
        })
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Resident memory of this process in KiB (`VmRSS`), for the soak's report.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Open descriptors of this process that belong to the soak: files under `dir`, and TCP
/// sockets with `port` (the proxy's) at either end, matched through `/proc/net/tcp*` inodes.
/// Other tests of this binary run in parallel, so a process-wide count would measure them too.
fn soak_fds(dir: &std::path::Path, port: u16) -> usize {
    let port_hex = format!(":{port:04X}");
    let mut inodes = std::collections::HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() > 9 && (cols[1].ends_with(&port_hex) || cols[2].ends_with(&port_hex)) {
                inodes.insert(format!("socket:[{}]", cols[9]));
            }
        }
    }
    std::fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .filter(|t| t.starts_with(dir) || inodes.contains(&*t.to_string_lossy()))
                .count()
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_concurrent_pulls_with_random_faults() {
    if !provisioned_only(
        &["faults/soak"],
        "a registry with htpasswd behind its fault proxy",
    )
    .expect("valid backend selection")
    {
        return;
    }
    setup();
    let n: usize = std::env::var("OCI_FAULTS_SOAK")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_SOAK);
    let registry = Registry::start_with(&RegistryOptions::htpasswd([(USER, PASSWORD)]))
        .await
        .expect("registry starts");
    let repo_name = unique_repo("soak");
    let direct = client_for(registry.host());
    let direct_ref: Reference = format!("{}/{repo_name}:v1", registry.host())
        .parse()
        .expect("reference");
    let direct_repo = direct.repository(&direct_ref).expect("repository");
    // Mixed blobs: tiny, small, a few hundred KiB.
    let sizes = [1usize, 700, 16 * 1024, 64 * 1024 + 3, 300 * 1024];
    let mut blobs = Vec::new();
    for (i, size) in sizes.iter().enumerate() {
        let data = pseudo_random(77 + i as u64, *size);
        let d = digest(&data);
        direct_repo
            .push_blob(&d, Bytes::from(data.clone()))
            .await
            .expect("blob pushed");
        blobs.push((d, data));
    }
    let proxy = FaultProxy::start(registry.host())
        .await
        .expect("proxy starts");
    proxy.set_redirect_upstream_authorization(Some(basic_value()));

    // Seeded random faults on the blob path, each hitting a few requests in turn.
    let mut rng = SOAK_SEED;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let catalogue = [
        Fault::CloseAfter { bytes: 500 },
        Fault::FlipByte { offset: 3 },
        Fault::Append {
            bytes: b"x".to_vec(),
        },
        Fault::TooManyRequests {
            retry_after: "0".to_owned(),
        },
        Fault::Status { status: 503 },
        Fault::Stall {
            after_bytes: 10,
            duration: Duration::from_millis(1500),
        },
        Fault::Redirect,
    ];
    let mut rules = Vec::new();
    for _ in 0..(n / 4).max(1) {
        let f = catalogue[(next() % catalogue.len() as u64) as usize].clone();
        rules.push(
            proxy.add(
                Rule::new("/blobs/sha256:", f)
                    .authorized()
                    .method("GET")
                    .times(1 + next() % 2),
            ),
        );
    }
    let work = tempfile::tempdir().expect("temp dir");
    let proxy_port: u16 = proxy
        .host()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("the proxy listens on host:port");
    let fd_before = soak_fds(work.path(), proxy_port);
    let rss_before = rss_kib();
    let started = Instant::now();
    let client = client_for(&proxy.host());
    let reference: Reference = format!("{}/{repo_name}:v1", proxy.host())
        .parse()
        .expect("reference");
    let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(64));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let (d, data) = blobs[(next() as usize) % blobs.len()].clone();
        let dest = work.path().join(format!("out-{i}"));
        // One source per pull, as one `oci-fetch pull` has: a source remembers which of its
        // pull sources served bad bytes for a digest, for its whole life.
        let source = RegistrySource::direct(&client, &reference).expect("source");
        let semaphore = semaphore.clone();
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await.expect("open semaphore");
            let desc = Descriptor::new("application/octet-stream", d, data.len() as u64);
            let r = tokio::time::timeout(
                CELL_TIMEOUT,
                download(&source, &desc, &dest, &download_options()),
            )
            .await;
            (dest, data, r)
        });
    }
    let mut failures: BTreeMap<String, usize> = BTreeMap::new();
    let mut corrupt = 0usize;
    let mut ok = 0usize;
    while let Some(joined) = tasks.join_next().await {
        let (dest, data, r) = joined.expect("pull task does not panic");
        match r {
            Err(_) => *failures.entry("hung".to_owned()).or_default() += 1,
            Ok(Ok(_)) => {
                if std::fs::read(&dest).ok().as_deref() == Some(data.as_slice()) {
                    ok += 1;
                } else {
                    corrupt += 1;
                }
            }
            Ok(Err(e)) => {
                let f = download_failure(&e);
                assert!(
                    !f.text.contains(PASSWORD),
                    "secret in a soak error: {}",
                    f.text
                );
                if dest.exists() {
                    corrupt += 1;
                }
                *failures.entry(f.outcome.name().to_owned()).or_default() += 1;
            }
        }
    }
    let elapsed = started.elapsed();
    drop(client);
    // Pooled connections close asynchronously; give them a moment.
    let mut fd_after = soak_fds(work.path(), proxy_port);
    for _ in 0..50 {
        if fd_after <= fd_before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        fd_after = soak_fds(work.path(), proxy_port);
    }
    let left: Vec<String> = std::fs::read_dir(work.path())
        .expect("work dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("out-") || n.contains('.'))
        .collect();
    let applied: u64 = rules.iter().map(|id| proxy.hits(*id)).sum();
    println!(
        "soak: {n} pulls in {:.1}s: {ok} verified, {corrupt} corrupt, failures {failures:?}; \
         {applied} faults applied over {} requests ({} redirected, {} with Authorization at \
         the other origin); fds {fd_before} before, {fd_after} after; RSS {rss_before} KiB \
         before, {} KiB after",
        elapsed.as_secs_f64(),
        proxy.requests(),
        proxy.redirect_requests(),
        proxy.redirect_authorizations(),
        rss_kib(),
    );
    assert_eq!(corrupt, 0, "corrupt or partial outputs");
    assert!(
        !failures.contains_key("hung"),
        "a pull passed its time bound"
    );
    assert!(!failures.contains_key("BROKEN"), "an untyped failure");
    assert!(left.is_empty(), "temporary files left behind: {left:?}");
    assert_eq!(
        proxy.redirect_authorizations(),
        0,
        "Authorization crossed origins"
    );
    assert!(
        fd_after <= fd_before,
        "file descriptors: {fd_before} before, {fd_after} after"
    );
}
