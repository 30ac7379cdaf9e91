//! Fuzz target: any UTF-8 input as a `Link` header through `oci_client::parse_next_link`, and
//! as one or several header values through `oci_client::next_link`. Nothing may panic, and
//! `next_link` on a single valid header value agrees with `parse_next_link`.
//!
//! Run from the repository root: `RUSTC_BOOTSTRAP=1 cargo fuzz run link_header`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let direct = oci_client::parse_next_link(text);
    if let Ok(v) = http::HeaderValue::from_str(text) {
        let mut one = http::HeaderMap::new();
        one.insert(http::header::LINK, v);
        assert_eq!(oci_client::next_link(&one), direct, "one header, same answer");
    }
    let mut headers = http::HeaderMap::new();
    for line in text.split('\n') {
        if let Ok(v) = http::HeaderValue::from_str(line) {
            headers.append(http::header::LINK, v);
        }
    }
    let _ = oci_client::next_link(&headers);
});
