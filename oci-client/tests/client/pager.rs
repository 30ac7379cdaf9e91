//! Tag and catalog pagination: `Link` relative and absolute, endless pages, loops.

use oci_client::{Error, Limit, Limits, Protocol};

use crate::server::{Reply, Server, ServerExt as _};

fn check_link(value: &str, want: Option<&str>) {
    assert_eq!(
        oci_client::parse_next_link(value).as_deref(),
        want,
        "{value}"
    );
}

#[test]
fn link_header_parsing() {
    check_link(
        r#"</v2/a/tags/list?n=1&last=b>; rel="next""#,
        Some("/v2/a/tags/list?n=1&last=b"),
    );
    check_link(
        r#"<https://r.example/v2/a/tags/list?last=b>; rel=next"#,
        Some("https://r.example/v2/a/tags/list?last=b"),
    );
    check_link(r#"</prev>; rel="prev", </next>; rel="next""#, Some("/next"));
    check_link(r#"</x>; title="a, b"; rel="nofollow next""#, Some("/x"));
    check_link(r#"</prev>; rel="prev""#, None);
    check_link("garbage", None);
    check_link("<unterminated; rel=next", None);
}

#[tokio::test]
async fn relative_and_absolute_links() {
    for absolute in [false, true] {
        let origin = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
        let o2 = origin.clone();
        let tags = ["a", "b", "c"];
        let s = Server::start(move |req| {
            let last = req.target.split("last=").nth(1).unwrap_or("");
            let i = tags.iter().position(|t| *t == last).map_or(0, |i| i + 1);
            let mut reply =
                Reply::new(200).body(format!(r#"{{"name":"app","tags":["{}"]}}"#, tags[i]));
            if i + 1 < tags.len() {
                let path = format!("/v2/app/tags/list?n=1&last={}", tags[i]);
                let url = if absolute {
                    format!("{}{path}", o2.get().cloned().unwrap_or_default())
                } else {
                    path
                };
                reply = reply.header("Link", &format!("<{url}>; rel=\"next\""));
            }
            reply
        });
        origin.set(s.origin()).expect("set once");
        let got = s.repo("app").tags(Some(1)).await.expect("all pages");
        assert_eq!(got, ["a", "b", "c"], "absolute={absolute}");
        assert_eq!(s.requests().len(), 3);
    }
}

#[tokio::test]
async fn endless_pages_hit_the_page_cap() {
    let s = Server::start(|req| {
        let n: u64 = req
            .target
            .split("page=")
            .nth(1)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Reply::new(200)
            .header(
                "Link",
                &format!("</v2/app/tags/list?page={}>; rel=\"next\"", n + 1),
            )
            .body(format!(r#"{{"tags":["t{n}"]}}"#))
    });
    let client = s
        .builder()
        .limits(Limits {
            max_pages: 7,
            ..Limits::default()
        })
        .build()
        .expect("client");
    let r: oci_ref::Reference = format!("{}/app:v1", s.registry()).parse().expect("ref");
    let e = client
        .repository(&r)
        .expect("repo")
        .tags(None)
        .await
        .expect_err("endless");
    assert!(
        matches!(
            e,
            Error::LimitExceeded {
                limit: Limit::Pages,
                max: 7,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(s.requests().len(), 7);
}

#[tokio::test]
async fn link_back_to_a_served_page_is_a_loop() {
    let s = Server::start(|_| {
        Reply::new(200)
            .header("Link", "</v2/app/tags/list>; rel=\"next\"")
            .body(r#"{"tags":["a"]}"#)
    });
    let e = s.repo("app").tags(None).await.expect_err("loop");
    assert!(
        matches!(
            e,
            Error::Protocol {
                what: Protocol::PaginationLoop,
                ..
            }
        ),
        "{e}"
    );
}

#[tokio::test]
async fn cross_origin_link_is_refused() {
    let s = Server::start(|_| {
        Reply::new(200)
            .header(
                "Link",
                "<http://elsewhere.invalid/v2/app/tags/list?last=a>; rel=\"next\"",
            )
            .body(r#"{"tags":["a"]}"#)
    });
    let e = s.repo("app").tags(None).await.expect_err("cross-origin");
    assert!(
        matches!(
            e,
            Error::Protocol {
                what: Protocol::CrossOriginLink,
                ..
            }
        ),
        "{e}"
    );
}

#[tokio::test]
async fn null_tags_and_catalog() {
    let s = Server::start(|req| {
        if req.path() == "/v2/_catalog" {
            Reply::new(200).body(r#"{"repositories":["a","b/c"]}"#)
        } else {
            Reply::new(200).body(r#"{"name":"app","tags":null}"#)
        }
    });
    assert!(s.repo("app").tags(None).await.expect("tags").is_empty());
    let repos = s
        .client()
        .catalog(&s.registry(), Some(10))
        .await
        .expect("catalog");
    assert_eq!(repos, ["a", "b/c"]);
}

proptest::proptest! {
    #[test]
    fn link_parser_never_panics(s in "\\PC{0,200}") {
        let _ = oci_client::parse_next_link(&s);
    }

    #[test]
    fn link_round_trips(path in "/v2/[a-z0-9/]{1,40}\\?n=[0-9]{1,3}&last=[A-Za-z0-9._-]{1,20}", prev in proptest::bool::ANY) {
        let value = if prev {
            format!("</prev>; rel=\"prev\", <{path}>; rel=\"next\"")
        } else {
            format!("<{path}>; rel=\"next\"")
        };
        proptest::prop_assert_eq!(oci_client::parse_next_link(&value), Some(path));
    }
}
