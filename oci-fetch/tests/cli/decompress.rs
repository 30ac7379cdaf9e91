//! `pull --decompress` against a real registry: the decompression matrix. Media types
//! (declaring zstd or gzip, or generic) × content (zstd, gzip, plain) × with and without
//! `--decompress`; each case checks the file's bytes, its name, `pull --json` and that
//! `resolve --json` reports the compression `pull` undid.

use std::io::Write as _;

use oci_ref::media_type::{self, Compression};

use crate::{TestRegistry, oci_fetch};

/// The file content pushed, uncompressed.
const TEXT: &[u8] = b"a disk image, or at least its first sector\n";

fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).expect("zstd")
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

/// The content kinds: how the bytes are compressed, the bytes, the file name pushed.
fn contents() -> [(Option<Compression>, Vec<u8>, &'static str); 3] {
    [
        (Some(Compression::Zstd), zstd(TEXT), "disk.img.zst"),
        (Some(Compression::Gzip), gzip(TEXT), "disk.img.gz"),
        (None, TEXT.to_vec(), "disk.img"),
    ]
}

/// What one pull must give.
#[derive(Debug)]
enum Expected {
    /// The file `name` holds `bytes`; `compression` was undone (`null` in `--json` if none).
    File {
        name: String,
        bytes: Vec<u8>,
        compression: Option<Compression>,
    },
    /// The pull fails (declared compression that the bytes do not have): nothing written.
    Fails,
}

/// The rule: the media type decides when it declares a compression (and bytes without that
/// compression's magic are an error); otherwise the magic bytes decide.
fn expected(
    media_type: &str,
    content: Option<Compression>,
    bytes: &[u8],
    name: &str,
    decompress: bool,
) -> Expected {
    let undone = match (decompress, Compression::from_media_type(media_type)) {
        (false, _) => None,
        (true, Some(declared)) if content != Some(declared) => return Expected::Fails,
        (true, Some(declared)) => Some(declared),
        (true, None) => content,
    };
    match undone {
        None => Expected::File {
            name: name.to_owned(),
            bytes: bytes.to_vec(),
            compression: None,
        },
        Some(c) => Expected::File {
            name: Compression::strip_suffix(name)
                .filter(|_| Compression::from_file_name(name) == Some(c))
                .unwrap_or(name)
                .to_owned(),
            bytes: TEXT.to_vec(),
            compression: Some(c),
        },
    }
}

/// Pushes one file as `tag` with `media_type` (`None`: the push default, as `oras push`).
fn push(host: &str, tag: &str, name: &str, bytes: &[u8], media_type: Option<&str>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join(name);
    std::fs::write(&file, bytes).expect("write");
    let mut arg = file.to_str().expect("utf-8").to_owned();
    if let Some(mt) = media_type {
        arg = format!("{arg}:{mt}");
    }
    let out = oci_fetch(&[
        "push",
        "--plain-http",
        &format!("{host}/matrix/decompress:{tag}"),
        &arg,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Pulls `tag` and checks the outcome against `want`; returns the `compression` `pull --json`
/// reported.
fn check_pull(host: &str, tag: &str, decompress: bool, want: &Expected) -> Option<String> {
    let out_dir = tempfile::tempdir().expect("temp dir");
    let dir = out_dir.path().join("out");
    let reference = format!("{host}/matrix/decompress:{tag}");
    let mut args = vec![
        "pull",
        "--plain-http",
        &reference,
        "--json",
        "-o",
        dir.to_str().expect("utf-8"),
    ];
    if decompress {
        args.push("--decompress");
    }
    let out = oci_fetch(&args);
    let case = format!("{tag} decompress={decompress}");
    match want {
        Expected::Fails => {
            assert_eq!(out.status.code(), Some(1), "{case}: must fail");
            // Nothing at the destination: at most the partial file kept for a resume.
            let left: Vec<String> = std::fs::read_dir(&dir)
                .map(|entries| {
                    entries
                        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                        .filter(|n| !n.ends_with(oci_fetch::download::PARTIAL_SUFFIX))
                        .collect()
                })
                .unwrap_or_default();
            assert!(left.is_empty(), "{case}: nothing may be left: {left:?}");
            None
        }
        Expected::File {
            name,
            bytes,
            compression,
        } => {
            assert!(
                out.status.success(),
                "{case}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
            let f = &v["files"][0];
            let mut names: Vec<String> = std::fs::read_dir(&dir)
                .expect("out dir")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            assert_eq!(names, std::slice::from_ref(name), "{case}: the only file");
            assert_eq!(
                &std::fs::read(dir.join(name)).expect("file"),
                bytes,
                "{case}"
            );
            assert_eq!(
                f["path"].as_str().map(|p| p.ends_with(name.as_str())),
                Some(true),
                "{case}: {f}"
            );
            assert_eq!(f["verified"], serde_json::json!(true), "{case}");
            assert_eq!(
                f["compression"].as_str(),
                compression.map(Compression::as_str),
                "{case}: {f}"
            );
            let decompressed_size = compression.map(|_| bytes.len() as u64);
            assert_eq!(
                f["decompressed_size"].as_u64(),
                decompressed_size,
                "{case}: {f}"
            );
            f["compression"].as_str().map(str::to_owned)
        }
    }
}

/// What `resolve --json` says the compression is.
fn resolved_compression(host: &str, tag: &str) -> Option<String> {
    let out = oci_fetch(&[
        "resolve",
        "--plain-http",
        &format!("{host}/matrix/decompress:{tag}"),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    v["compression"].as_str().map(str::to_owned)
}

#[test]
fn decompression_matrix() {
    let registry = TestRegistry::start();
    let host = &registry.host;
    let media_types: [(&str, Option<&str>); 6] = [
        ("zstd", Some(media_type::ZSTD)),
        ("gzip", Some(media_type::GZIP)),
        ("tarzstd", Some(media_type::OCI_LAYER_TAR_ZSTD)),
        ("targzip", Some(media_type::OCI_LAYER_TAR_GZIP)),
        ("octet", Some(media_type::OCTET_STREAM)),
        ("default", None),
    ];
    let mut cases = 0;
    for (label, media_type) in media_types {
        for (content, bytes, name) in contents() {
            let tag = format!(
                "{label}-{}",
                content.map(Compression::as_str).unwrap_or("plain")
            );
            push(host, &tag, name, &bytes, media_type);
            let mt = media_type.unwrap_or(media_type::OCI_LAYER_TAR);
            let resolved = resolved_compression(host, &tag);
            for decompress in [false, true] {
                let want = expected(mt, content, &bytes, name, decompress);
                let pulled = check_pull(host, &tag, decompress, &want);
                if decompress && !matches!(want, Expected::Fails) {
                    assert_eq!(resolved, pulled, "{tag}: resolve and pull agree");
                }
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 36);
}
