//! [`DiskFormatPreference`]: Ironic's `disktype` ranking, configurable.

use super::list;
use crate::candidate::{ANNOTATION_DISKTYPE, Candidate};
use crate::policy::DownloadSource;
use crate::rule::{Rank, Rule, Verdict};

/// The rank Ironic gives an entry without a `disktype`: after every listed format.
pub const MISSING_DISKTYPE_RANK: i64 = 100;

/// What [`DiskFormatPreference`] does with a `disktype` that is not in its list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unlisted {
    /// Reject the candidate (Ironic drops `hyperv`, `vhdx`, … silently; we say why).
    #[default]
    Reject,
    /// Keep it, ranked with the candidates that have no `disktype`.
    Last,
}

/// Ranks candidates by their `disktype` annotation's position in a preference list.
///
/// - a listed value ranks by its 1-based position (Ironic's priorities);
/// - a missing or empty `disktype` ranks [`MISSING_DISKTYPE_RANK`] (a last resort, and the
///   entry then counts as a container image unless it is an OCI artifact);
/// - an unlisted value is rejected (or ranked last, see [`Unlisted`]).
///
/// Values compare exactly, case-sensitively, as in Ironic: `QCOW2` is not `qcow2`.
#[derive(Debug, Clone)]
pub struct DiskFormatPreference {
    prefer: Vec<String>,
    unlisted: Unlisted,
}

impl DiskFormatPreference {
    /// Ironic's table for a download source: `local` prefers `qcow2, qemu, raw, applehv`;
    /// `http` (Ironic: any source other than `local`) prefers `raw, applehv, qcow2, qemu`.
    pub fn ironic(source: DownloadSource) -> DiskFormatPreference {
        let prefer: &[&str] = match source {
            DownloadSource::Local => &["qcow2", "qemu", "raw", "applehv"],
            DownloadSource::Http => &["raw", "applehv", "qcow2", "qemu"],
        };
        DiskFormatPreference::new(prefer.iter().map(|s| (*s).to_owned()).collect())
    }

    /// A custom preference list, best first; unlisted values are rejected.
    pub fn new(prefer: Vec<String>) -> DiskFormatPreference {
        DiskFormatPreference {
            prefer,
            unlisted: Unlisted::Reject,
        }
    }

    /// Sets what happens to unlisted values.
    pub fn unlisted(mut self, unlisted: Unlisted) -> DiskFormatPreference {
        self.unlisted = unlisted;
        self
    }

    /// The preference list, best first.
    pub fn prefer(&self) -> &[String] {
        &self.prefer
    }

    fn last_rank(&self) -> i64 {
        i64::try_from(self.prefer.len())
            .unwrap_or(i64::MAX)
            .saturating_add(1)
            .max(MISSING_DISKTYPE_RANK)
    }
}

impl Rule for DiskFormatPreference {
    fn name(&self) -> &str {
        "disk-format"
    }

    fn describe(&self) -> String {
        format!("disk-format prefer [{}]", list(&self.prefer))
    }

    fn evaluate(&self, candidate: &Candidate) -> Verdict {
        let value = candidate.annotation(ANNOTATION_DISKTYPE).unwrap_or("");
        if value.is_empty() {
            let rank = self.last_rank();
            return Verdict::Rank(Rank::number(rank, format!("no disktype ({rank})")));
        }
        match self.prefer.iter().position(|p| p == value) {
            Some(i) => {
                let rank = i64::try_from(i).unwrap_or(i64::MAX).saturating_add(1);
                Verdict::Rank(Rank::number(rank, format!("{value} ({rank})")))
            }
            None => match self.unlisted {
                Unlisted::Reject => Verdict::reject(format!(
                    "disktype {value:?} is not one of {}",
                    list(&self.prefer)
                )),
                Unlisted::Last => Verdict::Rank(Rank::number(
                    self.last_rank(),
                    format!("{value} (unlisted)"),
                )),
            },
        }
    }
}
