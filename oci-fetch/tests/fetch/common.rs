//! Shared fixtures: payloads, digests, a scriptable hostile blob source, directory checks.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use oci_fetch::descriptor::Descriptor;
use oci_fetch::download::DownloadOptions;
use oci_fetch::source::{BlobBody, BlobSource, BoxFuture, SourceError, SourceErrorKind};
use oci_ref::Digest;

/// Deterministic pseudo-random bytes (no compression-friendly runs).
pub(crate) fn payload(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

pub(crate) fn sha256(bytes: &[u8]) -> Digest {
    oci_testkit::sha256(bytes).parse().expect("a sha256 digest")
}

pub(crate) fn descriptor(media_type: &str, bytes: &[u8]) -> Descriptor {
    Descriptor::new(media_type, sha256(bytes), bytes.len() as u64)
}

/// Options that retry fast and detect stalls quickly.
pub(crate) fn fast_opts() -> DownloadOptions {
    let mut o = DownloadOptions::default();
    o.backoff_initial = Duration::from_millis(1);
    o.backoff_max = Duration::from_millis(5);
    o.stall_timeout = Duration::from_millis(300);
    o
}

/// Names of the entries in `dir`, sorted.
pub(crate) fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read test dir")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    v.sort();
    v
}

/// After a failure: nothing at the destination, no temporary files.
pub(crate) fn assert_empty(dir: &Path) {
    assert_eq!(
        entries(dir),
        Vec::<String>::new(),
        "directory must be empty after a failure"
    );
}

/// How one `open` of the hostile source behaves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Open {
    /// Serve the requested range honestly.
    Honest,
    /// Serve honestly but end the body cleanly at this absolute position.
    EndAt(u64),
    /// Serve honestly but fail with a transient error at this absolute position.
    FailAt(u64),
    /// Ignore the range: serve from byte 0.
    IgnoreRange,
    /// Claim (and serve) a range starting this many bytes after the requested offset.
    WrongOffset(u64),
    /// Serve until this absolute position, then never send another byte.
    StallAt(u64),
    /// Never answer the open.
    NeverAnswer,
    /// Answer with a permanent error.
    Permanent,
}

/// A blob source that follows a script of behaviours, one per `open`, then is honest.
pub(crate) struct Hostile {
    pub(crate) data: Bytes,
    pub(crate) digest: Digest,
    pub(crate) chunk: usize,
    pub(crate) content_length: bool,
    pub(crate) script: Mutex<Vec<Open>>,
    pub(crate) opens: AtomicU32,
    pub(crate) offsets: Mutex<Vec<u64>>,
}

impl Hostile {
    /// A source serving `data` under its honest digest.
    pub(crate) fn new(data: impl Into<Bytes>) -> Hostile {
        let data = data.into();
        let digest = sha256(&data);
        Hostile {
            data,
            digest,
            chunk: 4096,
            content_length: true,
            script: Mutex::new(Vec::new()),
            opens: AtomicU32::new(0),
            offsets: Mutex::new(Vec::new()),
        }
    }

    /// Serves `data` but claims `digest` for it (a lying source).
    pub(crate) fn lying(data: impl Into<Bytes>, digest: Digest) -> Hostile {
        Hostile {
            digest,
            ..Hostile::new(data)
        }
    }

    pub(crate) fn chunk(mut self, chunk: usize) -> Self {
        self.chunk = chunk.max(1);
        self
    }

    pub(crate) fn content_length(mut self, yes: bool) -> Self {
        self.content_length = yes;
        self
    }

    pub(crate) fn script(self, script: &[Open]) -> Self {
        *self.script.lock().expect("lock") = script.iter().rev().copied().collect();
        self
    }

    pub(crate) fn opens(&self) -> u32 {
        self.opens.load(Ordering::SeqCst)
    }

    pub(crate) fn offsets(&self) -> Vec<u64> {
        self.offsets.lock().expect("lock").clone()
    }

    fn body(&self, from: u64, end: Option<u64>, tail: Tail) -> BlobBody {
        let len = self.data.len() as u64;
        let from = from.min(len);
        let stop = end.unwrap_or(len).clamp(from, len);
        let slice = self.data.slice(from as usize..stop as usize);
        let chunks: Vec<Result<Bytes, SourceError>> = (0..slice.len())
            .step_by(self.chunk)
            .map(|i| Ok(slice.slice(i..(i + self.chunk).min(slice.len()))))
            .collect();
        let head = futures_util::stream::iter(chunks);
        let stream = match tail {
            Tail::End => head.boxed(),
            Tail::Fail => head
                .chain(futures_util::stream::iter([Err(SourceError::from_kind(
                    SourceErrorKind::Transient,
                ))]))
                .boxed(),
            Tail::Stall => head.chain(futures_util::stream::pending()).boxed(),
        };
        BlobBody {
            stream,
            content_length: self.content_length.then_some(len - from),
            offset_applied: from,
        }
    }
}

#[derive(Clone, Copy)]
enum Tail {
    End,
    Fail,
    Stall,
}

impl BlobSource for Hostile {
    fn open<'a>(
        &'a self,
        digest: &'a Digest,
        offset: u64,
    ) -> BoxFuture<'a, Result<BlobBody, SourceError>> {
        Box::pin(async move {
            self.opens.fetch_add(1, Ordering::SeqCst);
            self.offsets.lock().expect("lock").push(offset);
            if digest != &self.digest {
                return Err(SourceError::from_kind(SourceErrorKind::NotFound));
            }
            let step = self
                .script
                .lock()
                .expect("lock")
                .pop()
                .unwrap_or(Open::Honest);
            match step {
                Open::Honest => Ok(self.body(offset, None, Tail::End)),
                Open::EndAt(p) => Ok(self.body(offset, Some(p), Tail::End)),
                Open::FailAt(p) => Ok(self.body(offset, Some(p), Tail::Fail)),
                Open::IgnoreRange => Ok(self.body(0, None, Tail::End)),
                Open::WrongOffset(d) => Ok(self.body(offset + d, None, Tail::End)),
                Open::StallAt(p) => Ok(self.body(offset, Some(p), Tail::Stall)),
                Open::NeverAnswer => {
                    futures_util::future::pending::<()>().await;
                    Err(SourceError::from_kind(SourceErrorKind::Transient))
                }
                Open::Permanent => Err(SourceError::from_kind(SourceErrorKind::Permanent)),
            }
        })
    }
}

/// A source reading `reference` through a registries.conf whose `primary` location has one
/// mirror, `mirror` (hosts), over plain HTTP, without retries.
pub(crate) fn through_mirror(
    primary: &str,
    mirror: &str,
    reference: &oci_ref::Reference,
) -> oci_fetch::registry::RegistrySource {
    let conf = format!(
        "[[registry]]\nprefix = \"{primary}\"\nlocation = \"{primary}\"\n\n\
         [[registry.mirror]]\nlocation = \"{mirror}\"\n"
    );
    let conf = oci_client::registries::RegistriesConf::parse_str(&conf, "registries.conf")
        .expect("registries.conf");
    let sources = conf.pull_sources(reference).expect("pull sources");
    assert_eq!(sources.len(), 2, "{sources:?}");
    let client = oci_client::Client::builder()
        .plain_http(primary)
        .plain_http(mirror)
        .keychain(oci_auth::Keychain::empty())
        .retry_policy(oci_client::RetryPolicy::none())
        .build()
        .expect("client");
    oci_fetch::registry::RegistrySource::new(&client, reference, sources).expect("source")
}

/// What the tests ask of a scriptable registry (`oci_testkit::server::Server` on loopback).
pub(crate) trait RegistryExt {
    /// A reference on this registry.
    fn reference(&self, rest: &str) -> oci_ref::Reference;
    /// A plain-HTTP client without retries.
    fn client(&self, keychain: oci_auth::Keychain) -> oci_client::Client;
}

impl RegistryExt for oci_testkit::server::Server {
    fn reference(&self, rest: &str) -> oci_ref::Reference {
        format!("{}/{rest}", self.registry())
            .parse()
            .expect("reference")
    }

    fn client(&self, keychain: oci_auth::Keychain) -> oci_client::Client {
        oci_client::Client::builder()
            .plain_http(&self.registry())
            .keychain(keychain)
            .retry_policy(oci_client::RetryPolicy::none())
            .build()
            .expect("client")
    }
}
