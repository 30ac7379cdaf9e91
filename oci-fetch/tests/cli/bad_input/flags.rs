//! Bad input in the credential flags, `generate` and `--no-progress`, with the contract of the
//! parent module: exit 2, nothing on stdout, one line naming the problem, nothing written.

use super::{Run, Scratch, UNREACHABLE, commands, unreachable_ref};

/// A secret given in the credential-flag cases: it must never show in their errors.
const FLAG_SECRET: &str = "bad-input-flag-secret";

#[test]
fn credential_flags_are_checked_at_every_command_that_contacts_a_registry() {
    let s = Scratch::new();
    let reference = unreachable_ref();
    let cases: &[(&[&str], Option<&'static str>, &str)] = &[
        // A password without a user name: clap names the missing flag.
        (&["-p", FLAG_SECRET], None, "--username"),
        // Standard input not a terminal, and nothing to say what is missing.
        (&["-u", "bob"], None, "--password-stdin"),
        (
            &["-u", "bob", "--password-stdin"],
            Some(""),
            "nothing on standard input",
        ),
        (
            &["--registry-token-stdin"],
            Some(""),
            "--registry-token-stdin",
        ),
        (&["--identity-token", ""], None, "--identity-token"),
        (
            &[
                "--registry-token",
                FLAG_SECRET,
                "--identity-token",
                FLAG_SECRET,
            ],
            None,
            "cannot be used with",
        ),
        (
            &["-u", "bob", "--registry-token-stdin"],
            Some(FLAG_SECRET),
            "cannot be used with",
        ),
        (
            &["--password-stdin", "--identity-token-stdin"],
            Some(FLAG_SECRET),
            "cannot be used with",
        ),
    ];
    let mut problems = Vec::new();
    for run in commands(&s, &reference) {
        if !run.contacts_registry() {
            continue;
        }
        // `login` takes the credential flags as its own: start from the bare command.
        let run = if run.name == "login" {
            Run::new("login", &["login", UNREACHABLE])
        } else {
            run
        };
        for (flags, stdin, needle) in cases {
            let mut full = run.with_flags(&[&["--plain-http"][..], flags].concat());
            full.stdin = *stdin;
            match s.try_check(&full, needle) {
                Ok((2, line)) if !line.contains(FLAG_SECRET) => {}
                Ok((code, line)) => problems.push(format!(
                    "{} {flags:?}: exit {code} (2 expected), no secret expected: {line}",
                    run.name
                )),
                Err(problem) => problems.push(problem),
            }
        }
    }
    // Two registries and one set of credentials: never sent to the registry not meant.
    let other = "127.0.0.2:1/bad-input/copy:v1";
    let copy = Run::new("copy", &["copy", &reference, other])
        .with_flags(&["--plain-http", "-u", "bob", "--password-stdin"])
        .stdin(FLAG_SECRET);
    if let Err(problem) = s.try_check(&copy, "applies to one registry") {
        problems.push(problem);
    }
    // `login` stores user names and passwords only.
    let login =
        Run::new("login", &["login", UNREACHABLE, "--registry-token-stdin"]).stdin(FLAG_SECRET);
    if let Err(problem) = s.try_check(&login, "login stores a user name and password") {
        problems.push(problem);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn generate_and_no_progress_refuse_bad_values() {
    let s = Scratch::new();
    for (run, needle) in [
        (Run::new("generate", &["generate", "yaml"]), "yaml"),
        (Run::new("generate", &["generate"]), "<KIND>"),
        (
            Run::new("pull", &["pull", "--no-progress=yes", "-o", "x", "r/x:v1"]),
            "--no-progress",
        ),
    ] {
        let (code, line) = s.check(&run, needle);
        assert_eq!(code, 2, "{}: {line}", run.name);
    }
}
