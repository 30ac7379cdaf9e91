//! Content digests: `algorithm:encoded`, per the
//! [image-spec v1.1 descriptor digest grammar](https://github.com/opencontainers/image-spec/blob/v1.1.0/descriptor.md#digests).

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Part};

/// A digest algorithm this workspace can verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Algorithm {
    /// SHA-256, 64 lower-case hex characters. The default everywhere.
    Sha256,
    /// SHA-512, 128 lower-case hex characters.
    Sha512,
}

impl Algorithm {
    /// The name as it appears in a digest string (`sha256`).
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// Number of hex characters in an encoded digest of this algorithm.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated content digest such as `sha256:2c26b4…`.
///
/// The constructor holds the invariant: the algorithm is supported and the encoded part is
/// exactly the right number of lower-case hex characters.
///
/// ```
/// use oci_ref::{Algorithm, Digest};
/// let d: Digest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a".parse()?;
/// assert_eq!(d.algorithm(), Algorithm::Sha256);
/// assert_eq!(d.encoded().len(), 64);
/// // Grammar-valid but unsupported algorithms name themselves in the error:
/// let err = "md5:d41d8cd98f00b204e9800998ecf8427e".parse::<Digest>().unwrap_err();
/// assert!(err.to_string().contains("md5"));
/// # Ok::<(), oci_ref::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    /// The whole `algorithm:hex` string, kept so `as_str` borrows.
    text: String,
}

impl Digest {
    /// Parses `algorithm:encoded`.
    ///
    /// Grammar (image-spec v1.1):
    ///
    /// ```text
    /// digest                ::= algorithm ":" encoded
    /// algorithm             ::= algorithm-component (algorithm-separator algorithm-component)*
    /// algorithm-component   ::= [a-z0-9]+
    /// algorithm-separator   ::= [+._-]
    /// encoded               ::= [a-zA-Z0-9=_-]+
    /// ```
    ///
    /// plus the registered-algorithm rules: `sha256` is `[a-f0-9]{64}`, `sha512` is
    /// `[a-f0-9]{128}`. Any other grammar-valid algorithm is [`Error::UnsupportedAlgorithm`].
    ///
    /// # Errors
    ///
    /// [`Error::Empty`], [`Error::ForbiddenCharacter`] or [`Error::Invalid`] (part
    /// [`Part::Digest`]) when `s` does not match the grammar; [`Error::UnsupportedAlgorithm`] for a
    /// grammar-valid algorithm other than `sha256` and `sha512`; [`Error::DigestLength`] when the
    /// hex part has the wrong length for its algorithm.
    pub fn parse(s: &str) -> Result<Digest, Error> {
        parse_at(s, 0)
    }

    /// Builds a digest from an algorithm and the raw hash bytes (as produced by a hasher).
    ///
    /// Returns an error if `bytes` has the wrong length for `algorithm`.
    ///
    /// # Errors
    ///
    /// [`Error::DigestLength`] when `bytes` is not as long as `algorithm`'s hash output.
    pub fn from_bytes(algorithm: Algorithm, bytes: &[u8]) -> Result<Digest, Error> {
        if bytes.len() * 2 != algorithm.hex_len() {
            return Err(Error::DigestLength {
                algorithm: algorithm.as_str(),
                expected: algorithm.hex_len(),
                actual: bytes.len() * 2,
            });
        }
        Ok(Digest::from_hash(algorithm, bytes))
    }

    /// [`Digest::from_bytes`] for bytes whose length is known to match (a hash output).
    pub(crate) fn from_hash(algorithm: Algorithm, bytes: &[u8]) -> Digest {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = String::with_capacity(algorithm.as_str().len() + 1 + bytes.len() * 2);
        text.push_str(algorithm.as_str());
        text.push(':');
        for b in bytes {
            text.push(HEX[(b >> 4) as usize] as char);
            text.push(HEX[(b & 0xf) as usize] as char);
        }
        Digest { algorithm, text }
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The encoded (hex) part, without the `algorithm:` prefix.
    pub fn encoded(&self) -> &str {
        &self.text[self.algorithm.as_str().len() + 1..]
    }

    /// The whole digest, `algorithm:hex`.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Parses a digest that starts at byte `offset` of a larger input (for error positions).
pub(crate) fn parse_at(s: &str, offset: usize) -> Result<Digest, Error> {
    crate::grammar::reject_forbidden(s, Part::Digest, offset)?;
    if s.is_empty() {
        return Err(Error::Empty { part: Part::Digest });
    }
    let invalid = |reason| Error::Invalid {
        part: Part::Digest,
        value: s.to_owned(),
        reason,
    };
    let Some((algorithm, encoded)) = s.split_once(':') else {
        return Err(invalid(
            "expected algorithm:hex, e.g. sha256:<64 hex characters>",
        ));
    };
    if !algorithm_grammar_ok(algorithm) {
        return Err(invalid(
            "algorithm must be lower-case letters and digits, separated by one of + . _ -",
        ));
    }
    if encoded.is_empty() {
        return Err(invalid("the encoded part after ':' is empty"));
    }
    if !encoded
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'_' | b'-'))
    {
        return Err(invalid(
            "the encoded part may only contain letters, digits, '=', '_' and '-'",
        ));
    }
    let alg = match algorithm {
        "sha256" => Algorithm::Sha256,
        "sha512" => Algorithm::Sha512,
        other => {
            return Err(Error::UnsupportedAlgorithm {
                algorithm: other.to_owned(),
            });
        }
    };
    if encoded.len() != alg.hex_len() {
        return Err(Error::DigestLength {
            algorithm: alg.as_str(),
            expected: alg.hex_len(),
            actual: encoded.len(),
        });
    }
    if !encoded
        .bytes()
        .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(invalid(
            "the encoded part must be lower-case hex (0-9, a-f)",
        ));
    }
    Ok(Digest {
        algorithm: alg,
        text: s.to_owned(),
    })
}

fn algorithm_grammar_ok(alg: &str) -> bool {
    !alg.is_empty()
        && alg.split(['+', '.', '_', '-']).all(|c| {
            !c.is_empty()
                && c.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

impl FromStr for Digest {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Digest::parse(s)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.text)
    }
}

impl AsRef<str> for Digest {
    fn as_ref(&self) -> &str {
        &self.text
    }
}
