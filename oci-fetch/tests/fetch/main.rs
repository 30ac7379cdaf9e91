//! Integration tests of `oci-fetch`'s library; modules mirror `src`.

mod artifact;
mod common;
mod copy;
mod decompress;
mod download;
mod fuzzed;
mod layout;
mod many;
mod mirror;
mod partial;
mod pull;
mod registry;
mod resolve;
mod security;
mod source;
mod verify;
