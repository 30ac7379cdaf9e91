//! Checks of the harness itself: authentication variants, cleanup, unique names, redaction.

use conformance::capability::{probe, provisioned_only};
use conformance::{
    Auth, Registry, RegistryOptions, available_backends, for_each_backend, unique_repo,
};

use crate::{client, pull_blob, push_blob};

async fn status(url: &str, credentials: Option<(&str, &str)>) -> anyhow::Result<(u16, String)> {
    let mut request = client().get(url);
    if let Some((user, pass)) = credentials {
        request = request.basic_auth(user, Some(pass));
    }
    let resp = request.send().await?;
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    Ok((resp.status().as_u16(), challenge))
}

#[tokio::test]
async fn htpasswd_registry_requires_the_configured_user() {
    if !provisioned_only(&["harness/htpasswd"], "an htpasswd file it writes")
        .expect("valid backend selection")
    {
        return;
    }
    let options = RegistryOptions::htpasswd([("alice", "correct horse"), ("bob", "battery")]);
    for_each_backend(&options, async |registry| {
        probe(registry, "harness/htpasswd", async {
            let url = format!("{}/v2/", registry.base_url());
            let (anonymous, challenge) = status(&url, None).await?;
            anyhow::ensure!(anonymous == 401, "anonymous /v2/: status {anonymous}");
            anyhow::ensure!(
                challenge.starts_with("Basic realm="),
                "anonymous /v2/: WWW-Authenticate {challenge:?}"
            );
            let (wrong, _) = status(&url, Some(("alice", "battery"))).await?;
            anyhow::ensure!(wrong == 401, "wrong password: status {wrong}");
            for (user, pass) in [("alice", "correct horse"), ("bob", "battery")] {
                let (ok, _) = status(&url, Some((user, pass))).await?;
                anyhow::ensure!(ok == 200, "{user} with the right password: status {ok}");
            }
            let credentials = registry
                .credentials()
                .expect("htpasswd registry has credentials");
            anyhow::ensure!(credentials.username == "alice", "first user is offered");
            Ok(())
        })
        .await
    })
    .await
    .expect("htpasswd auth is enforced on every backend");
}

#[tokio::test]
async fn token_registry_challenges_with_the_configured_realm() {
    if !provisioned_only(&["harness/token-realm"], "a token server it configures")
        .expect("valid backend selection")
    {
        return;
    }
    // A throwaway self-signed certificate (its key was discarded): the registry only needs it to
    // start; no token can be verified against it.
    let bundle = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/conformance/fixtures/token-root.pem");
    let options = RegistryOptions::with_auth(Auth::Token {
        realm: "http://127.0.0.1:1/token".to_owned(),
        service: "conformance-registry".to_owned(),
        issuer: "conformance-issuer".to_owned(),
        root_cert_bundle_pem_path: bundle,
    });
    for_each_backend(&options, async |registry| {
        probe(registry, "harness/token-realm", async {
            let (anonymous, challenge) =
                status(&format!("{}/v2/", registry.base_url()), None).await?;
            anyhow::ensure!(anonymous == 401, "anonymous /v2/: status {anonymous}");
            anyhow::ensure!(
                challenge.starts_with("Bearer ")
                    && challenge.contains(r#"realm="http://127.0.0.1:1/token""#)
                    && challenge.contains(r#"service="conformance-registry""#),
                "anonymous /v2/: WWW-Authenticate {challenge:?}"
            );
            anyhow::ensure!(
                registry.credentials().is_none(),
                "token auth offers no Basic credentials"
            );
            Ok(())
        })
        .await
    })
    .await
    .expect("token auth is configured on every backend");
}

#[tokio::test]
async fn provisioned_registries_allow_deletes() {
    if !provisioned_only(&["harness/deletes-enabled"], "its own configuration")
        .expect("valid backend selection")
    {
        return;
    }
    for_each_backend(&RegistryOptions::new(), async |registry| {
        probe(registry, "harness/deletes-enabled", async {
            let repo = unique_repo("fixture-delete");
            let digest = push_blob(registry, &repo, b"to be deleted").await?;
            pull_blob(registry, &repo, &digest).await?;
            let url = format!("{}/v2/{repo}/blobs/{digest}", registry.base_url());
            let deleted = client().delete(&url).send().await?.status();
            anyhow::ensure!(
                deleted == 202,
                "DELETE blob: status {deleted} (storage.delete.enabled?)"
            );
            let gone = client().get(&url).send().await?.status();
            anyhow::ensure!(gone == 404, "GET deleted blob: status {gone}");
            Ok(())
        })
        .await
    })
    .await
    .expect("the generated config enables deletes on every backend");
}

#[tokio::test]
async fn registry_is_gone_after_drop() {
    if !provisioned_only(
        &["harness/cleanup-after-drop"],
        "a registry it starts and stops",
    )
    .expect("valid backend selection")
    {
        return;
    }
    for backend in available_backends().await.expect("a backend is available") {
        let registry = Registry::start_backend(backend, &RegistryOptions::new())
            .await
            .expect("registry starts");
        let url = format!("{}/v2/", registry.base_url());
        assert_eq!(status(&url, None).await.expect("registry answers").0, 200);
        drop(registry);
        assert!(
            status(&url, None).await.is_err(),
            "{backend}: {url} still answers after drop"
        );
    }
}

#[tokio::test]
async fn registry_is_gone_after_a_panicking_test() {
    if !provisioned_only(
        &["harness/cleanup-after-panic"],
        "a registry it starts and stops",
    )
    .expect("valid backend selection")
    {
        return;
    }
    for backend in available_backends().await.expect("a backend is available") {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let registry = Registry::start_backend(backend, &RegistryOptions::new())
                .await
                .expect("registry starts");
            tx.send(format!("{}/v2/", registry.base_url()))
                .expect("receiver waits");
            panic!("deliberate panic while holding a registry");
        });
        let url = rx.await.expect("task sends the URL before panicking");
        let joined = task.await;
        assert!(joined.is_err_and(|e| e.is_panic()), "the task panicked");
        assert!(
            status(&url, None).await.is_err(),
            "{backend}: {url} still answers after a panic"
        );
    }
}

#[test]
fn unique_repo_names_are_distinct_and_valid() {
    let names: Vec<String> = (0..100).map(|_| unique_repo("Smoke Test_1")).collect();
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), names.len(), "names repeat: {names:?}");
    for name in &names {
        let rest = name
            .strip_prefix("conformance/smoke-test-1-")
            .expect("namespace and label");
        assert!(
            rest.chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase() || c == '-'),
            "{name}"
        );
    }
    assert!(unique_repo("!!!").starts_with("conformance/test-"));
}

#[test]
fn passwords_are_redacted_in_debug() {
    let options = RegistryOptions::htpasswd([("alice", "hunter2")]);
    let shown = format!("{options:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("alice"), "{shown}");
}
