//! `oci-fetch`: resolve, pull and inspect artifacts in OCI registries, from the command line.
//!
//! A thin shell over the `oci-*` libraries: argument parsing, output formatting and exit codes
//! live here; every decision is made by a library.
//!
//! Exit codes: 0 success, 1 the operation failed (registry, network, verification), 2 bad input
//! (reference, flags, configuration files), 130 interrupted by SIGINT, 143 by SIGTERM (see
//! `interrupt`). Errors are one line on stderr; stdout carries only results.

mod args;
mod cmd_attach;
mod cmd_blob;
mod cmd_copy;
mod cmd_discover;
mod cmd_generate;
mod cmd_index;
mod cmd_login;
mod cmd_manifest;
mod cmd_mirror;
mod cmd_pull;
mod cmd_push;
mod cmd_ref;
mod cmd_resolve;
mod cmd_tag;
mod cmd_tags;
mod common;
mod credentials;
mod hints;
mod interrupt;
mod place;
mod progress;
mod sides;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Resolve, pull and publish artifacts in OCI registries.
#[derive(Debug, Parser)]
#[command(name = "oci-fetch", version, about, max_term_width = 100)]
pub(crate) struct Cli {
    #[command(flatten)]
    global: common::GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse and normalise a reference (docker-style or oci:// URL) and print it.
    Ref(cmd_ref::Args),
    /// Push files as an OCI 1.1 artifact (like `oras push`).
    Push(cmd_push::Args),
    /// Push files as an artifact referring to REF (like `oras attach`).
    Attach(cmd_attach::Args),
    /// Show the referrers tree of REF (like `oras discover`).
    Discover(cmd_discover::Args),
    /// Image indexes over pushed artifacts.
    #[command(subcommand)]
    Index(cmd_index::Command),
    /// Add tags to a manifest, bytes unchanged.
    Tag(cmd_tag::Args),
    /// Copy a manifest graph between registries and OCI layouts (like `oras cp`).
    Copy(cmd_copy::Args),
    /// Mirror a set of repositories to a registry or to disk, and back (like oc-mirror).
    ///
    /// The set's repositories are read through registries.conf (`--registries-conf FILE`,
    /// else the usual files), as `pull` and `copy` read them: mirrors first, then the
    /// primary, with prefix rewrites and blocked registries. A disconnected site can mirror
    /// from its local pull-through cache while the set names the upstream repositories.
    Mirror(cmd_mirror::Args),
    /// Choose the one artifact a machine should get, pinned by digest, and say why.
    Resolve(cmd_resolve::Args),
    /// Resolve, then download the chosen artifact, verified, into a directory.
    Pull(cmd_pull::Args),
    /// List a repository's tags.
    Tags(cmd_tags::Args),
    /// Repository verbs as oras has them: `repo tags`, `repo ls`.
    #[command(subcommand)]
    Repo(cmd_tags::RepoCommand),
    /// Fetch or delete a manifest.
    #[command(subcommand)]
    Manifest(cmd_manifest::Command),
    /// Fetch (verified) or delete a blob.
    #[command(subcommand)]
    Blob(cmd_blob::Command),
    /// Check credentials against a registry and store them (through the credential helper the
    /// docker config names, else in the file).
    Login(cmd_login::LoginArgs),
    /// Remove a registry's credentials (through its credential helper, or from the docker
    /// config file).
    Logout(cmd_login::LogoutArgs),
    /// Write the man page or shell completions to stdout.
    Generate(cmd_generate::Args),
}

/// An error with the exit code it maps to.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The user's input was wrong (exit 2).
    Usage(anyhow::Error),
    /// The operation failed (exit 1).
    Operation(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Operation(e.into())
    }
}

fn main() -> ExitCode {
    let mut cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version: clap's own output on stdout.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{}", clap_one_line(&e));
            return ExitCode::from(2);
        }
    };
    if let Err(failure) = interrupt::install() {
        return report(failure);
    }
    // A `--registries-conf` named on the command line is loaded before any command runs, so a
    // missing or broken file is an error for every command, never silently ignored.
    if cli.global.registries_conf.is_some()
        && let Err(failure) = cli.global.registries_conf()
    {
        return report(failure);
    }
    // `login` reads its own credentials (it may prompt for the user name too); `ref`, `logout`
    // and `generate` contact no registry (`logout` erases where the credentials are stored, as
    // `docker logout`, which has no credential flags) and refuse them before reading any. The
    // warning about secrets on the command line comes once they were accepted.
    if let Command::Copy(args) = &cli.command
        && let Err(failure) = cmd_copy::preflight(args, &cli.global)
    {
        return report(failure);
    }
    let no_registry = match cli.command {
        Command::Ref(_) => Some("ref"),
        Command::Logout(_) => Some("logout"),
        Command::Generate(_) => Some("generate"),
        _ => None,
    };
    if let Some(command) = no_registry {
        if let Err(failure) = cli.global.credentials.refuse_for(command) {
            return report(failure);
        }
    } else if !matches!(cli.command, Command::Login(_)) {
        match cli.global.credentials.resolve() {
            Ok(c) => cli.global.flag_credential = c,
            Err(failure) => return report(failure),
        }
        cli.global.credentials.warn_insecure();
    }
    let result = match cli.command {
        Command::Ref(args) => cmd_ref::run(args, &cli.global),
        Command::Push(args) => cmd_push::run(args, &cli.global),
        Command::Attach(args) => cmd_attach::run(args, &cli.global),
        Command::Discover(args) => cmd_discover::run(args, &cli.global),
        Command::Index(command) => cmd_index::run(command, &cli.global),
        Command::Tag(args) => cmd_tag::run(args, &cli.global),
        Command::Copy(args) => cmd_copy::run(args, &cli.global),
        Command::Mirror(args) => cmd_mirror::run(args, &cli.global),
        Command::Resolve(args) => cmd_resolve::run(args, &cli.global),
        Command::Pull(args) => cmd_pull::run(args, &cli.global),
        Command::Tags(args) => cmd_tags::run(args, &cli.global),
        Command::Repo(command) => cmd_tags::run_repo(command, &cli.global),
        Command::Manifest(command) => cmd_manifest::run(command, &cli.global),
        Command::Blob(command) => cmd_blob::run(command, &cli.global),
        Command::Login(args) => cmd_login::login(args, &cli.global),
        Command::Logout(args) => cmd_login::logout(args, &cli.global),
        Command::Generate(args) => cmd_generate::run(args, &cli.global),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => report(failure),
    }
}

/// Prints a failure as one line on stderr and returns its exit code.
fn report(failure: Failure) -> ExitCode {
    match failure {
        Failure::Usage(e) => {
            eprintln!("error: {}", with_hint(&e));
            ExitCode::from(2)
        }
        Failure::Operation(e) => {
            eprintln!("error: {}", with_hint(&e));
            ExitCode::from(1)
        }
    }
}

/// A clap usage error on one line: the message and its hints, without the usage block.
fn clap_one_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let parts: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more information")
        })
        .collect();
    parts.join(" ")
}

/// [`one_line`], then the flag that would have helped ([`hints`]) after ` — `.
fn with_hint(e: &anyhow::Error) -> String {
    match hints::hint(e) {
        Some(h) => format!("{} — {h}", one_line(e)),
        None => one_line(e),
    }
}

/// The error and its causes on one line, each cause once, with control characters escaped so
/// that hostile input cannot forge extra output lines.
///
/// The convention: a library error's `Display` includes its source's message (so `{e}` alone
/// says everything), while context added here with `anyhow` does not. Walking `source()` would
/// print such causes two or three times (`…(os error 30): …(os error 30)`), so a cause whose
/// text is already in the message before it is skipped.
fn one_line(e: &anyhow::Error) -> String {
    let mut text = String::new();
    let mut previous = String::new();
    for cause in e.chain() {
        let message = cause.to_string();
        if text.is_empty() {
            text.push_str(&message);
        } else if !previous.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        previous = message;
    }
    let mut out = String::new();
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}
