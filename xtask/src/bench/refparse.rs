//! Case 6: reference parsing, ours against `oci-spec`'s parser, in one bench process each
//! (a plain loop with `black_box`), alternating.

use std::process::Command;

use anyhow::bail;
use serde_json::{Value, json};

use super::{Bench, REFPARSE_ITERATIONS, median};

impl Bench {
    /// Case 6: reference parsing, ours against `oci-spec`'s parser.
    pub(super) fn case_refparse(&mut self) -> anyhow::Result<()> {
        let mut rows = Vec::new();
        for round in 0..self.runs {
            for which in ["ours", "oci-spec"] {
                let out = Command::new(&self.bins.ours)
                    .args(["refparse", which, &REFPARSE_ITERATIONS.to_string()])
                    .output()?;
                if !out.status.success() {
                    bail!("refparse {which}: {}", String::from_utf8_lossy(&out.stderr));
                }
                let v: Value = serde_json::from_slice(&out.stdout)?;
                eprintln!(
                    "bench: refparse round {round}: {which}: {:.0} parses/s",
                    v["per_second"].as_f64().unwrap_or(0.0)
                );
                rows.push(v);
            }
        }
        let med = |w: &str| {
            median(
                &rows
                    .iter()
                    .filter(|r| r["parser"] == w)
                    .filter_map(|r| r["per_second"].as_f64())
                    .collect::<Vec<_>>(),
            )
        };
        let (ours, spec) = (med("ours"), med("oci-spec"));
        println!(
            "\n### refparse ({REFPARSE_ITERATIONS} parses, {} run(s))\n\n| parser | median parses/s |\n|---|---|\n\
             | oci_ref::Reference::parse | {ours:.0} |\n| oci_spec::distribution::Reference::from_str | {spec:.0} |\n\nratio: {:.2}×\n",
            self.runs,
            ours / spec
        );
        self.results.push(json!({"case": "refparse", "runs": rows, "median_ours": ours, "median_oci_spec": spec, "ratio": ours / spec}));
        Ok(())
    }
}
