//! The mirror set file: which repositories, which of their tags, and where they go.
//!
//! TOML (the workspace already reads `registries.conf` with the same parser):
//!
//! ```toml
//! # Where the copies go: a registry prefix or an OCI layout directory (one of the two; the
//! # command line may override it).
//! [destination]
//! registry = "mirror.example:5000/mirrored"   # quay.io/org/app → mirror.example:5000/mirrored/org/app
//! # layout = "/media/usb/mirror"              # quay.io/org/app → /media/usb/mirror/quay.io/org/app
//!
//! [[source]]
//! repository = "quay.io/org/app"
//! tags = ["v1", "v2"]          # these tags; or
//! # all-tags = true            # every tag; or
//! # tag-pattern = "v1.*"       # tags matching a glob (`*` any run, `?` one character); or
//! # digests = ["sha256:…"]     # by digest only (consumers get mirror-by-digest-only)
//! platform = "linux/amd64"     # optional: only this entry of an index (it becomes the root)
//! referrers = true             # signatures, SBOMs and their referrers (default: true)
//! ```
//!
//! Unknown keys are refused, so a typo never silently mirrors the wrong thing.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use oci_client::registries::text_position;
use oci_ref::{Digest, Reference, Tag};
use serde::Deserialize;

use crate::descriptor::Platform;

/// Largest set file read, in bytes (a set lists repositories, not content).
pub const MAX_SET_FILE_BYTES: u64 = 1024 * 1024;

/// Which tags of a source repository are mirrored.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TagSelection {
    /// These tags.
    Tags(Vec<Tag>),
    /// Every tag.
    All,
    /// Tags matching a glob (`*` any run of characters, `?` one).
    Pattern(String),
    /// These digests, untagged.
    Digests(Vec<Digest>),
}

impl TagSelection {
    /// Whether `tag` is selected by a pattern or all-tags selection.
    pub fn matches(&self, tag: &Tag) -> bool {
        match self {
            TagSelection::All => true,
            TagSelection::Pattern(p) => glob(p.as_bytes(), tag.as_str().as_bytes()),
            TagSelection::Tags(tags) => tags.contains(tag),
            TagSelection::Digests(_) => false,
        }
    }
}

/// `*` and `?` glob over bytes.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// One source repository of a set.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MirrorSource {
    /// The repository (`registry()` and `repository()`; its tag is not used).
    pub repository: Reference,
    /// Which tags or digests.
    pub selection: TagSelection,
    /// Only this platform's entry of an index.
    pub platform: Option<Platform>,
    /// Copy referrers too.
    pub referrers: bool,
}

/// Where a set is mirrored to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MirrorDestination {
    /// A registry and a repository prefix (may be empty): `quay.io/org/app` goes to
    /// `<registry>/<prefix>/org/app`.
    Registry {
        /// `host[:port]`.
        registry: String,
        /// Repository prefix, without leading or trailing `/`.
        prefix: String,
    },
    /// A directory holding one OCI layout per repository, at `<dir>/<host>/<repository>`.
    Layout(PathBuf),
}

impl MirrorDestination {
    /// Parses `host[:port][/prefix]` as a registry destination.
    ///
    /// # Errors
    ///
    /// [`SetError::Invalid`] when it is not a registry name with an optional repository prefix.
    pub fn registry(text: &str) -> Result<MirrorDestination, SetError> {
        let invalid = |reason: String| SetError::Invalid {
            what: "destination registry",
            value: text.to_owned(),
            reason,
        };
        let trimmed = text.trim_end_matches('/');
        let (registry, prefix) = trimmed.split_once('/').unwrap_or((trimmed, ""));
        // Validate both parts with the reference grammar: `registry/prefix/x:t` must parse.
        let probe = if prefix.is_empty() {
            format!("{registry}/x:t")
        } else {
            format!("{registry}/{prefix}/x:t")
        };
        let parsed = Reference::parse_docker(&probe).map_err(|e| invalid(e.to_string()))?;
        if parsed.registry() != registry.to_ascii_lowercase() {
            return Err(invalid("expected HOST[:PORT][/PREFIX]".to_owned()));
        }
        Ok(MirrorDestination::Registry {
            registry: parsed.registry().to_owned(),
            prefix: prefix.to_owned(),
        })
    }

    /// Where `source` goes: a registry reference (tag `latest` as a placeholder), or a
    /// layout directory.
    ///
    /// # Errors
    ///
    /// [`SetError::Invalid`] when the destination name is not a valid reference.
    pub fn place(&self, source: &Reference) -> Result<Placed, SetError> {
        match self {
            MirrorDestination::Registry { registry, prefix } => {
                let repository = if prefix.is_empty() {
                    source.repository().to_owned()
                } else {
                    format!("{prefix}/{}", source.repository())
                };
                Reference::new(registry, &repository, Some("latest"), None)
                    .map(Placed::Registry)
                    .map_err(|e| SetError::Invalid {
                        what: "destination repository",
                        value: format!("{registry}/{repository}"),
                        reason: e.to_string(),
                    })
            }
            MirrorDestination::Layout(dir) => Ok(Placed::Layout(
                dir.join(source.registry()).join(source.repository()),
            )),
        }
    }
}

/// Where one repository is mirrored.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Placed {
    /// A registry repository.
    Registry(Reference),
    /// An OCI layout directory.
    Layout(PathBuf),
}

/// A mirror set: sources and, optionally, a destination.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MirrorSet {
    /// The repositories, in file order.
    pub sources: Vec<MirrorSource>,
    /// The file's destination, if it names one.
    pub destination: Option<MirrorDestination>,
}

/// Why a set file was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_SET_FILE_BYTES`].
    #[error("{path}: larger than {limit} bytes")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit.
        limit: u64,
    },
    /// The TOML does not parse or has unknown keys.
    #[error("{path}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A value is wrong.
    #[error("invalid {what} {value:?}: {reason}")]
    Invalid {
        /// Which setting.
        what: &'static str,
        /// The value given.
        value: String,
        /// Why.
        reason: String,
    },
}

impl SetError {
    /// The file the error names in its message ([`SetError::Invalid`] quotes a value and names
    /// no file: a caller that knows where the value came from adds that).
    pub fn path(&self) -> Option<&Path> {
        match self {
            SetError::Io { path, .. }
            | SetError::TooLarge { path, .. }
            | SetError::Syntax { path, .. } => Some(path),
            SetError::Invalid { .. } => None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSet {
    destination: Option<FileDestination>,
    #[serde(default)]
    source: Vec<FileSource>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDestination {
    registry: Option<String>,
    layout: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileSource {
    repository: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    all_tags: bool,
    tag_pattern: Option<String>,
    #[serde(default)]
    digests: Vec<String>,
    platform: Option<String>,
    referrers: Option<bool>,
}

impl MirrorSet {
    /// Reads and checks a set file.
    ///
    /// # Errors
    ///
    /// See [`SetError`]: unreadable, too large, bad TOML or unknown keys, invalid values.
    pub fn load(path: &Path) -> Result<MirrorSet, SetError> {
        let io = |source| SetError::Io {
            path: path.to_path_buf(),
            source,
        };
        // Read at most one byte past the limit: a pipe, a device or a growing file has no
        // trustworthy length to check first.
        let mut text = String::new();
        std::fs::File::open(path)
            .map_err(io)?
            .take(MAX_SET_FILE_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(io)?;
        if text.len() as u64 > MAX_SET_FILE_BYTES {
            return Err(SetError::TooLarge {
                path: path.to_path_buf(),
                limit: MAX_SET_FILE_BYTES,
            });
        }
        MirrorSet::parse(&text, path)
    }

    /// Parses a set file's text (`path` names it in errors; a relative layout destination is
    /// taken relative to the file's directory).
    ///
    /// # Errors
    ///
    /// See [`SetError`].
    pub fn parse(text: &str, path: &Path) -> Result<MirrorSet, SetError> {
        let file: FileSet = toml::from_str(text).map_err(|e| {
            let message = e.message().trim_end();
            SetError::Syntax {
                path: path.to_path_buf(),
                message: match e.span() {
                    Some(span) => {
                        let (line, column) = text_position(text, span.start);
                        format!("line {line}, column {column}: {message}")
                    }
                    None => message.to_owned(),
                },
            }
        })?;
        let destination = match file.destination {
            None => None,
            Some(FileDestination {
                registry: Some(r),
                layout: None,
            }) => Some(MirrorDestination::registry(&r)?),
            Some(FileDestination {
                registry: None,
                layout: Some(dir),
            }) => {
                let base = path.parent().unwrap_or(Path::new("."));
                Some(MirrorDestination::Layout(base.join(dir)))
            }
            Some(_) => {
                return Err(SetError::Invalid {
                    what: "destination",
                    value: "[destination]".to_owned(),
                    reason: "name exactly one of registry and layout".to_owned(),
                });
            }
        };
        let sources = file
            .source
            .into_iter()
            .map(source)
            .collect::<Result<Vec<_>, _>>()?;
        if sources.is_empty() {
            return Err(SetError::Invalid {
                what: "set",
                value: path.display().to_string(),
                reason: "no [[source]] listed".to_owned(),
            });
        }
        Ok(MirrorSet {
            sources,
            destination,
        })
    }
}

fn source(s: FileSource) -> Result<MirrorSource, SetError> {
    let invalid = |what, value: &str, reason: String| SetError::Invalid {
        what,
        value: value.to_owned(),
        reason,
    };
    let repository = Reference::parse_docker(&s.repository)
        .map_err(|e| invalid("repository", &s.repository, e.to_string()))?;
    if repository.digest().is_some() || repository.tag() != Some(oci_ref::DEFAULT_TAG) {
        return Err(invalid(
            "repository",
            &s.repository,
            "name the repository without tag or digest (use tags = [...] or digests = [...])"
                .to_owned(),
        ));
    }
    let chosen = usize::from(!s.tags.is_empty())
        + usize::from(s.all_tags)
        + usize::from(s.tag_pattern.is_some())
        + usize::from(!s.digests.is_empty());
    if chosen != 1 {
        return Err(invalid(
            "source",
            &s.repository,
            "give exactly one of tags, all-tags, tag-pattern and digests".to_owned(),
        ));
    }
    let selection = if s.all_tags {
        TagSelection::All
    } else if let Some(p) = s.tag_pattern {
        TagSelection::Pattern(p)
    } else if !s.digests.is_empty() {
        let digests = s
            .digests
            .iter()
            .map(|d| Digest::parse(d).map_err(|e| invalid("digest", d, e.to_string())));
        TagSelection::Digests(digests.collect::<Result<_, _>>()?)
    } else {
        let tags = s
            .tags
            .iter()
            .map(|t| Tag::parse(t).map_err(|e| invalid("tag", t, e.to_string())));
        TagSelection::Tags(tags.collect::<Result<_, _>>()?)
    };
    let platform = match &s.platform {
        Some(p) => Some(
            p.parse::<Platform>()
                .map_err(|e| invalid("platform", p, e.to_string()))?,
        ),
        None => None,
    };
    Ok(MirrorSource {
        repository,
        selection,
        platform,
        referrers: s.referrers.unwrap_or(true),
    })
}
