//! Token scopes: `repository:<name>:pull,push`, `registry:catalog:*`. Pure, no IO.
//!
//! Grammar ([distribution token scope docs](https://distribution.github.io/distribution/spec/auth/scope/)):
//!
//! ```text
//! scope         := resourcescope [ ' ' resourcescope ]*
//! resourcescope := resourcetype ":" resourcename ":" action [ ',' action ]*
//! resourcetype  := /[a-z0-9]+/ ( '(' /[a-z0-9]+/ ')' )?   (deprecated class, kept verbatim)
//! resourcename  := [ hostname '/' ] component [ '/' component ]*
//! action        := /[a-z]*/ | '*'
//! ```
//!
//! The name may itself contain `:` (a registry port, `localhost:5000/app`), so a resource scope is
//! parsed from both ends: the type up to the first `:`, the actions after the last `:`, the name
//! in between.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, ErrorKind};

/// Longest scope string accepted by [`Scope::parse`], in bytes.
///
/// A scope names one repository (at most [`oci_ref::MAX_NAME_TOTAL_LENGTH`] characters, plus a
/// possible registry host) and a handful of actions; anything far longer is hostile input from a
/// challenge header.
pub const MAX_SCOPE_LENGTH: usize = 1024;

/// An action a token may grant on a resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Action {
    /// `pull`: read manifests, blobs and tags.
    Pull,
    /// `push`: upload blobs and manifests.
    Push,
    /// `delete`: delete manifests and blobs.
    Delete,
    /// `*`: every action (used with `registry:catalog:*`).
    All,
    /// Any other lower-case action a registry defines.
    Other(String),
}

impl Action {
    /// Parses one action (`pull`, `push`, `delete`, `*` or another `[a-z]+` word).
    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "pull" => Some(Action::Pull),
            "push" => Some(Action::Push),
            "delete" => Some(Action::Delete),
            "*" => Some(Action::All),
            other if !other.is_empty() && other.bytes().all(|b| b.is_ascii_lowercase()) => {
                Some(Action::Other(other.to_owned()))
            }
            _ => None,
        }
    }

    /// The wire spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Action::Pull => "pull",
            Action::Push => "push",
            Action::Delete => "delete",
            Action::All => "*",
            Action::Other(s) => s,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One resource scope: a resource type, a name and a set of actions.
///
/// Actions are kept sorted and without duplicates, so equal scopes compare and display equal.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope {
    resource_type: String,
    name: String,
    actions: Vec<Action>,
}

impl Scope {
    /// `repository:<repo>:pull`.
    pub fn pull(repository: &str) -> Scope {
        Scope::repository(repository, &[Action::Pull])
    }

    /// `repository:<repo>:pull,push`.
    pub fn push_pull(repository: &str) -> Scope {
        Scope::repository(repository, &[Action::Pull, Action::Push])
    }

    /// `repository:<repo>:<actions>`.
    pub fn repository(repository: &str, actions: &[Action]) -> Scope {
        Scope::new("repository", repository, actions)
    }

    /// `registry:catalog:*`.
    pub fn catalog() -> Scope {
        Scope::new("registry", "catalog", &[Action::All])
    }

    /// A scope of any resource type.
    pub fn new(resource_type: &str, name: &str, actions: &[Action]) -> Scope {
        let mut actions = actions.to_vec();
        actions.sort();
        actions.dedup();
        Scope {
            resource_type: resource_type.to_owned(),
            name: name.to_owned(),
            actions,
        }
    }

    /// Parses one resource scope such as `repository:localhost:5000/app:pull,push`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidScope`] when `s` is longer than [`MAX_SCOPE_LENGTH`], lacks the
    /// `type:name:actions` parts, or has an empty or invalid part.
    pub fn parse(s: &str) -> Result<Scope, Error> {
        let invalid = |reason: &'static str| {
            Error::new(ErrorKind::InvalidScope {
                input: truncate(s, 100),
                reason,
            })
        };
        if s.len() > MAX_SCOPE_LENGTH {
            return Err(invalid("longer than MAX_SCOPE_LENGTH"));
        }
        let (resource_type, rest) = s.split_once(':').ok_or_else(|| invalid("missing ':'"))?;
        let (name, actions) = rest
            .rsplit_once(':')
            .ok_or_else(|| invalid("missing actions"))?;
        if !valid_resource_type(resource_type) {
            return Err(invalid(
                "resource type must be [a-z0-9]+ with an optional (class)",
            ));
        }
        if name.is_empty() {
            return Err(invalid("empty resource name"));
        }
        if name
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control() || b == b'"')
        {
            return Err(invalid(
                "resource name contains whitespace, a quote or a control character",
            ));
        }
        let mut parsed = Vec::new();
        for a in actions.split(',') {
            if a.is_empty() {
                continue;
            }
            parsed.push(Action::parse(a).ok_or_else(|| invalid("action must be [a-z]+ or '*'"))?);
        }
        Ok(Scope::new(resource_type, name, &parsed))
    }

    /// Parses a space-separated list of resource scopes (the `scope` parameter of a challenge).
    ///
    /// # Errors
    ///
    /// The first [`ErrorKind::InvalidScope`] of [`Scope::parse`].
    pub fn parse_list(s: &str) -> Result<Vec<Scope>, Error> {
        s.split(' ')
            .filter(|p| !p.is_empty())
            .map(Scope::parse)
            .collect()
    }

    /// The resource type, e.g. `repository`.
    pub fn resource_type(&self) -> &str {
        &self.resource_type
    }

    /// The resource name, e.g. `library/alpine`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The actions, sorted.
    pub fn actions(&self) -> &[Action] {
        &self.actions
    }

    /// The repository name if this is a `repository` scope.
    pub fn repository_name(&self) -> Option<&str> {
        (self.resource_type == "repository").then_some(self.name.as_str())
    }

    /// Whether every action of `other` on the same resource is granted by `self`.
    pub fn covers(&self, other: &Scope) -> bool {
        self.resource_type == other.resource_type
            && self.name == other.name
            && (self.actions.contains(&Action::All)
                || other.actions.iter().all(|a| self.actions.contains(a)))
    }

    /// Merges scopes on the same resource into one scope with the union of their actions, and
    /// sorts the result: the canonical form used as a cache key and sent to token servers.
    pub fn merge(scopes: &[Scope]) -> Vec<Scope> {
        let mut out: Vec<Scope> = Vec::new();
        for s in scopes {
            match out
                .iter_mut()
                .find(|o| o.resource_type == s.resource_type && o.name == s.name)
            {
                Some(o) => {
                    o.actions.extend(s.actions.iter().cloned());
                    o.actions.sort();
                    o.actions.dedup();
                }
                None => out.push(s.clone()),
            }
        }
        out.sort();
        out
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:", self.resource_type, self.name)?;
        for (i, a) in self.actions.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(a.as_str())?;
        }
        Ok(())
    }
}

impl FromStr for Scope {
    type Err = Error;
    fn from_str(s: &str) -> Result<Scope, Error> {
        Scope::parse(s)
    }
}

fn valid_resource_type(t: &str) -> bool {
    let (base, class) = match t.split_once('(') {
        Some((base, rest)) => match rest.strip_suffix(')') {
            Some(class) => (base, Some(class)),
            None => return false,
        },
        None => (t, None),
    };
    let word = |w: &str| {
        !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    word(base) && class.is_none_or(word)
}

pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}
