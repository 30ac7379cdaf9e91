//! Retry policy: which failures are retried, exponential backoff with jitter, `Retry-After`.
//!
//! Retried: connection failures and timeouts (any request: nothing reached the registry, or for
//! idempotent ones it does not matter), `429 Too Many Requests` (any request: the registry did
//! not process it), and `408` and `5xx` for idempotent requests only (GET, HEAD, DELETE,
//! manifest PUT, and the POST that starts an upload session, whose repeat at worst leaves an
//! empty session for the registry to expire). Requests that carry data into a session (PATCH,
//! the closing PUT) are not retried on `5xx`: the session state on the registry is unknown
//! afterwards. A body that breaks off or stalls while a manifest, tag page or referrers page is
//! read repeats the whole request under the same policy. A failed token exchange is retried
//! when `oci-auth` calls it retryable (token server 429/5xx, connection trouble), honouring the
//! token server's `Retry-After`.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// Default number of attempts, first one included (oras-go: 1 + 5 retries).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 6;
/// Default delay before the first retry (oras-go: 250 ms).
pub const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_millis(250);
/// Default cap on one backoff delay (oras-go: 3 s). A longer `Retry-After` is honoured as long as
/// it fits in the total budget.
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(3);
/// Default cap on the time spent waiting between attempts of one request. A `Retry-After`
/// that would exceed it ends the retries at once with the registry's error.
pub const DEFAULT_MAX_TOTAL_WAIT: Duration = Duration::from_secs(60);
/// Jitter applied to each backoff, as a fraction of it (oras-go: 10 %).
pub const JITTER_FRACTION: f64 = 0.1;

/// How requests are retried. [`RetryPolicy::default`] follows oras-go's defaults;
/// [`RetryPolicy::none`] never retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts, the first included; `1` disables retries.
    pub max_attempts: u32,
    /// Delay before the first retry; doubles each time.
    pub initial_backoff: Duration,
    /// Cap on one computed backoff delay.
    pub max_backoff: Duration,
    /// Cap on the sum of all waits for one request.
    pub max_total_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            initial_backoff: DEFAULT_INITIAL_BACKOFF,
            max_backoff: DEFAULT_MAX_BACKOFF,
            max_total_wait: DEFAULT_MAX_TOTAL_WAIT,
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The delay before attempt `attempt + 1`, after `attempt` (1-based) failed; `retry_after`
    /// from the response wins over the computed backoff. `None` when the attempts or the total
    /// wait budget (`waited` so far) are used up.
    pub fn delay(
        &self,
        attempt: u32,
        waited: Duration,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let delay = match retry_after {
            Some(d) => d,
            None => jittered(self.backoff(attempt)),
        };
        if waited.saturating_add(delay) > self.max_total_wait {
            return None;
        }
        Some(delay)
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

fn jittered(d: Duration) -> Duration {
    // A random value in [-1, 1) from the std hasher's per-instance random keys.
    let r = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let unit = (r >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
    d.mul_f64((1.0 + unit * JITTER_FRACTION).max(0.0))
}
