//! The fault matrix: every fault of the proxy against every operation, each cell checked for
//! its expected outcome and the invariants.

use oci_ref::TagOrDigest;
use oci_ref::media_type::OCI_MANIFEST;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use conformance::capability::provisioned_only;
use conformance::fault_proxy::{Fault, FaultProxy, Rule};
use conformance::token_server::{TOKEN_ISSUER, TOKEN_SERVICE, TokenServer};
use conformance::{Auth, Registry, RegistryOptions};
use oci_client::Repository;
use oci_fetch::descriptor::Descriptor;
use oci_fetch::download::download;
use oci_fetch::registry::RegistrySource;
use oci_ref::{Digest, Reference};

use super::{
    CELL_TIMEOUT, Content, Failure, Outcome, PASSWORD, USER, basic_value, client_failure,
    client_for, digest, download_failure, download_options, other_failure, prepare, pseudo_random,
    setup,
};

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
                .any(|d| d.digest.as_str() == c.referrer_digest.as_str())
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
