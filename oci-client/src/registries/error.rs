//! Errors of `registries.conf` loading, validation, pull-source planning and short-name
//! resolution. Every variant names the file (and the line where one is known) and what was
//! wrong.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where something was written: a configuration file and, when known, a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Origin {
    /// The file, as given to the loader (or the `origin` given to
    /// [`RegistriesConf::parse_str`](super::RegistriesConf::parse_str)).
    pub file: PathBuf,
    /// The 1-based line, when the parser reported a position.
    pub line: Option<usize>,
}

impl Origin {
    /// An origin naming `file` without a line.
    pub fn file(file: &Path) -> Origin {
        Origin {
            file: file.to_owned(),
            line: None,
        }
    }

    pub(crate) fn at(file: &Path, line: Option<usize>) -> Origin {
        Origin {
            file: file.to_owned(),
            line,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.file.display()),
            None => write!(f, "{}", self.file.display()),
        }
    }
}

/// Which field of a file a location-syntax error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Field {
    /// `[[registry]] prefix`.
    Prefix,
    /// `[[registry]] location`.
    Location,
    /// `[[registry.mirror]] location`.
    MirrorLocation,
    /// An entry of `unqualified-search-registries`.
    SearchRegistry,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Prefix => "prefix",
            Field::Location => "location",
            Field::MirrorLocation => "mirror location",
            Field::SearchRegistry => "unqualified-search-registries entry",
        })
    }
}

/// A per-registry boolean that must agree between tables sharing one location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Setting {
    /// `insecure`.
    Insecure,
    /// `blocked`.
    Blocked,
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Setting::Insecure => "insecure",
            Setting::Blocked => "blocked",
        })
    }
}

/// Why an `unqualified-search-registries` entry was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SearchRegistryProblem {
    /// The entry has a `/` path after the host: only `host[:port]` is allowed.
    #[error("a search registry is host[:port] only, without a namespace path")]
    HasPath,
    /// The entry is not a valid `host[:port]`.
    #[error("not a valid host[:port]: {0}")]
    InvalidHost(#[source] oci_ref::Error),
}

/// Why one `[aliases]` entry was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AliasReason {
    /// The name (left side) does not parse as a repository name.
    #[error("the name is not a valid short name: {0}")]
    InvalidName(#[source] oci_ref::Error),
    /// The name carries a tag or digest.
    #[error("the name must not carry a tag or digest")]
    NameHasTagOrDigest,
    /// The name starts with a registry (a first component with `.` or `:`, or `localhost`).
    #[error("the name must be a short name, without a registry")]
    NameHasRegistry,
    /// The value (right side) does not parse as a reference.
    #[error("the value is not a valid reference: {0}")]
    InvalidValue(#[source] oci_ref::Error),
    /// The value carries a tag or digest.
    #[error("the value must not carry a tag or digest")]
    ValueHasTagOrDigest,
    /// The value does not start with a registry.
    #[error("the value must be fully qualified, starting with a registry (host[:port]/...)")]
    ValueLacksRegistry,
}

/// One rejected `[aliases]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AliasProblem {
    /// The alias name (left side).
    pub name: String,
    /// The alias value (right side).
    pub value: String,
    /// The 1-based line of the value.
    pub line: Option<usize>,
    /// What was wrong.
    pub reason: AliasReason,
}

impl fmt::Display for AliasProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        write!(
            f,
            "alias {:?} = {:?}: {}",
            self.name, self.value, self.reason
        )
    }
}

/// Why rewriting a reference from a matched prefix to a location failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RewriteError {
    /// The prefix does not match the reference (see [`match_prefix`](super::match_prefix)).
    #[error("invalid prefix {prefix:?} for reference {reference:?}")]
    PrefixMismatch {
        /// The prefix.
        prefix: String,
        /// The reference, in canonical form.
        reference: String,
    },
    /// The location is empty but the prefix is not a `*.` wildcard.
    #[error(
        "invalid prefix {prefix:?} for an empty location: only *.example.com prefixes may have an empty location"
    )]
    EmptyLocation {
        /// The prefix.
        prefix: String,
    },
    /// The rewritten text is not a valid reference.
    #[error(
        "rewriting {reference:?} gives {rewritten:?}, which is not a valid reference: {source}"
    )]
    Invalid {
        /// The reference before rewriting.
        reference: String,
        /// The text after rewriting.
        rewritten: String,
        /// Why it does not parse.
        #[source]
        source: oci_ref::Error,
    },
    /// The rewritten text parses, but not to itself: normalisation would change it (for
    /// example `docker.io/image` becoming `docker.io/library/image`).
    #[error(
        "rewriting {reference:?} gives {rewritten:?}, which is not in canonical form (it means {canonical:?})"
    )]
    NotCanonical {
        /// The reference before rewriting.
        reference: String,
        /// The text after rewriting.
        rewritten: String,
        /// What that text normalises to.
        canonical: String,
    },
}

/// The error type of [`registries`](super).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An explicitly named configuration file (`--registries-conf`,
    /// `CONTAINERS_REGISTRIES_CONF`) does not exist.
    #[error("registries configuration {}: no such file", path.display())]
    NotFound {
        /// The file.
        path: PathBuf,
    },
    /// A file or drop-in directory could not be read.
    #[error("reading registries configuration {}: {source}", path.display())]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file is larger than [`MAX_CONFIG_FILE_BYTES`](super::MAX_CONFIG_FILE_BYTES).
    #[error("registries configuration {}: the file is larger than the {max}-byte limit", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit.
        max: u64,
    },
    /// A drop-in directory holds more than [`MAX_DROP_IN_FILES`](super::MAX_DROP_IN_FILES)
    /// `.conf` files.
    #[error("registries drop-in directory {}: more than {max} .conf files", path.display())]
    TooManyDropIns {
        /// The directory.
        path: PathBuf,
        /// The limit.
        max: usize,
    },
    /// A file is not UTF-8 (TOML files must be).
    #[error("registries configuration {}: not valid UTF-8 at byte {offset}", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },
    /// The file is not valid TOML, or a value has the wrong type.
    #[error("{origin}: invalid registries configuration: {message}")]
    Toml {
        /// File and line.
        origin: Origin,
        /// The 1-based column, when known.
        column: Option<usize>,
        /// The TOML parser's description.
        message: String,
    },
    /// The file uses the deprecated version 1 format.
    #[error(
        "{origin}: version 1 registries.conf ([registries.search], [registries.insecure], [registries.block]) is not supported; use the version 2 format ([[registry]] tables and unqualified-search-registries)"
    )]
    Version1 {
        /// File and line of the `[registries...]` table.
        origin: Origin,
    },
    /// The file uses both version 1 and version 2 keys.
    #[error(
        "{origin}: mixing sysregistry v1/v2 is not supported: the file has both [registries.*] (version 1) and version 2 keys"
    )]
    MixedVersions {
        /// File and line of the `[registries...]` table.
        origin: Origin,
    },
    /// A location, prefix or search registry starts with a URI scheme.
    #[error("{origin}: invalid {field} {value:?}: URI schemes are not supported")]
    UriScheme {
        /// File and line.
        origin: Origin,
        /// Which field.
        field: Field,
        /// The value as written.
        value: String,
    },
    /// A `[[registry]]` table has neither `prefix` nor `location`.
    #[error("{origin}: invalid [[registry]]: both location and prefix are unset")]
    PrefixAndLocationUnset {
        /// File and line of the table.
        origin: Origin,
    },
    /// A `[[registry]]` table has no `location` and its prefix is not a `*.` wildcard.
    #[error(
        "{origin}: invalid [[registry]] {prefix:?}: location is unset and prefix is not in the format *.example.com"
    )]
    LocationUnset {
        /// File and line of the table.
        origin: Origin,
        /// The prefix.
        prefix: String,
    },
    /// A wildcard prefix contains `/`, `:` or `@`.
    #[error(
        "{origin}: wildcarded prefix should be in the format *.example.com; prefix {prefix:?} is incorrectly formatted"
    )]
    InvalidWildcardPrefix {
        /// File and line.
        origin: Origin,
        /// The prefix.
        prefix: String,
    },
    /// `pull-from-mirror` was set on a `[[registry]]` rather than on a mirror.
    #[error("{origin}: pull-from-mirror must not be set for a non-mirror registry {prefix:?}")]
    PullFromMirrorOnRegistry {
        /// File and line.
        origin: Origin,
        /// The registry's prefix.
        prefix: String,
    },
    /// A `[[registry.mirror]]` has no location.
    #[error("{origin}: invalid [[registry.mirror]] of {prefix:?}: mirror location is unset")]
    MirrorLocationUnset {
        /// File and line of the mirror table.
        origin: Origin,
        /// The registry's prefix.
        prefix: String,
    },
    /// `mirror-by-digest-only` and a mirror's `pull-from-mirror` are both set.
    #[error(
        "{origin}: cannot set mirror usage mirror-by-digest-only for the registry ({prefix:?}) and pull-from-mirror for per-mirror ({mirror:?}) at the same time"
    )]
    MirrorUsageConflict {
        /// File and line of the mirror's `pull-from-mirror`.
        origin: Origin,
        /// The registry's prefix.
        prefix: String,
        /// The mirror's location.
        mirror: String,
    },
    /// `pull-from-mirror` is not `all`, `digest-only` or `tag-only`.
    #[error(
        "{origin}: unsupported pull-from-mirror value {value:?} for mirror {mirror:?} (expected all, digest-only or tag-only)"
    )]
    UnsupportedPullFromMirror {
        /// File and line.
        origin: Origin,
        /// The mirror's location.
        mirror: String,
        /// The value as written.
        value: String,
    },
    /// Two tables with the same location disagree on `insecure` or `blocked`.
    #[error(
        "{origin}: registry {location:?} is defined multiple times with conflicting '{setting}' setting (first defined at {first})"
    )]
    ConflictingSetting {
        /// File and line of the conflicting definition.
        origin: Origin,
        /// File and line of the first definition.
        first: Origin,
        /// The shared location (or prefix, when the location is empty).
        location: String,
        /// The setting that differs.
        setting: Setting,
    },
    /// An `unqualified-search-registries` entry is not `host[:port]`.
    #[error("{origin}: invalid unqualified-search-registries entry {value:?}: {problem}")]
    InvalidSearchRegistry {
        /// File and line.
        origin: Origin,
        /// The entry as written.
        value: String,
        /// What was wrong.
        #[source]
        problem: SearchRegistryProblem,
    },
    /// `short-name-mode` is not `enforcing`, `permissive` or `disabled`.
    #[error(
        "{origin}: invalid short-name mode {value:?} (expected enforcing, permissive or disabled)"
    )]
    InvalidShortNameMode {
        /// File and line.
        origin: Origin,
        /// The value as written.
        value: String,
    },
    /// One or more `[aliases]` entries are invalid; all of them are listed.
    #[error("{}: validating short-name aliases: {}", file.display(), join(problems))]
    InvalidAliases {
        /// The file.
        file: PathBuf,
        /// Every rejected entry, in name order.
        problems: Vec<AliasProblem>,
    },
    /// Rewriting a reference with a `[[registry]]` table's prefix and a location failed.
    #[error(
        "{origin}: [[registry]] {prefix:?} cannot rewrite {reference:?} to location {location:?}: {source}"
    )]
    Rewrite {
        /// File and line of the table.
        origin: Origin,
        /// The table's prefix.
        prefix: String,
        /// The location (the table's or a mirror's).
        location: String,
        /// The reference being rewritten.
        reference: String,
        /// What went wrong (boxed to keep [`Error`] small).
        #[source]
        source: Box<RewriteError>,
    },
    /// The reference (after rewriting) matches a `[[registry]]` table with `blocked = true`,
    /// and no unblocked source is left.
    #[error(
        "{reference} is blocked: it matches [[registry]] prefix {prefix:?} with blocked = true in {origin}"
    )]
    Blocked {
        /// The reference that would have been contacted.
        reference: String,
        /// The blocking table's prefix.
        prefix: String,
        /// File and line of the blocking table.
        origin: Origin,
    },
    /// A short name matches no alias and several search registries: refusing to guess.
    #[error("short name {name:?} is ambiguous: it did not resolve to an alias and unqualified-search-registries{} lists several candidates: {}; use a fully qualified reference or add an [aliases] entry", origin.as_ref().map(|p| format!(" (in {})", p.display())).unwrap_or_default(), candidates.join(", "))]
    AmbiguousShortName {
        /// The short name as given.
        name: String,
        /// The candidate references, in search-registry order.
        candidates: Vec<String>,
        /// The file that set `unqualified-search-registries`.
        origin: Option<PathBuf>,
    },
    /// A short name matches no alias and no search registries are configured.
    #[error("short name {name:?} did not resolve to an alias and no unqualified-search registries are defined{}", origin.as_ref().map(|p| format!(" in {}", p.display())).unwrap_or_default())]
    UnresolvedShortName {
        /// The short name as given.
        name: String,
        /// The file that (last) set `unqualified-search-registries`, if any was loaded.
        origin: Option<PathBuf>,
    },
    /// The input to short-name resolution is not a valid reference.
    #[error("invalid image name {input:?}: {source}")]
    InvalidName {
        /// The input.
        input: String,
        /// Why it does not parse.
        #[source]
        source: oci_ref::Error,
    },
}

fn join(problems: &[AliasProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
