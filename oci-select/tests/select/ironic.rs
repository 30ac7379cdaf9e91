//! Ironic-equivalent cases, written from the behaviour reference (§3.2 and the unit-test
//! inventory §6.2), each named after the Ironic test or rule it mirrors.

use oci_select::{
    Candidate, DiskFormat, DownloadSource, DownloadSourceError, ManifestFacts, Platform, Policy,
    SelectError, VerdictKind,
};

use crate::{digest, entry, layers, one_layer, resolve_loop, table};

const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// The podman `machine-os:5.3` index fixture: 8 descriptors, in this order.
fn podman_index() -> String {
    let rows = [
        ("applehv", "x86_64", "9d0460"),
        ("applehv", "aarch64", "f29816"),
        ("hyperv", "x86_64", "aa01"),
        ("hyperv", "aarch64", "aa02"),
        ("qemu", "x86_64", "dfcb3b"),
        ("qemu", "aarch64", "1010f1"),
        ("", "amd64", "605c96"),
        ("", "arm64", "d9add0"),
    ];
    let entries: Vec<String> = rows
        .iter()
        .map(|(disktype, arch, prefix)| {
            let annotations = if disktype.is_empty() {
                String::new()
            } else {
                format!(r#", "annotations": {{"disktype": "{disktype}"}}"#)
            };
            format!(
                r#"{{"mediaType": "{MANIFEST}", "digest": "{}", "size": 1234,
                    "platform": {{"architecture": "{arch}", "os": "linux"}}{annotations}}}"#,
                digest(prefix)
            )
        })
        .collect();
    format!(
        r#"{{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{}]}}"#,
        entries.join(",")
    )
}

fn podman() -> Vec<Candidate> {
    Candidate::from_index(podman_index().as_bytes()).expect("the fixture parses")
}

/// What the registry returns for each podman manifest: one zstd layer with a title.
fn podman_manifest(c: &Candidate) -> ManifestFacts {
    one_layer(
        &format!("b{}", &c.digest().encoded()[..6]),
        "application/zstd",
        "disk.img.zst",
    )
}

/// Runs Ironic's choice the way the resolver will: loop over the fetch plan, then select.
/// Returns the winner's digest prefix, the manifests fetched, and the explanation table.
fn identify(
    source: DownloadSource,
    arch: Option<&str>,
) -> (String, Vec<usize>, String, DiskFormat) {
    let mut candidates = podman();
    let policy = Policy::ironic(source, arch);
    let fetched = resolve_loop(&policy, &mut candidates, podman_manifest);
    let selection = policy
        .select(&candidates)
        .expect("podman index has a match");
    let format = DiskFormat::of(selection.candidate).expect("podman entries have a disk format");
    (
        selection.candidate.digest().encoded()[..6].to_owned(),
        fetched,
        table(&selection.explanation),
        format,
    )
}

#[test]
fn test_identify_specific_image_local() {
    let (winner, fetched, explanation, format) = identify(DownloadSource::Local, None);
    // qemu/x86_64: qemu ranks 2nd for local after qcow2 (absent); x86_64 precedes aarch64.
    assert_eq!(winner, "dfcb3b");
    assert_eq!(fetched, vec![4], "exactly that manifest is fetched, once");
    assert_eq!(format, DiskFormat::Qcow2);
    insta::assert_snapshot!(explanation);
}

#[test]
fn test_identify_specific_image_local_result_fields() {
    let mut candidates = podman();
    let policy = Policy::ironic(DownloadSource::Local, None);
    resolve_loop(&policy, &mut candidates, podman_manifest);
    let selection = policy.select(&candidates).expect("a match");
    let layer = &selection.candidate.manifest().expect("fetched").layers()[0];
    assert_eq!(
        oci_ref::media_type::Compression::from_media_type(&layer.media_type),
        Some(oci_ref::media_type::Compression::Zstd)
    );
    assert_eq!(layer.title(), Some("disk.img.zst"));
}

#[test]
fn test_identify_specific_image() {
    // Default download source (http) with cpu_arch=amd64 matches x86_64 through the aliases.
    let (winner, fetched, explanation, format) = identify(DownloadSource::Http, Some("amd64"));
    assert_eq!(winner, "9d0460");
    assert_eq!(fetched, vec![0]);
    assert_eq!(format, DiskFormat::Raw);
    insta::assert_snapshot!(explanation);
}

#[test]
fn test_identify_specific_image_aarch64() {
    let (winner, fetched, explanation, format) = identify(DownloadSource::Http, Some("aarch64"));
    assert_eq!(winner, "f29816");
    assert_eq!(fetched, vec![1]);
    assert_eq!(format, DiskFormat::Raw);
    insta::assert_snapshot!(explanation);
}

#[test]
fn deploy_local_download_aarch64() {
    // test_deploy_utils `…_local_download`: identify(tag_url, 'local', 'aarch64').
    let (winner, _, _, format) = identify(DownloadSource::Local, Some("aarch64"));
    assert_eq!(winner, "1010f1");
    assert_eq!(format, DiskFormat::Qcow2);
}

#[test]
fn deploy_remote_download_x86_64() {
    // test_deploy_utils `…oci_url_remote_download`: identify(tag_url, 'http', 'x86_64').
    let (winner, _, _, format) = identify(DownloadSource::Http, Some("x86_64"));
    assert_eq!(winner, "9d0460");
    assert_eq!(format, DiskFormat::Raw);
}

#[test]
fn test_identify_specific_image_bootc_no_disktype() {
    // One descriptor: amd64, embedded config (a real image config) and 2 layers, no disktype.
    let index = format!(
        r#"{{"manifests": [{{"mediaType": "{MANIFEST}", "digest": "{}",
            "platform": {{"architecture": "amd64", "os": "linux"}},
            "config": {{"mediaType": "application/vnd.oci.image.config.v1+json",
                        "digest": "{}", "size": 2000}},
            "layers": [{{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                         "digest": "{}", "size": 7000}},
                       {{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                         "digest": "{}", "size": 4000}}]}}]}}"#,
        digest("c0ffee"),
        digest("c1"),
        digest("c2"),
        digest("c3"),
    );
    let candidates = Candidate::from_index(index.as_bytes()).expect("parses");
    let policy = Policy::ironic(DownloadSource::Http, Some("amd64"));
    // A container image needs no manifest to be selected.
    assert!(policy.fetch_plan(&candidates).is_complete());
    let selection = policy.select(&candidates).expect("bootc is selected");
    assert_eq!(selection.candidate.digest(), &digest("c0ffee"));
    assert_eq!(DiskFormat::of(selection.candidate), Some(DiskFormat::Bootc));
    insta::assert_snapshot!(table(&selection.explanation));
}

#[test]
fn bootc_size_is_config_plus_layers() {
    // Ironic's size 2000 + 7000 + 4000, computed here from the fetched manifest.
    let manifest = format!(
        r#"{{"config": {{"mediaType": "application/vnd.oci.image.config.v1+json",
                         "digest": "{}", "size": 2000}},
             "layers": [{{"mediaType": "x", "digest": "{}", "size": 7000}},
                        {{"mediaType": "x", "digest": "{}", "size": 4000}}]}}"#,
        digest("c1"),
        digest("c2"),
        digest("c3"),
    );
    let facts = ManifestFacts::from_json(manifest.as_bytes()).expect("parses");
    assert_eq!(facts.total_size(), 13000);
}

#[test]
fn test_identify_specific_image_bootc_with_digest() {
    // A manifest with a real config and 2 layers is a container image (bootc).
    let manifest = format!(
        r#"{{"schemaVersion": 2, "mediaType": "{MANIFEST}",
             "config": {{"mediaType": "application/vnd.oci.image.config.v1+json",
                         "digest": "{}", "size": 1500}},
             "layers": [{{"mediaType": "x", "digest": "{}", "size": 5000}},
                        {{"mediaType": "x", "digest": "{}", "size": 3000}}]}}"#,
        digest("c1"),
        digest("c2"),
        digest("c3"),
    );
    let facts = ManifestFacts::from_json(manifest.as_bytes()).expect("parses");
    assert!(!facts.is_oci_artifact());
    assert_eq!(facts.total_size(), 9500);
    let c = Candidate::from_manifest(digest("96f3"), facts, None, None).expect("builds");
    assert_eq!(DiskFormat::of(&c), Some(DiskFormat::Bootc));
}

#[test]
fn test_identify_specific_image_bad_manifest() {
    // An empty index: no candidates, no manifest fetch, a typed error (Ironic: InvalidImageRef).
    let candidates =
        Candidate::from_index(br#"{"schemaVersion": 2, "manifests": []}"#).expect("parses");
    assert!(candidates.is_empty());
    let policy = Policy::ironic(DownloadSource::Http, None);
    assert!(policy.fetch_plan(&candidates).is_complete());
    assert!(matches!(
        policy.select(&candidates),
        Err(SelectError::NoCandidates)
    ));
}

/// The ORAS single manifest of the Ironic fixture.
fn oras_manifest() -> String {
    format!(
        r#"{{"schemaVersion": 2, "mediaType": "{MANIFEST}",
             "artifactType": "application/vnd.unknown.artifact.v1",
             "config": {{"mediaType": "application/vnd.oci.empty.v1+json",
                         "digest": "{}", "size": 2}},
             "layers": [{{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                          "digest": "{}", "size": 21692416,
                          "annotations": {{"org.opencontainers.image.title":
                                           "cirros-0.6.3-x86_64-disk.img"}}}}],
             "annotations": {{"org.opencontainers.image.created": "2024-11-20T15:00:00Z"}}}}"#,
        digest("44136f"),
        digest("7d6355"),
    )
}

#[test]
fn test_identify_specific_image_single_manifest() {
    let facts = ManifestFacts::from_json(oras_manifest().as_bytes()).expect("parses");
    let candidates =
        vec![Candidate::from_manifest(digest("aaaa"), facts, None, None).expect("builds")];
    let policy = Policy::ironic(DownloadSource::Http, None);
    assert!(
        policy.fetch_plan(&candidates).is_complete(),
        "the manifest is already known"
    );
    let selection = policy.select(&candidates).expect("selected");
    let layer = &selection.candidate.manifest().expect("facts").layers()[0];
    assert_eq!(
        DiskFormat::of(selection.candidate),
        None,
        "Ironic reports null"
    );
    assert_eq!(
        oci_ref::media_type::Compression::from_media_type(&layer.media_type),
        None
    );
    assert_eq!(layer.media_type, "application/vnd.oci.image.layer.v1.tar");
    assert_eq!(layer.title(), Some("cirros-0.6.3-x86_64-disk.img"));
    assert_eq!(layer.size, 21692416);
    insta::assert_snapshot!(table(&selection.explanation));
}

#[test]
fn single_manifest_platform_from_config() {
    // `oras push --artifact-platform linux/arm64` writes an image config with the platform.
    let manifest = format!(
        r#"{{"artifactType": "application/vnd.example.disk",
             "config": {{"mediaType": "application/vnd.oci.image.config.v1+json",
                         "digest": "{}", "size": 40}},
             "layers": [{{"mediaType": "application/octet-stream", "digest": "{}", "size": 1}}]}}"#,
        digest("c1"),
        digest("c2"),
    );
    let facts = ManifestFacts::from_json(manifest.as_bytes()).expect("parses");
    assert!(facts.has_image_config());
    let config = br#"{"architecture": "arm64", "os": "linux", "variant": "v8"}"#;
    let c = Candidate::from_manifest(digest("aa"), facts, Some(512), Some(config)).expect("builds");
    assert_eq!(
        c.platform(),
        Some(&Platform::new("linux", "arm64").with_variant("v8"))
    );
    let candidates = vec![c];
    let rejected = Policy::ironic(DownloadSource::Http, Some("x86_64")).select(&candidates);
    assert!(matches!(rejected, Err(SelectError::NoMatch { .. })));
    let chosen = Policy::ironic(DownloadSource::Http, Some("aarch64")).select(&candidates);
    assert!(chosen.is_ok());
}

/// `test_is_oci_artifact_image_*`: Ironic's artifact test, on a single manifest.
#[test]
fn test_is_oci_artifact_image_cases() {
    let real = r#"{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111", "size": 1}"#;
    let empty = r#"{"mediaType": "application/vnd.oci.empty.v1+json", "digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111", "size": 2}"#;
    let cases = [
        (
            "with_artifact_type",
            r#"{"artifactType": "a/b", "layers": []}"#.to_owned(),
            true,
        ),
        (
            "with_empty_config",
            format!(r#"{{"config": {empty}}}"#),
            true,
        ),
        ("regular_config", format!(r#"{{"config": {real}}}"#), false),
        ("no_config", r#"{"layers": []}"#.to_owned(), false),
        ("empty_manifest", "{}".to_owned(), false),
        (
            "artifact_type_beats_config",
            format!(r#"{{"artifactType": "a/b", "config": {real}}}"#),
            true,
        ),
    ];
    for (name, json, expected) in cases {
        let facts = ManifestFacts::from_json(json.as_bytes()).expect(name);
        assert_eq!(facts.is_oci_artifact(), expected, "{name}: manifest facts");
        let c = Candidate::from_manifest(digest("ab"), facts, None, None).expect(name);
        assert_eq!(c.is_oci_artifact(), expected, "{name}: candidate");
    }
}

#[test]
fn swift_download_source_is_refused() {
    assert_eq!(
        "swift".parse::<DownloadSource>(),
        Err(DownloadSourceError::Swift)
    );
    assert_eq!("local".parse::<DownloadSource>(), Ok(DownloadSource::Local));
    assert_eq!("http".parse::<DownloadSource>(), Ok(DownloadSource::Http));
    assert!(matches!(
        "HTTP".parse::<DownloadSource>(),
        Err(DownloadSourceError::Unknown { .. })
    ));
}

#[test]
fn unknown_disktypes_are_dropped_with_a_reason() {
    // Only hyperv entries: Ironic returns `{}`; we return NoMatch listing every reason.
    let candidates = vec![
        entry(0, "aa01", "x86_64", Some("hyperv")),
        entry(1, "aa02", "x86_64", Some("vhdx")),
    ];
    let err = Policy::ironic(DownloadSource::Http, None)
        .select(&candidates)
        .expect_err("nothing matches");
    let SelectError::NoMatch { explanation } = err else {
        panic!("expected NoMatch, got {err:?}");
    };
    assert!(
        explanation
            .candidates
            .iter()
            .all(|c| c.verdict == VerdictKind::Rejected)
    );
    insta::assert_snapshot!(table(&explanation));
}

#[test]
fn disktype_is_case_sensitive() {
    let candidates = vec![entry(0, "aa", "x86_64", Some("QCOW2"))];
    let e = Policy::ironic(DownloadSource::Local, None).explain(&candidates);
    assert_eq!(e.candidates[0].verdict, VerdictKind::Rejected);
}

#[test]
fn empty_disktype_counts_as_missing() {
    let candidates = vec![
        entry(0, "a0", "x86_64", Some("")).with_artifact_type("application/vnd.example"),
        entry(1, "a1", "x86_64", Some("qcow2")),
    ];
    let mut candidates = candidates;
    let policy = Policy::ironic(DownloadSource::Http, None);
    resolve_loop(&policy, &mut candidates, |_| layers(1));
    let selection = policy.select(&candidates).expect("a match");
    assert_eq!(selection.index, 1, "priority 100 is a last resort");
}

#[test]
fn entries_without_architecture_pass_the_filter() {
    let candidates = vec![
        entry(0, "a0", "s390x", Some("raw")),
        Candidate::new(1, digest("a1")).with_annotation("disktype", "raw"),
    ];
    let mut candidates = candidates;
    let policy = Policy::ironic(DownloadSource::Http, Some("x86_64"));
    resolve_loop(&policy, &mut candidates, |_| layers(1));
    assert_eq!(policy.select(&candidates).expect("wildcard").index, 1);
}

#[test]
fn os_and_variant_are_ignored_by_ironic() {
    let candidates = vec![
        Candidate::new(0, digest("a0"))
            .with_platform(Platform::new("windows", "arm64").with_variant("v9"))
            .with_annotation("disktype", "raw")
            .with_manifest(layers(1)),
    ];
    let policy = Policy::ironic(DownloadSource::Http, Some("aarch64"));
    assert_eq!(policy.select(&candidates).expect("os ignored").index, 0);
}

#[test]
fn ironic_aliases_are_only_two_sets() {
    // Ironic knows x86_64=amd64 and aarch64=arm64 only: i686 does not match 386.
    let candidates = vec![entry(0, "a0", "386", Some("raw")).with_manifest(layers(1))];
    assert!(
        Policy::ironic(DownloadSource::Http, Some("i686"))
            .select(&candidates)
            .is_err()
    );
    assert!(
        Policy::ironic(DownloadSource::Http, Some("386"))
            .select(&candidates)
            .is_ok()
    );
}

#[test]
fn empty_cpu_arch_does_not_filter() {
    let candidates = vec![entry(0, "a0", "s390x", Some("raw")).with_manifest(layers(1))];
    assert!(
        Policy::ironic(DownloadSource::Http, Some(""))
            .select(&candidates)
            .is_ok()
    );
    assert_eq!(
        Policy::ironic(DownloadSource::Http, Some("")).rules().len(),
        2
    );
}

#[test]
fn multi_layer_artifacts_are_skipped_and_the_walk_continues() {
    // raw (2 layers) → skipped; applehv (1 layer) → chosen. Manifests fetched lazily, in order.
    let mut candidates = vec![
        entry(0, "a0", "x86_64", Some("qcow2")),
        entry(1, "a1", "x86_64", Some("applehv")),
        entry(2, "a2", "x86_64", Some("raw")),
    ];
    let policy = Policy::ironic(DownloadSource::Http, None);
    let fetched = resolve_loop(&policy, &mut candidates, |c| {
        if c.position() == 2 {
            layers(2)
        } else {
            layers(1)
        }
    });
    assert_eq!(
        fetched,
        vec![2, 1],
        "raw first, then applehv; qcow2 never fetched"
    );
    let selection = policy.select(&candidates).expect("a match");
    assert_eq!(selection.index, 1);
    insta::assert_snapshot!(table(&selection.explanation));
}

#[test]
fn ties_keep_index_order() {
    let mut candidates = vec![
        entry(0, "a0", "x86_64", Some("raw")),
        entry(1, "a1", "x86_64", Some("raw")),
    ];
    let policy = Policy::ironic(DownloadSource::Http, None);
    resolve_loop(&policy, &mut candidates, |_| layers(1));
    assert_eq!(policy.select(&candidates).expect("a match").index, 0);
}

#[test]
fn bootc_entry_is_last_resort_after_artifacts() {
    // podman, arm64, but the arm64 disk entries are multi-layer: the bootc entry wins.
    let mut candidates = podman();
    let policy = Policy::ironic(DownloadSource::Http, Some("arm64"));
    let fetched = resolve_loop(&policy, &mut candidates, |_| layers(3));
    assert_eq!(
        fetched,
        vec![1, 5],
        "applehv then qemu (aarch64) fetched, then bootc needs none"
    );
    let selection = policy.select(&candidates).expect("bootc");
    assert_eq!(selection.candidate.digest(), &digest("d9add0"));
    assert_eq!(DiskFormat::of(selection.candidate), Some(DiskFormat::Bootc));
}

#[test]
fn artifact_without_disktype_and_without_descriptor_artifact_type_is_bootc() {
    // Ironic judges "artifact" on the index descriptor, which has no artifactType here, so the
    // entry is a container image even though its manifest is an artifact. Reproduced exactly.
    let candidates = [entry(0, "a0", "x86_64", None).with_manifest(one_layer(
        "b0",
        "application/octet-stream",
        "x.img",
    ))];
    assert!(candidates[0].is_container_image());
    assert_eq!(DiskFormat::of(&candidates[0]), Some(DiskFormat::Bootc));
}

#[test]
fn bootc_is_accepted_whatever_its_layer_count() {
    // D.4: the layer-count check applies only to non-bootc candidates.
    let candidates = [entry(0, "a0", "amd64", None).with_manifest(layers(5))];
    let selection = Policy::ironic(DownloadSource::Local, Some("x86_64"))
        .select(&candidates)
        .expect("bootc accepted");
    assert_eq!(DiskFormat::of(selection.candidate), Some(DiskFormat::Bootc));
}
