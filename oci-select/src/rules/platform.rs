//! Platform rules: [`Architecture`] (with aliases), [`Os`], [`Variant`].

use super::Missing;
use crate::candidate::Candidate;
use crate::rule::{Rank, Rule, Verdict};

/// Which architecture names are treated as the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Aliases {
    /// Ironic's two alias sets, {`x86_64`, `amd64`} and {`aarch64`, `arm64`}; every other name
    /// must match exactly.
    Ironic,
    /// [`canonical_architecture`]: Ironic's sets plus `i386`/`i686`=`386`, `armhf`/`armv7l`=
    /// `arm` variant `v7`, `ppc64el`=`ppc64le`; `s390x` and `riscv64` as themselves.
    #[default]
    Extended,
}

/// The Go (OCI) name of an architecture and the variant an alias implies:
/// `x86_64`→(`amd64`, None), `armhf`→(`arm`, Some(`v7`)). Unknown names map to themselves.
/// Names are case-sensitive, as in OCI.
pub fn canonical_architecture(name: &str) -> (&str, Option<&'static str>) {
    match name {
        "x86_64" | "x86-64" | "amd64" => ("amd64", None),
        "aarch64" | "arm64" => ("arm64", None),
        "i386" | "i686" | "386" => ("386", None),
        "armhf" | "armv7l" => ("arm", Some("v7")),
        "ppc64le" | "ppc64el" => ("ppc64le", None),
        other => (other, None),
    }
}

fn ironic_canonical(name: &str) -> &str {
    match name {
        "x86_64" | "amd64" => "amd64",
        "aarch64" | "arm64" => "arm64",
        other => other,
    }
}

/// Keeps candidates whose `platform.architecture` is the wanted one (or an alias of it).
/// Filter only.
#[derive(Debug, Clone)]
pub struct Architecture {
    wanted: String,
    aliases: Aliases,
    missing: Missing,
}

impl Architecture {
    /// The wanted architecture with [`Aliases::Extended`] and [`Missing::Pass`].
    pub fn new(wanted: impl Into<String>) -> Architecture {
        Architecture {
            wanted: wanted.into(),
            aliases: Aliases::Extended,
            missing: Missing::Pass,
        }
    }

    /// Ironic's behaviour: [`Aliases::Ironic`], entries without an architecture pass.
    pub fn ironic(wanted: impl Into<String>) -> Architecture {
        Architecture::new(wanted).aliases(Aliases::Ironic)
    }

    /// Sets the alias table.
    pub fn aliases(mut self, aliases: Aliases) -> Architecture {
        self.aliases = aliases;
        self
    }

    /// Sets what happens to entries without an architecture.
    pub fn missing(mut self, missing: Missing) -> Architecture {
        self.missing = missing;
        self
    }
}

impl Rule for Architecture {
    fn name(&self) -> &str {
        "architecture"
    }

    fn describe(&self) -> String {
        let aliases = match self.aliases {
            Aliases::Ironic => "ironic aliases",
            Aliases::Extended => "aliases",
        };
        let missing = match self.missing {
            Missing::Pass => "missing passes",
            Missing::Reject => "missing rejected",
        };
        format!("architecture = {} ({aliases}, {missing})", self.wanted)
    }

    fn ranks(&self) -> bool {
        false
    }

    fn evaluate(&self, candidate: &Candidate) -> Verdict {
        let platform = candidate.platform();
        let Some(have) = platform.and_then(|p| p.architecture.as_deref()) else {
            return match self.missing {
                Missing::Pass => Verdict::Abstain,
                Missing::Reject => Verdict::reject("no architecture declared"),
            };
        };
        let matches = match self.aliases {
            Aliases::Ironic => ironic_canonical(have) == ironic_canonical(&self.wanted),
            Aliases::Extended => {
                let (want_arch, want_variant) = canonical_architecture(&self.wanted);
                let (have_arch, alias_variant) = canonical_architecture(have);
                let have_variant = platform
                    .and_then(|p| p.variant.as_deref())
                    .or(alias_variant);
                if want_arch != have_arch {
                    false
                } else {
                    match (want_variant, have_variant) {
                        (Some(w), Some(h)) if w != h => {
                            return Verdict::reject(format!(
                                "{have} (variant {h}) is not {} (variant {w})",
                                self.wanted
                            ));
                        }
                        _ => true,
                    }
                }
            }
        };
        if matches {
            Verdict::Abstain
        } else {
            Verdict::reject(format!("{have} is not {}", self.wanted))
        }
    }
}

/// Keeps candidates whose `platform.os` equals the wanted one. Filter only.
#[derive(Debug, Clone)]
pub struct Os {
    wanted: String,
    missing: Missing,
}

impl Os {
    /// The wanted OS; entries without one pass.
    pub fn new(wanted: impl Into<String>) -> Os {
        Os {
            wanted: wanted.into(),
            missing: Missing::Pass,
        }
    }

    /// Sets what happens to entries without an OS.
    pub fn missing(mut self, missing: Missing) -> Os {
        self.missing = missing;
        self
    }
}

impl Rule for Os {
    fn name(&self) -> &str {
        "os"
    }

    fn describe(&self) -> String {
        format!("os = {}", self.wanted)
    }

    fn ranks(&self) -> bool {
        false
    }

    fn evaluate(&self, candidate: &Candidate) -> Verdict {
        match candidate.platform().and_then(|p| p.os.as_deref()) {
            Some(have) if have == self.wanted => Verdict::Abstain,
            Some(have) => Verdict::reject(format!("{have} is not {}", self.wanted)),
            None => match self.missing {
                Missing::Pass => Verdict::Abstain,
                Missing::Reject => Verdict::reject("no os declared"),
            },
        }
    }
}

/// Prefers candidates with the wanted `platform.variant`.
///
/// An exact match ranks 0. A candidate without a variant passes (rank 1) or is rejected, per
/// [`Missing`]. For `arm`, as containerd does, a lower `vN` also passes, ranked by distance
/// (`v7` wanted: `v7` then `v6` then `v5`). Any other variant is rejected.
#[derive(Debug, Clone)]
pub struct Variant {
    wanted: String,
    missing: Missing,
}

impl Variant {
    /// The wanted variant, e.g. `v8`; entries without one pass.
    pub fn new(wanted: impl Into<String>) -> Variant {
        Variant {
            wanted: wanted.into(),
            missing: Missing::Pass,
        }
    }

    /// Sets what happens to entries without a variant.
    pub fn missing(mut self, missing: Missing) -> Variant {
        self.missing = missing;
        self
    }
}

fn arm_level(variant: &str) -> Option<i64> {
    variant
        .strip_prefix('v')?
        .parse::<u32>()
        .ok()
        .map(i64::from)
}

impl Rule for Variant {
    fn name(&self) -> &str {
        "variant"
    }

    fn describe(&self) -> String {
        format!("variant = {}", self.wanted)
    }

    fn evaluate(&self, candidate: &Candidate) -> Verdict {
        let platform = candidate.platform();
        let Some(have) = platform.and_then(|p| p.variant.as_deref()) else {
            return match self.missing {
                Missing::Pass => Verdict::Rank(Rank::number(1, "no variant")),
                Missing::Reject => Verdict::reject("no variant declared"),
            };
        };
        if have == self.wanted {
            return Verdict::Rank(Rank::number(0, have));
        }
        let is_arm = platform
            .and_then(|p| p.architecture.as_deref())
            .is_some_and(|a| canonical_architecture(a).0 == "arm");
        let levels = (arm_level(&self.wanted), arm_level(have));
        if let (true, (Some(w), Some(h))) = (is_arm, levels)
            && h <= w
        {
            return Verdict::Rank(Rank::number(1 + w - h, format!("{have} (compatible)")));
        }
        Verdict::reject(format!("{have} is not {}", self.wanted))
    }
}
