//! What the `oci-client` fuzz targets check on one input. Included (`#[path]`) by the targets
//! in `fuzz/fuzz_targets/` and by the corpus replay in `oci-client/tests/client/fuzzed.rs`, so a
//! replay runs exactly what was fuzzed. Nothing may panic.

#![allow(dead_code)]

use std::time::{Duration, SystemTime};

use oci_auth::token_response::parse_retry_after;
use oci_client::RetryPolicy;
use oci_client::registries::RegistriesConf;
use oci_ref::Reference;

/// A `registries.conf` file, then the pull sources of a few references.
pub(crate) fn registries_conf(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(conf) = RegistriesConf::parse_str(text, "fuzz/registries.conf") else {
        return;
    };
    for r in [
        "docker.io/library/busybox:latest",
        "quay.io/ns/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "localhost:5000/a/b/c:v1",
    ] {
        let reference: Reference = r.parse().expect("fixed references parse");
        let _ = conf.pull_sources(&reference);
    }
}

/// A `Link` header through `parse_next_link`, and as one or several header values through
/// `next_link`, which agrees with `parse_next_link` on a single valid value.
pub(crate) fn link_header(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let direct = oci_client::parse_next_link(text);
    if let Ok(v) = http::HeaderValue::from_str(text) {
        let mut one = http::HeaderMap::new();
        one.insert(http::header::LINK, v);
        assert_eq!(
            oci_client::next_link(&one),
            direct,
            "one header, same answer"
        );
    }
    let mut headers = http::HeaderMap::new();
    for line in text.split('\n') {
        if let Ok(v) = http::HeaderValue::from_str(line) {
            headers.append(http::header::LINK, v);
        }
    }
    let _ = oci_client::next_link(&headers);
}

/// A `Retry-After` value: no overflow, and no delay past the policy's total wait budget.
pub(crate) fn retry_after(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let retry_after = parse_retry_after(text, now);
    let policy = RetryPolicy::default();
    if let Some(d) = policy.delay(1, Duration::ZERO, retry_after) {
        assert!(
            d <= policy.max_total_wait,
            "granted {d:?} beyond the budget"
        );
    }
}
