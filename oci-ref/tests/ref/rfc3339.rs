//! RFC 3339: the one parser and formatter (tests moved from oci-auth and oci-fetch).

use std::time::{Duration, UNIX_EPOCH};

use oci_ref::rfc3339::{format, parse};
use proptest::prelude::*;

#[test]
fn rfc3339() {
    let secs = |s: &str| {
        parse(s).map(|t| {
            t.duration_since(UNIX_EPOCH)
                .expect("after epoch")
                .as_secs_f64()
        })
    };
    assert_eq!(secs("1970-01-01T00:00:00Z"), Some(0.0));
    assert_eq!(secs("2024-01-02T03:04:05Z"), Some(1_704_164_645.0));
    assert_eq!(secs("2024-01-02T05:04:05+02:00"), Some(1_704_164_645.0));
    assert_eq!(secs("2024-01-02T03:04:05.5Z"), Some(1_704_164_645.5));
    assert_eq!(secs("2000-02-29T00:00:00Z"), Some(951_782_400.0));
    for bad in [
        "2024-01-02",
        "2024-13-02T03:04:05Z",
        "2024-01-02T03:04:05",
        "2024-01-02T03:04:05.Z",
        "x024-01-02T03:04:05Z",
    ] {
        assert_eq!(secs(bad), None, "{bad}");
    }
}

fn check_time(secs: u64, expected: &str) {
    let t = UNIX_EPOCH + Duration::from_secs(secs);
    assert_eq!(format(t), expected, "{secs}");
    assert_eq!(parse(expected), Some(t), "{expected}: round trip");
}

#[test]
fn rfc3339_utc_known_instants() {
    check_time(0, "1970-01-01T00:00:00Z");
    check_time(951_782_400, "2000-02-29T00:00:00Z");
    check_time(1_710_664_957, "2024-03-17T08:42:37Z");
    check_time(4_107_542_399, "2100-02-28T23:59:59Z");
}

proptest! {
    #[test]
    fn rfc3339_never_panics(s in "[0-9TZ:.+-]{0,40}") {
        let _ = parse(&s);
    }

    #[test]
    fn format_round_trips(secs in 0u64..253_402_300_799) {
        let t = UNIX_EPOCH + Duration::from_secs(secs);
        prop_assert_eq!(parse(&format(t)), Some(t));
    }
}
