//! `registries.conf` version 2, with the semantics of containers/image (podman, skopeo,
//! buildah, CRI-O): mirrors, prefix-to-location rewriting, blocked registries, short-name
//! aliases and search registries.
//!
//! # What it does
//!
//! - [`RegistriesConf::load`] finds the files like containers/image does
//!   ([`LoadOptions`]: explicit file, else `~/.config/containers/registries.conf`, else
//!   `/etc/containers/registries.conf`, plus `registries.conf.d/*.conf` drop-ins) and merges
//!   them. [`RegistriesConf::parse_str`] parses one file's text without IO.
//! - [`RegistriesConf::pull_sources`] turns a reference into the ordered list of places to pull
//!   it from: matching mirrors first, then the primary location, each with the reference
//!   rewritten (host **and** namespace) for it.
//! - [`RegistriesConf::push_target`] checks a push against `blocked`; pushes are never
//!   redirected.
//! - [`RegistriesConf::resolve_short_name`] resolves `fedora` through `[aliases]` or a single
//!   search registry, and refuses to guess between several.
//! - [`falls_through`] says whether a failure at one source moves on to the next.
//!
//! Everything except [`RegistriesConf::load`] and [`LoadOptions::paths`] is pure: no network,
//! no file system. Nothing here ever touches the network.
//!
//! # Example
//!
//! ```
//! use oci_client::registries::{Error, RegistriesConf};
//! use oci_ref::Reference;
//!
//! let conf = RegistriesConf::parse_str(r#"
//! [[registry]]
//! prefix = "quay.io/podman"
//! location = "quay.io/podman"
//! [[registry.mirror]]
//! location = "internal.example.io/abcd/podman"
//!
//! [[registry]]
//! location = "bad.example.com"
//! blocked = true
//! "#, "/etc/containers/registries.conf").expect("valid");
//!
//! let r = Reference::parse("quay.io/podman/machine-os:5.3")?;
//! let sources = conf.pull_sources(&r).expect("sources");
//! assert_eq!(sources[0].reference.to_string(), "internal.example.io/abcd/podman/machine-os:5.3");
//! assert_eq!(sources[1].reference.to_string(), "quay.io/podman/machine-os:5.3");
//!
//! // Edge case: a blocked registry is an error naming the file and line.
//! let err = conf.pull_sources(&Reference::parse("bad.example.com/x:1")?).unwrap_err();
//! assert!(matches!(err, Error::Blocked { .. }));
//! assert!(err.to_string().contains("/etc/containers/registries.conf:8"));
//! # Ok::<(), oci_ref::Error>(())
//! ```
//!
//! # Deviations from containers/image
//!
//! - Version 1 files (`[registries.search]`, ...) are rejected ([`Error::Version1`]) rather
//!   than converted.
//! - Short names never resolve to more than one candidate and never prompt
//!   ([`RegistriesConf::resolve_short_name`]); `short-name-aliases.conf` is not read.
//! - Any `scheme://` in a location is rejected at load time, not only `http(s)://`.
//! - [`falls_through`] stops on failures other than not-found, connection and integrity.
//! - Files are capped at [`MAX_CONFIG_FILE_BYTES`] and drop-in directories at
//!   [`MAX_DROP_IN_FILES`].
//! - There is no process-wide cache: load once and keep the value.
//!
//! As in containers/image (and its man page: "Redirection and mirrors are currently processed
//! only when reading images"), pushes are neither mirrored nor redirected to `location`;
//! [`RegistriesConf::push_target`] only checks `blocked` and reports `insecure`.
//!
//! Specification: `containers-registries.conf(5)` and `containers-registries.conf.d(5)`
//! (<https://github.com/containers/image/blob/main/docs/containers-registries.conf.5.md>).

mod error;
mod file;
mod load;
mod matching;
mod pull;
mod shortnames;
mod write;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub use error::{
    AliasProblem, AliasReason, Error, Field, Origin, RewriteError, SearchRegistryProblem, Setting,
};
pub use file::text_position;
pub use load::{
    ConfigPaths, DropIns, ENV_REGISTRIES_CONF, LoadOptions, SYSTEM_REGISTRIES_CONF,
    SYSTEM_REGISTRIES_CONF_DIR, USER_REGISTRIES_CONF, USER_REGISTRIES_CONF_DIR,
};
pub use matching::{match_prefix, rewrite_reference};
pub use pull::{BlockedSource, PullPlan, PullSource, PushTarget, SourceFailure, falls_through};
pub use shortnames::ShortNameResolution;
pub use write::{Redirect, redirects_toml};

/// Largest configuration file read, in bytes (4 MiB).
///
/// containers/image has no limit. Real files are a few KiB; even large OpenShift clusters
/// with thousands of mirror rules stay well below 1 MiB. The cap keeps a hostile or runaway
/// file (or a path pointing at a device) from exhausting memory.
pub const MAX_CONFIG_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Most `*.conf` files read from one drop-in directory (1024).
///
/// containers/image has no limit; this bounds the work a hostile directory can cause.
pub const MAX_DROP_IN_FILES: usize = 1024;

/// The reserved credential-helper name meaning "use the auth files" (`containers-auth.json(5)`),
/// and the default when no helpers are configured.
pub const AUTH_FILE_HELPER: &str = "containers-auth.json";

/// A merged `registries.conf` configuration.
///
/// Build it with [`load`](Self::load) (files), or [`parse_str`](Self::parse_str) and
/// [`merge_drop_in`](Self::merge_drop_in) (text). [`Default`] is the empty configuration:
/// every reference is pulled from where it says, no short name resolves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistriesConf {
    registries: Vec<Registry>,
    search: Option<Vec<String>>,
    search_origin: Option<PathBuf>,
    credential_helpers: Option<Vec<String>>,
    short_name_mode: Option<(ShortNameMode, PathBuf)>,
    layer_store_auth_helper: Option<String>,
    aliases: BTreeMap<String, Alias>,
    files: Vec<PathBuf>,
}

/// One `[[registry]]` table, validated and normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Registry {
    /// The namespace this table applies to (defaults to `location`); `*.example.com` for a
    /// wildcard. Trailing slashes are trimmed.
    pub prefix: String,
    /// The primary location that replaces the matched prefix; empty only for wildcard
    /// prefixes (no rewrite).
    pub location: String,
    /// Allow plain HTTP and unverified TLS for the primary location.
    pub insecure: bool,
    /// Pulls whose (rewritten) name matches this table are refused.
    pub blocked: bool,
    /// Use the mirrors only for references with a digest.
    pub mirror_by_digest_only: bool,
    /// The mirrors, in file order.
    pub mirrors: Vec<Mirror>,
    /// Where the table is written.
    pub origin: Origin,
}

/// One `[[registry.mirror]]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Mirror {
    /// The mirror's location, replacing the registry's matched prefix.
    pub location: String,
    /// Allow plain HTTP and unverified TLS for this mirror.
    pub insecure: bool,
    /// Which references this mirror is used for.
    pub pull_from_mirror: PullFromMirror,
    /// Where the mirror table is written.
    pub origin: Origin,
}

/// The `pull-from-mirror` setting of a mirror.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum PullFromMirror {
    /// `all` or unset: tag and digest references.
    #[default]
    All,
    /// `digest-only`: references with a digest.
    DigestOnly,
    /// `tag-only`: references without a digest.
    TagOnly,
}

impl PullFromMirror {
    fn parse(s: &str) -> Option<PullFromMirror> {
        match s {
            "all" => Some(PullFromMirror::All),
            "digest-only" => Some(PullFromMirror::DigestOnly),
            "tag-only" => Some(PullFromMirror::TagOnly),
            _ => None,
        }
    }
}

impl fmt::Display for PullFromMirror {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PullFromMirror::All => "all",
            PullFromMirror::DigestOnly => "digest-only",
            PullFromMirror::TagOnly => "tag-only",
        })
    }
}

/// The `short-name-mode` setting. Parsed and merged for reporting;
/// [`RegistriesConf::resolve_short_name`] behaves the same in every mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShortNameMode {
    /// `enforcing`.
    Enforcing,
    /// `permissive`, the default.
    #[default]
    Permissive,
    /// `disabled`.
    Disabled,
}

impl ShortNameMode {
    fn parse(s: &str) -> Option<ShortNameMode> {
        match s {
            "enforcing" => Some(ShortNameMode::Enforcing),
            "permissive" => Some(ShortNameMode::Permissive),
            "disabled" => Some(ShortNameMode::Disabled),
            _ => None,
        }
    }
}

impl fmt::Display for ShortNameMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ShortNameMode::Enforcing => "enforcing",
            ShortNameMode::Permissive => "permissive",
            ShortNameMode::Disabled => "disabled",
        })
    }
}

/// One `[aliases]` entry after merging.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Alias {
    /// The fully qualified name, or `None` when a later file erased the alias with `""`.
    pub target: Option<AliasTarget>,
    /// Where the (last) definition is written.
    pub origin: Origin,
}

/// The value of an alias: a docker.io-normalised name without tag or digest.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AliasTarget {
    /// `host[:port]`.
    pub registry: String,
    /// The repository path.
    pub repository: String,
}

impl fmt::Display for AliasTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)
    }
}

impl RegistriesConf {
    /// Parses and validates the text of one version 2 file; `origin` names it in errors and
    /// in [`Origin`]s. No IO: this is also the fuzzing entry point.
    ///
    /// # Errors
    ///
    /// An [`Error`] naming `origin` and the line: TOML syntax ([`Error::Toml`]), mixed versions,
    /// and every validation rule of the file format (prefixes, locations, mirrors,
    /// `pull-from-mirror`, short-name mode and aliases).
    pub fn parse_str(text: &str, origin: impl AsRef<Path>) -> Result<RegistriesConf, Error> {
        file::parse(text, origin.as_ref())
    }

    /// Merges a later drop-in file into this configuration, as containers/image does:
    ///
    /// - `[[registry]]` tables are merged by exact prefix: a table with the same prefix
    ///   **replaces** the earlier one whole (mirrors, `insecure`, `blocked` included); the
    ///   result is sorted by prefix. No `insecure`/`blocked` conflict check runs across files.
    /// - `unqualified-search-registries` and `credential-helpers` are replaced when the key is
    ///   present, even as `[]`.
    /// - `short-name-mode` and `additional-layer-store-auth-helper` are replaced when set.
    /// - `[aliases]` merge per name, later files winning; `""` erases an alias.
    pub fn merge_drop_in(&mut self, drop_in: RegistriesConf) {
        let mut by_prefix: BTreeMap<String, Registry> = std::mem::take(&mut self.registries)
            .into_iter()
            .map(|r| (r.prefix.clone(), r))
            .collect();
        for table in drop_in.registries {
            by_prefix.insert(table.prefix.clone(), table);
        }
        self.registries = by_prefix.into_values().collect();
        if drop_in.search.is_some() {
            self.search = drop_in.search;
            self.search_origin = drop_in.search_origin;
        }
        if drop_in.credential_helpers.is_some() {
            self.credential_helpers = drop_in.credential_helpers;
        }
        if drop_in.short_name_mode.is_some() {
            self.short_name_mode = drop_in.short_name_mode;
        }
        if drop_in.layer_store_auth_helper.is_some() {
            self.layer_store_auth_helper = drop_in.layer_store_auth_helper;
        }
        self.aliases.extend(drop_in.aliases);
        self.files.extend(drop_in.files);
    }

    /// The `[[registry]]` tables, sorted by prefix (byte order).
    pub fn registries(&self) -> &[Registry] {
        &self.registries
    }

    /// The `unqualified-search-registries`, in order (`host[:port]`, trailing `/` removed).
    pub fn unqualified_search_registries(&self) -> &[String] {
        self.search.as_deref().unwrap_or_default()
    }

    /// The file that last set `unqualified-search-registries` (the main file when none did).
    pub fn unqualified_search_registries_origin(&self) -> Option<&Path> {
        self.search_origin.as_deref()
    }

    /// The global credential helpers, in order; `["containers-auth.json"]`
    /// ([`AUTH_FILE_HELPER`]) when none are configured or the list is empty.
    pub fn credential_helpers(&self) -> Vec<&str> {
        match self.credential_helpers.as_deref() {
            Some(list) if !list.is_empty() => list.iter().map(String::as_str).collect(),
            _ => vec![AUTH_FILE_HELPER],
        }
    }

    /// The `short-name-mode` (default `permissive`).
    pub fn short_name_mode(&self) -> ShortNameMode {
        self.short_name_mode
            .as_ref()
            .map(|(m, _)| *m)
            .unwrap_or_default()
    }

    /// `additional-layer-store-auth-helper`, when set.
    pub fn additional_layer_store_auth_helper(&self) -> Option<&str> {
        self.layer_store_auth_helper.as_deref()
    }

    /// The merged `[aliases]`, by name (erased ones included, with no target).
    pub fn aliases(&self) -> &BTreeMap<String, Alias> {
        &self.aliases
    }

    /// The files that were read, in order (main file first, then drop-ins).
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }
}
