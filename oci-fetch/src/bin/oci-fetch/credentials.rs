//! The credential flags (`-u/--username`, `-p/--password`, `--password-stdin`,
//! `--identity-token[-stdin]`, `--registry-token[-stdin]`), turned into one
//! [`oci_auth::Credential`] for the registries named on the command line.
//!
//! Precedence, as `--help` and the README say: these flags > credentials files (docker
//! `config.json`, containers `auth.json`, `--registry-config`) with the credential helpers they
//! name > anonymous. The flags have no environment-variable fallback: neither oras, skopeo nor
//! docker reads a user name or password from the environment (only where their files are:
//! `DOCKER_CONFIG`, `REGISTRY_AUTH_FILE`, which the files' lookup already honours).
//!
//! The commands that contact no registry (`ref`, `logout`, `generate`) refuse the flags
//! ([`CredentialArgs::refuse_for`]) rather than read a secret they would ignore.
//!
//! Secrets read here never reach output: the [`Credential`] redacts them in `Debug`, and the
//! origin text given to the keychain names flags, not values.

use std::io::{IsTerminal as _, Read as _};

use anyhow::anyhow;
use oci_auth::{Credential, Secret};

use crate::Failure;

/// The credential flags, accepted by every command (`global`).
#[derive(Debug, Clone, Default, clap::Args)]
#[command(
    next_help_heading = "Credentials (flags > credentials files and their helpers > anonymous)"
)]
pub(crate) struct CredentialArgs {
    /// User name for the registry named on the command line; the password comes from
    /// `--password`, `--password-stdin` or, on a terminal, a prompt.
    #[arg(short = 'u', long, global = true, value_name = "USER")]
    pub(crate) username: Option<String>,
    /// Password for `--username`. Insecure: visible to other users in the process list; prefer
    /// `--password-stdin`.
    #[arg(
        short = 'p',
        long,
        global = true,
        value_name = "PASSWORD",
        value_parser = secret,
        requires = "username",
        conflicts_with_all = ["password_stdin", "identity_token", "identity_token_stdin", "registry_token", "registry_token_stdin"]
    )]
    pub(crate) password: Option<Secret>,
    /// Read the password for `--username` from standard input (one line).
    #[arg(long, global = true, conflicts_with_all = ["identity_token", "identity_token_stdin", "registry_token", "registry_token_stdin"])]
    pub(crate) password_stdin: bool,
    /// An OAuth2 identity (refresh) token, exchanged at the registry's token server (docker's
    /// `identitytoken`). Insecure on the command line; prefer `--identity-token-stdin`.
    #[arg(long, global = true, value_name = "TOKEN", value_parser = secret, conflicts_with_all = ["username", "identity_token_stdin", "registry_token", "registry_token_stdin"])]
    pub(crate) identity_token: Option<Secret>,
    /// Read the identity token from standard input (one line).
    #[arg(long, global = true, conflicts_with_all = ["username", "registry_token", "registry_token_stdin"])]
    pub(crate) identity_token_stdin: bool,
    /// A bearer token sent to the registry as it is, without any token exchange (a pre-shared
    /// pull secret, docker's `registrytoken`). Insecure on the command line; prefer
    /// `--registry-token-stdin`.
    #[arg(long, global = true, value_name = "TOKEN", value_parser = secret, conflicts_with_all = ["username", "registry_token_stdin"])]
    pub(crate) registry_token: Option<Secret>,
    /// Read the registry token from standard input (one line).
    #[arg(long, global = true, conflicts_with_all = ["username"])]
    pub(crate) registry_token_stdin: bool,
}

/// A credential given by flags, and which flags gave it (for messages; never the secret).
#[derive(Debug, Clone)]
pub(crate) struct FlagCredential {
    pub(crate) credential: Credential,
    pub(crate) origin: String,
}

/// The long names (without `--`) of one set of credential flags — the shared ones, or
/// `copy`'s `--from-*` / `--to-*` — for clap and for every message about them.
#[derive(Debug)]
pub(crate) struct Names {
    pub(crate) username: &'static str,
    pub(crate) password: &'static str,
    pub(crate) password_stdin: &'static str,
    pub(crate) identity_token: &'static str,
    pub(crate) identity_token_stdin: &'static str,
    pub(crate) registry_token: &'static str,
    pub(crate) registry_token_stdin: &'static str,
    /// Shown before the password prompt.
    pub(crate) prompt: &'static str,
}

/// The shared flags' names (`-u/--username`, …).
pub(crate) const SHARED: Names = Names {
    username: "username",
    password: "password",
    password_stdin: "password-stdin",
    identity_token: "identity-token",
    identity_token_stdin: "identity-token-stdin",
    registry_token: "registry-token",
    registry_token_stdin: "registry-token-stdin",
    prompt: "Password: ",
};

impl CredentialArgs {
    /// Prints docker's warning for each secret given as a command-line value.
    pub(crate) fn warn_insecure(&self) {
        self.warn_insecure_as(&SHARED);
    }

    /// [`warn_insecure`](Self::warn_insecure) for flags named `names`.
    pub(crate) fn warn_insecure_as(&self, names: &Names) {
        for (given, flag, instead) in [
            (
                self.password.is_some(),
                names.password,
                names.password_stdin,
            ),
            (
                self.identity_token.is_some(),
                names.identity_token,
                names.identity_token_stdin,
            ),
            (
                self.registry_token.is_some(),
                names.registry_token,
                names.registry_token_stdin,
            ),
        ] {
            if given {
                eprintln!("WARNING! Using --{flag} via the CLI is insecure. Use --{instead}.");
            }
        }
    }

    /// The flags that read standard input, by name (at most one can have it).
    pub(crate) fn stdin_flags(&self, names: &Names) -> Vec<&'static str> {
        [
            (self.password_stdin, names.password_stdin),
            (self.identity_token_stdin, names.identity_token_stdin),
            (self.registry_token_stdin, names.registry_token_stdin),
        ]
        .into_iter()
        .filter_map(|(given, flag)| given.then_some(flag))
        .collect()
    }

    /// Whether any credential flag was given.
    pub(crate) fn any(&self) -> bool {
        !self.given(&SHARED).is_empty()
    }

    /// Refuses every credential flag for `command`, which contacts no registry (`ref`,
    /// `logout`, `generate`): bad input naming the first flag given, before any standard input
    /// is read or a secret is warned about, rather than a secret read and ignored.
    pub(crate) fn refuse_for(&self, command: &str) -> Result<(), Failure> {
        match self.given(&SHARED).first() {
            Some(flag) => Err(Failure::Usage(anyhow!(
                "--{flag} does not apply to {command}: it contacts no registry"
            ))),
            None => Ok(()),
        }
    }

    /// The credential flags given, by name (without `--`), in the order `--help` lists them.
    pub(crate) fn given(&self, names: &Names) -> Vec<&'static str> {
        [
            (self.username.is_some(), names.username),
            (self.password.is_some(), names.password),
            (self.password_stdin, names.password_stdin),
            (self.identity_token.is_some(), names.identity_token),
            (self.identity_token_stdin, names.identity_token_stdin),
            (self.registry_token.is_some(), names.registry_token),
            (self.registry_token_stdin, names.registry_token_stdin),
        ]
        .into_iter()
        .filter_map(|(given, flag)| given.then_some(flag))
        .collect()
    }

    /// The credential the flags give, reading standard input or prompting (on a terminal) as
    /// they ask. `None` without credential flags. `Some` but no password and no terminal is bad
    /// input naming the flags that would give one.
    pub(crate) fn resolve(&self) -> Result<Option<FlagCredential>, Failure> {
        self.resolve_as(&SHARED)
    }

    /// [`resolve`](Self::resolve) for flags named `names`.
    pub(crate) fn resolve_as(&self, names: &Names) -> Result<Option<FlagCredential>, Failure> {
        let from = |credential, flag: &str| {
            Ok(Some(FlagCredential {
                credential,
                origin: format!("--{flag}"),
            }))
        };
        if let Some(token) = &self.identity_token {
            let flag = names.identity_token;
            return from(Credential::IdentityToken(non_empty(token, flag)?), flag);
        }
        if self.identity_token_stdin {
            let flag = names.identity_token_stdin;
            return from(Credential::IdentityToken(read_stdin(flag)?), flag);
        }
        if let Some(token) = &self.registry_token {
            let flag = names.registry_token;
            return from(Credential::RegistryToken(non_empty(token, flag)?), flag);
        }
        if self.registry_token_stdin {
            let flag = names.registry_token_stdin;
            return from(Credential::RegistryToken(read_stdin(flag)?), flag);
        }
        let Some(username) = &self.username else {
            if self.password_stdin {
                return Err(usage(&format!(
                    "--{} needs --{}",
                    names.password_stdin, names.username
                )));
            }
            return Ok(None);
        };
        let (password, origin) = self.password_as(names)?;
        Ok(Some(FlagCredential {
            credential: Credential::basic(username.clone(), password),
            origin,
        }))
    }

    /// The password for `--username`: `--password`, `--password-stdin`, else a prompt on a
    /// terminal; and which of them gave it.
    pub(crate) fn password(&self) -> Result<(Secret, String), Failure> {
        self.password_as(&SHARED)
    }

    fn password_as(&self, names: &Names) -> Result<(Secret, String), Failure> {
        let user = names.username;
        Ok(match (&self.password, self.password_stdin) {
            (Some(p), _) => (
                non_empty(p, names.password)?,
                format!("--{user}/--{}", names.password),
            ),
            (None, true) => (
                read_stdin(names.password_stdin)?,
                format!("--{user}/--{}", names.password_stdin),
            ),
            (None, false) => (
                prompt_password(names)?,
                format!("--{user} and the password prompt"),
            ),
        })
    }

    /// The token flag given, if any, by name without `--` (`login` stores only user names and
    /// passwords).
    pub(crate) fn token_flag(&self) -> Option<&'static str> {
        self.given(&SHARED)
            .into_iter()
            .find(|flag| flag.contains("token"))
    }
}

fn usage(message: &str) -> Failure {
    Failure::Usage(anyhow!("{message}"))
}

/// A secret flag's value, held as a [`Secret`] from the start so that `Debug` of the parsed
/// arguments never shows it.
pub(crate) fn secret(value: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::new(value))
}

/// `value`, unless it is empty (`flag` is a long name without `--`).
fn non_empty(value: &Secret, flag: &str) -> Result<Secret, Failure> {
    if value.is_empty() {
        return Err(usage(&format!("--{flag} is empty")));
    }
    Ok(value.clone())
}

/// Reads one secret from standard input: the whole input without its final line break
/// (`flag` is a long name without `--`).
fn read_stdin(flag: &str) -> Result<Secret, Failure> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| usage(&format!("--{flag}: cannot read standard input: {e}")))?;
    let text = text.trim_end_matches(['\n', '\r']);
    if text.is_empty() {
        return Err(usage(&format!("--{flag}: nothing on standard input")));
    }
    Ok(Secret::new(text))
}

/// Whether prompts can be shown and answered (standard input and error are a terminal).
pub(crate) fn can_prompt() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks for the user name on the terminal (echoed).
pub(crate) fn prompt_username() -> Result<String, Failure> {
    if !can_prompt() {
        return Err(usage(
            "no user name: pass --username (-u); standard input is not a terminal to ask on",
        ));
    }
    let term = console::Term::stderr();
    term.write_str("Username: ")
        .and_then(|()| term.read_line())
        .map_err(|e| usage(&format!("reading the user name from the terminal: {e}")))
        .and_then(|u| {
            let u = u.trim().to_owned();
            if u.is_empty() {
                Err(usage("no user name given at the prompt"))
            } else {
                Ok(u)
            }
        })
}

/// Asks for the password of the flags `names` on the terminal without echoing it.
fn prompt_password(names: &Names) -> Result<Secret, Failure> {
    if !can_prompt() {
        return Err(usage(&format!(
            "no password: pass --{} (or --{}); standard input is not a terminal to ask on",
            names.password_stdin, names.password
        )));
    }
    let term = console::Term::stderr();
    let password = term
        .write_str(names.prompt)
        .and_then(|()| term.read_secure_line())
        .map_err(|e| usage(&format!("reading the password from the terminal: {e}")))?;
    if password.is_empty() {
        return Err(usage("no password given at the prompt"));
    }
    Ok(Secret::new(password))
}
