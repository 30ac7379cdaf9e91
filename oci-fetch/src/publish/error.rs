//! [`PublishError`]: what can go wrong while pushing, attaching, tagging, indexing or
//! discovering.

use std::path::PathBuf;

/// An error from [`crate::publish`].
///
/// [`PublishError::is_usage`] tells bad input (a wrong argument, a missing file) from a failed
/// operation (the registry, the network).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// A tag or an option combination given to a publishing operation is not valid.
    #[error("invalid {what} {input:?}: {reason}")]
    InvalidArgument {
        /// Which kind of argument (`annotation`, `platform`…).
        what: &'static str,
        /// The argument as given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A local file could not be read.
    #[error("cannot read {path}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// A local file could not be written (`--export-manifest`).
    #[error("cannot write {path}")]
    WriteFile {
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The annotation file is not the `{"$manifest": {..}, "<file>": {..}}` JSON shape.
    #[error("annotation file {path}: {reason}")]
    AnnotationFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A key of the annotation file names no file being pushed (nor `$manifest`/`$config`).
    #[error("annotation file key {key:?} names no file being pushed")]
    AnnotationFileKey {
        /// The key.
        key: String,
    },
    /// Two files would get the same `org.opencontainers.image.title`.
    #[error("duplicate file name {name:?}: titles must be unique within an artifact")]
    DuplicateTitle {
        /// The file name.
        name: String,
    },
    /// A file name is not valid UTF-8, so it cannot be a title annotation.
    #[error("file name of {path} is not UTF-8")]
    NonUtf8Name {
        /// The file.
        path: PathBuf,
    },
    /// A manifest read from the registry is not the JSON expected.
    #[error("manifest {digest} is not a valid {expected}")]
    InvalidManifest {
        /// Its digest.
        digest: oci_ref::Digest,
        /// What it should have been.
        expected: &'static str,
    },
    /// A document to write could not be serialised (a bug, never bad input).
    #[error("cannot serialise a document to write")]
    Encode(#[source] serde_json::Error),
    /// `discover` met more referrers than [`super::discover::MAX_DISCOVER_NODES`].
    #[error("more than {limit} referrers in the tree; narrow the walk by depth or artifact type")]
    TooManyReferrers {
        /// The limit.
        limit: usize,
    },
    /// The registry or the network failed.
    #[error(transparent)]
    Registry(Box<dyn std::error::Error + Send + Sync>),
    /// Reading or writing the OCI layout failed.
    #[error(transparent)]
    Layout(Box<crate::layout::LayoutError>),
}

impl PublishError {
    /// Whether the caller's input was wrong (rather than the operation failing).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            PublishError::InvalidArgument { .. }
                | PublishError::ReadFile { .. }
                | PublishError::AnnotationFile { .. }
                | PublishError::AnnotationFileKey { .. }
                | PublishError::DuplicateTitle { .. }
                | PublishError::NonUtf8Name { .. }
        )
    }

    pub(crate) fn invalid(what: &'static str, input: &str, reason: &'static str) -> PublishError {
        PublishError::InvalidArgument {
            what,
            input: input.to_owned(),
            reason,
        }
    }
}

impl From<crate::layout::LayoutError> for PublishError {
    fn from(e: crate::layout::LayoutError) -> Self {
        PublishError::Layout(Box::new(e))
    }
}

impl From<oci_client::Error> for PublishError {
    fn from(e: oci_client::Error) -> Self {
        PublishError::Registry(Box::new(e))
    }
}
