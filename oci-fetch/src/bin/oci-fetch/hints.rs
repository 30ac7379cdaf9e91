//! The flag that would have helped, added to an error message by the binary (library errors
//! never name flags): `--plain-http` for a registry that answered TLS in plain HTTP,
//! `--overwrite` for a pull refused because a file exists, the credential flags and `login` for
//! a registry that wants credentials.

use oci_client::TransportKind;

/// A hint for `error`, found by looking through its whole `source()` chain.
pub(crate) fn hint(error: &anyhow::Error) -> Option<&'static str> {
    error.chain().find_map(hint_for)
}

fn hint_for(cause: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    if let Some(oci_client::Error::Transport {
        kind: TransportKind::PlainHttpServer,
        ..
    }) = cause.downcast_ref::<oci_client::Error>()
    {
        return Some("the registry speaks plain HTTP: pass --plain-http");
    }
    if let Some(oci_fetch::pull::PullError::Exists { .. }) =
        cause.downcast_ref::<oci_fetch::pull::PullError>()
    {
        return Some("pass --overwrite to replace it");
    }
    if let Some(e) = cause.downcast_ref::<oci_auth::Error>() {
        return match e.kind() {
            oci_auth::ErrorKind::CredentialsRequired { .. } => Some(
                "pass --username with --password-stdin (or --registry-token-stdin), or run \
                 `oci-fetch login`",
            ),
            _ => None,
        };
    }
    None
}
