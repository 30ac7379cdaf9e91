//! Measuring and reporting for `cargo xtask bench`: each case's clients run in alternation for
//! the configured rounds ([`Bench::compare`]), then one table row and one JSON record a client.

use super::*;

/// Every client's samples, and the clients that failed (they run no more rounds).
struct Rounds {
    samples: Vec<Vec<Sample>>,
    failures: BTreeMap<usize, String>,
}

impl Bench {
    /// Runs `clients` in alternation for `self.runs` rounds; records and prints the table.
    /// Ratios are against the client named `reference`.
    pub(super) fn compare(
        &mut self,
        case: &str,
        bytes: u64,
        reference: &str,
        clients: &[Client],
    ) -> anyhow::Result<Vec<Value>> {
        let load_before = load_average();
        let Rounds { samples, failures } = self.rounds(case, clients);
        let load_after = load_average();
        let ref_median = clients
            .iter()
            .position(|c| c.name == reference || format!("{} {}", c.name, c.mode) == reference)
            .map(|i| median(&samples[i].iter().map(|s| s.wall).collect::<Vec<_>>()))
            .unwrap_or(0.0);
        let mut table = format!(
            "\n### {case} ({} MiB, {} run(s), load {load_before} → {load_after})\n\n\
             | client | mode | median wall | min–max | throughput | CPU (user+sys) | registry CPU | CPU floor | peak RSS | vs {reference} | verifies |\n\
             |---|---|---|---|---|---|---|---|---|---|---|\n",
            bytes / MIB,
            self.runs
        );
        let rows: Vec<Value> = clients
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let failure = failures.get(&i);
                report_row(&mut table, c, &samples[i], failure, bytes, ref_median)
            })
            .collect();
        println!("{table}");
        self.results.push(json!({
            "case": case, "bytes": bytes, "reference": reference,
            "load_before": load_before, "load_after": load_after, "clients": rows,
        }));
        Ok(rows)
    }

    /// The rounds of one case: every client that has not failed, once a round.
    fn rounds(&self, case: &str, clients: &[Client]) -> Rounds {
        let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); clients.len()];
        let mut failures: BTreeMap<usize, String> = BTreeMap::new();
        for round in 0..self.runs {
            for (i, c) in clients.iter().enumerate() {
                if failures.contains_key(&i) {
                    continue;
                }
                match measure(c, &self.work, self.registry_cpu) {
                    Ok(s) => {
                        eprintln!(
                            "bench: {case} round {round}: {} {}: {:.2} s, {:.2} CPU-s, {} MiB, registry {:.2} CPU-s",
                            c.name,
                            c.mode,
                            s.wall,
                            s.cpu,
                            s.rss_kib / 1024,
                            s.registry_cpu
                        );
                        samples[i].push(s);
                    }
                    Err(e) => {
                        eprintln!("bench: {case}: {e:#}");
                        failures.insert(i, format!("{e:#}"));
                    }
                }
                for p in &c.clean {
                    remove(p);
                }
            }
        }
        Rounds { samples, failures }
    }
}

/// Appends client `c`'s row to `table` and returns its JSON record.
fn report_row(
    table: &mut String,
    c: &Client,
    samples: &[Sample],
    failure: Option<&String>,
    bytes: u64,
    ref_median: f64,
) -> Value {
    let walls: Vec<f64> = samples.iter().map(|s| s.wall).collect();
    let cpus: Vec<f64> = samples.iter().map(|s| s.cpu).collect();
    let registry_cpus: Vec<f64> = samples.iter().map(|s| s.registry_cpu).collect();
    if let Some(err) = failure.filter(|_| walls.is_empty()) {
        let _ = writeln!(
            table,
            "| {} | {} | failed | | | | | | | | {} |",
            c.name, c.mode, c.verifies
        );
        return json!({"client": c.name, "mode": c.mode, "error": err});
    }
    let med = median(&walls);
    let min = walls.iter().copied().fold(f64::INFINITY, f64::min);
    let max = walls.iter().copied().fold(0.0, f64::max);
    let rss = samples.iter().map(|s| s.rss_kib).max().unwrap_or(0);
    let mibps = bytes as f64 / MIB as f64 / med;
    let floor = cpu_floor(samples);
    let ratio = if ref_median > 0.0 {
        med / ref_median
    } else {
        0.0
    };
    let _ = writeln!(
        table,
        "| {} | {} | {med:.2} s | {min:.2}–{max:.2} s | {mibps:.0} MiB/s | {:.2} s | {:.2} s | {floor:.2} s | {} MiB | {ratio:.2}× | {} |",
        c.name,
        c.mode,
        median(&cpus),
        median(&registry_cpus),
        rss / 1024,
        c.verifies
    );
    json!({
        "client": c.name, "mode": c.mode, "verifies": c.verifies,
        "wall_s": walls, "cpu_s": cpus,
        "median_wall_s": med, "min_wall_s": min, "max_wall_s": max,
        "median_cpu_s": median(&cpus), "peak_rss_kib": rss,
        "registry_cpu_s": registry_cpus, "median_registry_cpu_s": median(&registry_cpus),
        "throughput_mib_s": mibps, "ratio_to_reference": ratio,
        "cpu_floor_s": floor, "cores": cores(),
        "error": failure,
    })
}

/// The machine's cores (what the floor divides by).
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// The least wall time this machine could have given the median run: the client's and the
/// registries' CPU seconds spread over every core with nothing idle. A wall close to it leaves
/// nothing to win by overlapping better; a client whose wall is far above it waits on
/// something.
fn cpu_floor(samples: &[Sample]) -> f64 {
    let totals: Vec<f64> = samples.iter().map(|s| s.cpu + s.registry_cpu).collect();
    median(&totals) / cores() as f64
}
