//! Pulling an artifact's files by title, and refusing hostile titles.

use bytes::Bytes;
use oci_fetch::descriptor::{ANNOTATION_TITLE, Descriptor};
use oci_fetch::pull::{
    PullError, PullOptions, TitleProblem, pull_files, safe_relative_path, untitled_name,
};
use oci_fetch::source::MemorySource;

use crate::common::{assert_empty, descriptor, entries, payload, sha256};

fn layer(src: &mut MemorySource, title: Option<&str>, data: &[u8]) -> Descriptor {
    src.insert(sha256(data), Bytes::copy_from_slice(data));
    let d = descriptor("application/octet-stream", data);
    match title {
        Some(t) => d.with_annotation(ANNOTATION_TITLE, t),
        None => d,
    }
}

#[test]
fn title_rules() {
    let check = |title: &str, expected: Result<&str, TitleProblem>| {
        let got = safe_relative_path(title);
        let got = got
            .as_ref()
            .map(|p| p.to_str().expect("utf-8"))
            .map_err(|e| *e);
        assert_eq!(got, expected, "{title:?}");
    };
    check("disk.qcow2", Ok("disk.qcow2"));
    check("boot/vmlinuz", Ok("boot/vmlinuz"));
    check("..disk", Ok("..disk"));
    check("", Err(TitleProblem::Empty));
    check("/etc/passwd", Err(TitleProblem::Absolute));
    check("../x", Err(TitleProblem::ParentComponent));
    check("a/../../x", Err(TitleProblem::ParentComponent));
    check("..", Err(TitleProblem::ParentComponent));
    check("a//b", Err(TitleProblem::EmptyOrDotComponent));
    check("./a", Err(TitleProblem::EmptyOrDotComponent));
    check("a/", Err(TitleProblem::EmptyOrDotComponent));
    check("..\\x", Err(TitleProblem::ForbiddenCharacter));
    check("a\0b", Err(TitleProblem::ForbiddenCharacter));
}

#[tokio::test]
async fn pulls_titled_and_untitled_layers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut src = MemorySource::new();
    let a = layer(&mut src, Some("disk.img"), &payload(5000));
    let b = layer(&mut src, Some("boot/vmlinuz"), b"kernel");
    let c = layer(&mut src, None, b"untitled");
    let files = pull_files(
        &src,
        &[a, b, c.clone()],
        dir.path(),
        &PullOptions::default(),
    )
    .await
    .expect("pull");
    let names: Vec<_> = files.iter().map(|f| f.name.as_str()).collect();
    let untitled = untitled_name(&c);
    assert_eq!(names, vec!["disk.img", "boot/vmlinuz", untitled.as_str()]);
    assert!(untitled.starts_with("sha256-"));
    assert_eq!(
        std::fs::read(dir.path().join("boot/vmlinuz")).expect("kernel"),
        b"kernel"
    );
    assert_eq!(
        std::fs::read(dir.path().join(&untitled)).expect("untitled"),
        b"untitled"
    );
    let mut want = vec!["boot".to_owned(), "disk.img".to_owned(), untitled];
    want.sort();
    assert_eq!(entries(dir.path()), want);
}

/// Pulls layers titled `titles` into a fresh directory; expects failure and an empty directory.
async fn check_refused(titles: &[&str]) -> PullError {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut src = MemorySource::new();
    let layers: Vec<_> = titles
        .iter()
        .enumerate()
        .map(|(i, t)| layer(&mut src, Some(t), &payload(10 + i)))
        .collect();
    let err = pull_files(&src, &layers, dir.path(), &PullOptions::default())
        .await
        .expect_err("refused");
    assert_empty(dir.path());
    err
}

#[tokio::test]
async fn hostile_titles_are_refused_naming_the_title() {
    for title in ["/tmp/evil", "../evil", "a/../../evil", "a\\..\\evil", ""] {
        let err = check_refused(&["ok", title]).await;
        assert!(
            matches!(&err, PullError::UnsafeTitle { title: t, .. } if t == title),
            "{err:?}"
        );
        assert!(err.to_string().contains(&format!("{title:?}")), "{err}");
    }
}

#[tokio::test]
async fn duplicate_titles_are_refused() {
    let err = check_refused(&["same", "other", "same"]).await;
    assert!(
        matches!(&err, PullError::DuplicateTitle { title } if title == "same"),
        "{err:?}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn symlinks_in_the_output_dir_are_refused() {
    let outside = tempfile::tempdir().expect("outside");
    for (link, title) in [("file", "file"), ("sub", "sub/file")] {
        let dir = tempfile::tempdir().expect("tempdir");
        std::os::unix::fs::symlink(outside.path().join("target"), dir.path().join(link))
            .expect("symlink");
        if link == "sub" {
            std::fs::create_dir(outside.path().join("target")).ok();
        }
        let mut src = MemorySource::new();
        let l = layer(&mut src, Some(title), b"evil");
        let err = pull_files(&src, &[l], dir.path(), &PullOptions::default())
            .await
            .expect_err("symlink");
        assert!(
            matches!(&err, PullError::Symlink { title: t, .. } if t == title),
            "{err:?}"
        );
        assert_eq!(entries(dir.path()), vec![link.to_owned()]);
        assert!(
            !outside.path().join("target").is_file(),
            "nothing written through the link"
        );
        assert!(
            !outside.path().join("target/file").exists(),
            "nothing written through the link"
        );
    }
}

#[tokio::test]
async fn existing_file_is_refused_unless_overwrite() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("f"), b"old").expect("seed");
    let mut src = MemorySource::new();
    let l = layer(&mut src, Some("f"), b"new");
    let err = pull_files(
        &src,
        std::slice::from_ref(&l),
        dir.path(),
        &PullOptions::default(),
    )
    .await
    .expect_err("exists");
    assert!(matches!(err, PullError::Exists { .. }), "{err:?}");
    let mut opts = PullOptions::default();
    opts.overwrite = true;
    pull_files(&src, &[l], dir.path(), &opts)
        .await
        .expect("overwrite");
    assert_eq!(std::fs::read(dir.path().join("f")).expect("f"), b"new");
}

#[tokio::test]
async fn one_failure_removes_the_files_this_pull_created() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut src = MemorySource::new();
    let good = layer(&mut src, Some("good"), &payload(100));
    let data = payload(200);
    let mut bad_bytes = data.clone();
    bad_bytes[0] ^= 1;
    src.insert(sha256(&data), bad_bytes);
    let bad = descriptor("x", &data).with_annotation(ANNOTATION_TITLE, "sub/dir/bad");
    let mut opts = PullOptions::default();
    opts.concurrency = 1;
    let err = pull_files(&src, &[good, bad], dir.path(), &opts)
        .await
        .expect_err("bad layer");
    assert!(
        matches!(&err, PullError::Download { title, .. } if title == "sub/dir/bad"),
        "{err:?}"
    );
    assert_empty(dir.path());
}

proptest::proptest! {
    /// An accepted title is a relative path of normal components only: it cannot leave the dir.
    #[test]
    fn accepted_titles_stay_inside(title in "[a./\\\\:C-]{0,12}") {
        if let Ok(path) = safe_relative_path(&title) {
            proptest::prop_assert!(path.components().all(|c| matches!(c, std::path::Component::Normal(_))));
            proptest::prop_assert!(path.components().count() >= 1);
        }
    }
}
