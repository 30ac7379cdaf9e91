//! Policy files: the TOML format and its errors, which name the line.

use oci_select::{Candidate, Policy, PolicyFileError};

use crate::{entry, layers};

fn check_error(text: &str) -> String {
    match Policy::from_toml(text) {
        Ok(p) => panic!("expected an error, got {p:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn every_kind_parses() {
    let text = r#"
# a comment
[[rule]]
kind = "architecture"
value = "arm64"
aliases = "ironic"
missing = "reject"

[[rule]]
kind = "os"
value = "linux"

[[rule]]
kind = "variant"
value = "v8"
missing = "pass"

[[rule]]
kind = "disk-format"
prefer = ["raw", "qcow2"]
unlisted = "last"

[[rule]]
kind = "disk-format"
download-source = "local"

[[rule]]
kind = "artifact-type"
any-of = ["application/vnd.a", "application/vnd.b"]

[[rule]]
kind = "media-type"
value = "application/zstd"
target = "layer"

[[rule]]
kind = "annotation"
key = "org.example.flavour"
equals = "minimal"

[[rule]]
kind = "annotation"
key = "org.example.signed"

[[rule]]
kind = "single-layer"
container-images = "reject"

[[rule]]
kind = "container-image"
mode = "reject"
"#;
    let policy = Policy::from_toml(text).expect("valid");
    let described: Vec<String> = policy.rules().iter().map(|r| r.describe()).collect();
    insta::assert_snapshot!(described.join("\n"));
}

#[test]
fn empty_file_is_an_empty_policy() {
    assert!(Policy::from_toml("").expect("valid").rules().is_empty());
}

#[test]
fn file_policy_selects_like_the_rust_one() {
    let text = "[[rule]]\nkind = \"architecture\"\nvalue = \"aarch64\"\n\n[[rule]]\nkind = \"disk-format\"\ndownload-source = \"http\"\n\n[[rule]]\nkind = \"single-layer\"\n";
    let from_file = Policy::from_toml(text).expect("valid");
    let candidates: Vec<Candidate> = vec![
        entry(0, "a0", "x86_64", Some("raw")).with_manifest(layers(1)),
        entry(1, "a1", "arm64", Some("qcow2")).with_manifest(layers(1)),
        entry(2, "a2", "arm64", Some("raw")).with_manifest(layers(1)),
    ];
    let rust = Policy::ironic(oci_select::DownloadSource::Http, Some("aarch64"));
    assert_eq!(
        from_file.explain(&candidates).winner,
        rust.explain(&candidates).winner
    );
    assert_eq!(from_file.explain(&candidates).winner, Some(2));
}

#[test]
fn errors_name_the_line() {
    let cases = [
        ("syntax", "[[rule]]\nkind = \"os\nvalue = \"linux\"\n"),
        (
            "unknown_kind",
            "[[rule]]\nkind = \"os\"\nvalue = \"linux\"\n\n[[rule]]\nkind = \"arch\"\n",
        ),
        ("missing_kind", "[[rule]]\nvalue = \"linux\"\n"),
        (
            "unknown_key",
            "[[rule]]\nkind = \"architecture\"\nvalue = \"arm64\"\nvariant = \"v8\"\n",
        ),
        ("missing_value", "\n\n[[rule]]\nkind = \"architecture\"\n"),
        (
            "wrong_type",
            "[[rule]]\nkind = \"disk-format\"\nprefer = \"raw\"\n",
        ),
        (
            "wrong_item_type",
            "[[rule]]\nkind = \"disk-format\"\nprefer = [\"raw\", 3]\n",
        ),
        (
            "invalid_choice",
            "[[rule]]\nkind = \"os\"\nvalue = \"linux\"\nmissing = \"maybe\"\n",
        ),
        (
            "swift",
            "[[rule]]\nkind = \"disk-format\"\ndownload-source = \"swift\"\n",
        ),
        (
            "unknown_source",
            "[[rule]]\nkind = \"disk-format\"\ndownload-source = \"ftp\"\n",
        ),
        (
            "both_prefer_and_source",
            "[[rule]]\nkind = \"disk-format\"\nprefer = [\"raw\"]\ndownload-source = \"http\"\n",
        ),
        (
            "neither_value_nor_any_of",
            "[[rule]]\nkind = \"artifact-type\"\n",
        ),
        (
            "empty_any_of",
            "[[rule]]\nkind = \"media-type\"\nany-of = []\n",
        ),
        ("unknown_top_level", "rules = 1\n"),
        ("rule_not_array", "rule = \"x\"\n"),
        ("rule_as_table", "[rule]\nkind = \"os\"\n"),
        (
            "container_image_without_mode",
            "[[rule]]\nkind = \"container-image\"\n",
        ),
    ];
    let text: Vec<String> = cases
        .iter()
        .map(|(name, t)| format!("{name}: {}", check_error(t)))
        .collect();
    insta::assert_snapshot!(text.join("\n"));
}

#[test]
fn swift_is_a_typed_error() {
    let err = Policy::from_toml("[[rule]]\nkind = \"disk-format\"\ndownload-source = \"swift\"\n")
        .expect_err("swift is refused");
    assert!(matches!(
        err,
        PolicyFileError::DownloadSource {
            line: 3,
            source: oci_select::DownloadSourceError::Swift,
            ..
        }
    ));
}

#[test]
fn hostile_files_never_panic() {
    for text in [
        "[[rule]]\n",
        "rule = []",
        "[[rule]]\nkind = 1",
        "\u{feff}",
        "[[rule]]\nkind=\"os\"\nvalue=\"\u{1F600}\"\nx=1",
        "a.b.c = [[[]]]",
    ] {
        let _ = Policy::from_toml(text);
    }
}
