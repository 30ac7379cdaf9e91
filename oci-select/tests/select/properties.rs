//! Properties: determinism, rejected additions never change the winner, lazy fetching chooses
//! what eager fetching chooses.

use oci_select::{Candidate, DownloadSource, Platform, Policy};
use proptest::prelude::*;

use crate::{digest_n, layers, resolve_loop};

#[derive(Debug, Clone)]
struct Spec {
    id: usize,
    arch: Option<&'static str>,
    disktype: Option<&'static str>,
    artifact: bool,
    layers: usize,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        prop::option::of(prop::sample::select(vec![
            "x86_64", "amd64", "aarch64", "arm64", "s390x",
        ])),
        prop::option::of(prop::sample::select(vec![
            "qcow2", "qemu", "raw", "applehv", "hyperv", "",
        ])),
        any::<bool>(),
        0usize..3,
    )
        .prop_map(|(arch, disktype, artifact, layers)| Spec {
            id: 0,
            arch,
            disktype,
            artifact,
            layers,
        })
}

fn specs() -> impl Strategy<Value = Vec<Spec>> {
    prop::collection::vec(spec(), 0..8).prop_map(|mut v| {
        for (i, s) in v.iter_mut().enumerate() {
            s.id = i + 1;
        }
        v
    })
}

fn policy() -> impl Strategy<Value = Policy> {
    (
        prop::sample::select(vec![DownloadSource::Local, DownloadSource::Http]),
        prop::option::of(prop::sample::select(vec![
            "x86_64", "amd64", "aarch64", "arm64",
        ])),
    )
        .prop_map(|(source, arch)| Policy::ironic(source, arch))
}

fn build(specs: &[Spec], with_manifests: bool) -> Vec<Candidate> {
    specs
        .iter()
        .enumerate()
        .map(|(position, s)| {
            let mut c = Candidate::new(position, digest_n(s.id));
            if let Some(a) = s.arch {
                c = c.with_platform(Platform::new("linux", a));
            }
            if let Some(d) = s.disktype {
                c = c.with_annotation("disktype", d);
            }
            if s.artifact {
                c = c.with_artifact_type("application/vnd.example.disk");
            }
            if with_manifests {
                c = c.with_manifest(layers(s.layers));
            }
            c
        })
        .collect()
}

fn winner_id(policy: &Policy, candidates: &[Candidate]) -> Option<String> {
    policy
        .select(candidates)
        .ok()
        .map(|s| s.candidate.digest().to_string())
}

proptest! {
    #[test]
    fn same_input_same_output(specs in specs(), policy in policy(), with in any::<bool>()) {
        let candidates = build(&specs, with);
        prop_assert_eq!(policy.explain(&candidates), policy.explain(&candidates));
        prop_assert_eq!(policy.fetch_plan(&candidates), policy.fetch_plan(&candidates));
        let text = policy.explain(&candidates).to_string();
        prop_assert_eq!(text, policy.explain(&candidates).to_string());
    }

    #[test]
    fn adding_a_rejected_candidate_never_changes_the_winner(
        specs in specs(),
        at in any::<prop::sample::Index>(),
        source in prop::sample::select(vec![DownloadSource::Local, DownloadSource::Http]),
        arch in prop::sample::select(vec!["x86_64", "aarch64"]),
        reject_by_arch in any::<bool>(),
    ) {
        let policy = Policy::ironic(source, Some(arch));
        let before = winner_id(&policy, &build(&specs, true));
        // Rejected by the architecture filter, or by the disk-format table.
        let extra = if reject_by_arch {
            Spec { id: 1000, arch: Some("s390x"), disktype: Some("raw"), artifact: true, layers: 1 }
        } else {
            Spec { id: 1000, arch: Some(arch), disktype: Some("hyperv"), artifact: true, layers: 1 }
        };
        let mut more = specs.clone();
        more.insert(at.index(specs.len() + 1), extra);
        let candidates = build(&more, true);
        let e = policy.explain(&candidates);
        let extra_report = e.candidates.iter().find(|c| c.digest == digest_n(1000).to_string());
        prop_assert_eq!(extra_report.map(|r| r.verdict), Some(oci_select::VerdictKind::Rejected));
        prop_assert_eq!(before, winner_id(&policy, &candidates));
    }

    #[test]
    fn lazy_fetching_chooses_what_eager_fetching_chooses(specs in specs(), policy in policy()) {
        let eager = build(&specs, true);
        let mut lazy = build(&specs, false);
        let by_id: Vec<(String, usize)> = specs.iter().map(|s| (digest_n(s.id).to_string(), s.layers)).collect();
        let fetched = resolve_loop(&policy, &mut lazy, |c| {
            let n = by_id.iter().find(|(d, _)| *d == c.digest().to_string()).map_or(0, |(_, n)| *n);
            layers(n)
        });
        prop_assert!(fetched.len() <= specs.len());
        prop_assert!(policy.fetch_plan(&lazy).is_complete());
        prop_assert_eq!(winner_id(&policy, &eager), winner_id(&policy, &lazy));
    }
}
