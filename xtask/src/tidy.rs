//! `cargo xtask tidy`: structural rules of the workspace, checked mechanically.
//!
//! Also runs as an ordinary test (`cargo test -p xtask`), so plain `cargo test` enforces it.
//!
//! 1. Dependency direction: each crate may depend only on the workspace crates below it
//!    (see `ARCHITECTURE.md`); nothing depends upward. The test-support crate `oci-testkit`
//!    depends on no workspace crate and is never a normal dependency of a library crate.
//! 2. `oci-ref` and `oci-select` are pure: no path to tokio, reqwest, hyper or mio.
//! 3. Every Rust source file opens with a `//!` module doc.
//! 4. No ignored or should-panic tests, and no todo/unimplemented macros.
//!
//! It also warns (without failing) about files over [`LONG_FILE_LINES`] lines and functions
//! over [`LONG_FN_LINES`] lines: split them along their seams.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// Which workspace crates each crate may depend on (normal and build dependencies).
const ALLOWED: &[(&str, &[&str])] = &[
    ("oci-ref", &[]),
    ("oci-auth", &["oci-ref"]),
    ("oci-client", &["oci-ref", "oci-auth"]),
    ("oci-select", &["oci-ref"]),
    (
        "oci-fetch",
        &["oci-ref", "oci-auth", "oci-client", "oci-select"],
    ),
    (
        "conformance",
        &[
            "oci-ref",
            "oci-auth",
            "oci-client",
            "oci-select",
            "oci-fetch",
            "oci-testkit",
        ],
    ),
    // Test support: depends on no workspace crate, so every crate can take it as a
    // dev-dependency without a cycle; no library crate may take it as a normal one.
    ("oci-testkit", &[]),
    ("xtask", &[]),
];

/// The test-support crate, and the library crates that may take it only as a dev-dependency.
const TESTKIT: &str = "oci-testkit";
const LIBRARIES: &[&str] = &[
    "oci-ref",
    "oci-auth",
    "oci-client",
    "oci-select",
    "oci-fetch",
];

/// Crates that must have no path to an async runtime or HTTP stack.
const PURE: &[&str] = &["oci-ref", "oci-select"];
const IO_CRATES: &[&str] = &["tokio", "reqwest", "hyper", "mio"];

/// Files above this many lines get a warning: split them.
const LONG_FILE_LINES: usize = 800;

/// Functions above this many lines (signature to closing brace) get a warning: split them.
const LONG_FN_LINES: usize = 100;

pub(crate) fn run() -> anyhow::Result<()> {
    let root = workspace_root();
    let mut problems = Vec::new();
    problems.extend(check_dependency_direction(&root)?);
    for krate in PURE {
        problems.extend(check_pure(&root, krate)?);
    }
    problems.extend(check_sources(&root)?);
    if problems.is_empty() {
        eprintln!("tidy: ok");
        Ok(())
    } else {
        for p in &problems {
            eprintln!("tidy: {p}");
        }
        bail!("tidy found {} problem(s)", problems.len())
    }
}

pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn check_dependency_direction(root: &Path) -> anyhow::Result<Vec<String>> {
    let out = crate::cargo()
        .current_dir(root)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let allowed: BTreeMap<&str, BTreeSet<&str>> = ALLOWED
        .iter()
        .map(|(k, v)| (*k, v.iter().copied().collect()))
        .collect();
    let members: BTreeSet<&str> = ALLOWED.iter().map(|(k, _)| *k).collect();
    let mut problems = Vec::new();
    for pkg in meta["packages"].as_array().into_iter().flatten() {
        let name = pkg["name"].as_str().unwrap_or_default();
        let Some(ok) = allowed.get(name) else {
            problems.push(format!(
                "workspace member {name} is not in tidy's dependency map"
            ));
            continue;
        };
        for dep in pkg["dependencies"].as_array().into_iter().flatten() {
            let dep_name = dep["name"].as_str().unwrap_or_default();
            let kind = dep["kind"].as_str();
            if kind == Some("dev") || !members.contains(dep_name) {
                continue;
            }
            if dep_name == TESTKIT && LIBRARIES.contains(&name) {
                problems.push(format!(
                    "{name} must not depend on {TESTKIT} (test support is a dev-dependency only)"
                ));
            } else if !ok.contains(dep_name) {
                problems.push(format!("{name} must not depend on {dep_name} (layering)"));
            }
        }
    }
    Ok(problems)
}

fn check_pure(root: &Path, krate: &str) -> anyhow::Result<Vec<String>> {
    let out = crate::cargo()
        .current_dir(root)
        .args([
            "tree",
            "--offline",
            "-p",
            krate,
            "-e",
            "normal,build",
            "--prefix",
            "none",
        ])
        .args(["--format", "{lib}"])
        .output()
        .context("running cargo tree")?;
    if !out.status.success() {
        bail!(
            "cargo tree -p {krate} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let found: BTreeSet<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| IO_CRATES.contains(l))
        .collect();
    Ok(found
        .into_iter()
        .map(|c| format!("{krate} must stay pure but depends on {c}"))
        .collect())
}

fn check_sources(root: &Path) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    let mut files = Vec::new();
    collect_rs(root, &mut files)?;
    let banned = [
        ["#[", "ignore"].concat(),
        ["#[", "should_panic"].concat(),
        ["todo", "!("].concat(),
        ["unimplemented", "!("].concat(),
    ];
    for file in files {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        let rel = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .display()
            .to_string();
        if !text.trim_start().starts_with("//!") {
            problems.push(format!("{rel}: does not start with a //! module doc"));
        }
        for b in &banned {
            if text.contains(b.as_str()) {
                problems.push(format!("{rel}: contains {b}"));
            }
        }
        let lines = text.lines().count();
        if lines > LONG_FILE_LINES {
            eprintln!("tidy: warning: {rel} has {lines} lines; consider splitting it");
        }
        for (line, name, length) in long_functions(&text) {
            eprintln!(
                "tidy: warning: {rel}:{line}: fn {name} has {length} lines; consider splitting it"
            );
        }
    }
    Ok(problems)
}

/// Functions of rustfmt-formatted `text` longer than [`LONG_FN_LINES`]: (line, name, length).
/// A function ends at the first later line that is its closing brace at its own indentation.
fn long_functions(text: &str) -> Vec<(usize, &str, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let body = line.trim_start();
        let indent = &line[..line.len() - body.len()];
        let Some(name) = fn_name(body) else {
            continue;
        };
        let close = format!("{indent}}}");
        if let Some(end) = lines[i + 1..].iter().position(|l| *l == close) {
            let length = end + 2;
            if length > LONG_FN_LINES {
                found.push((i + 1, name, length));
            }
        }
    }
    found
}

/// The name of the function a trimmed line opens (`pub(crate) async fn name(`), if it does.
fn fn_name(line: &str) -> Option<&str> {
    let mut rest = line;
    for prefix in [
        "pub(crate) ",
        "pub(super) ",
        "pub ",
        "const ",
        "async ",
        "unsafe ",
    ] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
    }
    let rest = rest.strip_prefix("fn ")?;
    let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
    let one_line = line.ends_with(';') || line.ends_with('}');
    (end > 0 && !one_line).then_some(&rest[..end])
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if entry.file_type()?.is_dir() {
            if name.starts_with('.') || name == "target" || name == "corpus" || name == "artifacts"
            {
                continue;
            }
            collect_rs(&path, out)?;
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Tidy as an ordinary test, so `cargo test` enforces it.

    #[test]
    fn tidy() {
        super::run().expect("tidy rules hold");
    }

    #[test]
    fn long_functions_are_measured_to_their_closing_brace() {
        let long = format!(
            "impl X {{\n    pub(crate) async fn long(\n{}    }}\n}}\nfn short() {{}}\n",
            "        x;\n".repeat(super::LONG_FN_LINES)
        );
        assert_eq!(
            super::long_functions(&long),
            [(2, "long", super::LONG_FN_LINES + 2)]
        );
        assert_eq!(super::fn_name("fn f();"), None, "a declaration has no body");
        assert_eq!(super::fn_name("pub fn f() {}"), None, "one line");
        assert_eq!(super::fn_name("let fn_x = 1;"), None);
    }
}
