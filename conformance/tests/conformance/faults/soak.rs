//! The soak: many concurrent pulls through the proxy with seeded random faults.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use conformance::capability::provisioned_only;
use conformance::fault_proxy::{Fault, FaultProxy, Rule, RuleId};
use conformance::{Registry, RegistryOptions, unique_repo};
use oci_fetch::descriptor::Descriptor;
use oci_fetch::download::{DownloadError, download};
use oci_fetch::registry::RegistrySource;
use oci_ref::{Digest, Reference};

use super::{
    CELL_TIMEOUT, DEFAULT_SOAK, PASSWORD, SOAK_SEED, USER, basic_value, client_for, digest,
    download_failure, download_options, pseudo_random, setup,
};

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
    let blobs = push_blobs(registry.host(), &repo_name).await;
    let proxy = FaultProxy::start(registry.host())
        .await
        .expect("proxy starts");
    proxy.set_redirect_upstream_authorization(Some(basic_value()));
    let mut next = xorshift(SOAK_SEED);
    let rules = add_random_faults(&proxy, n, &mut next);
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
    let Tally {
        ok,
        corrupt,
        failures,
    } = tally(tasks).await;
    let elapsed = started.elapsed();
    drop(client);
    let fd_after = settled_fds(work.path(), proxy_port, fd_before).await;
    let left = leftovers(work.path());
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

/// Pushes mixed blobs (tiny, small, a few hundred KiB) to `repo_name` directly; returns them.
async fn push_blobs(host: &str, repo_name: &str) -> Vec<(Digest, Vec<u8>)> {
    let direct = client_for(host);
    let direct_ref: Reference = format!("{host}/{repo_name}:v1").parse().expect("reference");
    let direct_repo = direct.repository(&direct_ref).expect("repository");
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
    blobs
}

/// Files under `dir` other than the pulls' outputs (`out-<i>`): temporary files left behind.
fn leftovers(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("work dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("out-") || n.contains('.'))
        .collect()
}

/// A seeded xorshift generator: runs repeat.
fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut rng = seed;
    move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    }
}

/// Seeded random faults on the blob path (`n / 4` rules, at least one), each hitting a few
/// authorized `GET`s in turn.
fn add_random_faults(proxy: &FaultProxy, n: usize, next: &mut impl FnMut() -> u64) -> Vec<RuleId> {
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
    rules
}

/// How the pulls ended: verified, corrupt or partial outputs, and failures by outcome.
struct Tally {
    ok: usize,
    corrupt: usize,
    failures: BTreeMap<String, usize>,
}

/// One pull: its destination, the bytes it should hold, and the download's result in time.
type Pulled = (
    std::path::PathBuf,
    Vec<u8>,
    Result<Result<oci_fetch::download::Downloaded, DownloadError>, tokio::time::error::Elapsed>,
);

/// Waits for every pull and counts how it ended; no error may carry the password.
async fn tally(mut tasks: tokio::task::JoinSet<Pulled>) -> Tally {
    let mut t = Tally {
        ok: 0,
        corrupt: 0,
        failures: BTreeMap::new(),
    };
    while let Some(joined) = tasks.join_next().await {
        let (dest, data, r) = joined.expect("pull task does not panic");
        match r {
            Err(_) => *t.failures.entry("hung".to_owned()).or_default() += 1,
            Ok(Ok(_)) => {
                if std::fs::read(&dest).ok().as_deref() == Some(data.as_slice()) {
                    t.ok += 1;
                } else {
                    t.corrupt += 1;
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
                    t.corrupt += 1;
                }
                *t.failures.entry(f.outcome.name().to_owned()).or_default() += 1;
            }
        }
    }
    t
}

/// The soak's descriptors once pooled connections, which close asynchronously, had a moment
/// (up to five seconds) to go below `before`.
async fn settled_fds(dir: &std::path::Path, port: u16, before: usize) -> usize {
    let mut after = soak_fds(dir, port);
    for _ in 0..50 {
        if after <= before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        after = soak_fds(dir, port);
    }
    after
}
