//! `oci-fetch mirror SET`: a set to a registry (with referrers), a second run that copies
//! nothing, the generated registries.conf used by `pull` with the primary stopped, and
//! mirror-to-disk then disk-to-mirror, sources read through registries.conf (a blocked one
//! refused); `--concurrency` as the request limit of the whole run, counted at a proxy, and at 1
//! both to disk and to a registry, referrers included; one repository named several times; the
//! `--json` reports are snapshots (see `json`). The artifacts are reproducible (fixed creation
//! time), so are their digests and byte counts. Other bad input is in `bad_input`.

use std::path::Path;
use std::time::Duration;

use conformance::fault_proxy::{Fault, FaultProxy, Rule};

use crate::copy_graph::{PartialMirror, UNREACHABLE, artifact_with_referrers};
use crate::publish::CREATED;
use crate::{TestRegistry, check_usage_error, listed_tags, oci_fetch, ok};

fn run(args: &[&str]) -> String {
    let mut args = args.to_vec();
    args.push("--plain-http");
    ok(&args)
}

/// `oci-fetch ARGS --json --plain-http`, its report snapshotted as `json_<name>` with `redact`
/// ([`crate::json::snapshot`]).
fn json(name: &str, args: &[&str], redact: &[(&str, &str)]) -> serde_json::Value {
    let args = [args, &["--json", "--plain-http"]].concat();
    crate::json::snapshot(name, &args, &ok(&args), redact)
}

fn write(path: &Path, text: &str) -> String {
    std::fs::write(path, text).expect("write");
    path.to_str().expect("UTF-8").to_owned()
}

/// Referrers of `reference` on its registry, as `discover` lists them (digests).
fn referrer_count(reference: &str) -> usize {
    run(&["discover", reference, "-o", "json", "--depth", "5"])
        .matches("\"digest\"")
        .count()
}

#[test]
fn a_set_to_a_registry_then_nothing_new_then_pulls_without_the_primary() {
    let primary = TestRegistry::start();
    let mirror = TestRegistry::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path().display().to_string();
    let p = primary.host.clone();
    let a = format!("{p}/apps/a:v1");
    artifact_with_referrers(dir.path(), &a);
    let file = write(&dir.path().join("b.txt"), "b");
    for tag in ["v1", "v2", "old"] {
        run(&["push", &format!("{p}/apps/b:{tag}"), &file, "-a", CREATED]);
    }
    let file = write(&dir.path().join("c.txt"), "c");
    let c_digest = run(&["push", &format!("{p}/apps/c:tmp"), &file, "-a", CREATED]);
    let c_digest = c_digest.trim();
    let set = write(
        &dir.path().join("set.toml"),
        &format!(
            "[destination]\nregistry = \"{}/mirror\"\n\n\
             [[source]]\nrepository = \"{p}/apps/a\"\ntags = [\"v1\"]\n\n\
             [[source]]\nrepository = \"{p}/apps/b\"\ntag-pattern = \"v*\"\n\n\
             [[source]]\nrepository = \"{p}/apps/c\"\ndigests = [\"{c_digest}\"]\n",
            mirror.host
        ),
    );
    let conf = dir.path().join("registries.conf");
    let conf_arg = conf.to_str().expect("UTF-8");
    json(
        "mirror",
        &["mirror", &set, "--write-registries-conf", conf_arg],
        &[(&p, "<primary>"), (&mirror.host, "<mirror>"), (&d, "<dir>")],
    );
    let mirrored_a = format!("{}/mirror/apps/a:v1", mirror.host);
    assert_eq!(referrer_count(&mirrored_a), referrer_count(&a));

    let second = run(&["mirror", &set]);
    assert!(second.contains("nothing new"), "{second}");
    assert_eq!(
        listed_tags(&format!("{}/mirror/apps/b", mirror.host)),
        ["v1", "v2"],
        "the pattern left `old`"
    );

    let text = std::fs::read_to_string(&conf).expect("registries.conf written");
    assert!(text.contains("mirror-by-digest-only = true"), "{text}");
    drop(primary);
    for reference in [
        a.clone(),
        format!("{p}/apps/b:v2"),
        format!("{p}/apps/c@{c_digest}"),
    ] {
        let out = dir.path().join("pulled");
        ok(&[
            "pull",
            "--registries-conf",
            conf_arg,
            &reference,
            "-o",
            out.to_str().expect("UTF-8"),
            "--overwrite",
        ]);
    }
}

#[test]
fn to_disk_and_back_to_another_registry() {
    let primary = TestRegistry::start();
    let target = TestRegistry::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let (d, p) = (dir.path().display().to_string(), primary.host.clone());
    let redact = [
        (p.as_str(), "<primary>"),
        (target.host.as_str(), "<target>"),
        (d.as_str(), "<dir>"),
    ];
    let a = format!("{}/apps/a:v1", primary.host);
    let digest = artifact_with_referrers(dir.path(), &a);
    let referrers = referrer_count(&a);
    let set = write(
        &dir.path().join("set.toml"),
        &format!(
            "[destination]\nlayout = \"disk\"\n\n[[source]]\nrepository = \"{}/apps/a\"\nall-tags = true\n",
            primary.host
        ),
    );
    // One request at a time for the whole run, referrers included: no request waits for a
    // place its own copy holds.
    run(&["mirror", &set, "--concurrency", "1"]);
    let disk = dir.path().join("disk");
    assert!(disk.join(&primary.host).join("apps/a/index.json").is_file());
    json("mirror_nothing_new", &["mirror", &set], &redact);
    drop(primary);

    let disk_arg = disk.to_str().expect("UTF-8");
    let to = format!("{}/restored", target.host);
    // One request at a time again, to a registry: the destination's referrers listings, the
    // referrers pushed and recorded in one edit, and the tag (which gives its place back
    // while it reads the root) never wait for a place their own copy holds.
    let back = json(
        "mirror_from_disk",
        &[
            "mirror",
            &set,
            "--from-oci-layout",
            disk_arg,
            "--to",
            &to,
            "--concurrency",
            "1",
        ],
        &redact,
    );
    assert_eq!(
        back["repositories"][0]["roots"][0]["digest"],
        digest.as_str(),
        "{back}"
    );
    let restored = format!("{}/restored/apps/a:v1", target.host);
    assert_eq!(referrer_count(&restored), referrers);
}

#[test]
fn sources_are_read_through_registries_conf() {
    let registry = TestRegistry::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let host = &registry.host;
    // The local cache holds what upstream would serve; upstream does not exist.
    let file = write(&dir.path().join("f.txt"), "cached upstream content");
    let digest = run(&["push", &format!("{host}/cache/team/app:v1"), &file]);
    let conf = write(
        &dir.path().join("registries.conf"),
        &format!(
            "[[registry]]\nprefix = \"upstream.invalid\"\nlocation = \"upstream.invalid\"\n\
             [[registry.mirror]]\nlocation = \"{host}/cache\"\ninsecure = true\n"
        ),
    );
    let set = write(
        &dir.path().join("set.toml"),
        &format!(
            "[destination]\nregistry = \"{host}/site\"\n\n\
             [[source]]\nrepository = \"upstream.invalid/team/app\"\ntags = [\"v1\"]\n"
        ),
    );
    let report = run(&["mirror", &set, "--registries-conf", &conf, "--json"]);
    let report: serde_json::Value = serde_json::from_str(&report).expect("JSON");
    let root = &report["repositories"][0]["roots"][0];
    assert_eq!(root["digest"], digest.trim(), "{report}");
    assert_eq!(
        report["repositories"][0]["source"], "upstream.invalid/team/app",
        "the report names the set's repository: {report}"
    );
    assert_eq!(listed_tags(&format!("{host}/site/team/app")), ["v1"]);

    // A source registries.conf blocks is bad input, named, and said to be blocked.
    let blocked = write(
        &dir.path().join("blocked.conf"),
        "[[registry]]\nprefix = \"upstream.invalid\"\nlocation = \"upstream.invalid\"\nblocked = true\n",
    );
    let line = check_usage_error(
        &["mirror", &set, "--registries-conf", &blocked],
        "resolving pull sources for upstream.invalid/team/app: ",
    );
    assert!(line.contains("is blocked"), "{line}");
}

/// `--concurrency 2` is 2 requests at a time for the whole run, not 2 per repository: a proxy
/// in front of the source registry never serves more than 2 at once while four repositories,
/// each with blobs enough to keep 2 requests busy on its own, are mirrored to disk (a layout
/// destination makes every request of the run a request to the proxy). Each blob answer
/// pauses before its body, so requests the limit lets overlap do overlap.
#[test]
fn concurrency_is_the_request_limit_of_the_whole_run() {
    let registry = TestRegistry::start();
    let proxy = registry
        .block_on(FaultProxy::start(&registry.host))
        .expect("a proxy in front of the registry");
    let pause = Fault::Stall {
        after_bytes: 0,
        duration: Duration::from_millis(150),
    };
    proxy.add(Rule::new("/blobs/", pause).method("GET"));
    let dir = tempfile::tempdir().expect("temp dir");
    let mut set = String::new();
    for r in 0..4 {
        let files: Vec<String> = (0..3)
            .map(|f| {
                write(
                    &dir.path().join(format!("r{r}f{f}.txt")),
                    &format!("{r}/{f}"),
                )
            })
            .collect();
        let reference = format!("{}/apps/r{r}:v1", registry.host);
        let mut args = vec!["push", reference.as_str()];
        args.extend(files.iter().map(String::as_str));
        args.extend(["-a", CREATED]);
        run(&args);
        set.push_str(&format!(
            "[[source]]\nrepository = \"{}/apps/r{r}\"\ntags = [\"v1\"]\n\n",
            proxy.host()
        ));
    }
    let set = write(&dir.path().join("set.toml"), &set);
    let disk = dir.path().join("disk");
    let disk_arg = disk.to_str().expect("UTF-8");
    run(&[
        "mirror",
        &set,
        "--to-oci-layout",
        disk_arg,
        "--concurrency",
        "2",
    ]);
    for r in 0..4 {
        let layout = disk.join(proxy.host()).join(format!("apps/r{r}"));
        assert!(layout.join("index.json").is_file(), "r{r} mirrored");
    }
    assert_eq!(
        proxy.max_in_flight(),
        2,
        "at most 2 requests at once over the whole run (and 2 reached: they did overlap)"
    );
}

/// A set naming one repository several times, each with another tag, to disk: the entries
/// share one layout, so they run one after another, and every tag is in its `index.json`
/// (side by side, each copy rewrote the index it had read, and tags were lost).
#[test]
fn one_repository_named_several_times_keeps_every_tag() {
    let registry = TestRegistry::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let tags = ["t1", "t2", "t3", "t4", "t5", "t6"];
    let mut set = String::new();
    for tag in tags {
        let file = write(&dir.path().join(format!("{tag}.txt")), tag);
        run(&["push", &format!("{}/apps/same:{tag}", registry.host), &file]);
        set.push_str(&format!(
            "[[source]]\nrepository = \"{}/apps/same\"\ntags = [\"{tag}\"]\n\n",
            registry.host
        ));
    }
    let set = write(&dir.path().join("set.toml"), &set);
    let disk = dir.path().join("disk");
    let report = run(&[
        "mirror",
        &set,
        "--to-oci-layout",
        disk.to_str().expect("UTF-8"),
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&report).expect("JSON");
    assert_eq!(
        report["repositories"].as_array().map(Vec::len),
        Some(tags.len()),
        "one report entry per source: {report}"
    );
    let layout = disk.join(&registry.host).join("apps/same");
    let index = std::fs::read_to_string(layout.join("index.json")).expect("index.json");
    let index: serde_json::Value = serde_json::from_str(&index).expect("index JSON");
    let mut listed: Vec<&str> = index["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .filter_map(|m| m["annotations"]["org.opencontainers.image.ref.name"].as_str())
        .collect();
    listed.sort_unstable();
    assert_eq!(listed, tags, "{index}");
}

#[test]
fn all_tags_are_the_primary_s_and_a_mirror_s_only_when_the_primary_cannot_be_reached() {
    let fx = PartialMirror::start();
    let p = &fx.primary.host;
    let set_for = |name: &str, repository: &str, site: &str| {
        write(
            &fx.dir.path().join(name),
            &format!(
                "[destination]\nregistry = \"{p}/{site}\"\n\n\
                 [[source]]\nrepository = \"{repository}\"\nall-tags = true\n"
            ),
        )
    };
    let mirror = |set: &str, conf: &str| {
        let args = ["mirror", set, "--registries-conf", conf, "--plain-http"];
        let out = oci_fetch(&args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{args:?}: {stderr}");
        stderr
    };

    let set = set_for("set.toml", &format!("{p}/listed/app"), "site");
    let stderr = mirror(&set, &fx.conf);
    assert!(!stderr.contains("warning"), "{stderr}");
    assert_eq!(
        listed_tags(&format!("{p}/site/listed/app")),
        ["v1", "v2", "v3"],
        "the primary's list, not the mirror's"
    );

    let upstream = &format!("{UNREACHABLE}/listed/app");
    let set = set_for("unreachable.toml", upstream, "fallback");
    let stderr = mirror(&set, &fx.unreachable_conf);
    assert_eq!(
        listed_tags(&format!("{p}/fallback/listed/app")),
        ["v1"],
        "the mirror's list"
    );
    assert!(stderr.contains(&fx.warning(upstream)), "{stderr}");
}
