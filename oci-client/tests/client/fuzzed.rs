//! Replays the fuzz corpora of the `oci-client` parsers (`fuzz/corpus/registries_conf`,
//! `link_header`, `retry_after`: seeds and minimised findings) through what each fuzz target
//! does, each input under a time bound.
//!
//! `Content-Range` has no public parser (it is private to the blob module and reached only
//! through `fetch_blob_range` over HTTP), so it has no corpus here; the blob tests cover it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use oci_auth::token_response::parse_retry_after;
use oci_client::registries::RegistriesConf;
use oci_client::{RetryPolicy, parse_next_link};
use oci_ref::Reference;

/// A hang guard, not a performance target: every parser here is linear in its input.
const INPUT_TIME_LIMIT: Duration = Duration::from_millis(250);

fn corpus(target: &str) -> Vec<(PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{target}: corpus has seeds");
    files
        .into_iter()
        .filter_map(|p| {
            let bytes = std::fs::read(&p).expect("readable corpus file");
            // The targets skip input that is not UTF-8, and so does the replay.
            String::from_utf8(bytes).ok().map(|text| (p, text))
        })
        .collect()
}

fn timed(file: &Path, f: impl FnOnce()) {
    let start = Instant::now();
    f();
    let elapsed = start.elapsed();
    assert!(
        elapsed < INPUT_TIME_LIMIT,
        "{} took {elapsed:?}",
        file.display()
    );
}

#[test]
fn registries_conf_corpus_replays() {
    let references: Vec<Reference> = [
        "docker.io/library/busybox:latest",
        "quay.io/ns/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "localhost:5000/a/b/c:v1",
    ]
    .iter()
    .map(|r| r.parse().expect("fixed references parse"))
    .collect();
    for (file, text) in corpus("registries_conf") {
        timed(&file, || {
            if let Ok(conf) = RegistriesConf::parse_str(&text, "fuzz/registries.conf") {
                for r in &references {
                    let _ = conf.pull_sources(r);
                }
            }
        });
    }
}

#[test]
fn link_header_corpus_replays() {
    for (file, text) in corpus("link_header") {
        timed(&file, || {
            let _ = parse_next_link(&text);
        });
    }
}

#[test]
fn retry_after_corpus_replays() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let policy = RetryPolicy::default();
    for (file, text) in corpus("retry_after") {
        timed(&file, || {
            let retry_after = parse_retry_after(&text, now);
            if let Some(d) = policy.delay(1, Duration::ZERO, retry_after) {
                assert!(d <= policy.max_total_wait, "{}: {d:?}", file.display());
            }
        });
    }
}

/// Fuzz finding `link_header/finding-non-ascii-param`: a `Link` value with a non-ASCII byte in
/// a parameter was skipped whole by `next_link` (not visible ASCII), so a listing ended after
/// the first page without an error. The value is now read lossily and the listing continues.
#[tokio::test]
async fn link_with_a_non_ascii_parameter_still_paginates() {
    use crate::server::{Reply, Server};
    let tags = ["a", "b"];
    let s = Server::start(move |req| {
        let i = usize::from(req.target.contains("last=a"));
        let mut reply = Reply::new(200).body(format!(r#"{{"name":"app","tags":["{}"]}}"#, tags[i]));
        if i == 0 {
            reply = reply.header(
                "Link",
                "</v2/app/tags/list?n=1&last=a>; rel=\"next\"; title=\"caf\u{e9}\"",
            );
        }
        reply
    })
    .await;
    let got = tokio::time::timeout(Duration::from_secs(10), s.repo("app").tags(Some(1)))
        .await
        .expect("bounded")
        .expect("both pages");
    assert_eq!(got, ["a", "b"]);
}
