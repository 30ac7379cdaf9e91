//! `normalize`: Docker Hub, `library/`, `latest`, lower-case registries.

use oci_ref::grammar::parse_docker;
use oci_ref::normalize::{normalize, normalize_registry, normalize_repository};
use oci_ref::{DEFAULT_TAG, DOCKER_HUB, DOCKER_HUB_API_HOST, DOCKER_HUB_LEGACY};

use crate::SHA256;

/// Normalises the grammar's parse of `input` and compares the display form with `expected`.
fn check(input: &str, expected: &str) {
    let parsed = parse_docker(input).expect("valid grammar");
    let r = normalize(parsed).expect("normalises");
    assert_eq!(r.to_string(), expected, "normalising {input:?}");
}

#[test]
fn docker_hub_and_defaults() {
    check("ubuntu", "docker.io/library/ubuntu:latest");
    check("index.docker.io/ubuntu", "docker.io/library/ubuntu:latest");
    check("Index.Docker.IO/a/b", "docker.io/a/b:latest");
    check("docker.io/a/b:c", "docker.io/a/b:c");
    check(
        &format!("a@sha256:{SHA256}"),
        &format!("docker.io/library/a@sha256:{SHA256}"),
    );
    check("Quay.IO/a", "quay.io/a:latest");
    check("LOCALHOST/a", "localhost/a:latest");
    check("[::ABCD]:5000/a", "[::abcd]:5000/a:latest");
}

#[test]
fn library_prefix_can_exceed_the_limit() {
    let name = "a".repeat(250);
    let parsed = parse_docker(&name).expect("250 characters is grammar-valid");
    let err = normalize(parsed).expect_err("library/ makes it 258");
    assert_eq!(err.to_string().lines().count(), 1);
    assert!(
        err.to_string()
            .ends_with("is 258 characters long; the limit is 255")
    );
}

#[test]
fn registry_and_repository_helpers() {
    assert_eq!(normalize_registry("INDEX.docker.io"), DOCKER_HUB);
    assert_eq!(normalize_registry("Quay.io:443"), "quay.io:443");
    assert_eq!(normalize_repository(DOCKER_HUB, "x"), "library/x");
    assert_eq!(normalize_repository(DOCKER_HUB, "x/y"), "x/y");
    assert_eq!(normalize_repository("quay.io", "x"), "x");
    assert_eq!(
        (DEFAULT_TAG, DOCKER_HUB_API_HOST, DOCKER_HUB_LEGACY),
        ("latest", "registry-1.docker.io", "index.docker.io")
    );
}
