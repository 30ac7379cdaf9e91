//! Case 5: resolving a 9-entry multi-artifact index (3 architectures × 3 disk types, the shape
//! Ironic searches), ours against Ironic's request sequence.
//!
//! Ironic's OCI client lists the tags, fetches the index, sorts the candidates by its
//! architecture and disk-type rules, then fetches candidate manifests one after another until
//! one qualifies. `oci-fetch-bench resolve ironic` replays exactly that sequence with
//! `oci-client` (same connection pool and parsing costs as ours), so the comparison is about
//! the requests made, not about Python against Rust. `oci-fetch-bench resolve ours` runs
//! `oci_fetch::resolve` with the Ironic policy. Both resolve the same reference many times in
//! one process and report the requests of one resolve and the mean time per resolve; both
//! must choose the same blob.

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

use super::{Bench, Blob, median};

/// Resolves per process run: enough for a stable mean on loopback.
const RESOLVE_ITERATIONS: u32 = 200;
/// The repository and tag of the index.
const REPO: &str = "bench/resolve";
const TAG: &str = "disks";
/// The architecture resolved for (Ironic's `cpu_arch`).
const ARCH: &str = "aarch64";

impl Bench {
    /// Case 5: pushes the index, then alternates ours and Ironic's sequence.
    pub(super) fn case_resolve(&mut self) -> anyhow::Result<()> {
        let mut entries = Vec::new();
        for arch in ["x86_64", "aarch64", "ppc64le"] {
            for disk in ["raw", "applehv", "qcow2"] {
                let name = format!("disk-{arch}.{disk}");
                let blob: Blob = self.make_content(&name, 4096, false)?;
                self.push_blob(REPO, &blob)?;
                let tag = format!("{arch}-{disk}");
                let digest =
                    self.push_manifest(REPO, &tag, &[(&blob, "application/octet-stream", &name)])?;
                let path = self
                    .work
                    .join(format!("manifest-{}-{tag}.json", REPO.replace('/', "-")));
                let size = std::fs::metadata(&path)?.len();
                entries.push(json!({
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": digest, "size": size,
                    "platform": {"os": "linux", "architecture": arch},
                    "annotations": {"disktype": disk},
                }));
            }
        }
        let index = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": entries,
        });
        let path = self.work.join("resolve-index.json");
        std::fs::write(&path, serde_json::to_vec(&index)?)?;
        self.put_manifest_file(REPO, TAG, &path, "application/vnd.oci.image.index.v1+json")?;

        let repo = format!("{}/{REPO}", self.host);
        let mut rows: Vec<Value> = Vec::new();
        for round in 0..self.runs {
            for which in ["ours", "ironic"] {
                let out = std::process::Command::new(&self.bins.ours)
                    .args(["resolve", which, &repo, TAG, ARCH])
                    .arg(RESOLVE_ITERATIONS.to_string())
                    .output()?;
                if !out.status.success() {
                    bail!("resolve {which}: {}", String::from_utf8_lossy(&out.stderr));
                }
                let v: Value = serde_json::from_slice(&out.stdout)
                    .with_context(|| format!("resolve {which} printed no JSON"))?;
                eprintln!(
                    "bench: resolve round {round}: {which}: {} requests, {:.3} ms per resolve",
                    v["requests"],
                    v["ms_per_resolve"].as_f64().unwrap_or(0.0)
                );
                rows.push(v);
            }
        }
        let chosen: Vec<&str> = rows.iter().filter_map(|r| r["chosen"].as_str()).collect();
        if chosen.windows(2).any(|w| w[0] != w[1]) {
            bail!("ours and Ironic's sequence chose different blobs: {chosen:?}");
        }
        let pick = |w: &str, field: &str| {
            median(
                &rows
                    .iter()
                    .filter(|r| r["who"] == w)
                    .filter_map(|r| r[field].as_f64())
                    .collect::<Vec<_>>(),
            )
        };
        let (ours_ms, ironic_ms) = (
            pick("ours", "ms_per_resolve"),
            pick("ironic", "ms_per_resolve"),
        );
        let (ours_req, ironic_req) = (pick("ours", "requests"), pick("ironic", "requests"));
        println!(
            "\n### resolve (9-entry index, {ARCH}, Ironic policy, {RESOLVE_ITERATIONS} resolves per run, {} run(s))\n\n\
             | client | requests per resolve | median ms per resolve | ratio |\n|---|---|---|---|\n\
             | oci_fetch::resolve | {ours_req} | {ours_ms:.3} | {:.2}× |\n\
             | Ironic's sequence (tags list, index, manifests in turn) | {ironic_req} | {ironic_ms:.3} | 1.00× |\n",
            self.runs,
            ours_ms / ironic_ms
        );
        self.results.push(json!({
            "case": "resolve", "runs": rows, "iterations": RESOLVE_ITERATIONS,
            "median_ms_ours": ours_ms, "median_ms_ironic": ironic_ms,
            "requests_ours": ours_req, "requests_ironic": ironic_req,
        }));
        Ok(())
    }
}
