//! The reference grammar: splitting a string into domain, path, tag and digest and validating
//! each part. No normalisation happens here (see [`crate::normalize`]).

use crate::digest::{self, Digest};
use crate::error::{Error, Part};
use crate::{NAME_TOTAL_LENGTH_MAX, TAG_LENGTH_MAX};

/// A reference as written, split and validated but not normalised: the domain may be absent
/// and neither tag nor digest is implied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed<'a> {
    /// `host[:port]` when the input named one.
    pub domain: Option<&'a str>,
    /// The repository path as written (`ubuntu`, `project/app`).
    pub path: &'a str,
    /// The tag, if any.
    pub tag: Option<&'a str>,
    /// The digest, if any.
    pub digest: Option<Digest>,
}

/// Parses a docker-style reference (`[domain/]path[:tag][@digest]`) without normalising it.
///
/// The first path component is taken as a domain only when it contains `.` or `:`, or is
/// `localhost`; otherwise the whole name is a (Docker Hub) path. So `test.com:5000` is the
/// repository `test.com` with tag `5000`, while `test.com:5000/app` names registry
/// `test.com:5000`.
pub fn parse_docker(s: &str) -> Result<Parsed<'_>, Error> {
    reject_forbidden(s, Part::Input, 0)?;
    if s.is_empty() {
        return Err(Error::Empty { part: Part::Input });
    }
    if let Some(idx) = s.find("://") {
        return Err(Error::UnsupportedScheme { scheme: s[..idx].to_owned() });
    }
    let (name_and_tag, digest) = split_digest(s)?;
    let (name, tag) = split_tag(name_and_tag);
    let (domain, path) = match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
            (Some(first), rest)
        }
        _ => (None, name),
    };
    finish(domain, path, tag, digest)
}

/// Parses an `oci://host[:port]/path[:tag][@digest]` URL without normalising it.
///
/// The host is always present. An empty tag directly before `@` (`container:@sha256:…`, the
/// form Ironic's documentation uses) is accepted as "no tag".
///
/// The scheme is matched case-insensitively (`OCI://` is accepted).
pub fn parse_oci_url(s: &str) -> Result<Parsed<'_>, Error> {
    reject_forbidden(s, Part::Input, 0)?;
    let Some(idx) = s.find("://") else {
        return Err(Error::Invalid {
            part: Part::Scheme,
            value: s.to_owned(),
            reason: "expected a URL starting with oci://",
        });
    };
    if !s[..idx].eq_ignore_ascii_case("oci") {
        return Err(Error::UnsupportedScheme { scheme: s[..idx].to_owned() });
    }
    let rest = &s[idx + 3..];
    if rest.contains(['?', '#']) {
        return Err(Error::Invalid {
            part: Part::Input,
            value: s.to_owned(),
            reason: "oci:// URLs may not carry a query (?) or fragment (#)",
        });
    }
    let Some((authority, path_etc)) = rest.split_once('/') else {
        return Err(Error::Invalid {
            part: Part::Repository,
            value: s.to_owned(),
            reason: "the URL names no repository after the host (oci://host/repository)",
        });
    };
    if authority.contains('@') {
        return Err(Error::Invalid {
            part: Part::Registry,
            value: authority.to_owned(),
            reason: "credentials do not belong in a reference (user@host); use a credential file or --registry-config",
        });
    }
    if authority.is_empty() {
        return Err(Error::Empty { part: Part::Registry });
    }
    let (path_and_tag, digest) = split_digest_at(path_etc, idx + 3 + authority.len() + 1)?;
    let (path, mut tag) = split_tag(path_and_tag);
    if tag == Some("") && digest.is_some() {
        tag = None;
    }
    finish(Some(authority), path, tag, digest)
}

fn split_digest(s: &str) -> Result<(&str, Option<Digest>), Error> {
    split_digest_at(s, 0)
}

fn split_digest_at(s: &str, offset: usize) -> Result<(&str, Option<Digest>), Error> {
    match s.split_once('@') {
        Some((before, d)) => {
            let digest = digest::parse_at(d, offset + before.len() + 1)?;
            Ok((before, Some(digest)))
        }
        None => Ok((s, None)),
    }
}

/// Splits `name[:tag]`: the tag is after the last `:` that follows the last `/`.
fn split_tag(s: &str) -> (&str, Option<&str>) {
    let last_slash = s.rfind('/').map_or(0, |i| i + 1);
    match s[last_slash..].rfind(':') {
        Some(i) => (&s[..last_slash + i], Some(&s[last_slash + i + 1..])),
        None => (s, None),
    }
}

fn finish<'a>(
    domain: Option<&'a str>,
    path: &'a str,
    tag: Option<&'a str>,
    digest: Option<Digest>,
) -> Result<Parsed<'a>, Error> {
    if let Some(d) = domain {
        validate_domain(d)?;
    }
    validate_path(path)?;
    check_path_length(path)?;
    if let Some(t) = tag {
        validate_tag(t)?;
    }
    Ok(Parsed { domain, path, tag, digest })
}

/// Checks `host[:port]`: a DNS name, an IPv4 address or a bracketed IPv6 address.
pub(crate) fn validate_domain(d: &str) -> Result<(), Error> {
    let invalid = |reason| Error::Invalid { part: Part::Registry, value: d.to_owned(), reason };
    if d.is_empty() {
        return Err(Error::Empty { part: Part::Registry });
    }
    let (host, port) = if let Some(inner) = d.strip_prefix('[') {
        let Some(end) = inner.find(']') else {
            return Err(invalid("an IPv6 address must be closed with ']'"));
        };
        let addr = &inner[..end];
        if addr.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(invalid("not a valid IPv6 address between [ and ]"));
        }
        let after = &inner[end + 1..];
        match after.strip_prefix(':') {
            Some(p) => (None, Some(p)),
            None if after.is_empty() => (None, None),
            None => return Err(invalid("only ':port' may follow a bracketed IPv6 address")),
        }
    } else {
        match d.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(d), None),
        }
    };
    if let Some(host) = host {
        if host.is_empty() {
            return Err(invalid("the host name is empty"));
        }
        for component in host.split('.') {
            let b = component.as_bytes();
            let ok = !b.is_empty()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
                && b[0] != b'-'
                && b[b.len() - 1] != b'-';
            if !ok {
                return Err(invalid(
                    "host name components are letters, digits and inner '-', separated by '.'",
                ));
            }
        }
    }
    if let Some(port) = port {
        if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) || port.parse::<u16>().is_err() {
            return Err(invalid("the port must be a number from 0 to 65535"));
        }
    }
    Ok(())
}

/// Checks a repository path: `component ('/' component)*`, each component
/// `[a-z0-9]+ (separator [a-z0-9]+)*` with separator `.`, `_`, `__` or one or more `-`.
pub(crate) fn validate_path(path: &str) -> Result<(), Error> {
    let invalid = |reason| Error::Invalid { part: Part::Repository, value: path.to_owned(), reason };
    if path.is_empty() {
        return Err(Error::Empty { part: Part::Repository });
    }
    if path.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(Error::UppercaseRepository { value: path.to_owned() });
    }
    for component in path.split('/') {
        if component.is_empty() {
            return Err(invalid("path components may not be empty (no leading, trailing or double '/')"));
        }
        let b = component.as_bytes();
        if !b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'-')) {
            return Err(invalid("only lower-case letters, digits and the separators '.', '_', '__', '-' are allowed"));
        }
        if !b[0].is_ascii_alphanumeric() || !b[b.len() - 1].is_ascii_alphanumeric() {
            return Err(invalid("each path component must start and end with a letter or digit"));
        }
        // Separators between alphanumeric runs: '.', '_', '__', or a run of '-'.
        let mut i = 0;
        while i < b.len() {
            if b[i].is_ascii_alphanumeric() {
                i += 1;
                continue;
            }
            let start = i;
            while i < b.len() && !b[i].is_ascii_alphanumeric() {
                i += 1;
            }
            let sep = &component[start..i];
            let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-');
            if !ok {
                return Err(invalid("separators inside a path component are '.', '_', '__' or dashes, one at a time"));
            }
        }
    }
    Ok(())
}

/// Checks the repository path against [`NAME_TOTAL_LENGTH_MAX`].
pub(crate) fn check_path_length(path: &str) -> Result<(), Error> {
    if path.len() > NAME_TOTAL_LENGTH_MAX {
        return Err(Error::NameTooLong {
            value: path.to_owned(),
            len: path.len(),
            max: NAME_TOTAL_LENGTH_MAX,
        });
    }
    Ok(())
}

/// Checks a tag: `[\w][\w.-]{0,127}`.
pub(crate) fn validate_tag(tag: &str) -> Result<(), Error> {
    if tag.is_empty() {
        return Err(Error::Empty { part: Part::Tag });
    }
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let b = tag.as_bytes();
    if !word(b[0]) {
        return Err(Error::Invalid {
            part: Part::Tag,
            value: tag.to_owned(),
            reason: "a tag must start with a letter, digit or '_'",
        });
    }
    if !b.iter().all(|&c| word(c) || c == b'.' || c == b'-') {
        return Err(Error::Invalid {
            part: Part::Tag,
            value: tag.to_owned(),
            reason: "a tag may only contain letters, digits, '_', '.' and '-'",
        });
    }
    if tag.len() > TAG_LENGTH_MAX {
        return Err(Error::TagTooLong { len: tag.len(), max: TAG_LENGTH_MAX });
    }
    Ok(())
}

/// Rejects whitespace and control characters anywhere, naming the first one found.
pub(crate) fn reject_forbidden(s: &str, part: Part, offset: usize) -> Result<(), Error> {
    if let Some((index, ch)) = s.char_indices().find(|(_, c)| c.is_control() || c.is_whitespace()) {
        let what = match ch {
            '\n' => "a line feed (U+000A)".to_owned(),
            '\r' => "a carriage return (U+000D)".to_owned(),
            '\t' => "a tab (U+0009)".to_owned(),
            ' ' => "a space".to_owned(),
            c => format!("the character U+{:04X}", c as u32),
        };
        return Err(Error::ForbiddenCharacter { part, what, index: offset + index });
    }
    Ok(())
}
