//! Interop with the clients people already use, on the real registry: ORAS's Python client
//! (`oras` on PyPI) and `skopeo`, against `oci_fetch::publish` and `oci-client`.
//!
//! The peers are required: when one is missing the test fails saying how to install it
//! (`pip install oras`, `apt-get install skopeo`); CI installs both.
//!
//! Capabilities recorded: `interop-oras-push`, `interop-oras-pull`, `interop-skopeo`,
//! `interop-walkthrough`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use anyhow::Context as _;
use conformance::capability::probe;
use conformance::{Registry, RegistryOptions, for_each_backend, unique_repo};
use oci_client::{Client, PushOutcome, ReferrersSource, Repository};
use oci_fetch::descriptor::Descriptor;
use oci_fetch::publish::discover::{DiscoverOptions, discover, render_tree};
use oci_fetch::publish::input::FileSpec;
use oci_fetch::publish::push::{PushRequest, Pushed, push, resolve_subject};
use oci_ref::TagOrDigest;
use oci_ref::{Digest, Reference};

use crate::sha256_digest;

/// Fixed creation time: reproducible manifests.
const CREATED: &str = "2024-03-17T08:42:37Z";

/// The Python side: `push HOST REF FILE...` (cwd holds the files) prints the manifest digest;
/// `pull HOST REF OUTDIR` prints the written paths, one a line.
const ORAS_PY: &str = r#"
import sys, oras.client
cmd, host, ref = sys.argv[1], sys.argv[2], sys.argv[3]
c = oras.client.OrasClient(hostname=host, insecure=True)
if cmd == "push":
    r = c.push(target=ref, files=sys.argv[4:], disable_path_validation=True, quiet=True)
    if r.status_code != 201:
        sys.exit("push status %d" % r.status_code)
    print(r.headers["Docker-Content-Digest"])
else:
    for p in c.pull(target=ref, outdir=sys.argv[4]):
        print(p)
"#;

/// Fails with install instructions when a peer is missing.
pub(crate) fn require_peers() -> anyhow::Result<()> {
    let oras = Command::new("python3")
        .args(["-c", "import oras.client"])
        .output();
    anyhow::ensure!(
        oras.is_ok_and(|o| o.status.success()),
        "the interop tests need ORAS's Python client: `pip install oras` (and python3)"
    );
    let skopeo = Command::new("skopeo").arg("--version").output();
    anyhow::ensure!(
        skopeo.is_ok_and(|o| o.status.success()),
        "the interop tests need skopeo: `apt-get install skopeo` (or your distribution's package)"
    );
    Ok(())
}

/// Runs a peer command in `dir`; its stdout on success, its stderr in the error otherwise.
pub(crate) fn run(dir: &Path, program: &str, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .with_context(|| format!("running {program}"))?;
    anyhow::ensure!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?)
}

pub(crate) fn oras_py(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let mut all = vec!["-c", ORAS_PY];
    all.extend_from_slice(args);
    run(dir, "python3", &all)
}

fn setup() {
    oci_client::install_crypto_provider();
}

fn repository(registry: &Registry, reference: &Reference) -> anyhow::Result<Repository> {
    anyhow::ensure!(
        registry.credentials().is_none(),
        "interop runs on an open registry"
    );
    let client = Client::builder().plain_http(registry.host()).build()?;
    Ok(client.repository(reference)?)
}

fn reference(registry: &Registry, repo: &str, tag: &str) -> anyhow::Result<Reference> {
    Ok(format!("{}/{repo}:{tag}", registry.host()).parse()?)
}

fn files(dir: &Path, specs: &[(&str, &str, &[u8])]) -> anyhow::Result<Vec<FileSpec>> {
    specs
        .iter()
        .map(|(name, media_type, content)| {
            std::fs::write(dir.join(name), content)?;
            let path = dir.join(name);
            Ok(FileSpec {
                path,
                media_type: Some((*media_type).to_owned()),
            })
        })
        .collect()
}

async fn fetch_blob(repo: &Repository, digest: &str, size: u64) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    repo.fetch_blob_to(&Digest::parse(digest)?, Some(size), &mut out)
        .await?;
    Ok(out)
}

/// A payload larger than the monolithic limit, so the upload that hashes alongside is what oras
/// reads.
fn big_payload() -> Vec<u8> {
    (0..oci_fetch::publish::push::MAX_MONOLITHIC_BYTES + 4099)
        .map(|i| (i % 253) as u8)
        .collect()
}

#[tokio::test]
async fn oras_python_push_is_pulled_by_us_byte_exact() {
    setup();
    require_peers().expect("interop peers installed");
    for_each_backend(&RegistryOptions::new(), async |registry| {
        probe(registry, "interop/oras-push", async {
            let dir = tempfile::tempdir()?;
            let yaml = b"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: test\n".to_vec();
            let bin: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
            std::fs::write(dir.path().join("namespace.yaml"), &yaml)?;
            std::fs::write(dir.path().join("blob.bin"), &bin)?;
            let repo_name = unique_repo("interop-from-oras");
            let target = reference(registry, &repo_name, "v1")?;
            let printed = oras_py(
                dir.path(),
                &[
                    "push",
                    registry.host(),
                    &target.to_string(),
                    "namespace.yaml:application/yaml",
                    "blob.bin:application/octet-stream",
                ],
            )?;
            let repo = repository(registry, &target)?;
            let manifest = repo.fetch_manifest(&TagOrDigest::from(&target)).await?;
            anyhow::ensure!(
                manifest.digest().as_str() == printed.trim(),
                "oras printed {printed:?}, the tag resolves to {}",
                manifest.digest()
            );
            let json: serde_json::Value = serde_json::from_slice(manifest.bytes())?;
            let layers = json["layers"].as_array().context("layers")?;
            let mut by_title = BTreeMap::new();
            for l in layers {
                let title = l["annotations"]["org.opencontainers.image.title"]
                    .as_str()
                    .context("title")?;
                let digest = l["digest"].as_str().context("digest")?;
                let size = l["size"].as_u64().context("size")?;
                by_title.insert(title.to_owned(), fetch_blob(&repo, digest, size).await?);
            }
            anyhow::ensure!(
                by_title.get("namespace.yaml") == Some(&yaml),
                "yaml differs"
            );
            anyhow::ensure!(by_title.get("blob.bin") == Some(&bin), "binary differs");
            Ok(())
        })
        .await
    })
    .await
    .expect("what oras pushes, we pull byte-exact");
}

/// oras-py's multi-file push, resolved under the CLI's default (Ironic) policy and pulled
/// through the layer API: every titled file is written byte-exact (the reference names a
/// manifest, so the single-layer rule does not apply).
#[tokio::test]
async fn oras_python_multi_file_push_is_pulled_whole() {
    setup();
    require_peers().expect("interop peers installed");
    for_each_backend(&RegistryOptions::new(), async |registry| {
        let dir = tempfile::tempdir()?;
        let specs: [(&str, &[u8]); 3] = [
            ("vmlinuz", b"kernel"),
            ("initramfs", b"ramdisk"),
            ("notes.txt", b"built by oras-py\n"),
        ];
        for (name, content) in &specs {
            std::fs::write(dir.path().join(name), content)?;
        }
        let target = reference(registry, &unique_repo("interop-multi"), "v1")?;
        let names: Vec<&str> = specs.iter().map(|(n, _)| *n).collect();
        let mut args = vec!["push", registry.host()];
        let target_text = target.to_string();
        args.push(&target_text);
        args.extend_from_slice(&names);
        oras_py(dir.path(), &args)?;
        let client = Client::builder().plain_http(registry.host()).build()?;
        let policy = oci_select::Policy::ironic(oci_select::DownloadSource::Local, None);
        let artifact =
            oci_fetch::artifact::Artifact::from_registry(&client, &target, None, &policy).await?;
        let resolved = artifact.resolved();
        anyhow::ensure!(
            resolved.rule_set == oci_fetch::resolve::RuleSet::Artifact,
            "rule set {:?}",
            resolved.rule_set
        );
        let out = tempfile::tempdir()?;
        let pulled = oci_fetch::pull::pull_files(
            artifact.source().blobs(),
            &resolved.files(),
            out.path(),
            &oci_fetch::pull::PullOptions::default(),
        )
        .await?;
        anyhow::ensure!(pulled.len() == specs.len(), "{} files", pulled.len());
        for (name, content) in &specs {
            anyhow::ensure!(
                std::fs::read(out.path().join(name))? == *content,
                "{name} differs"
            );
        }
        Ok(())
    })
    .await
    .expect("what oras-py pushes as several files, we pull whole");
}

#[tokio::test]
async fn our_push_is_pulled_by_oras_python_byte_exact() {
    setup();
    require_peers().expect("interop peers installed");
    for_each_backend(&RegistryOptions::new(), async |registry| {
        probe(registry, "interop/oras-pull", async {
            let dir = tempfile::tempdir()?;
            let big = big_payload();
            let text = b"kernel command line\n".to_vec();
            let specs = files(
                dir.path(),
                &[
                    ("disk.img", "application/vnd.example.disk", &big),
                    ("cmdline.txt", "text/plain", &text),
                ],
            )?;
            let repo_name = unique_repo("interop-to-oras");
            let target = reference(registry, &repo_name, "v1")?;
            let repo = repository(registry, &target)?;
            let req = PushRequest {
                files: specs,
                artifact_type: Some("application/vnd.example.bundle.v1".into()),
                created: oci_ref::rfc3339::parse(CREATED),
                ..PushRequest::default()
            };
            let pushed = push(&repo, Some("v1"), &req).await?;
            // Pushing again uploads nothing: every blob is already there.
            let again = push(&repo, Some("v1"), &req).await?;
            anyhow::ensure!(
                again
                    .blobs
                    .iter()
                    .all(|b| b.outcome == PushOutcome::AlreadyExists),
                "second push uploaded again: {:?}",
                again.blobs
            );
            anyhow::ensure!(again.descriptor == pushed.descriptor, "not reproducible");

            let out = dir.path().join("out");
            std::fs::create_dir(&out)?;
            oras_py(
                dir.path(),
                &[
                    "pull",
                    registry.host(),
                    &target.to_string(),
                    out.to_str().context("UTF-8 path")?,
                ],
            )?;
            anyhow::ensure!(std::fs::read(out.join("disk.img"))? == big, "disk differs");
            anyhow::ensure!(
                std::fs::read(out.join("cmdline.txt"))? == text,
                "text differs"
            );
            Ok(())
        })
        .await
    })
    .await
    .expect("what we push, oras pulls byte-exact");
}

#[tokio::test]
async fn skopeo_reads_our_artifacts_and_layouts() {
    setup();
    require_peers().expect("interop peers installed");
    for_each_backend(&RegistryOptions::new(), async |registry| {
        probe(registry, "interop/skopeo", async {
            let dir = tempfile::tempdir()?;
            let payload = b"{\"hello\":\"skopeo\"}\n".to_vec();
            let specs = files(dir.path(), &[("hello.json", "application/json", &payload)])?;
            let repo_name = unique_repo("interop-skopeo");
            let target = reference(registry, &repo_name, "v1")?;
            let repo = repository(registry, &target)?;
            let req = PushRequest {
                files: specs,
                artifact_type: Some("application/vnd.example.hello.v1".into()),
                created: oci_ref::rfc3339::parse(CREATED),
                ..PushRequest::default()
            };
            let pushed = push(&repo, Some("v1"), &req).await?;
            let docker = format!("docker://{target}");

            // inspect --raw: our bytes, a valid OCI 1.1 artifact manifest.
            let raw = run(
                dir.path(),
                "skopeo",
                &["inspect", "--raw", "--tls-verify=false", &docker],
            )?;
            anyhow::ensure!(
                raw.trim_end().as_bytes() == pushed.manifest.as_slice(),
                "skopeo inspect --raw shows other bytes"
            );
            check_artifact_manifest(&serde_json::from_str(&raw)?)?;

            // copy registry → layout: the layout holds our blobs byte-exact.
            let layout = dir.path().join("layout");
            let dest = format!("oci:{}:v1", layout.display());
            run(
                dir.path(),
                "skopeo",
                &["copy", "--src-tls-verify=false", &docker, &dest],
            )?;
            let blob = |d: &Digest| layout.join("blobs/sha256").join(d.encoded());
            let manifest = std::fs::read(blob(&pushed.descriptor.digest))?;
            anyhow::ensure!(manifest == pushed.manifest, "layout manifest differs");
            let layer = &pushed.blobs[1].descriptor;
            let bytes = std::fs::read(blob(&layer.digest))?;
            anyhow::ensure!(
                bytes == payload && sha256_digest(&bytes) == layer.digest.as_str(),
                "layer differs"
            );
            let index: serde_json::Value =
                serde_json::from_slice(&std::fs::read(layout.join("index.json"))?)?;
            anyhow::ensure!(
                index["manifests"][0]["digest"] == pushed.descriptor.digest.as_str(),
                "layout index.json does not point at our manifest"
            );

            // copy registry → registry: the copy keeps our bytes.
            let copy_ref = reference(registry, &format!("{repo_name}-copy"), "v1")?;
            run(
                dir.path(),
                "skopeo",
                &[
                    "copy",
                    "--src-tls-verify=false",
                    "--dest-tls-verify=false",
                    &docker,
                    &format!("docker://{copy_ref}"),
                ],
            )?;
            let copy = repository(registry, &copy_ref)?;
            let copied = copy.fetch_manifest(&TagOrDigest::from(&copy_ref)).await?;
            anyhow::ensure!(
                copied.bytes().as_ref() == pushed.manifest.as_slice(),
                "registry-to-registry copy changed the manifest"
            );
            anyhow::ensure!(
                fetch_blob(&copy, layer.digest.as_str(), layer.size).await? == payload,
                "copied layer differs"
            );

            check_skopeo_reads_our_layout(registry, dir.path(), &repo_name, &payload).await
        })
        .await
    })
    .await
    .expect("skopeo reads our artifacts and our layouts");
}

/// A layout we write is read by skopeo: it pushes the manifest we wrote.
async fn check_skopeo_reads_our_layout(
    registry: &Registry,
    dir: &Path,
    repo_name: &str,
    payload: &[u8],
) -> anyhow::Result<()> {
    let ours = dir.join("ours");
    let written = write_layout(&ours, payload).await?;
    let from_layout = reference(registry, &format!("{repo_name}-layout"), "v1")?;
    run(
        dir,
        "skopeo",
        &[
            "copy",
            "--dest-tls-verify=false",
            &format!("oci:{}:v1", ours.display()),
            &format!("docker://{from_layout}"),
        ],
    )?;
    let pulled = repository(registry, &from_layout)?
        .fetch_manifest(&TagOrDigest::from(&from_layout))
        .await?;
    anyhow::ensure!(
        pulled.digest().as_str() == written,
        "skopeo pushed {} from our layout, we wrote {written}",
        pulled.digest()
    );
    Ok(())
}

/// image-spec v1.1.1 artifact guidance: schemaVersion 2, the manifest media type, an
/// `artifactType`, the empty config with its data, titled layers.
fn check_artifact_manifest(m: &serde_json::Value) -> anyhow::Result<()> {
    anyhow::ensure!(m["schemaVersion"] == 2, "schemaVersion");
    anyhow::ensure!(
        m["mediaType"] == "application/vnd.oci.image.manifest.v1+json",
        "mediaType"
    );
    anyhow::ensure!(m["artifactType"].is_string(), "artifactType missing");
    let empty = Descriptor::empty();
    anyhow::ensure!(
        m["config"]["mediaType"] == empty.media_type.as_str()
            && m["config"]["digest"] == empty.digest.as_str()
            && m["config"]["size"] == 2
            && m["config"]["data"] == "e30=",
        "config is not the empty descriptor: {}",
        m["config"]
    );
    for l in m["layers"].as_array().context("layers")? {
        anyhow::ensure!(
            l["annotations"]["org.opencontainers.image.title"].is_string(),
            "layer without title: {l}"
        );
    }
    Ok(())
}

/// Writes an OCI layout holding one artifact (empty config, one layer) tagged `v1` with the
/// layout API; returns its manifest digest.
async fn write_layout(root: &Path, payload: &[u8]) -> anyhow::Result<String> {
    use oci_fetch::layout::OciLayout;
    let layout = OciLayout::create(root).await?;
    let config = layout
        .write_blob_bytes("application/vnd.oci.empty.v1+json", b"{}".to_vec())
        .await?;
    let layer = layout
        .write_blob_bytes("text/plain", payload.to_vec())
        .await?;
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.example.layout.v1",
        "config": {"mediaType": config.media_type, "digest": config.digest.as_str(),
                   "size": config.size},
        "layers": [{"mediaType": layer.media_type, "digest": layer.digest.as_str(),
                    "size": layer.size,
                    "annotations": {"org.opencontainers.image.title": "hello.txt"}}],
    });
    let desc = layout
        .write_blob_bytes(
            "application/vnd.oci.image.manifest.v1+json",
            serde_json::to_vec(&manifest)?,
        )
        .await?;
    layout.tag(&desc, "v1").await?;
    Ok(desc.digest.as_str().to_owned())
}

async fn attach(
    repo: &Repository,
    subject: &TagOrDigest,
    dir: &Path,
    name: &str,
    artifact_type: &str,
) -> anyhow::Result<Pushed> {
    let specs = files(
        dir,
        &[(name, "application/json", b"{\"signature\":\"x\"}\n")],
    )?;
    let req = PushRequest {
        files: specs,
        artifact_type: Some(artifact_type.into()),
        subject: Some(resolve_subject(repo, subject).await?),
        created: oci_ref::rfc3339::parse(CREATED),
        ..PushRequest::default()
    };
    Ok(push(repo, None, &req).await?)
}

/// The seed walkthrough: push a YAML with an artifact type, attach a signature, attach an
/// SBOM, sign the SBOM; discover shows signature and SBOM under the YAML and the SBOM's
/// signature under the SBOM. On distribution 2.8 (no referrers API) through the fallback tags.
#[tokio::test]
async fn seed_walkthrough_discovers_the_referrers_tree() {
    setup();
    for_each_backend(&RegistryOptions::new(), async |registry| {
        probe(registry, "interop/walkthrough", async {
            const SIG: &str = "application/vnd.example.signature.v1+json";
            const SBOM: &str = "application/vnd.example.sbom.v1+json";
            let dir = tempfile::tempdir()?;
            let repo_name = unique_repo("interop-walkthrough");
            let target = reference(registry, &repo_name, "v1")?;
            let repo = repository(registry, &target)?;
            let yaml = b"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: test\n";
            let req = PushRequest {
                files: files(dir.path(), &[("namespace.yaml", "application/yaml", yaml)])?,
                artifact_type: Some("application/vnd.example.manifests.v1".into()),
                created: oci_ref::rfc3339::parse(CREATED),
                ..PushRequest::default()
            };
            let pushed = push(&repo, Some("v1"), &req).await?;
            let v1 = TagOrDigest::from(&target);
            let signature = attach(&repo, &v1, dir.path(), "signature.json", SIG).await?;
            let sbom = attach(&repo, &v1, dir.path(), "sbom.json", SBOM).await?;
            let sbom_ref = TagOrDigest::Digest(sbom.descriptor.digest.clone());
            let sbom_sig = attach(&repo, &sbom_ref, dir.path(), "sbom-signature.json", SIG).await?;

            let subject = pushed.descriptor.digest.clone();
            let listed = repo.referrers(&subject, None).await?;
            if !signature.subject_confirmed {
                anyhow::ensure!(
                    listed.source == ReferrersSource::TagSchema,
                    "no OCI-Subject on push, yet referrers came from {:?}",
                    listed.source
                );
            }
            let tree = discover(&repo, &v1, &DiscoverOptions::default()).await?;
            let name = format!(
                "{}/{repo_name}@{}",
                registry.host(),
                pushed.descriptor.digest
            );
            let expected = [
                name.clone(),
                format!("├── {SIG}"),
                format!("│   └── {}", signature.descriptor.digest),
                format!("└── {SBOM}"),
                format!("    └── {}", sbom.descriptor.digest),
                format!("        └── {SIG}"),
                format!("            └── {}", sbom_sig.descriptor.digest),
            ]
            .join("\n")
                + "\n";
            let rendered = render_tree(&name, &tree);
            anyhow::ensure!(
                rendered == expected,
                "tree:\n{rendered}\nexpected:\n{expected}"
            );
            Ok(())
        })
        .await
    })
    .await
    .expect("the walkthrough's referrers tree is discovered");
}
