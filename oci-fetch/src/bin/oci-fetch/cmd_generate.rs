//! `oci-fetch generate man|bash|zsh|fish|elvish|powershell`: the man page or a shell completion
//! script, generated from the clap definitions and written to stdout (as `rg --generate` does).
//! `cargo xtask dist-docs --out DIR` writes them all into a directory.
//!
//! `generate` contacts no registry, so the credential flags (`-u/--username`, the token flags,
//! …) have nothing to apply to: `main` refuses them as bad input naming the flag, before it
//! reads any standard input or prompts for them, as for `ref` and `logout`.

use clap::CommandFactory as _;

use crate::Failure;
use crate::common::GlobalArgs;

/// What to generate.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum Kind {
    /// The man page, `oci-fetch.1` (roff).
    Man,
    /// bash completions.
    Bash,
    /// zsh completions.
    Zsh,
    /// fish completions.
    Fish,
    /// elvish completions.
    Elvish,
    /// PowerShell completions.
    Powershell,
}

/// Arguments of `oci-fetch generate`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The man page or the shell to write completions for.
    #[arg(value_enum)]
    kind: Kind,
}

pub(crate) fn run(args: Args, global: &GlobalArgs) -> Result<(), Failure> {
    // No credentials are needed, but a file named with `--registry-config` is still checked:
    // a missing or broken one is bad input, never silently ignored (as with `ref`).
    global.check_registry_config()?;
    let mut command = crate::Cli::command();
    let mut out = std::io::stdout().lock();
    let shell = match args.kind {
        Kind::Man => {
            clap_mangen::Man::new(command).render(&mut out)?;
            return Ok(());
        }
        Kind::Bash => clap_complete::Shell::Bash,
        Kind::Zsh => clap_complete::Shell::Zsh,
        Kind::Fish => clap_complete::Shell::Fish,
        Kind::Elvish => clap_complete::Shell::Elvish,
        Kind::Powershell => clap_complete::Shell::PowerShell,
    };
    clap_complete::generate(shell, &mut command, "oci-fetch", &mut out);
    Ok(())
}
