//! Pull sources (`RegistrySource`): what a failed tag listing reports.

use oci_fetch::registry::PullSourceError;
use oci_testkit::server::{Reply, Server};

use crate::common::through_mirror;

/// Nothing listens here: a primary location that cannot be reached.
const UNREACHABLE: &str = "127.0.0.1:1";

/// A primary that cannot be reached, then a mirror refusing the credentials: the mirror's
/// refusal stops the walk, and the error still says why the primary was not the one asked.
#[tokio::test]
async fn a_mirror_stopping_the_tag_listing_does_not_hide_the_unreachable_primary() {
    let mirror = Server::start(|_| {
        Reply::new(401)
            .header("WWW-Authenticate", r#"Basic realm="mirror""#)
            .body(r#"{"errors":[{"code":"UNAUTHORIZED"}]}"#)
    });
    let reference: oci_ref::Reference = format!("{UNREACHABLE}/app:v1").parse().expect("reference");
    let source = through_mirror(UNREACHABLE, &mirror.registry(), &reference);
    let e = source.tags().await.expect_err("the mirror refused");
    assert!(e.is_unauthorized(), "{e:?}");
    let PullSourceError::Stopped {
        reference, earlier, ..
    } = &e
    else {
        panic!("the mirror's refusal stops the walk: {e:?}");
    };
    assert_eq!(reference, &format!("{}/app", mirror.registry()));
    assert_eq!(earlier.0.len(), 1, "{e}");
    assert!(!earlier.0[0].mirror, "{e}");
    assert_eq!(earlier.0[0].reference, format!("{UNREACHABLE}/app"));
    let text = e.to_string();
    assert!(
        text.starts_with(&format!("tags from {}/app: ", mirror.registry())),
        "{text}"
    );
    assert!(
        text.contains(&format!("(tried before: primary {UNREACHABLE}/app: ")),
        "{text}"
    );
}
