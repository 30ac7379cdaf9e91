//! Bad input that needs no registry: malformed references, missing and broken configuration
//! files, an unreachable registry, an unknown tag in a layout, output paths that cannot be
//! written and broken mirror set files.

use super::*;

#[test]
fn malformed_reference_is_named() {
    let s = Scratch::new();
    let mut problems = Vec::new();
    for bad in [
        "Bad Ref!!",
        "host/repo:tag with space",
        "UPPER/case:v1",
        "host/repo@sha256:zz",
    ] {
        for run in commands(&s, bad) {
            if run.takes == Takes::Nothing {
                continue;
            }
            // A mirror set names the repository under its `repository` key: the line names the
            // key (after the file).
            let needle = if run.name == "mirror" {
                "invalid repository"
            } else {
                "invalid reference"
            };
            match s.try_check(&run, needle) {
                Ok((_, line)) if !line.contains(bad) => {
                    problems.push(format!(
                        "{}: the line should quote {bad:?}: {line}",
                        run.name
                    ));
                }
                // `login`/`logout` take a registry: the line quotes it as typed, not a
                // reference built around it.
                Ok((_, line)) if line.contains("oci://") => {
                    problems.push(format!(
                        "{}: the line should quote {bad:?} as typed: {line}",
                        run.name
                    ));
                }
                Ok(_) => {}
                Err(problem) => problems.push(problem),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Commands that do not yet report a missing or broken file given with the flag: `(command,
/// flag, "missing" | "broken")`. The test fails when an entry here starts naming the file, so
/// that the entry is removed. None is known today: `ref` loads a credentials file named on the
/// command line although it uses none, and `login` reads the file it will update before it
/// contacts the registry.
const PENDING_CONFIG_GAPS: &[(&str, &str, &str)] = &[];

#[test]
fn missing_and_broken_config_files_are_named() {
    let s = Scratch::new();
    let reference = unreachable_ref();
    let mut problems = Vec::new();
    for flag in ["--registry-config", "--auth-file", "--registries-conf"] {
        let (missing, broken) = if flag == "--registries-conf" {
            ("missing.conf", "broken.conf")
        } else {
            ("missing.json", "broken.json")
        };
        for (case, file) in [("missing", missing), ("broken", broken)] {
            let path = s.path(file);
            for run in commands(&s, &reference) {
                if run.name == "login" && case == "missing" && flag != "--registries-conf" {
                    // `login` creates the credentials file it is given: a missing one is fine.
                    continue;
                }
                let full = run.with_flags(&["--plain-http", flag, &path]);
                // Paths under `HOME` may be shown as `~/…`: the file name is what must appear.
                // A file named on the command line is input: its problems are bad input.
                let result = s.try_check(&full, file).and_then(|(code, line)| {
                    if code == 2 {
                        Ok((code, line))
                    } else {
                        Err(format!(
                            "{} {flag} ({case}): exit {code}, not 2: {line}",
                            run.name
                        ))
                    }
                });
                let pending = PENDING_CONFIG_GAPS.contains(&(run.name, flag, case));
                match (result, pending) {
                    (Ok(_), false) | (Err(_), true) => {}
                    (Err(problem), false) => problems.push(problem),
                    (Ok(_), true) => problems.push(format!(
                        "{} {flag} ({case}) now names the file: remove it from \
                         PENDING_CONFIG_GAPS",
                        run.name
                    )),
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn unreachable_registry_is_named() {
    let reference = unreachable_ref();
    let names: Vec<&str> = commands(&Scratch::new(), &reference)
        .iter()
        .filter(|run| run.contacts_registry())
        .map(|run| run.name)
        .collect();
    // At once, each in its own thread and directory: the time goes into retry backoff.
    let problems: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = names
            .iter()
            .map(|name| {
                let reference = &reference;
                scope.spawn(move || {
                    let s = Scratch::new();
                    let run = commands(&s, reference)
                        .into_iter()
                        .find(|run| run.name == *name)
                        .expect("a command of the table");
                    s.try_check(&run.with_flags(&["--plain-http"]), UNREACHABLE)
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().expect("check thread").err())
            .collect()
    });
    assert_eq!(
        names.len(),
        ALL_COMMANDS.len() - 3,
        "all but ref, logout and generate"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn unknown_tag_in_a_layout_is_named() {
    let s = Scratch::new();
    let layout = format!("{}:no-such-tag", example_dir().display());
    let out = s.path("out");
    for command in ["resolve", "pull"] {
        let mut args = vec![command, "--oci-layout", &layout, "--arch", "any"];
        if command == "pull" {
            args.extend(["-o", &out]);
        }
        s.check(&Run::new(command, &args), "no-such-tag");
    }
}

#[test]
fn unwritable_output_path_is_named() {
    let s = Scratch::new();
    // A path below a regular file can never be created, whoever runs the test.
    let below_file = s.path("file.txt/out");
    let layout = format!("{}:fedora-42-kernel", example_dir().display());
    s.check(
        &Run::new(
            "pull",
            &[
                "pull",
                "--oci-layout",
                &layout,
                "--arch",
                "any",
                "-o",
                &below_file,
            ],
        ),
        "file.txt/out",
    );
    let to = format!("{}:v1", s.path("file.txt/layout"));
    s.check(
        &Run::new(
            "copy",
            &["copy", "--from-oci-layout", "--to-oci-layout", &layout, &to],
        ),
        "file.txt/layout",
    );
}

/// `mirror`'s own input: the set file missing, not TOML, with an unknown key, a destination
/// that is not `HOST[:PORT][/PREFIX]` (in the file or with `--to`), no destination at all, and
/// `--write-registries-conf` for a layout. Bad input (exit 2) naming the file or the value,
/// before anything is contacted or written.
#[test]
fn mirror_set_problems_are_named() {
    let s = Scratch::new();
    let source = "[[source]]\nrepository = \"127.0.0.1:1/bad-input/repo\"\ntags = [\"v1\"]\n";
    let not_toml = s.write("not-toml.toml", "[[source]\nrepository =");
    // `all_tags` for `all-tags`: a typo never silently mirrors something else.
    let unknown_key = s.write("unknown-key.toml", &format!("{source}all_tags = true\n"));
    let no_destination = s.write("no-destination.toml", source);
    // Not a registry host: `mirror` alone is a Docker Hub repository name.
    let bad_registry = s.mirror_set("bad-registry.toml", "mirror", "127.0.0.1:1/a/b", "v1");
    let bad_prefix = format!("{UNREACHABLE}/Bad_Prefix");
    let layout = s.path("layout");
    let conf = s.path("registries.conf");
    let cases: [(&[&str], &[&str]); 7] = [
        (&["mirror", &s.path("missing.toml")], &["missing.toml"]),
        (&["mirror", &not_toml], &["not-toml.toml"]),
        (&["mirror", &unknown_key], &["unknown-key.toml", "all_tags"]),
        (
            &["mirror", &bad_registry],
            &["bad-registry.toml", "\"mirror\""],
        ),
        (
            &["mirror", "--to", &bad_prefix, &no_destination],
            &["--to", &bad_prefix],
        ),
        (
            &["mirror", &no_destination],
            &["no-destination.toml", "no [destination]"],
        ),
        (
            &[
                "mirror",
                &no_destination,
                "--to-oci-layout",
                &layout,
                "--write-registries-conf",
                &conf,
            ],
            &["--write-registries-conf", "registry destination"],
        ),
    ];
    for (args, needles) in cases {
        let (code, line) = s.check(&Run::new("mirror", args), needles[0]);
        assert_eq!(code, 2, "{args:?}: bad input: {line}");
        for needle in needles {
            assert!(line.contains(needle), "{args:?}: {needle:?} in {line}");
        }
    }
}
