//! Referrers: the API (`GET /v2/<name>/referrers/<digest>?artifactType=`) with the tag-schema
//! fallback, and maintenance of the fallback index when pushing a manifest with a `subject`:
//! at once ([`Repository::push_manifest`]), or for several referrers of one subject in one
//! edit ([`Repository::push_manifest_with`] and [`FallbackEdit::Deferred`], then
//! [`Repository::add_referrers`]: what a copy does, one `GET` and one `PUT` of the index per
//! subject instead of one of each per referrer). The edit reads the index right before writing
//! it back, under the subject's lock, never from an earlier listing: a listing may be as old as
//! the pushes of every referrer it led to, and an entry another process added since (`oras
//! attach` on the same subject) would be lost by a write built on it.
//!
//! [distribution-spec v1.1 § Listing Referrers](https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#listing-referrers)
//! and [§ Referrers Tag Schema](https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#referrers-tag-schema).
//!
//! # What a client remembers
//!
//! Per repository, shared by every [`Repository`] handle one [`crate::Client`] gives out on it
//! (clones, and separate [`crate::Client::repository`] calls), for as long as a handle lives:
//!
//! - **whether the referrers API exists** (oras-go's per-repository "referrers capability"). The
//!   spec says a registry with the API "MUST NOT return 404" for a repository it has, so the
//!   first `404` from the API (one that does not name a missing repository with `NAME_UNKNOWN`)
//!   marks it absent, and later [`Repository::referrers`] calls and fallback deletions go
//!   straight to the tag schema: one request instead of two. An answer from the API, or a push
//!   the registry confirms with `OCI-Subject`, marks it present.
//!   [`Repository::with_referrers_source`] overrides what was learned.
//! - **one lock per subject** whose fallback index is being rewritten, so that referrers of one
//!   subject pushed (or deleted) concurrently through one client never lose an entry.
//!
//! # Deviation
//!
//! The fallback index is updated read-modify-write without a conditional request (`If-Match`):
//! within one client the updates of a subject's index are serialised, but two clients (or two
//! processes) attaching to the same subject at the same moment may lose one entry, as with
//! oras-go.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use bytes::Bytes;
use futures_util::TryStreamExt;
use oci_ref::media_type::OCI_INDEX;
use oci_ref::{Digest, Tag, TagOrDigest};
use reqwest::Method;
use reqwest::header::{self, HeaderValue};

use crate::error::{Error, ErrorCode, Protocol};
use crate::manifest::PushedManifest;
use crate::pager::Pager;
use crate::repository::{Access, Repository};
use crate::transport::Req;
use crate::urls::encode_query_value;
use oci_ref::model::Descriptor;

/// Where a referrers answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReferrersSource {
    /// The registry's referrers API.
    Api,
    /// The `<alg>-<hex>` fallback tag (the registry has no referrers API).
    TagSchema,
}

/// The manifests that refer to a subject.
#[derive(Debug, Clone)]
pub struct Referrers {
    /// Their descriptors, filtered by artifact type when one was asked for.
    pub descriptors: Vec<Descriptor>,
    /// Where they came from.
    pub source: ReferrersSource,
}

/// When [`Repository::push_manifest_with`] records a manifest with a `subject` in the
/// subject's fallback index (where the repository maintains one: see
/// [`Repository::with_referrers_source`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FallbackEdit {
    /// Right after the push, one edit per manifest ([`Repository::push_manifest`]).
    #[default]
    Now,
    /// Not now: the caller records it with [`Repository::add_referrers`], together with the
    /// other referrers of its subject it pushes.
    Deferred,
}

/// [`ReferrersState::api`]: the referrers API answered (or a push was confirmed).
const API_PRESENT: u8 = 1;
/// [`ReferrersState::api`]: the referrers API answered 404.
const API_ABSENT: u8 = 2;

/// What a client learned about the referrers of one repository (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct ReferrersState {
    /// 0 while unknown, then [`API_PRESENT`] or [`API_ABSENT`].
    api: AtomicU8,
    /// The lock of each subject whose fallback index is being edited (dead entries are pruned
    /// when a new one is added).
    edits: Mutex<HashMap<Digest, Weak<tokio::sync::Mutex<()>>>>,
}

/// The [`ReferrersState`] of every repository a client has a live handle on, by registry and
/// name.
#[derive(Debug, Default)]
pub(crate) struct ReferrersStates(Mutex<HashMap<(String, String), Weak<ReferrersState>>>);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The live value under `key` in a map of weak references, else a new one (dead entries are
/// dropped then, so the map holds what is in use plus one).
fn shared<K: std::hash::Hash + Eq, V: Default>(map: &Mutex<HashMap<K, Weak<V>>>, key: K) -> Arc<V> {
    let mut map = lock(map);
    if let Some(live) = map.get(&key).and_then(Weak::upgrade) {
        return live;
    }
    map.retain(|_, v| v.strong_count() > 0);
    let new = Arc::new(V::default());
    map.insert(key, Arc::downgrade(&new));
    new
}

impl ReferrersStates {
    /// The state shared by the handles on `registry`/`name`.
    pub(crate) fn of(&self, registry: &str, name: &str) -> Arc<ReferrersState> {
        shared(&self.0, (registry.to_owned(), name.to_owned()))
    }
}

impl ReferrersState {
    fn api(&self) -> Option<bool> {
        match self.api.load(Ordering::Relaxed) {
            API_PRESENT => Some(true),
            API_ABSENT => Some(false),
            _ => None,
        }
    }

    fn learn_api(&self, present: bool) {
        let v = if present { API_PRESENT } else { API_ABSENT };
        self.api.store(v, Ordering::Relaxed);
    }

    /// Waits until no other edit of `subject`'s fallback index runs; the guard ends this one.
    async fn edit(&self, subject: &Digest) -> tokio::sync::OwnedMutexGuard<()> {
        shared(&self.edits, subject.clone()).lock_owned().await
    }
}

/// Whether a 404 from the referrers API says the API is absent: not when the registry names the
/// repository as unknown (a registry with the API answers so for a repository it lacks).
fn api_absent(e: &Error) -> bool {
    e.status() == Some(404) && !e.codes().any(|c| *c == ErrorCode::NameUnknown)
}

#[derive(serde::Deserialize)]
struct IndexPage {
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

impl Repository {
    /// The referrers of `subject`, optionally only those of `artifact_type`. By default uses the
    /// API and on `404` falls back to the tag schema (a missing or non-index tag means none);
    /// once the API answered 404 for this repository, later calls through this client read the
    /// tag schema directly (see the module docs). [`Repository::with_referrers_source`] fixes
    /// the source instead.
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] when the registry cannot be reached or the connection breaks (after the
    /// retries of the client's [`RetryPolicy`](crate::RetryPolicy)), [`Error::Auth`] when
    /// authentication fails, [`Error::Registry`] for an error status (see [`Error::is_not_found`],
    /// [`Error::is_unauthorized`]) other than the API's 404 (which falls back to the tag schema,
    /// unless the source is fixed to [`ReferrersSource::Api`]: then it is [`Error::Protocol`] with
    /// [`Protocol::NoReferrersApi`]); [`Error::Protocol`] for a page that is not JSON,
    /// [`Error::LimitExceeded`] beyond the page limits.
    pub async fn referrers(
        &self,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Referrers, Error> {
        let tag_schema = || async {
            Ok(Referrers {
                descriptors: self.referrers_fallback(subject, artifact_type).await?,
                source: ReferrersSource::TagSchema,
            })
        };
        let skip_api = match self.referrers_source {
            Some(ReferrersSource::TagSchema) => true,
            Some(ReferrersSource::Api) => false,
            None => self.referrers_api_known() == Some(false),
        };
        if skip_api {
            return tag_schema().await;
        }
        match self.referrers_api(subject, artifact_type).await {
            Ok(descriptors) => Ok(Referrers {
                descriptors,
                source: ReferrersSource::Api,
            }),
            Err(e) if e.status() == Some(404) => {
                if self.referrers_source == Some(ReferrersSource::Api) {
                    return Err(Error::protocol(
                        self.base.as_str(),
                        Protocol::NoReferrersApi,
                    ));
                }
                tag_schema().await
            }
            Err(e) => Err(e),
        }
    }

    /// What this client learned about the repository's referrers API: `Some(true)` after an
    /// answer from it (or a push confirmed with `OCI-Subject`), `Some(false)` after a 404 that
    /// shows it absent, `None` before either. Shared by every handle on the repository from the
    /// same client; [`Repository::with_referrers_source`] does not change it.
    pub fn referrers_api_known(&self) -> Option<bool> {
        self.referrers.api()
    }

    /// Records that the registry confirmed a subject with `OCI-Subject` (it has the API).
    pub(crate) fn learn_referrers_api(&self) {
        self.referrers.learn_api(true);
    }

    /// Whether pushing or deleting a referrer must maintain the fallback index: fixed by
    /// [`Repository::with_referrers_source`], else `detected` (the registry showed no API).
    pub(crate) fn maintains_fallback(&self, detected: bool) -> bool {
        match self.referrers_source {
            Some(ReferrersSource::Api) => false,
            Some(ReferrersSource::TagSchema) => true,
            None => detected,
        }
    }

    async fn referrers_api(
        &self,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>, Error> {
        let target = self.target(Access::Pull)?;
        let mut url = self.url(&format!("referrers/{subject}"))?;
        if let Some(t) = artifact_type {
            url.set_query(Some(&format!("artifactType={}", encode_query_value(t))));
        }
        let pages = Pager::new(self.client.inner.clone(), target, url)
            .accept(HeaderValue::from_static(OCI_INDEX))
            .pages();
        let pages: Vec<_> = match pages.try_collect().await {
            Ok(pages) => pages,
            Err(e) => {
                if api_absent(&e) {
                    self.referrers.learn_api(false);
                }
                return Err(e);
            }
        };
        self.referrers.learn_api(true);
        let mut out = Vec::new();
        for page in pages {
            let parsed: IndexPage = serde_json::from_slice(&page.body)
                .map_err(|_| Error::protocol(&page.url, Protocol::InvalidJson))?;
            let applied = page
                .headers
                .get_all("oci-filters-applied")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .any(|f| f.trim() == "artifactType");
            out.extend(
                parsed
                    .manifests
                    .into_iter()
                    .filter(|d| applied || matches(d, artifact_type)),
            );
        }
        Ok(out)
    }

    /// The referrers the fallback index lists (a missing or non-index tag lists none).
    async fn referrers_fallback(
        &self,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>, Error> {
        let tag = TagOrDigest::Tag(Tag::referrers_fallback(subject));
        let manifest = match self.fetch_manifest(&tag).await {
            Ok(m) => m,
            Err(e) if e.is_not_found() => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        if !manifest.is_index() {
            return Ok(Vec::new());
        }
        let Ok(parsed) = serde_json::from_slice::<IndexPage>(manifest.bytes()) else {
            return Ok(Vec::new());
        };
        Ok(parsed
            .manifests
            .into_iter()
            .filter(|d| matches(d, artifact_type))
            .collect())
    }

    /// After deleting manifest `deleted` whose subject is `subject`: when the registry has no
    /// referrers API, removes it from the fallback index.
    pub(crate) async fn remove_from_referrers_fallback(
        &self,
        subject: &Digest,
        deleted: &Digest,
    ) -> Result<(), Error> {
        let no_api = match (self.referrers_source, self.referrers_api_known()) {
            (Some(_), _) => false,
            (None, Some(present)) => !present,
            // Detection: the fallback index is only kept by clients of registries without API.
            (None, None) => match self.referrers_api(subject, None).await {
                Ok(_) => false,
                Err(e) if e.status() == Some(404) => true,
                Err(e) => return Err(e),
            },
        };
        if !self.maintains_fallback(no_api) {
            return Ok(());
        }
        let _edit = self.referrers.edit(subject).await;
        let tag = TagOrDigest::Tag(Tag::referrers_fallback(subject));
        let manifest = match self.fetch_manifest(&tag).await {
            Ok(m) if m.is_index() => m,
            Ok(_) => return Ok(()),
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e),
        };
        let Ok(mut index) = serde_json::from_slice::<serde_json::Value>(manifest.bytes()) else {
            return Ok(());
        };
        let Some(manifests) = index.get_mut("manifests").and_then(|m| m.as_array_mut()) else {
            return Ok(());
        };
        let before = manifests.len();
        manifests.retain(|d| d.get("digest").and_then(|v| v.as_str()) != Some(deleted.as_str()));
        if manifests.len() == before {
            return Ok(());
        }
        self.put_index(&tag, &index).await
    }

    async fn put_index(&self, tag: &TagOrDigest, index: &serde_json::Value) -> Result<(), Error> {
        let body = serde_json::to_vec(index).map_err(|e| Error::InvalidInput {
            what: "referrers index",
            source: Some(Box::new(e)),
        })?;
        let target = self.target(Access::Push)?;
        let url = self.manifest_url(tag)?;
        let req = Req::new(Method::PUT, url)
            .header(header::CONTENT_TYPE, HeaderValue::from_static(OCI_INDEX))
            .body(Bytes::from(body))
            .idempotent(true);
        self.send_ok(&target, req).await?;
        Ok(())
    }

    /// Records `pushed`, manifests pushed with a `subject` of `subject` (by
    /// [`Repository::push_manifest_with`]), in the subject's fallback index, in one edit: those
    /// for which the repository maintains the index, as [`Repository::push_manifest`] decides
    /// (fixed by [`Repository::with_referrers_source`], else where the registry did not confirm
    /// the subject with `OCI-Subject`). Entries the index has already are left as they are,
    /// so recording a manifest twice is harmless. Edits of one subject's index through this
    /// client run one at a time.
    ///
    /// The edit reads the index and writes it back (a `GET`, and a `PUT` unless every entry is
    /// there already), the read under the subject's lock right before the write, so that the
    /// window in which another process's edit of the same index can be lost is one round trip
    /// (see the module docs).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when one of `pushed` has another subject or none;
    /// [`Error::Protocol`] with [`Protocol::ReferrersTagNotIndex`] when the fallback tag names
    /// something else than an index; and the errors of [`Repository::fetch_manifest`] and
    /// [`Repository::push_manifest`] for reading and writing the index.
    pub async fn add_referrers(
        &self,
        subject: &Digest,
        pushed: &[PushedManifest],
    ) -> Result<(), Error> {
        if pushed.iter().any(|p| p.subject.as_ref() != Some(subject)) {
            return Err(Error::InvalidInput {
                what: "referrer to record (its subject is another manifest)",
                source: None,
            });
        }
        let entries: Vec<&serde_json::Value> = pushed
            .iter()
            .filter(|p| self.maintains_fallback(!p.subject_confirmed))
            .filter_map(|p| p.listed_as.as_ref())
            .collect();
        if entries.is_empty() {
            return Ok(());
        }
        let _edit = self.referrers.edit(subject).await;
        let tag = TagOrDigest::Tag(Tag::referrers_fallback(subject));
        let mut index = match self.fetch_manifest(&tag).await {
            Ok(m) if m.is_index() => serde_json::from_slice(m.bytes())
                .map_err(|_| Error::protocol(self.base.as_str(), Protocol::ReferrersTagNotIndex))?,
            Ok(_) => {
                return Err(Error::protocol(
                    self.base.as_str(),
                    Protocol::ReferrersTagNotIndex,
                ));
            }
            Err(e) if e.is_not_found() => empty_index(),
            Err(e) => return Err(e),
        };
        let Some(manifests) = index.get_mut("manifests").and_then(|m| m.as_array_mut()) else {
            return Err(Error::protocol(
                self.base.as_str(),
                Protocol::ReferrersTagNotIndex,
            ));
        };
        let before = manifests.len();
        for entry in entries {
            let digest = entry.get("digest");
            if !manifests.iter().any(|d| d.get("digest") == digest) {
                manifests.push(entry.clone());
            }
        }
        if manifests.len() == before {
            return Ok(());
        }
        self.put_index(&tag, &index).await
    }
}

/// A fallback index listing no referrers yet.
fn empty_index() -> serde_json::Value {
    serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [],
    })
}

fn matches(d: &Descriptor, artifact_type: Option<&str>) -> bool {
    match artifact_type {
        None => true,
        Some(want) => d.artifact_type.as_deref() == Some(want),
    }
}

/// The descriptor written into a fallback index: `artifactType` is the manifest's, else its
/// config's media type (none for an index without one); its annotations are copied.
pub(crate) fn referrer_descriptor(descriptor: &Descriptor, bytes: &[u8]) -> serde_json::Value {
    let body: serde_json::Value = serde_json::from_slice(bytes).unwrap_or(serde_json::Value::Null);
    let artifact_type = body
        .get("artifactType")
        .and_then(|v| v.as_str())
        .or_else(|| {
            body.get("config")
                .and_then(|c| c.get("mediaType"))
                .and_then(|v| v.as_str())
        });
    let mut d = serde_json::json!({
        "mediaType": descriptor.media_type,
        "digest": descriptor.digest.as_str(),
        "size": descriptor.size,
    });
    if let Some(obj) = d.as_object_mut() {
        if let Some(t) = artifact_type {
            obj.insert("artifactType".into(), t.into());
        }
        if let Some(a) = body.get("annotations").filter(|a| a.is_object()) {
            obj.insert("annotations".into(), a.clone());
        }
    }
    d
}
