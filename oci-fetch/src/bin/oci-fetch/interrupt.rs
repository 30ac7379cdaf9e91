//! SIGINT and SIGTERM: the command stops promptly, cleans up what it owns, says so on one line
//! of stderr and exits with the conventional status (130 for SIGINT, 143 for SIGTERM).
//!
//! [`install`] registers the handlers before any command runs and starts a thread that waits
//! for them. Every command runs its async work through [`Runtime::block_on`], which races the
//! work against a signal: on a signal the work's future is dropped — the libraries are
//! cancel-safe by `Drop`: a download removes its partial file, or leaves it to be resumed by
//! the next run when resuming is on (`pull`, `blob fetch`), an upload in flight is abandoned and
//! its session cancelled with a `DELETE` (waited for up to [`UPLOAD_CANCEL_GRACE`]) — and the
//! process exits. A signal that arrives while no async work runs exits at once; work that
//! noticed the signal counts as running until it has cleaned up and exits itself, so the
//! signal thread never cuts those `DELETE`s short. A second signal, or [`CLEANUP_GRACE`]
//! after the first, exits without waiting further.

use std::future::Future;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

use crate::Failure;

/// Longest wait, after a signal, for the running work to drop its future and clean up before
/// the process exits anyway. Dropping is immediate in practice: this only bounds a command
/// stuck outside the async runtime.
pub(crate) const CLEANUP_GRACE: Duration = Duration::from_secs(5);

/// Longest wait, after a signal dropped the work, for the `DELETE`s that cancel the upload
/// sessions it abandoned (shorter than [`CLEANUP_GRACE`], which bounds the whole exit).
pub(crate) const UPLOAD_CANCEL_GRACE: Duration = Duration::from_secs(2);

/// Which signal stopped the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Interrupt,
    Terminate,
}

impl Stop {
    fn name(self) -> &'static str {
        match self {
            Stop::Interrupt => "SIGINT",
            Stop::Terminate => "SIGTERM",
        }
    }

    /// 128 + the signal number, as shells report a process killed by it.
    fn exit_code(self) -> i32 {
        match self {
            Stop::Interrupt => 130,
            Stop::Terminate => 143,
        }
    }
}

/// The signal received, for the work to notice.
static STOP: OnceLock<watch::Sender<Option<Stop>>> = OnceLock::new();
/// Async work running now (see [`Runtime::block_on`]).
static ACTIVE: AtomicUsize = AtomicUsize::new(0);
/// Set by the first thread that exits, so the line is printed once.
static EXITING: AtomicBool = AtomicBool::new(false);

/// Prints the one line and exits with the signal's status.
fn exit(stop: Stop) -> ! {
    if !EXITING.swap(true, Ordering::SeqCst) {
        eprintln!("error: interrupted by {}", stop.name());
        std::process::exit(stop.exit_code());
    }
    // Another thread is exiting; wait for it.
    loop {
        std::thread::park();
    }
}

/// Registers the SIGINT and SIGTERM handlers and starts the thread that waits for them.
pub(crate) fn install() -> Result<(), Failure> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the signal thread's runtime")?;
    // Registered here, before any command runs, not later on the thread.
    let (mut int, mut term) = rt
        .block_on(async {
            Ok::<_, std::io::Error>((
                signal(SignalKind::interrupt())?,
                signal(SignalKind::terminate())?,
            ))
        })
        .context("installing the SIGINT/SIGTERM handlers")?;
    let tx = STOP.get_or_init(|| watch::channel(None).0).clone();
    std::thread::Builder::new()
        .name("oci-fetch-signals".to_owned())
        .spawn(move || {
            rt.block_on(async move {
                let first = tokio::select! {
                    _ = int.recv() => Stop::Interrupt,
                    _ = term.recv() => Stop::Terminate,
                };
                tx.send_replace(Some(first));
                if ACTIVE.load(Ordering::SeqCst) > 0 {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                        () = tokio::time::sleep(CLEANUP_GRACE) => {}
                    }
                }
                exit(first)
            })
        })
        .context("starting the signal thread")?;
    Ok(())
}

/// A single-threaded runtime for one command, whose work a signal interrupts.
#[derive(Debug)]
pub(crate) struct Runtime(tokio::runtime::Runtime);

/// A runtime for one command.
pub(crate) fn runtime() -> Result<Runtime, Failure> {
    Ok(Runtime(
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")?,
    ))
}

impl Runtime {
    /// Runs `work` to completion, unless SIGINT or SIGTERM arrives first: then `work` is
    /// dropped (its guards clean up) and the process exits (see the module docs).
    pub(crate) fn block_on<F: Future>(&self, work: F) -> F::Output {
        let Some(stop) = STOP.get() else {
            return self.0.block_on(work);
        };
        let mut rx = stop.subscribe();
        ACTIVE.fetch_add(1, Ordering::SeqCst);
        let out = self.0.block_on(async {
            tokio::select! {
                biased;
                stop = rx.wait_for(Option::is_some) => Err(stop.ok().and_then(|s| *s)),
                out = work => Ok(out),
            }
        });
        match out {
            Ok(out) => {
                ACTIVE.fetch_sub(1, Ordering::SeqCst);
                out
            }
            Err(stop) => {
                // `work` has been dropped by now: let the upload sessions it abandoned be
                // cancelled (`DELETE`s spawned on this runtime), briefly. The work still counts
                // as active until the exit below: the signal thread, finding none, would exit
                // the process at once, in the middle of these `DELETE`s (it waits for a second
                // signal or `CLEANUP_GRACE` instead).
                self.0.block_on(async {
                    let cancelled = oci_client::abandoned_uploads_cancelled();
                    let _ = tokio::time::timeout(UPLOAD_CANCEL_GRACE, cancelled).await;
                });
                exit(stop.unwrap_or(Stop::Interrupt))
            }
        }
    }
}
