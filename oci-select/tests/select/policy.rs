//! Policies: ordering, the fetch plan, selection errors, explanations (table and JSON), and the
//! platform preset.

use oci_select::rules::{Annotation, ArtifactType};
use oci_select::{
    Candidate, ManifestFacts, Platform, Policy, Rank, Rule, SelectError, Verdict, VerdictKind,
};

use crate::{digest, digest_n, entry, layers, resolve_loop, table};

fn check_winner(policy: &Policy, candidates: &[Candidate]) -> Option<usize> {
    policy.explain(candidates).winner
}

#[test]
fn empty_policy_takes_the_first_entry() {
    let candidates = vec![entry(0, "a", "s390x", None), entry(1, "b", "amd64", None)];
    assert_eq!(check_winner(&Policy::new(), &candidates), Some(0));
}

#[test]
fn ranks_compare_in_rule_order_then_position() {
    #[derive(Debug)]
    struct ByAnnotation(&'static str);
    impl Rule for ByAnnotation {
        fn name(&self) -> &str {
            self.0
        }
        fn evaluate(&self, c: &Candidate) -> Verdict {
            match c.annotation(self.0).and_then(|v| v.parse().ok()) {
                Some(n) => Verdict::Rank(Rank::number(n, n.to_string())),
                None => Verdict::Abstain,
            }
        }
    }
    let c = |p: usize, a: Option<&str>, b: Option<&str>| {
        let mut c = Candidate::new(p, digest_n(p + 1));
        if let Some(a) = a {
            c = c.with_annotation("a", a);
        }
        if let Some(b) = b {
            c = c.with_annotation("b", b);
        }
        c
    };
    let policy = Policy::new()
        .with(ByAnnotation("a"))
        .with(ByAnnotation("b"));
    // a decides first; b breaks a's ties; an abstention sorts after any rank; then position.
    let candidates = vec![
        c(0, None, Some("0")),
        c(1, Some("2"), Some("5")),
        c(2, Some("2"), Some("1")),
        c(3, Some("2"), Some("1")),
    ];
    let e = policy.explain(&candidates);
    assert_eq!(e.winner, Some(2));
    let places: Vec<Option<usize>> = e.candidates.iter().map(|c| c.place).collect();
    assert_eq!(places, vec![Some(4), Some(3), Some(1), Some(2)]);
}

#[test]
fn descending_rank_prefers_greater() {
    assert!(Rank::number(5, "").descending() < Rank::number(3, "").descending());
    assert!(Rank::text("b", "") < Rank::text("c", ""));
    assert!(
        Rank::number(9, "") < Rank::text("a", ""),
        "numbers sort before texts"
    );
}

#[test]
fn fetch_plan_is_lazy_for_filters() {
    let candidates: Vec<Candidate> = (0..3)
        .map(|i| entry(i, &format!("a{i}"), "amd64", Some("raw")))
        .collect();
    let policy = Policy::new().with(Annotation::exists("only-in-manifest"));
    let plan = policy.fetch_plan(&candidates);
    assert_eq!(plan.required, vec![0]);
    assert_eq!(plan.speculative, vec![1, 2]);
    assert!(
        matches!(policy.select(&candidates), Err(SelectError::ManifestsNeeded { ref indices }) if indices == &vec![0])
    );
    let e = policy.explain(&candidates);
    assert!(
        e.candidates
            .iter()
            .all(|c| c.verdict == VerdictKind::Pending)
    );
    assert_eq!(e.winner, None);
    insta::assert_snapshot!(table(&e));
}

#[test]
fn fetch_plan_requires_all_for_ranking_manifest_rules() {
    #[derive(Debug)]
    struct LayerCount;
    impl Rule for LayerCount {
        fn name(&self) -> &str {
            "fewest-layers"
        }
        fn needs_manifest(&self, _: &Candidate) -> bool {
            true
        }
        fn evaluate(&self, c: &Candidate) -> Verdict {
            let n = c.manifest().map_or(0, |m| m.layers().len());
            Verdict::Rank(Rank::number(
                i64::try_from(n).unwrap_or(i64::MAX),
                n.to_string(),
            ))
        }
    }
    let mut candidates = vec![
        entry(0, "a0", "amd64", None),
        entry(1, "a1", "s390x", None),
        entry(2, "a2", "amd64", None),
    ];
    let policy = Policy::platform("linux", "amd64", None).with(LayerCount);
    assert_eq!(
        policy.fetch_plan(&candidates).required,
        vec![0, 2],
        "s390x is never fetched"
    );
    let fetched = resolve_loop(&policy, &mut candidates, |c| {
        layers(if c.position() == 0 { 3 } else { 1 })
    });
    assert_eq!(fetched, vec![0, 2]);
    assert_eq!(policy.select(&candidates).expect("a match").index, 2);
}

#[test]
fn no_match_lists_every_candidate() {
    let candidates = vec![
        entry(0, "a0", "s390x", None),
        entry(1, "a1", "riscv64", None),
    ];
    let err = Policy::platform("linux", "arm64", None)
        .select(&candidates)
        .expect_err("no match");
    insta::assert_snapshot!(err.to_string());
}

#[test]
fn explanation_json_fields() {
    let mut candidates = vec![
        entry(0, "a0", "x86_64", Some("hyperv")),
        entry(1, "a1", "x86_64", Some("raw")),
        entry(2, "a2", "x86_64", Some("qcow2")),
    ];
    let policy = Policy::ironic(oci_select::DownloadSource::Http, Some("amd64"));
    resolve_loop(&policy, &mut candidates, |_| layers(1));
    let e = policy.explain(&candidates);
    let json = serde_json::to_value(&e).expect("serialises");
    for c in json["candidates"].as_array().expect("candidates") {
        for field in ["digest", "verdict", "reason"] {
            assert!(c.get(field).is_some(), "{field} in {c}");
        }
    }
    insta::assert_json_snapshot!(e);
}

#[test]
fn explanation_is_deterministic() {
    let candidates: Vec<Candidate> = (0..5)
        .map(|i| entry(i, &format!("a{i}"), "amd64", Some(["raw", "qcow2"][i % 2])))
        .collect();
    let policy = Policy::ironic(oci_select::DownloadSource::Local, None);
    assert_eq!(policy.explain(&candidates), policy.explain(&candidates));
    assert_eq!(
        policy.fetch_plan(&candidates),
        policy.fetch_plan(&candidates)
    );
}

#[test]
fn platform_preset() {
    let c = |p: usize, platform: Option<Platform>| {
        let c = Candidate::new(p, digest_n(p + 1));
        match platform {
            Some(pl) => c.with_platform(pl),
            None => c,
        }
    };
    let candidates = vec![
        c(0, Some(Platform::new("windows", "arm"))),
        c(1, Some(Platform::new("linux", "arm").with_variant("v6"))),
        c(2, Some(Platform::new("linux", "arm").with_variant("v7"))),
        c(3, Some(Platform::new("linux", "arm").with_variant("v8"))),
        c(4, None),
    ];
    let policy = Policy::platform("linux", "arm", Some("v7"));
    let e = policy.explain(&candidates);
    assert_eq!(e.winner, Some(2));
    insta::assert_snapshot!(table(&e));
}

#[test]
fn artifact_type_policy_fetches_only_unlabelled_entries() {
    let candidates = vec![
        Candidate::new(0, digest("a0")).with_artifact_type("application/vnd.other"),
        Candidate::new(1, digest("a1")).with_artifact_type("application/vnd.wanted"),
        Candidate::new(2, digest("a2")),
    ];
    let policy = Policy::new().with(ArtifactType::new("application/vnd.wanted"));
    assert!(
        policy.fetch_plan(&candidates).is_complete(),
        "entry 1 wins before entry 2 matters"
    );
    assert_eq!(policy.select(&candidates).expect("a match").index, 1);
    let e = policy.explain(&candidates);
    assert_eq!(e.candidates[2].verdict, VerdictKind::Ranked);
    assert!(e.candidates[2].reason.contains("not needed"));
    let _ = ManifestFacts::default();
}

#[test]
fn hostile_index_size_stays_tractable() {
    // A 4 MiB index holds about 30,000 entries; selection stays O(n log n).
    let entries: Vec<String> = (0..30_000)
        .map(|i| {
            format!(
                r#"{{"digest": "{}", "annotations": {{"disktype": "raw"}}}}"#,
                digest_n(i + 1)
            )
        })
        .collect();
    let index = format!(r#"{{"manifests": [{}]}}"#, entries.join(","));
    let candidates = Candidate::from_index(index.as_bytes()).expect("parses");
    let policy = Policy::ironic(oci_select::DownloadSource::Http, Some("amd64"));
    let plan = policy.fetch_plan(&candidates);
    assert_eq!(plan.required, vec![0]);
    assert_eq!(plan.speculative.len(), 29_999);
    assert_eq!(policy.explain(&candidates).candidates.len(), 30_000);
}

#[test]
fn extend_appends_rules_in_order() {
    let file = Policy::from_toml("[[rule]]\nkind = \"annotation\"\nkey = \"k\"\n").expect("valid");
    let policy = Policy::ironic(oci_select::DownloadSource::Local, Some("arm64")).extend(file);
    let names: Vec<&str> = policy.rules().iter().map(|r| r.name()).collect();
    assert_eq!(
        names,
        ["architecture", "disk-format", "single-layer", "annotation"]
    );
    assert_eq!(oci_select::DownloadSource::Local.to_string(), "local");
}

#[test]
fn without_drops_a_rule_by_name_and_keeps_the_original() {
    let policy = Policy::ironic(oci_select::DownloadSource::Local, Some("arm64"));
    let multi_file = policy.without(oci_select::rules::SingleLayer::NAME);
    let names: Vec<&str> = multi_file.rules().iter().map(|r| r.name()).collect();
    assert_eq!(names, ["architecture", "disk-format"]);
    assert!(!multi_file.has_rule("single-layer"));
    assert!(policy.has_rule("single-layer"), "the original is unchanged");
    assert_eq!(policy.rules().len(), 3);
}
