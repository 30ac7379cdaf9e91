//! What a push takes besides the object model: the files to push ([`FileSpec`], a path and a
//! media type) and the oras annotation file. The command-line shapes (`FILE[:MEDIATYPE]`,
//! `KEY=VALUE`) are parsed by the binary; the manifests, indexes, descriptors and platforms
//! written are [`oci_ref::model`]'s. No IO except reading the annotation file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::PublishError;

/// Key of the manifest's own annotations in an annotation file (oras format).
pub const ANNOTATION_FILE_MANIFEST: &str = "$manifest";
/// Key of the config's annotations in an annotation file (oras format).
pub const ANNOTATION_FILE_CONFIG: &str = "$config";

/// A file to push: its path and, optionally, its media type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    /// The path on disk.
    pub path: PathBuf,
    /// The media type; `None` means [`OCI_LAYER_TAR`](oci_ref::media_type::OCI_LAYER_TAR).
    pub media_type: Option<String>,
}

impl FileSpec {
    /// The title annotation: the file name (last path component).
    ///
    /// # Errors
    ///
    /// [`PublishError::NonUtf8Name`] when the file name is not UTF-8.
    pub fn title(&self) -> Result<String, PublishError> {
        let name = self.path.file_name().unwrap_or(self.path.as_os_str());
        name.to_str()
            .map(str::to_owned)
            .ok_or_else(|| PublishError::NonUtf8Name {
                path: self.path.clone(),
            })
    }
}

/// An oras annotation file: `{"$manifest": {...}, "$config": {...}, "<file title>": {...}}`.
pub type AnnotationFile = BTreeMap<String, BTreeMap<String, String>>;

/// Largest annotation file read: annotations belong in a manifest, which registries cap at
/// 4 MiB ([distribution-spec v1.1.1 § Pushing manifests](https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-manifests)).
pub const MAX_ANNOTATION_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Reads and parses an annotation file.
///
/// # Errors
///
/// [`PublishError::ReadFile`] when the file cannot be read, [`PublishError::AnnotationFile`] when
/// it is larger than [`MAX_ANNOTATION_FILE_BYTES`] or not an object of objects of strings.
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
