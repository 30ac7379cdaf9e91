//! A blob copy within one registry that fails at the destination names the step that failed:
//! the existence check (`HEAD blob …`), the mount request (`mount blob …`) or the upload
//! (`push blob …`), against the scriptable test server.

use oci_fetch::copy::{CopyError, CopyOptions, Location, copy};
use oci_ref::Reference;
use oci_testkit::server::{Reply, Server};

use super::{EMPTY_CONFIG, manifest_of, serve_source};
use crate::common::{RegistryExt as _, sha256};

/// Copies `src:v1` to `dst:v1` on a registry that refuses the destination's `failing` step
/// (`HEAD`, `mount` or `push`) with a `403 DENIED`; returns the copy's error.
async fn copy_refused_at(failing: &'static str) -> CopyError {
    let data = b"a layer".to_vec();
    let manifest = manifest_of(&data);
    let blobs = [
        (sha256(EMPTY_CONFIG), EMPTY_CONFIG.to_vec()),
        (sha256(&data), data),
    ];
    let denied = || Reply::new(403).body(r#"{"errors":[{"code":"DENIED"}]}"#);
    let registry = Server::start(move |req| {
        if let Some(reply) = serve_source(req, &manifest, &blobs) {
            return reply;
        }
        let (method, path) = (req.method.as_str(), req.path());
        let at_dst = path.starts_with("/v2/dst/");
        match method {
            "HEAD" if at_dst && failing == "HEAD" && path.contains("/blobs/") => denied(),
            "POST" if at_dst && failing == "mount" && req.target.contains("mount=") => denied(),
            "POST" if at_dst => Reply::new(202).header("Location", "/v2/dst/blobs/uploads/session"),
            "PUT" if at_dst && failing == "push" => denied(),
            "PUT" => Reply::new(201),
            "DELETE" => Reply::new(204),
            _ => Reply::new(404),
        }
    });
    let at = |repo: &str| -> Reference { registry.reference(&format!("{repo}:v1")) };
    let client = registry.client(oci_auth::Keychain::empty());
    copy(
        &client,
        &Location::Registry(at("src")),
        &Location::Registry(at("dst")),
        &CopyOptions::default(),
    )
    .await
    .expect_err("the destination refuses")
}

#[tokio::test]
async fn a_destination_refusing_a_blob_names_the_step_it_refused() {
    for step in ["HEAD", "mount", "push"] {
        let e = copy_refused_at(step).await;
        let CopyError::Destination { what, source, .. } = &e else {
            panic!("{step}: the destination's error expected: {e:?}");
        };
        assert!(what.starts_with(&format!("{step} blob sha256:")), "{e}");
        assert_eq!(source.status(), Some(403), "{e}");
    }
}
