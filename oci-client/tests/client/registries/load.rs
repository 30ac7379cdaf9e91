//! `RegistriesConf::load` and `LoadOptions`: which files are read, drop-in directories,
//! missing files, limits. Every test builds its own tree; none reads the machine's files.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use oci_client::registries::{
    DropIns, Error, LoadOptions, MAX_CONFIG_FILE_BYTES, MAX_DROP_IN_FILES, RegistriesConf,
    ShortNameMode,
};

use super::{fixtures, redact};

/// A temporary tree with a `root/` (for `/etc/...`) and a `home/`.
struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    fn new() -> Tree {
        Tree {
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// Writes `text` at `path` (relative to the tree), creating directories.
    fn write(&self, path: &str, text: &str) -> PathBuf {
        let full = self.dir.path().join(path);
        fs::create_dir_all(full.parent().expect("has a parent")).expect("create directories");
        fs::write(&full, text).expect("write file");
        full
    }

    /// Writes one [`table`] for each `(path, location)`.
    fn tables(&self, files: &[(&str, &str)]) {
        for (path, location) in files {
            self.write(path, &table(location));
        }
    }

    fn options(&self) -> LoadOptions {
        LoadOptions::default()
            .with_root(self.root())
            .with_home(self.home())
    }

    /// Loads and renders which files were read, relative to the tree.
    fn files(&self, options: &LoadOptions) -> Vec<String> {
        let c = RegistriesConf::load(options).expect("loads");
        c.files().iter().map(|p| self.relative(p)).collect()
    }

    fn relative(&self, p: &Path) -> String {
        p.strip_prefix(self.dir.path())
            .unwrap_or(p)
            .display()
            .to_string()
    }
}

/// One table per file, so each file's presence is visible.
fn table(location: &str) -> String {
    format!("[[registry]]\nlocation = \"{location}\"\n")
}

#[test]
fn system_file_then_system_and_user_drop_ins() {
    let t = Tree::new();
    t.tables(&[
        ("root/etc/containers/registries.conf", "system.com"),
        ("root/etc/containers/registries.conf.d/b.conf", "b.com"),
        ("root/etc/containers/registries.conf.d/a.conf", "a.com"),
        ("home/.config/containers/registries.conf.d/u.conf", "u.com"),
    ]);
    assert_eq!(
        t.files(&t.options()),
        [
            "root/etc/containers/registries.conf",
            "root/etc/containers/registries.conf.d/a.conf",
            "root/etc/containers/registries.conf.d/b.conf",
            "home/.config/containers/registries.conf.d/u.conf",
        ]
    );
}

#[test]
fn user_file_replaces_the_system_file_and_directory() {
    let t = Tree::new();
    t.tables(&[
        ("root/etc/containers/registries.conf", "system.com"),
        ("root/etc/containers/registries.conf.d/a.conf", "a.com"),
        ("home/.config/containers/registries.conf", "user.com"),
        ("home/.config/containers/registries.conf.d/u.conf", "u.com"),
    ]);
    assert_eq!(
        t.files(&t.options()),
        [
            "home/.config/containers/registries.conf",
            "home/.config/containers/registries.conf.d/u.conf"
        ]
    );
}

#[test]
fn explicit_file_wins_and_keeps_default_drop_ins() {
    let t = Tree::new();
    t.tables(&[
        ("root/etc/containers/registries.conf", "system.com"),
        ("root/etc/containers/registries.conf.d/a.conf", "a.com"),
        ("home/.config/containers/registries.conf", "user.com"),
        ("home/.config/containers/registries.conf.d/u.conf", "u.com"),
    ]);
    let explicit = t.write("elsewhere/my.conf", &table("explicit.com"));
    assert_eq!(
        t.files(&t.options().with_file(&explicit)),
        [
            "elsewhere/my.conf",
            "root/etc/containers/registries.conf.d/a.conf",
            "home/.config/containers/registries.conf.d/u.conf",
        ]
    );
}

#[test]
fn drop_in_override_replaces_both_directories() {
    let t = Tree::new();
    t.tables(&[
        ("root/etc/containers/registries.conf.d/a.conf", "a.com"),
        ("home/.config/containers/registries.conf.d/u.conf", "u.com"),
        ("custom.d/c.conf", "c.com"),
    ]);
    let options = t
        .options()
        .with_drop_ins(DropIns::Dir(t.dir.path().join("custom.d")));
    assert_eq!(t.files(&options), ["custom.d/c.conf"]);
    // With the user file too.
    t.write(
        "home/.config/containers/registries.conf",
        &table("user.com"),
    );
    assert_eq!(
        t.files(&options),
        ["home/.config/containers/registries.conf", "custom.d/c.conf"]
    );
    let options = t.options().with_drop_ins(DropIns::Disabled);
    assert_eq!(
        t.files(&options),
        ["home/.config/containers/registries.conf"]
    );
}

#[test]
fn missing_implicit_file_is_an_empty_configuration() {
    let t = Tree::new();
    let c = RegistriesConf::load(&t.options()).expect("an empty configuration");
    assert_eq!(c, RegistriesConf::default());
    // Drop-ins still apply without a main file.
    t.write(
        "root/etc/containers/registries.conf.d/a.conf",
        &table("a.com"),
    );
    let c = RegistriesConf::load(&t.options()).expect("loads");
    assert_eq!(c.registries().len(), 1);
}

#[test]
fn missing_explicit_file_is_an_error() {
    let t = Tree::new();
    let missing = t.dir.path().join("nope.conf");
    let err = RegistriesConf::load(&t.options().with_file(&missing)).expect_err("missing");
    match &err {
        Error::NotFound { path } => assert_eq!(path, &missing),
        other => panic!("{other:?}"),
    }
    // Paths are used literally: no `$HOME` expansion.
    let literal = LoadOptions::default().with_file("$HOME/registries.conf");
    let err = RegistriesConf::load(&literal).expect_err("missing");
    insta::assert_snapshot!(err.to_string(), @"registries configuration $HOME/registries.conf: no such file");
}

#[test]
fn only_regular_conf_files_in_byte_order() {
    let t = Tree::new();
    let d = "root/etc/containers/registries.conf.d";
    for name in [
        "9.conf",
        "10.conf",
        "a.conf",
        "B.conf",
        "x.conf.bak",
        "readme",
        ".conf",
    ] {
        t.write(&format!("{d}/{name}"), "");
    }
    t.write(&format!("{d}/sub.conf/inner.conf"), "not toml [");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(
            t.dir.path().join("nowhere.conf"),
            t.dir.path().join(d).join("dangling.conf"),
        )
        .expect("symlink");
        let target = t.write("linked-target.toml", "");
        std::os::unix::fs::symlink(target, t.dir.path().join(d).join("linked.conf"))
            .expect("symlink");
    }
    let files = t.files(&t.options());
    let names: Vec<&str> = files
        .iter()
        .map(|f| f.rsplit('/').next().unwrap_or(f))
        .collect();
    #[cfg(unix)]
    assert_eq!(
        names,
        [
            ".conf",
            "10.conf",
            "9.conf",
            "B.conf",
            "a.conf",
            "linked.conf"
        ]
    );
    #[cfg(not(unix))]
    assert_eq!(names, [".conf", "10.conf", "9.conf", "B.conf", "a.conf"]);
}

#[test]
fn registries_conf_d_fixture() {
    let options = LoadOptions::default()
        .with_file(fixtures().join("base.conf"))
        .with_drop_ins(DropIns::Dir(fixtures().join("registries.conf.d")));
    let c = RegistriesConf::load(&options).expect("loads");
    let files: Vec<String> = c
        .files()
        .iter()
        .map(|p| redact(&p.display().to_string()))
        .collect();
    insta::assert_snapshot!(files.join("\n"));
    assert_eq!(c.unqualified_search_registries(), ["example-overwrite.com"]);
    let origin = c.unqualified_search_registries_origin().expect("origin");
    assert!(
        origin.ends_with("registries.conf.d/config-1.conf"),
        "{}",
        origin.display()
    );
    let locations: Vec<&str> = c.registries().iter().map(|r| r.location.as_str()).collect();
    assert_eq!(
        locations,
        [
            "subdomain-prefix-3-overridden-by-dropin-location.com",
            "subdomain-prefix-2-overridden-by-dropin-location.com",
            "subdomain-prefix-1-overridden-by-dropin-location.com",
            "1.com",
            "2.com",
            "base.com",
        ]
    );
    let base = c.find_registry("base.com").expect("base.com");
    assert!(base.blocked);
    assert!(
        !base.insecure,
        "the replacing table drops the base file's insecure flag"
    );
    assert_eq!(c.credential_helpers(), ["dropin-1", "dropin-2"]);
    assert_eq!(c.short_name_mode(), ShortNameMode::Permissive);
}

#[test]
fn aliases_and_mode_across_drop_ins() {
    let options = LoadOptions::default()
        .with_file(fixtures().join("aliases.conf"))
        .with_drop_ins(DropIns::Dir(fixtures().join("registries.conf.d")));
    let c = RegistriesConf::load(&options).expect("loads");
    assert_eq!(c.aliases().len(), 8);
    let rendered: Vec<String> = c
        .aliases()
        .iter()
        .map(|(name, a)| {
            let target = a
                .target
                .as_ref()
                .map_or_else(|| "<erased>".to_owned(), ToString::to_string);
            format!("{name} = {target} ({})", redact(&a.origin.to_string()))
        })
        .collect();
    insta::assert_snapshot!(rendered.join("\n"));
    // aliases.conf says enforcing; config-2.conf says permissive.
    assert_eq!(c.short_name_mode(), ShortNameMode::Permissive);
    let alone =
        RegistriesConf::load(&options.clone().with_drop_ins(DropIns::Disabled)).expect("loads");
    assert_eq!(alone.short_name_mode(), ShortNameMode::Enforcing);
    assert_eq!(alone.aliases().len(), 4);
}

#[test]
fn a_bad_drop_in_names_itself() {
    let t = Tree::new();
    t.write("root/etc/containers/registries.conf", &table("system.com"));
    t.write(
        "root/etc/containers/registries.conf.d/50-v1.conf",
        "[registries.search]\nregistries = [\"a.com\"]\n",
    );
    let err = RegistriesConf::load(&t.options()).expect_err("v1 drop-in");
    assert!(matches!(err, Error::Version1 { .. }));
    let message = err
        .to_string()
        .replace(&t.dir.path().display().to_string(), "<tree>");
    insta::assert_snapshot!(message);
}

#[test]
fn file_size_limit() {
    let t = Tree::new();
    let path = t.write("big.conf", "");
    let file = fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open");
    // A sparse file: its size is over the limit without writing the bytes.
    file.set_len(MAX_CONFIG_FILE_BYTES + 1).expect("set length");
    let err =
        RegistriesConf::load(&LoadOptions::default().with_file(&path)).expect_err("too large");
    assert!(
        matches!(err, Error::TooLarge { max, .. } if max == MAX_CONFIG_FILE_BYTES),
        "{err:?}"
    );
    // Exactly at the limit is read (and is valid TOML: only spaces).
    fs::write(
        &path,
        " ".repeat(usize::try_from(MAX_CONFIG_FILE_BYTES).expect("fits")),
    )
    .expect("write");
    RegistriesConf::load(
        &LoadOptions::default()
            .with_file(&path)
            .with_drop_ins(DropIns::Disabled),
    )
    .expect("at the limit");
}

#[test]
fn drop_in_count_limit() {
    let t = Tree::new();
    let dir = t.dir.path().join("many.d");
    fs::create_dir_all(&dir).expect("mkdir");
    for i in 0..=MAX_DROP_IN_FILES {
        fs::write(dir.join(format!("{i:05}.conf")), "").expect("write");
    }
    let options = t.options().with_drop_ins(DropIns::Dir(dir.clone()));
    let err = RegistriesConf::load(&options).expect_err("too many");
    assert!(
        matches!(err, Error::TooManyDropIns { max, .. } if max == MAX_DROP_IN_FILES),
        "{err:?}"
    );
    fs::remove_file(dir.join("00000.conf")).expect("remove one");
    let c = RegistriesConf::load(&options).expect("at the limit");
    assert_eq!(c.files().len(), MAX_DROP_IN_FILES);
}

#[test]
fn non_utf8_file_is_a_typed_error() {
    let t = Tree::new();
    let path = t.dir.path().join("latin1.conf");
    fs::write(&path, b"# caf\xe9\n").expect("write");
    let err =
        RegistriesConf::load(&LoadOptions::default().with_file(&path)).expect_err("not UTF-8");
    assert!(matches!(err, Error::NotUtf8 { offset: 5, .. }), "{err:?}");
}

#[test]
fn unreadable_main_file_is_an_error() {
    let t = Tree::new();
    // A directory where the file should be.
    let dir = t.dir.path().join("dir.conf");
    fs::create_dir_all(&dir).expect("mkdir");
    let err =
        RegistriesConf::load(&LoadOptions::default().with_file(&dir)).expect_err("a directory");
    assert!(matches!(err, Error::Read { .. }), "{err:?}");
}

#[test]
fn options_from_an_injected_environment() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |key: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| OsString::from(v))
        }
    };
    let o = LoadOptions::from_env_with(env(&[
        ("CONTAINERS_REGISTRIES_CONF", "/x/r.conf"),
        ("HOME", "/home/u"),
    ]));
    assert_eq!(o.file.as_deref(), Some(Path::new("/x/r.conf")));
    assert_eq!(o.home.as_deref(), Some(Path::new("/home/u")));
    let o = LoadOptions::from_env_with(env(&[("CONTAINERS_REGISTRIES_CONF", ""), ("HOME", "")]));
    assert_eq!(o, LoadOptions::default());
    // A command-line flag wins over the environment.
    let o = LoadOptions::from_env_with(env(&[("CONTAINERS_REGISTRIES_CONF", "/x/r.conf")]))
        .with_file("/flag.conf");
    assert_eq!(o.file.as_deref(), Some(Path::new("/flag.conf")));
}

#[test]
fn path_selection() {
    let t = Tree::new();
    let render = |o: &LoadOptions| {
        let p = o.paths();
        let dirs: Vec<String> = p.drop_in_dirs.iter().map(|d| t.relative(d)).collect();
        format!(
            "main={} required={} dirs={dirs:?}",
            t.relative(&p.main),
            p.main_required
        )
    };
    let mut out = Vec::new();
    out.push(format!("no options: {}", render(&LoadOptions::default())));
    out.push(format!(
        "root: {}",
        render(&LoadOptions::default().with_root(t.root()))
    ));
    out.push(format!(
        "explicit: {}",
        render(&LoadOptions::default().with_file("/x/r.conf"))
    ));
    out.push(format!(
        "root + explicit: {}",
        render(
            &LoadOptions::default()
                .with_root(t.root())
                .with_file("/x/r.conf")
        )
    ));
    out.push(format!("home, no user file: {}", render(&t.options())));
    t.write("home/.config/containers/registries.conf", "");
    out.push(format!("home with user file: {}", render(&t.options())));
    out.push(format!(
        "home with user file + explicit: {}",
        render(&t.options().with_file("/x/r.conf"))
    ));
    insta::assert_snapshot!(out.join("\n"));
}

#[test]
fn empty_file_with_a_missing_drop_in_directory() {
    let t = Tree::new();
    let file = t.write("empty.conf", "");
    let options = LoadOptions::default()
        .with_file(&file)
        .with_drop_ins(DropIns::Dir(t.dir.path().join("does-not-exist.d")));
    let c = RegistriesConf::load(&options).expect("empty is valid");
    assert!(c.registries().is_empty());
    assert_eq!(c.files().len(), 1);
}
