//! The error returned when a reference or digest is not valid.

use std::fmt;

/// Which part of a reference an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Part {
    /// The whole input.
    Input,
    /// The `scheme://` prefix of a URL.
    Scheme,
    /// The registry host (and port).
    Registry,
    /// The repository path.
    Repository,
    /// The tag.
    Tag,
    /// The digest.
    Digest,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Part::Input => "reference",
            Part::Scheme => "scheme",
            Part::Registry => "registry",
            Part::Repository => "repository name",
            Part::Tag => "tag",
            Part::Digest => "digest",
        })
    }
}

/// The error returned by [`Reference`](crate::Reference) and [`Digest`](crate::Digest) parsing
/// and construction.
///
/// Every variant names the offending part and says why it was rejected. The `Display` form is
/// one line meant for people, e.g. `invalid tag "a b": ...`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input was empty.
    #[error("{part} is empty")]
    Empty {
        /// The part that was empty.
        part: Part,
    },
    /// A control character, space or other whitespace appeared (these must never reach an HTTP
    /// request line).
    #[error("{part} contains {what} at byte {index}; references may not contain whitespace or control characters")]
    ForbiddenCharacter {
        /// Where it was found.
        part: Part,
        /// A description such as `a line feed (U+000A)`.
        what: String,
        /// Byte offset in the whole input.
        index: usize,
    },
    /// A part did not match its grammar.
    #[error("invalid {part} {value:?}: {reason}")]
    Invalid {
        /// The part.
        part: Part,
        /// The offending text.
        value: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// The repository name contained upper-case letters.
    #[error("invalid repository name {value:?}: repository name must be lower-case")]
    UppercaseRepository {
        /// The offending repository.
        value: String,
    },
    /// The repository path exceeded 255 characters.
    #[error("repository name {value:?} is {len} characters long; the limit is {max}")]
    NameTooLong {
        /// The offending name.
        value: String,
        /// Its length.
        len: usize,
        /// The limit, [`NAME_TOTAL_LENGTH_MAX`](crate::NAME_TOTAL_LENGTH_MAX).
        max: usize,
    },
    /// The tag exceeded 128 characters.
    #[error("invalid tag: tag longer than {max} characters (got {len})")]
    TagTooLong {
        /// Its length.
        len: usize,
        /// The limit, [`TAG_LENGTH_MAX`](crate::TAG_LENGTH_MAX).
        max: usize,
    },
    /// The digest's algorithm is valid grammar but not one this crate can verify.
    #[error("unsupported digest algorithm {algorithm:?}: only sha256 and sha512 are supported")]
    UnsupportedAlgorithm {
        /// The algorithm as written.
        algorithm: String,
    },
    /// The digest's encoded part had the wrong length for its algorithm.
    #[error("invalid digest: {algorithm} digest needs {expected} hex characters, got {actual}")]
    DigestLength {
        /// The algorithm.
        algorithm: &'static str,
        /// Required number of hex characters.
        expected: usize,
        /// Number given.
        actual: usize,
    },
    /// The URL scheme was not `oci://`.
    #[error("unsupported scheme {scheme:?}: expected oci:// or a docker-style reference without a scheme")]
    UnsupportedScheme {
        /// The scheme as written.
        scheme: String,
    },
}
