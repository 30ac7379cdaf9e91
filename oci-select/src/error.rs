//! Errors: building candidates from JSON, and reading policies (presets and files).

use std::fmt;

/// Which JSON document a [`CandidateError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Document {
    /// An image index or Docker manifest list.
    Index,
    /// An image manifest.
    Manifest,
    /// An image config blob.
    Config,
}

impl fmt::Display for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Document::Index => "image index",
            Document::Manifest => "image manifest",
            Document::Config => "image config",
        })
    }
}

/// A JSON document could not be turned into candidates or manifest facts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CandidateError {
    /// The bytes are not JSON of the expected shape.
    #[error("{document} is not valid at line {line}, column {column}: {detail}")]
    Json {
        /// The document.
        document: Document,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What the JSON parser reported.
        detail: String,
    },
    /// A descriptor has no `digest`.
    #[error("{document}: `{field}` has no digest")]
    MissingDigest {
        /// The document.
        document: Document,
        /// The descriptor, e.g. `manifests[3]`.
        field: String,
    },
    /// The document is neither an index nor a manifest by content type, `mediaType` or shape.
    #[error(
        "cannot tell whether the document is an index or a manifest (content type {}, mediaType {})",
        content_type.as_deref().unwrap_or("none"),
        media_type.as_deref().unwrap_or("none")
    )]
    UnknownDocument {
        /// The response's `Content-Type`, if any.
        content_type: Option<String>,
        /// The JSON `mediaType`, if any.
        media_type: Option<String>,
    },
    /// A descriptor's `digest` is not a valid digest.
    #[error("{document}: `{field}` has an invalid digest {value:?}: {source}")]
    InvalidDigest {
        /// The document.
        document: Document,
        /// The descriptor, e.g. `manifests[3]` or `layers[0]`.
        field: String,
        /// The rejected value.
        value: String,
        /// Why it was rejected.
        source: oci_ref::Error,
    },
}

/// A download source string was not one of those Ironic's selection knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DownloadSourceError {
    /// `swift`: Ironic refuses OCI images with this download source (`InvalidParameterValue`).
    #[error("download source `swift` cannot be used with OCI images; use `local` or `http`")]
    Swift,
    /// Any other value.
    #[error("unknown download source {value:?}; expected `local` or `http`")]
    Unknown {
        /// The rejected value.
        value: String,
    },
}

/// A policy file (TOML) could not be read into a [`Policy`](crate::Policy).
///
/// Every variant carries the 1-based line and column it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyFileError {
    /// The text is not valid TOML.
    #[error("line {line}, column {column}: invalid TOML: {detail}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the TOML reader reported.
        detail: String,
    },
    /// A key that is not allowed here (a typo, or a field of another rule kind).
    #[error(
        "line {line}, column {column}: unknown key `{key}` in {context}; expected one of {allowed}"
    )]
    UnknownKey {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The key.
        key: String,
        /// Where: "the policy file" or "rule `os`".
        context: String,
        /// The keys allowed there.
        allowed: String,
    },
    /// A required key is missing.
    #[error("line {line}, column {column}: {context} needs `{key}`")]
    MissingKey {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The key.
        key: &'static str,
        /// Where, e.g. "rule `architecture`".
        context: String,
    },
    /// A value of the wrong TOML type.
    #[error("line {line}, column {column}: `{key}` must be {expected}, not {found}")]
    WrongType {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The key.
        key: String,
        /// The expected type, e.g. `a string`.
        expected: &'static str,
        /// The TOML type found.
        found: &'static str,
    },
    /// A value outside its allowed set (including an unknown rule `kind`).
    #[error(
        "line {line}, column {column}: `{key}` = {value:?} is not allowed; expected {expected}"
    )]
    InvalidValue {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The key.
        key: &'static str,
        /// The rejected value.
        value: String,
        /// What is allowed.
        expected: &'static str,
    },
    /// `download-source = "swift"` (which Ironic refuses) or another unknown source.
    #[error("line {line}, column {column}: {source}")]
    DownloadSource {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The download source problem.
        source: DownloadSourceError,
    },
    /// Two keys that exclude each other are both set, or neither of two alternatives.
    #[error("line {line}, column {column}: {problem}")]
    Conflict {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The conflict, e.g. "set either `prefer` or `download-source`, not both".
        problem: &'static str,
    },
}
