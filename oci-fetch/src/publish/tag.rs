//! Tag: the manifest bytes of a reference, unchanged, under more tags.

use oci_ref::TagOrDigest;

use oci_ref::model::Descriptor;

use super::PublishError;
use super::store::Store;

/// Fetches `source` from `store` (a `&Repository` or a `&OciLayout`) and stores its exact
/// bytes under each of `tags`. Returns its descriptor, with the manifest's artifact type
/// (its `artifactType`, else its config's media type, as in a referrers listing). All tags are validated before anything
/// is written.
///
/// # Errors
///
/// [`PublishError::InvalidArgument`] for an invalid tag (before anything is written), and the
/// store's errors ([`PublishError::Registry`], [`PublishError::Layout`]).
pub async fn tag<'a>(
    store: impl Into<Store<'a>>,
    source: &TagOrDigest,
    tags: &[String],
) -> Result<Descriptor, PublishError> {
    let store = store.into();
    let refs = tags
        .iter()
        .map(|t| {
            TagOrDigest::tag(t).map_err(|_| PublishError::invalid("tag", t, "not a valid tag"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let manifest = store.fetch_manifest(source).await?;
    let mut d = manifest.descriptor;
    let artifact_type = super::discover::artifact_type_of(&manifest.bytes);
    d.artifact_type.clone_from(&artifact_type);
    for r in &refs {
        store
            .push_manifest(
                Some(r),
                manifest.bytes.clone(),
                &d.media_type,
                artifact_type.as_deref(),
            )
            .await?;
    }
    Ok(d)
}
