//! Normalisation: turning a [`Parsed`] reference into a fully qualified [`Reference`].
//!
//! Kept apart from the grammar on purpose (as distribution separates `reference.go` from
//! `normalize.go`): the grammar says what was written, normalisation says what it means.

use crate::Error;
use crate::grammar::{Parsed, check_path_length};
use crate::{DEFAULT_TAG, DOCKER_HUB, Reference};

/// Fully qualifies a parsed reference the way docker does:
///
/// - no domain means Docker Hub, `docker.io`;
/// - `index.docker.io` is written `docker.io`;
/// - a single-component Docker Hub repository gets the `library/` namespace;
/// - with neither tag nor digest, the tag is `latest`.
///
/// Fails only if adding `library/` pushes the repository past
/// [`NAME_TOTAL_LENGTH_MAX`](crate::NAME_TOTAL_LENGTH_MAX).
pub fn normalize(parsed: Parsed<'_>) -> Result<Reference, Error> {
    let registry = match parsed.domain {
        None | Some("index.docker.io") => DOCKER_HUB,
        Some(d) => d,
    };
    let repository = if registry == DOCKER_HUB && !parsed.path.contains('/') {
        format!("library/{}", parsed.path)
    } else {
        parsed.path.to_owned()
    };
    check_path_length(&repository)?;
    let tag = match (parsed.tag, &parsed.digest) {
        (Some(t), _) => Some(t.to_owned()),
        (None, None) => Some(DEFAULT_TAG.to_owned()),
        (None, Some(_)) => None,
    };
    Ok(Reference::from_parts_unchecked(registry.to_owned(), repository, tag, parsed.digest))
}
