//! Tests of `oci_client::registries`: every behaviour of the containers/image test catalogue
//! (matching, rewriting, pull sources, drop-in merging, validation, short names) plus our own
//! limits and deviations.

mod falls_through;
mod find;
mod load;
mod matching;
mod merge;
mod pull_sources;
mod rewrite;
mod shortnames;
mod validation;

use std::path::{Path, PathBuf};

use oci_client::registries::RegistriesConf;
use oci_ref::Reference;

/// A sha256 digest of `a`s, for digest references.
const DIGEST_A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
/// A different sha256 digest.
const DIGEST_B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// The fixtures directory.
fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/client/registries/fixtures")
}

/// Parses `text` as a file named `test.conf`, which must be valid.
fn conf(text: &str) -> RegistriesConf {
    RegistriesConf::parse_str(text, "test.conf").expect("the test configuration is valid")
}

/// Parses a fixture file, which must be valid.
fn fixture(name: &str) -> RegistriesConf {
    let path = fixtures().join(name);
    let text = std::fs::read_to_string(&path).expect("the fixture exists");
    RegistriesConf::parse_str(&text, &path).expect("the fixture is valid")
}

/// Parses a reference, which must be valid.
fn reference(s: &str) -> Reference {
    Reference::parse(s).expect("the test reference is valid")
}

/// Replaces machine-specific paths in `text` so snapshots are stable.
fn redact(text: &str) -> String {
    text.replace(&fixtures().display().to_string(), "<fixtures>")
}
