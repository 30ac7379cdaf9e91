//! Registry conformance: the distribution-spec v1.1 checks, in raw HTTP.
//!
//! The areas of the distribution-spec conformance suite, each one test against every backend
//! (and once against an `external` registry): [`pull`], [`push`], [`discovery`] (tags and
//! referrers), [`management`] (deletes) and [`data`] (the data sets of the 2026 rewrite: index,
//! nested index, artifacts with and without a subject, sha512, bad digests, the `data` field,
//! custom fields). Raw HTTP, not our client: these checks look at statuses and headers that
//! `oci-client` deliberately hides (a 202 instead of a 201, a missing `OCI-Subject`). Our own
//! client's workflows against the same registries are in the sibling modules.
//!
//! Every check records an outcome under `<area>/<check>`: passed, failed (one paragraph: the
//! request, the status it got and what was expected), or unsupported for an optional API the
//! registry lacks. An area runs all its checks and fails if any failed.
//!
//! Spec: <https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md>.

mod data;
mod discovery;
mod management;
mod pull;
mod push;

use std::fmt::Display;

use conformance::Registry;
use conformance::capability::{Outcome, check};
use reqwest::Method;
use reqwest::header::HeaderMap;

use crate::{OCI_EMPTY, OCI_MANIFEST, authed, client, push_blob, push_manifest, resolve_location};

pub(crate) use oci_ref::media_type::OCI_INDEX;

/// Layer media type of the data sets.
const LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
/// The error codes of distribution-spec v1.1.1, "Error Codes".
const ERROR_CODES: [&str; 14] = [
    "BLOB_UNKNOWN",
    "BLOB_UPLOAD_INVALID",
    "BLOB_UPLOAD_UNKNOWN",
    "DIGEST_INVALID",
    "MANIFEST_BLOB_UNKNOWN",
    "MANIFEST_INVALID",
    "MANIFEST_UNKNOWN",
    "NAME_INVALID",
    "NAME_UNKNOWN",
    "SIZE_INVALID",
    "UNAUTHORIZED",
    "DENIED",
    "UNSUPPORTED",
    "TOOMANYREQUESTS",
];

/// What a check found when it did not fail.
pub(crate) type Found = anyhow::Result<(Outcome, String)>;

/// The check passed.
pub(crate) fn pass() -> Found {
    Ok((Outcome::Passed, String::new()))
}

/// The check passed; `detail` says how (e.g. which of two allowed answers).
pub(crate) fn pass_with(detail: impl Into<String>) -> Found {
    Ok((Outcome::Passed, detail.into()))
}

/// The registry lacks the optional behaviour the check looks for.
pub(crate) fn unsupported(detail: impl Into<String>) -> Found {
    Ok((Outcome::Unsupported, detail.into()))
}

/// One response, with the request that produced it, for one-paragraph failures.
pub(crate) struct Answer {
    /// `METHOD path?query`.
    pub(crate) request: String,
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
    /// Why the body could not be read in full, if it could not.
    pub(crate) body_error: Option<String>,
}

impl Answer {
    /// A failure naming the request, the status (and the start of the body) and `expected`.
    pub(crate) fn fail(&self, expected: impl Display) -> anyhow::Error {
        let body = String::from_utf8_lossy(&self.body);
        let body: String = body.chars().take(200).collect();
        let body = body.trim();
        let shown = match (&self.body_error, body.is_empty()) {
            (Some(e), _) => format!(" with a body that broke off ({e})"),
            (None, true) => String::new(),
            (None, false) => format!(" with body {body:?}"),
        };
        anyhow::anyhow!(
            "{} answered {}{shown}; expected {expected}",
            self.request,
            self.status
        )
    }

    /// `Ok` if the status is one of `allowed`, else [`Answer::fail`] with `expected`.
    pub(crate) fn expect(&self, allowed: &[u16], expected: impl Display) -> anyhow::Result<()> {
        if allowed.contains(&self.status) {
            Ok(())
        } else {
            Err(self.fail(expected))
        }
    }

    /// A header as text; `None` if absent or not ASCII.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `Location`, or a failure saying it is missing.
    pub(crate) fn location(&self) -> anyhow::Result<String> {
        self.header("location")
            .map(str::to_owned)
            .ok_or_else(|| self.fail("a Location header"))
    }

    /// Fails unless `Docker-Content-Digest`, when present, is `digest`.
    pub(crate) fn digest_header_is(&self, digest: &str) -> anyhow::Result<()> {
        match self.header("docker-content-digest") {
            Some(d) if d != digest => {
                Err(self.fail(format_args!("Docker-Content-Digest {digest}, got {d}")))
            }
            _ => Ok(()),
        }
    }

    /// Fails unless a JSON error body's first code is `code` (a non-JSON body is allowed).
    pub(crate) fn error_code_is(&self, code: &str) -> anyhow::Result<()> {
        self.error_code_in(&[code])
    }

    /// Fails unless a JSON error body's first code is one of `codes` (a non-JSON body is
    /// allowed).
    pub(crate) fn error_code_in(&self, codes: &[&str]) -> anyhow::Result<()> {
        match self.first_error_code() {
            Some(got) if !codes.contains(&got.as_str()) => {
                Err(self.fail(format_args!("error code {}", codes.join(" or "))))
            }
            _ => Ok(()),
        }
    }

    /// Fails if a JSON error body's first code is not one of the spec's codes.
    pub(crate) fn error_code_known(&self) -> anyhow::Result<()> {
        match self.first_error_code() {
            Some(got) if !ERROR_CODES.contains(&got.as_str()) => {
                Err(self.fail("an error code from the spec's list"))
            }
            _ => Ok(()),
        }
    }

    fn first_error_code(&self) -> Option<String> {
        let json: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        Some(json.pointer("/errors/0/code")?.as_str()?.to_owned())
    }

    /// The body as JSON, or a failure saying it is not.
    pub(crate) fn json(&self) -> anyhow::Result<serde_json::Value> {
        serde_json::from_slice(&self.body).map_err(|e| self.fail(format_args!("a JSON body ({e})")))
    }
}

/// Raw HTTP against the registry under test, with its credentials if it has any.
pub(crate) struct Http<'r> {
    pub(crate) registry: &'r Registry,
    client: reqwest::Client,
}

impl<'r> Http<'r> {
    pub(crate) fn new(registry: &'r Registry) -> Self {
        Self {
            registry,
            client: client(),
        }
    }

    /// Sends `method` to `target` (a `/v2/…` path or a `Location` as the registry gave it).
    pub(crate) async fn send(
        &self,
        method: Method,
        target: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> anyhow::Result<Answer> {
        let url = resolve_location(self.registry, target)?;
        let request = match url.query() {
            Some(q) => format!("{method} {}?{q}", url.path()),
            None => format!("{method} {}", url.path()),
        };
        let mut builder = authed(self.registry, self.client.request(method, url));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        if let Some(body) = body {
            builder = builder.body(body);
        }
        let resp = builder
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("{request} got no response: {e}"))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        // A body that breaks off is part of the answer, not a transport error: the status and
        // headers still say what the registry meant (distribution 2.8.2 announces a 416's
        // Content-Length and sends less).
        let (body, body_error) = match resp.bytes().await {
            Ok(body) => (body.to_vec(), None),
            Err(e) => (Vec::new(), Some(e.to_string())),
        };
        Ok(Answer {
            request,
            status,
            headers,
            body,
            body_error,
        })
    }

    pub(crate) async fn get(
        &self,
        target: &str,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<Answer> {
        self.send(Method::GET, target, headers, None).await
    }

    pub(crate) async fn head(
        &self,
        target: &str,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<Answer> {
        self.send(Method::HEAD, target, headers, None).await
    }

    pub(crate) async fn delete(&self, target: &str) -> anyhow::Result<Answer> {
        self.send(Method::DELETE, target, &[], None).await
    }

    /// `POST /v2/<repo>/blobs/uploads/` expecting 202; returns the upload `Location`.
    pub(crate) async fn start_upload(&self, repo: &str) -> anyhow::Result<String> {
        let answer = self
            .send(
                Method::POST,
                &format!("/v2/{repo}/blobs/uploads/"),
                &[("content-length", "0")],
                None,
            )
            .await?;
        answer.expect(&[202], "202 Accepted opening an upload session")?;
        answer.location()
    }

    /// `PUT <location>?digest=<digest>` with `body` (possibly empty).
    pub(crate) async fn finish_upload(
        &self,
        location: &str,
        digest: &str,
        body: Vec<u8>,
    ) -> anyhow::Result<Answer> {
        let mut url = resolve_location(self.registry, location)?;
        url.query_pairs_mut().append_pair("digest", digest);
        let length = body.len().to_string();
        self.send(
            Method::PUT,
            url.as_str(),
            &[
                ("content-type", "application/octet-stream"),
                ("content-length", &length),
            ],
            Some(body),
        )
        .await
    }

    /// `GET /v2/<repo>/blobs/<digest>` expecting 200 and exactly `data`.
    pub(crate) async fn blob_is(
        &self,
        repo: &str,
        digest: &str,
        data: &[u8],
    ) -> anyhow::Result<()> {
        let answer = self.get(&format!("/v2/{repo}/blobs/{digest}"), &[]).await?;
        answer.expect(&[200], "200 with the uploaded blob")?;
        anyhow::ensure!(
            answer.body == data,
            "{} returned {} bytes that differ from the {} uploaded",
            answer.request,
            answer.body.len(),
            data.len()
        );
        Ok(())
    }

    /// `GET /v2/<repo>/manifests/<reference>` accepting `media_type`, expecting 200 and exactly
    /// `body` with that `Content-Type`.
    pub(crate) async fn manifest_is(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> anyhow::Result<Answer> {
        let answer = self
            .get(
                &format!("/v2/{repo}/manifests/{reference}"),
                &[("accept", media_type)],
            )
            .await?;
        answer.expect(&[200], "200 with the pushed manifest")?;
        anyhow::ensure!(
            answer.body == body,
            "{} returned a body that differs from the pushed bytes",
            answer.request
        );
        let content_type = answer.header("content-type").unwrap_or_default();
        anyhow::ensure!(
            content_type == media_type,
            "{} returned Content-Type {content_type:?}; expected {media_type}",
            answer.request
        );
        Ok(answer)
    }

    /// `PUT /v2/<repo>/manifests/<reference>` with `media_type`; the answer, unchecked.
    pub(crate) async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> anyhow::Result<Answer> {
        self.send(
            Method::PUT,
            &format!("/v2/{repo}/manifests/{reference}"),
            &[("content-type", media_type)],
            Some(body.to_vec()),
        )
        .await
    }
}

/// Runs the checks of one area against one registry and collects their failures.
pub(crate) struct Checks<'r> {
    registry: &'r Registry,
    failed: Vec<String>,
}

impl<'r> Checks<'r> {
    pub(crate) fn new(registry: &'r Registry) -> Self {
        Self {
            registry,
            failed: Vec::new(),
        }
    }

    /// Runs and records one check; its outcome, [`Outcome::Failed`] if it failed.
    pub(crate) async fn run(&mut self, name: &str, body: impl Future<Output = Found>) -> Outcome {
        match check(self.registry, name, body).await {
            Ok(outcome) => outcome,
            Err(e) => {
                self.failed.push(format!("{name}: {e:#}"));
                Outcome::Failed
            }
        }
    }

    /// `Ok` if no check failed, else one paragraph per failed check.
    pub(crate) fn finish(self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.failed.is_empty(),
            "{} check(s) failed:\n{}",
            self.failed.len(),
            self.failed.join("\n")
        );
        Ok(())
    }
}

/// `sha256:<hex>` of the empty JSON object `{}`, the OCI empty descriptor's digest.
pub(crate) const EMPTY_JSON_DIGEST: &str =
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

/// A descriptor object.
pub(crate) fn descriptor(media_type: &str, body: &[u8]) -> serde_json::Value {
    serde_json::json!({
        "mediaType": media_type,
        "digest": crate::sha256_digest(body),
        "size": body.len(),
    })
}

/// An image manifest with the empty config and `layers`; `extra` fields are merged in.
pub(crate) fn image_manifest(layers: &[&[u8]], extra: serde_json::Value) -> Vec<u8> {
    let mut manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(OCI_EMPTY, b"{}"),
        "layers": layers.iter().map(|l| descriptor(LAYER, l)).collect::<Vec<_>>(),
    });
    if let (Some(m), Some(extra)) = (manifest.as_object_mut(), extra.as_object()) {
        m.extend(extra.clone());
    }
    serde_json::to_vec(&manifest).expect("a JSON value serialises")
}

/// Pushes the empty config, `layers` and their manifest (with `extra`) under `reference`;
/// returns the manifest's bytes and digest.
pub(crate) async fn push_image(
    registry: &Registry,
    repo: &str,
    reference: &str,
    layers: &[&[u8]],
    extra: serde_json::Value,
) -> anyhow::Result<(Vec<u8>, String)> {
    push_blob(registry, repo, b"{}").await?;
    for layer in layers {
        push_blob(registry, repo, layer).await?;
    }
    let body = image_manifest(layers, extra);
    let digest = push_manifest(registry, repo, reference, OCI_MANIFEST, &body).await?;
    Ok((body, digest))
}

/// Ends an area's test: a failure panics with one paragraph per failed check (and the backend),
/// the message as written, not an error's debug form.
pub(crate) fn area_done(result: anyhow::Result<()>) {
    if let Err(e) = result {
        panic!("{e:#}");
    }
}
