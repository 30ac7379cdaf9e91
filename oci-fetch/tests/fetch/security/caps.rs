//! Caps on walks a hostile registry could make endless, and on files a crafted layout holds.

use super::*;

const OCI_MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX_TYPE: &str = "application/vnd.oci.image.index.v1+json";

/// A referrer descriptor for a made-up manifest named `seed`.
fn referrer_json(seed: &str) -> serde_json::Value {
    serde_json::json!({
        "mediaType": OCI_MANIFEST_TYPE,
        "digest": sha256(seed.as_bytes()).to_string(),
        "size": 2,
        "artifactType": "application/vnd.example.sig",
    })
}

/// A registry serving a subject manifest at `app:v1` and, for every subject digest asked
/// about, the referrers `referrers_of(digest)` (as one index page).
fn referrers_registry(
    referrers_of: impl Fn(&str) -> Vec<serde_json::Value> + Send + Sync + 'static,
) -> Registry {
    let subject = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;
    Registry::start(move |req| {
        let path = req.path();
        if path == "/v2/app/manifests/v1" {
            return Reply::new(200)
                .header("Content-Type", OCI_MANIFEST_TYPE)
                .header("Docker-Content-Digest", sha256(subject).as_str())
                .body(subject.to_vec());
        }
        if let Some(digest) = path.strip_prefix("/v2/app/referrers/") {
            let index = serde_json::json!({
                "schemaVersion": 2,
                "mediaType": OCI_INDEX_TYPE,
                "manifests": referrers_of(digest),
            });
            return Reply::new(200)
                .header("Content-Type", OCI_INDEX_TYPE)
                .body(serde_json::to_vec(&index).expect("index JSON"));
        }
        Reply::new(404)
    })
}

/// How many `referrers` requests the registry got.
fn referrer_requests(registry: &Registry) -> usize {
    registry
        .requests()
        .iter()
        .filter(|r| r.path().starts_with("/v2/app/referrers/"))
        .count()
}

#[tokio::test]
async fn endless_referrer_chain_stops_at_the_depth_cap() {
    use oci_fetch::publish::discover::{DiscoverOptions, MAX_DISCOVER_DEPTH, discover};
    // Every manifest has one referrer, a manifest never seen before: the chain never ends.
    let registry = referrers_registry(|digest| vec![referrer_json(digest)]);
    let client = registry.client(Keychain::empty());
    let repo = client
        .repository(&registry.reference("app:v1"))
        .expect("repository");
    let subject = TagOrDigest::tag("v1").expect("tag");
    for asked in [None, Some(MAX_DISCOVER_DEPTH * 1000)] {
        let before = referrer_requests(&registry);
        let started = std::time::Instant::now();
        let options = DiscoverOptions {
            depth: asked,
            ..Default::default()
        };
        let tree = discover(&repo, &subject, &options)
            .await
            .expect("a capped walk succeeds");
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
        let mut levels = 0;
        let mut node = &tree;
        while let Some(child) = node.referrers.first() {
            assert_eq!(node.referrers.len(), 1);
            levels += 1;
            node = child;
        }
        assert_eq!(levels, MAX_DISCOVER_DEPTH, "depth asked: {asked:?}");
        assert_eq!(
            referrer_requests(&registry) - before,
            MAX_DISCOVER_DEPTH,
            "one referrers request per level, none beyond the cap (depth asked: {asked:?})"
        );
    }
}

#[tokio::test]
async fn referrers_beyond_the_node_cap_are_refused() {
    use oci_fetch::publish::PublishError;
    use oci_fetch::publish::discover::{DiscoverOptions, MAX_DISCOVER_NODES, discover};
    // The subject has one referrer more than the cap, all on one page; each of them would have
    // as many again.
    let registry = referrers_registry(|digest| {
        (0..=MAX_DISCOVER_NODES)
            .map(|i| referrer_json(&format!("{digest}/{i}")))
            .collect()
    });
    let client = registry.client(Keychain::empty());
    let repo = client
        .repository(&registry.reference("app:v1"))
        .expect("repository");
    let started = std::time::Instant::now();
    let e = discover(
        &repo,
        &TagOrDigest::tag("v1").expect("tag"),
        &DiscoverOptions::default(),
    )
    .await
    .expect_err("too many referrers");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert!(
        matches!(e, PublishError::TooManyReferrers { limit } if limit == MAX_DISCOVER_NODES),
        "{e:?}"
    );
    assert!(
        e.to_string().contains(&MAX_DISCOVER_NODES.to_string()),
        "{e}"
    );
    assert_eq!(
        referrer_requests(&registry),
        1,
        "the walk stops on the page that crosses the cap"
    );
}

/// A valid, empty `index.json` padded with trailing spaces to exactly `len` bytes: only its size
/// can make it unreadable.
fn padded_index(len: u64) -> Vec<u8> {
    let mut body = format!(
        r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[]}}"#,
        oci_ref::media_type::OCI_INDEX
    )
    .into_bytes();
    body.resize(usize::try_from(len).expect("fits"), b' ');
    body
}

/// The names in `dir`, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn index_beyond_the_index_cap_is_refused_and_left_untouched() {
    use oci_fetch::layout::{INDEX_FILE, LayoutError, MAX_INDEX_SIZE, OciLayout};
    let dir = tempfile::tempdir().expect("tempdir");
    let layout = OciLayout::create(dir.path()).await.expect("create");
    let index = dir.path().join(INDEX_FILE);
    let is_cap = |e: &LayoutError| matches!(e, LayoutError::TooLarge { path, limit } if *path == index && *limit == MAX_INDEX_SIZE);
    // Exactly at the cap is still read.
    std::fs::write(&index, padded_index(MAX_INDEX_SIZE)).expect("write index");
    layout.index().await.expect("an index at the cap is read");
    // One byte more is refused, for reading and for tagging; a refused tag writes nothing.
    let over = padded_index(MAX_INDEX_SIZE + 1);
    std::fs::write(&index, &over).expect("write index");
    let blob = layout
        .write_blob_bytes(oci_ref::media_type::OCI_MANIFEST, &b"{}"[..])
        .await
        .expect("blob");
    let before = names_in(dir.path());
    let e = layout.index().await.expect_err("oversized index");
    assert!(is_cap(&e), "{e:?}");
    assert!(e.to_string().contains(&MAX_INDEX_SIZE.to_string()), "{e}");
    let e = layout.tag(&blob, "v1").await.expect_err("oversized index");
    assert!(is_cap(&e), "{e:?}");
    let e = layout
        .add_manifest(&blob)
        .await
        .expect_err("oversized index");
    assert!(is_cap(&e), "{e:?}");
    assert!(
        std::fs::read(&index).expect("read index") == over,
        "index.json is left as it was"
    );
    assert_eq!(names_in(dir.path()), before, "no file was left beside it");
}

#[tokio::test]
async fn endless_layout_files_are_cut_at_the_index_cap() {
    use oci_fetch::layout::{INDEX_FILE, LayoutError, MAX_INDEX_SIZE, OCI_LAYOUT_FILE, OciLayout};
    // `index.json` and `oci-layout` that never end (links to /dev/zero): reading stops at the
    // cap, in bounded time and memory.
    let dir = tempfile::tempdir().expect("tempdir");
    let layout = OciLayout::create(dir.path()).await.expect("create");
    let index = dir.path().join(INDEX_FILE);
    std::fs::remove_file(&index).expect("remove index");
    std::os::unix::fs::symlink("/dev/zero", &index).expect("symlink");
    let started = std::time::Instant::now();
    let e = layout.index().await.expect_err("endless index");
    assert!(
        matches!(
            e,
            LayoutError::TooLarge {
                limit: MAX_INDEX_SIZE,
                ..
            }
        ),
        "{e:?}"
    );
    let marker = dir.path().join(OCI_LAYOUT_FILE);
    std::fs::remove_file(&marker).expect("remove marker");
    std::os::unix::fs::symlink("/dev/zero", &marker).expect("symlink");
    let e = OciLayout::open(dir.path())
        .await
        .expect_err("endless marker");
    assert!(
        matches!(&e, LayoutError::TooLarge { path, limit: MAX_INDEX_SIZE } if *path == marker),
        "{e:?}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
}

/// A valid annotation file padded with trailing spaces to exactly `len` bytes: only its size can
/// make it unreadable.
fn padded_annotation_file(len: u64) -> Vec<u8> {
    let mut body = br#"{"$manifest":{"org.example.note":"x"}}"#.to_vec();
    body.resize(usize::try_from(len).expect("fits"), b' ');
    body
}

#[test]
fn annotation_file_beyond_the_cap_is_refused() {
    use oci_fetch::publish::PublishError;
    use oci_fetch::publish::input::{MAX_ANNOTATION_FILE_BYTES, read_annotation_file};
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("annotations.json");
    std::fs::write(&path, padded_annotation_file(MAX_ANNOTATION_FILE_BYTES)).expect("write");
    let file = read_annotation_file(&path).expect("a file at the cap is read");
    assert_eq!(file["$manifest"]["org.example.note"], "x");
    std::fs::write(&path, padded_annotation_file(MAX_ANNOTATION_FILE_BYTES + 1)).expect("write");
    let e = read_annotation_file(&path).expect_err("oversized annotation file");
    assert!(
        matches!(&e, PublishError::AnnotationFile { path: p, reason }
            if *p == path && reason.contains(&MAX_ANNOTATION_FILE_BYTES.to_string())),
        "{e:?}"
    );
}

/// Regression: the cap was checked on the size the file system reports, which is 0 for a device
/// or a FIFO, and the read was unbounded: `--annotation-file /dev/zero` read until memory ran
/// out. The read itself now stops one byte past the cap.
#[cfg(unix)]
#[test]
fn annotation_file_that_reports_no_size_is_still_capped() {
    use oci_fetch::publish::PublishError;
    use oci_fetch::publish::input::{MAX_ANNOTATION_FILE_BYTES, read_annotation_file};
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("annotations.json");
    std::os::unix::fs::symlink("/dev/zero", &path).expect("symlink");
    let started = std::time::Instant::now();
    let e = read_annotation_file(&path).expect_err("an endless annotation file");
    assert!(
        matches!(&e, PublishError::AnnotationFile { reason, .. }
            if reason.contains(&MAX_ANNOTATION_FILE_BYTES.to_string())),
        "{e:?}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "bounded time"
    );
}

#[tokio::test]
async fn config_blob_beyond_the_config_cap_is_refused_before_any_request() {
    use oci_fetch::registry::{MAX_CONFIG_BYTES, RegistryError};
    // A hostile manifest may declare any config size, and the registry would serve any bytes.
    let registry = Registry::start(|req| {
        Reply::new(200)
            .header("Content-Type", "application/octet-stream")
            .body(vec![b'{'; if req.method == "HEAD" { 0 } else { 4096 }])
    });
    let client = registry.client(Keychain::empty());
    let source =
        RegistrySource::direct(&client, &registry.reference("app:v1")).expect("registry source");
    let digest = sha256(b"{}");
    let e = source
        .fetch_small_blob(&digest, MAX_CONFIG_BYTES + 1)
        .await
        .expect_err("oversized config");
    assert!(
        matches!(&e, RegistryError::ConfigTooLarge { size, limit, .. }
            if *size == MAX_CONFIG_BYTES + 1 && *limit == MAX_CONFIG_BYTES),
        "{e:?}"
    );
    assert!(e.to_string().contains(&MAX_CONFIG_BYTES.to_string()), "{e}");
    assert!(
        registry.requests().is_empty(),
        "nothing is requested: {:?}",
        registry.requests()
    );
}

#[tokio::test]
async fn index_listing_more_than_the_candidate_cap_is_refused_before_fetching_entries() {
    use oci_fetch::resolve::{MAX_CANDIDATES, ResolveError, resolve};
    use oci_ref::TagOrDigest;
    let manifests: Vec<serde_json::Value> = (0..=MAX_CANDIDATES)
        .map(|i| {
            serde_json::json!({
                "mediaType": OCI_MANIFEST_TYPE,
                "digest": sha256(format!("entry {i}").as_bytes()).to_string(),
                "size": 2,
                "platform": {"os": "linux", "architecture": "amd64"},
            })
        })
        .collect();
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX_TYPE,
        "manifests": manifests,
    }))
    .expect("index JSON");
    let registry = Registry::start(move |req| {
        if req.path() == "/v2/app/manifests/v1" {
            Reply::new(200)
                .header("Content-Type", OCI_INDEX_TYPE)
                .body(index.clone())
        } else {
            Reply::new(404)
        }
    });
    let client = registry.client(Keychain::empty());
    let reference = registry.reference("app:v1");
    let source = RegistrySource::direct(&client, &reference).expect("source");
    let started = std::time::Instant::now();
    let e = resolve(
        &source,
        &reference.to_string(),
        &TagOrDigest::from(&reference),
        &oci_select::Policy::new(),
    )
    .await
    .expect_err("too many candidates");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert!(
        matches!(&e, ResolveError::TooManyCandidates { count, limit, .. }
            if *count == MAX_CANDIDATES + 1 && *limit == MAX_CANDIDATES),
        "{e:?}"
    );
    let fetched: Vec<String> = registry
        .requests()
        .into_iter()
        .map(|r| r.target)
        .filter(|t| t != "/v2/app/manifests/v1")
        .collect();
    assert!(fetched.is_empty(), "no entry is fetched: {fetched:?}");
}

/// `MAX_PLATFORM_CONFIG_BYTES`: a source manifest whose image config claims more than the cap is
/// indexed without a platform, and its config is never read (here it does not even exist, so a
/// read would fail the whole `index create`); a config within the cap is read for its platform.
#[tokio::test]
async fn platform_config_beyond_the_cap_is_never_read() {
    use oci_fetch::layout::OciLayout;
    use oci_fetch::publish::index::{
        IndexEntry, IndexRequest, MAX_PLATFORM_CONFIG_BYTES, create_index,
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let layout = OciLayout::create(dir.path().join("layout"))
        .await
        .expect("layout");
    let config = br#"{"architecture":"arm64","os":"linux"}"#;
    let small = layout
        .write_blob_bytes("application/vnd.oci.image.config.v1+json", config.to_vec())
        .await
        .expect("config blob");
    let manifest = |digest: &str, size: u64| {
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": digest, "size": size},
            "layers": [],
        }))
        .expect("JSON")
    };
    let absent = sha256(b"a config that was never stored");
    for (tag, body) in [
        ("fits", manifest(small.digest.as_str(), small.size)),
        (
            "huge",
            manifest(absent.as_str(), MAX_PLATFORM_CONFIG_BYTES + 1),
        ),
    ] {
        let d = layout
            .write_blob_bytes("application/vnd.oci.image.manifest.v1+json", body)
            .await
            .expect("manifest blob");
        layout.tag(&d, tag).await.expect("tag");
    }
    let entry = |tag: &str| IndexEntry {
        source: TagOrDigest::tag(tag).expect("tag"),
        platform: None,
        annotations: BTreeMap::new(),
    };
    let req = IndexRequest {
        entries: vec![entry("fits"), entry("huge")],
        ..IndexRequest::default()
    };
    let pushed = create_index(&layout, Some("all"), &req)
        .await
        .expect("the oversized config is skipped, not read");
    let index: serde_json::Value = serde_json::from_slice(&pushed.manifest).expect("JSON");
    assert_eq!(index["manifests"][0]["platform"]["architecture"], "arm64");
    assert!(
        index["manifests"][1].get("platform").is_none(),
        "{}",
        index["manifests"][1]
    );
}
