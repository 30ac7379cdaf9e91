//! `Hasher` and `digest_of` (feature `hash`): known answers and incremental feeding.

use oci_ref::{Algorithm, Hasher, digest_of};

use crate::{SHA256, SHA512};

/// Hashes `data` whole and in every two-part split, and compares with `expected_hex`.
fn check(algorithm: Algorithm, data: &[u8], expected_hex: &str) {
    let whole = digest_of(algorithm, data);
    assert_eq!(whole.algorithm(), algorithm);
    assert_eq!(whole.encoded(), expected_hex, "{algorithm} of {data:?}");
    for cut in 0..=data.len() {
        let mut h = Hasher::new(algorithm);
        assert_eq!(h.algorithm(), algorithm);
        h.update(&data[..cut]);
        h.update(&data[cut..]);
        assert_eq!(h.finish(), whole, "{algorithm} of {data:?} split at {cut}");
    }
}

#[test]
fn known_answers() {
    check(Algorithm::Sha256, b"", SHA256);
    check(Algorithm::Sha512, b"", SHA512);
    check(
        Algorithm::Sha256,
        b"hello",
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
    );
    check(
        Algorithm::Sha256,
        b"abc",
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
}
