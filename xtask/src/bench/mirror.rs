//! Case `mirror` of `cargo xtask bench`: a set of artifacts (each one large blob, a small
//! file and two referrers) mirrored between two local registries by `oci-fetch mirror`,
//! against `skopeo copy` per image and oras-py (pull then push per artifact), then the
//! incremental second run of each; plus requests per artifact, counted in both registries'
//! access logs during one extra (untimed) run of each client.
//!
//! skopeo and oras-py do not copy referrers (skopeo does not know them; oras-py has no copy),
//! so they move two manifests per artifact fewer: the table says so in the mode column, and
//! `oci-fetch mirror` also runs the set with `referrers = false`, the same work as theirs.

use super::*;

/// Artifacts in the set (the issue's case).
const ARTIFACTS: usize = 20;
/// The large blob of each artifact.
const BLOB_BYTES: u64 = 64 * MIB;
/// With `--quick`.
const QUICK_BLOB_BYTES: u64 = 16 * MIB;

/// containers/image's blob-info cache for root (skopeo).
const SKOPEO_BLOB_CACHE: &str = "/var/lib/containers/cache/blob-info-cache-v1.boltdb";

/// oras-py: for each `SRC DST` pair on stdin, pull SRC into a directory and push its files
/// to DST.
const ORAS_COPY: &str = r#"
import os, sys, tempfile, oras.client
src_host, dst_host = sys.argv[1], sys.argv[2]
src = oras.client.OrasClient(hostname=src_host, insecure=True)
dst = oras.client.OrasClient(hostname=dst_host, insecure=True)
for line in sys.stdin:
    a, b = line.split()
    with tempfile.TemporaryDirectory() as d:
        files = src.pull(target=a, outdir=d)
        os.chdir(d)
        r = dst.push(target=b, files=[os.path.relpath(f, d) for f in files],
                     disable_path_validation=True, quiet=True)
        if r.status_code != 201:
            sys.exit("push status %d" % r.status_code)
"#;

/// HTTP requests the registry logged so far (access-log lines).
fn logged_requests(registry: &Registry) -> usize {
    std::fs::read_to_string(&registry.log)
        .map(|t| t.matches(" HTTP/1.1\"").count())
        .unwrap_or(0)
}

impl Bench {
    /// Case `mirror`. Its registry-CPU column is the two registries' CPU together.
    pub(super) fn case_mirror(&mut self, quick: bool) -> anyhow::Result<()> {
        let src = Registry::start_named(&self.work, "mirror-src", true)?;
        let dst = Registry::start_named(&self.work, "mirror-dst", true)?;
        let both = RegistryCpu::new(src.child.id()).and(dst.child.id());
        let bench_registry = std::mem::replace(&mut self.registry_cpu, both);
        let result = self.mirror_runs(&src, &dst, quick);
        self.registry_cpu = bench_registry;
        result
    }

    fn mirror_runs(&mut self, src: &Registry, dst: &Registry, quick: bool) -> anyhow::Result<()> {
        let blob_bytes = if quick { QUICK_BLOB_BYTES } else { BLOB_BYTES };
        let (set_path, pairs_path) = self.seed_mirror(src, dst, blob_bytes)?;
        let oras_py = self.work.join("oras-copy.py");
        std::fs::write(&oras_py, ORAS_COPY)?;
        let cli = self.bins.cli.display().to_string();

        let fresh = "P=run$(date +%s%N)";
        // Without referrers: the same work as skopeo and oras-py (like for like).
        let no_referrers = self.work.join("mirror-set-no-referrers.toml");
        let without = std::fs::read_to_string(&set_path)?
            .replace("tags = [\"v1\"]\n", "tags = [\"v1\"]\nreferrers = false\n");
        if without.matches("referrers = false").count() != ARTIFACTS {
            bail!("the mirror set no longer has one `tags = [\"v1\"]` line per artifact");
        }
        std::fs::write(&no_referrers, without)?;
        let ours_with = |set: &Path, to: &str, mode: &str| {
            let script = format!(
                "{fresh}; exec '{cli}' mirror '{}' --to {}/{to} --plain-http",
                set.display(),
                dst.host
            );
            Client::shell("oci-fetch mirror", mode, "yes", script)
        };
        let ours = |to: &str, mode: &str| ours_with(&set_path, to, mode);
        let skopeo = |to: &str, mode: &str| {
            let script = format!(
                "{fresh}; for i in $(seq 0 {}); do skopeo copy -q --src-tls-verify=false \
                 --dest-tls-verify=false docker://{}/bench/a$i:v1 docker://{}/{to}/a$i:v1 \
                 || exit 1; done",
                ARTIFACTS - 1,
                src.host,
                dst.host
            );
            // containers/image remembers where blobs live (its blob-info cache) and mounts them
            // from an earlier run's repositories; a first run must not know any.
            Client::shell("skopeo copy", mode, "yes", script).cleaning(Path::new(SKOPEO_BLOB_CACHE))
        };
        let oras = |to: &str| {
            let script = format!(
                "{fresh}; sed \"s#{{DST}}#{}/{to}#\" '{}' | python3 '{}' {} {}",
                dst.host,
                pairs_path.display(),
                oras_py.display(),
                src.host,
                dst.host
            );
            Client::shell("oras-py", "pull + push, no referrers", "yes", script)
        };
        let first = [
            ours("$P", "first run, with referrers"),
            ours_with(&no_referrers, "$P", "first run, no referrers"),
            skopeo("$P", "first run, no referrers"),
            oras("$P"),
        ];
        let total = ARTIFACTS as u64 * blob_bytes;
        self.compare("mirror: first run", total, "skopeo copy", &first)?;
        // The second runs go to a destination that has everything (filled untimed first).
        let second = [
            ours("warm", "second run"),
            skopeo("warm-skopeo", "second run"),
        ];
        for c in &second {
            measure(c, &self.work, self.registry_cpu)?;
        }
        self.compare("mirror: second run", total, "skopeo copy", &second)?;

        let mut counts = Vec::new();
        for c in first.iter().chain(&second) {
            let before = logged_requests(src) + logged_requests(dst);
            measure(c, &self.work, self.registry_cpu)?;
            let requests = logged_requests(src) + logged_requests(dst) - before;
            let per = requests as f64 / ARTIFACTS as f64;
            eprintln!(
                "bench: mirror requests: {} {}: {per:.1} per artifact",
                c.name, c.mode
            );
            counts.push(json!({"client": c.name, "mode": c.mode, "requests_per_artifact": per}));
        }
        self.results
            .push(json!({"case": "mirror: requests per artifact", "rows": counts}));
        Ok(())
    }

    /// Pushes the artifacts (a big and a small file, a signature and an sbom each) to `src`;
    /// writes the mirror set for `dst` and the oras source/destination pairs, returns their paths.
    fn seed_mirror(
        &self,
        src: &Registry,
        dst: &Registry,
        blob_bytes: u64,
    ) -> anyhow::Result<(PathBuf, PathBuf)> {
        let cli = self.bins.cli.display().to_string();
        let mut set = format!("[destination]\nregistry = \"{}/unused\"\n", dst.host);
        let mut pairs = String::new();
        for i in 0..ARTIFACTS {
            let big = self.make_content("mirror-big.bin", blob_bytes, false)?;
            let small = self.work.join("notes.txt");
            std::fs::write(&small, format!("artifact {i}\n"))?;
            let reference = format!("{}/bench/a{i}:v1", src.host);
            let push = |a: &[&str]| crate::run(Command::new(&cli).args(a).arg("--plain-http"));
            let (big_path, small_path) =
                (big.path.display().to_string(), small.display().to_string());
            push(&["push", &reference, &big_path, &small_path])?;
            for kind in ["signature", "sbom"] {
                let t = format!("application/vnd.bench.{kind}");
                push(&["attach", &reference, &small_path, "--artifact-type", &t])?;
            }
            remove(&big.path);
            let _ = write!(
                set,
                "\n[[source]]\nrepository = \"{}/bench/a{i}\"\ntags = [\"v1\"]\n",
                src.host
            );
            let _ = writeln!(pairs, "{reference} {{DST}}/a{i}:v1");
        }
        let set_path = self.work.join("mirror-set.toml");
        std::fs::write(&set_path, set)?;
        let pairs_path = self.work.join("mirror-pairs.txt");
        std::fs::write(&pairs_path, &pairs)?;
        Ok((set_path, pairs_path))
    }
}
