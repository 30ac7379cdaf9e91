//! sha256 digests of test data, as strings: the crates under test turn them into their own
//! digest type (`"sha256:…".parse()`), so this crate needs none of theirs.

use sha2::{Digest as _, Sha256};

/// The lower-case hex sha256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The OCI digest string `sha256:<hex>` of `data`.
pub fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(data))
}
