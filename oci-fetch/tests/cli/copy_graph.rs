//! `oci-fetch copy` as a mirroring tool: destination tags (source tag by default, none for a
//! digest, several, every tag), `-r` with the referrers tree, `--platform`, and the source read
//! through `registries.conf`.

use std::collections::BTreeSet;
use std::path::Path;

use crate::publish::CREATED;
use crate::{TestRegistry, listed_tags, oci_fetch, ok};

/// Runs `oci-fetch` with `--plain-http` appended, expecting success; returns stdout trimmed.
fn run(args: &[&str]) -> String {
    let mut args = args.to_vec();
    args.push("--plain-http");
    ok(&args).trim().to_owned()
}

fn json(args: &[&str]) -> serde_json::Value {
    let mut args = args.to_vec();
    args.push("--json");
    serde_json::from_str(&run(&args)).expect("JSON")
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.to_str().expect("UTF-8").to_owned()
}

/// Pushes an artifact to `reference`, attaches a signature and an SBOM to it and a signature to
/// the SBOM. Returns the artifact's digest. The content and the manifests depend only on the
/// repository and tag (not the registry's address, nor the time): the same on every run.
pub(crate) fn artifact_with_referrers(dir: &Path, reference: &str) -> String {
    let (_, name) = reference.split_once('/').expect("HOST/REPOSITORY:TAG");
    let file = write(dir, "disk.img", &format!("disk of {name}"));
    let digest = run(&["push", reference, &file, "-a", CREATED]);
    let sig = write(dir, "sig.txt", "signature");
    let sbom = write(dir, "sbom.json", "{\"sbom\":true}");
    let attach = |subject: &str, file: &str, artifact_type: &str| {
        run(&[
            "attach",
            subject,
            file,
            "--artifact-type",
            artifact_type,
            "-a",
            CREATED,
        ])
    };
    attach(reference, &sig, "application/vnd.test.sig");
    let sbom_digest = attach(reference, &sbom, "application/vnd.test.sbom");
    let repo = reference.rsplit_once(':').expect("tagged").0;
    attach(
        &format!("{repo}@{sbom_digest}"),
        &sig,
        "application/vnd.test.sig",
    );
    digest
}

/// Every digest in a `discover -o json` tree, with its depth.
fn tree(reference: &str) -> BTreeSet<String> {
    fn walk(v: &serde_json::Value, out: &mut BTreeSet<String>) {
        match v {
            serde_json::Value::Object(o) => {
                if let Some(d) = o.get("digest").and_then(|d| d.as_str()) {
                    out.insert(d.to_owned());
                }
                o.values().for_each(|v| walk(v, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let out = run(&["discover", reference, "-o", "json", "--depth", "5"]);
    let mut digests = BTreeSet::new();
    walk(
        &serde_json::from_str(&out).expect("discover JSON"),
        &mut digests,
    );
    digests
}

#[test]
fn destination_tags_follow_the_source_and_a_digest_moves_none() {
    let registry = TestRegistry::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let host = &registry.host;
    let src = format!("{host}/tags/src:v1");
    let file = write(dir.path(), "f.txt", "hello");
    let digest = run(&["push", &src, &file]);

    run(&["copy", &src, &format!("{host}/tags/plain")]);
    assert_eq!(listed_tags(&format!("{host}/tags/plain")), ["v1"]);

    let by_digest = format!("{host}/tags/src@{digest}");
    let copied = json(&["copy", &by_digest, &format!("{host}/tags/bydigest")]);
    assert_eq!(copied["tags"], serde_json::json!([]), "{copied}");
    let latest = oci_fetch(&[
        "manifest",
        "fetch",
        "--plain-http",
        &format!("{host}/tags/bydigest:latest"),
    ]);
    assert_eq!(latest.status.code(), Some(1), "no latest was written");
    let fetched = run(&[
        "manifest",
        "fetch",
        &format!("{host}/tags/bydigest@{digest}"),
    ]);
    assert!(fetched.contains("schemaVersion"));

    run(&["copy", &src, &format!("{host}/tags/many:x,y,z")]);
    assert_eq!(listed_tags(&format!("{host}/tags/many")), ["x", "y", "z"]);
}

#[test]
fn all_tags_copies_every_tag_and_a_second_run_nothing() {
    let registry = TestRegistry::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let host = &registry.host;
    for tag in ["v1", "v2", "v3"] {
        let file = write(dir.path(), "f.txt", tag);
        run(&["push", &format!("{host}/all/src:{tag}"), &file]);
    }
    let (src, dst) = (format!("{host}/all/src"), format!("{host}/all/dst"));
    let first = json(&["copy", "--all-tags", &src, &dst]);
    assert_eq!(first["roots"].as_array().map(Vec::len), Some(3), "{first}");
    assert_eq!(first["tagged"], 3, "{first}");
    assert_eq!(listed_tags(&dst), ["v1", "v2", "v3"]);
    let second = json(&["copy", "--all-tags", &src, &dst]);
    assert_eq!(
        (&second["copied"], &second["tagged"], &second["mounted"]),
        (&0.into(), &0.into(), &0.into()),
        "{second}"
    );
}

#[test]
fn recursive_copy_brings_the_referrers_tree_to_another_registry() {
    let first = TestRegistry::start();
    let second = TestRegistry::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let src = format!("{}/graph/app:v1", first.host);
    let digest = artifact_with_referrers(dir.path(), &src);
    let want = tree(&src);
    assert_eq!(
        want.len(),
        4,
        "subject, two referrers, one of the SBOM: {want:?}"
    );

    let plain = format!("{}/graph/plain", second.host);
    run(&["copy", &src, &plain]);
    assert_eq!(
        tree(&format!("{plain}:v1")).len(),
        1,
        "without -r, no referrers"
    );

    let dst = format!("{}/graph/app", second.host);
    let copied = json(&["copy", "-r", "--concurrency", "4", &src, &dst]);
    assert_eq!(copied["digest"], digest.as_str(), "{copied}");
    assert_eq!(tree(&format!("{dst}:v1")), want);
    // One request at a time: the destination's referrers listings, the referrers pushed and
    // recorded in one edit, and the tag (which gives its place back while it reads the root)
    // never wait for a place their own copy holds.
    let serial = format!("{}/graph/serial", second.host);
    json(&["copy", "-r", "--concurrency", "1", &src, &serial]);
    assert_eq!(tree(&format!("{serial}:v1")), want);
    let again = json(&["copy", "-r", &src, &dst]);
    assert_eq!(
        (&again["copied"], &again["tagged"]),
        (&0.into(), &0.into()),
        "{again}"
    );
}

#[test]
fn platform_narrows_an_index_to_one_entry() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/machine-images");
    let dir = tempfile::tempdir().expect("temp dir");
    let from = format!("{}:fedora-42", example.display());
    let to = format!("{}:arm", dir.path().join("out").display());
    let out = ok(&[
        "copy",
        "--from-oci-layout",
        "--to-oci-layout",
        "--platform",
        "linux/aarch64",
        "--json",
        &from,
        &to,
    ]);
    let out: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(
        out["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert!(
        out["digest"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:60d7414e")),
        "the first aarch64 entry: {out}"
    );
    let missing = oci_fetch(&[
        "copy",
        "--from-oci-layout",
        "--to-oci-layout",
        "--platform",
        "linux/s390x",
        &from,
        &to,
    ]);
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(missing.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no entry for platform linux/s390x"),
        "{stderr}"
    );
}

#[test]
fn the_source_is_read_through_registries_conf() {
    let registry = TestRegistry::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let host = &registry.host;
    let file = write(dir.path(), "f.txt", "mirrored");
    let digest = run(&["push", &format!("{host}/mirror/app:v1"), &file]);
    let conf = write(
        dir.path(),
        "registries.conf",
        &format!(
            "[[registry]]\nprefix = \"primary.invalid\"\nlocation = \"primary.invalid\"\n\
             [[registry.mirror]]\nlocation = \"{host}/mirror\"\ninsecure = true\n"
        ),
    );
    let copied = json(&[
        "copy",
        "--registries-conf",
        &conf,
        "primary.invalid/app:v1",
        &format!("{host}/copied/app"),
    ]);
    assert_eq!(copied["digest"], digest.as_str(), "{copied}");
    assert_eq!(listed_tags(&format!("{host}/copied/app")), ["v1"]);
}

/// Nothing listens here: a primary location that cannot be reached.
pub(crate) const UNREACHABLE: &str = "127.0.0.1:1";

/// A primary registry whose `listed/app` has `v1`, `v2` and `v3`, and a second registry, its
/// registries.conf mirror, that has `v1` only (a pull-through cache that cached one tag).
/// `conf` puts the mirror before the primary; `unreachable_conf` puts the same mirror before
/// [`UNREACHABLE`] (a disconnected site naming the upstream repository); `blocked_conf` blocks
/// the primary, leaving the mirror alone.
pub(crate) struct PartialMirror {
    pub(crate) primary: TestRegistry,
    pub(crate) mirror: TestRegistry,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) conf: String,
    pub(crate) unreachable_conf: String,
    pub(crate) blocked_conf: String,
}

impl PartialMirror {
    pub(crate) fn start() -> PartialMirror {
        let primary = TestRegistry::start();
        let mirror = TestRegistry::start();
        let dir = tempfile::tempdir().expect("temp dir");
        for tag in ["v1", "v2", "v3"] {
            let file = write(dir.path(), "f.txt", tag);
            run(&["push", &format!("{}/listed/app:{tag}", primary.host), &file]);
        }
        let file = write(dir.path(), "f.txt", "v1");
        run(&["push", &format!("{}/listed/app:v1", mirror.host), &file]);
        let conf_for = |name: &str, location: &str, blocked: bool| {
            write(
                dir.path(),
                name,
                &format!(
                    "[[registry]]\nprefix = \"{location}\"\nlocation = \"{location}\"\n\
                     insecure = true\nblocked = {blocked}\n\
                     [[registry.mirror]]\nlocation = \"{}\"\ninsecure = true\n",
                    mirror.host
                ),
            )
        };
        let conf = conf_for("registries.conf", &primary.host, false);
        let unreachable_conf = conf_for("unreachable.conf", UNREACHABLE, false);
        let blocked_conf = conf_for("blocked.conf", &primary.host, true);
        PartialMirror {
            primary,
            mirror,
            dir,
            conf,
            unreachable_conf,
            blocked_conf,
        }
    }

    /// The warning a listing by the mirror gives when the primary `primary` (`HOST/REPO`) could
    /// not be reached.
    pub(crate) fn warning(&self, primary: &str) -> String {
        format!(
            "warning: tags listed by mirror {}/listed/app (the primary {primary} could not be \
             reached: ",
            self.mirror.host
        )
    }
}

/// `oci-fetch copy --all-tags --registries-conf CONF SRC DST --plain-http`: its exit code and
/// stderr.
fn copy_all_tags(conf: &str, src: &str, dst: &str) -> (Option<i32>, String) {
    let args = [
        "copy",
        "--all-tags",
        "--registries-conf",
        conf,
        src,
        dst,
        "--plain-http",
    ];
    let out = oci_fetch(&args);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn all_tags_are_the_primary_s_and_a_mirror_s_only_when_the_primary_cannot_be_reached() {
    let fx = PartialMirror::start();
    let p = &fx.primary.host;
    let copied = format!("{p}/copied/app");
    let (code, stderr) = copy_all_tags(&fx.conf, &format!("{p}/listed/app"), &copied);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    assert_eq!(
        listed_tags(&copied),
        ["v1", "v2", "v3"],
        "the primary's list, not the mirror's"
    );

    let fallback = format!("{p}/fallback/app");
    let (code, stderr) = copy_all_tags(
        &fx.unreachable_conf,
        &format!("{UNREACHABLE}/listed/app"),
        &fallback,
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(listed_tags(&fallback), ["v1"], "the mirror's list");
    let warning = fx.warning(&format!("{UNREACHABLE}/listed/app"));
    assert!(stderr.contains(&warning), "{stderr}");

    // A primary that answers, even "not found", is the answer: the mirror is not asked.
    let m = &fx.mirror.host;
    let file = write(fx.dir.path(), "f.txt", "mirror only");
    run(&["push", &format!("{m}/mirror-only/app:v1"), &file]);
    let (code, stderr) = copy_all_tags(
        &fx.conf,
        &format!("{p}/mirror-only/app"),
        &format!("{p}/copied-nothing/app"),
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("tags from {p}/mirror-only/app")),
        "{stderr}"
    );

    // A blocked primary is not asked: the mirror lists, and says the primary is blocked.
    let from_blocked = format!("{m}/from-blocked/app");
    let (code, stderr) = copy_all_tags(&fx.blocked_conf, &format!("{p}/listed/app"), &from_blocked);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(listed_tags(&from_blocked), ["v1"], "the mirror's list");
    assert!(
        stderr.contains(&format!(
            "warning: tags listed by mirror {m}/listed/app (no primary to ask: registries.conf \
             blocks it)"
        )),
        "{stderr}"
    );
}
