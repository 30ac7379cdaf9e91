//! Choosing a `[[registry]]` table for a name (longest prefix wins) and rewriting a
//! reference from the matched prefix to a location.

use oci_ref::Reference;

use super::error::RewriteError;
use super::{RegistriesConf, Registry};

/// The length of `reference` matched by `prefix`, or `None` when it does not match.
///
/// `reference` must start with an explicit host: a domain (`example.com:5000`), a repository
/// name (`example.com/ns/repo`) or a full reference (`example.com/ns/repo:tag`).
///
/// - A plain prefix matches when `reference` equals it, or starts with it and continues with
///   `/`, `:` or `@`. The result is the prefix length. The check is textual: no docker.io
///   normalisation happens here. (So, as in containers/image, `example.com:5000` matches the
///   prefix `example.com`: the next character is `:`. Do not rely on it.)
/// - A wildcard prefix `*.suffix` matches when the **first** occurrence of `.suffix` lies in the
///   host part (no `/` before it) and is followed by the end, `:`, `/` or `@`. The result is the
///   length up to the end of that occurrence (the host without its port). At least one label is
///   needed before the suffix: `*.example.com` does not match `example.com`.
///
/// ```
/// use oci_client::registries::match_prefix;
/// assert_eq!(match_prefix("example.com/foo/bar:baz", "example.com"), Some(11));
/// assert_eq!(match_prefix("docker.io/libraryy", "docker.io/library"), None);
/// assert_eq!(match_prefix("a.b.example.com:5000/x", "*.example.com"), Some(15));
/// assert_eq!(match_prefix("example.net/ns.com/x", "*.com"), None);
/// ```
pub fn match_prefix(reference: &str, prefix: &str) -> Option<usize> {
    if let Some(suffix) = prefix.strip_prefix('*')
        && suffix.starts_with('.')
    {
        return match_wildcard(reference, suffix);
    }
    if !reference.starts_with(prefix) {
        return None;
    }
    match reference.as_bytes().get(prefix.len()) {
        None | Some(b'/' | b':' | b'@') => Some(prefix.len()),
        Some(_) => None,
    }
}

/// `suffix` is the wildcard prefix without its `*`, e.g. `.example.com`.
fn match_wildcard(reference: &str, suffix: &str) -> Option<usize> {
    let index = reference.find(suffix)?;
    if reference[..index].contains('/') {
        return None;
    }
    let end = index + suffix.len();
    match reference.as_bytes().get(end) {
        None | Some(b'/' | b':' | b'@') => Some(end),
        Some(_) => None,
    }
}

/// Rewrites `reference` by replacing the part matched by `prefix` with `location`.
///
/// - The reference is taken in canonical form, `registry/repository[:tag][@digest]`, so
///   Docker Hub names include `library/`: a prefix for official images must say
///   `docker.io/library/...`.
/// - For a wildcard prefix only the host is replaced; a port that follows it is kept.
/// - An empty `location` returns the reference unchanged, which is only allowed for a
///   wildcard prefix.
/// - The result must be a reference in canonical form: rewriting `docker.io/library/x` with
///   prefix `docker.io/library` to location `docker.io` gives `docker.io/x`, which would mean
///   `docker.io/library/x` and is rejected, as containers/image does.
///
/// ```
/// use oci_client::registries::rewrite_reference;
/// use oci_ref::Reference;
/// let r = Reference::parse("quay.io/podman/machine-os:5.3")?;
/// let rewritten = rewrite_reference(&r, "quay.io", "internal.example.io/abcd").expect("rewrites");
/// assert_eq!(rewritten.to_string(), "internal.example.io/abcd/podman/machine-os:5.3");
/// # Ok::<(), oci_ref::Error>(())
/// ```
///
/// # Errors
///
/// [`RewriteError::PrefixMismatch`] when `reference` is not under `prefix`,
/// [`RewriteError::EmptyLocation`] when `location` is empty, [`RewriteError::Invalid`] when the
/// rewritten name is not a valid reference, [`RewriteError::NotCanonical`] when it does not
/// read back as written.
pub fn rewrite_reference(
    reference: &Reference,
    prefix: &str,
    location: &str,
) -> Result<Reference, RewriteError> {
    let text = reference.to_string();
    let Some(matched) = match_prefix(&text, prefix) else {
        return Err(RewriteError::PrefixMismatch {
            prefix: prefix.to_owned(),
            reference: text,
        });
    };
    if location.is_empty() {
        if prefix.starts_with("*.") {
            return Ok(reference.clone());
        }
        return Err(RewriteError::EmptyLocation {
            prefix: prefix.to_owned(),
        });
    }
    let rewritten = format!("{location}{}", &text[matched..]);
    let parsed =
        oci_ref::grammar::parse_docker(&rewritten).map_err(|source| RewriteError::Invalid {
            reference: text.clone(),
            rewritten: rewritten.clone(),
            source,
        })?;
    let normalized =
        oci_ref::normalize::normalize(parsed).map_err(|source| RewriteError::Invalid {
            reference: text.clone(),
            rewritten: rewritten.clone(),
            source,
        })?;
    let canonical = normalized.to_string();
    if canonical != rewritten {
        return Err(RewriteError::NotCanonical {
            reference: text,
            rewritten,
            canonical,
        });
    }
    Ok(normalized)
}

impl RegistriesConf {
    /// The `[[registry]]` table for `name`, or `None` when no prefix matches.
    ///
    /// `name` must start with an explicit host (a registry, a repository name or a full
    /// reference), in canonical form for Docker Hub (`docker.io/library/alpine`). Among the
    /// matching tables the one with the longest prefix (in bytes, `*.` included) wins; on equal
    /// lengths the first in prefix order.
    pub fn find_registry(&self, name: &str) -> Option<&Registry> {
        let mut best: Option<&Registry> = None;
        for table in &self.registries {
            if match_prefix(name, &table.prefix).is_some()
                && best.is_none_or(|b| table.prefix.len() > b.prefix.len())
            {
                best = Some(table);
            }
        }
        best
    }
}
