//! `oci-fetch resolve`: the `--json` contract, `--explain`, policies and bad input, against the
//! committed example layout.

use crate::pull::example_dir;
use crate::{check_json, check_usage_error, oci_fetch};

fn layout_ref(tag: &str) -> String {
    format!("{}:{tag}", example_dir().display())
}

fn resolve_json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["resolve", "--oci-layout", "--json"];
    all.extend_from_slice(args);
    let out = oci_fetch(&all);
    assert!(
        out.status.success(),
        "{all:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(text.lines().count(), 1, "one JSON line: {text}");
    serde_json::from_str(&text).expect("JSON")
}

/// Checks the choice for a policy: file name, disk format, compression.
fn check_choice(args: &[&str], filename: &str, disk_format: &str, compression: Option<&str>) {
    let reference = layout_ref("fedora-42");
    let mut all = vec![reference.as_str()];
    all.extend_from_slice(args);
    let v = resolve_json(&all);
    assert_eq!(v["filename"], filename, "{args:?}");
    assert_eq!(v["disk_format"], disk_format, "{args:?}");
    assert_eq!(v["compression"], serde_json::json!(compression), "{args:?}");
}

/// The whole `--json` line (field names, order, values) is the snapshot `resolve_fedora_aarch64`.
#[test]
fn json_contract_fields_in_order() {
    let v = check_json(
        "resolve_fedora_aarch64",
        &[
            "resolve",
            "--oci-layout",
            "--json",
            &layout_ref("fedora-42"),
            "--arch",
            "aarch64",
        ],
    );
    let verdicts: Vec<&str> = v["candidates"]
        .as_array()
        .expect("candidates")
        .iter()
        .map(|c| c["verdict"].as_str().expect("verdict"))
        .collect();
    assert_eq!(
        verdicts,
        ["rejected", "rejected", "rejected", "selected", "ranked"]
    );
    assert_eq!(v["source"]["kind"], "layout");
    assert_eq!(v["rule_set"], "disk-image");
    // index.json + index, index.json + the one manifest needed: the raw entry is not read.
    assert_eq!(v["requests"], 4);
}

#[test]
fn ironic_choices_by_download_source_and_arch() {
    check_choice(
        &["--arch", "aarch64"],
        "fedora-42-aarch64.qcow2",
        "qcow2",
        None,
    );
    check_choice(
        &["--arch", "arm64", "--download-source", "local"],
        "fedora-42-aarch64.qcow2",
        "qcow2",
        None,
    );
    check_choice(
        &["--arch", "amd64", "--download-source", "http"],
        "fedora-42-x86_64.raw.zst",
        "raw",
        Some("zstd"),
    );
    // No architecture filter: the first entry in index order wins ties (Ironic's stable sort).
    check_choice(&["--arch", "any"], "fedora-42-x86_64.qcow2", "qcow2", None);
}

#[test]
fn annotation_and_policy_file_narrow_the_choice() {
    check_choice(
        &["--arch", "aarch64", "--annotation", "disktype=raw"],
        "fedora-42-aarch64.raw.zst",
        "raw",
        Some("zstd"),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        "[[rule]]\nkind = \"architecture\"\nvalue = \"arm64\"\n\n[[rule]]\nkind = \"disk-format\"\nprefer = [\"raw\", \"qcow2\"]\n",
    )
    .expect("write policy");
    check_choice(
        &["--policy", policy.to_str().expect("utf-8")],
        "fedora-42-aarch64.raw.zst",
        "raw",
        Some("zstd"),
    );
}

#[test]
fn digest_reference_skips_selection() {
    let v = resolve_json(&[&layout_ref("fedora-42"), "--arch", "aarch64"]);
    let digest = v["manifest_digest"].as_str().expect("digest");
    let pinned = format!("{}@{digest}", example_dir().display());
    let p = resolve_json(&[&pinned]);
    assert_eq!(p["disk_format"], "unknown");
    assert_eq!(p["blob_digest"], v["blob_digest"]);
    assert_eq!(p["candidates"], serde_json::json!([]));
}

#[test]
fn explain_prints_the_table() {
    let out = oci_fetch(&[
        "resolve",
        "--oci-layout",
        &layout_ref("fedora-42"),
        "--arch",
        "aarch64",
        "--explain",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.contains("policy:"), "{text}");
    assert!(
        text.contains("disktype \"hyperv\"")
            || text.contains("architecture: x86_64 is not aarch64"),
        "{text}"
    );
    assert!(text.contains("requests: 4"), "{text}");
}

#[test]
fn no_match_lists_every_candidate() {
    let out = oci_fetch(&[
        "resolve",
        "--oci-layout",
        &layout_ref("fedora-42"),
        "--arch",
        "riscv64",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(stderr.matches("is not riscv64").count(), 5, "{stderr}");
}

#[test]
fn bad_input_is_a_usage_error() {
    check_usage_error(
        &["resolve", "--oci-layout", &layout_ref("no-such:tag@x")],
        "invalid layout address",
    );
    check_usage_error(
        &[
            "resolve",
            "--oci-layout",
            &layout_ref("fedora-42"),
            "--annotation",
            "novalue",
        ],
        "KEY=VALUE",
    );
    check_usage_error(&["resolve", "Not/Valid:Ref"], "invalid reference");
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = dir.path().join("bad.toml");
    std::fs::write(&policy, "[[rule]]\nkind = \"colour\"\n").expect("write");
    check_usage_error(
        &[
            "resolve",
            "--oci-layout",
            &layout_ref("fedora-42"),
            "--policy",
            policy.to_str().expect("utf-8"),
        ],
        "line 2",
    );
}

/// clap rejects values outside `local|http` with exit 2 and nothing on stdout. (clap's own
/// message spans several lines until `main` renders parse errors on one line.)
#[test]
fn download_source_accepts_only_local_and_http() {
    for bad in ["swift", "LOCAL", ""] {
        let out = oci_fetch(&[
            "resolve",
            "--oci-layout",
            &layout_ref("fedora-42"),
            "--download-source",
            bad,
        ]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(out.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().next().unwrap_or_default();
        assert!(first.contains("--download-source"), "{stderr}");
    }
}

/// The library resolver over an in-memory [`ManifestSource`] that counts what it serves.
mod library {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use bytes::Bytes;
    use oci_fetch::resolve::{
        FetchedManifest, ManifestSource, PinnedManifest, ResolveError, Resolved, ServedBy, resolve,
    };
    use oci_fetch::source::BoxFuture;
    use oci_ref::TagOrDigest;
    use oci_ref::{Algorithm, Digest};
    use oci_select::{DiskFormat, DownloadSource, Policy};
    use serde_json::json;

    fn digest(bytes: &[u8]) -> Digest {
        oci_ref::digest_of(Algorithm::Sha256, bytes)
    }

    /// Documents by digest and tag; records every digest fetched.
    #[derive(Default)]
    struct Memory {
        docs: HashMap<Digest, (Bytes, String)>,
        tags: HashMap<String, Digest>,
        fetched: Mutex<Vec<Digest>>,
    }

    impl Memory {
        fn put(&mut self, media_type: &str, body: serde_json::Value) -> (Digest, u64) {
            let bytes = serde_json::to_vec(&body).expect("json");
            let d = digest(&bytes);
            let size = bytes.len() as u64;
            self.docs
                .insert(d.clone(), (Bytes::from(bytes), media_type.to_owned()));
            (d, size)
        }
    }

    impl ManifestSource for Memory {
        fn fetch_manifest<'a>(
            &'a self,
            target: &'a TagOrDigest,
        ) -> BoxFuture<'a, Result<FetchedManifest, ResolveError>> {
            Box::pin(async move {
                let d = match target {
                    TagOrDigest::Tag(t) => self.tags[t.as_str()].clone(),
                    TagOrDigest::Digest(d) => d.clone(),
                };
                self.fetched.lock().expect("lock").push(d.clone());
                let (bytes, mt) = self.docs[&d].clone();
                Ok(FetchedManifest::new(bytes, Some(mt), d))
            })
        }
        fn fetch_config<'a>(
            &'a self,
            digest: &'a Digest,
            _size: u64,
        ) -> BoxFuture<'a, Result<Bytes, ResolveError>> {
            Box::pin(async move { Ok(self.docs[digest].0.clone()) })
        }
        fn pinned(&self, digest: &Digest) -> PinnedManifest {
            PinnedManifest::Registry(
                oci_ref::Reference::parse(&format!("oci://memory/test@{digest}"))
                    .expect("reference"),
            )
        }
        fn blob_url(&self, _manifest: &Digest, blob: &Digest) -> Option<oci_fetch::Url> {
            oci_fetch::Url::parse(&format!("https://memory/v2/test/blobs/{blob}")).ok()
        }
        fn served_by(&self, _manifest: &Digest) -> ServedBy {
            ServedBy::Layout {
                dir: "memory".into(),
            }
        }
    }

    const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    const INDEX: &str = "application/vnd.oci.image.index.v1+json";

    fn manifest(layers: &[(&str, &str)], artifact: bool) -> serde_json::Value {
        let config = if artifact {
            "application/vnd.oci.empty.v1+json"
        } else {
            "application/vnd.oci.image.config.v1+json"
        };
        json!({
            "schemaVersion": 2, "mediaType": MANIFEST,
            "config": {"mediaType": config, "digest": format!("sha256:{}", "c".repeat(64)), "size": 2},
            "layers": layers.iter().enumerate().map(|(i, (title, mt))| json!({
                "mediaType": mt, "digest": format!("sha256:{}", format!("{i:x}").repeat(64)), "size": 10 + i,
                "annotations": {"org.opencontainers.image.title": title},
            })).collect::<Vec<_>>(),
        })
    }

    /// An index: x86_64 qcow2 (2 layers), x86_64 raw+zstd, aarch64 qcow2, a container image.
    fn fixture() -> (Memory, Vec<Digest>) {
        let mut m = Memory::default();
        let a = m.put(
            MANIFEST,
            manifest(&[("a.qcow2", "application/x-qemu-disk"), ("b", "x")], true),
        );
        let b = m.put(
            MANIFEST,
            manifest(&[("x.raw.zst", "application/x-raw+zstd")], true),
        );
        let c = m.put(
            MANIFEST,
            manifest(&[("arm.qcow2", "application/x-qemu-disk")], true),
        );
        let d = m.put(MANIFEST, manifest(&[("l1", "t"), ("l2", "t")], false));
        let entry = |(d, s): &(Digest, u64), arch: &str, disk: Option<&str>, artifact: bool| {
            let mut e = json!({"mediaType": MANIFEST, "digest": d.as_str(), "size": s,
                               "platform": {"os": "linux", "architecture": arch}});
            if let Some(t) = disk {
                e["annotations"] = json!({"disktype": t});
            }
            if artifact {
                e["artifactType"] = json!("application/vnd.test.disk");
            }
            e
        };
        let index = json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": [
            entry(&a, "x86_64", Some("qcow2"), true),
            entry(&b, "x86_64", Some("raw"), true),
            entry(&c, "aarch64", Some("qcow2"), true),
            entry(&d, "x86_64", None, false),
        ]});
        let (i, _) = m.put(INDEX, index);
        m.tags.insert("v1".to_owned(), i.clone());
        (m, vec![i, a.0, b.0, c.0, d.0])
    }

    fn run(
        source: &Memory,
        target: TagOrDigest,
        policy: &Policy,
    ) -> Result<Resolved, ResolveError> {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(resolve(source, "memory/test:v1", &target, policy))
    }

    #[test]
    fn fetches_only_the_manifests_the_policy_needs() {
        let (m, d) = fixture();
        let policy = Policy::ironic(DownloadSource::Local, Some("x86_64"));
        let r = run(&m, TagOrDigest::tag("v1").expect("valid tag"), &policy).expect("resolves");
        // qcow2 first, but it has two layers: skipped; raw is next (its manifest fetched too).
        assert_eq!(r.filename.as_deref(), Some("x.raw.zst"));
        assert_eq!(r.disk_format, Some(DiskFormat::Raw));
        assert_eq!(r.compression.map(|c| c.as_str()), Some("zstd"));
        assert_eq!(
            *m.fetched.lock().expect("lock"),
            vec![d[0].clone(), d[1].clone(), d[2].clone()]
        );
        assert_eq!(r.requests, 3);
        assert_eq!(
            r.manifest_url.to_string(),
            format!("oci://memory/test@{}", d[2])
        );
        assert!(r.blob_url.as_ref().is_some_and(|u| {
            u.as_str()
                .starts_with("https://memory/v2/test/blobs/sha256:")
        }));
    }

    #[test]
    fn container_image_is_bootc_with_total_size() {
        let (m, d) = fixture();
        let policy = Policy::new().with(oci_select::rules::ContainerImage::new(
            oci_select::rules::ContainerImageMode::Require,
        ));
        let r = run(&m, TagOrDigest::tag("v1").expect("valid tag"), &policy).expect("resolves");
        assert_eq!(r.disk_format, Some(DiskFormat::Bootc));
        assert!(r.blob.is_none());
        assert_eq!(r.manifest_digest, d[4]);
        assert_eq!(r.size, 2 + 10 + 11, "config plus layers");
        assert_eq!(r.layers.len(), 2);
    }

    #[test]
    fn digest_reference_is_unknown_and_skips_selection() {
        let (m, d) = fixture();
        let policy = Policy::ironic(DownloadSource::Local, Some("s390x"));
        let r = run(&m, TagOrDigest::Digest(d[3].clone()), &policy).expect("resolves");
        assert_eq!(r.disk_format, Some(DiskFormat::Unknown));
        assert_eq!(r.filename.as_deref(), Some("arm.qcow2"));
        assert!(r.explanation.is_none());
        assert_eq!(r.requests, 1);
    }

    #[test]
    fn no_match_is_a_typed_error_listing_every_candidate() {
        let (m, _) = fixture();
        let policy = Policy::ironic(DownloadSource::Http, Some("ppc64le"));
        let err =
            run(&m, TagOrDigest::tag("v1").expect("valid tag"), &policy).expect_err("no match");
        match &err {
            ResolveError::NoMatch { explanation, .. } => {
                assert_eq!(explanation.candidates.len(), 4);
                assert!(
                    explanation
                        .candidates
                        .iter()
                        .all(|c| c.reason.contains("is not ppc64le"))
                );
            }
            other => panic!("unexpected {other}"),
        }
        assert!(err.to_string().contains("entry 3"), "{err}");
    }

    #[test]
    fn empty_index_is_an_error() {
        let mut m = Memory::default();
        let (i, _) = m.put(
            INDEX,
            json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": []}),
        );
        m.tags.insert("e".into(), i);
        let err = run(
            &m,
            TagOrDigest::tag("e").expect("valid tag"),
            &Policy::new(),
        )
        .expect_err("empty");
        assert!(matches!(err, ResolveError::EmptyIndex { .. }), "{err}");
    }
}
