//! The object model of the workspace: [`Descriptor`], [`ImageManifest`], [`ImageIndex`] and
//! [`Platform`], used for reading (resolve, download, pull, layout, copy, selection) and for
//! writing (push, attach, index create) alike.
//!
//! Shapes follow [image-spec v1.1](https://github.com/opencontainers/image-spec/blob/v1.1.0/):
//! [descriptor](https://github.com/opencontainers/image-spec/blob/v1.1.0/descriptor.md),
//! [manifest](https://github.com/opencontainers/image-spec/blob/v1.1.0/manifest.md),
//! [index](https://github.com/opencontainers/image-spec/blob/v1.1.0/image-index.md).
//! Docker schema 2 manifests and manifest lists read as the same types (the shapes agree; media
//! types are kept as sent).
//!
//! Reading is tolerant: unknown fields are ignored, optional fields may be absent, an empty
//! platform string counts as absent. It is strict where a wrong value would be used: every
//! digest is a valid [`Digest`], so a descriptor that parses has one. Writing emits fields in
//! the spec's order and leaves absent ones out, so the bytes are stable.
//!
//! These types never stand in for a manifest's bytes: a manifest is addressed by the digest of
//! the bytes received, which re-serialising need not reproduce. Keep the bytes (as
//! `oci_client::Manifest` does) and parse them into these types to look inside.
//!
//! # Examples
//!
//! ```
//! use oci_ref::model::{Descriptor, ImageManifest, Platform};
//!
//! let json = br#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.empty.v1+json",
//!   "digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},
//!   "layers":[],"futureField":true}"#;
//! let manifest: ImageManifest = serde_json::from_slice(json)?;
//! assert_eq!(manifest.config.digest, Descriptor::empty().digest);
//!
//! let platform: Platform = "linux/arm64/v8".parse()?;
//! assert_eq!(platform.to_string(), "linux/arm64/v8");
//! // An edge case: a platform needs both an OS and an architecture.
//! assert!("linux".parse::<Platform>().is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::media_type::{OCI_EMPTY, OCI_INDEX, OCI_MANIFEST};
use crate::{Algorithm, Digest, Error, Part, digest_of};

/// The annotation naming a layer's file (`org.opencontainers.image.title`,
/// [pre-defined annotation keys](https://github.com/opencontainers/image-spec/blob/v1.1.0/annotations.md#pre-defined-annotation-keys)).
pub const ANNOTATION_TITLE: &str = "org.opencontainers.image.title";
/// The creation time annotation (RFC 3339), `org.opencontainers.image.created`.
pub const ANNOTATION_CREATED: &str = "org.opencontainers.image.created";
/// The annotation naming an entry of a layout's `index.json`, `org.opencontainers.image.ref.name`.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";

/// The empty descriptor's content, `{}`
/// ([guidance for an empty descriptor](https://github.com/opencontainers/image-spec/blob/v1.1.0/manifest.md#guidance-for-an-empty-descriptor)).
pub const EMPTY_JSON: &[u8] = b"{}";
/// [`EMPTY_JSON`] in base64, the empty descriptor's `data`.
pub const EMPTY_JSON_BASE64: &str = "e30=";

/// A content descriptor: what a manifest, an index or a referrers list says about a blob or
/// another manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// The media type of the referenced content.
    pub media_type: String,
    /// The digest of the referenced content.
    pub digest: Digest,
    /// The size in bytes of the referenced content.
    pub size: u64,
    /// The artifact type, when the descriptor points to an artifact manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// Embedded content, base64 (as written: it is not decoded or checked here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// The platform of the manifest pointed to (index entries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Descriptor {
    /// A descriptor with only media type, digest and size.
    pub fn new(media_type: impl Into<String>, digest: Digest, size: u64) -> Descriptor {
        Descriptor {
            media_type: media_type.into(),
            digest,
            size,
            artifact_type: None,
            data: None,
            platform: None,
            annotations: BTreeMap::new(),
        }
    }

    /// The empty descriptor (`application/vnd.oci.empty.v1+json`, content `{}`) with its
    /// `data`, as artifacts use for their config.
    pub fn empty() -> Descriptor {
        Descriptor {
            data: Some(EMPTY_JSON_BASE64.to_owned()),
            ..Descriptor::new(
                OCI_EMPTY,
                digest_of(Algorithm::Sha256, EMPTY_JSON),
                EMPTY_JSON.len() as u64,
            )
        }
    }

    /// Adds an annotation (builder style).
    pub fn with_annotation(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.annotations.insert(key.into(), value.into());
        self
    }

    /// The `org.opencontainers.image.title` annotation, if any.
    pub fn title(&self) -> Option<&str> {
        self.annotations.get(ANNOTATION_TITLE).map(String::as_str)
    }
}

/// An image manifest (OCI, or Docker schema 2 read as one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    /// Always 2 (read as 2 when absent).
    #[serde(default = "schema_version_2")]
    pub schema_version: u32,
    /// [`OCI_MANIFEST`] when written here; as sent when read (may be absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The artifact type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The config descriptor.
    pub config: Descriptor,
    /// The layers, in order (read as none when absent).
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    /// The manifest this one refers to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl ImageManifest {
    /// An OCI image manifest with a config and layers and nothing else.
    pub fn new(config: Descriptor, layers: Vec<Descriptor>) -> ImageManifest {
        ImageManifest {
            schema_version: 2,
            media_type: Some(OCI_MANIFEST.to_owned()),
            artifact_type: None,
            config,
            layers,
            subject: None,
            annotations: BTreeMap::new(),
        }
    }
}

/// An image index (OCI), or a Docker manifest list read as one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    /// Always 2 (read as 2 when absent).
    #[serde(default = "schema_version_2")]
    pub schema_version: u32,
    /// [`OCI_INDEX`] when written here; as sent when read (may be absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The artifact type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The entries (read as none when absent).
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    /// The manifest this index refers to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl ImageIndex {
    /// An OCI image index listing `manifests` and nothing else.
    pub fn new(manifests: Vec<Descriptor>) -> ImageIndex {
        ImageIndex {
            schema_version: 2,
            media_type: Some(OCI_INDEX.to_owned()),
            artifact_type: None,
            manifests,
            subject: None,
            annotations: BTreeMap::new(),
        }
    }
}

fn schema_version_2() -> u32 {
    2
}

/// The platform an index entry or an image config declares
/// ([image index `platform`](https://github.com/opencontainers/image-spec/blob/v1.1.0/image-index.md#image-index-property-descriptions)).
///
/// Every field is optional when read (an empty string reads as absent): selection says what it
/// does when one is missing. [`Platform::from_str`] (`OS/ARCH[/VARIANT]`) always sets `os` and
/// `architecture`. Architectures are kept as written (`x86_64` stays `x86_64`): aliases are a
/// selection rule, not a parsing one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    /// `architecture`, e.g. `amd64` (or a non-Go name such as `x86_64`, as podman writes).
    #[serde(default, deserialize_with = "de_non_empty")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    /// `os`, e.g. `linux`.
    #[serde(default, deserialize_with = "de_non_empty")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// `os.version`.
    #[serde(rename = "os.version", default, deserialize_with = "de_non_empty")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    /// `os.features`.
    #[serde(rename = "os.features", default, deserialize_with = "de_list")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub os_features: Vec<String>,
    /// `variant`, e.g. `v8`.
    #[serde(default, deserialize_with = "de_non_empty")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// `features` (reserved by the spec, kept for completeness).
    #[serde(default, deserialize_with = "de_list")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
}

impl Platform {
    /// A platform with just an OS and an architecture.
    pub fn new(os: impl Into<String>, architecture: impl Into<String>) -> Platform {
        Platform {
            os: Some(os.into()),
            architecture: Some(architecture.into()),
            ..Platform::default()
        }
    }

    /// Sets the variant.
    pub fn with_variant(mut self, variant: impl Into<String>) -> Platform {
        self.variant = Some(variant.into());
        self
    }

    /// `os/architecture[/variant]`, with `?` for a missing part; `-` if all three are missing.
    /// The same text as `Display`.
    pub fn summary(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.os.is_none() && self.architecture.is_none() && self.variant.is_none() {
            return f.write_str("-");
        }
        write!(
            f,
            "{}/{}",
            self.os.as_deref().unwrap_or("?"),
            self.architecture.as_deref().unwrap_or("?")
        )?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl FromStr for Platform {
    type Err = Error;

    /// Parses `OS/ARCH[/VARIANT]`: two or three non-empty parts of printable ASCII without `,`.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] with [`Part::Platform`] when the text has another shape.
    fn from_str(s: &str) -> Result<Platform, Error> {
        let parts: Vec<&str> = s.split('/').collect();
        let ok = |p: &&str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_graphic() && b != b',');
        if !(2..=3).contains(&parts.len()) || !parts.iter().all(ok) {
            return Err(Error::Invalid {
                part: Part::Platform,
                value: s.to_owned(),
                reason: "expected OS/ARCH[/VARIANT]",
            });
        }
        let platform = Platform::new(parts[0], parts[1]);
        Ok(match parts.get(2) {
            Some(v) => platform.with_variant(*v),
            None => platform,
        })
    }
}

/// A digest is written as its `algorithm:hex` string.
impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A digest reads from its `algorithm:hex` string, validated ([`Digest::parse`]).
impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Digest, D::Error> {
        let s = String::deserialize(d)?;
        Digest::parse(&s).map_err(serde::de::Error::custom)
    }
}

fn de_non_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.is_empty()))
}

fn de_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}
