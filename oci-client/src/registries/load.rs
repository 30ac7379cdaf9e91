//! Finding and reading the `registries.conf` files: the only IO of
//! [`registries`](super). Paths and the environment are injectable so tests never read the
//! machine's own configuration.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::error::Error;
use super::{MAX_CONFIG_FILE_BYTES, MAX_DROP_IN_FILES, RegistriesConf};

/// The system-wide file.
pub const SYSTEM_REGISTRIES_CONF: &str = "/etc/containers/registries.conf";
/// The system-wide drop-in directory.
pub const SYSTEM_REGISTRIES_CONF_DIR: &str = "/etc/containers/registries.conf.d";
/// The per-user file, relative to the home directory. When it exists it replaces the
/// system-wide file and drop-in directory.
pub const USER_REGISTRIES_CONF: &str = ".config/containers/registries.conf";
/// The per-user drop-in directory, relative to the home directory.
pub const USER_REGISTRIES_CONF_DIR: &str = ".config/containers/registries.conf.d";
/// The environment variable naming an explicit file (as for podman, skopeo and buildah).
pub const ENV_REGISTRIES_CONF: &str = "CONTAINERS_REGISTRIES_CONF";

/// Which drop-in directories to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum DropIns {
    /// As containers/image: the user's directory when the user's file is used; otherwise the
    /// system directory then the user's directory (also with an explicit file).
    #[default]
    Default,
    /// Only this directory (containers/image's `SystemRegistriesConfDirPath`).
    Dir(PathBuf),
    /// No drop-ins at all: only the main file.
    Disabled,
}

/// Where to look for configuration. Build with [`LoadOptions::from_env`] for the real
/// process environment, or fill the fields for tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoadOptions {
    /// An explicit main file (`--registries-conf PATH`, or `CONTAINERS_REGISTRIES_CONF`). It
    /// must exist. Used literally: no `$HOME` or `~` expansion.
    pub file: Option<PathBuf>,
    /// Which drop-in directories to read.
    pub drop_ins: DropIns,
    /// The home directory for the per-user file and drop-ins; `None` skips them.
    pub home: Option<PathBuf>,
    /// A directory the system-wide paths are taken relative to (containers/image's
    /// `RootForImplicitAbsolutePaths`); `None` means `/`.
    pub root: Option<PathBuf>,
}

impl LoadOptions {
    /// Options from the process environment: `CONTAINERS_REGISTRIES_CONF` and `HOME`.
    pub fn from_env() -> LoadOptions {
        LoadOptions::from_env_with(|key| std::env::var_os(key))
    }

    /// Options from an injected environment lookup (`CONTAINERS_REGISTRIES_CONF`, `HOME`).
    /// Empty values count as unset.
    pub fn from_env_with(env: impl Fn(&str) -> Option<OsString>) -> LoadOptions {
        let get = |key: &str| env(key).filter(|v| !v.is_empty()).map(PathBuf::from);
        LoadOptions {
            file: get(ENV_REGISTRIES_CONF),
            drop_ins: DropIns::Default,
            home: get("HOME"),
            root: None,
        }
    }

    /// Sets the explicit main file (a command-line flag wins over the environment).
    pub fn with_file(mut self, file: impl Into<PathBuf>) -> LoadOptions {
        self.file = Some(file.into());
        self
    }

    /// Sets the home directory.
    pub fn with_home(mut self, home: impl Into<PathBuf>) -> LoadOptions {
        self.home = Some(home.into());
        self
    }

    /// Sets the root the system-wide paths are relative to.
    pub fn with_root(mut self, root: impl Into<PathBuf>) -> LoadOptions {
        self.root = Some(root.into());
        self
    }

    /// Sets which drop-in directories are read.
    pub fn with_drop_ins(mut self, drop_ins: DropIns) -> LoadOptions {
        self.drop_ins = drop_ins;
        self
    }

    /// Decides which files and directories [`RegistriesConf::load`] reads. Looks at the file
    /// system only to see whether the per-user file exists.
    pub fn paths(&self) -> ConfigPaths {
        let user_file = self.home.as_ref().map(|h| h.join(USER_REGISTRIES_CONF));
        let user_dir = self.home.as_ref().map(|h| h.join(USER_REGISTRIES_CONF_DIR));
        let under_root = |p: &str| match &self.root {
            Some(root) => root.join(p.trim_start_matches('/')),
            None => PathBuf::from(p),
        };
        let dirs = |default: Vec<PathBuf>| match &self.drop_ins {
            DropIns::Default => default,
            DropIns::Dir(d) => vec![d.clone()],
            DropIns::Disabled => Vec::new(),
        };
        if let Some(file) = &self.file {
            let default = [Some(under_root(SYSTEM_REGISTRIES_CONF_DIR)), user_dir]
                .into_iter()
                .flatten()
                .collect();
            return ConfigPaths {
                main: file.clone(),
                main_required: true,
                drop_in_dirs: dirs(default),
            };
        }
        if let Some(user_file) = user_file.filter(|f| f.exists()) {
            return ConfigPaths {
                main: user_file,
                main_required: false,
                drop_in_dirs: dirs(user_dir.into_iter().collect()),
            };
        }
        let default = [Some(under_root(SYSTEM_REGISTRIES_CONF_DIR)), user_dir]
            .into_iter()
            .flatten()
            .collect();
        ConfigPaths {
            main: under_root(SYSTEM_REGISTRIES_CONF),
            main_required: false,
            drop_in_dirs: dirs(default),
        }
    }
}

/// The files [`RegistriesConf::load`] reads, as decided by [`LoadOptions::paths`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigPaths {
    /// The main file.
    pub main: PathBuf,
    /// Whether a missing main file is an error (an explicit file) or an empty configuration
    /// (the implicit default).
    pub main_required: bool,
    /// Drop-in directories, read in this order. Missing ones are skipped.
    pub drop_in_dirs: Vec<PathBuf>,
}

impl RegistriesConf {
    /// Loads the configuration: the main file, then every drop-in, merged.
    ///
    /// - An explicit file ([`LoadOptions::file`]) must exist ([`Error::NotFound`]).
    /// - Otherwise `~/.config/containers/registries.conf` when it exists, else
    ///   `/etc/containers/registries.conf`; a missing implicit file is an empty
    ///   configuration.
    /// - Drop-ins: regular files named `*.conf` (symlinks followed; subdirectories not
    ///   entered) of each directory of [`ConfigPaths::drop_in_dirs`], in byte order of their
    ///   names, each merged with [`merge_drop_in`](Self::merge_drop_in). A missing directory,
    ///   or a file removed between listing and reading, is skipped.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for a missing explicit file, [`Error::Read`] or [`Error::TooLarge`] for
    /// a file that cannot be read or is above the size limit, [`Error::TooManyDropIns`] past the
    /// drop-in limit, and the parse and merge errors of [`RegistriesConf::parse_str`] naming the
    /// file.
    pub fn load(options: &LoadOptions) -> Result<RegistriesConf, Error> {
        let paths = options.paths();
        let mut conf = match read_file(&paths.main)? {
            Some(text) => RegistriesConf::parse_str(&text, &paths.main)?,
            None if paths.main_required => return Err(Error::NotFound { path: paths.main }),
            None => RegistriesConf::default(),
        };
        for dir in &paths.drop_in_dirs {
            for file in list_drop_ins(dir)? {
                if let Some(text) = read_file(&file)? {
                    conf.merge_drop_in(RegistriesConf::parse_str(&text, &file)?);
                }
            }
        }
        Ok(conf)
    }
}

/// Reads a whole file, `None` when it does not exist. Capped at [`MAX_CONFIG_FILE_BYTES`].
fn read_file(path: &Path) -> Result<Option<String>, Error> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
    if bytes.len() as u64 > MAX_CONFIG_FILE_BYTES {
        return Err(Error::TooLarge {
            path: path.to_owned(),
            max: MAX_CONFIG_FILE_BYTES,
        });
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|e| Error::NotUtf8 {
            path: path.to_owned(),
            offset: e.utf8_error().valid_up_to(),
        })
}

/// The `*.conf` regular files of `dir`, sorted by name; empty when `dir` does not exist.
fn list_drop_ins(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let read_err = |source| Error::Read {
        path: dir.to_owned(),
        source,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(read_err(e)),
    };
    let mut names: Vec<OsString> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(read_err)?;
        let name = entry.file_name();
        if !name.as_encoded_bytes().ends_with(b".conf") {
            continue;
        }
        // Follow symlinks; skip directories and entries that vanished (dangling links).
        match std::fs::metadata(entry.path()) {
            Ok(m) if m.is_file() => {}
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(Error::Read {
                    path: entry.path(),
                    source: e,
                });
            }
        }
        if names.len() == MAX_DROP_IN_FILES {
            return Err(Error::TooManyDropIns {
                path: dir.to_owned(),
                max: MAX_DROP_IN_FILES,
            });
        }
        names.push(name);
    }
    names.sort_by(|a, b| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));
    Ok(names.into_iter().map(|n| dir.join(n)).collect())
}
