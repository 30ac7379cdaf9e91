//! Writing `registries.conf` v2: the redirects that make consumers pull mirrored repositories
//! from the mirror (what oc-mirror hands to a disconnected cluster).
//!
//! One `[[registry]]` per mirrored repository, `prefix` and `location` both the original
//! `host/repository`, and one `[[registry.mirror]]` naming the copy: containers/image (and
//! [`RegistriesConf::pull_sources`](super::RegistriesConf::pull_sources)) rewrite host **and**
//! namespace, try the mirror first and fall back to the original.

use std::fmt::Write as _;

/// One mirrored repository: pulls of `source` (`host/repository`) are redirected to `mirror`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Redirect {
    /// The original `host[:port]/repository`.
    pub source: String,
    /// Where the copy is, `host[:port]/repository`.
    pub mirror: String,
    /// The mirror speaks plain HTTP (or unverified TLS): `insecure = true`.
    pub insecure: bool,
    /// Only digests were mirrored: `mirror-by-digest-only = true`, so pulls by tag go to the
    /// original.
    pub digest_only: bool,
}

impl Redirect {
    /// A redirect from `source` to `mirror`, secure, tags and digests.
    pub fn new(source: impl Into<String>, mirror: impl Into<String>) -> Redirect {
        Redirect {
            source: source.into(),
            mirror: mirror.into(),
            insecure: false,
            digest_only: false,
        }
    }
}

/// A TOML basic string.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The `registries.conf` v2 text for `redirects`, in their order, under a comment `header`
/// (each of its lines is prefixed with `# `). The text parses with
/// [`RegistriesConf::parse_str`](super::RegistriesConf::parse_str).
///
/// ```
/// use oci_client::registries::{RegistriesConf, Redirect, redirects_toml};
/// use oci_ref::Reference;
///
/// let mut r = Redirect::new("quay.io/org/app", "mirror.example:5000/m/org/app");
/// r.digest_only = true;
/// let text = redirects_toml("mirrored", &[r]);
/// let conf = RegistriesConf::parse_str(&text, "generated.conf").expect("valid");
/// let pinned = Reference::parse(&format!("quay.io/org/app@sha256:{}", "a".repeat(64)))?;
/// let sources = conf.pull_sources(&pinned).expect("sources");
/// assert_eq!(sources[0].reference.registry(), "mirror.example:5000");
/// // An edge case: digest-only mirrors are skipped for a pull by tag.
/// let tagged = conf.pull_sources(&Reference::parse("quay.io/org/app:v1")?).expect("sources");
/// assert_eq!(tagged.len(), 1);
/// # Ok::<(), oci_ref::Error>(())
/// ```
pub fn redirects_toml(header: &str, redirects: &[Redirect]) -> String {
    let mut out = String::new();
    for line in header.lines() {
        let _ = writeln!(out, "# {line}");
    }
    for r in redirects {
        let _ = write!(
            out,
            "\n[[registry]]\nprefix = {source}\nlocation = {source}\nmirror-by-digest-only = {digest_only}\n\n[[registry.mirror]]\nlocation = {mirror}\ninsecure = {insecure}\n",
            source = quoted(&r.source),
            mirror = quoted(&r.mirror),
            digest_only = r.digest_only,
            insecure = r.insecure,
        );
    }
    out
}
