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

use oci_ref::TagOrDigest;
use oci_ref::media_type::OCI_MANIFEST;
use std::time::Duration;

use bytes::Bytes;
use conformance::unique_repo;
use oci_client::{Client, RetryPolicy};
use oci_fetch::download::DownloadOptions;
use oci_ref::{Digest, Reference};

use crate::digest;

mod matrix;
mod soak;

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
    let integrity = e.is_digest_mismatch() || matches!(e, oci_client::Error::SizeMismatch { .. });
    failure(
        e,
        integrity,
        e.is_unauthorized(),
        e.is_not_found(),
        e.is_retryable(),
    )
}

fn download_failure(e: &oci_fetch::download::DownloadError) -> Failure {
    failure(
        e,
        e.is_verification(),
        e.is_unauthorized(),
        e.is_not_found(),
        e.is_retryable(),
    )
}

/// A failure from what its error answers, asked in this order: an integrity failure, then
/// unauthorized, not found, retryable; terminal otherwise.
fn failure<E: std::fmt::Display + std::fmt::Debug>(
    e: &E,
    integrity: bool,
    unauthorized: bool,
    not_found: bool,
    retryable: bool,
) -> Failure {
    let outcome = if integrity {
        Outcome::Integrity
    } else if unauthorized {
        Outcome::Unauthorized
    } else if not_found {
        Outcome::NotFound
    } else if retryable {
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
