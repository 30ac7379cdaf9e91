//! Progress bars on stderr, fed by the library's [`ProgressEvent`]s: one bar per blob being
//! downloaded or copied (keyed by digest) or file being uploaded (keyed by path), made when its
//! transfer starts. Shown only on a terminal and never with `--no-progress` or `--json`
//! ([`GlobalArgs::progress`](crate::common::GlobalArgs::progress) decides); every command that
//! moves bytes (`pull`, `push`, `attach`, `blob fetch`, `copy`, `mirror`) uses this one module.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use oci_fetch::progress::{ProgressEvent, ProgressSink};
use oci_ref::Digest;

/// What a bar follows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    /// A blob being downloaded.
    Blob(Digest),
    /// A file being uploaded.
    File(PathBuf),
}

/// The bars of one command, with the names to show for the blobs and files it moves.
struct Bars {
    multi: MultiProgress,
    style: ProgressStyle,
    names: HashMap<Key, String>,
    bars: HashMap<Key, ProgressBar>,
}

impl Bars {
    /// The bar for `key`, made (at 0 of `total`) if it does not exist yet.
    fn bar(&mut self, key: Key, total: u64) -> &ProgressBar {
        let Bars {
            multi,
            style,
            names,
            bars,
        } = self;
        bars.entry(key.clone()).or_insert_with(|| {
            let bar = multi.add(ProgressBar::new(total));
            bar.set_style(style.clone());
            bar.set_message(names.get(&key).cloned().unwrap_or_else(|| match &key {
                Key::Blob(d) => d.to_string(),
                Key::File(p) => p.display().to_string(),
            }));
            bar
        })
    }

    fn get(&self, key: &Key) -> Option<&ProgressBar> {
        self.bars.get(key)
    }

    /// Finishes `key`'s bar (filled first when `fill`) and lets it go: its last line stays on
    /// screen, and a command moving more blobs than the terminal has lines keeps drawing the
    /// bars still running instead of a screen of finished ones.
    fn finish(&mut self, key: &Key, fill: bool) {
        if let Some(b) = self.bars.remove(key) {
            if fill {
                b.set_position(b.length().unwrap_or(0));
            }
            b.finish();
        }
    }

    fn on(&mut self, event: ProgressEvent) {
        match event {
            ProgressEvent::Started {
                digest,
                bytes,
                total,
            }
            | ProgressEvent::Advanced {
                digest,
                bytes,
                total,
                ..
            } => self.bar(Key::Blob(digest), total).set_position(bytes),
            ProgressEvent::Restarted { digest } => {
                if let Some(b) = self.get(&Key::Blob(digest)) {
                    b.set_position(0);
                }
            }
            ProgressEvent::Finished { digest, .. } | ProgressEvent::Sent { digest } => {
                self.finish(&Key::Blob(digest), false);
            }
            ProgressEvent::UploadStarted { path, total } => {
                self.bar(Key::File(path), total).set_position(0);
            }
            ProgressEvent::UploadAdvanced { path, bytes, total } => {
                self.bar(Key::File(path), total).set_position(bytes);
            }
            ProgressEvent::UploadFinished { path, .. } => {
                self.finish(&Key::File(path), true);
            }
            _ => {}
        }
    }
}

/// A sink drawing bars on stderr; `names` labels the blobs and files (a layer's title, a file
/// name), others show their digest or path.
pub(crate) fn bars(names: impl IntoIterator<Item = (Key, String)>) -> ProgressSink {
    let style = ProgressStyle::with_template(
        "{msg:30!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    let bars = Arc::new(Mutex::new(Bars {
        multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
        style,
        names: names.into_iter().collect(),
        bars: HashMap::new(),
    }));
    ProgressSink::new(move |event| {
        bars.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .on(event);
    })
}
