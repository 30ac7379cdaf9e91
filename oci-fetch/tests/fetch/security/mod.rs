//! Security checks of the library, each against a hostile counterpart: titles and symlinks in
//! the output directory, decompression bombs, control characters in annotations, secrets in
//! errors, and caps a hostile registry or crafted file runs into (referrer walks, index entries,
//! config size, layout files, annotation files). `SECURITY.md` at the repository root lists every check with the test that holds
//! it, here or elsewhere.
//!
//! Blob sources are `crate::common::Hostile` and `MemorySource`; where a registry is needed,
//! it is `oci_testkit::server::Server` on loopback, answering as the test tells it to.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use oci_auth::{Credential, Keychain, Secret};
use oci_fetch::decompress::{Decompress, DecompressError, DecompressLimits};
use oci_fetch::descriptor::{ANNOTATION_TITLE, Descriptor};
use oci_fetch::download::{DownloadError, download, partial_path};
use oci_fetch::pull::{PullError, PullOptions, TitleProblem, pull_files};
use oci_fetch::registry::RegistrySource;
use oci_fetch::source::MemorySource;
use oci_ref::TagOrDigest;

use oci_testkit::secrets::Scanner;
use oci_testkit::server::{Reply, Server as Registry};

use crate::common::{
    Hostile, RegistryExt, assert_empty, descriptor, entries, fast_opts, payload, sha256,
};
use crate::decompress::{gzip, zstd};

mod bombs;
mod caps;
mod control_chars;
mod secrets;
mod titles;

/// A recognisable secret: a password, an identity token, a registry token, a signed URL query.
const SECRET: &str = "s3cr3t-SECURITY-CHECK";

/// A header name that would show up on the wire if a control character broke a request apart.
const INJECTED: &str = "X-Injected";

fn layer(src: &mut MemorySource, title: &str, data: &[u8]) -> Descriptor {
    src.insert(sha256(data), Bytes::copy_from_slice(data));
    descriptor("application/octet-stream", data).with_annotation(ANNOTATION_TITLE, title)
}

// ---------------------------------------------------------------------------------------------
// A scriptable registry on loopback (`oci_testkit::server`).
// ---------------------------------------------------------------------------------------------

/// A registry that accepts every push (blobs are never there yet).
fn accepting_registry() -> Registry {
    Registry::start(|req| match req.method.as_str() {
        "POST" => Reply::new(202).header("Location", "/v2/app/blobs/uploads/session"),
        "PUT" => Reply::new(201),
        _ => Reply::new(404),
    })
}
