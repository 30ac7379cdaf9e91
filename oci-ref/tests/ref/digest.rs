//! `Digest`: the image-spec grammar, the registered algorithms, and construction from bytes.

use oci_ref::{Algorithm, Digest, Error};

use crate::{SHA256, SHA512};

/// Parses every input as a digest and snapshots the outcomes as one table.
fn check(name: &str, inputs: &[&str]) {
    let table: String = inputs
        .iter()
        .map(|input| match Digest::parse(input) {
            Ok(d) => {
                assert_eq!(
                    Digest::parse(&format!("{d}")).as_ref(),
                    Ok(&d),
                    "round trip"
                );
                assert_eq!(d.as_str(), *input, "a digest is kept as written");
                format!("{input:?}\n  => {} {}\n", d.algorithm(), d.encoded())
            }
            Err(e) => format!("{input:?}\n  !! {e}\n"),
        })
        .collect::<Vec<_>>()
        .join("\n");
    crate::snapshot(name, &table);
}

#[test]
fn digests() {
    check(
        "digests",
        &[
            &format!("sha256:{SHA256}"),
            &format!("sha512:{SHA512}"),
            &format!("sha256:{}", &SHA256[..63]),
            &format!("sha256:{SHA256}0"),
            &format!("sha512:{SHA256}"),
            &format!("sha256:{}", SHA256.to_uppercase()),
            &format!("sha256:{}z", &SHA256[..63]),
            "md5:d41d8cd98f00b204e9800998ecf8427e",
            "sha384:abc",
            "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8",
            "sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564",
            "SHA256:abc",
            "sha256:",
            ":abc",
            "sha256",
            "",
            "sha256:ab/cd",
            "sha256:ab:cd",
            "sha-:abc",
            "-sha:abc",
            "sha..256:abc",
            &format!("sha256:{SHA256}\n"),
            &format!("sha256: {SHA256}"),
        ],
    );
}

#[test]
fn algorithm_names_and_lengths() {
    assert_eq!(Algorithm::Sha256.as_str(), "sha256");
    assert_eq!(Algorithm::Sha512.to_string(), "sha512");
    assert_eq!(Algorithm::Sha256.hex_len(), 64);
    assert_eq!(Algorithm::Sha512.hex_len(), 128);
}

#[test]
fn from_bytes_encodes_lower_case_hex() {
    let d = Digest::from_bytes(Algorithm::Sha256, &[0x0f; 32]).expect("32 bytes");
    assert_eq!(d.as_str(), format!("sha256:{}", "0f".repeat(32)));
    assert_eq!(d.encoded(), "0f".repeat(32));
    assert_eq!(d.algorithm(), Algorithm::Sha256);
    assert_eq!(
        format!("{d:?}"),
        format!("Digest(sha256:{})", "0f".repeat(32))
    );
    assert_eq!(AsRef::<str>::as_ref(&d), d.as_str());

    assert_eq!(
        Digest::from_bytes(Algorithm::Sha512, &[0; 32]),
        Err(Error::DigestLength {
            algorithm: "sha512",
            expected: 128,
            actual: 64
        })
    );
    assert_eq!(
        Digest::from_bytes(Algorithm::Sha256, &[]),
        Err(Error::DigestLength {
            algorithm: "sha256",
            expected: 64,
            actual: 0
        })
    );
}

#[test]
fn unsupported_algorithm_is_named() {
    let err = Digest::parse("md5:d41d8cd98f00b204e9800998ecf8427e").expect_err("md5 unsupported");
    assert_eq!(
        err,
        Error::UnsupportedAlgorithm {
            algorithm: "md5".to_owned()
        }
    );
    assert!(err.to_string().contains("\"md5\""));
}
