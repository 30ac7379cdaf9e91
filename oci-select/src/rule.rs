//! The [`Rule`] trait contributors implement, and what a rule answers: a [`Verdict`].

use std::cmp::Ordering;
use std::fmt;

use crate::candidate::Candidate;

/// One criterion of a [`Policy`](crate::Policy).
///
/// For each candidate a rule either rejects it (with a [`Reason`]), ranks it (with a [`Rank`],
/// lower is better), or abstains. Rules must be pure and deterministic: the same candidate must
/// always get the same verdict. The trait is object-safe; policies hold `Arc<dyn Rule>`
/// (shared, so a policy clones cheaply).
///
/// A rule that reads [`Candidate::manifest`] says so in [`Rule::needs_manifest`]; the resolver
/// then fetches that candidate's manifest before the rule is asked (see
/// [`Policy::fetch_plan`](crate::Policy::fetch_plan)). `evaluate` is never called for a
/// candidate whose manifest it needs but which has none attached.
pub trait Rule: fmt::Debug + Send + Sync {
    /// A short, stable, kebab-case name, e.g. `architecture`. Shown in explanations.
    fn name(&self) -> &str;

    /// What the rule asks for, e.g. `architecture = arm64`. Shown in explanations.
    fn describe(&self) -> String {
        self.name().to_owned()
    }

    /// Whether evaluating `candidate` reads its manifest facts. Default: no.
    fn needs_manifest(&self, candidate: &Candidate) -> bool {
        let _ = candidate;
        false
    }

    /// Whether this rule ever returns [`Verdict::Rank`]. Rules that only reject let the
    /// resolver fetch manifests lazily, best candidate first; a ranking rule that needs
    /// manifests forces every surviving candidate's manifest to be fetched. Default: `true`.
    fn ranks(&self) -> bool {
        true
    }

    /// The verdict on one candidate.
    fn evaluate(&self, candidate: &Candidate) -> Verdict;
}

/// A rule's answer for one candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The rule has no opinion; in ranking, an abstaining candidate comes after ranked ones.
    Abstain,
    /// The candidate is out.
    Reject(Reason),
    /// The candidate stays, with this key (lower is better).
    Rank(Rank),
}

impl Verdict {
    /// Shorthand for `Verdict::Reject(Reason::new(reason))`.
    pub fn reject(reason: impl Into<String>) -> Verdict {
        Verdict::Reject(Reason::new(reason))
    }
}

/// Why a rule rejected a candidate, for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    /// A reason; say what the candidate had and what was wanted, e.g.
    /// `architecture s390x is not arm64`.
    pub fn new(reason: impl Into<String>) -> Reason {
        Reason(reason.into())
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The value a rank compares by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Number(i64),
    Text(String),
}

/// An orderable ranking key: lower is better. Compares by its key only; the label is for
/// explanations.
///
/// Keys from one rule are compared with each other only. Numbers sort before texts.
#[derive(Debug, Clone)]
pub struct Rank {
    key: Key,
    descending: bool,
    label: String,
}

impl Rank {
    /// A numeric rank, lower is better, e.g. a position in a preference list.
    pub fn number(value: i64, label: impl Into<String>) -> Rank {
        Rank {
            key: Key::Number(value),
            descending: false,
            label: label.into(),
        }
    }

    /// A text rank, lexicographically smaller is better.
    pub fn text(value: impl Into<String>, label: impl Into<String>) -> Rank {
        Rank {
            key: Key::Text(value.into()),
            descending: false,
            label: label.into(),
        }
    }

    /// Reverses the order: greater is better (e.g. the newest timestamp first).
    pub fn descending(mut self) -> Rank {
        self.descending = !self.descending;
        self
    }

    /// How the rank reads in an explanation, e.g. `qcow2 (1st of 4)`.
    pub fn label(&self) -> &str {
        &self.label
    }
}

impl PartialEq for Rank {
    fn eq(&self, other: &Rank) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Rank {}

impl PartialOrd for Rank {
    fn partial_cmp(&self, other: &Rank) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Rank {
    fn cmp(&self, other: &Rank) -> Ordering {
        // Descending ranks compare before ascending ones of the same rule, which never mix in
        // practice; the order only needs to be total.
        match (self.descending, other.descending) {
            (false, false) => self.key.cmp(&other.key),
            (true, true) => other.key.cmp(&self.key),
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
        }
    }
}
