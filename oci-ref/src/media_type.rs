//! The media-type vocabulary of the workspace, and [`Compression`]: one definition each.
//!
//! Media types are compared by their essence (no parameters) and ASCII case-insensitively
//! ([RFC 6838 §4.2](https://www.rfc-editor.org/rfc/rfc6838#section-4.2)).

use std::fmt;

/// OCI image manifest
/// ([image-spec v1.1, manifest](https://github.com/opencontainers/image-spec/blob/v1.1.0/manifest.md)).
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index
/// ([image-spec v1.1, index](https://github.com/opencontainers/image-spec/blob/v1.1.0/image-index.md)).
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image config, which carries the platform
/// ([image-spec v1.1, config](https://github.com/opencontainers/image-spec/blob/v1.1.0/config.md)).
pub const OCI_IMAGE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// The OCI empty descriptor's content `{}`, used as `config` by artifacts
/// ([image-spec v1.1.1, empty descriptor](https://github.com/opencontainers/image-spec/blob/v1.1.1/manifest.md#guidance-for-an-empty-descriptor)).
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// A Helm chart archive (`.tgz`), the layer `helm push` writes
/// ([Helm, registries](https://helm.sh/docs/topics/registries/)).
pub const HELM_CHART_CONTENT: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
/// A Helm chart's config: the chart's `Chart.yaml` as JSON, with `name` and `version`.
pub const HELM_CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";
/// An uncompressed tar layer; also what `oras push` writes for a file given without a media
/// type, whatever the file holds.
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
/// A gzip-compressed tar layer.
pub const OCI_LAYER_TAR_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// A zstd-compressed tar layer.
pub const OCI_LAYER_TAR_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
/// The artifact type `oras push` writes when none is given and the config is empty.
pub const UNKNOWN_ARTIFACT: &str = "application/vnd.unknown.artifact.v1";
/// Docker image manifest, schema 2 (read like an OCI manifest).
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list (read like an OCI index).
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker image config (same platform fields as the OCI one).
pub const DOCKER_IMAGE_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// Docker schema 1 (unsigned): not supported.
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
/// Docker schema 1 (signed): not supported.
pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";
/// Bytes of no declared type.
pub const OCTET_STREAM: &str = "application/octet-stream";
/// A zstd file ([RFC 8878 §7](https://www.rfc-editor.org/rfc/rfc8878#section-7)); podman's
/// zstd disk images use it.
pub const ZSTD: &str = "application/zstd";
/// A gzip file ([RFC 6713](https://www.rfc-editor.org/rfc/rfc6713)).
pub const GZIP: &str = "application/gzip";

/// The media types of documents that list manifests: the OCI index and the Docker list.
pub const INDEX_TYPES: [&str; 2] = [OCI_INDEX, DOCKER_MANIFEST_LIST];
/// The media types of single image manifests: OCI and Docker schema 2.
pub const MANIFEST_TYPES: [&str; 2] = [OCI_MANIFEST, DOCKER_MANIFEST];

/// The layer media types that say nothing about the content: none at all, bytes
/// ([`OCTET_STREAM`]), and an uncompressed tar ([`OCI_LAYER_TAR`]), which `oras push` writes for
/// any file given without a type. For these, the content's magic bytes tell its compression.
pub const GENERIC_LAYER_TYPES: [&str; 3] = ["", OCTET_STREAM, OCI_LAYER_TAR];

/// Whether `media_type` is one of the [`GENERIC_LAYER_TYPES`] (compared by [`essence`]).
pub fn is_generic(media_type: &str) -> bool {
    GENERIC_LAYER_TYPES.contains(&essence(media_type).as_str())
}

/// A media type's essence: parameters (`; charset=…`) and surrounding white space removed,
/// lower-cased.
pub fn essence(media_type: &str) -> String {
    media_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// zstd frame magic number (RFC 8878 §3.1.1), little-endian `0xFD2FB528`.
pub const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// gzip member header ID1, ID2 (RFC 1952 §2.3.1).
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// How a blob is compressed: the one compression vocabulary of the workspace.
///
/// Three ways to tell, each its own constructor: the media type
/// ([`Compression::from_media_type`]), the first bytes ([`Compression::from_magic`]), a file
/// name ([`Compression::from_file_name`]). [`Compression::detect`] combines the first two the
/// way downloads decide (and `resolve` reports).
///
/// ```
/// use oci_ref::media_type::{Compression, ZSTD_MAGIC};
/// assert_eq!(Compression::from_media_type("application/zstd"), Some(Compression::Zstd));
/// assert_eq!(Compression::from_media_type("application/vnd.oci.image.layer.v1.tar+gzip"), Some(Compression::Gzip));
/// // An edge case: a generic layer type says nothing; the bytes decide.
/// assert_eq!(Compression::from_media_type("application/vnd.oci.image.layer.v1.tar"), None);
/// assert_eq!(Compression::detect("application/octet-stream", &ZSTD_MAGIC), Some(Compression::Zstd));
/// assert_eq!(Compression::strip_suffix("disk.img.zst"), Some("disk.img"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Compression {
    /// Zstandard (RFC 8878), including concatenated frames.
    Zstd,
    /// gzip (RFC 1952), including concatenated members.
    Gzip,
}

impl Compression {
    /// Every compression, in the order magic bytes are tried.
    pub const ALL: [Compression; 2] = [Compression::Zstd, Compression::Gzip];

    /// The compression a media type declares.
    ///
    /// Ironic's rule is "ends with `zstd`" / "ends with `gzip`", which covers `…tar+zstd`,
    /// `…tar+gzip`, `application/zstd` and `application/gzip`. This also accepts the file-name
    /// forms `+zst`, `.zst`, `.zstd`, `+gz`, `.gz`, `.gzip` (some tools label files that way).
    /// The comparison is on the [`essence`].
    pub fn from_media_type(media_type: &str) -> Option<Compression> {
        let e = essence(media_type);
        if e.ends_with("zstd") || e.ends_with("+zst") || e.ends_with(".zst") {
            Some(Compression::Zstd)
        } else if e.ends_with("gzip") || e.ends_with("+gz") || e.ends_with(".gz") {
            Some(Compression::Gzip)
        } else {
            None
        }
    }

    /// The compression whose magic bytes `head` (the first bytes of the content) starts with.
    pub fn from_magic(head: &[u8]) -> Option<Compression> {
        Compression::ALL
            .into_iter()
            .find(|c| head.starts_with(c.magic()))
    }

    /// The compression a file name's suffix names (`.zst`, `.zstd`, `.gz`, `.gzip`;
    /// ASCII case-insensitive).
    pub fn from_file_name(name: &str) -> Option<Compression> {
        Compression::ALL
            .into_iter()
            .find(|c| c.suffix_of(name).is_some())
    }

    /// `name` without its compression suffix (`disk.img.zst` → `disk.img`); `None` when the
    /// name has no such suffix or would be empty without it.
    pub fn strip_suffix(name: &str) -> Option<&str> {
        Compression::ALL
            .into_iter()
            .find_map(|c| c.suffix_of(name))
            .map(|len| &name[..name.len() - len])
            .filter(|stem| !stem.is_empty())
    }

    /// What a download with decompression on undoes, and what `resolve` reports: the
    /// compression the media type declares, else, for a [generic](is_generic) media type, the
    /// one the content's first bytes show. So a zstd file pushed with a generic layer type
    /// (`oras push disk.img.zst`) is still decompressed, as Ironic's conductor does.
    ///
    /// # Deviation
    ///
    /// Ironic decides by the zstd magic alone, whatever the media type. Here a specific media
    /// type that declares no compression (`application/vnd.example.disk.qcow2`) is taken at its
    /// word: `resolve` then needs no extra request to agree with `pull`.
    pub fn detect(media_type: &str, head: &[u8]) -> Option<Compression> {
        Compression::from_media_type(media_type).or_else(|| {
            if Compression::needs_head(media_type) {
                Compression::from_magic(head)
            } else {
                None
            }
        })
    }

    /// Whether [`Compression::detect`] looks at the content's first bytes for `media_type`:
    /// a [generic](is_generic) type that declares no compression.
    pub fn needs_head(media_type: &str) -> bool {
        Compression::from_media_type(media_type).is_none() && is_generic(media_type)
    }

    /// The magic bytes the content starts with.
    pub fn magic(self) -> &'static [u8] {
        match self {
            Compression::Zstd => &ZSTD_MAGIC,
            Compression::Gzip => &GZIP_MAGIC,
        }
    }

    /// The file-name suffixes, longest first.
    pub fn suffixes(self) -> &'static [&'static str] {
        match self {
            Compression::Zstd => &[".zstd", ".zst"],
            Compression::Gzip => &[".gzip", ".gz"],
        }
    }

    /// The lower-case name: `zstd`, `gzip`.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::Zstd => "zstd",
            Compression::Gzip => "gzip",
        }
    }

    /// The length of the suffix of `name` that names this compression.
    fn suffix_of(self, name: &str) -> Option<usize> {
        let lower = name.to_ascii_lowercase();
        self.suffixes()
            .iter()
            .find(|s| lower.ends_with(*s))
            .map(|s| s.len())
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `s` is shaped like a media type: `type/subtype[+suffix][;params]`, both names made
/// of [RFC 6838 § 4.2](https://www.rfc-editor.org/rfc/rfc6838#section-4.2) restricted-name
/// characters, at most 127 each. Parameters are not checked.
pub fn is_well_formed(s: &str) -> bool {
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
