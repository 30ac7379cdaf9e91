//! Choosing exactly the right artifact from an OCI index, and explaining why.
//!
//! # Where this sits
//!
//! Depends only on `oci-ref` (for [`Digest`](oci_ref::Digest)) and pure serde/toml parsing;
//! used by `oci-fetch`'s resolver. Selection is a pure function of candidates and a policy: this
//! crate performs no IO, has no async code, never panics, and has no path to tokio, reqwest or
//! hyper. It does not fetch manifests: it says which ones it needs ([`Policy::fetch_plan`]) and
//! the resolver fetches them, concurrently, and attaches them.
//!
//! The model:
//!
//! - a [`Candidate`] is an index entry (or the single manifest a tag points at, the ORAS
//!   one-tag-one-artifact model): digest, media type, size, artifact type, [`Platform`],
//!   annotations, position, and — once fetched — [`ManifestFacts`] (layers, config media type,
//!   manifest annotations);
//! - a [`Rule`] rejects a candidate with a reason, ranks it with an orderable key, or abstains;
//! - a [`Policy`] is an ordered list of rules: rejected candidates are out, the rest are sorted
//!   by their rank keys in rule order, ties broken by index order;
//! - an [`Explanation`] gives every candidate's fate (for people as a table via `Display`, for
//!   programs via `serde`).
//!
//! Presets: [`Policy::ironic`] reproduces OpenStack Ironic's `identify_specific_image` choice
//! exactly (architecture aliases, `disktype` preference by download source, single-layer
//! artifacts, container images as "bootc"), and [`Policy::platform`] is a containerd-like
//! platform match. Users who don't write Rust write a policy file ([`file`](mod@file),
//! [`Policy::from_toml`]).
//!
//! # Example
//!
//! The resolver's loop: tell an index from a single manifest ([`classify`]), build candidates,
//! fetch only the manifests the policy needs, select.
//!
//! ```
//! use oci_select::{Candidate, DiskFormat, DownloadSource, ManifestFacts, Policy, VerdictKind};
//!
//! let sha = |c: char| format!("sha256:{}", c.to_string().repeat(64));
//! let index = format!(
//!     r#"{{"manifests": [
//!         {{"digest": "{}", "mediaType": "application/vnd.oci.image.manifest.v1+json",
//!          "platform": {{"os": "linux", "architecture": "x86_64"}},
//!          "annotations": {{"disktype": "hyperv"}}}},
//!         {{"digest": "{}", "mediaType": "application/vnd.oci.image.manifest.v1+json",
//!          "platform": {{"os": "linux", "architecture": "x86_64"}},
//!          "annotations": {{"disktype": "qemu"}}}}
//!     ]}}"#,
//!     sha('a'),
//!     sha('b'),
//! );
//! let mut candidates = Candidate::from_index(index.as_bytes())?;
//!
//! // Ironic with `image_download_source = local` on an amd64 machine.
//! let policy = Policy::ironic(DownloadSource::Local, Some("amd64"));
//!
//! // The policy asks for the manifests it needs, best candidate first: only the qemu entry's.
//! let plan = policy.fetch_plan(&candidates);
//! assert_eq!(plan.required, vec![1]);
//! let manifest = format!(
//!     r#"{{"schemaVersion": 2, "artifactType": "application/vnd.example.disk",
//!        "config": {{"mediaType": "application/vnd.oci.empty.v1+json", "digest": "{}", "size": 2}},
//!        "layers": [{{"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd",
//!                     "digest": "{}", "size": 1000,
//!                     "annotations": {{"org.opencontainers.image.title": "disk.qcow2.zst"}}}}]}}"#,
//!     sha('c'),
//!     sha('d'),
//! );
//! candidates[1].attach_manifest(ManifestFacts::from_json(manifest.as_bytes())?);
//! assert!(policy.fetch_plan(&candidates).is_complete());
//!
//! let selection = policy.select(&candidates)?;
//! assert_eq!(selection.index, 1);
//! assert_eq!(DiskFormat::of(selection.candidate), Some(DiskFormat::Qcow2));
//!
//! // Edge case: Ironic drops a `hyperv` entry silently; the explanation says why.
//! let rejected = &selection.explanation.candidates[0];
//! assert_eq!(rejected.verdict, VerdictKind::Rejected);
//! assert!(rejected.reason.contains(r#"disktype "hyperv" is not one of qcow2, qemu, raw, applehv"#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Writing a rule
//!
//! Implement [`Rule`]: a `name`, a `describe` for explanations, and `evaluate` returning a
//! [`Verdict`]. If the rule reads [`Candidate::manifest`], return `true` from
//! [`Rule::needs_manifest`] for those candidates; if it never ranks, return `false` from
//! [`Rule::ranks`] so manifests are fetched lazily. `examples/custom_rule.rs` prefers the newest
//! `org.opencontainers.image.created`:
//!
//! ```
//! use oci_select::{Candidate, Policy, Rank, Rule, Verdict};
//!
//! /// Prefers candidates whose `flavour` annotation is `minimal`.
//! #[derive(Debug)]
//! struct PreferMinimal;
//!
//! impl Rule for PreferMinimal {
//!     fn name(&self) -> &str {
//!         "prefer-minimal"
//!     }
//!     fn evaluate(&self, candidate: &Candidate) -> Verdict {
//!         match candidate.annotation("flavour") {
//!             Some("minimal") => Verdict::Rank(Rank::number(0, "minimal")),
//!             _ => Verdict::Abstain,
//!         }
//!     }
//! }
//!
//! let policy = Policy::new().with(PreferMinimal);
//! assert_eq!(policy.rules()[0].name(), "prefer-minimal");
//! ```
//!
//! # Feature flags
//!
//! None.

#![warn(clippy::missing_errors_doc)]

mod candidate;
mod document;
mod error;
mod explain;
pub mod file;
mod format;
mod json;
mod policy;
mod rule;
pub mod rules;

pub use candidate::{ANNOTATION_DISKTYPE, ANNOTATION_TITLE, Candidate, ManifestFacts, Platform};
pub use document::classify;
pub use error::{CandidateError, Document, DownloadSourceError, PolicyFileError};
pub use explain::{CandidateReport, Explanation, RankReport, VerdictKind};
pub use format::DiskFormat;
pub use policy::{DownloadSource, FetchPlan, Policy, SelectError, Selection};
pub use rule::{Rank, Reason, Rule, Verdict};
pub use rules::MISSING_DISKTYPE_RANK;
