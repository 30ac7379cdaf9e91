//! The command-line shapes of typed values: `FILE[:MEDIATYPE]` and `KEY=VALUE`. The library
//! takes the typed values ([`FileSpec`], `(key, value)` pairs); a platform's own syntax is
//! [`oci_ref::model::Platform`]'s `FromStr`.

use std::path::PathBuf;

use oci_fetch::publish::input::FileSpec;
use oci_ref::media_type::is_well_formed;

use crate::Failure;

/// A malformed command-line value.
#[derive(Debug, thiserror::Error)]
#[error("invalid {what} {input:?}: {reason}")]
pub(crate) struct BadArgument {
    what: &'static str,
    input: String,
    reason: &'static str,
}

fn bad(what: &'static str, input: &str, reason: &'static str) -> Failure {
    Failure::Usage(
        BadArgument {
            what,
            input: input.to_owned(),
            reason,
        }
        .into(),
    )
}

/// Parses `FILE[:MEDIATYPE]`. The split is at the last `:` when its right side looks like a
/// media type (`type/subtype`), so `c:d.json` stays a path; as with oras, a path whose last `:`
/// is followed by something shaped like `type/subtype` cannot be given.
pub(crate) fn file_spec(s: &str) -> Result<FileSpec, Failure> {
    let (path, media_type) = match s.rsplit_once(':') {
        Some((p, m)) if is_well_formed(m) => (p, Some(m.to_owned())),
        Some((_, "")) => return Err(bad("file", s, "empty media type")),
        _ => (s, None),
    };
    if path.is_empty() {
        return Err(bad("file", s, "empty file name"));
    }
    Ok(FileSpec {
        path: PathBuf::from(path),
        media_type,
    })
}

/// Parses `KEY=VALUE` (the key must be non-empty; the value may be empty or contain `=`).
pub(crate) fn annotation(s: &str) -> Result<(String, String), Failure> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() && !k.chars().any(char::is_control) => {
            Ok((k.to_owned(), v.to_owned()))
        }
        _ => Err(bad(
            "annotation",
            s,
            "expected KEY=VALUE with a non-empty key",
        )),
    }
}

/// Parses `OS/ARCH[/VARIANT]` (a usage error when malformed).
pub(crate) fn platform(s: &str) -> Result<oci_ref::model::Platform, Failure> {
    s.parse()
        .map_err(|e: oci_ref::Error| Failure::Usage(e.into()))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{annotation, file_spec};

    fn check_file(input: &str, path: &str, media_type: Option<&str>) {
        let f = file_spec(input).expect("valid file spec");
        assert_eq!(f.path.to_str(), Some(path), "{input}");
        assert_eq!(f.media_type.as_deref(), media_type, "{input}");
    }

    #[test]
    fn file_specs() {
        check_file("a.yaml", "a.yaml", None);
        check_file(
            "a.yaml:application/yaml",
            "a.yaml",
            Some("application/yaml"),
        );
        check_file("c:d.json", "c:d.json", None);
        // Ambiguous as with oras: a right side shaped like type/subtype is a media type.
        check_file("dir:x/a", "dir", Some("x/a"));
        check_file(
            "c:d.json:application/vnd.x+json",
            "c:d.json",
            Some("application/vnd.x+json"),
        );
        assert!(file_spec(":text/plain").is_err());
        assert!(file_spec("a:").is_err());
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,40}") {
            let _ = super::platform(&s);
            let _ = file_spec(&s);
            let _ = annotation(&s);
        }

        #[test]
        fn annotation_splits_at_first_equals(k in "[a-z.]{1,10}", v in "[a-z=]{0,10}") {
            let parsed = annotation(&format!("{k}={v}")).ok();
            prop_assert_eq!(parsed, Some((k, v)));
        }
    }
}
