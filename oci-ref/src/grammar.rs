//! The reference grammar: splitting a string into domain, path, tag and digest and validating
//! each part. No normalisation happens here (see [`crate::normalize`]).

use crate::MAX_NAME_TOTAL_LENGTH;
use crate::digest::{self, Digest};
use crate::error::{Error, Part};

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
/// `localhost` (in any case); otherwise the whole name is a (Docker Hub) path. So
/// `test.com:5000` is the repository `test.com` with tag `5000`, while `test.com:5000/app` names
/// registry `test.com:5000`.
///
/// Like docker, a bare 64-character lower-case hex string is rejected: it is an image ID, not a
/// repository name.
///
/// # Errors
///
/// An [`Error`] naming the part: empty input, a forbidden character (whitespace, control), an
/// invalid registry host or port, repository path, tag or digest, an upper-case repository, or a
/// bare 64-hex image ID.
pub fn parse_docker(s: &str) -> Result<Parsed<'_>, Error> {
    reject_forbidden(s, Part::Input, 0)?;
    if s.is_empty() {
        return Err(Error::Empty { part: Part::Input });
    }
    if let Some(scheme) = url_scheme(s) {
        return Err(Error::UnsupportedScheme {
            scheme: scheme.to_owned(),
        });
    }
    if s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(Error::Invalid {
            part: Part::Repository,
            value: s.to_owned(),
            reason: "a bare 64-character hex string is an image ID, not a repository name",
        });
    }
    let (name_and_tag, digest) = split_digest(s)?;
    let (name, tag) = split_tag(name_and_tag);
    let (domain, path) = match name.split_once('/') {
        Some((first, rest)) if is_domain_like(first) => (Some(first), rest),
        _ => (None, name),
    };
    finish(domain, path, tag, digest)
}

/// Whether docker-style parsing takes `first` (the text before the first `/`) as a domain:
/// it contains `.` or `:`, or is `localhost` in any case.
pub(crate) fn is_domain_like(first: &str) -> bool {
    first.contains(['.', ':']) || first.eq_ignore_ascii_case("localhost")
}

/// The scheme of `s` if it starts with `scheme://`, the scheme being an RFC 3986 scheme:
/// `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
pub(crate) fn url_scheme(s: &str) -> Option<&str> {
    let scheme = &s[..s.find("://")?];
    let mut bytes = scheme.bytes();
    let first_ok = bytes.next().is_some_and(|b| b.is_ascii_alphabetic());
    let rest_ok = bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    (first_ok && rest_ok).then_some(scheme)
}

/// Parses an `oci://host[:port]/path[:tag][@digest]` URL without normalising it.
///
/// The host is always present. An empty tag directly before `@` (`container:@sha256:…`, the
/// form Ironic's documentation uses) is accepted as "no tag".
///
/// The scheme is matched case-insensitively (`OCI://` is accepted). User information
/// (`user:password@host`), queries and fragments are rejected; errors never repeat the
/// user information.
///
/// # Errors
///
/// [`Error::MissingScheme`], [`Error::UnsupportedScheme`], [`Error::CredentialsInUrl`], and the
/// errors of [`parse_docker`] for the host, path, tag and digest; a query or fragment is
/// [`Error::Invalid`].
pub fn parse_oci_url(s: &str) -> Result<Parsed<'_>, Error> {
    reject_forbidden(s, Part::Input, 0)?;
    let Some(scheme) = url_scheme(s) else {
        return Err(Error::MissingScheme);
    };
    if !scheme.eq_ignore_ascii_case("oci") {
        return Err(Error::UnsupportedScheme {
            scheme: scheme.to_owned(),
        });
    }
    let rest_offset = scheme.len() + 3;
    let rest = &s[rest_offset..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let after_authority = &rest[authority_end..];
    if let Some((_, after_first_at)) = authority.split_once('@') {
        // `oci://host@sha256:…` is a digest with no repository, not user information.
        if after_authority.is_empty() && Digest::parse(after_first_at).is_ok() {
            return Err(Error::Invalid {
                part: Part::Input,
                value: after_first_at.to_owned(),
                reason: "the URL names no repository after the host (oci://host/repository)",
            });
        }
        let host = authority.rsplit_once('@').map_or("", |(_, host)| host);
        return Err(Error::CredentialsInUrl {
            host: host.to_owned(),
        });
    }
    if let Some(i) = after_authority.find(['?', '#']) {
        return Err(Error::Invalid {
            part: Part::Input,
            value: after_authority[i..].to_owned(),
            reason: "oci:// URLs may not carry a query (?) or fragment (#)",
        });
    }
    let Some(path_etc) = after_authority.strip_prefix('/') else {
        // No '@' in the authority (checked above), so no user information is repeated here.
        return Err(Error::Invalid {
            part: Part::Input,
            value: s.to_owned(),
            reason: "the URL names no repository after the host (oci://host/repository)",
        });
    };
    if authority.is_empty() {
        return Err(Error::Empty {
            part: Part::Registry,
        });
    }
    let (path_and_tag, digest) = split_digest_at(path_etc, rest_offset + authority_end + 1)?;
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
        crate::tag::validate(t)?;
    }
    Ok(Parsed {
        domain,
        path,
        tag,
        digest,
    })
}

/// Checks `host[:port]`: a DNS name, an IPv4 address or a bracketed IPv6 address.
pub(crate) fn validate_domain(d: &str) -> Result<(), Error> {
    let invalid = |reason| Error::Invalid {
        part: Part::Registry,
        value: d.to_owned(),
        reason,
    };
    if d.is_empty() {
        return Err(Error::Empty {
            part: Part::Registry,
        });
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
        let number = port.parse::<u16>().ok().filter(|n| *n != 0);
        if !port.bytes().all(|b| b.is_ascii_digit()) || number.is_none() {
            return Err(invalid("the port must be a number from 1 to 65535"));
        }
    }
    Ok(())
}

/// Checks a repository path: `component ('/' component)*`, each component
/// `[a-z0-9]+ (separator [a-z0-9]+)*` with separator `.`, `_`, `__` or one or more `-`.
pub(crate) fn validate_path(path: &str) -> Result<(), Error> {
    let invalid = |reason| Error::Invalid {
        part: Part::Repository,
        value: path.to_owned(),
        reason,
    };
    if path.is_empty() {
        return Err(Error::Empty {
            part: Part::Repository,
        });
    }
    if path.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(Error::UppercaseRepository {
            value: path.to_owned(),
        });
    }
    for component in path.split('/') {
        if component.is_empty() {
            return Err(invalid(
                "path components may not be empty (no leading, trailing or double '/')",
            ));
        }
        let b = component.as_bytes();
        if !b.iter().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'-')
        }) {
            return Err(invalid(
                "only lower-case letters, digits and the separators '.', '_', '__', '-' are allowed",
            ));
        }
        if !b[0].is_ascii_alphanumeric() || !b[b.len() - 1].is_ascii_alphanumeric() {
            return Err(invalid(
                "each path component must start and end with a letter or digit",
            ));
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
                return Err(invalid(
                    "separators inside a path component are '.', '_', '__' or dashes, one at a time",
                ));
            }
        }
    }
    Ok(())
}

/// Checks the repository path against [`MAX_NAME_TOTAL_LENGTH`].
pub(crate) fn check_path_length(path: &str) -> Result<(), Error> {
    if path.len() > MAX_NAME_TOTAL_LENGTH {
        return Err(Error::NameTooLong {
            value: path.to_owned(),
            len: path.len(),
            max: MAX_NAME_TOTAL_LENGTH,
        });
    }
    Ok(())
}

/// Rejects whitespace and control characters anywhere, naming the first one found.
pub(crate) fn reject_forbidden(s: &str, part: Part, offset: usize) -> Result<(), Error> {
    if let Some((index, character)) = s
        .char_indices()
        .find(|(_, c)| c.is_control() || c.is_whitespace())
    {
        return Err(Error::ForbiddenCharacter {
            part,
            character,
            index: offset + index,
        });
    }
    Ok(())
}
