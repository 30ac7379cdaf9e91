//! `grammar`: what was written, before normalisation.

use oci_ref::grammar::{self, Parsed};

use crate::SHA256;

/// Renders the unnormalised parse of every input as one snapshot table.
fn check(name: &str, inputs: &[&str], parse: fn(&str) -> Result<Parsed<'_>, oci_ref::Error>) {
    let table: String = inputs
        .iter()
        .map(|input| match parse(input) {
            Ok(p) => format!(
                "{input:?}\n  => domain={:?} path={:?} tag={:?} digest={:?}\n",
                p.domain,
                p.path,
                p.tag,
                p.digest.map(|d| d.to_string()),
            ),
            Err(e) => format!("{input:?}\n  !! {e}\n"),
        })
        .collect::<Vec<_>>()
        .join("\n");
    crate::snapshot(name, &table);
}

#[test]
fn docker_grammar_keeps_what_was_written() {
    check(
        "docker_grammar",
        &[
            "ubuntu",
            "docker.io/ubuntu",
            "Quay.IO/a/b:v1",
            "LocalHost/a",
            "test.com:5000",
            "[::1]:5000/a:b",
            &format!("a/b:t@sha256:{SHA256}"),
        ],
        grammar::parse_docker,
    );
}

#[test]
fn oci_url_grammar_keeps_what_was_written() {
    check(
        "oci_url_grammar",
        &[
            "oci://Host/a",
            "oci://h/a:",
            &format!("oci://h/a:@sha256:{SHA256}"),
            &format!("oci://h/a:t@sha256:{SHA256}"),
            "oci://h:1/a/b/c:t",
        ],
        grammar::parse_oci_url,
    );
}
