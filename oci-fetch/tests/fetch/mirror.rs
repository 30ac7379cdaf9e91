//! Mirror set files: what parses, what is refused (and the message says why), how tag
//! patterns match and where each repository goes; a run refusing a source registries.conf
//! blocks even when its pull sources were resolved for another set.

use std::path::{Path, PathBuf};

use oci_client::registries::RegistriesConf;
use oci_fetch::copy::CopyOptions;
use oci_fetch::mirror::{
    MAX_SET_FILE_BYTES, MirrorDestination, MirrorError, MirrorOrigin, MirrorSet, Placed, SetError,
    SetPullSources, TagSelection, mirror,
};
use oci_ref::{Reference, Tag};

fn parse(text: &str) -> Result<MirrorSet, SetError> {
    MirrorSet::parse(text, Path::new("/sets/set.toml"))
}

/// Asserts that `text` is refused with a message containing `needle`.
fn check_refused(text: &str, needle: &str) {
    let err = parse(text).expect_err("refused");
    assert!(err.to_string().contains(needle), "{needle:?} in {err}");
}

#[test]
fn a_full_set_parses() {
    let set = parse(
        r#"
[destination]
layout = "disk"

[[source]]
repository = "quay.io/org/app"
tags = ["v1", "v2"]
platform = "linux/amd64"

[[source]]
repository = "registry.example:5000/team/tool"
all-tags = true
referrers = false

[[source]]
repository = "ghcr.io/x/y"
tag-pattern = "v1.*"

[[source]]
repository = "ghcr.io/x/pinned"
digests = ["sha256:0000000000000000000000000000000000000000000000000000000000000000"]
"#,
    )
    .expect("valid set");
    assert_eq!(
        set.destination,
        Some(MirrorDestination::Layout(PathBuf::from("/sets/disk")))
    );
    assert_eq!(set.sources.len(), 4);
    let tags = |v: &[&str]| v.iter().map(|t| Tag::parse(t).expect("tag")).collect();
    assert_eq!(
        set.sources[0].selection,
        TagSelection::Tags(tags(&["v1", "v2"]))
    );
    assert!(set.sources[0].referrers, "referrers default on");
    assert_eq!(
        set.sources[0]
            .platform
            .as_ref()
            .and_then(|p| p.architecture.as_deref()),
        Some("amd64")
    );
    assert_eq!(set.sources[1].selection, TagSelection::All);
    assert!(!set.sources[1].referrers);
    assert!(matches!(set.sources[3].selection, TagSelection::Digests(ref d) if d.len() == 1));
}

#[test]
fn bad_sets_are_refused_with_the_reason() {
    let src = "[[source]]\nrepository = \"quay.io/a/b\"\n";
    check_refused("", "no [[source]]");
    check_refused(&format!("{src}tags = [\"v1\"]\ncolour = 1\n"), "colour");
    check_refused(src, "exactly one of tags");
    check_refused(
        &format!("{src}tags = [\"v1\"]\nall-tags = true\n"),
        "exactly one",
    );
    check_refused(&format!("{src}tags = [\"bad tag\"]\n"), "invalid tag");
    check_refused(
        &format!("{src}digests = [\"sha256:zz\"]\n"),
        "invalid digest",
    );
    check_refused(
        &format!("{src}all-tags = true\nplatform = \"linux\"\n"),
        "OS/ARCH",
    );
    check_refused(
        "[[source]]\nrepository = \"quay.io/a/b:v1\"\nall-tags = true\n",
        "without tag or digest",
    );
    check_refused(
        &format!("[destination]\nregistry = \"m:5000\"\nlayout = \"d\"\n{src}all-tags = true\n"),
        "exactly one of registry and layout",
    );
    check_refused(
        &format!("[destination]\nregistry = \"Not A Host/x\"\n{src}all-tags = true\n"),
        "invalid destination registry",
    );
    check_refused("[[source]\n", "set.toml");
    // A syntax error names the file, the line and the column, on one line with no excerpt.
    let err = parse(&format!("{src}tags = [v1]\n"))
        .expect_err("refused")
        .to_string();
    assert!(
        err.starts_with("/sets/set.toml: line 3, column 9: "),
        "{err}"
    );
    assert!(!err.contains('|') && !err.contains('\n'), "{err}");
}

/// A set "file" with no length to check first (a device, a pipe) is read only up to the limit.
#[test]
fn a_set_file_is_read_only_up_to_its_limit() {
    let err = MirrorSet::load(Path::new("/dev/zero")).expect_err("refused");
    assert!(
        matches!(
            err,
            SetError::TooLarge {
                limit: MAX_SET_FILE_BYTES,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn tag_patterns_match_like_a_shell_glob() {
    let check = |pattern: &str, tag: &str, want: bool| {
        let selection = TagSelection::Pattern(pattern.to_owned());
        let tag = Tag::parse(tag).expect("tag");
        assert_eq!(selection.matches(&tag), want, "{pattern} ~ {tag}");
    };
    check("v1.*", "v1.2", true);
    check("v1.*", "v10", false);
    check("*", "anything", true);
    check("v?", "v1", true);
    check("v?", "v12", false);
    check("*-rc*", "1.0-rc2", true);
    check("a*b*c", "axxbyyc", true);
    check("a*b*c", "axxbyy", false);
}

#[test]
fn each_repository_has_its_place() {
    let source = Reference::parse("quay.io/org/app").expect("reference");
    let check = |destination: MirrorDestination, want: Placed| {
        assert_eq!(destination.place(&source).expect("placed"), want);
    };
    let registry = |r: &str| Placed::Registry(Reference::parse(r).expect("reference"));
    check(
        MirrorDestination::registry("mirror.example:5000/m/").expect("valid"),
        registry("mirror.example:5000/m/org/app:latest"),
    );
    check(
        MirrorDestination::registry("mirror.example").expect("valid"),
        registry("mirror.example/org/app:latest"),
    );
    check(
        MirrorDestination::Layout(PathBuf::from("/d")),
        Placed::Layout(PathBuf::from("/d/quay.io/org/app")),
    );
}

/// Pull sources resolved for one set, given to a run of another: the other set's source is
/// resolved with the same registries.conf, so one it blocks is refused before anything is
/// copied (it used to be read directly, past registries.conf).
#[tokio::test]
async fn a_source_not_resolved_beforehand_goes_through_the_same_registries_conf() {
    let conf = RegistriesConf::parse_str(
        "[[registry]]\nprefix = \"blocked.example\"\nlocation = \"blocked.example\"\nblocked = true\n",
        "registries.conf",
    )
    .expect("valid registries.conf");
    let resolved = parse("[[source]]\nrepository = \"open.example/app\"\ntags = [\"v1\"]\n")
        .expect("valid set");
    let pulls = SetPullSources::resolve(&conf, &resolved).expect("open.example is not blocked");
    let other = parse("[[source]]\nrepository = \"blocked.example/app\"\ntags = [\"v1\"]\n")
        .expect("valid set");
    oci_client::install_crypto_provider();
    let client = oci_client::Client::builder()
        .keychain(oci_auth::Keychain::empty())
        .build()
        .expect("client");
    let dir = tempfile::tempdir().expect("temp dir");
    let disk = dir.path().join("disk");
    let err = mirror(
        &client,
        &other,
        &MirrorOrigin::Registries(pulls),
        &MirrorDestination::Layout(disk.clone()),
        &CopyOptions::default(),
    )
    .await
    .expect_err("blocked by registries.conf");
    assert!(
        matches!(&err, MirrorError::PullSources { repository, .. } if repository == "blocked.example/app"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("resolving pull sources for blocked.example/app: "),
        "{err}"
    );
    assert!(!disk.exists(), "nothing written before the refusal");
}
