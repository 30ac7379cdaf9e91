//! The JSON documents we write (image manifest, image index, descriptors) and the parsers of
//! the command-line shapes that feed them (`FILE[:MEDIATYPE]`, `KEY=VALUE`, `OS/ARCH[/VARIANT]`,
//! the oras annotation file). Pure: no IO except reading the annotation file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use oci_ref::media_type::OCI_EMPTY;
use serde::{Deserialize, Serialize};

use super::PublishError;

/// The empty descriptor's content, `{}`.
pub const EMPTY_JSON: &[u8] = b"{}";
/// The empty descriptor's digest.
pub const EMPTY_DIGEST: &str =
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
/// Title annotation: the file name of a layer (defined once, in `oci-client`).
pub use oci_client::ANNOTATION_TITLE;
/// Creation time annotation (RFC 3339).
pub const ANNOTATION_CREATED: &str = "org.opencontainers.image.created";
/// Key of the manifest's own annotations in an annotation file (oras format).
pub const ANNOTATION_FILE_MANIFEST: &str = "$manifest";
/// Key of the config's annotations in an annotation file (oras format).
pub const ANNOTATION_FILE_CONFIG: &str = "$config";

/// A content descriptor as written into manifests and indexes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Media type of the content.
    pub media_type: String,
    /// `alg:hex`.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// Artifact type of a manifest this points to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// Embedded content, base64 (only the empty descriptor here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Platform (index entries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Descriptor {
    /// A plain descriptor.
    pub fn new(media_type: &str, digest: &str, size: u64) -> Descriptor {
        Descriptor {
            media_type: media_type.to_owned(),
            digest: digest.to_owned(),
            size,
            artifact_type: None,
            data: None,
            platform: None,
            annotations: BTreeMap::new(),
        }
    }

    /// The empty config descriptor, with its `data` (`e30=`, base64 of `{}`).
    pub fn empty() -> Descriptor {
        Descriptor {
            data: Some("e30=".to_owned()),
            ..Descriptor::new(OCI_EMPTY, EMPTY_DIGEST, EMPTY_JSON.len() as u64)
        }
    }
}

/// An image manifest (artifact form, image-spec v1.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    /// Always 2.
    pub schema_version: u32,
    /// [`OCI_MANIFEST`](oci_ref::media_type::OCI_MANIFEST).
    pub media_type: String,
    /// The artifact type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The config descriptor.
    pub config: Descriptor,
    /// The files.
    pub layers: Vec<Descriptor>,
    /// What this manifest refers to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An image index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    /// Always 2.
    pub schema_version: u32,
    /// [`OCI_INDEX`](oci_ref::media_type::OCI_INDEX).
    pub media_type: String,
    /// The artifact type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The entries.
    pub manifests: Vec<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// A platform: `OS/ARCH[/VARIANT]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    /// CPU architecture (`amd64`, `arm64`, `x86_64` as given).
    pub architecture: String,
    /// Operating system.
    pub os: String,
    /// CPU variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Platform {
    /// Parses `OS/ARCH[/VARIANT]`. Architectures are kept as given (no aliasing): Ironic's
    /// recipes write `linux/x86_64`, and selection maps aliases when it reads them.
    pub fn parse(s: &str) -> Result<Platform, PublishError> {
        let parts: Vec<&str> = s.split('/').collect();
        let ok = |p: &&str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_graphic() && b != b',');
        if !(2..=3).contains(&parts.len()) || !parts.iter().all(ok) {
            return Err(PublishError::invalid(
                "platform",
                s,
                "expected OS/ARCH[/VARIANT]",
            ));
        }
        Ok(Platform {
            os: parts[0].to_owned(),
            architecture: parts[1].to_owned(),
            variant: parts.get(2).map(|v| (*v).to_owned()),
        })
    }

    /// The small image config `--artifact-platform` pushes: `{"architecture","os"[,"variant"]}`.
    pub fn config_json(&self) -> Vec<u8> {
        // Field order is the struct's, so the bytes are stable.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// A file to push, with an optional media type: `FILE[:MEDIATYPE]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    /// The path on disk.
    pub path: PathBuf,
    /// The media type; `None` means [`OCI_LAYER_TAR`](oci_ref::media_type::OCI_LAYER_TAR).
    pub media_type: Option<String>,
}

impl FileSpec {
    /// Parses `FILE[:MEDIATYPE]`. The split is at the last `:` when its right side looks like
    /// a media type (`type/subtype`), so `c:d.json` stays a path; as with oras, a path whose
    /// last `:` is followed by something shaped like `type/subtype` cannot be given.
    pub fn parse(s: &str) -> Result<FileSpec, PublishError> {
        let (path, media_type) = match s.rsplit_once(':') {
            Some((p, m)) if is_media_type(m) => (p, Some(m.to_owned())),
            Some((_, "")) => return Err(PublishError::invalid("file", s, "empty media type")),
            _ => (s, None),
        };
        if path.is_empty() {
            return Err(PublishError::invalid("file", s, "empty file name"));
        }
        Ok(FileSpec {
            path: PathBuf::from(path),
            media_type,
        })
    }

    /// The title annotation: the file name (last path component).
    pub fn title(&self) -> Result<String, PublishError> {
        let name = self.path.file_name().unwrap_or(self.path.as_os_str());
        name.to_str()
            .map(str::to_owned)
            .ok_or_else(|| PublishError::NonUtf8Name {
                path: self.path.clone(),
            })
    }
}

/// `type/subtype[+suffix][;params]` with RFC 6838 restricted-name characters.
pub fn is_media_type(s: &str) -> bool {
    let base = s.split(';').next().unwrap_or_default();
    let Some((t, sub)) = base.split_once('/') else {
        return false;
    };
    let name = |p: &str| {
        !p.is_empty()
            && p.len() <= 127
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    name(t) && name(sub)
}

/// Parses `KEY=VALUE` (the key must be non-empty; the value may be empty or contain `=`).
pub fn parse_annotation(s: &str) -> Result<(String, String), PublishError> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() && !k.chars().any(char::is_control) => {
            Ok((k.to_owned(), v.to_owned()))
        }
        _ => Err(PublishError::invalid(
            "annotation",
            s,
            "expected KEY=VALUE with a non-empty key",
        )),
    }
}

/// An oras annotation file: `{"$manifest": {...}, "$config": {...}, "<file title>": {...}}`.
pub type AnnotationFile = BTreeMap<String, BTreeMap<String, String>>;

/// Largest annotation file read: annotations belong in a manifest, which registries cap at
/// 4 MiB ([distribution-spec v1.1.1 § Pushing manifests](https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-manifests)).
pub const MAX_ANNOTATION_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Reads and parses an annotation file.
pub fn read_annotation_file(path: &Path) -> Result<AnnotationFile, PublishError> {
    let read_err = |source| PublishError::ReadFile {
        path: path.to_owned(),
        source,
    };
    let too_large = || PublishError::AnnotationFile {
        path: path.to_owned(),
        reason: format!("larger than {MAX_ANNOTATION_FILE_BYTES} bytes"),
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    if file.metadata().map_err(read_err)?.len() > MAX_ANNOTATION_FILE_BYTES {
        return Err(too_large());
    }
    // The size above says nothing for a FIFO or a device (0), nor for a file still growing:
    // the read itself stops one byte past the cap.
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(file, MAX_ANNOTATION_FILE_BYTES + 1),
        &mut bytes,
    )
    .map_err(read_err)?;
    if bytes.len() as u64 > MAX_ANNOTATION_FILE_BYTES {
        return Err(too_large());
    }
    serde_json::from_slice(&bytes).map_err(|e| PublishError::AnnotationFile {
        path: path.to_owned(),
        reason: format!("expected an object of objects of strings: {e}"),
    })
}
