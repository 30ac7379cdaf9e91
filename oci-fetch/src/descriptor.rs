//! The object model: descriptors, image manifests, image indexes and platforms.
//!
//! These are [`oci_ref::model`]'s types (the one definition in the workspace), re-exported here
//! so a caller of `oci-fetch` needs no other import: resolve, download, pull, publish, layout
//! and copy all use them. Reading tolerates unknown fields; manifests are addressed by the bytes
//! received, which these types are parsed from, never re-serialised into. Code that rewrites a
//! JSON document in place (the layout's `index.json`) edits it as generic JSON so unknown fields
//! survive.

pub use oci_ref::model::{
    ANNOTATION_CREATED, ANNOTATION_REF_NAME, ANNOTATION_TITLE, Descriptor, ImageIndex,
    ImageManifest, Platform,
};
