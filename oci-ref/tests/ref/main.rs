//! Tests for `oci-ref`, one module per source module, plus the proptest round trips and the
//! replay of the fuzz corpus.
//!
//! Table tests go through [`check`]: it renders each input's outcome (the normalised parts, or
//! the error's `Display` text) into one snapshot per table, and asserts the display round trip
//! for every accepted input.

mod digest;
mod error;
mod fuzzed;
mod grammar;
mod hash;
mod media_type;
mod model;
mod normalize;
mod proptests;
mod reference;
mod rfc3339;
mod tag;

use oci_ref::Reference;

/// 64 hex characters: the sha256 of the empty string.
pub(crate) const SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// 128 hex characters: the sha512 of the empty string.
pub(crate) const SHA512: &str = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";

/// Renders the outcome of `parse` on one input, asserting the round trips of accepted input.
pub(crate) fn describe(
    input: &str,
    parse: fn(&str) -> Result<Reference, oci_ref::Error>,
) -> String {
    match parse(input) {
        Ok(r) => {
            assert_round_trip(&r);
            format!(
                "{input:?}\n  => {r}\n     registry={} api_host={} repository={} tag={:?} digest={:?}\n",
                r.registry(),
                r.api_host(),
                r.repository(),
                r.tag(),
                r.digest().map(|d| d.as_str()),
            )
        }
        Err(e) => format!("{input:?}\n  !! {e}\n"),
    }
}

/// `parse(display(r)) == r` and `parse(to_oci_url(r)) == r`.
pub(crate) fn assert_round_trip(r: &Reference) {
    let shown = r.to_string();
    let again = Reference::parse(&shown).expect("the display form of a reference parses");
    assert_eq!(&again, r, "display round trip of {shown:?}");
    assert_eq!(again.to_string(), shown, "display is stable for {shown:?}");
    let url = r.to_oci_url();
    let from_url = Reference::parse(&url).expect("the oci:// form of a reference parses");
    assert_eq!(&from_url, r, "oci:// round trip of {url:?}");
}

/// Parses every input with [`Reference::parse`] and snapshots the outcomes as one table.
pub(crate) fn check(name: &str, inputs: &[&str]) {
    check_with(name, inputs, Reference::parse);
}

/// Like [`check`] with another entry point (`parse_docker`, `parse_oci_url`).
pub(crate) fn check_with(
    name: &str,
    inputs: &[&str],
    parse: fn(&str) -> Result<Reference, oci_ref::Error>,
) {
    let table: String = inputs
        .iter()
        .map(|i| describe(i, parse))
        .collect::<Vec<_>>()
        .join("\n");
    snapshot(name, &table);
}

/// Asserts `table` against `snapshots/<name>.snap` (no module prefix: the test binary is
/// called `ref`, a keyword, which would give file names starting with `r#`).
pub(crate) fn snapshot(name: &str, table: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(name, table));
}
