//! Content discovery: tag listing with `n` and `last`, referrers with `artifactType` filtering
//! and `OCI-Filters-Applied`, `OCI-Subject` on push (distribution-spec v1.1.1 "Content
//! Discovery", the conformance suite's discovery workflow with its five referrers).
//!
//! The referrers API is optional for a registry: one that answers 404 for it (distribution
//! 2.8.2) has every referrers check unsupported, and clients fall back to the tag schema (checked
//! with our client in `client::referrers_write_and_read`).

use conformance::{RegistryOptions, for_each_backend, unique_repo};

use super::{
    Answer, Checks, EMPTY_JSON_DIGEST, Found, Http, OCI_INDEX, area_done, descriptor, pass,
    push_image, unsupported,
};
use crate::{OCI_EMPTY, OCI_MANIFEST, push_blob, sha256_digest};

/// Tags pushed for the listing checks, in lexical order.
const TAGS: [&str; 4] = ["alpha", "bravo", "charlie", "delta"];
/// The two artifact types of the referrers fixtures.
const TYPE_A: &str = "application/vnd.conformance.a.v1";
const TYPE_B: &str = "application/vnd.conformance.b.v1";
/// The annotation each referrer carries, with its own value.
const ANNOTATION: &str = "org.opencontainers.conformance.test";

#[tokio::test]
async fn discovery() {
    area_done(
        for_each_backend(&RegistryOptions::new(), async |registry| {
            let http = Http::new(registry);
            let repo = unique_repo("spec-discovery");
            for tag in TAGS {
                push_image(
                    registry,
                    &repo,
                    tag,
                    &[tag.as_bytes()],
                    serde_json::json!({}),
                )
                .await?;
            }
            let mut checks = Checks::new(registry);
            tags(&mut checks, &http, &repo).await;
            referrers(&mut checks, &http, &repo).await?;
            checks.finish()
        })
        .await,
    );
}

/// `GET /v2/<repo>/tags/list[?query]`: the answer and its tags.
async fn list(http: &Http<'_>, repo: &str, query: &str) -> anyhow::Result<(Answer, Vec<String>)> {
    let answer = http
        .get(&format!("/v2/{repo}/tags/list{query}"), &[])
        .await?;
    answer.expect(&[200], "200 with the tag list")?;
    let json = answer.json()?;
    let tags = json
        .get("tags")
        .map(|t| serde_json::from_value::<Option<Vec<String>>>(t.clone()))
        .transpose()
        .map_err(|e| answer.fail(format_args!("tags as a list of strings ({e})")))?
        .flatten()
        .unwrap_or_default();
    Ok((answer, tags))
}

async fn tags(checks: &mut Checks<'_>, http: &Http<'_>, repo: &str) {
    checks
        .run("discovery/tags-list", async {
            let (answer, tags) = list(http, repo, "").await?;
            let name = answer.json()?.get("name").cloned();
            anyhow::ensure!(
                name.as_ref().and_then(|n| n.as_str()) == Some(repo),
                "{} gave name {name:?}; expected {repo:?}",
                answer.request
            );
            let mut sorted = tags.clone();
            sorted.sort();
            anyhow::ensure!(
                sorted == TAGS,
                "{} listed {tags:?}; expected {TAGS:?}",
                answer.request
            );
            pass()
        })
        .await;
    // Lexical order is what the spec describes, but its conformance suite does not check it and
    // clients sort for themselves; distribution 2.8.2 lists tags in storage order.
    checks
        .run("discovery/tags-order", async {
            let (answer, tags) = list(http, repo, "").await?;
            if tags == TAGS {
                return pass();
            }
            unsupported(format!("{} lists tags unsorted: {tags:?}", answer.request))
        })
        .await;
    checks
        .run("discovery/tags-n", async {
            let (answer, tags) = list(http, repo, "?n=2").await?;
            if tags.len() > 2 {
                // Every tag, in whatever order: `n` is ignored.
                return unsupported(format!("{} ignores n: {} tags", answer.request, tags.len()));
            }
            let link = answer.header("link").is_some();
            anyhow::ensure!(
                tags == TAGS[..2]
                    || (link && tags.len() < 2 && tags.iter().zip(TAGS).all(|(a, b)| a == b)),
                "{} listed {tags:?}; expected {:?}",
                answer.request,
                &TAGS[..2]
            );
            let (zero, none) = list(http, repo, "?n=0").await?;
            anyhow::ensure!(
                none.is_empty() && zero.header("link").is_none(),
                "{} listed {none:?}; expected no tags and no Link",
                zero.request
            );
            pass()
        })
        .await;
    checks
        .run("discovery/tags-last", async {
            let (answer, tags) = list(http, repo, "?last=bravo").await?;
            if tags.len() == TAGS.len() {
                return unsupported(format!("{} ignores last", answer.request));
            }
            anyhow::ensure!(
                tags == TAGS[2..],
                "{} listed {tags:?}; expected the tags after bravo",
                answer.request
            );
            let (paged, one) = list(http, repo, "?n=1&last=alpha").await?;
            anyhow::ensure!(
                one == ["bravo"],
                "{} listed {one:?}; expected [\"bravo\"]",
                paged.request
            );
            pass()
        })
        .await;
    checks
        .run("discovery/tags-unknown-repository", async {
            let answer = http
                .get(&format!("/v2/{repo}-absent/tags/list"), &[])
                .await?;
            answer.expect(&[404], "404 for a repository that does not exist")?;
            answer.error_code_is("NAME_UNKNOWN")?;
            pass()
        })
        .await;
}

/// The referrers fixtures: what was pushed and what each `PUT` answered.
struct Fixtures {
    subject: String,
    missing_subject: String,
    /// `(digest, artifact type, annotation value, OCI-Subject answered)` of the five referrers.
    referrers: Vec<(String, String, String, Option<String>)>,
    missing_referrer: (String, Option<String>),
}

/// Pushes a subject, five referrers (types A and B, each as `artifactType` and as config media
/// type, and an index) and one referrer of a subject that is never pushed.
async fn push_fixtures(http: &Http<'_>, repo: &str) -> anyhow::Result<Fixtures> {
    let registry = http.registry;
    let (subject_body, subject) = push_image(
        registry,
        repo,
        "subject",
        &[b"subject"],
        serde_json::json!({}),
    )
    .await?;
    let missing_body = super::image_manifest(&[b"never pushed"], serde_json::json!({}));
    let missing_subject = sha256_digest(&missing_body);
    push_blob(registry, repo, b"{}").await?;
    for t in [TYPE_A, TYPE_B] {
        push_blob(registry, repo, t.as_bytes()).await?;
    }
    let subject_desc = descriptor(OCI_MANIFEST, &subject_body);
    let mut referrers = Vec::new();
    let manifests: Vec<(&str, &str, Vec<u8>)> = [TYPE_A, TYPE_B]
        .into_iter()
        .flat_map(|t| {
            let by_field = serde_json::json!({
                "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": t,
                "config": descriptor(OCI_EMPTY, b"{}"), "layers": [descriptor(OCI_EMPTY, b"{}")],
                "subject": subject_desc, "annotations": {ANNOTATION: format!("{t} field")},
            });
            let by_config = serde_json::json!({
                "schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": t, "digest": sha256_digest(t.as_bytes()), "size": t.len()},
                "layers": [descriptor(OCI_EMPTY, b"{}")],
                "subject": subject_desc, "annotations": {ANNOTATION: format!("{t} config")},
            });
            [(OCI_MANIFEST, t, by_field), (OCI_MANIFEST, t, by_config)]
        })
        .map(|(m, t, v)| (m, t, serde_json::to_vec(&v).expect("JSON serialises")))
        .collect();
    let index = serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX, "artifactType": TYPE_B,
        "manifests": [subject_desc], "subject": subject_desc,
        "annotations": {ANNOTATION: "index"},
    });
    let index = (OCI_INDEX, TYPE_B, serde_json::to_vec(&index)?);
    for (media_type, artifact_type, body) in manifests.into_iter().chain([index]) {
        let digest = sha256_digest(&body);
        let answer = http.put_manifest(repo, &digest, media_type, &body).await?;
        answer.expect(&[201], "201 Created for a referrer")?;
        let json: serde_json::Value = serde_json::from_slice(&body)?;
        let value = json["annotations"][ANNOTATION].as_str().unwrap_or_default();
        let echoed = answer.header("oci-subject").map(str::to_owned);
        referrers.push((digest, artifact_type.to_owned(), value.to_owned(), echoed));
    }
    let orphan = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": TYPE_A,
        "config": descriptor(OCI_EMPTY, b"{}"), "layers": [descriptor(OCI_EMPTY, b"{}")],
        "subject": descriptor(OCI_MANIFEST, &missing_body),
        "annotations": {ANNOTATION: "orphan"},
    }))?;
    let orphan_digest = sha256_digest(&orphan);
    let answer = http
        .put_manifest(repo, &orphan_digest, OCI_MANIFEST, &orphan)
        .await?;
    answer.expect(
        &[201],
        "201 Created for a referrer whose subject does not exist yet",
    )?;
    let echoed = answer.header("oci-subject").map(str::to_owned);
    Ok(Fixtures {
        subject,
        missing_subject,
        referrers,
        missing_referrer: (orphan_digest, echoed),
    })
}

/// `GET /v2/<repo>/referrers/<digest>[?query]`; `None` when the API is absent (404).
async fn referrers_of(
    http: &Http<'_>,
    repo: &str,
    digest: &str,
    query: &str,
) -> anyhow::Result<Option<(Answer, Vec<serde_json::Value>)>> {
    let answer = http
        .get(&format!("/v2/{repo}/referrers/{digest}{query}"), &[])
        .await?;
    if answer.status == 404 {
        return Ok(None);
    }
    answer.expect(&[200], "200 with an image index of referrers")?;
    let content_type = answer.header("content-type").unwrap_or_default();
    anyhow::ensure!(
        content_type == OCI_INDEX,
        "{} gave Content-Type {content_type:?}; expected {OCI_INDEX}",
        answer.request
    );
    let manifests = answer.json()?["manifests"]
        .as_array()
        .cloned()
        .ok_or_else(|| answer.fail("an index with a manifests array"))?;
    Ok(Some((answer, manifests)))
}

/// The referrers checks when the API answered 404.
fn no_api() -> Found {
    unsupported("no referrers API (404); clients use the referrers tag schema")
}

async fn referrers(checks: &mut Checks<'_>, http: &Http<'_>, repo: &str) -> anyhow::Result<()> {
    let f = push_fixtures(http, repo).await?;
    checks.run("discovery/oci-subject", oci_subject(&f)).await;
    checks
        .run("discovery/referrers-empty", referrers_empty(http, repo))
        .await;
    checks
        .run("discovery/referrers-list", referrers_list(http, repo, &f))
        .await;
    checks
        .run(
            "discovery/referrers-filter",
            referrers_filter(http, repo, &f),
        )
        .await;
    checks
        .run(
            "discovery/referrers-missing-subject",
            referrers_missing_subject(http, repo, &f),
        )
        .await;
    checks
        .run("discovery/empty-descriptor", async {
            http.blob_is(repo, EMPTY_JSON_DIGEST, b"{}").await?;
            pass()
        })
        .await;
    Ok(())
}

/// Every PUT of a manifest with a subject answered `OCI-Subject` with it (or none did).
async fn oci_subject(f: &Fixtures) -> Found {
    let all: Vec<(&str, &Option<String>)> = f
        .referrers
        .iter()
        .map(|r| (f.subject.as_str(), &r.3))
        .chain([(f.missing_subject.as_str(), &f.missing_referrer.1)])
        .collect();
    if all.iter().all(|(_, echoed)| echoed.is_none()) {
        return unsupported("no OCI-Subject on PUT: clients maintain the referrers tag");
    }
    for (subject, echoed) in all {
        anyhow::ensure!(
            echoed.as_deref() == Some(subject),
            "PUT of a manifest with subject {subject} answered OCI-Subject {echoed:?}"
        );
    }
    pass()
}

/// A digest nothing refers to has an empty list.
async fn referrers_empty(http: &Http<'_>, repo: &str) -> Found {
    let unknown = sha256_digest(b"nothing refers to this");
    let Some((answer, found)) = referrers_of(http, repo, &unknown, "").await? else {
        return no_api();
    };
    anyhow::ensure!(
        found.is_empty(),
        "{} listed {found:?}; expected none",
        answer.request
    );
    pass()
}

/// The subject's list has each referrer once, with its artifact type and annotations.
async fn referrers_list(http: &Http<'_>, repo: &str, f: &Fixtures) -> Found {
    let Some((answer, found)) = referrers_of(http, repo, &f.subject, "").await? else {
        return no_api();
    };
    for (digest, artifact_type, value, _) in &f.referrers {
        let entry = found
            .iter()
            .find(|d| d["digest"] == digest.as_str())
            .ok_or_else(|| answer.fail(format_args!("a descriptor for {digest}")))?;
        anyhow::ensure!(
            entry["artifactType"] == artifact_type.as_str()
                && entry["annotations"][ANNOTATION] == value.as_str(),
            "{} described {digest} as {entry}; expected artifactType {artifact_type} \
             and annotation {value:?}",
            answer.request
        );
    }
    anyhow::ensure!(
        found.len() == f.referrers.len(),
        "{} listed {} referrers; expected {}",
        answer.request,
        found.len(),
        f.referrers.len()
    );
    pass()
}

/// `?artifactType=` filters, and says so in `OCI-Filters-Applied`.
async fn referrers_filter(http: &Http<'_>, repo: &str, f: &Fixtures) -> Found {
    let query = format!("?artifactType={TYPE_A}");
    let Some((answer, found)) = referrers_of(http, repo, &f.subject, &query).await? else {
        return no_api();
    };
    let applied = answer.header("oci-filters-applied").unwrap_or_default();
    if !applied.split(',').any(|f| f.trim() == "artifactType") {
        anyhow::ensure!(
            found.len() == f.referrers.len(),
            "{} did not filter and listed {}; expected all {}",
            answer.request,
            found.len(),
            f.referrers.len()
        );
        return unsupported("no artifactType filter (no OCI-Filters-Applied)");
    }
    anyhow::ensure!(
        found.len() == 2 && found.iter().all(|d| d["artifactType"] == TYPE_A),
        "{} listed {found:?}; expected the 2 referrers of type {TYPE_A}",
        answer.request
    );
    pass()
}

/// A referrer pushed before its subject is listed for it.
async fn referrers_missing_subject(http: &Http<'_>, repo: &str, f: &Fixtures) -> Found {
    let Some((answer, found)) = referrers_of(http, repo, &f.missing_subject, "").await? else {
        return no_api();
    };
    anyhow::ensure!(
        found.len() == 1 && found[0]["digest"] == f.missing_referrer.0.as_str(),
        "{} listed {found:?}; expected the one referrer pushed before its subject",
        answer.request
    );
    pass()
}
