//! Incremental hashing into [`oci_ref::Digest`]s.

use oci_ref::{Algorithm, Digest};
use sha2::Digest as _;

/// An incremental hasher for one of the algorithms [`oci_ref`] supports.
#[derive(Debug, Clone)]
pub struct Hasher {
    inner: Inner,
}

#[derive(Debug, Clone)]
enum Inner {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Hasher {
    /// A hasher for `algorithm`; `None` for an algorithm added to [`Algorithm`] later.
    pub fn new(algorithm: Algorithm) -> Option<Hasher> {
        let inner = match algorithm {
            Algorithm::Sha256 => Inner::Sha256(sha2::Sha256::new()),
            Algorithm::Sha512 => Inner::Sha512(sha2::Sha512::new()),
            _ => return None,
        };
        Some(Hasher { inner })
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
        let (alg, bytes) = match self.inner {
            Inner::Sha256(h) => (Algorithm::Sha256, h.finalize().to_vec()),
            Inner::Sha512(h) => (Algorithm::Sha512, h.finalize().to_vec()),
        };
        // Invariant, not input: a hash output always has its algorithm's length.
        Digest::from_bytes(alg, &bytes).expect("hash output length matches its algorithm")
    }
}

/// The digest of `data` with `algorithm` (SHA-256 for algorithms we cannot compute).
pub fn digest_of(algorithm: Algorithm, data: &[u8]) -> Digest {
    let mut h = Hasher::new(algorithm).unwrap_or_else(|| Hasher {
        inner: Inner::Sha256(sha2::Sha256::new()),
    });
    h.update(data);
    h.finish()
}
