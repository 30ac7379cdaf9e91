//! Normalisation: turning a [`Parsed`] reference into a fully qualified [`Reference`].
//!
//! Kept apart from the grammar on purpose (as distribution separates `reference.go` from
//! `normalize.go`): the grammar says what was written, normalisation says what it means.

use crate::Error;
use crate::grammar::{Parsed, check_path_length};
use crate::{DEFAULT_TAG, DOCKER_HUB, DOCKER_HUB_LEGACY, Reference};

/// Fully qualifies a parsed reference the way docker does:
///
/// - no domain means Docker Hub, `docker.io`;
/// - `index.docker.io` is written `docker.io`;
/// - a single-component Docker Hub repository gets the `library/` namespace;
/// - with neither tag nor digest, the tag is `latest`.
///
/// Fails only if adding `library/` pushes the repository past
/// [`MAX_NAME_TOTAL_LENGTH`](crate::MAX_NAME_TOTAL_LENGTH).
///
/// # Deviation
///
/// The registry is lower-cased (`Quay.IO` → `quay.io`, `[::ABCD]` → `[::abcd]`): host names are
/// case-insensitive ([RFC 3986 §3.2.2](https://www.rfc-editor.org/rfc/rfc3986#section-3.2.2)),
/// so two spellings of one host give equal references. Docker keeps the case as written.
///
/// # Errors
///
/// [`Error::NameTooLong`] when the normalised repository (with `library/`) is longer than
/// [`MAX_NAME_TOTAL_LENGTH`](crate::MAX_NAME_TOTAL_LENGTH).
pub fn normalize(parsed: Parsed<'_>) -> Result<Reference, Error> {
    let registry = normalize_registry(parsed.domain.unwrap_or(DOCKER_HUB));
    let repository = normalize_repository(&registry, parsed.path);
    check_path_length(&repository)?;
    let tag = match (parsed.tag, &parsed.digest) {
        (Some(t), _) => Some(t.to_owned()),
        (None, None) => Some(DEFAULT_TAG.to_owned()),
        (None, Some(_)) => None,
    };
    Ok(Reference::from_parts_unchecked(
        registry,
        repository,
        tag,
        parsed.digest,
    ))
}

/// The registry name as a [`Reference`] holds it: lower-cased, with `index.docker.io` written
/// `docker.io`. `domain` must already be grammar-valid.
pub fn normalize_registry(domain: &str) -> String {
    let lower = domain.to_ascii_lowercase();
    if lower == DOCKER_HUB_LEGACY {
        DOCKER_HUB.to_owned()
    } else {
        lower
    }
}

/// The repository as a [`Reference`] holds it: on Docker Hub (`registry` as returned by
/// [`normalize_registry`]), a single-component path gains `library/`.
pub fn normalize_repository(registry: &str, path: &str) -> String {
    if registry == DOCKER_HUB && !path.contains('/') {
        format!("library/{path}")
    } else {
        path.to_owned()
    }
}
