//! Parsing and validating one `registries.conf` file (version 2), in the order
//! containers/image evaluates it: TOML, version check, `[[registry]]` tables, conflicts,
//! search registries, de-duplication, short-name mode, wildcard prefixes, aliases.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::error::{
    AliasProblem, AliasReason, Error, Field, Origin, SearchRegistryProblem, Setting,
};
use super::{Alias, AliasTarget, MAX_CONFIG_FILE_BYTES, Mirror, PullFromMirror, RegistriesConf};
use super::{Registry, ShortNameMode};

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct RawFile {
    registry: Option<Vec<Spanned<RawRegistry>>>,
    unqualified_search_registries: Option<Vec<Spanned<String>>>,
    credential_helpers: Option<Vec<String>>,
    short_name_mode: Option<Spanned<String>>,
    additional_layer_store_auth_helper: Option<String>,
    aliases: Option<BTreeMap<String, Spanned<String>>>,
    /// The version 1 tables `[registries.search]`, `[registries.insecure]`, `[registries.block]`.
    registries: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawRegistry {
    prefix: Option<Spanned<String>>,
    location: Option<Spanned<String>>,
    #[serde(default)]
    insecure: bool,
    #[serde(default)]
    blocked: bool,
    #[serde(default)]
    mirror_by_digest_only: bool,
    #[serde(default)]
    mirror: Vec<Spanned<RawMirror>>,
    pull_from_mirror: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawMirror {
    location: Option<Spanned<String>>,
    #[serde(default)]
    insecure: bool,
    pull_from_mirror: Option<Spanned<String>>,
}

/// Maps byte offsets of one file's text to 1-based lines and columns.
struct Lines<'a> {
    text: &'a str,
    file: &'a Path,
    /// Byte offsets of every `\n`, so a lookup is a binary search, not a scan: a hostile
    /// file with many tables must not make error positions quadratic.
    newlines: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str, file: &'a Path) -> Lines<'a> {
        let newlines = text
            .bytes()
            .enumerate()
            .filter(|(_, b)| *b == b'\n')
            .map(|(i, _)| i)
            .collect();
        Lines {
            text,
            file,
            newlines,
        }
    }

    fn line(&self, offset: usize) -> usize {
        self.newlines.partition_point(|&n| n < offset) + 1
    }

    fn column(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        let line_index = self.newlines.partition_point(|&n| n < end);
        let start = if line_index == 0 {
            0
        } else {
            self.newlines[line_index - 1] + 1
        };
        // Count characters, not bytes, so the column matches what an editor shows.
        String::from_utf8_lossy(&self.text.as_bytes()[start..end])
            .chars()
            .count()
            + 1
    }

    fn origin<T>(&self, spanned: &Spanned<T>) -> Origin {
        Origin::at(self.file, Some(self.line(spanned.span().start)))
    }
}

/// Line and column (both from 1; the column in characters, as an editor shows it) of byte
/// `offset` in `text`: how an error about a TOML file names the place (registries.conf here,
/// and other files read with `toml`, such as `oci-fetch mirror`'s set files).
pub fn text_position(text: &str, offset: usize) -> (usize, usize) {
    let lines = Lines::new(text, Path::new(""));
    (lines.line(offset), lines.column(offset))
}

/// Parses and validates one file. `text` is the whole file; `file` names it in errors.
pub(super) fn parse(text: &str, file: &Path) -> Result<RegistriesConf, Error> {
    if text.len() as u64 > MAX_CONFIG_FILE_BYTES {
        return Err(Error::TooLarge {
            path: file.to_owned(),
            max: MAX_CONFIG_FILE_BYTES,
        });
    }
    let lines = Lines::new(text, file);
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let span = e.span();
        Error::Toml {
            origin: Origin::at(file, span.as_ref().map(|s| lines.line(s.start))),
            column: span.as_ref().map(|s| lines.column(s.start)),
            message: e.message().trim_end().to_owned(),
        }
    })?;

    check_version(&raw, &lines)?;

    let registries = raw.registry.unwrap_or_default();
    let mut tables = Vec::with_capacity(registries.len());
    for table in &registries {
        tables.push(validate_registry(table, &lines)?);
    }
    check_conflicts(&tables)?;

    let search = match &raw.unqualified_search_registries {
        Some(entries) => Some(validate_search(entries, &lines)?),
        None => None,
    };

    // The first table with a given prefix wins; later ones are ignored (containers/image
    // keeps this for compatibility). Then sort by prefix, byte order.
    let mut unique: BTreeMap<String, Registry> = BTreeMap::new();
    for table in tables {
        unique.entry(table.prefix.clone()).or_insert(table);
    }
    let registries: Vec<Registry> = unique.into_values().collect();

    let short_name_mode = match &raw.short_name_mode {
        Some(mode) if !mode.get_ref().is_empty() => {
            let parsed = ShortNameMode::parse(mode.get_ref()).ok_or_else(|| {
                Error::InvalidShortNameMode {
                    origin: lines.origin(mode),
                    value: mode.get_ref().clone(),
                }
            })?;
            Some((parsed, file.to_owned()))
        }
        _ => None,
    };

    for table in &registries {
        if table.prefix.starts_with("*.") && table.prefix.contains(['/', '@', ':']) {
            return Err(Error::InvalidWildcardPrefix {
                origin: table.origin.clone(),
                prefix: table.prefix.clone(),
            });
        }
    }

    let aliases = match &raw.aliases {
        Some(map) => validate_aliases(map, &lines)?,
        None => BTreeMap::new(),
    };

    Ok(RegistriesConf {
        registries,
        search,
        search_origin: Some(file.to_owned()),
        credential_helpers: raw.credential_helpers,
        short_name_mode,
        layer_store_auth_helper: raw
            .additional_layer_store_auth_helper
            .filter(|h| !h.is_empty()),
        aliases,
        files: vec![file.to_owned()],
    })
}

/// Rejects version 1 files and files mixing both versions.
fn check_version(raw: &RawFile, lines: &Lines<'_>) -> Result<(), Error> {
    let Some(v1) = &raw.registries else {
        return Ok(());
    };
    let Some(table) = v1.get_ref().as_table() else {
        return Err(Error::Toml {
            origin: lines.origin(v1),
            column: Some(lines.column(v1.span().start)),
            message: "`registries` must be a table: version 2 tables are written [[registry]] \
                      (singular); [registries.search] and friends are version 1"
                .to_owned(),
        });
    };
    // As in containers/image, a version 1 table counts only when it has a `registries` key
    // (even an empty array).
    let v1_set = ["search", "insecure", "block"].iter().any(|k| {
        table
            .get(*k)
            .and_then(toml::Value::as_table)
            .is_some_and(|t| t.contains_key("registries"))
    });
    if !v1_set {
        return Ok(());
    }
    let v2_set = raw.registry.is_some()
        || raw.unqualified_search_registries.is_some()
        || raw.credential_helpers.is_some()
        || raw
            .short_name_mode
            .as_ref()
            .is_some_and(|m| !m.get_ref().is_empty())
        || raw
            .additional_layer_store_auth_helper
            .as_ref()
            .is_some_and(|h| !h.is_empty())
        || raw.aliases.is_some();
    let origin = lines.origin(v1);
    if v2_set {
        Err(Error::MixedVersions { origin })
    } else {
        Err(Error::Version1 { origin })
    }
}

/// The `parseLocation` step: trailing slashes are trimmed; a URI scheme is rejected.
///
/// # Deviation
///
/// containers/image rejects only `http://` and `https://`; any `scheme://` is rejected here
/// (such a location could never be rewritten into a valid reference anyway).
fn parse_location(value: &str, field: Field, origin: &Origin) -> Result<String, Error> {
    let trimmed = value.trim_end_matches('/');
    if trimmed.contains("://") {
        return Err(Error::UriScheme {
            origin: origin.clone(),
            field,
            value: value.to_owned(),
        });
    }
    Ok(trimmed.to_owned())
}

fn validate_registry(table: &Spanned<RawRegistry>, lines: &Lines<'_>) -> Result<Registry, Error> {
    let raw = table.get_ref();
    let table_origin = lines.origin(table);
    let field_origin = |f: &Option<Spanned<String>>| {
        f.as_ref()
            .map_or_else(|| table_origin.clone(), |s| lines.origin(s))
    };

    let location = match &raw.location {
        Some(l) => parse_location(l.get_ref(), Field::Location, &lines.origin(l))?,
        None => String::new(),
    };
    let raw_prefix = raw
        .prefix
        .as_ref()
        .map(|p| p.get_ref().as_str())
        .unwrap_or_default();
    let prefix = if raw_prefix.is_empty() {
        if location.is_empty() {
            return Err(Error::PrefixAndLocationUnset {
                origin: table_origin,
            });
        }
        location.clone()
    } else {
        let prefix = parse_location(raw_prefix, Field::Prefix, &field_origin(&raw.prefix))?;
        if !prefix.starts_with("*.") && location.is_empty() {
            return Err(Error::LocationUnset {
                origin: table_origin,
                prefix,
            });
        }
        prefix
    };
    if let Some(p) = &raw.pull_from_mirror
        && !p.get_ref().is_empty()
    {
        return Err(Error::PullFromMirrorOnRegistry {
            origin: lines.origin(p),
            prefix,
        });
    }

    let mut mirrors = Vec::with_capacity(raw.mirror.len());
    for m in &raw.mirror {
        let mirror_origin = lines.origin(m);
        let raw_m = m.get_ref();
        let location = match &raw_m.location {
            Some(l) => parse_location(l.get_ref(), Field::MirrorLocation, &lines.origin(l))?,
            None => String::new(),
        };
        if location.is_empty() {
            return Err(Error::MirrorLocationUnset {
                origin: mirror_origin,
                prefix,
            });
        }
        let pull_from_mirror = match &raw_m.pull_from_mirror {
            Some(p) if !p.get_ref().is_empty() => {
                if raw.mirror_by_digest_only {
                    return Err(Error::MirrorUsageConflict {
                        origin: lines.origin(p),
                        prefix,
                        mirror: location,
                    });
                }
                PullFromMirror::parse(p.get_ref()).ok_or_else(|| {
                    Error::UnsupportedPullFromMirror {
                        origin: lines.origin(p),
                        mirror: location.clone(),
                        value: p.get_ref().clone(),
                    }
                })?
            }
            _ => PullFromMirror::All,
        };
        mirrors.push(Mirror {
            location,
            insecure: raw_m.insecure,
            pull_from_mirror,
            origin: mirror_origin,
        });
    }

    Ok(Registry {
        prefix,
        location,
        insecure: raw.insecure,
        blocked: raw.blocked,
        mirror_by_digest_only: raw.mirror_by_digest_only,
        mirrors,
        origin: table_origin,
    })
}

/// Tables sharing a location (or a prefix, when the location is empty) must agree on
/// `insecure` and `blocked`. Reports the first disagreement in file order, as
/// containers/image does.
fn check_conflicts(tables: &[Registry]) -> Result<(), Error> {
    // For each key, the index of its first table. A conflict is a later table that differs
    // from that first one; containers/image reports the group whose first table comes first,
    // and within it the earliest differing table.
    let mut first_of: HashMap<&str, usize> = HashMap::new();
    let mut found: Option<(usize, usize, Setting)> = None;
    for (i, table) in tables.iter().enumerate() {
        let f = *first_of.entry(conflict_key(table)).or_insert(i);
        let first = &tables[f];
        let setting = if first.insecure != table.insecure {
            Setting::Insecure
        } else if first.blocked != table.blocked {
            Setting::Blocked
        } else {
            continue;
        };
        if found.is_none_or(|(best, _, _)| f < best) {
            found = Some((f, i, setting));
        }
    }
    match found {
        None => Ok(()),
        Some((f, i, setting)) => Err(Error::ConflictingSetting {
            origin: tables[i].origin.clone(),
            first: tables[f].origin.clone(),
            location: conflict_key(&tables[f]).to_owned(),
            setting,
        }),
    }
}

/// Tables are compared by location, or by prefix when the location is empty.
fn conflict_key(table: &Registry) -> &str {
    if table.location.is_empty() {
        &table.prefix
    } else {
        &table.location
    }
}

fn validate_search(entries: &[Spanned<String>], lines: &Lines<'_>) -> Result<Vec<String>, Error> {
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        let origin = lines.origin(entry);
        let value = parse_location(entry.get_ref(), Field::SearchRegistry, &origin)?;
        let problem = if value.contains('/') {
            Some(SearchRegistryProblem::HasPath)
        } else {
            // `Reference::new` validates `host[:port]` exactly as the reference grammar does.
            oci_ref::Reference::new(&value, "x", Some("latest"), None)
                .err()
                .map(SearchRegistryProblem::InvalidHost)
        };
        if let Some(problem) = problem {
            return Err(Error::InvalidSearchRegistry {
                origin,
                value: entry.get_ref().clone(),
                problem,
            });
        }
        out.push(value);
    }
    Ok(out)
}

fn validate_aliases(
    map: &BTreeMap<String, Spanned<String>>,
    lines: &Lines<'_>,
) -> Result<BTreeMap<String, Alias>, Error> {
    let mut aliases = BTreeMap::new();
    let mut problems = Vec::new();
    for (name, value) in map {
        let line = Some(lines.line(value.span().start));
        let problem = |reason| AliasProblem {
            name: name.clone(),
            value: value.get_ref().clone(),
            line,
            reason,
        };
        if let Err(reason) = validate_alias_name(name) {
            problems.push(problem(reason));
            continue;
        }
        let target = if value.get_ref().is_empty() {
            None
        } else {
            match validate_alias_value(value.get_ref()) {
                Ok(t) => Some(t),
                Err(reason) => {
                    problems.push(problem(reason));
                    continue;
                }
            }
        };
        aliases.insert(
            name.clone(),
            Alias {
                target,
                origin: Origin::at(lines.file, line),
            },
        );
    }
    if problems.is_empty() {
        Ok(aliases)
    } else {
        Err(Error::InvalidAliases {
            file: lines.file.to_owned(),
            problems,
        })
    }
}

/// An alias name is a short name: parses, has no registry, no tag and no digest.
pub(super) fn validate_alias_name(name: &str) -> Result<(), AliasReason> {
    let parsed = oci_ref::grammar::parse_docker(name).map_err(AliasReason::InvalidName)?;
    if parsed.tag.is_some() || parsed.digest.is_some() {
        return Err(AliasReason::NameHasTagOrDigest);
    }
    if parsed.domain.is_some() {
        return Err(AliasReason::NameHasRegistry);
    }
    Ok(())
}

/// An alias value is a fully qualified name without tag or digest; it is stored
/// docker.io-normalised (`docker.io/fedora` becomes `docker.io/library/fedora`).
pub(super) fn validate_alias_value(value: &str) -> Result<AliasTarget, AliasReason> {
    let parsed = oci_ref::grammar::parse_docker(value).map_err(AliasReason::InvalidValue)?;
    if parsed.tag.is_some() || parsed.digest.is_some() {
        return Err(AliasReason::ValueHasTagOrDigest);
    }
    if parsed.domain.is_none() {
        return Err(AliasReason::ValueLacksRegistry);
    }
    let normalized = oci_ref::normalize::normalize(parsed).map_err(AliasReason::InvalidValue)?;
    Ok(AliasTarget {
        registry: normalized.registry().to_owned(),
        repository: normalized.repository().to_owned(),
    })
}
