//! [`Explanation`]: the fate of every candidate under a policy, for people (`Display`, a table)
//! and for programs (`serde`, the CLI's `--json`).

use std::fmt;

use serde::Serialize;

use crate::format::DiskFormat;

/// What happened to one candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VerdictKind {
    /// The winner.
    Selected,
    /// Out, see the reason.
    Rejected,
    /// Passed every rule that could be checked, but ranked after the winner.
    Ranked,
    /// Undecided: a rule needs this candidate's manifest, which is not attached yet (see
    /// [`Policy::fetch_plan`](crate::Policy::fetch_plan)).
    Pending,
}

impl VerdictKind {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictKind::Selected => "selected",
            VerdictKind::Rejected => "rejected",
            VerdictKind::Ranked => "ranked",
            VerdictKind::Pending => "pending",
        }
    }
}

/// One rule's rank for one candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RankReport {
    /// The rule's name.
    pub rule: String,
    /// The rank's label, e.g. `qcow2 (1)`.
    pub label: String,
}

/// The fate of one candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CandidateReport {
    /// Index in the candidate list given to the policy.
    pub index: usize,
    /// Position in the image index.
    pub position: usize,
    /// The manifest digest, `algorithm:hex`.
    pub digest: String,
    /// `os/arch[/variant]`, or `-`.
    pub platform: String,
    /// The `disktype` annotation, if any.
    pub disktype: Option<String>,
    /// The disk format it would be deployed as ([`DiskFormat::of`]).
    pub disk_format: Option<DiskFormat>,
    /// What happened.
    pub verdict: VerdictKind,
    /// Why, in one line.
    pub reason: String,
    /// The rejecting rule, for rejected candidates; the rule waiting for the manifest, for
    /// pending ones.
    pub rule: Option<String>,
    /// 1-based place in the preference order, for selected and ranked candidates.
    pub place: Option<usize>,
    /// The rank keys, in rule order (rules that abstained are left out).
    pub ranks: Vec<RankReport>,
}

/// The fate of every candidate under a policy, in candidate order, and the winner.
///
/// Deterministic: the same candidates and policy always give an equal explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The policy's rules, described, in order.
    pub policy: Vec<String>,
    /// One report per candidate, in the order given.
    pub candidates: Vec<CandidateReport>,
    /// Index (into `candidates`) of the winner, if one was selected.
    pub winner: Option<usize>,
}

impl Explanation {
    /// The winner's report.
    pub fn winner_report(&self) -> Option<&CandidateReport> {
        self.winner.and_then(|i| self.candidates.get(i))
    }
}

fn short_digest(digest: &str) -> &str {
    // `sha256:` plus 12 hex digits is unambiguous enough for a table; `--json` has it whole.
    match digest.find(':') {
        Some(colon) => digest.get(..colon + 13).unwrap_or(digest),
        None => digest,
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "policy:")?;
        if self.policy.is_empty() {
            writeln!(f, "  (no rules: first entry wins)")?;
        }
        for (i, rule) in self.policy.iter().enumerate() {
            writeln!(f, "  {}. {rule}", i + 1)?;
        }
        let header = ["#", "digest", "platform", "disktype", "verdict", "reason"];
        let rows: Vec<[String; 6]> = self
            .candidates
            .iter()
            .map(|c| {
                [
                    c.position.to_string(),
                    short_digest(&c.digest).to_owned(),
                    c.platform.clone(),
                    c.disktype.clone().unwrap_or_else(|| "-".to_owned()),
                    c.verdict.as_str().to_owned(),
                    c.reason.clone(),
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |f: &mut fmt::Formatter<'_>, cells: [&str; 6]| -> fmt::Result {
            let mut out = String::new();
            for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
                if i + 1 == cells.len() {
                    out.push_str(cell);
                } else {
                    out.push_str(&format!("{cell:<w$}  "));
                }
            }
            writeln!(f, "{}", out.trim_end())
        };
        line(f, header)?;
        for row in &rows {
            line(f, row.each_ref().map(String::as_str))?;
        }
        match self.winner_report() {
            Some(w) => write!(f, "selected: {} (entry {})", w.digest, w.position),
            None if self
                .candidates
                .iter()
                .any(|c| c.verdict == VerdictKind::Pending) =>
            {
                write!(f, "undecided: manifests needed")
            }
            None => write!(f, "no candidate selected"),
        }
    }
}
