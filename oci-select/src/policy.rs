//! [`Policy`]: an ordered list of rules, its presets, and the selection algorithm
//! ([`Policy::explain`], [`Policy::fetch_plan`], [`Policy::select`]).

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::candidate::{ANNOTATION_DISKTYPE, Candidate};
use crate::error::DownloadSourceError;
use crate::explain::{CandidateReport, Explanation, RankReport, VerdictKind};
use crate::format::DiskFormat;
use crate::rule::{Rank, Reason, Rule, Verdict};
use crate::rules::{Architecture, DiskFormatPreference, Os, SingleLayer, Variant};

/// Where the deployed machine gets the image from, which decides Ironic's disk-format
/// preference (`[agent]image_download_source` / `instance_info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DownloadSource {
    /// The conductor downloads and converts: qcow2 preferred.
    Local,
    /// The agent streams the blob itself: raw preferred.
    Http,
}

impl DownloadSource {
    /// `local` or `http`.
    pub fn as_str(self) -> &'static str {
        match self {
            DownloadSource::Local => "local",
            DownloadSource::Http => "http",
        }
    }
}

impl fmt::Display for DownloadSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DownloadSource {
    type Err = DownloadSourceError;

    /// Accepts exactly `local` and `http`. `swift` is a distinct error because Ironic refuses
    /// it for OCI images; anything else is unknown (Ironic would silently use the `http` table).
    fn from_str(s: &str) -> Result<DownloadSource, DownloadSourceError> {
        match s {
            "local" => Ok(DownloadSource::Local),
            "http" => Ok(DownloadSource::Http),
            "swift" => Err(DownloadSourceError::Swift),
            other => Err(DownloadSourceError::Unknown {
                value: other.to_owned(),
            }),
        }
    }
}

/// Which candidates' manifests the resolver should fetch before selection can finish.
///
/// Indices are into the candidate slice given to [`Policy::fetch_plan`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FetchPlan {
    /// Needed now: selection cannot decide without these. Fetch them (concurrently), attach
    /// with [`Candidate::attach_manifest`], and ask again until this is empty.
    pub required: Vec<usize>,
    /// Possibly needed later, best first: the candidates that would be asked about if the
    /// required ones are rejected. A resolver may fetch some of them together with `required`
    /// to save round trips, at the cost of possibly unneeded requests.
    pub speculative: Vec<usize>,
}

impl FetchPlan {
    /// True when selection can decide with what is attached.
    pub fn is_complete(&self) -> bool {
        self.required.is_empty()
    }
}

/// The chosen candidate and why.
#[derive(Debug, Clone)]
pub struct Selection<'a> {
    /// The winner.
    pub candidate: &'a Candidate,
    /// Index of the winner in the candidate slice.
    pub index: usize,
    /// Every candidate's fate.
    pub explanation: Explanation,
}

/// Selection could not choose.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SelectError {
    /// There were no candidates (an empty index; Ironic: `InvalidImageRef`).
    #[error("the index lists no manifests")]
    NoCandidates,
    /// Every candidate was rejected; the explanation says by which rule and why.
    #[error("no candidate matches the policy: {}", summary(explanation))]
    NoMatch {
        /// Every candidate's fate.
        explanation: Box<Explanation>,
    },
    /// Manifests must be fetched first (see [`Policy::fetch_plan`]).
    #[error("selection needs the manifests of candidates {indices:?}")]
    ManifestsNeeded {
        /// Indices into the candidate slice.
        indices: Vec<usize>,
    },
}

fn summary(explanation: &Explanation) -> String {
    explanation
        .candidates
        .iter()
        .map(|c| format!("{} {}", c.digest, c.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

/// An ordered list of [`Rule`]s.
///
/// Selection: every rule is asked about every candidate; a rejection by any rule removes the
/// candidate. The rest are sorted by their rank keys, compared rule by rule in policy order
/// (an abstention sorts after any rank), ties broken by index position. The first is the winner.
/// This is exactly Ironic's filter, stable sort and walk, because a filter applied during the
/// walk picks the same first survivor as one applied before sorting.
#[derive(Debug, Default, Clone)]
pub struct Policy {
    rules: Vec<Arc<dyn Rule>>,
}

/// One candidate's evaluation.
enum State {
    Rejected {
        rule: usize,
        reason: Reason,
    },
    Alive {
        keys: Vec<Option<Rank>>,
        deferred: Vec<usize>,
    },
}

impl Policy {
    /// An empty policy: the first candidate wins.
    pub fn new() -> Policy {
        Policy::default()
    }

    /// Appends a rule (builder form).
    pub fn with(mut self, rule: impl Rule + 'static) -> Policy {
        self.rules.push(Arc::new(rule));
        self
    }

    /// Appends a boxed rule.
    pub fn push(&mut self, rule: Box<dyn Rule>) {
        self.rules.push(Arc::from(rule));
    }

    /// Appends every rule of `other` (e.g. a policy file's rules after a preset's).
    pub fn extend(mut self, other: Policy) -> Policy {
        self.rules.extend(other.rules);
        self
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[Arc<dyn Rule>] {
        &self.rules
    }

    /// Whether a rule named `name` (see [`Rule::name`]) is in the policy.
    pub fn has_rule(&self, name: &str) -> bool {
        self.rules.iter().any(|r| r.name() == name)
    }

    /// This policy without the rules named `name` (rules are shared, not copied).
    pub fn without(&self, name: &str) -> Policy {
        Policy {
            rules: self
                .rules
                .iter()
                .filter(|r| r.name() != name)
                .cloned()
                .collect(),
        }
    }

    /// Ironic's `identify_specific_image` for a tag, as rules:
    ///
    /// 1. [`Architecture::ironic`] if `cpu_arch` is given and non-empty (Ironic's alias sets,
    ///    entries without an architecture pass, os/variant ignored);
    /// 2. [`DiskFormatPreference::ironic`] for the download source;
    /// 3. [`SingleLayer::ironic`]: multi-layer entries are skipped unless they are container
    ///    images (no `disktype`, not an OCI artifact).
    pub fn ironic(download_source: DownloadSource, cpu_arch: Option<&str>) -> Policy {
        let mut policy = Policy::new();
        if let Some(arch) = cpu_arch.filter(|a| !a.is_empty()) {
            policy = policy.with(Architecture::ironic(arch));
        }
        policy
            .with(DiskFormatPreference::ironic(download_source))
            .with(SingleLayer::ironic())
    }

    /// A containerd-like platform match: [`Os`] and [`Architecture`] (extended aliases) must
    /// match where declared, and with a `variant`, [`Variant`] prefers it (for `arm`, lower
    /// variants are accepted after it). Entries without a platform pass, as in containerd.
    pub fn platform(os: &str, architecture: &str, variant: Option<&str>) -> Policy {
        let policy = Policy::new()
            .with(Os::new(os))
            .with(Architecture::new(architecture));
        match variant.filter(|v| !v.is_empty()) {
            Some(v) => policy.with(Variant::new(v)),
            None => policy,
        }
    }

    fn evaluate(&self, candidate: &Candidate) -> State {
        let mut keys = Vec::with_capacity(self.rules.len());
        let mut deferred = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            if candidate.manifest().is_none() && rule.needs_manifest(candidate) {
                deferred.push(i);
                keys.push(None);
                continue;
            }
            match rule.evaluate(candidate) {
                Verdict::Abstain => keys.push(None),
                Verdict::Rank(rank) => keys.push(Some(rank)),
                Verdict::Reject(reason) => return State::Rejected { rule: i, reason },
            }
        }
        State::Alive { keys, deferred }
    }

    /// Evaluates every candidate; returns the states and the alive indices in preference order.
    fn run(&self, candidates: &[Candidate]) -> (Vec<State>, Vec<usize>) {
        let states: Vec<State> = candidates.iter().map(|c| self.evaluate(c)).collect();
        let mut alive: Vec<usize> = states
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s, State::Alive { .. }))
            .map(|(i, _)| i)
            .collect();
        alive.sort_by(|&a, &b| {
            let ka = keys_of(&states[a]);
            let kb = keys_of(&states[b]);
            compare_keys(ka, kb)
                .then_with(|| candidates[a].position().cmp(&candidates[b].position()))
                .then_with(|| a.cmp(&b))
        });
        (states, alive)
    }

    fn unknown_ranking(&self, state: &State) -> bool {
        match state {
            State::Alive { deferred, .. } => deferred.iter().any(|&r| self.rules[r].ranks()),
            State::Rejected { .. } => false,
        }
    }

    /// Which manifests must be fetched before [`Policy::select`] can decide.
    ///
    /// Rules that only filter are asked lazily, best candidate first, as Ironic walks its
    /// sorted list: only the best remaining candidate whose manifest is needed is `required`.
    /// If a rule that ranks needs manifests, every surviving candidate's manifest is required,
    /// since the order cannot be known without them.
    pub fn fetch_plan(&self, candidates: &[Candidate]) -> FetchPlan {
        let (states, alive) = self.run(candidates);
        let is_pending =
            |i: usize| matches!(&states[i], State::Alive { deferred, .. } if !deferred.is_empty());
        let pending: Vec<usize> = alive.iter().copied().filter(|&i| is_pending(i)).collect();
        let (ranking, rest): (Vec<usize>, Vec<usize>) = pending
            .iter()
            .partition(|&&i| self.unknown_ranking(&states[i]));
        if !ranking.is_empty() {
            return FetchPlan {
                required: ranking,
                speculative: rest,
            };
        }
        // Walk in preference order: the best candidate decides if its facts are complete;
        // otherwise its manifest is the one needed.
        match alive.first() {
            Some(&best) if is_pending(best) => FetchPlan {
                required: vec![best],
                speculative: pending.into_iter().skip(1).collect(),
            },
            _ => FetchPlan::default(),
        }
    }

    /// The fate of every candidate. Candidates whose manifest a rule still needs are reported
    /// as [`VerdictKind::Pending`] when they could still change the outcome; a winner is named
    /// only when it is certain.
    pub fn explain(&self, candidates: &[Candidate]) -> Explanation {
        let (states, alive) = self.run(candidates);
        let plan_incomplete = alive.iter().any(|&i| self.unknown_ranking(&states[i]));
        let mut winner = None;
        let mut undecided = plan_incomplete;
        if let (false, Some(&i)) = (plan_incomplete, alive.first()) {
            match &states[i] {
                State::Alive { deferred, .. } if deferred.is_empty() => winner = Some(i),
                _ => undecided = true,
            }
        }
        let mut places = vec![None; candidates.len()];
        for (p, &i) in alive.iter().enumerate() {
            places[i] = Some(p + 1);
        }
        let reports = candidates
            .iter()
            .enumerate()
            .map(|(i, c)| self.report(i, c, &states[i], places[i], winner, undecided))
            .collect();
        Explanation {
            policy: self.rules.iter().map(|r| r.describe()).collect(),
            candidates: reports,
            winner,
        }
    }

    fn report(
        &self,
        index: usize,
        candidate: &Candidate,
        state: &State,
        place: Option<usize>,
        winner: Option<usize>,
        undecided: bool,
    ) -> CandidateReport {
        let (verdict, reason, rule, ranks) = match state {
            State::Rejected { rule, reason } => {
                let name = self.rules[*rule].name().to_owned();
                (
                    VerdictKind::Rejected,
                    format!("{name}: {reason}"),
                    Some(name),
                    Vec::new(),
                )
            }
            State::Alive { keys, deferred } => {
                let ranks: Vec<RankReport> = keys
                    .iter()
                    .enumerate()
                    .filter_map(|(r, k)| {
                        k.as_ref().map(|k| RankReport {
                            rule: self.rules[r].name().to_owned(),
                            label: k.label().to_owned(),
                        })
                    })
                    .collect();
                let ranked = ranks
                    .iter()
                    .map(|r| format!("{} {}", r.rule, r.label))
                    .collect::<Vec<_>>()
                    .join(", ");
                let place_text = place.map(|p| format!("#{p}")).unwrap_or_default();
                let by = if ranked.is_empty() {
                    "index order".to_owned()
                } else {
                    ranked
                };
                if undecided && !deferred.is_empty() {
                    let names: Vec<&str> = deferred.iter().map(|&r| self.rules[r].name()).collect();
                    (
                        VerdictKind::Pending,
                        format!(
                            "{place_text} by {by}; manifest needed by {}",
                            names.join(", ")
                        ),
                        names.first().map(|n| (*n).to_owned()),
                        ranks,
                    )
                } else if winner == Some(index) {
                    (
                        VerdictKind::Selected,
                        format!("{place_text} by {by}"),
                        None,
                        ranks,
                    )
                } else {
                    let mut reason = format!("{place_text} by {by}");
                    if !deferred.is_empty() {
                        reason.push_str("; manifest not fetched (not needed)");
                    }
                    (VerdictKind::Ranked, reason, None, ranks)
                }
            }
        };
        CandidateReport {
            index,
            position: candidate.position(),
            digest: candidate.digest().to_string(),
            platform: candidate
                .platform()
                .map(|p| p.summary())
                .unwrap_or_else(|| "-".to_owned()),
            disktype: candidate.annotation(ANNOTATION_DISKTYPE).map(str::to_owned),
            disk_format: DiskFormat::of(candidate),
            verdict,
            reason,
            rule,
            place: match verdict {
                VerdictKind::Rejected => None,
                _ => place,
            },
            ranks,
        }
    }

    /// Chooses one candidate.
    ///
    /// # Errors
    ///
    /// [`SelectError::NoCandidates`] for an empty slice, [`SelectError::ManifestsNeeded`] while
    /// [`Policy::fetch_plan`] is not complete, and [`SelectError::NoMatch`] (with the full
    /// explanation) when every candidate is rejected.
    pub fn select<'a>(&self, candidates: &'a [Candidate]) -> Result<Selection<'a>, SelectError> {
        if candidates.is_empty() {
            return Err(SelectError::NoCandidates);
        }
        let plan = self.fetch_plan(candidates);
        if !plan.is_complete() {
            return Err(SelectError::ManifestsNeeded {
                indices: plan.required,
            });
        }
        let explanation = self.explain(candidates);
        match explanation
            .winner
            .and_then(|i| candidates.get(i).map(|c| (i, c)))
        {
            Some((index, candidate)) => Ok(Selection {
                candidate,
                index,
                explanation,
            }),
            None => Err(SelectError::NoMatch {
                explanation: Box::new(explanation),
            }),
        }
    }
}

fn keys_of(state: &State) -> &[Option<Rank>] {
    match state {
        State::Alive { keys, .. } => keys,
        State::Rejected { .. } => &[],
    }
}

/// Rule by rule: a rank beats an abstention; two ranks compare; two abstentions tie.
fn compare_keys(a: &[Option<Rank>], b: &[Option<Rank>]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let o = match (x, y) {
            (Some(x), Some(y)) => x.cmp(y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}
