//! Hashing bytes into [`Digest`]s (feature `hash`): the one hasher of the workspace.
//!
//! Every [`Algorithm`] this crate parses can be computed, so neither [`Hasher::new`] nor
//! [`digest_of`] can fail.

use sha2::Digest as _;

use crate::{Algorithm, Digest};

/// An incremental hasher for one [`Algorithm`].
///
/// ```
/// use oci_ref::{Algorithm, Hasher, digest_of};
/// let mut h = Hasher::new(Algorithm::Sha256);
/// h.update(b"hel");
/// h.update(b"lo");
/// assert_eq!(h.finish(), digest_of(Algorithm::Sha256, b"hello"));
/// // An edge case: the digest of no bytes at all is well defined.
/// assert!(digest_of(Algorithm::Sha256, b"").as_str().starts_with("sha256:e3b0c442"));
/// ```
#[derive(Clone)]
pub struct Hasher {
    inner: Inner,
}

#[derive(Clone)]
enum Inner {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("algorithm", &self.algorithm())
            .finish_non_exhaustive()
    }
}

impl Hasher {
    /// A hasher for `algorithm`.
    pub fn new(algorithm: Algorithm) -> Hasher {
        let inner = match algorithm {
            Algorithm::Sha256 => Inner::Sha256(sha2::Sha256::new()),
            Algorithm::Sha512 => Inner::Sha512(sha2::Sha512::new()),
        };
        Hasher { inner }
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        match self.inner {
            Inner::Sha256(_) => Algorithm::Sha256,
            Inner::Sha512(_) => Algorithm::Sha512,
        }
    }

    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.inner {
            Inner::Sha256(h) => h.update(data),
            Inner::Sha512(h) => h.update(data),
        }
    }

    /// The digest of everything fed so far.
    pub fn finish(self) -> Digest {
        match self.inner {
            Inner::Sha256(h) => Digest::from_hash(Algorithm::Sha256, &h.finalize()),
            Inner::Sha512(h) => Digest::from_hash(Algorithm::Sha512, &h.finalize()),
        }
    }
}

/// The digest of `data` with `algorithm`.
pub fn digest_of(algorithm: Algorithm, data: &[u8]) -> Digest {
    let mut h = Hasher::new(algorithm);
    h.update(data);
    h.finish()
}
