//! The error returned when a reference or digest is not valid.

use std::fmt;

/// Describes a forbidden character for an error message.
fn describe_char(c: char) -> String {
    match c {
        '\n' => "a line feed (U+000A)".to_owned(),
        '\r' => "a carriage return (U+000D)".to_owned(),
        '\t' => "a tab (U+0009)".to_owned(),
        ' ' => "a space".to_owned(),
        c => format!("the character U+{:04X}", u32::from(c)),
    }
}

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
    /// A platform, `OS/ARCH[/VARIANT]` ([`Platform`](crate::model::Platform)).
    Platform,
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
            Part::Platform => "platform",
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
    #[error(
        "{part} contains {} at byte {index}; references may not contain whitespace or control characters",
        describe_char(*.character)
    )]
    ForbiddenCharacter {
        /// Where it was found.
        part: Part,
        /// The character, e.g. `'\n'`.
        character: char,
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
        /// The limit, [`MAX_NAME_TOTAL_LENGTH`](crate::MAX_NAME_TOTAL_LENGTH).
        max: usize,
    },
    /// The tag exceeded 128 characters.
    #[error("invalid tag: tag longer than {max} characters (got {len})")]
    TagTooLong {
        /// Its length.
        len: usize,
        /// The limit, [`MAX_TAG_LENGTH`](crate::MAX_TAG_LENGTH).
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
    /// An `oci://` URL carried `user[:password]@` before the host. Neither the user nor the
    /// password is kept in the error.
    #[error(
        "credentials do not belong in a reference: remove everything up to the @ before the host {host:?} and use a credential file"
    )]
    CredentialsInUrl {
        /// The text after the `@` (the host as written).
        host: String,
    },
    /// A URL was expected (e.g. by [`Reference::parse_oci_url`](crate::Reference::parse_oci_url))
    /// but the input has no `scheme://`.
    #[error("expected a URL starting with oci://")]
    MissingScheme,
    /// A reference was built from parts with neither a tag nor a digest.
    #[error("a reference needs a tag or a digest")]
    MissingTagOrDigest,
    /// The URL scheme was not `oci://`.
    #[error(
        "unsupported scheme {scheme:?}: expected oci:// or a docker-style reference without a scheme"
    )]
    UnsupportedScheme {
        /// The scheme as written.
        scheme: String,
    },
}

impl Error {
    /// The part of the reference the error is about.
    pub fn part(&self) -> Part {
        match self {
            Error::Empty { part } | Error::ForbiddenCharacter { part, .. } => *part,
            Error::Invalid { part, .. } => *part,
            Error::UppercaseRepository { .. } | Error::NameTooLong { .. } => Part::Repository,
            Error::TagTooLong { .. } => Part::Tag,
            Error::UnsupportedAlgorithm { .. } | Error::DigestLength { .. } => Part::Digest,
            Error::CredentialsInUrl { .. } => Part::Registry,
            Error::MissingScheme | Error::UnsupportedScheme { .. } => Part::Scheme,
            Error::MissingTagOrDigest => Part::Tag,
        }
    }
}
