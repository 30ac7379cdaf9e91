//! Layout addresses in the `oras --oci-layout` style: `DIR`, `DIR:TAG`, `DIR@sha256:…`.
//!
//! Grammar, applied right to left:
//!
//! ```text
//! address ::= dir "@" digest     (the part after the last "@" parses as a digest)
//!           | dir ":" tag        (the part after the last ":" has no "/")
//!           | dir
//! tag     ::= [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
//! ```
//!
//! So `./out:v1` is directory `./out`, tag `v1`; `/tmp/a:b/c` is the directory `/tmp/a:b/c`;
//! `dir@sha256:<hex>` pins a digest. A part after `@` that contains `:` but is not a valid
//! digest is an error rather than a directory name, so a mistyped digest is never silently
//! taken as a path.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use oci_ref::{Digest, Tag, TagOrDigest};

/// A parsed layout address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutAddress {
    /// The layout directory.
    pub dir: PathBuf,
    /// The tag or digest, if one was given.
    pub target: Option<TagOrDigest>,
}

impl fmt::Display for LayoutAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.dir.display())?;
        if let Some(t) = &self.target {
            write!(f, "{t}")?;
        }
        Ok(())
    }
}

/// Why a layout address does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    /// No directory before the tag or digest.
    #[error("layout address {input:?} has no directory")]
    EmptyDir {
        /// The input.
        input: String,
    },
    /// The tag is not `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
    #[error("layout address {input:?}: invalid tag {tag:?}: {source}")]
    InvalidTag {
        /// The input.
        input: String,
        /// The tag part.
        tag: String,
        /// Why ([`oci_ref::Tag::parse`]).
        #[source]
        source: oci_ref::Error,
    },
    /// The part after `@` is not a valid digest.
    #[error("layout address {input:?}: invalid digest {digest:?}: {source}")]
    InvalidDigest {
        /// The input.
        input: String,
        /// The digest part.
        digest: String,
        /// Why.
        #[source]
        source: oci_ref::Error,
    },
}

/// Parses `DIR`, `DIR:TAG` or `DIR@DIGEST`.
///
/// # Errors
///
/// [`AddressError`]: no directory, a tag outside the tag grammar, or an invalid digest after `@`.
pub fn parse_layout_address(input: &str) -> Result<LayoutAddress, AddressError> {
    let empty = || AddressError::EmptyDir {
        input: input.to_owned(),
    };
    if let Some((dir, digest)) = input.rsplit_once('@')
        && digest.contains(':')
    {
        let d = Digest::parse(digest).map_err(|source| AddressError::InvalidDigest {
            input: input.to_owned(),
            digest: digest.to_owned(),
            source,
        })?;
        if dir.is_empty() {
            return Err(empty());
        }
        return Ok(LayoutAddress {
            dir: PathBuf::from(dir),
            target: Some(TagOrDigest::Digest(d)),
        });
    }
    if let Some((dir, tag)) = input.rsplit_once(':')
        && !tag.contains('/')
    {
        let tag = Tag::parse(tag).map_err(|source| AddressError::InvalidTag {
            input: input.to_owned(),
            tag: tag.to_owned(),
            source,
        })?;
        if dir.is_empty() {
            return Err(empty());
        }
        return Ok(LayoutAddress {
            dir: PathBuf::from(dir),
            target: Some(TagOrDigest::Tag(tag)),
        });
    }
    if input.is_empty() {
        return Err(empty());
    }
    Ok(LayoutAddress {
        dir: PathBuf::from(input),
        target: None,
    })
}

impl FromStr for LayoutAddress {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_layout_address(s)
    }
}
