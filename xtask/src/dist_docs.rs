//! `cargo xtask dist-docs --out DIR`: the man page and shell completions of `oci-fetch`,
//! generated from its clap definitions (`oci-fetch generate KIND`), laid out as a package
//! installs them:
//!
//! ```text
//! DIR/man/man1/oci-fetch.1
//! DIR/completions/oci-fetch.bash   (bash: /usr/share/bash-completion/completions/oci-fetch)
//! DIR/completions/_oci-fetch       (zsh: a directory on $fpath)
//! DIR/completions/oci-fetch.fish   (fish: ~/.config/fish/completions/)
//! DIR/completions/oci-fetch.elv    (elvish)
//! DIR/completions/_oci-fetch.ps1   (PowerShell: dot-source it from $PROFILE)
//! ```

use std::path::PathBuf;

use anyhow::{Context as _, bail};

/// What `oci-fetch generate` is asked for, and where its output goes under `--out`.
const OUTPUTS: &[(&str, &str)] = &[
    ("man", "man/man1/oci-fetch.1"),
    ("bash", "completions/oci-fetch.bash"),
    ("zsh", "completions/_oci-fetch"),
    ("fish", "completions/oci-fetch.fish"),
    ("elvish", "completions/oci-fetch.elv"),
    ("powershell", "completions/_oci-fetch.ps1"),
];

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    let out = match args {
        [flag, dir] if flag == "--out" => PathBuf::from(dir),
        _ => bail!("usage: cargo xtask dist-docs --out DIR"),
    };
    crate::run(crate::cargo().args(["build", "-q", "-p", "oci-fetch", "--bin", "oci-fetch"]))?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    let binary = target.join("debug").join("oci-fetch");
    for (kind, file) in OUTPUTS {
        let output = std::process::Command::new(&binary)
            .args(["generate", kind])
            .output()
            .with_context(|| format!("running {} generate {kind}", binary.display()))?;
        if !output.status.success() {
            bail!(
                "oci-fetch generate {kind} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let path = out.join(file);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&path, &output.stdout)
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
