//! `oci-auth` against real registries: htpasswd (Basic) and token auth with a token server whose
//! JWTs distribution verifies, credential files found through environment variables, a real
//! credential-helper program, and a token that expires mid-run.
//!
//! Requests are made with `reqwest` and the documented caller rule of `oci_auth::Authenticator`
//! (challenge on 401, retry once; on `invalid_token` invalidate, challenge and retry once more;
//! then fail), so these checks do not depend on `oci-client`.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use conformance::capability::{probe, provisioned_only};
use conformance::token_server::TokenServer;
use conformance::{RegistryOptions, for_each_backend, unique_repo};
use oci_auth::{
    Authenticator, Credential, CredentialSource, Env, ErrorKind, Keychain, Scope, Secret,
};
use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};

use crate::sha256_digest;

/// The end of the error message when the caller's credentials are refused.
const REJECTED_FROM_CALLER: &str = "rejected the credentials from the caller";

/// A password grant asking for a refresh token (OAuth2 `access_type=offline`).
const OFFLINE_PASSWORD_GRANT: &str = concat!(
    "grant_type=password&username=bob&password=hunter2",
    "&service=conformance-registry&client_id=t&access_type=offline"
);

fn http() -> reqwest::Client {
    conformance::install_tls_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("reqwest client with default settings builds")
}

fn challenges(resp: &reqwest::Response) -> Vec<String> {
    resp.headers()
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect()
}

/// What one logical request went through.
struct Outcome {
    /// Every status seen, in order (first attempt, retries).
    statuses: Vec<u16>,
    /// The final response, or the authentication error the caller reports.
    result: Result<reqwest::Response, oci_auth::Error>,
}

/// Sends `make()` following the caller rule of `oci_auth::Authenticator`.
async fn send(
    auth: &Authenticator,
    host: &str,
    scopes: &[Scope],
    make: impl Fn() -> reqwest::RequestBuilder,
) -> anyhow::Result<Outcome> {
    let with = |h: Option<oci_auth::Authorization>| match h {
        Some(h) => make().header(AUTHORIZATION, h.header_value()),
        None => make(),
    };
    let mut statuses = Vec::new();
    let mut resp = with(auth.authorize(host, scopes).await.ok().flatten())
        .send()
        .await?;
    statuses.push(resp.status().as_u16());
    for round in 0..2 {
        if resp.status() != 401 {
            return Ok(Outcome {
                statuses,
                result: Ok(resp),
            });
        }
        let www = challenges(&resp);
        if round == 1 {
            if !www.iter().any(|c| c.contains("invalid_token")) {
                break;
            }
            auth.invalidate(host, scopes);
        }
        let header = match auth.challenge(host, scopes, &www, true).await {
            Ok(h) => h,
            Err(e) => {
                return Ok(Outcome {
                    statuses,
                    result: Err(e),
                });
            }
        };
        resp = with(Some(header)).send().await?;
        statuses.push(resp.status().as_u16());
    }
    if resp.status() != 401 {
        return Ok(Outcome {
            statuses,
            result: Ok(resp),
        });
    }
    Ok(Outcome {
        statuses,
        result: Err(auth.rejection(host)),
    })
}

/// Pushes one blob (POST + PUT) and an artifact manifest tagged `v1`; returns the manifest.
async fn push_artifact(
    auth: &Authenticator,
    base: &str,
    host: &str,
    repo: &str,
) -> anyhow::Result<Vec<u8>> {
    let scopes = [Scope::push_pull(repo)];
    let blob = b"{}".to_vec();
    let blob_digest = sha256_digest(&blob);
    let start = send(auth, host, &scopes, || {
        http().post(format!("{base}/v2/{repo}/blobs/uploads/"))
    })
    .await?;
    let start = start
        .result
        .map_err(|e| anyhow::anyhow!("start upload: {e}"))?;
    anyhow::ensure!(start.status() == 202, "start upload: {}", start.status());
    let location = start
        .headers()
        .get("location")
        .context("no Location")?
        .to_str()?
        .to_owned();
    let mut url = reqwest::Url::parse(&format!("{base}/"))?.join(&location)?;
    url.query_pairs_mut().append_pair("digest", &blob_digest);
    let put = send(auth, host, &scopes, || {
        http()
            .put(url.clone())
            .header("content-type", "application/octet-stream")
            .body(blob.clone())
    })
    .await?;
    let put = put.result.map_err(|e| anyhow::anyhow!("put blob: {e}"))?;
    anyhow::ensure!(put.status() == 201, "put blob: {}", put.status());
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.example.auth-test",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": blob_digest, "size": 2},
        "layers": [{"mediaType": "application/vnd.oci.empty.v1+json", "digest": blob_digest, "size": 2}],
    })
    .to_string()
    .into_bytes();
    let put = send(auth, host, &scopes, || {
        http()
            .put(format!("{base}/v2/{repo}/manifests/v1"))
            .header("content-type", "application/vnd.oci.image.manifest.v1+json")
            .body(manifest.clone())
    })
    .await?;
    let put = put
        .result
        .map_err(|e| anyhow::anyhow!("put manifest: {e}"))?;
    anyhow::ensure!(put.status() == 201, "put manifest: {}", put.status());
    Ok(manifest)
}

async fn pull_manifest(
    auth: &Authenticator,
    base: &str,
    host: &str,
    repo: &str,
) -> anyhow::Result<Outcome> {
    send(auth, host, &[Scope::pull(repo)], || {
        http()
            .get(format!("{base}/v2/{repo}/manifests/v1"))
            .header("accept", "application/vnd.oci.image.manifest.v1+json")
    })
    .await
}

/// Pulls the manifest with `keychain`'s credentials and requires a 200; `what` names the source.
async fn ensure_pulls(
    keychain: Keychain,
    base: &str,
    host: &str,
    repo: &str,
    what: &str,
) -> anyhow::Result<()> {
    let out = pull_manifest(&authenticator(keychain), base, host, repo).await?;
    anyhow::ensure!(
        out.result.as_ref().is_ok_and(|r| r.status() == 200),
        "{what} pull {:?}",
        out.statuses
    );
    Ok(())
}

fn authenticator(keychain: Keychain) -> Authenticator {
    Authenticator::new(http(), keychain)
}

fn write_helper(dir: &Path, user: &str, password: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    let script = dir.join("docker-credential-conformance");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nread -r server\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"{user}\",\"Secret\":\"{password}\"}}' \"$server\"\n"
        ),
    )
    .expect("write helper");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
        .expect("chmod helper");
}

#[tokio::test]
async fn htpasswd_basic_auth() {
    if !provisioned_only(&["auth/htpasswd"], "an htpasswd file it writes")
        .expect("valid backend selection")
    {
        return;
    }
    let options = RegistryOptions::htpasswd([("alice", "s3cret")]);
    for_each_backend(&options, async |registry| {
        probe(registry, "auth/htpasswd", async {
            let (base, host) = (registry.base_url().to_owned(), registry.host().to_owned());
            let repo = unique_repo("auth-basic");

            // Right password, passed by the caller: push and pull work.
            let good = authenticator(
                Keychain::empty().with_credential(&host, Credential::basic("alice", "s3cret")),
            );
            let manifest = push_artifact(&good, &base, &host, &repo).await?;
            let pulled = pull_manifest(&good, &base, &host, &repo).await?;
            let resp = pulled.result.map_err(|e| anyhow::anyhow!("pull: {e}"))?;
            anyhow::ensure!(
                resp.bytes().await?.as_ref() == manifest.as_slice(),
                "pulled manifest differs"
            );
            // Basic applies to the whole registry: no further 401 once known.
            anyhow::ensure!(pulled.statuses == [200], "statuses {:?}", pulled.statuses);

            // Wrong password: one retry, then a typed error naming the source.
            let bad = authenticator(
                Keychain::empty().with_credential(&host, Credential::basic("alice", "wrong")),
            );
            let out = pull_manifest(&bad, &base, &host, &repo).await?;
            anyhow::ensure!(out.statuses == [401, 401], "statuses {:?}", out.statuses);
            let err = out.result.err().context("wrong password must fail")?;
            anyhow::ensure!(err.is_unauthorized(), "{err}");
            anyhow::ensure!(
                err.to_string()
                    == format!(
                        "unauthorized: registry {host} rejected the credentials from the caller"
                    ),
                "{err}"
            );

            // No credentials at all: the challenge itself fails, typed.
            let none = authenticator(Keychain::empty());
            let out = pull_manifest(&none, &base, &host, &repo).await?;
            let err = out.result.err().context("anonymous must fail")?;
            anyhow::ensure!(
                matches!(err.kind(), ErrorKind::CredentialsRequired { .. }),
                "{err:?}"
            );

            check_credential_files(&base, &host, &repo).await
        })
        .await
    })
    .await
    .expect("htpasswd auth works on every backend");
}

/// Alice's password found in docker config.json, containers auth.json and a credential helper.
async fn check_credential_files(base: &str, host: &str, repo: &str) -> anyhow::Result<()> {
    // docker config.json found through $DOCKER_CONFIG.
    let tmp = tempfile::tempdir()?;
    oci_auth::login(
        &tmp.path().join("docker/config.json"),
        host,
        "alice",
        &Secret::new("s3cret"),
    )?;
    let env = Env::from_vars([("DOCKER_CONFIG", tmp.path().join("docker"))]);
    let keychain = Keychain::from_environment(&env)?;
    let (_, source) = keychain.credential_for(host, Some(repo)).await?;
    anyhow::ensure!(
        matches!(source, CredentialSource::DockerConfig(_)),
        "{source:?}"
    );
    ensure_pulls(keychain, base, host, repo, "docker config").await?;

    // containers auth.json found through $REGISTRY_AUTH_FILE, with a namespaced key.
    let auth_json = tmp.path().join("auth.json");
    let basic = oci_auth::config::AuthFile::auth_value("alice", &Secret::new("s3cret"));
    std::fs::write(
        &auth_json,
        format!(r#"{{"auths": {{"{host}/{repo}": {{"auth": "{basic}"}}}}}}"#),
    )?;
    let env = Env::from_vars([("REGISTRY_AUTH_FILE", &auth_json)]);
    ensure_pulls(
        Keychain::from_environment(&env)?,
        base,
        host,
        repo,
        "auth.json",
    )
    .await?;

    // A real credential-helper program named by credsStore, searched on the env's PATH.
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin)?;
    write_helper(&bin, "alice", "s3cret");
    std::fs::write(
        tmp.path().join("docker/config.json"),
        r#"{"credsStore": "conformance"}"#,
    )?;
    let env = Env::from_vars([("DOCKER_CONFIG", tmp.path().join("docker")), ("PATH", bin)]);
    let keychain = Keychain::from_environment(&env)?;
    let (_, source) = keychain.credential_for(host, None).await?;
    anyhow::ensure!(
        source == CredentialSource::Helper("docker-credential-conformance".to_owned()),
        "{source:?}"
    );
    ensure_pulls(keychain, base, host, repo, "helper").await
}

#[tokio::test]
async fn token_auth_with_a_verifying_registry() {
    if !provisioned_only(&["auth/token"], "a token server it configures")
        .expect("valid backend selection")
    {
        return;
    }
    let server = TokenServer::start([("bob", "hunter2")]).expect("token server starts");
    let options = RegistryOptions::with_auth(server.auth());
    for_each_backend(&options, async |registry| {
        probe(registry, "auth/token", async {
            let (base, host) = (registry.base_url().to_owned(), registry.host().to_owned());
            let repo = unique_repo("auth-token");

            // A user pushes (GET flow with Basic credentials at the realm).
            let bob = authenticator(
                Keychain::empty().with_credential(&host, Credential::basic("bob", "hunter2")),
            );
            let manifest = push_artifact(&bob, &base, &host, &repo).await?;

            // Anonymous pull: the token server grants pull to anyone, the registry accepts it.
            let anon = authenticator(Keychain::empty());
            let out = pull_manifest(&anon, &base, &host, &repo).await?;
            anyhow::ensure!(
                out.statuses == [401, 200],
                "anonymous pull statuses {:?}",
                out.statuses
            );
            let body = out
                .result
                .map_err(|e| anyhow::anyhow!("anonymous pull: {e}"))?
                .bytes()
                .await?;
            anyhow::ensure!(
                body.as_ref() == manifest.as_slice(),
                "pulled manifest differs"
            );
            // The cached token serves the next request without a 401.
            let again = pull_manifest(&anon, &base, &host, &repo).await?;
            anyhow::ensure!(
                again.statuses == [200],
                "cached token statuses {:?}",
                again.statuses
            );

            // Anonymous push: the token lacks push, the registry says insufficient_scope; typed error.
            let out = send(&anon, &host, &[Scope::push_pull(&repo)], || {
                http().post(format!("{base}/v2/{repo}/blobs/uploads/"))
            })
            .await?;
            anyhow::ensure!(
                out.statuses == [401, 401],
                "anonymous push statuses {:?}",
                out.statuses
            );
            let err = out.result.err().context("anonymous push must fail")?;
            anyhow::ensure!(
                matches!(err.kind(), ErrorKind::CredentialsRequired { .. }),
                "{err:?}"
            );

            // Wrong password: the token server refuses; the error names the registry and source.
            let bad = authenticator(
                Keychain::empty().with_credential(&host, Credential::basic("bob", "nope")),
            );
            let out = pull_manifest(&bad, &base, &host, &repo).await?;
            let err = out.result.err().context("wrong password must fail")?;
            anyhow::ensure!(err.is_unauthorized(), "{err}");
            anyhow::ensure!(
                err.to_string().starts_with(&format!(
                    "unauthorized: registry {host} {REJECTED_FROM_CALLER}"
                )),
                "{err}"
            );

            check_identity_token(&server, &base, &host, &repo).await
        })
        .await
    })
    .await
    .expect("token auth works on every backend");
}

/// An identity (refresh) token: the OAuth2 POST refresh_token grant.
async fn check_identity_token(
    server: &TokenServer,
    base: &str,
    host: &str,
    repo: &str,
) -> anyhow::Result<()> {
    let refresh = http()
        .post(server.realm())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(OFFLINE_PASSWORD_GRANT)
        .send()
        .await?
        .json::<serde_json::Value>()
        .await?;
    let refresh = refresh["refresh_token"]
        .as_str()
        .context("refresh_token in answer")?
        .to_owned();
    let keychain =
        Keychain::empty().with_credential(host, Credential::IdentityToken(Secret::new(refresh)));
    ensure_pulls(keychain, base, host, repo, "identity token").await?;
    let last = server.requests().pop().context("token requests recorded")?;
    anyhow::ensure!(
        last.grant_type.as_deref() == Some("refresh_token") && last.user.as_deref() == Some("bob"),
        "{last:?}"
    );
    Ok(())
}

#[tokio::test]
async fn token_that_expires_mid_run_is_refreshed_once() {
    if !provisioned_only(&["auth/token-refresh"], "a token server it configures")
        .expect("valid backend selection")
    {
        return;
    }
    let server = TokenServer::start([("bob", "hunter2")]).expect("token server starts");
    let options = RegistryOptions::with_auth(server.auth());
    for_each_backend(&options, async |registry| {
        probe(registry, "auth/token-refresh", async {
            let (base, host) = (registry.base_url().to_owned(), registry.host().to_owned());
            let repo = unique_repo("auth-expiry");
            let bob = authenticator(
                Keychain::empty().with_credential(&host, Credential::basic("bob", "hunter2")),
            );
            push_artifact(&bob, &base, &host, &repo).await?;

            // distribution allows 60 s of leeway past `exp`: this token dies about 3 s after issue,
            // while `expires_in` tells the client it lasts minutes, so the client keeps it.
            let reader = authenticator(
                Keychain::empty().with_credential(&host, Credential::basic("bob", "hunter2")),
            );
            server.expire_next_token_at(-57);
            let before = server.requests().len();
            let first = pull_manifest(&reader, &base, &host, &repo).await?;
            anyhow::ensure!(
                first.statuses == [401, 200],
                "fresh token statuses {:?}",
                first.statuses
            );
            tokio::time::sleep(Duration::from_secs(5)).await;
            let second = pull_manifest(&reader, &base, &host, &repo).await?;
            anyhow::ensure!(
                second.statuses == [401, 200],
                "expired token: one 401 (invalid_token), then success; got {:?}",
                second.statuses
            );
            anyhow::ensure!(second.result.is_ok(), "refreshed pull failed");
            anyhow::ensure!(server.requests().len() - before == 2, "exactly one refresh");

            // Every token the server issues is already dead: refresh once, then a typed failure.
            server.expire_next_token_at(-3600);
            server.expire_next_token_at(-3600);
            let doomed = authenticator(
                Keychain::empty().with_credential(&host, Credential::basic("bob", "hunter2")),
            );
            let before = server.requests().len();
            let out = pull_manifest(&doomed, &base, &host, &repo).await?;
            anyhow::ensure!(
                out.statuses == [401, 401, 401],
                "never loops: {:?}",
                out.statuses
            );
            anyhow::ensure!(
                server.requests().len() - before == 2,
                "one fetch and one refresh"
            );
            let err = out.result.err().context("must fail")?;
            anyhow::ensure!(err.is_unauthorized(), "{err}");
            Ok(())
        })
        .await
    })
    .await
    .expect("expiring tokens are handled on every backend");
}
