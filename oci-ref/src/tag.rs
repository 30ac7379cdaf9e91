//! [`Tag`] and [`TagOrDigest`]: what names a manifest inside a repository.
//!
//! The one tag validator of the workspace lives here: references, manifest requests, layout
//! addresses (`DIR:TAG`) and tag listings all check tags through [`Tag::parse`].

use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Part};
use crate::{DEFAULT_TAG, Digest, MAX_TAG_LENGTH, Reference};

/// A tag, valid by construction: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
///
/// The grammar is the distribution-spec's
/// ([v1.1, pulling manifests](https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#pulling-manifests)).
/// A tag can therefore never carry a `/`, `..`, `:`, `@`, white space or a line break into a
/// URL path or a file name.
///
/// ```
/// use oci_ref::{Error, Tag};
/// let t: Tag = "v1.2_rc-3".parse()?;
/// assert_eq!(t.as_str(), "v1.2_rc-3");
/// // An edge case: a leading '.' or '-' is refused, though either may follow.
/// assert!(matches!(Tag::parse(".hidden"), Err(Error::Invalid { .. })));
/// assert!(matches!(Tag::parse("v1\r\nX: y"), Err(Error::Invalid { .. })));
/// # Ok::<(), oci_ref::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(pub(crate) String);

impl Tag {
    /// Checks `s` against the tag grammar.
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] for an empty tag, [`Error::Invalid`] (part [`Part::Tag`]) for a character
    /// outside the grammar, [`Error::TagTooLong`] beyond [`MAX_TAG_LENGTH`] characters.
    pub fn parse(s: &str) -> Result<Tag, Error> {
        validate(s)?;
        Ok(Tag(s.to_owned()))
    }

    /// [`DEFAULT_TAG`], the tag implied when a reference names neither tag nor digest.
    pub fn latest() -> Tag {
        Tag(DEFAULT_TAG.to_owned())
    }

    /// The referrers fallback tag of `subject`: `<alg>-<hex>`, algorithm truncated to 32 and hex
    /// to 64 characters
    /// ([distribution-spec v1.1, referrers tag schema](https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#referrers-tag-schema)).
    ///
    /// ```
    /// use oci_ref::{Algorithm, Digest, Tag};
    /// let d = Digest::from_bytes(Algorithm::Sha512, &[0xab; 64])?;
    /// // An edge case: a sha512 digest is cut to 64 hex characters, so the tag stays valid.
    /// assert_eq!(Tag::referrers_fallback(&d).as_str(), format!("sha512-{}", "ab".repeat(32)));
    /// # Ok::<(), oci_ref::Error>(())
    /// ```
    pub fn referrers_fallback(subject: &Digest) -> Tag {
        // Algorithm names are lower-case letters and digits, the hex part lower-case hex: every
        // character is valid in a tag, and 32 + 1 + 64 is within the length limit.
        let alg: String = subject.algorithm().as_str().chars().take(32).collect();
        let enc: String = subject.encoded().chars().take(64).collect();
        Tag(format!("{alg}-{enc}"))
    }

    /// Whether the tag has the shape of a [referrers fallback tag](Self::referrers_fallback):
    /// `sha256-` or `sha512-` followed by 64 lower-case hex characters.
    ///
    /// ```
    /// use oci_ref::Tag;
    /// assert!(Tag::parse(&format!("sha256-{}", "0".repeat(64)))?.is_referrers_fallback());
    /// // An edge case: upper-case hex is not what the schema writes.
    /// assert!(!Tag::parse(&format!("sha256-{}", "A".repeat(64)))?.is_referrers_fallback());
    /// # Ok::<(), oci_ref::Error>(())
    /// ```
    pub fn is_referrers_fallback(&self) -> bool {
        let hex =
            |h: &str| h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        match self.0.split_once('-') {
            Some(("sha256" | "sha512", h)) => hex(h),
            _ => false,
        }
    }

    /// The tag text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The tag text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Tag {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Tag::parse(s)
    }
}

impl TryFrom<String> for Tag {
    type Error = Error;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        validate(&s)?;
        Ok(Tag(s))
    }
}

impl AsRef<str> for Tag {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Tag {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for Tag {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<String> for Tag {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl PartialEq<&str> for Tag {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// What names a manifest in a repository (or an OCI layout): a tag or a digest.
///
/// It is what goes after `/manifests/` in a request ([`TagOrDigest::as_str`]) and after the
/// repository or layout directory in an address (`Display`: `:tag` or `@digest`).
///
/// ```
/// use oci_ref::{Reference, TagOrDigest};
/// let t = TagOrDigest::parse("v1")?;
/// assert_eq!(t.to_string(), ":v1");
/// assert_eq!(t.as_str(), "v1");
/// // A reference with both pins its digest: the digest wins.
/// let r: Reference = "localhost:5000/app:v1@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".parse()?;
/// assert!(matches!(r.target(), TagOrDigest::Digest(_)));
/// # Ok::<(), oci_ref::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TagOrDigest {
    /// A tag.
    Tag(Tag),
    /// A digest.
    Digest(Digest),
}

impl TagOrDigest {
    /// A digest when `s` has a `:` (tags never do), else a tag.
    ///
    /// # Errors
    ///
    /// The [`Digest::parse`] error for text with a `:`, else the [`Tag::parse`] error.
    pub fn parse(s: &str) -> Result<TagOrDigest, Error> {
        if s.contains(':') {
            Digest::parse(s).map(TagOrDigest::Digest)
        } else {
            Tag::parse(s).map(TagOrDigest::Tag)
        }
    }

    /// A tag, checked against the tag grammar.
    ///
    /// # Errors
    ///
    /// As [`Tag::parse`].
    pub fn tag(s: &str) -> Result<TagOrDigest, Error> {
        Tag::parse(s).map(TagOrDigest::Tag)
    }

    /// The bare text: the tag, or `algorithm:hex`.
    pub fn as_str(&self) -> &str {
        match self {
            TagOrDigest::Tag(t) => t.as_str(),
            TagOrDigest::Digest(d) => d.as_str(),
        }
    }

    /// The tag, if this is one.
    pub fn as_tag(&self) -> Option<&Tag> {
        match self {
            TagOrDigest::Tag(t) => Some(t),
            TagOrDigest::Digest(_) => None,
        }
    }

    /// The digest, if this is one.
    pub fn as_digest(&self) -> Option<&Digest> {
        match self {
            TagOrDigest::Tag(_) => None,
            TagOrDigest::Digest(d) => Some(d),
        }
    }
}

impl fmt::Display for TagOrDigest {
    /// `:tag` or `@digest`, as the part follows a repository or a layout directory.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TagOrDigest::Tag(t) => write!(f, ":{t}"),
            TagOrDigest::Digest(d) => write!(f, "@{d}"),
        }
    }
}

impl From<Tag> for TagOrDigest {
    fn from(t: Tag) -> Self {
        TagOrDigest::Tag(t)
    }
}

impl From<Digest> for TagOrDigest {
    fn from(d: Digest) -> Self {
        TagOrDigest::Digest(d)
    }
}

impl From<&Digest> for TagOrDigest {
    fn from(d: &Digest) -> Self {
        TagOrDigest::Digest(d.clone())
    }
}

impl From<&Reference> for TagOrDigest {
    /// [`Reference::target`].
    fn from(r: &Reference) -> Self {
        r.target()
    }
}

/// The tag grammar `[\w][\w.-]{0,127}`: the one tag validator.
pub(crate) fn validate(tag: &str) -> Result<(), Error> {
    if tag.is_empty() {
        return Err(Error::Empty { part: Part::Tag });
    }
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let b = tag.as_bytes();
    if !word(b[0]) {
        return Err(Error::Invalid {
            part: Part::Tag,
            value: tag.to_owned(),
            reason: "a tag must start with a letter, digit or '_'",
        });
    }
    if !b.iter().all(|&c| word(c) || c == b'.' || c == b'-') {
        return Err(Error::Invalid {
            part: Part::Tag,
            value: tag.to_owned(),
            reason: "a tag may only contain letters, digits, '_', '.' and '-'",
        });
    }
    if tag.len() > MAX_TAG_LENGTH {
        return Err(Error::TagTooLong {
            len: tag.len(),
            max: MAX_TAG_LENGTH,
        });
    }
    Ok(())
}
