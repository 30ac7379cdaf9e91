//! Bad flags, with the contract of the parent module (exit 2, nothing on stdout, one line
//! naming the problem, nothing written): values a flag does not take, flags wrong together or
//! for the place, the credential flags at every command that contacts a registry, a missing
//! `generate` kind and `--no-progress`.

use super::*;

#[test]
fn unknown_flag_values_are_refused() {
    let s = Scratch::new();
    let cases = flag_cases(&s);
    assert_covers_every_command(
        "unknown_flag_values_are_refused",
        cases.iter().map(|(r, _)| r.name),
    );
    for (run, needle) in &cases {
        let (code, line) = s.check(run, needle);
        assert_eq!(
            code, 2,
            "{}: a bad flag value is a usage error: {line}",
            run.name
        );
    }
}

/// For every command, a flag with a value it does not take, and what the line must name.
fn flag_cases(s: &Scratch) -> Vec<(Run, &'static str)> {
    let mut cases = publishing_flag_cases(s);
    cases.extend(other_flag_cases(s));
    cases.extend(switch_cases(s));
    cases
}

/// One flag case: `args` run as `name`, and what the error line must name.
fn case(name: &'static str, args: &[&str], names: &'static str) -> (Run, &'static str) {
    (Run::new(name, args), names)
}

/// [`flag_cases`]: the switches added for oras habits and scripts take no value.
fn switch_cases(s: &Scratch) -> Vec<(Run, &'static str)> {
    let r = unreachable_ref();
    let blob = blob_reference(&r);
    let out = s.path("out");
    vec![
        case("tags", &["tags", "--json=yes", &r], "--json"),
        case(
            "repo ls",
            &["repo", "ls", "--json=yes", UNREACHABLE],
            "--json",
        ),
        case(
            "manifest fetch",
            &["manifest", "fetch", "--pretty=yes", &r],
            "--pretty",
        ),
        case(
            "manifest delete",
            &["manifest", "delete", "--json=yes", &r],
            "--json",
        ),
        case(
            "blob fetch",
            &["blob", "fetch", "--json=yes", "-o", &out, &blob],
            "--json",
        ),
        case(
            "blob delete",
            &["blob", "delete", "--json=yes", &blob],
            "--json",
        ),
    ]
}

/// [`flag_cases`] of `ref`, `push`, `attach` and `discover`.
fn publishing_flag_cases(s: &Scratch) -> Vec<(Run, &'static str)> {
    let r = unreachable_ref();
    let file = s.path("file.txt");
    let sig = "application/vnd.example.sig";
    vec![
        case("ref", &["ref", "--json=yes", &r], "--json"),
        case("push", &["push", "-a", "disktype", &r, &file], "disktype"),
        case(
            "push",
            &["push", "--artifact-platform", "linux", &r, &file],
            "linux",
        ),
        case(
            "attach",
            &[
                "attach",
                "--artifact-type",
                sig,
                "-a",
                "disktype",
                &r,
                &file,
            ],
            "disktype",
        ),
        case("discover", &["discover", "-o", "yaml", &r], "--output"),
        case("discover", &["discover", "--depth", "deep", &r], "--depth"),
        case(
            "discover",
            &["discover", "--format", "yaml", &r],
            "--output",
        ),
        case(
            "discover",
            &["discover", "--distribution-spec", "v1.0", &r],
            "--distribution-spec",
        ),
        case(
            "attach",
            &[
                "attach",
                "--artifact-type",
                sig,
                "--distribution-spec",
                "v1.1-referrers",
                &r,
                &file,
            ],
            "--distribution-spec",
        ),
    ]
}

/// [`flag_cases`] of the other commands, `index create` to `generate`.
fn other_flag_cases(s: &Scratch) -> Vec<(Run, &'static str)> {
    let r = unreachable_ref();
    let blob = blob_reference(&r);
    let out = s.path("out");
    // Refused before the set is read: it need not exist.
    let set = s.path("set.toml");
    vec![
        case(
            "index create",
            &["index", "create", &r, "v1,bogus=1"],
            "bogus=1",
        ),
        case("tag", &["tag", &r, "bad/tag"], "bad/tag"),
        case(
            "resolve",
            &["resolve", "--download-source", "ftp", &r],
            "--download-source",
        ),
        case(
            "pull",
            &["pull", "--download-source", "ftp", "-o", &out, &r],
            "--download-source",
        ),
        case("copy", &["copy", "--json=yes", &r, &r], "--json"),
        case(
            "mirror",
            &["mirror", "--concurrency", "0", &set],
            "--concurrency",
        ),
        case(
            "mirror",
            &["mirror", "--distribution-spec", "v1.0", &set],
            "--distribution-spec",
        ),
        case("tags", &["tags", "--page-size", "many", &r], "--page-size"),
        case("repo tags", &["repo", "tags", "--json=yes", &r], "--json"),
        case(
            "repo ls",
            &["repo", "ls", "--page-size", "many", UNREACHABLE],
            "--page-size",
        ),
        case(
            "manifest fetch",
            &["manifest", "fetch", "--descriptor", "--json", &r],
            "--descriptor",
        ),
        case(
            "manifest delete",
            &["manifest", "delete", "--force=maybe", &r],
            "--force",
        ),
        case(
            "manifest fetch",
            &["manifest", "fetch", "--descriptor=yes", &r],
            "--descriptor",
        ),
        case(
            "manifest delete",
            &["manifest", "delete", "--plain-http=maybe", &r],
            "--plain-http",
        ),
        case(
            "blob fetch",
            &["blob", "fetch", "--insecure=maybe", "-o", &out, &blob],
            "--insecure",
        ),
        case(
            "blob delete",
            &["blob", "delete", "--plain-http=maybe", &blob],
            "--plain-http",
        ),
        (
            Run::new(
                "login",
                &["login", "-u", "u", "--password-stdin=yes", UNREACHABLE],
            )
            .stdin(PASSWORD),
            "--password-stdin",
        ),
        case(
            "logout",
            &["logout", "--plain-http=maybe", UNREACHABLE],
            "--plain-http",
        ),
        case("generate", &["generate", "yaml"], "yaml"),
    ]
}

/// Flags that are well-formed but wrong together, or wrong for the place: bad input (exit 2),
/// named, before any network or file is touched.
#[test]
fn misused_flags_are_refused() {
    let s = Scratch::new();
    let r = unreachable_ref();
    let blob = blob_reference(&r);
    let sig = "application/vnd.example.sig";
    let cases = [
        case(
            "blob fetch",
            &["blob", "fetch", "--json", "-o", "-", &blob],
            "--json",
        ),
        // Deleting by tag deletes every tag of the manifest: without a terminal to ask,
        // only --force says yes.
        case("manifest delete", &["manifest", "delete", &r], "--force"),
        case(
            "discover",
            &[
                "discover",
                "--oci-layout",
                "--distribution-spec",
                "v1.1-referrers-tag",
                &format!("{}:fedora-42-kernel", example_dir().display()),
            ],
            "--distribution-spec",
        ),
        case(
            "attach",
            &[
                "attach",
                "--artifact-type",
                sig,
                "--oci-layout",
                "--distribution-spec",
                "v1.1-referrers-api",
                &format!("{}:fedora-42-kernel", example_dir().display()),
                &s.path("file.txt"),
            ],
            "--distribution-spec",
        ),
        case(
            "mirror",
            &[
                "mirror",
                "--to",
                UNREACHABLE,
                "--to-oci-layout",
                &s.path("layout"),
                &s.path("set.toml"),
            ],
            "--to-oci-layout",
        ),
        // Every tag goes to the same tag: a destination digest would be silently ignored.
        case(
            "copy",
            &[
                "copy",
                "--all-tags",
                &format!("{UNREACHABLE}/bad-input/repo"),
                &format!("{UNREACHABLE}/bad-input/copy@{UNKNOWN_DIGEST}"),
            ],
            "--all-tags",
        ),
    ];
    for (run, needle) in &cases {
        let (code, line) = s.check(run, needle);
        assert_eq!(code, 2, "{}: {line}", run.name);
    }
}

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

/// A command that contacts no registry (`ref` and `logout`, which take a name only, and
/// `generate`) has nothing to give credentials to: each credential flag is refused, named,
/// never ignored (and no secret is read or shown, no `WARNING!` printed).
#[test]
fn credential_flags_are_refused_where_no_registry_is_contacted() {
    let s = Scratch::new();
    let cases: &[(&[&str], Option<&'static str>, &str)] = &[
        (
            &["-u", "bob", "--password-stdin"],
            Some(FLAG_SECRET),
            "--username",
        ),
        (&["-u", "bob", "-p", FLAG_SECRET], None, "--username"),
        (&["--identity-token", FLAG_SECRET], None, "--identity-token"),
        (
            &["--identity-token-stdin"],
            Some(FLAG_SECRET),
            "--identity-token-stdin",
        ),
        (&["--registry-token", FLAG_SECRET], None, "--registry-token"),
        (
            &["--registry-token-stdin"],
            Some(FLAG_SECRET),
            "--registry-token-stdin",
        ),
    ];
    let mut problems = Vec::new();
    let mut names = Vec::new();
    for run in commands(&s, &unreachable_ref()) {
        if run.contacts_registry() {
            continue;
        }
        names.push(run.name);
        for (flags, stdin, needle) in cases {
            let mut full = run.with_flags(flags);
            full.stdin = *stdin;
            match s.try_check(&full, needle) {
                Ok((2, line))
                    if line.contains("contacts no registry") && !line.contains(FLAG_SECRET) => {}
                Ok((code, line)) => problems.push(format!(
                    "{} {flags:?}: exit {code} (2 expected), \"contacts no registry\" and no \
                     secret expected: {line}",
                    run.name
                )),
                Err(problem) => problems.push(problem),
            }
        }
    }
    assert_eq!(names, ["ref", "logout", "generate"], "the commands checked");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn generate_and_no_progress_refuse_bad_values() {
    let s = Scratch::new();
    for (run, needle) in [
        case("generate", &["generate"], "<KIND>"),
        case(
            "pull",
            &["pull", "--no-progress=yes", "-o", "x", "r/x:v1"],
            "--no-progress",
        ),
    ] {
        let (code, line) = s.check(&run, needle);
        assert_eq!(code, 2, "{}: {line}", run.name);
    }
}
