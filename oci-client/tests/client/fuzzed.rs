//! Replays the fuzz corpora of the `oci-client` parsers (`fuzz/corpus/registries_conf`,
//! `link_header`, `retry_after`: seeds and minimised findings) through the checks the fuzz
//! targets run (`fuzz/checks/oci_client.rs`), each input under a time bound.
//!
//! `Content-Range` has no public parser (it is private to the blob module and reached only
//! through `fetch_blob_range` over HTTP), so it has no corpus here; the blob tests cover it.

use std::time::Duration;

use oci_testkit::corpus;

#[path = "../../../fuzz/checks/oci_client.rs"]
mod checks;

#[test]
fn registries_conf_corpus_replays() {
    assert!(corpus::replay("registries_conf", checks::registries_conf) > 0);
}

#[test]
fn link_header_corpus_replays() {
    assert!(corpus::replay("link_header", checks::link_header) > 0);
}

#[test]
fn retry_after_corpus_replays() {
    assert!(corpus::replay("retry_after", checks::retry_after) > 0);
}

/// Fuzz finding `link_header/finding-non-ascii-param`: a `Link` value with a non-ASCII byte in
/// a parameter was skipped whole by `next_link` (not visible ASCII), so a listing ended after
/// the first page without an error. The value is now read lossily and the listing continues.
#[tokio::test]
async fn link_with_a_non_ascii_parameter_still_paginates() {
    use crate::server::{Reply, Server, ServerExt as _};
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
    });
    let got = tokio::time::timeout(Duration::from_secs(10), s.repo("app").tags(Some(1)))
        .await
        .expect("bounded")
        .expect("both pages");
    assert_eq!(got, ["a", "b"]);
}
