//! Mirroring between two real registries: `copy -r` of an index with referrers (and a
//! referrer of a referrer) checked with plain HTTP on the destination (tags, manifest digests,
//! referrers indexes); CNCF distribution as a pull-through cache that a consumer's
//! registries.conf points at, serving after the primary stops; and skopeo and oras-py reading
//! what we mirrored.
//!
//! Capabilities recorded: `mirror/copy-referrers`, `mirror/pull-through-cache`,
//! `mirror/interop`.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use conformance::capability::{Outcome, provisioned_only, record};
use conformance::{Backend, Registry, RegistryOptions, unique_repo};
use oci_client::Repository;
use oci_client::registries::RegistriesConf;
use oci_fetch::copy::{Copier, CopyOptions, Location};
use oci_fetch::registry::RegistrySource;
use oci_ref::media_type::{OCI_EMPTY, OCI_INDEX, OCI_MANIFEST};
use oci_ref::{Algorithm, Digest, Reference, Tag, TagOrDigest};

use crate::interop::{oras_py, require_peers, run};
use crate::resolve::plain_client;
use crate::{client, sha256_digest};

fn digest(data: &[u8]) -> Digest {
    oci_ref::digest_of(Algorithm::Sha256, data)
}

/// Pushes a one-layer manifest (optionally with a subject and an artifact type); returns its
/// digest and size.
async fn push_manifest(
    repo: &Repository,
    layer: &[u8],
    artifact_type: Option<&str>,
    subject: Option<(&Digest, u64, &str)>,
) -> anyhow::Result<(Digest, u64)> {
    repo.push_blob(&digest(b"{}"), Bytes::from_static(b"{}"))
        .await?;
    repo.push_blob(&digest(layer), Bytes::copy_from_slice(layer))
        .await?;
    let mut body = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_EMPTY, "digest": digest(b"{}").as_str(), "size": 2},
        "layers": [{"mediaType": "application/octet-stream", "digest": digest(layer).as_str(),
                    "size": layer.len()}],
    });
    if let Some(t) = artifact_type {
        body["artifactType"] = t.into();
    }
    if let Some((d, size, media_type)) = subject {
        body["subject"] =
            serde_json::json!({"mediaType": media_type, "digest": d.as_str(), "size": size});
    }
    let bytes = serde_json::to_vec(&body)?;
    let d = digest(&bytes);
    let size = bytes.len() as u64;
    repo.push_manifest(&TagOrDigest::Digest(d.clone()), bytes.into(), OCI_MANIFEST)
        .await?;
    Ok((d, size))
}

/// An index of two manifests under tags `v1` and `v2`; a signature and an SBOM on the index,
/// a signature on the SBOM and one on the first child. Returns the index digest.
async fn push_graph(repo: &Repository) -> anyhow::Result<Digest> {
    let (a, a_size) = push_manifest(repo, b"amd64 disk", None, None).await?;
    let (b, b_size) = push_manifest(repo, b"arm64 disk", None, None).await?;
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": a.as_str(), "size": a_size,
             "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": OCI_MANIFEST, "digest": b.as_str(), "size": b_size,
             "platform": {"os": "linux", "architecture": "arm64"}},
        ],
    }))?;
    let index_digest = digest(&index);
    let index_size = index.len() as u64;
    for tag in ["v1", "v2"] {
        repo.push_manifest(&TagOrDigest::tag(tag)?, index.clone().into(), OCI_INDEX)
            .await?;
    }
    let on_index = Some((&index_digest, index_size, OCI_INDEX));
    push_manifest(repo, b"sig", Some("application/vnd.test.sig"), on_index).await?;
    let (sbom, sbom_size) =
        push_manifest(repo, b"sbom", Some("application/vnd.test.sbom"), on_index).await?;
    let on_sbom = Some((&sbom, sbom_size, OCI_MANIFEST));
    push_manifest(repo, b"sbom sig", Some("application/vnd.test.sig"), on_sbom).await?;
    let on_child = Some((&a, a_size, OCI_MANIFEST));
    push_manifest(
        repo,
        b"child sig",
        Some("application/vnd.test.sig"),
        on_child,
    )
    .await?;
    Ok(index_digest)
}

/// Pushes `data` as a file named `title` (how oras pushes one) under `tag`.
async fn push_titled(repo: &Repository, tag: &str, title: &str, data: &[u8]) -> anyhow::Result<()> {
    repo.push_blob(&digest(b"{}"), Bytes::from_static(b"{}"))
        .await?;
    repo.push_blob(&digest(data), Bytes::copy_from_slice(data))
        .await?;
    let body = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.test.file",
        "config": {"mediaType": OCI_EMPTY, "digest": digest(b"{}").as_str(), "size": 2},
        "layers": [{"mediaType": "application/octet-stream", "digest": digest(data).as_str(),
                    "size": data.len(),
                    "annotations": {"org.opencontainers.image.title": title}}],
    }))?;
    repo.push_manifest(&TagOrDigest::tag(tag)?, body.into(), OCI_MANIFEST)
        .await?;
    Ok(())
}

/// skopeo reads the mirrored index byte-exact; oras-py pulls the mirrored file.
fn check_peers_read(to: &Registry, repo: &str, index_digest: &str) -> anyhow::Result<()> {
    require_peers()?;
    let dir = tempfile::tempdir()?;
    let raw = run(
        dir.path(),
        "skopeo",
        &[
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{}/{repo}:v1", to.host()),
        ],
    )?;
    anyhow::ensure!(
        sha256_digest(raw.as_bytes()) == index_digest,
        "skopeo read other bytes than the mirrored index"
    );
    let out = dir.path().join("out");
    let target = format!("{}/{repo}:file", to.host());
    let out_arg = out.to_str().unwrap_or_default();
    oras_py(dir.path(), &["pull", to.host(), &target, out_arg])?;
    let pulled = std::fs::read(out.join("notes.txt"))?;
    anyhow::ensure!(pulled == b"mirrored notes\n", "oras-py pulled {pulled:?}");
    Ok(())
}

/// What plain HTTP shows of a repository: each tag with the digest of the bytes it serves,
/// and each referrers fallback index as the set of digests it lists.
async fn http_view(
    registry: &Registry,
    repo: &str,
) -> anyhow::Result<(BTreeMap<String, String>, BTreeMap<String, BTreeSet<String>>)> {
    let http = client();
    let base = format!("{}/v2/{repo}", registry.base_url());
    let list: serde_json::Value = http
        .get(format!("{base}/tags/list"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let mut tags = BTreeMap::new();
    let mut referrers = BTreeMap::new();
    for tag in list["tags"].as_array().into_iter().flatten() {
        let tag = tag.as_str().unwrap_or_default().to_owned();
        let body = http
            .get(format!("{base}/manifests/{tag}"))
            .header("accept", format!("{OCI_INDEX}, {OCI_MANIFEST}"))
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        if Tag::parse(&tag)?.is_referrers_fallback() {
            let index: serde_json::Value = serde_json::from_slice(&body)?;
            let listed = index["manifests"].as_array().into_iter().flatten();
            let digests = listed.filter_map(|m| m["digest"].as_str().map(str::to_owned));
            referrers.insert(tag, digests.collect());
        } else {
            tags.insert(tag, sha256_digest(&body));
        }
    }
    Ok((tags, referrers))
}

/// Every digest named by the referrers indexes answers at `registry` with bytes of that digest.
async fn check_manifests_served(
    registry: &Registry,
    repo: &str,
    referrers: &BTreeMap<String, BTreeSet<String>>,
) -> anyhow::Result<()> {
    let http = client();
    for d in referrers.values().flatten() {
        let url = format!("{}/v2/{repo}/manifests/{d}", registry.base_url());
        let body = http
            .get(&url)
            .header("accept", OCI_MANIFEST)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        anyhow::ensure!(sha256_digest(&body) == *d, "{url} serves other bytes");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_recursive_gives_an_equal_graph_on_another_registry() -> anyhow::Result<()> {
    let from = Registry::start().await?;
    let to = Registry::start().await?;
    let repo_name = unique_repo("mirror-graph");
    let hosts = [from.host(), to.host()];
    let client = plain_client(&hosts)?;
    let src: Reference = format!("{}/{repo_name}:v1", from.host()).parse()?;
    let dst: Reference = format!("{}/{repo_name}:v1", to.host()).parse()?;
    let index_digest = push_graph(&client.repository(&src)?).await?;
    push_titled(
        &client.repository(&src)?,
        "file",
        "notes.txt",
        b"mirrored notes\n",
    )
    .await?;

    let mut opts = CopyOptions::default();
    opts.referrers = true;
    opts.concurrency = 4;
    let (from_loc, to_loc) = (Location::Registry(src.clone()), Location::Registry(dst));
    let copier = Copier::open(&client, &from_loc, &to_loc, &opts).await?;
    for tag in copier.source_tags().await?.tags {
        copier
            .copy(&TagOrDigest::Tag(tag.clone()), std::slice::from_ref(&tag))
            .await?;
    }
    let (want_tags, want_referrers) = http_view(&from, &repo_name).await?;
    let (tags, referrers) = http_view(&to, &repo_name).await?;
    anyhow::ensure!(tags == want_tags, "tags {tags:?}, expected {want_tags:?}");
    anyhow::ensure!(
        referrers == want_referrers,
        "referrers {referrers:?}, expected {want_referrers:?}"
    );
    anyhow::ensure!(
        referrers.len() == 3 && referrers.values().map(BTreeSet::len).sum::<usize>() == 4,
        "three subjects with four referrers in all: {referrers:?}"
    );
    check_manifests_served(&to, &repo_name, &referrers).await?;
    // A new copier (nothing remembered): the destination has everything.
    let again = Copier::open(&client, &from_loc, &to_loc, &opts).await?;
    let again = again.copy(&src.target(), &[]).await?;
    anyhow::ensure!(
        again.stats.is_noop(),
        "a second copy moves nothing: {:?}",
        again.stats
    );
    record(
        &to,
        "mirror/copy-referrers",
        Outcome::Passed,
        "graph equal over plain HTTP",
    );
    check_peers_read(&to, &repo_name, index_digest.as_str())?;
    record(
        &to,
        "mirror/interop",
        Outcome::Passed,
        "skopeo and oras-py read the mirror",
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_through_cache_serves_consumers_after_the_primary_stops() -> anyhow::Result<()> {
    if !provisioned_only(
        &["mirror/pull-through-cache"],
        "a distribution process in proxy mode",
    )
    .expect("valid backend selection")
    {
        return Ok(());
    }
    let primary = Registry::start_backend(Backend::Process, &RegistryOptions::default()).await?;
    let cache = Registry::start_backend(
        Backend::Process,
        &RegistryOptions::proxy(primary.base_url().to_owned()),
    )
    .await?;
    let ns = unique_repo("mirror-cache");
    let text = format!(
        "[[registry]]\nprefix = \"{p}/{ns}\"\nlocation = \"{p}/{ns}\"\n\
         [[registry.mirror]]\nlocation = \"{c}/{ns}\"\ninsecure = true\n",
        p = primary.host(),
        c = cache.host(),
    );
    let conf = RegistriesConf::parse_str(&text, "pull-through.conf")?;
    let hosts = [primary.host(), cache.host()];
    let client = plain_client(&hosts)?;
    let reference: Reference = format!("{}/{ns}/app:v1", primary.host()).parse()?;
    let repo = client.repository(&reference)?;
    let (manifest, _) = push_manifest(&repo, b"cached", None, None).await?;
    let bytes = repo
        .fetch_manifest(&TagOrDigest::Digest(manifest.clone()))
        .await?
        .bytes()
        .clone();
    repo.push_manifest(&reference.target(), bytes, OCI_MANIFEST)
        .await?;

    let pull = async |r: &Reference| -> anyhow::Result<(String, Vec<u8>)> {
        let source = RegistrySource::new(&client, r, conf.pull_sources(r)?)?;
        let m = source.fetch_manifest(&r.target()).await?;
        let served = source
            .manifest_served_by(m.digest())
            .map(|s| s.reference.registry().to_owned())
            .unwrap_or_default();
        Ok((served, m.bytes().to_vec()))
    };
    let (served, first) = pull(&reference).await?;
    anyhow::ensure!(
        served == cache.host(),
        "served by {served}, expected the cache"
    );
    drop(primary);
    let pinned = reference.pinned(manifest.clone());
    let (served, again) = pull(&pinned).await?;
    anyhow::ensure!(
        served == cache.host() && again == first,
        "after the primary stopped: served by {served}"
    );
    record(
        &cache,
        "mirror/pull-through-cache",
        Outcome::Passed,
        "served from the cache",
    );
    Ok(())
}
