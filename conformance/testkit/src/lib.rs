//! Test support for the `oci-*` workspace: one home for what every crate's tests need and no
//! library may ship.
//!
//! It sits beside `conformance` (whose token server and fault proxy parse HTTP with it) and is a
//! dev-dependency of the library crates, never a normal one; it depends on none of the
//! workspace's crates, so no dev-dependency cycle can form (`cargo xtask tidy` checks both).
//! What it holds:
//!
//! - [`server`]: a scriptable hostile HTTP/1.1 server, plain or TLS, with a request log and
//!   scripted replies (delays, wrong lengths, endless and close-delimited bodies);
//! - [`gate`]: a byte-counting TCP proxy that holds bytes back after a given count, to break a
//!   transfer off at an exact byte;
//! - [`http`]: the request-head parser and message readers the server, the token server and the
//!   fault proxy share;
//! - [`tls`]: the one test CA and the server certificate it signed for `127.0.0.1`/`localhost`;
//! - [`secrets`]: the scanner that finds a secret in an error's `Display`, `Debug` or sources;
//! - [`digest`]: sha256 digests of test data as strings;
//! - [`corpus`]: replay of the fuzz corpora under `fuzz/corpus/` (the fuzz targets and the replay
//!   tests call the same check functions, in `fuzz/checks/`).
//!
//! ```
//! use oci_testkit::server::{Reply, Server};
//!
//! let server = Server::start(|req| match req.path() {
//!     "/v2/" => Reply::new(200),
//!     // Announces 10 bytes, sends 2, closes: a body cut short.
//!     _ => Reply::new(200).body("ab").cut_short(10),
//! });
//! assert!(server.url("/v2/").starts_with("http://127.0.0.1:"));
//! assert!(server.requests().is_empty());
//! ```
//!
//! Everything here panics on a broken test setup (a port that cannot be bound, a corpus that
//! cannot be read): a test helper has no caller to hand an error to.

pub mod corpus;
pub mod digest;
pub mod gate;
pub mod http;
pub mod secrets;
pub mod server;
pub mod tls;

pub use digest::{sha256, sha256_hex};
