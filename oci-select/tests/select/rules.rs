//! Each built-in rule on its own, through one `check` helper per behaviour.

use oci_select::rules::{
    Aliases, Annotation, Architecture, ArtifactType, ContainerImage, ContainerImageMode,
    DiskFormatPreference, MediaType, MediaTypeTarget, Missing, Os, SingleLayer, Unlisted, Variant,
    canonical_architecture,
};
use oci_select::{Candidate, DownloadSource, ManifestFacts, Platform, Rule, Verdict};

use crate::{digest, entry, layers, one_layer};

/// The verdict as one line: `abstain`, `reject: …`, `rank: label`.
fn check(rule: &dyn Rule, candidate: &Candidate) -> String {
    match rule.evaluate(candidate) {
        Verdict::Abstain => "abstain".to_owned(),
        Verdict::Reject(r) => format!("reject: {r}"),
        Verdict::Rank(r) => format!("rank: {}", r.label()),
    }
}

fn arch(a: &str) -> Candidate {
    Candidate::new(0, digest("a")).with_platform(Platform::new("linux", a))
}

fn arch_variant(a: &str, v: &str) -> Candidate {
    Candidate::new(0, digest("a")).with_platform(Platform::new("linux", a).with_variant(v))
}

#[test]
fn architecture_extended_aliases() {
    let cases = [
        ("amd64", "x86_64", "abstain"),
        ("x86_64", "amd64", "abstain"),
        ("aarch64", "arm64", "abstain"),
        ("i686", "386", "abstain"),
        ("i386", "386", "abstain"),
        ("armhf", "arm", "abstain"),
        ("ppc64el", "ppc64le", "abstain"),
        ("s390x", "s390x", "abstain"),
        ("riscv64", "riscv64", "abstain"),
        ("amd64", "arm64", "reject: arm64 is not amd64"),
        ("riscv64", "s390x", "reject: s390x is not riscv64"),
        ("x86_64", "X86_64", "reject: X86_64 is not x86_64"),
    ];
    for (wanted, have, expected) in cases {
        assert_eq!(
            check(&Architecture::new(wanted), &arch(have)),
            expected,
            "{wanted} vs {have}"
        );
    }
}

#[test]
fn architecture_armhf_implies_v7() {
    let rule = Architecture::new("armhf");
    assert_eq!(check(&rule, &arch_variant("arm", "v7")), "abstain");
    assert_eq!(
        check(&rule, &arch_variant("arm", "v6")),
        "reject: arm (variant v6) is not armhf (variant v7)"
    );
    assert_eq!(check(&Architecture::new("arm"), &arch("armhf")), "abstain");
}

#[test]
fn architecture_ironic_aliases() {
    let rule = Architecture::new("x86_64").aliases(Aliases::Ironic);
    assert_eq!(check(&rule, &arch("amd64")), "abstain");
    assert_eq!(
        check(&Architecture::ironic("i686"), &arch("386")),
        "reject: 386 is not i686"
    );
}

#[test]
fn architecture_missing() {
    let none = Candidate::new(0, digest("a"));
    assert_eq!(check(&Architecture::new("amd64"), &none), "abstain");
    let reject = Architecture::new("amd64").missing(Missing::Reject);
    assert_eq!(check(&reject, &none), "reject: no architecture declared");
}

#[test]
fn canonical_names() {
    assert_eq!(canonical_architecture("x86_64"), ("amd64", None));
    assert_eq!(canonical_architecture("armhf"), ("arm", Some("v7")));
    assert_eq!(canonical_architecture("mips64"), ("mips64", None));
}

#[test]
fn os_rule() {
    assert_eq!(check(&Os::new("linux"), &arch("amd64")), "abstain");
    let windows = Candidate::new(0, digest("a")).with_platform(Platform::new("windows", "amd64"));
    assert_eq!(
        check(&Os::new("linux"), &windows),
        "reject: windows is not linux"
    );
    let none = Candidate::new(0, digest("a"));
    assert_eq!(
        check(&Os::new("linux").missing(Missing::Reject), &none),
        "reject: no os declared"
    );
}

#[test]
fn variant_rule() {
    let v7 = Variant::new("v7");
    assert_eq!(check(&v7, &arch_variant("arm", "v7")), "rank: v7");
    assert_eq!(
        check(&v7, &arch_variant("arm", "v6")),
        "rank: v6 (compatible)"
    );
    assert_eq!(
        check(&v7, &arch_variant("arm", "v8")),
        "reject: v8 is not v7"
    );
    assert_eq!(check(&v7, &arch("arm")), "rank: no variant");
    assert_eq!(
        check(&Variant::new("v8"), &arch_variant("arm64", "v7")),
        "reject: v7 is not v8"
    );
    assert_eq!(
        check(&v7.clone().missing(Missing::Reject), &arch("arm")),
        "reject: no variant declared"
    );
    // Hostile variant numbers do not overflow.
    assert_eq!(
        check(&Variant::new("v4294967295"), &arch_variant("arm", "v0")),
        "rank: v0 (compatible)"
    );
}

#[test]
fn disk_format_tables() {
    let local = DiskFormatPreference::ironic(DownloadSource::Local);
    let http = DiskFormatPreference::ironic(DownloadSource::Http);
    let d = |v: Option<&str>| entry(0, "a", "x86_64", v);
    assert_eq!(check(&local, &d(Some("qcow2"))), "rank: qcow2 (1)");
    assert_eq!(check(&local, &d(Some("qemu"))), "rank: qemu (2)");
    assert_eq!(check(&local, &d(Some("raw"))), "rank: raw (3)");
    assert_eq!(check(&local, &d(Some("applehv"))), "rank: applehv (4)");
    assert_eq!(check(&http, &d(Some("raw"))), "rank: raw (1)");
    assert_eq!(check(&http, &d(Some("applehv"))), "rank: applehv (2)");
    assert_eq!(check(&http, &d(Some("qcow2"))), "rank: qcow2 (3)");
    assert_eq!(check(&http, &d(Some("qemu"))), "rank: qemu (4)");
    assert_eq!(check(&http, &d(None)), "rank: no disktype (100)");
    assert_eq!(check(&http, &d(Some(""))), "rank: no disktype (100)");
    assert_eq!(
        check(&http, &d(Some("hyperv"))),
        r#"reject: disktype "hyperv" is not one of raw, applehv, qcow2, qemu"#
    );
    let lenient = DiskFormatPreference::new(vec!["raw".into()]).unlisted(Unlisted::Last);
    assert_eq!(check(&lenient, &d(Some("vhdx"))), "rank: vhdx (unlisted)");
}

#[test]
fn artifact_type_rule() {
    let rule = ArtifactType::new("application/vnd.example.disk");
    let on_descriptor =
        Candidate::new(0, digest("a")).with_artifact_type("application/vnd.example.disk");
    assert!(!rule.needs_manifest(&on_descriptor));
    assert_eq!(check(&rule, &on_descriptor), "abstain");
    let bare = Candidate::new(0, digest("a"));
    assert!(rule.needs_manifest(&bare));
    let from_manifest = bare.clone().with_manifest(
        ManifestFacts::with_layers(Vec::new()).with_artifact_type("application/vnd.example.disk"),
    );
    assert_eq!(check(&rule, &from_manifest), "abstain");
    let from_config = bare.clone().with_manifest(
        ManifestFacts::with_layers(Vec::new()).with_config_media_type("application/vnd.other"),
    );
    assert_eq!(
        check(&rule, &from_config),
        "reject: artifact type application/vnd.other is not one of application/vnd.example.disk"
    );
    let empty_config = bare.with_manifest(
        ManifestFacts::with_layers(Vec::new())
            .with_config_media_type("application/vnd.oci.empty.v1+json"),
    );
    assert_eq!(check(&rule, &empty_config), "reject: no artifact type");
}

#[test]
fn media_type_rule() {
    let manifest = MediaType::any_of(
        MediaTypeTarget::Manifest,
        vec!["application/vnd.oci.image.manifest.v1+json".into()],
    );
    assert_eq!(check(&manifest, &entry(0, "a", "x86_64", None)), "abstain");
    let docker = Candidate::new(0, digest("a"))
        .with_media_type("application/vnd.docker.distribution.manifest.v2+json");
    assert!(check(&manifest, &docker).starts_with("reject: media type application/vnd.docker"));
    let layer = MediaType::any_of(MediaTypeTarget::Layer, vec!["application/zstd".into()]);
    let c = Candidate::new(0, digest("a"));
    assert!(layer.needs_manifest(&c));
    assert_eq!(
        check(
            &layer,
            &c.clone()
                .with_manifest(one_layer("b", "application/zstd", "x"))
        ),
        "abstain"
    );
    assert_eq!(
        check(
            &layer,
            &c.with_manifest(one_layer("b", "application/gzip", "x"))
        ),
        "reject: no layer media type is one of application/zstd (layers: [application/gzip])"
    );
}

#[test]
fn annotation_rule() {
    let c = Candidate::new(0, digest("a")).with_annotation("flavour", "minimal");
    assert_eq!(
        check(&Annotation::equals("flavour", "minimal"), &c),
        "abstain"
    );
    assert_eq!(
        check(&Annotation::equals("flavour", "full"), &c),
        r#"reject: annotation flavour is "minimal", not "full""#
    );
    assert_eq!(check(&Annotation::exists("flavour"), &c), "abstain");
    let rule = Annotation::exists("other");
    assert!(rule.needs_manifest(&c));
    assert_eq!(check(&rule, &c), "reject: no annotation other");
    let with_manifest =
        c.with_manifest(ManifestFacts::with_layers(Vec::new()).with_annotation("other", "x"));
    assert_eq!(check(&rule, &with_manifest), "abstain");
}

#[test]
fn single_layer_rule() {
    let ironic = SingleLayer::ironic();
    let strict = SingleLayer::strict();
    let bootc = entry(0, "a", "x86_64", None);
    assert!(!ironic.needs_manifest(&bootc));
    assert!(strict.needs_manifest(&bootc));
    assert_eq!(check(&ironic, &bootc), "abstain");
    let disk = entry(0, "a", "x86_64", Some("raw"));
    assert!(ironic.needs_manifest(&disk));
    assert_eq!(
        check(&ironic, &disk.clone().with_manifest(layers(1))),
        "abstain"
    );
    assert_eq!(
        check(&ironic, &disk.clone().with_manifest(layers(2))),
        "reject: 2 layers; only single-layer artifacts can be downloaded"
    );
    assert_eq!(
        check(&ironic, &disk.with_manifest(layers(0))),
        "reject: 0 layers; only single-layer artifacts can be downloaded"
    );
    assert_eq!(
        check(&strict, &bootc.with_manifest(layers(3))),
        "reject: 3 layers; only single-layer artifacts can be downloaded"
    );
}

#[test]
fn container_image_rule() {
    let bootc = entry(0, "a", "x86_64", None);
    let disk = entry(0, "a", "x86_64", Some("raw"));
    let artifact = entry(0, "a", "x86_64", None).with_artifact_type("a/b");
    let embedded_empty =
        entry(0, "a", "x86_64", None).with_config_media_type("application/vnd.oci.empty.v1+json");
    let require = ContainerImage::new(ContainerImageMode::Require);
    let reject = ContainerImage::new(ContainerImageMode::Reject);
    assert_eq!(check(&require, &bootc), "abstain");
    assert!(check(&require, &disk).starts_with("reject"));
    assert!(check(&require, &artifact).starts_with("reject"));
    assert!(check(&require, &embedded_empty).starts_with("reject"));
    assert!(check(&reject, &bootc).starts_with("reject"));
    assert_eq!(check(&reject, &artifact), "abstain");
}

#[test]
fn rules_describe_themselves() {
    let rules: Vec<Box<dyn Rule>> = vec![
        Box::new(Architecture::ironic("x86_64")),
        Box::new(Os::new("linux")),
        Box::new(Variant::new("v8")),
        Box::new(DiskFormatPreference::ironic(DownloadSource::Local)),
        Box::new(ArtifactType::new("a/b")),
        Box::new(MediaType::any_of(MediaTypeTarget::Layer, vec!["x".into()])),
        Box::new(Annotation::equals("k", "v")),
        Box::new(Annotation::exists("k")),
        Box::new(SingleLayer::ironic()),
        Box::new(ContainerImage::new(ContainerImageMode::Reject)),
    ];
    let text: Vec<String> = rules
        .iter()
        .map(|r| format!("{}: {}", r.name(), r.describe()))
        .collect();
    insta::assert_snapshot!(text.join("\n"));
}
