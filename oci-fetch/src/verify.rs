//! Sans-IO verification of a blob's bytes against its descriptor: digest and size in one pass.
//!
//! A [`Verifier`] is fed byte slices in order. It hashes them with the descriptor digest's
//! algorithm and enforces the descriptor size: the first byte beyond the size is an error at once
//! (the excess is never hashed), and [`Verifier::finish`] rejects a short stream before comparing
//! digests — the order the
//! [image-spec v1.1 descriptor rules](https://github.com/opencontainers/image-spec/blob/v1.1.0/descriptor.md#digests)
//! ask for ("check the size first, then the hash").
//!
//! No IO and no async types: the download engine, the OCI layout store and tests all drive the
//! same code. Resuming is supported in two ways: [`Verifier::checkpoint`] / [`Verifier::restore`]
//! keep the hasher state in memory (a dropped connection within one process), and a fresh
//! verifier fed the bytes of a kept partial file re-hashes the prefix (after a process restart).

use oci_ref::{Digest, Hasher};

/// Why bytes did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// More bytes arrived than the descriptor's size.
    #[error("{digest}: more than the expected {expected} bytes arrived (at least {at_least})")]
    TooLong {
        /// The expected digest.
        digest: Digest,
        /// The descriptor's size.
        expected: u64,
        /// How many bytes had arrived when the excess was seen.
        at_least: u64,
    },
    /// The stream ended before the descriptor's size.
    #[error("{digest}: stream ended after {actual} of the expected {expected} bytes")]
    TooShort {
        /// The expected digest.
        digest: Digest,
        /// The descriptor's size.
        expected: u64,
        /// How many bytes arrived.
        actual: u64,
    },
    /// The size matched but the content hashes to another digest.
    #[error("digest mismatch: expected {expected}, content hashes to {actual}")]
    DigestMismatch {
        /// The expected digest.
        expected: Digest,
        /// The digest of the bytes that arrived.
        actual: Digest,
    },
}

/// Checks bytes against an expected digest and size as they arrive.
///
/// ```
/// use oci_fetch::verify::{Verifier, VerifyError};
/// let digest = oci_ref::digest_of(oci_ref::Algorithm::Sha256, b"hello");
/// let mut v = Verifier::new(digest.clone(), 5);
/// v.update(b"hel")?;
/// v.update(b"lo")?;
/// v.finish()?;
///
/// // One byte too many is refused at once, before it is hashed.
/// let mut v = Verifier::new(digest, 5);
/// assert!(matches!(v.update(b"hello!"), Err(VerifyError::TooLong { .. })));
/// # Ok::<(), VerifyError>(())
/// ```
#[derive(Clone)]
pub struct Verifier {
    expected: Digest,
    size: u64,
    hasher: Hasher,
    seen: u64,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("expected", &self.expected)
            .field("size", &self.size)
            .field("seen", &self.seen)
            .finish_non_exhaustive()
    }
}

/// A saved verifier state (hasher and position), to continue after a resumed transfer.
#[derive(Clone)]
pub struct Checkpoint {
    hasher: Hasher,
    seen: u64,
}

impl std::fmt::Debug for Checkpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkpoint")
            .field("position", &self.seen)
            .finish_non_exhaustive()
    }
}

impl Checkpoint {
    /// How many bytes the saved state has hashed.
    pub fn position(&self) -> u64 {
        self.seen
    }
}

impl Verifier {
    /// A verifier expecting exactly `size` bytes hashing to `expected`.
    pub fn new(expected: Digest, size: u64) -> Verifier {
        Verifier {
            hasher: Hasher::new(expected.algorithm()),
            expected,
            size,
            seen: 0,
        }
    }

    /// The expected digest.
    pub fn expected(&self) -> &Digest {
        &self.expected
    }

    /// The expected size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// How many bytes have been accepted so far.
    pub fn position(&self) -> u64 {
        self.seen
    }

    /// How many bytes are still expected.
    pub fn remaining(&self) -> u64 {
        self.size - self.seen
    }

    /// Feeds the next bytes. A chunk that would go past the expected size is refused whole and
    /// nothing of it is hashed; the verifier is left as it was.
    ///
    /// # Errors
    ///
    /// [`VerifyError::TooLong`] when the chunk would take the content past the expected size.
    pub fn update(&mut self, chunk: &[u8]) -> Result<(), VerifyError> {
        let len = chunk.len() as u64;
        if len > self.remaining() {
            return Err(VerifyError::TooLong {
                digest: self.expected.clone(),
                expected: self.size,
                at_least: self.seen.saturating_add(len),
            });
        }
        self.hasher.update(chunk);
        self.seen += len;
        Ok(())
    }

    /// Saves the current state.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            hasher: self.hasher.clone(),
            seen: self.seen,
        }
    }

    /// Returns to a saved state (taken from this verifier or a clone of it).
    pub fn restore(&mut self, checkpoint: Checkpoint) {
        self.hasher = checkpoint.hasher;
        self.seen = checkpoint.seen;
    }

    /// Forgets every byte seen: for a source that restarted from offset 0.
    pub fn reset(&mut self) {
        self.hasher = Hasher::new(self.expected.algorithm());
        self.seen = 0;
    }

    /// Checks the size, then the digest.
    ///
    /// # Errors
    ///
    /// [`VerifyError::TooShort`] when fewer bytes than expected were fed,
    /// [`VerifyError::DigestMismatch`] when they do not hash to the expected digest.
    pub fn finish(self) -> Result<(), VerifyError> {
        if self.seen != self.size {
            return Err(VerifyError::TooShort {
                digest: self.expected,
                expected: self.size,
                actual: self.seen,
            });
        }
        let actual = self.hasher.finish();
        if actual == self.expected {
            Ok(())
        } else {
            Err(VerifyError::DigestMismatch {
                expected: self.expected,
                actual,
            })
        }
    }
}
