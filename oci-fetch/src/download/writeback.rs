//! Background writeback: a thread that asks the kernel to write a file's dirty pages to disk
//! while the download is still running, so the `fsync` before the rename finds little left.
//!
//! Without it, a 1 GiB download ends with the whole GiB still in the page cache and the final
//! `fsync` waits for all of it (on this project's benchmark machine, as long as the transfer
//! itself). Every [`WRITEBACK_INTERVAL_BYTES`] written, the writer nudges the thread, which
//! calls `fdatasync` on its own handle of the file; the writer never waits for it. Errors there
//! are ignored: the final `fsync` reports any that matter.

use std::fs::File;
use std::io;
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

/// Bytes written between two writeback nudges (64 MiB): large enough that the syncs cost
/// nothing measurable, small enough that the final `fsync` has at most this much to write.
pub const WRITEBACK_INTERVAL_BYTES: u64 = 64 * 1024 * 1024;

/// The writeback thread of one file.
#[derive(Debug)]
pub(super) struct Writeback {
    nudge: Option<SyncSender<()>>,
    handle: Option<JoinHandle<()>>,
    since: u64,
}

impl Writeback {
    /// Starts the thread on a second handle of `file`.
    pub(super) fn start(file: &File) -> io::Result<Writeback> {
        let own = file.try_clone()?;
        let (tx, rx) = sync_channel::<()>(1);
        let handle = std::thread::Builder::new()
            .name("oci-fetch-writeback".to_owned())
            .spawn(move || {
                while rx.recv().is_ok() {
                    let _ = own.sync_data();
                }
            })?;
        Ok(Writeback {
            nudge: Some(tx),
            handle: Some(handle),
            since: 0,
        })
    }

    /// Counts `n` bytes written; nudges the thread every [`WRITEBACK_INTERVAL_BYTES`] (never
    /// blocking: a nudge while a sync runs is merged into the next one).
    pub(super) fn wrote(&mut self, n: usize) {
        self.since += n as u64;
        if self.since >= WRITEBACK_INTERVAL_BYTES {
            self.since = 0;
            if let Some(tx) = &self.nudge
                && let Err(TrySendError::Disconnected(())) = tx.try_send(())
            {
                self.nudge = None;
            }
        }
    }

    /// The file was truncated: count from zero again.
    pub(super) fn reset(&mut self) {
        self.since = 0;
    }

    /// Stops the thread and waits for it (a running sync finishes first).
    pub(super) fn stop(&mut self) {
        self.nudge = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Writeback {
    fn drop(&mut self) {
        // Never wait on drop (a failed download must not block on the disk): dropping the
        // sender ends the thread after its current sync.
        self.nudge = None;
    }
}
