//! The referrers half of the walk ([`Walker::referrers`]): after the graph, round after round,
//! the referrers the source lists for each manifest copied, per subject.
//!
//! At a destination registry a subject's referrers are listed once (the API, else the
//! fallback index) instead of a `HEAD` each. The API lists only manifests the registry stores;
//! a fallback index can name one the registry no longer has (deleted, or an entry written by
//! hand), so the referrers it lists are looked for, concurrently. Those not listed are pushed
//! without a `HEAD` (a manifest `PUT` is idempotent) and recorded in the subject's fallback
//! index in one edit ([`Repository::add_referrers`], which reads the index right before
//! writing it), so a referrer pushed by an interrupted run, or present as a node of the graph,
//! gets listed. One failing referrer (gone at the source) does not keep the others, of its
//! subject or of others, from being pushed and recorded; the copy then fails with the first
//! error. A destination required to have the referrers API that has none fails the listing:
//! referrers written there would be findable neither through the API nor through the tag.
//! A layout has each referrer looked for.

use std::collections::{HashMap, HashSet};

use futures_util::future::join_all;
use oci_client::{FallbackEdit, PushedManifest, Referrers, ReferrersSource, Repository};
use oci_ref::{Digest, Reference};

use super::{Dst, Role, Walker, check_depth, dst_error, is_index, is_manifest, lock};
use crate::copy::CopyError;
use crate::descriptor::Descriptor;

/// How the destination registry's listing of a subject shows one of the source's referrers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listed {
    /// Not listed: pushed without a `HEAD`, then recorded in the subject's fallback index.
    No,
    /// Listed by the referrers API, which lists only manifests the registry stores: present.
    Stored,
    /// Listed by the fallback index, which can name a manifest the registry no longer has
    /// (deleted, or an entry written by hand): looked for with a `HEAD` and pushed again when
    /// missing (its entry is there already).
    Indexed,
}

/// The values of `results`, and the first of their errors.
fn split<T>(results: Vec<Result<T, CopyError>>) -> (Vec<T>, Option<CopyError>) {
    let mut first = None;
    let mut values = Vec::with_capacity(results.len());
    for result in results {
        match result {
            Ok(v) => values.push(v),
            Err(e) => {
                first.get_or_insert(e);
            }
        }
    }
    (values, first)
}

impl Walker {
    /// Copies the referrers of every manifest copied so far, and theirs, round after round
    /// until none is left (each subject listed once). Within a round subjects are listed, and
    /// their referrers copied, concurrently: `oci-client` serialises the edits of one
    /// subject's fallback index at the destination, and a layout's `index.json` is edited under
    /// `index_edit`.
    pub(in crate::copy) async fn referrers(&self) -> Result<(), CopyError> {
        let mut failed = None;
        loop {
            let round: Vec<(Digest, usize)> = std::mem::take(&mut *lock(&self.pending))
                .into_iter()
                .filter(|(d, _)| lock(&self.listed).insert(d.clone()))
                .collect();
            if round.is_empty() {
                return failed.map_or(Ok(()), Err);
            }
            // Every subject runs to its end even when another fails, and the rounds go on to
            // the referrers of those that succeeded, so that what they pushed gets recorded:
            // otherwise one failing subject would leave the others' unlisted at every run.
            let listed = round
                .iter()
                .map(|(subject, depth)| self.subject_referrers(subject, depth + 1));
            if let (_, Some(e)) = split(join_all(listed).await) {
                failed.get_or_insert(e);
            }
        }
    }

    /// Copies the referrers the source lists for `subject` (at `referrer_depth`). At a
    /// destination registry, the subject's referrers are listed once: those it lists are
    /// there (only their own referrers are walked, in the next round), once a `HEAD` confirms
    /// it when the listing is the fallback index; the others are pushed without a `HEAD` (a
    /// manifest `PUT` is idempotent, and one the registry has from an interrupted copy must get
    /// listed all the same), then recorded in the subject's fallback index in one edit, where
    /// the registry needs it. A referrer that fails does not stop the others: those pushed are
    /// recorded, then the first failure is returned. A layout has each referrer looked for.
    async fn subject_referrers(
        &self,
        subject: &Digest,
        referrer_depth: usize,
    ) -> Result<(), CopyError> {
        let referrers = self.src_referrers(subject).await?;
        if referrers.is_empty() {
            return Ok(());
        }
        let Some((repo, reference, listing)) = self.dst_referrers(subject).await? else {
            let walked = referrers
                .iter()
                .map(|r| self.node(r, 0, referrer_depth, true));
            // Each one written is listed in the layout's index as it is written: one that
            // fails does not stop the others.
            return split(join_all(walked).await).1.map_or(Ok(()), Err);
        };
        let listed: HashSet<&Digest> = listing.descriptors.iter().map(|d| &d.digest).collect();
        let how = |r: &Descriptor| {
            if !listed.contains(&r.digest) {
                Listed::No
            } else if listing.source == ReferrersSource::Api {
                Listed::Stored
            } else {
                Listed::Indexed
            }
        };
        let copied = referrers
            .iter()
            .map(|r| self.referrer(subject, r, how(r), referrer_depth));
        let (copied, mut failed) = split(join_all(copied).await);
        // Each is recorded under the subject it names (a source may list a manifest under
        // another subject than its own).
        let mut by_subject: HashMap<Digest, Vec<PushedManifest>> = HashMap::new();
        for pushed in copied.into_iter().flatten() {
            if let Some(s) = pushed.subject.clone() {
                by_subject.entry(s).or_default().push(pushed);
            }
        }
        for (s, pushed) in by_subject {
            let _permit = self.permit().await;
            let recorded = repo
                .add_referrers(&s, &pushed)
                .await
                .map_err(dst_error(format!("record referrers of {s}"), reference));
            if let Err(e) = recorded {
                failed.get_or_insert(e);
            }
        }
        failed.map_or(Ok(()), Err)
    }

    /// The destination registry's referrers of `subject` (through the API, or the fallback
    /// index: the client remembers which the repository has), with the repository; `None` for
    /// a layout.
    ///
    /// # Errors
    ///
    /// [`CopyError::Destination`] when the listing fails, also when the referrers API is
    /// required ([`crate::copy::CopyOptions::referrers_source`]) and the registry has none: the referrers
    /// would be findable neither through the API nor through the fallback tag.
    async fn dst_referrers(
        &self,
        subject: &Digest,
    ) -> Result<Option<(&Repository, &Reference, Referrers)>, CopyError> {
        let Dst::Registry { repo, reference } = &self.dst else {
            return Ok(None);
        };
        let _permit = self.permit().await;
        let listing = repo
            .referrers(subject, None)
            .await
            .map_err(dst_error(format!("list referrers of {subject}"), reference))?;
        Ok(Some((repo, reference, listing)))
    }

    /// Copies referrer `desc`, shown by the destination registry's listing of `subject` as
    /// `listed`, once per digest (under its cell, which counts it once): a present one is
    /// counted and left for the next round; a missing one is pushed, after its content.
    /// Returns what its subject's fallback index must still record: an unlisted referrer this
    /// call pushed, or (pushed again) one this walk had found at the destination before, as a
    /// node of the graph or a referrer of another subject.
    async fn referrer(
        &self,
        subject: &Digest,
        desc: &Descriptor,
        listed: Listed,
        referrer_depth: usize,
    ) -> Result<Option<PushedManifest>, CopyError> {
        let (mut pushed, mut ran) = (None, false);
        let slot = (&mut pushed, &mut ran);
        let visit = move || async move {
            *slot.1 = true;
            let present = match listed {
                Listed::No => false,
                Listed::Stored => true,
                Listed::Indexed => self.dst_has_manifest(desc).await?,
            };
            if present {
                check_depth(desc, 0, referrer_depth)?;
                lock(&self.pending).push((desc.digest.clone(), referrer_depth));
                self.count(false, desc.size);
            } else {
                *slot.0 = self.visit(desc, 0, referrer_depth, Role::Unlisted).await?;
            }
            Ok::<(), CopyError>(())
        };
        self.cell(&desc.digest).get_or_try_init(visit).await?;
        if listed != Listed::No {
            // Listed: its entry is there, also when it had to be pushed again — unless the
            // manifest names another subject (a source may list it under one that is not its
            // own): then its own subject's index must still record it.
            return Ok(pushed.filter(|p| p.subject.as_ref() != Some(subject)));
        }
        if !ran && !lock(&self.pushed).contains(&desc.digest) {
            return self.push_again(desc).await;
        }
        Ok(pushed)
    }

    /// Pushes again manifest `desc`, found at the destination registry earlier in this walk
    /// (its content is there), deferring its fallback index entry to the caller. Nothing for a
    /// layout or a blob. The walk counted it as skipped; transferred now, it counts as copied
    /// instead (once, however many subjects list it), so a run whose only change is getting
    /// it listed is not reported as a no-op ([`crate::copy::CopyStats::is_noop`]).
    async fn push_again(&self, desc: &Descriptor) -> Result<Option<PushedManifest>, CopyError> {
        let Dst::Registry { repo, reference } = &self.dst else {
            return Ok(None);
        };
        if !is_index(&desc.media_type) && !is_manifest(&desc.media_type) {
            return Ok(None);
        }
        let bytes = self.src_manifest(desc).await?;
        let _permit = self.permit().await;
        let pushed = self.push_to((repo, reference), desc, bytes, FallbackEdit::Deferred);
        let (pushed, first) = pushed.await?;
        if first {
            self.recount_as_copied(desc.size);
        }
        Ok(Some(pushed))
    }
}
