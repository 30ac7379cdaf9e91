//! Pulling an artifact's files by title, and refusing hostile titles; through registries.conf
//! mirrors serving bad bytes (fault proxies in front of the real registry), every source gets
//! its strikes and nothing unverified is left, while a kept prefix outlives a body refused at
//! open for its length.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use conformance::fault_proxy::{Fault, FaultProxy, Rule, RuleId};
use oci_fetch::artifact::{Artifact, ArtifactSource, LayerError};
use oci_fetch::decompress::Decompress;
use oci_fetch::descriptor::{ANNOTATION_TITLE, Descriptor};
use oci_fetch::download::{DownloadError, partial_path};
use oci_fetch::progress::{ProgressEvent, ProgressSink};
use oci_fetch::pull::{
    PullError, PullOptions, TitleProblem, pull_files, safe_relative_path, untitled_name,
};
use oci_fetch::registry::MAX_BAD_BODIES_PER_SOURCE;
use oci_fetch::source::MemorySource;
use oci_ref::media_type::Compression;
use oci_ref::{Digest, TagOrDigest};
use oci_select::Policy;

use crate::common::{assert_empty, descriptor, entries, payload, sha256};
use crate::copy::{MANIFEST, Setup, blob_gets, manifest_of, registries_conf};
use crate::decompress::zstd;

fn layer(src: &mut MemorySource, title: Option<&str>, data: &[u8]) -> Descriptor {
    src.insert(sha256(data), Bytes::copy_from_slice(data));
    let d = descriptor("application/octet-stream", data);
    match title {
        Some(t) => d.with_annotation(ANNOTATION_TITLE, t),
        None => d,
    }
}

#[test]
fn title_rules() {
    let check = |title: &str, expected: Result<&str, TitleProblem>| {
        let got = safe_relative_path(title);
        let got = got
            .as_ref()
            .map(|p| p.to_str().expect("utf-8"))
            .map_err(|e| *e);
        assert_eq!(got, expected, "{title:?}");
    };
    check("disk.qcow2", Ok("disk.qcow2"));
    check("boot/vmlinuz", Ok("boot/vmlinuz"));
    check("..disk", Ok("..disk"));
    check("", Err(TitleProblem::Empty));
    check("/etc/passwd", Err(TitleProblem::Absolute));
    check("../x", Err(TitleProblem::ParentComponent));
    check("a/../../x", Err(TitleProblem::ParentComponent));
    check("..", Err(TitleProblem::ParentComponent));
    check("a//b", Err(TitleProblem::EmptyOrDotComponent));
    check("./a", Err(TitleProblem::EmptyOrDotComponent));
    check("a/", Err(TitleProblem::EmptyOrDotComponent));
    check("..\\x", Err(TitleProblem::ForbiddenCharacter));
    check("a\0b", Err(TitleProblem::ForbiddenCharacter));
}

#[tokio::test]
async fn pulls_titled_and_untitled_layers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut src = MemorySource::new();
    let a = layer(&mut src, Some("disk.img"), &payload(5000));
    let b = layer(&mut src, Some("boot/vmlinuz"), b"kernel");
    let c = layer(&mut src, None, b"untitled");
    let files = pull_files(
        &src,
        &[a, b, c.clone()],
        dir.path(),
        &PullOptions::default(),
    )
    .await
    .expect("pull");
    let names: Vec<_> = files.iter().map(|f| f.name.as_str()).collect();
    let untitled = untitled_name(&c);
    assert_eq!(names, vec!["disk.img", "boot/vmlinuz", untitled.as_str()]);
    assert!(untitled.starts_with("sha256-"));
    assert_eq!(
        std::fs::read(dir.path().join("boot/vmlinuz")).expect("kernel"),
        b"kernel"
    );
    assert_eq!(
        std::fs::read(dir.path().join(&untitled)).expect("untitled"),
        b"untitled"
    );
    let mut want = vec!["boot".to_owned(), "disk.img".to_owned(), untitled];
    want.sort();
    assert_eq!(entries(dir.path()), want);
}

/// Pulls layers titled `titles` into a fresh directory; expects failure and an empty directory.
async fn check_refused(titles: &[&str]) -> PullError {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut src = MemorySource::new();
    let layers: Vec<_> = titles
        .iter()
        .enumerate()
        .map(|(i, t)| layer(&mut src, Some(t), &payload(10 + i)))
        .collect();
    let err = pull_files(&src, &layers, dir.path(), &PullOptions::default())
        .await
        .expect_err("refused");
    assert_empty(dir.path());
    err
}

#[tokio::test]
async fn hostile_titles_are_refused_naming_the_title() {
    for title in ["/tmp/evil", "../evil", "a/../../evil", "a\\..\\evil", ""] {
        let err = check_refused(&["ok", title]).await;
        assert!(
            matches!(&err, PullError::UnsafeTitle { title: t, .. } if t == title),
            "{err:?}"
        );
        assert!(err.to_string().contains(&format!("{title:?}")), "{err}");
    }
}

#[tokio::test]
async fn duplicate_titles_are_refused() {
    let err = check_refused(&["same", "other", "same"]).await;
    assert!(
        matches!(&err, PullError::DuplicateTitle { title } if title == "same"),
        "{err:?}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn symlinks_in_the_output_dir_are_refused() {
    let outside = tempfile::tempdir().expect("outside");
    for (link, title) in [("file", "file"), ("sub", "sub/file")] {
        let dir = tempfile::tempdir().expect("tempdir");
        std::os::unix::fs::symlink(outside.path().join("target"), dir.path().join(link))
            .expect("symlink");
        if link == "sub" {
            std::fs::create_dir(outside.path().join("target")).ok();
        }
        let mut src = MemorySource::new();
        let l = layer(&mut src, Some(title), b"evil");
        let err = pull_files(&src, &[l], dir.path(), &PullOptions::default())
            .await
            .expect_err("symlink");
        assert!(
            matches!(&err, PullError::Symlink { title: t, .. } if t == title),
            "{err:?}"
        );
        assert_eq!(entries(dir.path()), vec![link.to_owned()]);
        assert!(
            !outside.path().join("target").is_file(),
            "nothing written through the link"
        );
        assert!(
            !outside.path().join("target/file").exists(),
            "nothing written through the link"
        );
    }
}

#[tokio::test]
async fn existing_file_is_refused_unless_overwrite() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("f"), b"old").expect("seed");
    let mut src = MemorySource::new();
    let l = layer(&mut src, Some("f"), b"new");
    let err = pull_files(
        &src,
        std::slice::from_ref(&l),
        dir.path(),
        &PullOptions::default(),
    )
    .await
    .expect_err("exists");
    assert!(matches!(err, PullError::Exists { .. }), "{err:?}");
    let mut opts = PullOptions::default();
    opts.overwrite = true;
    pull_files(&src, &[l], dir.path(), &opts)
        .await
        .expect("overwrite");
    assert_eq!(std::fs::read(dir.path().join("f")).expect("f"), b"new");
}

#[tokio::test]
async fn one_failure_removes_the_files_this_pull_created() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut src = MemorySource::new();
    let good = layer(&mut src, Some("good"), &payload(100));
    let data = payload(200);
    let mut bad_bytes = data.clone();
    bad_bytes[0] ^= 1;
    src.insert(sha256(&data), bad_bytes);
    let bad = descriptor("x", &data).with_annotation(ANNOTATION_TITLE, "sub/dir/bad");
    let mut opts = PullOptions::default();
    opts.concurrency = 1;
    let err = pull_files(&src, &[good, bad], dir.path(), &opts)
        .await
        .expect_err("bad layer");
    assert!(
        matches!(&err, PullError::Download { title, .. } if title == "sub/dir/bad"),
        "{err:?}"
    );
    assert_empty(dir.path());
}

proptest::proptest! {
    /// An accepted title is a relative path of normal components only: it cannot leave the dir.
    #[test]
    fn accepted_titles_stay_inside(title in "[a./\\\\:C-]{0,12}") {
        if let Ok(path) = safe_relative_path(&title) {
            proptest::prop_assert!(path.components().all(|c| matches!(c, std::path::Component::Normal(_))));
            proptest::prop_assert!(path.components().count() >= 1);
        }
    }
}

/// The artifact `src:v1` read through registries.conf: `mirrors` first, then `primary`.
async fn through(s: &Setup, mirrors: &[&FaultProxy], primary: &FaultProxy) -> Artifact {
    let hosts: Vec<String> = mirrors.iter().map(|m| m.host()).collect();
    let conf = registries_conf(&primary.host(), &hosts, &s.ns);
    let reference = s.reference(&primary.host(), "src:v1");
    Artifact::from_registry(&s.client, &reference, Some(&conf), &Policy::new())
        .await
        .expect("the artifact resolves")
}

/// Pulls every layer of `artifact` into `dir`.
async fn pull_all(
    artifact: &Artifact,
    dir: &std::path::Path,
    opts: &PullOptions,
) -> Result<Vec<oci_fetch::pull::PulledFile>, PullError> {
    pull_files(artifact.source().blobs(), artifact.layers(), dir, opts).await
}

/// Makes `proxy` flip a byte of every `GET` of blob `layer`.
fn serve_bad_bytes(proxy: &FaultProxy, layer: &Digest) {
    let flip = Rule::new(format!("/blobs/{layer}"), Fault::FlipByte { offset: 1000 });
    proxy.add(flip.method("GET"));
}

/// Whole-blob `GET`s of `layer` that reached `proxy` (not `resolve`'s range request for the
/// first bytes).
fn whole_gets(proxy: &FaultProxy, layer: &Digest) -> usize {
    blob_gets(proxy, layer)
        .iter()
        .filter(|r| r.is_none())
        .count()
}

/// Three mirrors serving bad bytes for the layer, then a good primary: with the default
/// download options (fewer attempts than the mirrors' strikes) each mirror is left after its
/// strikes, at once, and the primary serves the file; a read into memory does the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_mirrors_serving_bad_bytes_leave_the_primary_its_turn() {
    let data = payload(150_000);
    let (s, [m1, m2, m3, primary]) = Setup::start::<4>("pull-three-bad-mirrors", &[]).await;
    let (_, layer) = s.push_source(&data).await;
    for m in [&m1, &m2, &m3] {
        serve_bad_bytes(m, &layer);
    }
    let artifact = through(&s, &[&m1, &m2, &m3], &primary).await;
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&events);
    let mut opts = PullOptions::default();
    opts.download.progress = Some(ProgressSink::new(move |e| {
        if let ProgressEvent::Retrying { from, delay, .. } = e {
            seen.lock().expect("events").push((from, delay));
        }
    }));
    let dir = tempfile::tempdir().expect("dir");
    let pulled = pull_all(&artifact, dir.path(), &opts)
        .await
        .expect("the primary serves the layer");
    let [file] = &pulled[..] else {
        panic!("one file expected, got {pulled:?}");
    };
    assert_eq!(file.downloaded.digest, layer);
    assert!(std::fs::read(&file.downloaded.path).expect("the file") == data);
    assert_eq!(
        entries(dir.path()),
        [file.name.as_str()],
        "no partial file left"
    );
    let strikes = MAX_BAD_BODIES_PER_SOURCE as usize;
    for mirror in [&m1, &m2, &m3] {
        assert_eq!(
            whole_gets(mirror, &layer),
            strikes,
            "each mirror left after its strikes"
        );
    }
    assert_eq!(
        blob_gets(&primary, &layer),
        [None],
        "one GET at the primary"
    );
    let ArtifactSource::Registry(source) = artifact.source() else {
        panic!("a registry source");
    };
    let served = source
        .blob_served_by(&layer)
        .expect("a source served the layer");
    assert!(
        !served.mirror,
        "the primary served it, not {}",
        served.reference
    );
    let restarts = 3 * MAX_BAD_BODIES_PER_SOURCE as usize;
    assert_eq!(
        *events.lock().expect("events"),
        vec![(0, Duration::ZERO); restarts],
        "one immediate restart from byte 0 per bad body"
    );

    // Into memory, through a fresh source (no strikes yet): the same walk.
    let fresh = through(&s, &[&m1, &m2, &m3], &primary).await;
    let desc = fresh.layers()[0].clone();
    let bytes = fresh
        .read_to_vec(&desc, 1 << 20)
        .await
        .expect("the primary serves the layer");
    assert!(bytes == data, "the layer's bytes");
    for mirror in [&m1, &m2, &m3] {
        assert_eq!(whole_gets(mirror, &layer), 2 * strikes);
    }
    assert_eq!(
        whole_gets(&primary, &layer),
        2,
        "the primary served both reads"
    );
}

/// Three mirrors and the primary all serving bad bytes: the pull fails naming all four, in
/// order, and leaves nothing in the output directory, not even a partial file (bad bytes are
/// not worth resuming, `keep_partial` or not).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_sources_serving_bad_bytes_are_all_named_and_nothing_is_left() {
    let data = payload(150_000);
    let (s, [m1, m2, m3, primary]) = Setup::start::<4>("pull-four-bad", &[]).await;
    let (_, layer) = s.push_source(&data).await;
    let all = [&m1, &m2, &m3, &primary];
    for p in all {
        serve_bad_bytes(p, &layer);
    }
    let artifact = through(&s, &[&m1, &m2, &m3], &primary).await;
    let mut opts = PullOptions::default();
    opts.download.keep_partial = true;
    let dir = tempfile::tempdir().expect("dir");
    let e = pull_all(&artifact, dir.path(), &opts)
        .await
        .expect_err("no source serves good bytes");
    let PullError::Download {
        source: rejected @ DownloadError::Rejected {
            digest, sources, ..
        },
        ..
    } = &e
    else {
        panic!("expected bad bytes from every source, got {e:?}");
    };
    assert_eq!(digest, &layer);
    check_named(sources, &all, &rejected.to_string(), &layer);
    for p in all {
        assert_eq!(whole_gets(p, &layer), MAX_BAD_BODIES_PER_SOURCE as usize);
    }
    assert_empty(dir.path());

    // Into memory, through a fresh source (no strikes yet): the error names the four too.
    let fresh = through(&s, &[&m1, &m2, &m3], &primary).await;
    let desc = fresh.layers()[0].clone();
    let e = fresh
        .read_to_vec(&desc, 1 << 20)
        .await
        .expect_err("no source serves good bytes");
    let LayerError::Rejected {
        digest, sources, ..
    } = &e
    else {
        panic!("expected bad bytes from every source, got {e:?}");
    };
    assert_eq!(digest, &layer);
    assert!(e.is_integrity(), "{e}");
    check_named(sources, &all, &e.to_string(), &layer);
    for p in all {
        assert_eq!(
            whole_gets(p, &layer),
            2 * MAX_BAD_BODIES_PER_SOURCE as usize
        );
    }
}

/// `sources` names each of `all` (three mirrors, then the primary) in order, and `message`
/// says what was wrong, names the blob once, then the sources.
fn check_named(sources: &[String], all: &[&FaultProxy; 4], message: &str, layer: &Digest) {
    assert_eq!(sources.len(), 4, "{message}");
    for ((source, p), kind) in sources
        .iter()
        .zip(all)
        .zip(["mirror", "mirror", "mirror", "primary"])
    {
        assert!(source.starts_with(kind), "{source} is a {kind}");
        assert!(source.contains(&p.host()), "{} in {source}", p.host());
        assert!(message.contains(source.as_str()), "{source} in {message}");
    }
    assert!(message.contains("digest mismatch"), "{message}");
    assert_eq!(
        message.matches(layer.as_str()).count(),
        1,
        "the blob named once: {message}"
    );
}

/// A bad body (the source has strikes left, so the download starts again at once), then the
/// source answers `status` to every `GET` of the layer: the pull fails with the source's error,
/// not a verification error (the source earned one strike, not two), and nothing is left in the
/// output directory although `keep_partial` is on: the bad bytes were dropped as soon as they
/// were found, not once a next body arrived (none does).
async fn check_bad_bytes_then_status(status: u16) {
    let name = format!("pull-bad-then-{status}");
    let (_s, primary, artifact, [flipped, refused]) =
        bad_body_then(&name, &payload(150_000), Fault::Status { status }, None).await;
    let dir = tempfile::tempdir().expect("dir");
    let e = pull_all(&artifact, dir.path(), &keeping_partial())
        .await
        .expect_err("the source never serves good bytes");
    let PullError::Download {
        source: source @ DownloadError::Source { .. },
        ..
    } = &e
    else {
        panic!("{status}: expected the source's failure, got {e:?}");
    };
    assert!(!source.is_verification(), "{e}");
    assert_eq!(primary.hits(flipped), 1, "one bad body");
    assert!(primary.hits(refused) >= 1, "then {status}");
    assert_empty(dir.path());
}

/// The artifact `src:v1` with the one layer `layer`, as [`Setup::push_source`] pushes it, its
/// manifest then pushed again with `media_type` as the layer's media type.
async fn push_layer(s: &Setup, layer: &[u8], media_type: &str) -> Digest {
    let (_, digest) = s.push_source(layer).await;
    let manifest = String::from_utf8(manifest_of(layer)).expect("a JSON manifest");
    let manifest = manifest.replace("application/octet-stream", media_type);
    s.repo("src:v1")
        .push_manifest(
            &TagOrDigest::tag("v1").expect("tag"),
            manifest.into_bytes().into(),
            MANIFEST,
        )
        .await
        .expect("manifest pushed");
    digest
}

/// The artifact `src:v1` with the one layer `layer` at one source (a fault proxy) whose first
/// `GET` of the layer has a byte flipped and the next `times` (every later one with `None`)
/// meet `then`; the ids of both rules. A layer that is zstd-compressed has the zstd media type.
async fn bad_body_then(
    name: &str,
    layer: &[u8],
    then: Fault,
    times: Option<u64>,
) -> (Setup, FaultProxy, Artifact, [RuleId; 2]) {
    let (s, [primary]) = Setup::start::<1>(name, &[]).await;
    let media_type = match Compression::from_magic(layer) {
        Some(Compression::Zstd) => "application/vnd.oci.image.layer.v1.tar+zstd",
        _ => "application/octet-stream",
    };
    let layer = push_layer(&s, layer, media_type).await;
    // Resolved before the rules: its range request for the first bytes meets none.
    let artifact = through(&s, &[], &primary).await;
    let blob = format!("/blobs/{layer}");
    let flip = Rule::new(&blob, Fault::FlipByte { offset: 1000 }).times(1);
    let flipped = primary.add(flip.method("GET"));
    let then = Rule::new(&blob, then).method("GET");
    let then = primary.add(match times {
        Some(n) => then.times(n),
        None => then,
    });
    (s, primary, artifact, [flipped, then])
}

/// Pull options resuming from partial files (the CLI's default), with quick retries.
fn keeping_partial() -> PullOptions {
    let mut opts = PullOptions::default();
    opts.download.keep_partial = true;
    opts.download.max_attempts = 3;
    opts.download.backoff_initial = Duration::from_millis(1);
    opts.download.backoff_max = Duration::from_millis(5);
    opts
}

/// Server errors until the attempts run out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bytes_then_server_errors_leave_no_partial_file() {
    check_bad_bytes_then_status(503).await;
}

/// Access refused: the download stops at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bytes_then_refused_access_leave_no_partial_file() {
    check_bad_bytes_then_status(403).await;
}

/// A bad body, then the pull is cancelled (a Ctrl-C) while the source keeps the next body
/// waiting: the dropped pull leaves no partial file although `keep_partial` is on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bytes_then_cancellation_leave_no_partial_file() {
    let stall = Fault::Stall {
        after_bytes: 0,
        duration: Duration::from_secs(30),
    };
    let (_s, primary, artifact, [flipped, stalled]) =
        bad_body_then("pull-bad-then-cancel", &payload(150_000), stall, None).await;
    let dir = tempfile::tempdir().expect("dir");
    let opts = keeping_partial();
    let mut pull = Box::pin(pull_all(&artifact, dir.path(), &opts));
    let next_body_waits = async {
        while primary.hits(stalled) == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::select! {
        ended = &mut pull => panic!("the pull ended before the cancellation: {ended:?}"),
        () = next_body_waits => {}
    }
    drop(pull);
    assert_eq!(primary.hits(flipped), 1, "one bad body");
    assert_empty(dir.path());
}

/// A bad body, then one `503`, then a good body: the pull succeeds with the verified bytes
/// (`expected`: the layer as written, decompressed when `decompress` is on) and nothing else is
/// left in the output directory. With decompression on the layer is zstd: the decompressor fed
/// during the first body is dropped with the bad bytes, and the verified file is decompressed
/// afterwards.
async fn check_bad_bytes_then_one_server_error(
    name: &str,
    layer: &[u8],
    expected: &[u8],
    decompress: bool,
) {
    let unavailable = Fault::Status { status: 503 };
    let (_s, primary, artifact, [flipped, refused]) =
        bad_body_then(name, layer, unavailable, Some(1)).await;
    let dir = tempfile::tempdir().expect("dir");
    let mut opts = keeping_partial();
    if decompress {
        opts.download.decompress = Decompress::Auto;
    }
    let pulled = pull_all(&artifact, dir.path(), &opts)
        .await
        .expect("the third body is good");
    let [file] = &pulled[..] else {
        panic!("one file expected, got {pulled:?}");
    };
    assert_eq!(file.downloaded.digest, sha256(layer));
    let decompressed = file.downloaded.decompressed;
    assert_eq!(decompressed, decompress.then_some(Compression::Zstd));
    assert!(std::fs::read(&file.downloaded.path).expect("the file") == expected);
    assert_eq!(primary.hits(flipped), 1, "one bad body");
    assert_eq!(primary.hits(refused), 1, "then one 503");
    assert_eq!(
        entries(dir.path()),
        [file.name.as_str()],
        "nothing else left"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bytes_then_a_server_error_then_good_bytes() {
    let data = payload(150_000);
    check_bad_bytes_then_one_server_error("pull-bad-503-good", &data, &data, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bytes_then_a_server_error_then_good_bytes_decompressed() {
    let data = payload(400_000);
    let layer = zstd(&data);
    assert!(layer.len() > 2000, "the flipped byte is inside the layer");
    check_bad_bytes_then_one_server_error("pull-bad-503-good-zstd", &layer, &data, true).await;
}

/// A kept partial prefix, a mirror announcing a wrong length for the rest, then the primary
/// answering `503` until the attempts run out: the pull fails with the primary's error, and the
/// prefix is still there, byte for byte (the mirror's body was rejected at open, before any of
/// its bytes reached the file, so there were no bad bytes to drop). A next run resumes from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_length_at_open_keeps_the_partial_prefix() {
    let data = payload(150_000);
    let (s, [mirror, primary]) = Setup::start::<2>("pull-wrong-length-prefix", &[]).await;
    let (_, layer) = s.push_source(&data).await;
    let artifact = through(&s, &[&mirror], &primary).await;
    let blob = format!("/blobs/{layer}");
    let longer = Fault::Append {
        bytes: b"more".to_vec(),
    };
    let longer = mirror.add(Rule::new(&blob, longer).method("GET"));
    let unavailable = Fault::Status { status: 503 };
    let refused = primary.add(Rule::new(&blob, unavailable).method("GET"));
    let dir = tempfile::tempdir().expect("dir");
    let dest = dir.path().join(untitled_name(&artifact.layers()[0]));
    let partial = partial_path(&dest, &layer);
    let prefix = &data[..60_000];
    std::fs::write(&partial, prefix).expect("the kept prefix");

    let e = pull_all(&artifact, dir.path(), &keeping_partial())
        .await
        .expect_err("the primary never serves the layer");
    let PullError::Download {
        source: source @ DownloadError::Source { .. },
        ..
    } = &e
    else {
        panic!("expected the primary's failure, got {e:?}");
    };
    assert!(!source.is_verification(), "{e}");
    assert!(
        mirror.hits(longer) >= 1,
        "the mirror announced a wrong length"
    );
    assert!(primary.hits(refused) >= 1, "then the primary answered 503");
    assert!(
        std::fs::read(&partial).expect("the partial file is still there") == prefix,
        "the prefix is kept as it was"
    );

    // The next run, with both sources well again, resumes from the prefix.
    mirror.remove(longer);
    primary.remove(refused);
    let again = through(&s, &[&mirror], &primary).await;
    let pulled = pull_all(&again, dir.path(), &keeping_partial())
        .await
        .expect("the next run completes");
    let [file] = &pulled[..] else {
        panic!("one file expected, got {pulled:?}");
    };
    assert_eq!(file.downloaded.resumed_from, prefix.len() as u64);
    assert!(std::fs::read(&file.downloaded.path).expect("the file") == data);
    assert_eq!(
        entries(dir.path()),
        [file.name.as_str()],
        "no partial file left"
    );
}
