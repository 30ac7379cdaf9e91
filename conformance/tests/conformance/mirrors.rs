//! registries.conf mirrors against two real registries (a mirror and a primary): content only on
//! the primary is served after the mirror misses; content on the mirror is served from the
//! mirror (proved by stopping the primary); a mirror serving wrong bytes for a digest is
//! rejected by verification and the primary used; when that mirror is the only source left, the
//! pull fails as a verification failure.
//!
//! The wrong-bytes case rewrites a blob file in the mirror's storage, so the mirror is always a
//! `process` backend registry (its storage directory is found through its configuration file).
//!
//! Capabilities recorded: `mirror-fallthrough`, `mirror-serves`, `mirror-integrity`.

use std::path::PathBuf;

use conformance::capability::{Outcome, provisioned_only, record};
use conformance::{Backend, Registry, RegistryOptions, unique_repo};
use oci_client::registries::RegistriesConf;
use oci_fetch::pull::{PullOptions, pull_files};
use oci_fetch::registry::RegistrySource;
use oci_fetch::resolve::resolve;
use oci_ref::TagOrDigest;
use oci_ref::{Digest, Reference};
use oci_select::{DownloadSource, Policy};

use crate::resolve::{plain_client, push_artifact, push_machine_index};

/// A registries.conf sending `primary/ns` through `mirror/mirror-ns` first.
fn conf(primary: &str, mirror: &str, ns: &str) -> anyhow::Result<RegistriesConf> {
    let text = format!(
        "[[registry]]\nprefix = \"{primary}/{ns}\"\nlocation = \"{primary}/{ns}\"\ninsecure = true\n\
         [[registry.mirror]]\nlocation = \"{mirror}/mirror-{ns}\"\ninsecure = true\n"
    );
    Ok(RegistriesConf::parse_str(&text, "mirrors-test.conf")?)
}

/// The blob file of `digest` in a process-backend registry's storage.
fn blob_file(registry: &Registry, digest: &Digest) -> anyhow::Result<PathBuf> {
    for entry in std::fs::read_dir(std::env::temp_dir())? {
        let dir = entry?.path();
        let is_ours = dir
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("oci-conformance-"));
        let config = dir.join("config.yml");
        if !is_ours || !config.is_file() {
            continue;
        }
        if std::fs::read_to_string(&config)?.contains(registry.host()) {
            let hex = digest.encoded();
            return Ok(dir.join(format!(
                "storage/docker/registry/v2/blobs/{}/{}/{hex}/data",
                digest.algorithm().as_str(),
                &hex[..2]
            )));
        }
    }
    anyhow::bail!("storage of {} not found", registry.host())
}

async fn resolve_and_pull(
    conf: &RegistriesConf,
    reference: &Reference,
    hosts: &[&str],
) -> anyhow::Result<(String, String, Vec<u8>)> {
    let client = plain_client(hosts)?;
    let sources = conf.pull_sources(reference)?;
    let source = RegistrySource::new(&client, reference, sources)?;
    let policy = Policy::ironic(DownloadSource::Local, Some("aarch64"));
    let r = resolve(
        &source,
        &reference.to_string(),
        &TagOrDigest::from(reference),
        &policy,
    )
    .await?;
    let blob = r.blob.clone().ok_or_else(|| anyhow::anyhow!("no blob"))?;
    source.expect_size(&blob.digest, blob.size);
    let dir = tempfile::tempdir()?;
    let files = pull_files(
        &source,
        std::slice::from_ref(&blob),
        dir.path(),
        &PullOptions::default(),
    )
    .await?;
    let path = files
        .first()
        .map(|f| f.downloaded.path.clone())
        .ok_or_else(|| anyhow::anyhow!("no file"))?;
    let served = source
        .blob_served_by(&blob.digest)
        .map(|s| s.reference.to_string())
        .unwrap_or_default();
    Ok((r.source.to_string(), served, std::fs::read(path)?))
}

/// What each step resolves and pulls: the primary's reference through the mirror's conf.
struct Setup {
    conf: RegistriesConf,
    reference: Reference,
    hosts: [String; 2],
}

impl Setup {
    async fn pull(&self) -> anyhow::Result<(String, String, Vec<u8>)> {
        let hosts: Vec<&str> = self.hosts.iter().map(String::as_str).collect();
        resolve_and_pull(&self.conf, &self.reference, &hosts).await
    }

    /// Pulls and requires the manifest from `manifest_host` and the blob from `blob_host`.
    async fn ensure_served(&self, manifest_host: &str, blob_host: &str) -> anyhow::Result<Vec<u8>> {
        let (served, blob_from, bytes) = self.pull().await?;
        anyhow::ensure!(
            served.starts_with(manifest_host) && blob_from.starts_with(blob_host),
            "manifest from {served}, blob from {blob_from}; expected {manifest_host} and {blob_host}"
        );
        Ok(bytes)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirror_misses_then_serves_then_is_caught_lying() -> anyhow::Result<()> {
    if !provisioned_only(
        &["mirror/fallthrough", "mirror/integrity", "mirror/serves"],
        "a mirror whose storage it can corrupt",
    )
    .expect("valid backend selection")
    {
        return Ok(());
    }
    let mirror = Registry::start_backend(Backend::Process, &RegistryOptions::default()).await?;
    let primary = Registry::start().await?;
    let ns = unique_repo("mirrors");
    let setup = Setup {
        conf: conf(primary.host(), mirror.host(), &ns)?,
        reference: format!("{}/{ns}/disk:machine", primary.host()).parse()?,
        hosts: [primary.host().to_owned(), mirror.host().to_owned()],
    };
    let hosts: Vec<&str> = setup.hosts.iter().map(String::as_str).collect();
    let client = plain_client(&hosts)?;
    let primary_repo = client.repository(&setup.reference)?;
    let mirror_ref: Reference = format!("{}/mirror-{ns}/disk:machine", mirror.host()).parse()?;
    let mirror_repo = client.repository(&mirror_ref)?;

    // 1. Only on the primary: the mirror misses (404), the primary serves.
    push_machine_index(&primary_repo, "machine").await?;
    setup.ensure_served(primary.host(), primary.host()).await?;
    record(
        &mirror,
        "mirror/fallthrough",
        Outcome::Passed,
        "404 at mirror, primary served",
    );

    // 2. Also on the mirror: the mirror serves (tags differ so the index is its own).
    let mirror_entries = push_machine_index(&mirror_repo, "machine").await?;
    setup.ensure_served(mirror.host(), mirror.host()).await?;

    // 3. The mirror serves wrong bytes for the chosen layer: rejected, primary used. The
    //    primary must have the same layer: push the mirror's chosen artifact there too.
    let chosen = &mirror_entries
        .iter()
        .find(|e| e.0 == "aarch64" && e.1 == "qcow2")
        .expect("pushed")
        .3;
    let title = "disk-aarch64.qcow2";
    let original = std::fs::read(blob_file(&mirror, chosen)?)?;
    push_artifact(&primary_repo, title, "application/octet-stream", &original).await?;
    let mut tampered = original.clone();
    if let Some(b) = tampered.first_mut() {
        *b ^= 0xff;
    }
    std::fs::write(blob_file(&mirror, chosen)?, &tampered)?;
    let bytes = setup.ensure_served(mirror.host(), primary.host()).await?;
    anyhow::ensure!(
        bytes == original,
        "the verified bytes are the original ones"
    );
    record(
        &mirror,
        "mirror/integrity",
        Outcome::Passed,
        "wrong blob rejected, primary used",
    );
    std::fs::write(blob_file(&mirror, chosen)?, &original)?;

    // 4. Stop the primary: everything still comes from the mirror.
    drop(primary);
    setup.ensure_served(mirror.host(), mirror.host()).await?;
    record(
        &mirror,
        "mirror/serves",
        Outcome::Passed,
        "primary stopped, mirror served",
    );

    // 5. Now the only source lies: a verification failure naming the bad bytes, not "not found",
    //    and nothing written where the file was asked for.
    std::fs::write(blob_file(&mirror, chosen)?, &tampered)?;
    let e = setup
        .pull()
        .await
        .err()
        .ok_or_else(|| anyhow::anyhow!("a lying only source must fail the pull"))?;
    let verification = e
        .chain()
        .find_map(|c| c.downcast_ref::<oci_fetch::download::DownloadError>())
        .is_some_and(|d| d.is_verification());
    anyhow::ensure!(verification, "expected a verification failure, got: {e:#}");
    std::fs::write(blob_file(&mirror, chosen)?, &original)?;
    Ok(())
}
