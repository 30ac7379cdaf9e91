//! `resolve` against a scriptable registry: how it reads a blob's first bytes to tell the
//! compression of a layer with a generic media type — one range request for those bytes, at
//! the pull sources in order, and nothing more read even from a registry that ignores ranges.
//! (`tests/cli/decompress.rs` checks against the real registry that `resolve` and `pull` agree.)

use oci_auth::Keychain;
use oci_fetch::registry::RegistrySource;
use oci_fetch::resolve::{ResolveError, Resolved, resolve};
use oci_ref::TagOrDigest;
use oci_ref::media_type::{Compression, GZIP_MAGIC, OCI_MANIFEST, OCTET_STREAM, ZSTD_MAGIC};
use oci_testkit::server::{Reply, Request, Server as Registry};

use crate::common::{RegistryExt, sha256, through_mirror};

/// The layer's digest: the registries here serve made-up bytes, and `resolve` verifies none.
fn layer_digest() -> oci_ref::Digest {
    sha256(b"a disk image")
}

/// An artifact manifest with one layer of a generic media type and `size` bytes.
fn manifest(size: u64) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.example.disk",
        "config": {
            "mediaType": "application/vnd.oci.empty.v1+json",
            "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
            "size": 2,
        },
        "layers": [{
            "mediaType": OCTET_STREAM,
            "digest": layer_digest().to_string(),
            "size": size,
            "annotations": {"org.opencontainers.image.title": "disk.img"},
        }],
    }))
    .expect("manifest JSON")
}

/// A registry serving `app:v1` (one layer of `size` bytes) and answering blob requests with
/// `blob`; everything else is 404.
fn serving(size: u64, blob: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Registry {
    let manifest = manifest(size);
    Registry::start(move |req| match req.path() {
        "/v2/app/manifests/v1" => Reply::new(200)
            .header("Content-Type", OCI_MANIFEST)
            .body(manifest.clone()),
        p if p.starts_with("/v2/app/blobs/") => blob(req),
        _ => Reply::new(404),
    })
}

/// Resolves `app:v1` at `source`.
async fn resolve_at(
    registry: &Registry,
    source: &RegistrySource,
) -> Result<Resolved, ResolveError> {
    let reference = registry.reference("app:v1");
    resolve(
        source,
        &reference.to_string(),
        &TagOrDigest::from(&reference),
        &oci_select::Policy::new(),
    )
    .await
}

/// Resolves `app:v1` at `registry` as the only pull source.
async fn resolve_direct(registry: &Registry) -> Result<Resolved, ResolveError> {
    let client = registry.client(Keychain::empty());
    let source = RegistrySource::direct(&client, &registry.reference("app:v1")).expect("source");
    resolve_at(registry, &source).await
}

/// The `Range` header of every blob request the registry got.
fn blob_ranges(registry: &Registry) -> Vec<Option<String>> {
    registry
        .requests()
        .iter()
        .filter(|r| r.path().contains("/blobs/"))
        .map(|r| r.header("range").map(str::to_owned))
        .collect()
}

/// A `206` for `bytes=0-<len-1>` of a blob of `size` bytes starting with `head`.
fn first_bytes(head: &[u8], size: u64) -> Reply {
    Reply::new(206)
        .header(
            "Content-Range",
            &format!("bytes 0-{}/{size}", head.len() - 1),
        )
        .body(head.to_vec())
}

const GIB: u64 = 1 << 30;

#[tokio::test]
async fn generic_layer_compression_takes_one_four_byte_range_request() {
    // Anything but the four-byte range gets the whole gigabyte, so a whole-blob GET would show.
    let registry = serving(GIB, |req| match req.header("range") {
        Some("bytes=0-3") => first_bytes(&ZSTD_MAGIC, GIB),
        _ => Reply::new(200).endless(GIB),
    });
    let resolved = resolve_direct(&registry).await.expect("resolves");
    assert_eq!(resolved.compression, Some(Compression::Zstd));
    assert_eq!(blob_ranges(&registry), vec![Some("bytes=0-3".to_owned())]);
    assert_eq!(registry.written(), 0, "no whole-blob body was sent");
    assert_eq!(resolved.requests, 2, "the manifest, then the first bytes");
}

#[tokio::test]
async fn a_blob_shorter_than_four_bytes_is_asked_for_whole_and_an_empty_one_not_at_all() {
    let registry = serving(2, |_| first_bytes(&GZIP_MAGIC, 2));
    let resolved = resolve_direct(&registry).await.expect("resolves");
    assert_eq!(resolved.compression, Some(Compression::Gzip));
    assert_eq!(blob_ranges(&registry), vec![Some("bytes=0-1".to_owned())]);

    let registry = serving(0, |_| Reply::new(500));
    let resolved = resolve_direct(&registry).await.expect("resolves");
    assert_eq!(resolved.compression, None);
    assert_eq!(blob_ranges(&registry), Vec::<Option<String>>::new());
    assert_eq!(resolved.requests, 1, "the manifest only");
}

#[tokio::test]
async fn a_registry_ignoring_the_range_is_read_no_further_than_the_first_bytes() {
    // The whole blob, small: its magic still tells the compression.
    let mut blob = GZIP_MAGIC.to_vec();
    blob.extend_from_slice(b"\x08\x00 the rest of the blob");
    let size = blob.len() as u64;
    let registry_small = serving(size, move |_| Reply::new(200).body(blob.clone()));
    let resolved = resolve_direct(&registry_small).await.expect("resolves");
    assert_eq!(resolved.compression, Some(Compression::Gzip));

    // The whole blob, a gigabyte (without a magic): the connection is dropped after the first
    // bytes, so the registry gets to send the socket buffers' worth at most.
    let registry = serving(GIB, |_| Reply::new(200).endless(GIB));
    let resolved = resolve_direct(&registry).await.expect("resolves");
    assert_eq!(resolved.compression, None);
    assert_eq!(blob_ranges(&registry), vec![Some("bytes=0-3".to_owned())]);
    let written = registry.written();
    assert!(written < GIB / 16, "{written} bytes of the blob sent");
}

#[tokio::test]
async fn a_content_range_starting_elsewhere_is_an_error_naming_the_registry() {
    let registry = serving(GIB, |_| {
        Reply::new(206)
            .header("Content-Range", &format!("bytes 4-7/{GIB}"))
            .body(ZSTD_MAGIC.to_vec())
    });
    let e = resolve_direct(&registry).await.expect_err("wrong range");
    assert!(matches!(&e, ResolveError::BlobHead { .. }), "{e:?}");
    let message = e.to_string();
    assert!(message.contains(&registry.registry()), "{message}");
    assert!(message.contains("Content-Range"), "{message}");
    assert_eq!(blob_ranges(&registry).len(), 1, "not retried");
}

#[tokio::test]
async fn a_short_or_refused_range_is_an_error() {
    // Two bytes where the manifest promises a gigabyte.
    let registry = serving(GIB, |_| first_bytes(&GZIP_MAGIC, GIB));
    let e = resolve_direct(&registry).await.expect_err("short");
    assert!(e.to_string().contains("expected 4 bytes, got 2"), "{e}");
    // 416: the registry holds none of the range.
    let registry = serving(GIB, |_| Reply::new(416));
    let e = resolve_direct(&registry).await.expect_err("416");
    assert!(e.to_string().contains("416"), "{e}");
}

#[tokio::test]
async fn the_first_bytes_fall_through_the_pull_sources_like_any_fetch() {
    // The mirror has the manifest but not the blob: the first bytes come from the primary.
    let mirror = serving(GIB, |_| Reply::new(404));
    let primary = serving(GIB, |req| match req.header("range") {
        Some("bytes=0-3") => first_bytes(&ZSTD_MAGIC, GIB),
        _ => Reply::new(400),
    });
    let reference = primary.reference("app:v1");
    let source = through_mirror(&primary.registry(), &mirror.registry(), &reference);
    let resolved = resolve_at(&primary, &source).await.expect("resolves");
    assert_eq!(resolved.compression, Some(Compression::Zstd));
    assert_eq!(blob_ranges(&mirror), vec![Some("bytes=0-3".to_owned())]);
    assert_eq!(blob_ranges(&primary), vec![Some("bytes=0-3".to_owned())]);
    assert_eq!(
        resolved.requests, 3,
        "the manifest at the mirror, the first bytes at the mirror and at the primary"
    );
}
