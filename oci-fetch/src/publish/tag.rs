//! Tag: the manifest bytes of a reference, unchanged, under more tags.

use oci_client::{ManifestRef, Repository};

use super::PublishError;
use super::model::Descriptor;

/// Fetches `source` and pushes its exact bytes under each of `tags`. Returns its descriptor.
/// All tags are validated before anything is pushed.
pub async fn tag(
    repo: &Repository,
    source: &ManifestRef,
    tags: &[String],
) -> Result<Descriptor, PublishError> {
    let refs = tags
        .iter()
        .map(|t| {
            ManifestRef::tag(t).map_err(|_| PublishError::invalid("tag", t, "not a valid tag"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let manifest = repo.fetch_manifest(source).await?;
    let d = manifest.descriptor().clone();
    for r in &refs {
        repo.push_manifest(r, manifest.bytes().clone(), &d.media_type)
            .await?;
    }
    Ok(Descriptor::new(&d.media_type, d.digest.as_str(), d.size))
}
