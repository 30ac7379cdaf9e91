//! Upload sessions that a dropped push leaves open, cancelled in the background.
//!
//! A push future dropped mid-upload (a cancelled task; Ctrl-C in a program that drops its work
//! before exiting) cannot await the `DELETE` that closes its session. [`OpenSession`] is held
//! while a session is open; dropped while still open, it spawns that `DELETE` on the current
//! tokio runtime (when there is one), as the spec allows a client to cancel an upload
//! ([distribution-spec v1.1 § Canceling an upload](https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#canceling-an-upload)).
//! [`abandoned_uploads_cancelled`] waits until every such `DELETE` has been answered or has
//! failed, so a program about to exit can let them finish, under its own deadline.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;
use url::Url;

use crate::repository::Repository;
use crate::transport::Target;

/// Cancellations spawned and not finished yet.
static PENDING: AtomicUsize = AtomicUsize::new(0);

fn settled() -> &'static Notify {
    static SETTLED: OnceLock<Notify> = OnceLock::new();
    SETTLED.get_or_init(Notify::new)
}

/// An open upload session, cancelled in a spawned task if dropped before [`close`](Self::close).
#[derive(Debug)]
pub(crate) struct OpenSession {
    repo: Repository,
    target: Target,
    url: Option<Url>,
}

impl OpenSession {
    pub(crate) fn new(repo: &Repository, target: &Target, url: Url) -> OpenSession {
        OpenSession {
            repo: repo.clone(),
            target: target.clone(),
            url: Some(url),
        }
    }

    /// The session goes on at `url` (the `Location` of the last answer).
    pub(crate) fn at(&mut self, url: Url) {
        self.url = Some(url);
    }

    /// The session was closed, or the caller cancels it and awaits that: nothing to do on
    /// drop. Returns the URL the session is open at.
    pub(crate) fn close(&mut self) -> Option<Url> {
        self.url.take()
    }
}

/// Counts a spawned cancellation as finished when dropped (also when its task is aborted).
struct Finished;

impl Drop for Finished {
    fn drop(&mut self) {
        PENDING.fetch_sub(1, Ordering::SeqCst);
        settled().notify_waiters();
    }
}

impl Drop for OpenSession {
    fn drop(&mut self) {
        let Some(url) = self.url.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        PENDING.fetch_add(1, Ordering::SeqCst);
        let finished = Finished;
        let (repo, target) = (self.repo.clone(), self.target.clone());
        runtime.spawn(async move {
            let _finished = finished;
            repo.cancel_upload(&target, url).await;
        });
    }
}

/// Waits until every upload session cancelled because its push future was dropped has been
/// answered (or the `DELETE` failed). Returns at once when there is none. The cancellations run
/// on the runtime that dropped the future: await this on that runtime, typically with a
/// timeout, before it shuts down.
pub async fn abandoned_uploads_cancelled() {
    loop {
        let mut notified = std::pin::pin!(settled().notified());
        notified.as_mut().enable();
        if PENDING.load(Ordering::SeqCst) == 0 {
            return;
        }
        notified.await;
    }
}
