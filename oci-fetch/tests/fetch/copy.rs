//! Registry → registry copies of a blob whose source misbehaves, against the real registry the
//! harness provisions, seen through fault proxies (`conformance::fault_proxy`) that cut a body
//! short or flip a byte and log what reached them: a cut body resumes with a range request into
//! the same upload; a mirror serving bad bytes is left for the next pull source; when every
//! source serves bad bytes the copy fails naming them, and nothing reaches the destination.
//! Copies sharing a request limit fetch their roots within it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use conformance::fault_proxy::{Fault, FaultProxy, Rule};
use conformance::{Registry, unique_repo};
use oci_client::registries::RegistriesConf;
use oci_client::{Client, Repository, RetryPolicy};
use oci_fetch::copy::{CopyError, CopyOptions, Location, RequestLimit, copy};
use oci_fetch::progress::{ProgressEvent, ProgressSink};
use oci_fetch::registry::MAX_BAD_BODIES_PER_SOURCE;
use oci_ref::{Digest, Reference, TagOrDigest};
use oci_testkit::http::Request;

use crate::common::{payload, sha256};

mod blob;
mod referrers;

pub(crate) const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// A real registry with fault proxies in front of it, and a client that talks plain HTTP to
/// all of them and retries quickly.
pub(crate) struct Setup {
    pub(crate) registry: Registry,
    pub(crate) client: Client,
    pub(crate) ns: String,
}

impl Setup {
    /// A real registry with `N` fault proxies in front of it (no rules yet); the client also
    /// talks plain HTTP to `others`.
    pub(crate) async fn start<const N: usize>(
        name: &str,
        others: &[String],
    ) -> (Setup, [FaultProxy; N]) {
        let registry = Registry::start().await.expect("a real registry");
        let mut builder = Client::builder()
            .plain_http(registry.host())
            .retry_policy(RetryPolicy {
                initial_backoff: Duration::from_millis(5),
                max_backoff: Duration::from_millis(20),
                ..RetryPolicy::default()
            });
        let mut proxies = Vec::with_capacity(N);
        for _ in 0..N {
            let proxy = FaultProxy::start(registry.host())
                .await
                .expect("a fault proxy");
            builder = builder.plain_http(&proxy.host());
            proxies.push(proxy);
        }
        for other in others {
            builder = builder.plain_http(other);
        }
        let setup = Setup {
            registry,
            client: builder.build().expect("client"),
            ns: unique_repo(name),
        };
        (setup, proxies.try_into().expect("N proxies"))
    }

    pub(crate) fn reference(&self, host: &str, rest: &str) -> Reference {
        format!("{host}/{}/{rest}", self.ns)
            .parse()
            .expect("reference")
    }

    pub(crate) fn repo(&self, rest: &str) -> Repository {
        let reference = self.reference(self.registry.host(), rest);
        self.client.repository(&reference).expect("repository")
    }

    /// Pushes an artifact with one layer of `data` to `src:v1`; returns (manifest, layer).
    pub(crate) async fn push_source(&self, data: &[u8]) -> (Digest, Digest) {
        let repo = self.repo("src:v1");
        let config = EMPTY_CONFIG;
        repo.push_blob(&sha256(config), Bytes::from_static(config))
            .await
            .expect("config pushed");
        let layer = sha256(data);
        repo.push_blob(&layer, Bytes::copy_from_slice(data))
            .await
            .expect("layer pushed");
        let manifest = manifest_of(data);
        let digest = sha256(&manifest);
        repo.push_manifest(
            &TagOrDigest::tag("v1").expect("tag"),
            manifest.into(),
            MANIFEST,
        )
        .await
        .expect("manifest pushed");
        (digest, layer)
    }

    /// Whether `dst` at the registry itself has the manifest `manifest` and the blob `layer`
    /// (with exactly `data`, when it has it).
    async fn destination_has(&self, manifest: &Digest, layer: &Digest, data: &[u8]) -> bool {
        let repo = self.repo("dst:v1");
        let target = TagOrDigest::Digest(manifest.clone());
        let has_manifest = repo.head_manifest(&target).await.expect("HEAD").is_some();
        let has_layer = repo.head_blob(layer).await.expect("HEAD blob").is_some();
        if has_layer {
            let mut bytes = Vec::new();
            repo.fetch_blob_to(layer, Some(data.len() as u64), &mut bytes)
                .await
                .expect("the copied blob reads back");
            assert!(bytes == data, "the destination's blob is the source's");
        }
        assert_eq!(has_manifest, has_layer, "a manifest only with its blob");
        has_manifest
    }
}

/// The config blob of every test artifact.
pub(crate) const EMPTY_CONFIG: &[u8] = b"{}";

/// The manifest of an artifact with [`EMPTY_CONFIG`] and one layer of `data`.
pub(crate) fn manifest_of(data: &[u8]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "artifactType": "application/vnd.test.disk",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json",
                   "digest": sha256(EMPTY_CONFIG).as_str(), "size": 2},
        "layers": [{"mediaType": "application/octet-stream", "digest": sha256(data).as_str(),
                    "size": data.len()}],
    }))
    .expect("manifest JSON")
}

/// The scriptable registry's answer to `req` when it is a read of the copy's source: `src:v1`
/// is `manifest`, and `blobs` are its blobs. `None` for any other request.
pub(crate) fn serve_source(
    req: &Request,
    manifest: &[u8],
    blobs: &[(Digest, Vec<u8>)],
) -> Option<oci_testkit::server::Reply> {
    use oci_testkit::server::Reply;
    if req.method != "GET" {
        return None;
    }
    let path = req.path();
    if path == "/v2/src/manifests/v1" {
        return Some(
            Reply::new(200)
                .header("Content-Type", MANIFEST)
                .header("Docker-Content-Digest", sha256(manifest).as_str())
                .body(manifest.to_vec()),
        );
    }
    let (_, bytes) = blobs
        .iter()
        .find(|(d, _)| path == format!("/v2/src/blobs/{d}"))?;
    Some(Reply::new(200).body(bytes.clone()))
}

/// Blob uploads that completed through `proxy` (a `PUT …?digest=` that reached it whole).
fn completed_uploads(proxy: &FaultProxy, digest: &Digest) -> usize {
    proxy
        .log()
        .iter()
        .filter(|r| r.method == "PUT" && r.path().contains("/blobs/uploads/"))
        .filter(|r| {
            r.query()
                .iter()
                .any(|(k, v)| k == "digest" && v == digest.as_str())
        })
        .count()
}

/// The `Range` headers of the `GET`s of blob `digest` that reached `proxy` (`None`: whole).
pub(crate) fn blob_gets(proxy: &FaultProxy, digest: &Digest) -> Vec<Option<String>> {
    let gets = |r: &&Request| r.method == "GET" && r.path().ends_with(digest.as_str());
    proxy
        .log()
        .iter()
        .filter(gets)
        .map(|r| r.header("range").map(str::to_owned))
        .collect()
}

/// registries.conf sending `primary/ns` through `mirror/ns` first.
fn pull_sources(primary: &str, mirror: &str, ns: &str, reference: &Reference) -> CopyOptions {
    pull_sources_via(primary, &[mirror.to_owned()], ns, reference)
}

/// registries.conf sending `primary/ns` through each of `mirrors` (`HOST`, with `/ns`) in turn.
pub(crate) fn registries_conf(primary: &str, mirrors: &[String], ns: &str) -> RegistriesConf {
    let mut text = format!(
        "[[registry]]\nprefix = \"{primary}/{ns}\"\nlocation = \"{primary}/{ns}\"\ninsecure = true\n"
    );
    for mirror in mirrors {
        text.push_str(&format!(
            "[[registry.mirror]]\nlocation = \"{mirror}/{ns}\"\ninsecure = true\n"
        ));
    }
    RegistriesConf::parse_str(&text, "test-registries.conf").expect("registries.conf")
}

/// Copy options reading through [`registries_conf`].
fn pull_sources_via(
    primary: &str,
    mirrors: &[String],
    ns: &str,
    reference: &Reference,
) -> CopyOptions {
    let conf = registries_conf(primary, mirrors, ns);
    let mut opts = CopyOptions::default();
    opts.pull_sources = Some(conf.pull_sources(reference).expect("pull sources"));
    opts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_cut_mid_blob_is_resumed_into_the_same_upload() {
    const CUT: u64 = 700_000;
    let (s, [src, dst]) = Setup::start("copy-resume", &[]).await;
    let data = payload(2 * 1024 * 1024 + 17);
    let (manifest, layer) = s.push_source(&data).await;
    let cut = src.add(
        Rule::new(format!("/blobs/{layer}"), Fault::CloseAfter { bytes: CUT })
            .method("GET")
            .times(1),
    );
    let from = Location::Registry(s.reference(&src.host(), "src:v1"));
    let to = Location::Registry(s.reference(&dst.host(), "dst:v1"));
    let copied = copy(&s.client, &from, &to, &CopyOptions::default())
        .await
        .expect("the copy resumes the blob");
    assert_eq!(src.hits(cut), 1, "the body was cut");
    assert_eq!(
        blob_gets(&src, &layer),
        [None, Some(format!("bytes={CUT}-"))],
        "resumed at the byte reached"
    );
    assert_eq!(
        completed_uploads(&dst, &layer),
        1,
        "one upload, not restarted"
    );
    let sessions = dst.log().iter().filter(|r| r.method == "POST").count();
    assert_eq!(
        sessions, 2,
        "one upload session per blob (config and layer)"
    );
    assert_eq!(
        (copied.stats.copied, copied.root.digest),
        (3, manifest.clone())
    );
    assert!(s.destination_has(&manifest, &layer, &data).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_serving_bad_bytes_is_left_for_the_next_source() {
    let (s, [mirror, dst]) = Setup::start("copy-bad-mirror", &[]).await;
    let data = payload(300_000);
    let (manifest, layer) = s.push_source(&data).await;
    let flip = mirror
        .add(Rule::new(format!("/blobs/{layer}"), Fault::FlipByte { offset: 1000 }).method("GET"));
    let primary = s.reference(s.registry.host(), "src:v1");
    let opts = pull_sources(s.registry.host(), &mirror.host(), &s.ns, &primary);
    let to = Location::Registry(s.reference(&dst.host(), "dst:v1"));
    let copied = copy(&s.client, &Location::Registry(primary), &to, &opts)
        .await
        .expect("the primary serves the blob");
    assert_eq!(
        mirror.hits(flip),
        u64::from(MAX_BAD_BODIES_PER_SOURCE),
        "the mirror is left after its strikes"
    );
    assert_eq!(copied.root.digest, manifest);
    assert_eq!(
        completed_uploads(&dst, &layer),
        1,
        "bad bytes never completed an upload"
    );
    assert!(s.destination_has(&manifest, &layer, &data).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_source_serving_bad_bytes_fails_naming_them_and_writes_nothing() {
    let (s, [mirror, primary, dst]) = Setup::start("copy-all-bad", &[]).await;
    let data = payload(200_000);
    let (manifest, layer) = s.push_source(&data).await;
    for p in [&mirror, &primary] {
        p.add(Rule::new("/blobs/sha256:", Fault::FlipByte { offset: 0 }).method("GET"));
    }
    let from = s.reference(&primary.host(), "src:v1");
    let opts = pull_sources(&primary.host(), &mirror.host(), &s.ns, &from);
    let to = Location::Registry(s.reference(&dst.host(), "dst:v1"));
    let e = copy(&s.client, &Location::Registry(from), &to, &opts)
        .await
        .expect_err("no source serves good bytes");
    let CopyError::Blob {
        digest, sources, ..
    } = &e
    else {
        panic!("expected a blob failure, got {e:?}");
    };
    assert_eq!(sources.len(), 2, "{e}");
    let message = e.to_string();
    for needle in [digest.as_str(), &mirror.host(), &primary.host()] {
        assert!(message.contains(needle), "{needle} in {message}");
    }
    let puts = dst.log().into_iter().filter(|r| r.method == "PUT").count();
    assert_eq!(puts, 0, "no blob or manifest completed at the destination");
    assert!(!s.destination_has(&manifest, &layer, &data).await);
}

/// Three mirrors and the primary, each behind its own fault proxy, and the destination's
/// proxy; the source artifact has one layer of `data`. Returns the setup, the proxies
/// (mirrors, primary, destination), the copy's ends and options, manifest and layer.
async fn three_mirrors(
    name: &str,
    data: &[u8],
) -> (
    Setup,
    [FaultProxy; 5],
    (Location, Location, CopyOptions),
    (Digest, Digest),
) {
    let (s, proxies) = Setup::start::<5>(name, &[]).await;
    let pushed = s.push_source(data).await;
    let [m1, m2, m3, primary, dst] = &proxies;
    let from = s.reference(&primary.host(), "src:v1");
    let mirrors = [m1.host(), m2.host(), m3.host()];
    let opts = pull_sources_via(&primary.host(), &mirrors, &s.ns, &from);
    let to = Location::Registry(s.reference(&dst.host(), "dst:v1"));
    (s, proxies, (Location::Registry(from), to, opts), pushed)
}

/// Three mirrors serving bad bytes for the layer, then a primary serving good ones: each mirror
/// gets its strikes and the primary serves the blob, however few attempts the client's retry
/// policy allows (restarts after bad bytes are bounded by the sources), and without its
/// back-off (a switch of source is immediate).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_mirrors_serving_bad_bytes_leave_the_primary_its_turn() {
    let data = payload(150_000);
    let (s, [m1, m2, m3, primary, dst], (from, to, mut opts), (manifest, layer)) =
        three_mirrors("copy-three-bad-mirrors", &data).await;
    let flips = [&m1, &m2, &m3].map(|m| {
        m.add(Rule::new(format!("/blobs/{layer}"), Fault::FlipByte { offset: 1000 }).method("GET"))
    });
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&events);
    opts.download.progress = Some(ProgressSink::new(move |e| {
        if let ProgressEvent::Retrying {
            attempt,
            from,
            delay,
            ..
        } = e
        {
            seen.lock().expect("events").push((attempt, from, delay));
        }
    }));
    let copied = copy(&s.client, &from, &to, &opts)
        .await
        .expect("the primary serves the blob");
    for (mirror, flip) in [&m1, &m2, &m3].into_iter().zip(flips) {
        assert_eq!(
            mirror.hits(flip),
            u64::from(MAX_BAD_BODIES_PER_SOURCE),
            "each mirror is left after its strikes"
        );
    }
    assert_eq!(
        blob_gets(&primary, &layer),
        [None],
        "one GET at the primary"
    );
    let restarts = 3 * MAX_BAD_BODIES_PER_SOURCE;
    let expected: Vec<_> = (2..=restarts + 1).map(|a| (a, 0, Duration::ZERO)).collect();
    assert_eq!(
        *events.lock().expect("events"),
        expected,
        "one immediate restart from byte 0 per bad body"
    );
    assert_eq!(
        (copied.root.digest, copied.stats.copied),
        (manifest.clone(), 3)
    );
    assert_eq!(
        completed_uploads(&dst, &layer),
        1,
        "only good bytes completed"
    );
    assert!(s.destination_has(&manifest, &layer, &data).await);
}

/// Three mirrors and the primary all serving bad bytes: the copy fails naming all four, and
/// nothing is committed at the destination.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_sources_serving_bad_bytes_are_all_named_and_nothing_is_committed() {
    let data = payload(150_000);
    let (s, [m1, m2, m3, primary, dst], (from, to, opts), (manifest, layer)) =
        three_mirrors("copy-four-bad", &data).await;
    let flips = [&m1, &m2, &m3, &primary].map(|p| {
        let flip = Rule::new(format!("/blobs/{layer}"), Fault::FlipByte { offset: 0 });
        p.add(flip.method("GET"))
    });
    let e = copy(&s.client, &from, &to, &opts)
        .await
        .expect_err("no source serves good bytes");
    let CopyError::Blob {
        digest, sources, ..
    } = &e
    else {
        panic!("expected a blob failure, got {e:?}");
    };
    assert_eq!(digest, &layer);
    let hosts = [&m1, &m2, &m3, &primary].map(|p| p.host());
    assert_eq!(sources.len(), 4, "{e}");
    for (source, host) in sources.iter().zip(&hosts) {
        assert!(source.contains(host.as_str()), "{host} in {source}");
    }
    for (p, flip) in [&m1, &m2, &m3, &primary].into_iter().zip(flips) {
        assert_eq!(p.hits(flip), u64::from(MAX_BAD_BODIES_PER_SOURCE));
    }
    // The config (served whole) may be there; the layer's upload never completed, and no
    // manifest was pushed.
    assert_eq!(completed_uploads(&dst, &layer), 0, "no upload of bad bytes");
    let log = dst.log();
    let manifests = log
        .iter()
        .filter(|r| r.method == "PUT" && r.path().contains("/manifests/"));
    assert_eq!(manifests.count(), 0, "no manifest pushed");
    assert!(!s.destination_has(&manifest, &layer, &data).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_answering_a_resume_with_the_whole_blob_has_the_sent_prefix_skipped() {
    use oci_testkit::server::{Reply, Server};
    const CUT: usize = 100_000;
    let data = payload(400_000);
    let layer = sha256(&data);
    let config = EMPTY_CONFIG;
    let manifest = manifest_of(&data);
    let manifest_digest = sha256(&manifest);
    // A source that breaks off the first body, then ignores `Range` (a `200` with every byte).
    let served = data.clone();
    let (layer_path, config_path) = (
        format!("/v2/app/blobs/{layer}"),
        format!("/v2/app/blobs/{}", sha256(config)),
    );
    let gets = std::sync::atomic::AtomicUsize::new(0);
    let (manifest_body, digest_header) = (manifest.clone(), manifest_digest.to_string());
    let source = Server::start(move |req| {
        let path = req.path();
        if path == "/v2/app/manifests/v1" {
            return Reply::new(200)
                .header("Content-Type", MANIFEST)
                .header("Docker-Content-Digest", &digest_header)
                .body(manifest_body.clone());
        }
        if path == config_path {
            return Reply::new(200).body(config.to_vec());
        }
        if path == layer_path && req.method == "GET" {
            if gets.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                return Reply::new(200)
                    .body(served[..CUT].to_vec())
                    .cut_short(served.len() as u64);
            }
            return Reply::new(200).body(served.clone());
        }
        Reply::new(404)
    });
    let (s, [dst]) = Setup::start("copy-no-range", &[source.registry()]).await;
    let from: Reference = format!("{}/app:v1", source.registry())
        .parse()
        .expect("reference");
    let to = Location::Registry(s.reference(&dst.host(), "dst:v1"));
    copy(
        &s.client,
        &Location::Registry(from),
        &to,
        &CopyOptions::default(),
    )
    .await
    .expect("the copy skips what it sent already");
    let ranges: Vec<Option<String>> = source
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path().ends_with(layer.as_str()))
        .map(|r| r.header("range").map(str::to_owned))
        .collect();
    assert_eq!(ranges, [None, Some(format!("bytes={CUT}-"))]);
    assert_eq!(
        completed_uploads(&dst, &layer),
        1,
        "one upload, not restarted"
    );
    assert!(s.destination_has(&manifest_digest, &layer, &data).await);
}

/// Pushes to `src` an index that lists `manifest` and is also its referrer (`subject`): the
/// index's walk reaches `manifest`, whose referrers lead back to the index. Returns its digest.
async fn push_index_referring_to_its_child(s: &Setup, manifest: &Digest, size: usize) -> Digest {
    let child =
        serde_json::json!({"mediaType": MANIFEST, "digest": manifest.as_str(), "size": size});
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": INDEX,
        "artifactType": "application/vnd.test.bundle",
        "manifests": [child.clone()],
        "subject": child,
    }))
    .expect("index JSON");
    let digest = sha256(&index);
    s.repo("src:v1")
        .push_manifest(&TagOrDigest::Digest(digest.clone()), index.into(), INDEX)
        .await
        .expect("index pushed");
    digest
}

const INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// An index that is a referrer of its own child is copied once, and the copy ends: the walk
/// does not wait on a manifest it is visiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_referrer_that_lists_its_own_subject_is_copied_once_without_waiting_on_itself() {
    let (s, []) = Setup::start::<0>("copy-cycle", &[]).await;
    let data = payload(1000);
    let (manifest, layer) = s.push_source(&data).await;
    let index = push_index_referring_to_its_child(&s, &manifest, manifest_of(&data).len()).await;
    let host = s.registry.host();
    let mut opts = CopyOptions::default();
    opts.referrers = true;
    let copied = tokio::time::timeout(
        Duration::from_secs(60),
        copy(
            &s.client,
            &Location::Registry(s.reference(host, "src:v1")),
            &Location::Registry(s.reference(host, "dst:v1")),
            &opts,
        ),
    )
    .await
    .expect("the copy ends")
    .expect("the copy succeeds");
    assert_eq!(copied.root.digest, manifest);
    assert!(s.destination_has(&manifest, &layer, &data).await);
    let dst = s.repo("dst:v1");
    assert!(
        dst.head_manifest(&TagOrDigest::Digest(index.clone()))
            .await
            .expect("HEAD")
            .is_some(),
        "the referring index was copied"
    );
}

/// A mirror that has the artifact but none of its referrers is no answer for them: `copy -r`
/// through registries.conf takes them from the primary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn referrers_missing_at_a_mirror_come_from_the_primary() {
    let mirror = Registry::start().await.expect("a second real registry");
    let (s, []) = Setup::start::<0>("copy-mirror-referrers", &[mirror.host().to_owned()]).await;
    let data = payload(1000);
    let (manifest, _) = s.push_source(&data).await;
    let index = push_index_referring_to_its_child(&s, &manifest, manifest_of(&data).len()).await;
    let primary = s.registry.host();
    // The mirror gets the artifact alone (a pull-through cache that never listed referrers).
    copy(
        &s.client,
        &Location::Registry(s.reference(primary, "src:v1")),
        &Location::Registry(s.reference(mirror.host(), "src:v1")),
        &CopyOptions::default(),
    )
    .await
    .expect("the artifact reaches the mirror");
    let source = s.reference(primary, "src:v1");
    let mut opts = pull_sources(primary, mirror.host(), &s.ns, &source);
    opts.referrers = true;
    copy(
        &s.client,
        &Location::Registry(source),
        &Location::Registry(s.reference(primary, "dst:v1")),
        &opts,
    )
    .await
    .expect("the copy succeeds");
    let dst = s.repo("dst:v1");
    assert!(
        dst.head_manifest(&TagOrDigest::Digest(index))
            .await
            .expect("HEAD")
            .is_some(),
        "the referrer came from the primary"
    );
}

/// An index that declares a wrong size for a child manifest is refused when the child is
/// fetched, naming it and both sizes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_manifest_of_another_size_than_declared_is_refused() {
    let (s, []) = Setup::start::<0>("copy-size-lie", &[]).await;
    let data = payload(1000);
    let (manifest, _) = s.push_source(&data).await;
    let real = manifest_of(&data).len();
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": INDEX,
        "manifests": [{"mediaType": MANIFEST, "digest": manifest.as_str(), "size": real + 1}],
    }))
    .expect("index JSON");
    s.repo("src:v1")
        .push_manifest(&TagOrDigest::tag("lie").expect("tag"), index.into(), INDEX)
        .await
        .expect("index pushed");
    let host = s.registry.host();
    let err = copy(
        &s.client,
        &Location::Registry(s.reference(host, "src:lie")),
        &Location::Registry(s.reference(host, "dst:lie")),
        &CopyOptions::default(),
    )
    .await
    .expect_err("refused");
    assert!(
        matches!(&err, CopyError::ManifestSize { digest, declared, actual }
            if *digest == manifest && *declared == real as u64 + 1 && *actual == real as u64),
        "{err}"
    );
}

/// A registry that declines cross-repository mounts (`202` with an upload session, as the spec
/// allows) gets each blob in the session the mount opened: one `HEAD`, one `POST` and one `PUT`
/// per blob, no second existence check, no second session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_mount_takes_the_bytes_in_its_own_session() {
    use oci_testkit::server::{Reply, Server};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let data = payload(100_000);
    let (config, layer) = (sha256(EMPTY_CONFIG), sha256(&data));
    let manifest = manifest_of(&data);
    let blobs = [
        (config.clone(), EMPTY_CONFIG.to_vec()),
        (layer.clone(), data.clone()),
    ];
    let sessions = AtomicUsize::new(0);
    let manifest_body = manifest.clone();
    let registry = Server::start(move |req| {
        if let Some(reply) = serve_source(req, &manifest_body, &blobs) {
            return reply;
        }
        let (method, path) = (req.method.as_str(), req.path());
        match method {
            "POST" if path == "/v2/dst/blobs/uploads/" => {
                let n = sessions.fetch_add(1, Ordering::SeqCst);
                Reply::new(202).header("Location", &format!("/v2/dst/blobs/uploads/s{n}"))
            }
            "PUT" => Reply::new(201),
            "DELETE" => Reply::new(204),
            _ => Reply::new(404),
        }
    });
    let (s, []) = Setup::start::<0>("copy-declined-mount", &[registry.registry()]).await;
    let at = |repo: &str| -> Reference {
        format!("{}/{repo}:v1", registry.registry())
            .parse()
            .expect("reference")
    };
    let copied = copy(
        &s.client,
        &Location::Registry(at("src")),
        &Location::Registry(at("dst")),
        &CopyOptions::default(),
    )
    .await
    .expect("the blobs are uploaded where the mount was declined");
    assert_eq!((copied.stats.copied, copied.stats.mounted), (3, 0));
    let log = registry.requests();
    for (digest, bytes) in [(&config, EMPTY_CONFIG), (&layer, &data[..])] {
        let at_dst = |method: &str| {
            log.iter()
                .filter(|r| r.method == method)
                // The hex alone: the mount's query has the digest percent-encoded.
                .filter(|r| r.target.contains(digest.encoded()))
                .filter(|r| r.path().starts_with("/v2/dst/"))
                .collect::<Vec<_>>()
        };
        assert_eq!(at_dst("HEAD").len(), 1, "one existence check of {digest}");
        assert_eq!(
            at_dst("POST").len(),
            1,
            "one session for {digest}, the mount's"
        );
        let puts = at_dst("PUT");
        assert_eq!(puts.len(), 1, "one upload of {digest}");
        assert!(
            puts[0].path().starts_with("/v2/dst/blobs/uploads/s"),
            "{} is the declined mount's session",
            puts[0].target
        );
        assert!(puts[0].body == bytes, "every byte of {digest} in that PUT");
    }
    let posts = log.iter().filter(|r| r.method == "POST").count();
    let deletes = log.iter().filter(|r| r.method == "DELETE").count();
    assert_eq!((posts, deletes), (2, 0), "no session opened in vain");
}

/// `copy --platform` fetches the index once and the chosen entry (the copy's root, walked and
/// then tagged) once; the other entry never.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_copy_fetches_each_manifest_once() {
    let (s, [src]) = Setup::start::<1>("copy-platform-once", &[]).await;
    let mut entries = Vec::new();
    for (arch, data) in [("amd64", payload(1000)), ("arm64", payload(1001))] {
        let (manifest, _) = s.push_source(&data).await;
        let size = manifest_of(&data).len();
        entries.push((arch, manifest, size));
    }
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": INDEX,
        "manifests": entries.iter().map(|(arch, digest, size)| serde_json::json!({
            "mediaType": MANIFEST, "digest": digest.as_str(), "size": size,
            "platform": {"os": "linux", "architecture": arch},
        })).collect::<Vec<_>>(),
    }))
    .expect("index JSON");
    s.repo("src:v1")
        .push_manifest(
            &TagOrDigest::tag("multi").expect("tag"),
            index.into(),
            INDEX,
        )
        .await
        .expect("index pushed");
    let mut opts = CopyOptions::default();
    opts.platform = Some("linux/arm64".parse().expect("platform"));
    let copied = copy(
        &s.client,
        &Location::Registry(s.reference(&src.host(), "src:multi")),
        &Location::Registry(s.reference(s.registry.host(), "dst:multi")),
        &opts,
    )
    .await
    .expect("the arm64 entry is copied");
    let (amd64, arm64) = (&entries[0].1, &entries[1].1);
    assert_eq!(&copied.root.digest, arm64);
    assert_eq!(copied.tags.len(), 1, "the root is tagged");
    let manifest_gets = |target: &str| {
        let path = format!("/manifests/{target}");
        let log = src.log();
        log.iter()
            .filter(|r| r.method == "GET" && r.path().ends_with(&path))
            .count()
    };
    assert_eq!(manifest_gets("multi"), 1, "the index, once");
    assert_eq!(manifest_gets(arm64.as_str()), 1, "the chosen entry, once");
    assert_eq!(manifest_gets(amd64.as_str()), 0, "the other entry, never");
}

/// Two copies given one shared limit of 1 request: the root each fetches before its walk
/// starts counts against the limit like every other request, so the source (every answer to
/// a manifest `GET` paused) never serves two at once, where the two roots used to overlap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_sharing_a_limit_fetch_their_roots_within_it() {
    let (s, [src]) = Setup::start("copy-shared-limit", &[]).await;
    let data = payload(64 * 1024);
    let (manifest, _) = s.push_source(&data).await;
    let pause = Fault::Stall {
        after_bytes: 0,
        duration: Duration::from_millis(200),
    };
    src.add(Rule::new("/manifests/", pause).method("GET"));
    let mut opts = CopyOptions::default();
    opts.limit = Some(RequestLimit::new(1));
    let from = Location::Registry(s.reference(&src.host(), "src:v1"));
    let to = |name: &str| Location::Registry(s.reference(s.registry.host(), name));
    let (one, two) = (to("one:v1"), to("two:v1"));
    let (one, two) = tokio::join!(
        copy(&s.client, &from, &one, &opts),
        copy(&s.client, &from, &two, &opts)
    );
    for copied in [one, two] {
        assert_eq!(copied.expect("copied").root.digest, manifest);
    }
    assert_eq!(
        src.max_in_flight(),
        1,
        "one request at a time at the source, the roots' included"
    );
}
