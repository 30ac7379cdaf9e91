//! The one rule for starting a blob's read again after bad bytes, shared by the download
//! engine, [`Artifact::read_to_vec`](crate::artifact::Artifact::read_to_vec) and copies into a
//! registry.

use super::MAX_BAD_BODIES_PER_SOURCE;
#[cfg(doc)]
use crate::source::BlobSource;

/// Whether and how often a blob's read starts again from byte 0 after its bytes failed
/// verification: the one rule of the download engine, of
/// [`Artifact::read_to_vec`](crate::artifact::Artifact::read_to_vec) and of a copy into a
/// registry.
///
/// A read starts again while the source says another place may serve other bytes
/// ([`BlobSource::rejected`]), at most places × [`MAX_BAD_BODIES_PER_SOURCE`] times: every
/// place gets its strikes, so mirrors serving bad bytes still leave the primary its turn,
/// however few attempts a retry policy allows, and a source that keeps saying another place is
/// left cannot loop forever. Such a restart is no transient failure: it spends none of the
/// caller's attempts and waits for no back-off, which pace only the resumes of a transfer that
/// broke off. The places that served the bad bytes are kept, in order, for the error when none
/// is left.
#[derive(Debug)]
pub(crate) struct BadBytesRestarts {
    limit: u32,
    made: u32,
    tried: Vec<String>,
}

impl BadBytesRestarts {
    /// The rule for a source reading from `places` places ([`BlobSource::places`]).
    pub(crate) fn new(places: usize) -> BadBytesRestarts {
        let limit = u32::try_from(places)
            .unwrap_or(u32::MAX)
            .max(1)
            .saturating_mul(MAX_BAD_BODIES_PER_SOURCE);
        BadBytesRestarts {
            limit,
            made: 0,
            tried: Vec::new(),
        }
    }

    /// Bytes just served by `place` (named by [`BlobSource::place`]) failed verification,
    /// and the source answered `again` to [`BlobSource::rejected`]: whether to start again from
    /// byte 0 (counted as one restart).
    pub(crate) fn restart(&mut self, place: Option<String>, again: bool) -> bool {
        if let Some(place) = place
            && !self.tried.contains(&place)
        {
            self.tried.push(place);
        }
        if !again || self.made >= self.limit {
            return false;
        }
        self.made += 1;
        true
    }

    /// Restarts made so far.
    pub(crate) fn made(&self) -> u32 {
        self.made
    }

    /// The places that served bad bytes, in the order they did.
    pub(crate) fn tried(&self) -> &[String] {
        &self.tried
    }

    /// The error when no restart is left: `error` itself when no place was named (a source
    /// without places, such as a layout), else what `name` makes of the places and `error`.
    pub(crate) fn naming<E>(&self, error: E, name: impl FnOnce(Vec<String>, E) -> E) -> E {
        if self.tried.is_empty() {
            error
        } else {
            name(self.tried.clone(), error)
        }
    }
}

/// ` (sources tried: A, B)` for the places a blob was read from, nothing when there were none:
/// how every error naming them (a download's, `read_to_vec`'s, a copy's) ends.
pub(crate) fn sources_tried(sources: &[String]) -> String {
    if sources.is_empty() {
        String::new()
    } else {
        format!(" (sources tried: {})", sources.join(", "))
    }
}
