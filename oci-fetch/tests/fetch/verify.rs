//! The sans-IO verifier: digest and size in one pass, checkpoints, resets.

use oci_fetch::verify::{Verifier, VerifyError};
use oci_ref::{Algorithm, digest_of};

use crate::common::{payload, sha256};

/// Feeds `data` in chunks of `chunk` and returns the result of `finish`.
fn check(
    alg: Algorithm,
    data: &[u8],
    claimed_size: u64,
    feed: &[u8],
    chunk: usize,
) -> Result<(), VerifyError> {
    let digest = digest_of(alg, data);
    let mut v = Verifier::new(digest, claimed_size);
    for c in feed.chunks(chunk.max(1)) {
        v.update(c)?;
    }
    v.finish()
}

#[test]
fn accepts_exact_bytes_in_any_chunking() {
    let data = payload(10_007);
    for alg in [Algorithm::Sha256, Algorithm::Sha512] {
        for chunk in [1, 7, 4096, 10_007, 1 << 20] {
            check(alg, &data, data.len() as u64, &data, chunk).expect("exact bytes verify");
        }
    }
}

#[test]
fn empty_blob_verifies() {
    check(Algorithm::Sha256, b"", 0, b"", 1).expect("empty blob");
}

#[test]
fn one_byte_too_many_is_refused_at_once() {
    let data = payload(100);
    let mut v = Verifier::new(sha256(&data), 100);
    v.update(&data[..99]).expect("within size");
    let err = v.update(&[0, 0]).expect_err("past the size");
    assert!(
        matches!(
            err,
            VerifyError::TooLong {
                expected: 100,
                at_least: 101,
                ..
            }
        ),
        "{err:?}"
    );
    // The refused chunk was not taken: the verifier can still finish with the right byte.
    v.update(&data[99..]).expect("last byte");
    v.finish().expect("still verifies");
}

#[test]
fn trailing_bytes_are_refused() {
    let mut data = payload(64);
    let digest = sha256(&data);
    data.push(0);
    let mut v = Verifier::new(digest, 64);
    assert!(matches!(v.update(&data), Err(VerifyError::TooLong { .. })));
}

#[test]
fn short_stream_is_refused_before_the_digest() {
    let data = payload(64);
    let err = check(Algorithm::Sha256, &data, 64, &data[..63], 8).expect_err("short");
    assert!(
        matches!(
            err,
            VerifyError::TooShort {
                expected: 64,
                actual: 63,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn flipped_byte_is_a_digest_mismatch_naming_both_digests() {
    let data = payload(64);
    let mut bad = data.clone();
    bad[10] ^= 1;
    let err = check(Algorithm::Sha256, &data, 64, &bad, 64).expect_err("flipped");
    match &err {
        VerifyError::DigestMismatch { expected, actual } => {
            assert_eq!(expected, &sha256(&data));
            assert_eq!(actual, &sha256(&bad));
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }
    assert!(err.to_string().contains(sha256(&data).as_str()));
}

#[test]
fn checkpoint_restore_and_reset() {
    let data = payload(1000);
    let mut v = Verifier::new(sha256(&data), 1000);
    v.update(&data[..400]).expect("prefix");
    let cp = v.checkpoint();
    assert_eq!(cp.position(), 400);
    v.update(&payload(300)).expect("garbage within size");
    v.restore(cp);
    assert_eq!(v.position(), 400);
    v.update(&data[400..]).expect("rest");
    v.clone().finish().expect("verifies after restore");

    v.reset();
    assert_eq!(v.position(), 0);
    v.update(&data).expect("all again");
    v.finish().expect("verifies after reset");
}

proptest::proptest! {
    /// Any split of the right bytes verifies; any single flipped bit does not.
    #[test]
    fn any_split_verifies(data in proptest::collection::vec(proptest::num::u8::ANY, 1..2000), cut in 0usize..2000, bit in 0u8..8) {
        let cut = cut % (data.len() + 1);
        let digest = sha256(&data);
        let mut v = Verifier::new(digest.clone(), data.len() as u64);
        v.update(&data[..cut]).expect("prefix");
        v.update(&data[cut..]).expect("suffix");
        proptest::prop_assert!(v.finish().is_ok());

        let mut bad = data.clone();
        bad[cut % data.len()] ^= 1 << bit;
        let mut v = Verifier::new(digest, data.len() as u64);
        v.update(&bad).expect("same size");
        let is_mismatch = matches!(v.finish(), Err(VerifyError::DigestMismatch { .. }));
        proptest::prop_assert!(is_mismatch);
    }
}
