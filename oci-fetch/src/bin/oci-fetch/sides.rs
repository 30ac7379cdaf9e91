//! `copy`'s per-side flags, as `oras cp` has them: `--from-username`, `--to-password-stdin`,
//! `--from-plain-http`, … — a credential and the transport switches for the source registry
//! only, or for the destination registry only. The shared flags (`-u`, `--plain-http`, …) apply
//! to every registry the command names, so with two registries a password could reach the
//! wrong one: they are refused there, and these are the way to give each its own.

use std::marker::PhantomData;

use clap::{Arg, ArgAction, ArgMatches, Command};
use oci_auth::Secret;

use crate::Failure;
use crate::credentials::{CredentialArgs, FlagCredential, Names, secret};

/// Which side a set of flags is for.
pub(crate) trait Side: Default + Clone + std::fmt::Debug + Send + Sync + 'static {
    /// The credential flags' names.
    const NAMES: Names;
    /// `--…-plain-http`.
    const PLAIN_HTTP: &'static str;
    /// `--…-insecure`.
    const INSECURE: &'static str;
    /// "source" or "destination", for help texts and messages.
    const WHAT: &'static str;
    /// The heading of this side's flags in `--help`.
    const HEADING: &'static str;
}

/// The source side (`--from-*`).
#[derive(Debug, Clone, Default)]
pub(crate) struct From;

/// The destination side (`--to-*`).
#[derive(Debug, Clone, Default)]
pub(crate) struct To;

impl Side for From {
    const NAMES: Names = Names {
        username: "from-username",
        password: "from-password",
        password_stdin: "from-password-stdin",
        identity_token: "from-identity-token",
        identity_token_stdin: "from-identity-token-stdin",
        registry_token: "from-registry-token",
        registry_token_stdin: "from-registry-token-stdin",
        prompt: "Password (source registry): ",
    };
    const PLAIN_HTTP: &'static str = "from-plain-http";
    const INSECURE: &'static str = "from-insecure";
    const WHAT: &'static str = "source";
    const HEADING: &'static str = "The source registry only (--from-*, as oras cp has them)";
}

impl Side for To {
    const NAMES: Names = Names {
        username: "to-username",
        password: "to-password",
        password_stdin: "to-password-stdin",
        identity_token: "to-identity-token",
        identity_token_stdin: "to-identity-token-stdin",
        registry_token: "to-registry-token",
        registry_token_stdin: "to-registry-token-stdin",
        prompt: "Password (destination registry): ",
    };
    const PLAIN_HTTP: &'static str = "to-plain-http";
    const INSECURE: &'static str = "to-insecure";
    const WHAT: &'static str = "destination";
    const HEADING: &'static str = "The destination registry only (--to-*, as oras cp has them)";
}

/// One side's flags.
#[derive(Debug, Clone, Default)]
pub(crate) struct SideArgs<S: Side> {
    pub(crate) credentials: CredentialArgs,
    pub(crate) plain_http: bool,
    pub(crate) insecure: bool,
    side: PhantomData<S>,
}

/// What one side's flags give for its registry.
#[derive(Debug, Clone, Default)]
pub(crate) struct ForRegistry {
    pub(crate) credential: Option<FlagCredential>,
    pub(crate) plain_http: bool,
    pub(crate) insecure: bool,
}

impl<S: Side> SideArgs<S> {
    /// The first of this side's flags given, for messages (`--from-username`).
    pub(crate) fn first_flag(&self) -> Option<String> {
        let transport = [
            (self.plain_http, S::PLAIN_HTTP),
            (self.insecure, S::INSECURE),
        ]
        .into_iter()
        .filter_map(|(given, flag)| given.then_some(flag));
        self.credentials
            .given(&S::NAMES)
            .into_iter()
            .chain(transport)
            .next()
            .map(|flag| format!("--{flag}"))
    }

    /// Reads the credential (standard input or a prompt, as the flags ask) and warns about
    /// secrets given as values.
    pub(crate) fn resolve(&self) -> Result<ForRegistry, Failure> {
        let credential = self.credentials.resolve_as(&S::NAMES)?;
        self.credentials.warn_insecure_as(&S::NAMES);
        Ok(ForRegistry {
            credential,
            plain_http: self.plain_http,
            insecure: self.insecure,
        })
    }
}

impl<S: Side> clap::FromArgMatches for SideArgs<S> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut args = SideArgs::default();
        args.update_from_arg_matches(matches)?;
        Ok(args)
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        let n = &S::NAMES;
        let c = &mut self.credentials;
        c.username = m.get_one::<String>(n.username).cloned();
        c.password = m.get_one::<Secret>(n.password).cloned();
        c.password_stdin = m.get_flag(n.password_stdin);
        c.identity_token = m.get_one::<Secret>(n.identity_token).cloned();
        c.identity_token_stdin = m.get_flag(n.identity_token_stdin);
        c.registry_token = m.get_one::<Secret>(n.registry_token).cloned();
        c.registry_token_stdin = m.get_flag(n.registry_token_stdin);
        self.plain_http = m.get_flag(S::PLAIN_HTTP);
        self.insecure = m.get_flag(S::INSECURE);
        Ok(())
    }
}

/// A switch `--ID`.
fn flag(id: &'static str, help: String) -> Arg {
    Arg::new(id).long(id).action(ArgAction::SetTrue).help(help)
}

/// A flag `--ID NAME`.
fn value(id: &'static str, name: &'static str, help: String) -> Arg {
    Arg::new(id)
        .long(id)
        .value_name(name)
        .action(ArgAction::Set)
        .help(help)
}

/// The user name and its password flags.
fn user_args<S: Side>(cmd: Command) -> Command {
    let n = &S::NAMES;
    let what = S::WHAT;
    let tokens = [
        n.identity_token,
        n.identity_token_stdin,
        n.registry_token,
        n.registry_token_stdin,
    ];
    cmd.arg(value(
        n.username,
        "USER",
        format!(
            "User name for the {what} registry; the password comes from `--{}`, `--{}` \
                 or, on a terminal, a prompt",
            n.password, n.password_stdin
        ),
    ))
    .arg(
        value(
            n.password,
            "PASSWORD",
            format!(
                "Password for `--{}`. Insecure: visible to other users in the process list; \
                     prefer `--{}`",
                n.username, n.password_stdin
            ),
        )
        .value_parser(secret)
        .requires(n.username)
        .conflicts_with(n.password_stdin)
        .conflicts_with_all(tokens),
    )
    .arg(
        flag(
            n.password_stdin,
            format!(
                "Read the password for `--{}` from standard input",
                n.username
            ),
        )
        .conflicts_with_all(tokens),
    )
}

/// The identity- and registry-token flags.
fn token_args<S: Side>(cmd: Command) -> Command {
    let n = &S::NAMES;
    let what = S::WHAT;
    cmd.arg(
        value(
            n.identity_token,
            "TOKEN",
            format!(
                "An identity (refresh) token for the {what} registry. Insecure on the \
                     command line; prefer `--{}`",
                n.identity_token_stdin
            ),
        )
        .value_parser(secret)
        .conflicts_with_all([
            n.username,
            n.identity_token_stdin,
            n.registry_token,
            n.registry_token_stdin,
        ]),
    )
    .arg(
        flag(
            n.identity_token_stdin,
            "Read that identity token from standard input".to_owned(),
        )
        .conflicts_with_all([n.username, n.registry_token, n.registry_token_stdin]),
    )
    .arg(
        value(
            n.registry_token,
            "TOKEN",
            format!(
                "A bearer token sent to the {what} registry as it is. Insecure on the command \
                     line; prefer `--{}`",
                n.registry_token_stdin
            ),
        )
        .value_parser(secret)
        .conflicts_with_all([n.username, n.registry_token_stdin]),
    )
    .arg(
        flag(
            n.registry_token_stdin,
            "Read that registry token from standard input".to_owned(),
        )
        .conflicts_with(n.username),
    )
}

impl<S: Side> clap::Args for SideArgs<S> {
    fn augment_args(cmd: Command) -> Command {
        let what = S::WHAT;
        token_args::<S>(user_args::<S>(cmd.next_help_heading(S::HEADING)))
            .arg(flag(
                S::PLAIN_HTTP,
                format!("Talk plain HTTP (no TLS) to the {what} registry"),
            ))
            .arg(flag(
                S::INSECURE,
                format!("Skip TLS certificate verification for the {what} registry"),
            ))
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}
