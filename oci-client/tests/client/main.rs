//! Integration tests of `oci-client`, one module per source module, against a hostile
//! in-process server (`server`) for what real registries do not do on purpose.

mod blob;
mod error;
mod fuzzed;
mod manifest;
mod pager;
mod referrers;
mod registries;
mod security;
mod server;
mod transport;
mod upload;
