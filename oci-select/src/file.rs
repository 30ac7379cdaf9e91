//! Policy files: the rules of a [`Policy`] written in TOML, for people who don't write Rust.
//!
//! A file is a list of `[[rule]]` tables, applied in file order. Each has a `kind` and the keys
//! of that kind:
//!
//! | `kind` | keys |
//! | --- | --- |
//! | `architecture` | `value` (required), `aliases` = `"extended"` (default) \| `"ironic"`, `missing` = `"pass"` (default) \| `"reject"` |
//! | `os` | `value` (required), `missing` |
//! | `variant` | `value` (required), `missing` |
//! | `disk-format` | `prefer` = list, best first, **or** `download-source` = `"local"` \| `"http"` (Ironic's tables); `unlisted` = `"reject"` (default) \| `"last"` |
//! | `artifact-type` | `value` or `any-of` = list |
//! | `media-type` | `value` or `any-of` = list; `target` = `"manifest"` (default) \| `"layer"` |
//! | `annotation` | `key` (required), `equals` (omit: the annotation must exist) |
//! | `single-layer` | `container-images` = `"allow"` (default, Ironic) \| `"reject"` |
//! | `container-image` | `mode` = `"require"` \| `"reject"` |
//!
//! ```toml
//! # Prefer raw disks for arm64 machines, flavour "minimal" only.
//! [[rule]]
//! kind = "architecture"
//! value = "arm64"
//!
//! [[rule]]
//! kind = "annotation"
//! key = "org.example.flavour"
//! equals = "minimal"
//!
//! [[rule]]
//! kind = "disk-format"
//! prefer = ["raw", "qcow2"]
//!
//! [[rule]]
//! kind = "single-layer"
//! ```
//!
//! Unknown keys, missing keys, wrong types and values outside a key's set are errors that name
//! the line and column ([`PolicyFileError`]).

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::error::PolicyFileError;
use crate::policy::{DownloadSource, Policy};
use crate::rule::Rule;
use crate::rules::{
    Aliases, Annotation, Architecture, ArtifactType, ContainerImage, ContainerImageMode,
    DiskFormatPreference, MediaType, MediaTypeTarget, Missing, Os, SingleLayer, Unlisted, Variant,
};

/// The rule kinds a policy file accepts.
const KINDS: &[&str] = &[
    "architecture",
    "os",
    "variant",
    "disk-format",
    "artifact-type",
    "media-type",
    "annotation",
    "single-layer",
    "container-image",
];

/// The keys each kind accepts (besides `kind`).
fn allowed_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "architecture" => &["kind", "value", "aliases", "missing"],
        "os" | "variant" => &["kind", "value", "missing"],
        "disk-format" => &["kind", "prefer", "download-source", "unlisted"],
        "artifact-type" => &["kind", "value", "any-of"],
        "media-type" => &["kind", "value", "any-of", "target"],
        "annotation" => &["kind", "key", "equals"],
        "single-layer" => &["kind", "container-images"],
        "container-image" => &["kind", "mode"],
        _ => &["kind"],
    }
}

/// [`KINDS`], for error messages.
const KINDS_EXPECTED: &str = "one of architecture, os, variant, disk-format, artifact-type, \
                              media-type, annotation, single-layer, container-image";

/// Turns byte offsets into 1-based line and column (in characters).
struct Source<'a> {
    text: &'a str,
}

impl Source<'_> {
    fn at(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = self.text.get(..offset).unwrap_or(self.text);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    }
}

/// The keys of one table, consumed one by one; leftovers are unknown keys.
struct Fields<'a, 'i> {
    src: &'a Source<'a>,
    context: String,
    table_span: Range<usize>,
    entries: Vec<(
        &'a Spanned<std::borrow::Cow<'i, str>>,
        &'a Spanned<DeValue<'i>>,
    )>,
    allowed: &'static [&'static str],
}

fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

impl<'a, 'i> Fields<'a, 'i> {
    fn new(
        src: &'a Source<'a>,
        table: &'a DeTable<'i>,
        table_span: Range<usize>,
        context: String,
        allowed: &'static [&'static str],
    ) -> Fields<'a, 'i> {
        Fields {
            src,
            context,
            table_span,
            entries: table.iter().collect(),
            allowed,
        }
    }

    fn take(&mut self, key: &str) -> Option<&'a Spanned<DeValue<'i>>> {
        let i = self.entries.iter().position(|(k, _)| k.get_ref() == key)?;
        Some(self.entries.remove(i).1)
    }

    fn wrong_type(
        &self,
        key: &str,
        v: &Spanned<DeValue<'_>>,
        expected: &'static str,
    ) -> PolicyFileError {
        let (line, column) = self.src.at(v.span().start);
        PolicyFileError::WrongType {
            line,
            column,
            key: key.to_owned(),
            expected,
            found: type_name(v.get_ref()),
        }
    }

    fn string(&mut self, key: &str) -> Result<Option<(String, Range<usize>)>, PolicyFileError> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => match v.get_ref() {
                DeValue::String(s) => Ok(Some((s.to_string(), v.span()))),
                _ => Err(self.wrong_type(key, v, "a string")),
            },
        }
    }

    fn required(&mut self, key: &'static str) -> Result<String, PolicyFileError> {
        match self.string(key)? {
            Some((s, _)) => Ok(s),
            None => {
                let (line, column) = self.src.at(self.table_span.start);
                Err(PolicyFileError::MissingKey {
                    line,
                    column,
                    key,
                    context: self.context.clone(),
                })
            }
        }
    }

    fn list(&mut self, key: &str) -> Result<Option<Vec<String>>, PolicyFileError> {
        let Some(v) = self.take(key) else {
            return Ok(None);
        };
        let DeValue::Array(items) = v.get_ref() else {
            return Err(self.wrong_type(key, v, "an array of strings"));
        };
        items
            .iter()
            .map(|item| match item.get_ref() {
                DeValue::String(s) => Ok(s.to_string()),
                _ => Err(self.wrong_type(key, item, "a string")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// One of a fixed set of words.
    fn choice<T: Copy>(
        &mut self,
        key: &'static str,
        options: &[(&str, T)],
        expected: &'static str,
    ) -> Result<Option<T>, PolicyFileError> {
        let Some((value, span)) = self.string(key)? else {
            return Ok(None);
        };
        match options.iter().find(|(name, _)| *name == value) {
            Some((_, t)) => Ok(Some(*t)),
            None => {
                let (line, column) = self.src.at(span.start);
                Err(PolicyFileError::InvalidValue {
                    line,
                    column,
                    key,
                    value,
                    expected,
                })
            }
        }
    }

    fn conflict(&self, problem: &'static str) -> PolicyFileError {
        let (line, column) = self.src.at(self.table_span.start);
        PolicyFileError::Conflict {
            line,
            column,
            problem,
        }
    }

    /// `value` or `any-of`, exactly one.
    fn value_or_any_of(&mut self) -> Result<Vec<String>, PolicyFileError> {
        match (self.string("value")?, self.list("any-of")?) {
            (Some((v, _)), None) => Ok(vec![v]),
            (None, Some(list)) if !list.is_empty() => Ok(list),
            (None, Some(_)) => Err(self.conflict("`any-of` must not be empty")),
            (Some(_), Some(_)) => Err(self.conflict("set either `value` or `any-of`, not both")),
            (None, None) => Err(self.conflict("set `value` or `any-of`")),
        }
    }

    /// Fails on the first key (in file order) that is not allowed here.
    fn check_keys(&self) -> Result<(), PolicyFileError> {
        let mut unknown: Vec<_> = self
            .entries
            .iter()
            .filter(|(k, _)| !self.allowed.contains(&k.get_ref().as_ref()))
            .collect();
        unknown.sort_by_key(|(k, _)| k.span().start);
        match unknown.first() {
            None => Ok(()),
            Some((k, _)) => {
                let (line, column) = self.src.at(k.span().start);
                Err(PolicyFileError::UnknownKey {
                    line,
                    column,
                    key: k.get_ref().to_string(),
                    context: self.context.clone(),
                    allowed: self.allowed.join(", "),
                })
            }
        }
    }
}

const MISSING: &[(&str, Missing)] = &[("pass", Missing::Pass), ("reject", Missing::Reject)];
const MISSING_EXPECTED: &str = "\"pass\" or \"reject\"";

fn platform_missing(f: &mut Fields<'_, '_>) -> Result<Missing, PolicyFileError> {
    Ok(f.choice("missing", MISSING, MISSING_EXPECTED)?
        .unwrap_or_default())
}

fn rule(f: &mut Fields<'_, '_>, kind: &str) -> Result<Box<dyn Rule>, PolicyFileError> {
    Ok(match kind {
        "architecture" => {
            let value = f.required("value")?;
            let aliases = f
                .choice(
                    "aliases",
                    &[("extended", Aliases::Extended), ("ironic", Aliases::Ironic)],
                    "\"extended\" or \"ironic\"",
                )?
                .unwrap_or_default();
            let missing = platform_missing(f)?;
            Box::new(Architecture::new(value).aliases(aliases).missing(missing))
        }
        "os" => {
            let value = f.required("value")?;
            Box::new(Os::new(value).missing(platform_missing(f)?))
        }
        "variant" => {
            let value = f.required("value")?;
            Box::new(Variant::new(value).missing(platform_missing(f)?))
        }
        "disk-format" => disk_format(f)?,
        "artifact-type" => Box::new(ArtifactType::any_of(f.value_or_any_of()?)),
        "media-type" => {
            let any_of = f.value_or_any_of()?;
            let target = f
                .choice(
                    "target",
                    &[
                        ("manifest", MediaTypeTarget::Manifest),
                        ("layer", MediaTypeTarget::Layer),
                    ],
                    "\"manifest\" or \"layer\"",
                )?
                .unwrap_or_default();
            Box::new(MediaType::any_of(target, any_of))
        }
        "annotation" => {
            let key = f.required("key")?;
            match f.string("equals")? {
                Some((v, _)) => Box::new(Annotation::equals(key, v)),
                None => Box::new(Annotation::exists(key)),
            }
        }
        "single-layer" => {
            let allow = f
                .choice(
                    "container-images",
                    &[("allow", true), ("reject", false)],
                    "\"allow\" or \"reject\"",
                )?
                .unwrap_or(true);
            Box::new(if allow {
                SingleLayer::ironic()
            } else {
                SingleLayer::strict()
            })
        }
        "container-image" => container_image(f)?,
        // Unreachable: `from_toml` checks the kind first.
        _ => return Err(f.conflict("unknown rule kind")),
    })
}

/// A `disk-format` rule: `prefer` (a list) or `download-source` (Ironic's preference), and
/// what to do with formats not listed.
fn disk_format(f: &mut Fields<'_, '_>) -> Result<Box<dyn Rule>, PolicyFileError> {
    let prefer = f.list("prefer")?;
    let source = f.string("download-source")?;
    let base = match (prefer, source) {
        (Some(p), None) => DiskFormatPreference::new(p),
        (None, Some((s, span))) => match s.parse::<DownloadSource>() {
            Ok(source) => DiskFormatPreference::ironic(source),
            Err(source) => {
                let (line, column) = f.src.at(span.start);
                return Err(PolicyFileError::DownloadSource {
                    line,
                    column,
                    source,
                });
            }
        },
        (Some(_), Some(_)) => {
            return Err(f.conflict("set either `prefer` or `download-source`, not both"));
        }
        (None, None) => return Err(f.conflict("set `prefer` or `download-source`")),
    };
    let unlisted = f
        .choice(
            "unlisted",
            &[("reject", Unlisted::Reject), ("last", Unlisted::Last)],
            "\"reject\" or \"last\"",
        )?
        .unwrap_or_default();
    Ok(Box::new(base.unlisted(unlisted)))
}

/// A `container-image` rule: its `mode` is required.
fn container_image(f: &mut Fields<'_, '_>) -> Result<Box<dyn Rule>, PolicyFileError> {
    let mode = f.choice(
        "mode",
        &[
            ("require", ContainerImageMode::Require),
            ("reject", ContainerImageMode::Reject),
        ],
        "\"require\" or \"reject\"",
    )?;
    match mode {
        Some(mode) => Ok(Box::new(ContainerImage::new(mode))),
        None => {
            let (line, column) = f.src.at(f.table_span.start);
            Err(PolicyFileError::MissingKey {
                line,
                column,
                key: "mode",
                context: f.context.clone(),
            })
        }
    }
}

impl Policy {
    /// Reads a policy file (see the [module docs](mod@crate::file) for the format).
    ///
    /// ```
    /// use oci_select::{Policy, PolicyFileError};
    ///
    /// let policy = Policy::from_toml("[[rule]]\nkind = \"os\"\nvalue = \"linux\"\n")?;
    /// assert_eq!(policy.rules().len(), 1);
    ///
    /// let err = Policy::from_toml("[[rule]]\nkind = \"os\"\nvalu = \"linux\"\n").unwrap_err();
    /// assert!(matches!(err, PolicyFileError::UnknownKey { line: 3, .. }));
    /// # Ok::<(), PolicyFileError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`PolicyFileError`] with the line and column: TOML syntax, an unknown key or rule kind, a
    /// missing or mistyped value.
    pub fn from_toml(text: &str) -> Result<Policy, PolicyFileError> {
        let src = Source { text };
        let root = DeTable::parse(text).map_err(|e| {
            let (line, column) = src.at(e.span().map_or(0, |s| s.start));
            PolicyFileError::Syntax {
                line,
                column,
                detail: e.message().trim().to_owned(),
            }
        })?;
        let mut top = Fields::new(
            &src,
            root.get_ref(),
            root.span(),
            "the policy file".to_owned(),
            &["rule"],
        );
        top.check_keys()?;
        let mut policy = Policy::new();
        if let Some(rules) = top.take("rule") {
            let DeValue::Array(tables) = rules.get_ref() else {
                return Err(top.wrong_type("rule", rules, "an array of tables ([[rule]])"));
            };
            for table in tables.iter() {
                let DeValue::Table(t) = table.get_ref() else {
                    return Err(top.wrong_type("rule", table, "a table"));
                };
                let mut f = Fields::new(&src, t, table.span(), "a rule".to_owned(), &["kind"]);
                let Some((kind, kind_span)) = f.string("kind")? else {
                    let (line, column) = src.at(table.span().start);
                    return Err(PolicyFileError::MissingKey {
                        line,
                        column,
                        key: "kind",
                        context: "a rule".to_owned(),
                    });
                };
                if !KINDS.contains(&kind.as_str()) {
                    let (line, column) = src.at(kind_span.start);
                    return Err(PolicyFileError::InvalidValue {
                        line,
                        column,
                        key: "kind",
                        value: kind,
                        expected: KINDS_EXPECTED,
                    });
                }
                f.context = format!("rule `{kind}`");
                f.allowed = allowed_keys(&kind);
                f.check_keys()?;
                policy.push(rule(&mut f, &kind)?);
            }
        }
        Ok(policy)
    }
}
