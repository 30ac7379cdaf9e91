//! `cargo xtask bench`: benchmarks against the transport limit and the peers, side by side.
//!
//! A benchmark, never a test: nothing here asserts a time. It builds our bench programs in
//! release mode, starts a local distribution registry (`docker-registry serve`, filesystem
//! storage in a temporary directory, a free loopback port), pushes random content once with
//! `curl`, then runs every case as child processes under `/usr/bin/time` (GNU time, Debian
//! package `time`), alternating each client with its references in every round, so that load
//! from the rest of the machine hits all of them alike. Per client it reports the median, min and
//! max wall time, the throughput at the median, the median CPU time (user + sys of the child and
//! its descendants) and the peak RSS (the largest of any process in the child's tree), and the
//! ratio of each median to the case's reference within the same run.
//!
//! Programs: `bench/oci-fetch-bench` (our library), the `oci-fetch` CLI, `bench/oci-client-peer`
//! (the crates.io `oci-client` crate), `curl`, `openssl`, `zstd`, `skopeo` and Python `oras`.
//! The two bench crates are separate workspaces, so neither enters our libraries' trees.
//!
//! Results: a table per case on stdout and JSON in `target/bench/results.json`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::tidy::workspace_root;

mod cases;
mod content;
mod mirror;
mod refparse;
mod report;
mod resolve;

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

/// Runs per client unless `--runs` says otherwise (the issue asks for at least 5).
const DEFAULT_RUNS: usize = 5;
/// Runs per client with `--quick`.
const QUICK_RUNS: usize = 2;
/// How long the registry may take to answer `/v2/` after it starts.
const REGISTRY_START_TIMEOUT: Duration = Duration::from_secs(20);
/// Iterations of the reference-parsing loop.
const REFPARSE_ITERATIONS: u64 = 2_000_000;
/// The distribution binary (Debian package `docker-registry`).
const REGISTRY_BIN: &str = "/usr/bin/docker-registry";
/// GNU time, for CPU time and peak RSS of each child.
const TIME_BIN: &str = "/usr/bin/time";

const ALL_CASES: &[&str] = &[
    "pull", "scaling", "many", "zstd", "push", "resolve", "refparse", "mirror",
];

const USAGE: &str = "usage: cargo xtask bench [--quick] [--case NAME]... [--runs N] \
                     [--sizes 64M,256M,1G] [--big] [--no-build] [--out FILE]\n\
                     cases: pull scaling many zstd push resolve refparse mirror (default: all)";

#[derive(Debug)]
struct Options {
    runs: usize,
    quick: bool,
    cases: Vec<String>,
    sizes: Vec<u64>,
    out: PathBuf,
    /// Use the release binaries already built (when another build holds the cargo lock).
    no_build: bool,
}

fn parse_size(s: &str) -> anyhow::Result<u64> {
    let (num, mult) = match s.chars().last() {
        Some('G' | 'g') => (&s[..s.len() - 1], GIB),
        Some('M' | 'm') => (&s[..s.len() - 1], MIB),
        Some('K' | 'k') => (&s[..s.len() - 1], 1024),
        _ => (s, 1),
    };
    Ok(num
        .parse::<u64>()
        .with_context(|| format!("bad size {s:?}"))?
        * mult)
}

fn parse_options(args: &[String]) -> anyhow::Result<Options> {
    let root = workspace_root();
    let mut o = Options {
        runs: DEFAULT_RUNS,
        quick: false,
        cases: Vec::new(),
        sizes: Vec::new(),
        out: root.join("target/bench/results.json"),
        no_build: false,
    };
    let mut runs = None;
    let mut big = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .with_context(|| format!("{a} needs a value\n{USAGE}"))
        };
        match a.as_str() {
            "--quick" => o.quick = true,
            "--big" => big = true,
            "--no-build" => o.no_build = true,
            "--runs" => runs = Some(value()?.parse().context("--runs")?),
            "--case" => {
                let c = value()?.clone();
                if !ALL_CASES.contains(&c.as_str()) {
                    bail!("unknown case {c:?}\n{USAGE}");
                }
                o.cases.push(c);
            }
            "--sizes" => {
                o.sizes = value()?
                    .split(',')
                    .map(parse_size)
                    .collect::<Result<_, _>>()?;
            }
            "--out" => o.out = PathBuf::from(value()?),
            _ => bail!("unknown argument {a:?}\n{USAGE}"),
        }
    }
    o.runs = runs
        .unwrap_or(if o.quick { QUICK_RUNS } else { DEFAULT_RUNS })
        .max(1);
    if o.cases.is_empty() {
        o.cases = ALL_CASES.iter().map(|s| (*s).to_owned()).collect();
    }
    if o.sizes.is_empty() {
        o.sizes = if o.quick {
            vec![64 * MIB, 256 * MIB]
        } else {
            vec![64 * MIB, 256 * MIB, GIB]
        };
        if big {
            o.sizes.push(4 * GIB);
        }
    }
    Ok(o)
}

/// `cargo xtask bench`.
pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    let opts = parse_options(args)?;
    for tool in [TIME_BIN, REGISTRY_BIN] {
        if !Path::new(tool).exists() {
            bail!("{tool} is missing (Debian: apt-get install time docker-registry)");
        }
    }
    let bins = build(opts.no_build)?;
    let work = WorkDir::new()?;
    let registry = Registry::start(&work.0)?;
    let mut bench = Bench {
        bins,
        work: work.0.clone(),
        host: registry.host.clone(),
        runs: opts.runs,
        results: Vec::new(),
        registry_cpu: RegistryCpu::new(registry.child.id()),
    };
    let facts = machine_facts();
    eprintln!(
        "bench: registry at {}, {} run(s) per client",
        bench.host, bench.runs
    );
    let pull_size = if opts.quick { 256 * MIB } else { GIB };
    for case in &opts.cases {
        match case.as_str() {
            "pull" => bench.case_pull(pull_size)?,
            "scaling" => bench.case_scaling(&opts.sizes)?,
            "many" => bench.case_many(opts.quick)?,
            "zstd" => bench.case_zstd(pull_size)?,
            "push" => bench.case_push(pull_size)?,
            "resolve" => bench.case_resolve()?,
            "refparse" => bench.case_refparse()?,
            "mirror" => bench.case_mirror(opts.quick)?,
            _ => {}
        }
    }
    let doc = json!({
        "command": format!("cargo xtask bench {}", args.join(" ")),
        "machine": facts,
        "runs": opts.runs,
        "cases": bench.results,
    });
    if let Some(dir) = opts.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&opts.out, serde_json::to_string_pretty(&doc)?)?;
    eprintln!("bench: results in {}", opts.out.display());
    drop(registry);
    Ok(())
}

/// Paths of the programs under test.
#[derive(Debug)]
struct Bins {
    ours: PathBuf,
    cli: PathBuf,
    peer: PathBuf,
}

fn build(skip: bool) -> anyhow::Result<Bins> {
    let root = workspace_root();
    let target = root.join("target");
    if skip {
        return Ok(bins(&target));
    }
    crate::run(
        crate::cargo()
            .current_dir(&root)
            .args(["build", "--release", "-p", "oci-fetch"]),
    )?;
    // Our bench program shares the workspace's target directory (same dependency builds); the
    // peer gets its own, since its dependency versions differ.
    for (krate, dir) in [
        ("oci-fetch-bench", target.clone()),
        ("oci-client-peer", target.join("bench-peers")),
    ] {
        let manifest = root.join("bench").join(krate).join("Cargo.toml");
        crate::run(
            crate::cargo()
                .current_dir(&root)
                .env("CARGO_TARGET_DIR", dir)
                .args(["build", "--release", "--locked", "--manifest-path"])
                .arg(&manifest),
        )?;
    }
    Ok(bins(&target))
}

fn bins(target: &Path) -> Bins {
    let peers = target.join("bench-peers/release");
    Bins {
        ours: target.join("release/oci-fetch-bench"),
        cli: target.join("release/oci-fetch"),
        peer: peers.join("oci-client-peer"),
    }
}

/// A temporary directory for registry storage, content and outputs; removed on drop.
#[derive(Debug)]
struct WorkDir(PathBuf);

impl WorkDir {
    fn new() -> anyhow::Result<WorkDir> {
        let dir = std::env::temp_dir().join(format!("oci-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(WorkDir(dir))
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The registry child; killed on drop.
#[derive(Debug)]
struct Registry {
    child: Child,
    host: String,
    /// Its stderr (and access log, when enabled).
    log: PathBuf,
}

impl Registry {
    fn start(work: &Path) -> anyhow::Result<Registry> {
        Registry::start_named(work, "registry", false)
    }

    /// A registry with storage `work/<name>`, logging to `work/<name>.log` (each request
    /// with `access_log`).
    fn start_named(work: &Path, name: &str, access_log: bool) -> anyhow::Result<Registry> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let host = format!("127.0.0.1:{port}");
        let storage = work.join(name);
        std::fs::create_dir_all(&storage)?;
        let config = work.join(format!("{name}.yml"));
        let (level, disabled) = if access_log {
            ("info", false)
        } else {
            ("error", true)
        };
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: {level}\n  accesslog:\n    disabled: {disabled}\n\
                 storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
                 http:\n  addr: {host}\n",
                storage.display()
            ),
        )?;
        let log_path = work.join(format!("{name}.log"));
        let log = std::fs::File::create(&log_path)?;
        let child = Command::new(REGISTRY_BIN)
            .arg("serve")
            .arg(&config)
            // The access log goes to stdout.
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting docker-registry")?;
        let registry = Registry {
            child,
            host,
            log: log_path,
        };
        let deadline = Instant::now() + REGISTRY_START_TIMEOUT;
        while Instant::now() < deadline {
            let ok = Command::new("curl")
                .args(["-sf", "-o", "/dev/null"])
                .arg(format!("http://{}/v2/", registry.host))
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return Ok(registry);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!("registry did not answer within {REGISTRY_START_TIMEOUT:?}")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One measured run of one client.
#[derive(Debug, Clone, Copy)]
struct Sample {
    wall: f64,
    cpu: f64,
    rss_kib: u64,
    /// CPU seconds the registry used during the run (0 when unknown).
    registry_cpu: f64,
}

/// A client under test: a command line (argv, or `sh -c` text) and what to clean before a run.
#[derive(Debug, Clone)]
struct Client {
    name: String,
    mode: String,
    verifies: &'static str,
    argv: Vec<String>,
    /// Paths removed (files or directories) before each run, outside the timing.
    clean: Vec<PathBuf>,
}

impl Client {
    fn new(name: &str, mode: &str, verifies: &'static str, argv: Vec<String>) -> Client {
        Client {
            name: name.to_owned(),
            mode: mode.to_owned(),
            verifies,
            argv,
            clean: Vec::new(),
        }
    }

    fn shell(name: &str, mode: &str, verifies: &'static str, script: String) -> Client {
        Client::new(name, mode, verifies, vec!["sh".into(), "-c".into(), script])
    }

    fn cleaning(mut self, p: &Path) -> Client {
        self.clean.push(p.to_path_buf());
        self
    }
}

fn args(list: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<String> {
    list.iter()
        .map(|a| a.as_ref().to_string_lossy().into_owned())
        .collect()
}

fn remove(p: &Path) {
    if p.is_dir() {
        let _ = std::fs::remove_dir_all(p);
    } else {
        let _ = std::fs::remove_file(p);
    }
}

/// Runs `client` once under GNU time.
fn measure(client: &Client, work: &Path, registry: RegistryCpu) -> anyhow::Result<Sample> {
    for p in &client.clean {
        remove(p);
    }
    // Flush the previous run's dirty pages outside the timing, so that one client's writeback
    // is not billed to the next.
    let _ = Command::new("sync").status();
    let stats = work.join("time.out");
    let log = work.join("client.log");
    let registry_before = registry.seconds();
    let start = Instant::now();
    let status = Command::new(TIME_BIN)
        .args(["-f", "%U %S %M", "-o"])
        .arg(&stats)
        .arg("--")
        .args(&client.argv)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log)?)
        .status()
        .with_context(|| format!("running {}", client.name))?;
    let wall = start.elapsed().as_secs_f64();
    let registry_cpu = match (registry_before, registry.seconds()) {
        (Some(a), Some(b)) => b - a,
        _ => 0.0,
    };
    if !status.success() {
        let err = std::fs::read_to_string(&log).unwrap_or_default();
        bail!(
            "{} {} failed ({status}): {}",
            client.name,
            client.mode,
            err.trim()
        );
    }
    let text = std::fs::read_to_string(&stats)?;
    let last = text.lines().last().unwrap_or_default();
    let f: Vec<&str> = last.split_whitespace().collect();
    let [user, sys, rss] = f.as_slice() else {
        bail!("unexpected /usr/bin/time output {text:?}");
    };
    Ok(Sample {
        wall,
        cpu: user.parse::<f64>()? + sys.parse::<f64>()?,
        rss_kib: rss.parse()?,
        registry_cpu,
    })
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn output_of(cmd: &mut Command) -> String {
    cmd.output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn machine_facts() -> Value {
    let sha = output_of(Command::new("sh").args(["-c", "lscpu | grep -io 'sha_ni' | head -1"]));
    json!({
        "nproc": output_of(&mut Command::new("nproc")),
        "model": output_of(Command::new("sh").args(["-c", "lscpu | sed -n 's/^Model name: *//p'"])),
        "sha_ni": !sha.is_empty(),
        "kernel": output_of(Command::new("uname").arg("-r")),
        "registry": output_of(Command::new(REGISTRY_BIN).arg("--version")),
        "curl": output_of(Command::new("sh").args(["-c", "curl --version | head -1"])),
        "skopeo": output_of(Command::new("skopeo").arg("--version")),
        "load_average_start": load_average(),
    })
}

/// Content pushed to the registry.
#[derive(Debug, Clone)]
struct Blob {
    path: PathBuf,
    digest: String,
    size: u64,
}

struct Bench {
    bins: Bins,
    work: PathBuf,
    host: String,
    runs: usize,
    results: Vec<Value>,
    registry_cpu: RegistryCpu,
}

/// The registry process's CPU time, read from `/proc/<pid>/stat` around each run: it shares the
/// two cores with the client, and in the push case it is the bottleneck. The mirror case
/// measures its two registries together.
#[derive(Debug, Clone, Copy)]
struct RegistryCpu {
    pids: [Option<u32>; 2],
    ticks_per_second: f64,
}

impl RegistryCpu {
    fn new(pid: u32) -> RegistryCpu {
        let ticks = Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|t| t.trim().parse::<f64>().ok())
            .unwrap_or(100.0);
        RegistryCpu {
            pids: [Some(pid), None],
            ticks_per_second: ticks,
        }
    }

    /// These registries and the one of `pid`, counted together.
    fn and(self, pid: u32) -> RegistryCpu {
        RegistryCpu {
            pids: [self.pids[0], Some(pid)],
            ..self
        }
    }

    /// User + system seconds so far (of every registry measured); `None` where `/proc` cannot
    /// tell.
    fn seconds(&self) -> Option<f64> {
        self.pids
            .iter()
            .flatten()
            .map(|pid| self.seconds_of(*pid))
            .sum()
    }

    fn seconds_of(&self, pid: u32) -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Fields after the command name (which may hold spaces): state is the first; utime and
        // stime are the 12th and 13th (fields 14 and 15 of proc(5)).
        let rest = &stat[stat.rfind(')')? + 1..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        let utime: f64 = f.get(11)?.parse().ok()?;
        let stime: f64 = f.get(12)?.parse().ok()?;
        Some((utime + stime) / self.ticks_per_second)
    }
}

impl Bench {
    fn pull_clients(
        &self,
        repo: &str,
        tag: &str,
        manifest: &str,
        blob: &Blob,
        all: bool,
    ) -> Vec<Client> {
        let out = self.work.join("out.bin");
        let dir = self.work.join("outdir");
        let url = self.url(repo, "blobs", &blob.digest);
        let repo_ref = format!("{}/{repo}", self.host);
        let size = blob.size.to_string();
        let hex = blob.digest.trim_start_matches("sha256:");
        let ours = &self.bins.ours;
        let mut v = vec![
            Client::new(
                "curl",
                "→ /dev/null (transport limit)",
                "no",
                args(&[&"curl", &"-sf", &"-o", &"/dev/null", &url]),
            ),
            Client::new(
                "oci-fetch (library)",
                "download → file",
                "yes",
                args(&[
                    ours,
                    &"pull",
                    &repo_ref,
                    &blob.digest,
                    &size,
                    &"application/octet-stream",
                    &out,
                ]),
            )
            .cleaning(&out),
        ];
        if !all {
            return v;
        }
        let peer = &self.bins.peer;
        let tagged = format!("{repo_ref}:{tag}");
        v.extend([
            Client::new("oci-fetch (CLI)", "pull (resolve + download) → dir", "yes", args(&[&self.bins.cli, &"--plain-http", &"pull", &format!("{repo_ref}@{manifest}"), &"-o", &dir])).cleaning(&dir),
            Client::new("curl", "→ file", "no", args(&[&"curl", &"-sf", &"-o", &out, &url])).cleaning(&out),
            Client::new("oci-fetch (library)", "SHA-256 of the blob file in the page cache, nothing else (hash limit, 1 core)", "yes", args(&[ours, &"hash", &blob.path, &blob.digest, &size])),
            Client::new("openssl dgst", "SHA-256 of the blob file in the page cache", "—", args(&[&"openssl", &"dgst", &"-sha256", &blob.path])),
            Client::shell("curl + openssl dgst", "piped: streamed verify, no file", "yes",
                format!("curl -sf '{url}' | openssl dgst -sha256 | grep -q {hex}")),
            Client::new("oci-client 0.18", "pull_blob_stream → file", "yes, once", args(&[peer, &"pull-stream", &tagged, &blob.digest, &size, &out])).cleaning(&out),
            Client::new("oci-client 0.18", "pull_blob → file", "yes, twice", args(&[peer, &"pull-blob", &tagged, &blob.digest, &size, &out])).cleaning(&out),
            Client::new("oci-client 0.18", "Client::pull (in memory) → file", "yes, twice", args(&[peer, &"pull", &tagged, &blob.digest, &size, &out])).cleaning(&out),
            Client::new("oras (Python)", "pull → dir", "no", vec![
                "python3".into(), "-c".into(),
                "import sys, oras.client; oras.client.OrasClient(insecure=True).pull(target=sys.argv[1], outdir=sys.argv[2])".into(),
                tagged.clone(), dir.display().to_string(),
            ]).cleaning(&dir),
            Client::new("skopeo", "copy → dir:", "yes", args(&[&"skopeo", &"copy", &"--quiet", &"--insecure-policy", &"--src-tls-verify=false", &format!("docker://{tagged}"), &format!("dir:{}", dir.display())])).cleaning(&dir),
        ]);
        v
    }
}
