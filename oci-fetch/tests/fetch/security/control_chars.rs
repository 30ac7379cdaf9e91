//! Control characters in annotations and titles go only into JSON bodies.

use super::*;

#[tokio::test]
async fn annotation_values_with_control_characters_go_only_into_json_bodies() {
    let hostile = format!("line one\r\n{INJECTED}: 1\u{1b}[2J\u{0}");
    let dir = tempfile::tempdir().expect("tempdir");
    // File names become titles: one with a line break in it.
    let name = format!("note\r\n{INJECTED}: 1.txt");
    let file = dir.path().join(&name);
    std::fs::write(&file, b"payload").expect("write");
    let registry = accepting_registry();
    let client = registry.client(Keychain::empty());
    let repo = client
        .repository(&registry.reference("app:v1"))
        .expect("repository");
    let mut annotations = BTreeMap::new();
    annotations.insert("org.example.note".to_owned(), hostile.clone());
    let req = oci_fetch::publish::push::PushRequest {
        files: vec![oci_fetch::publish::input::FileSpec {
            path: file,
            media_type: None,
        }],
        annotations,
        created: oci_ref::rfc3339::parse("2020-01-01T00:00:00Z"),
        ..Default::default()
    };
    oci_fetch::publish::push::push(&repo, Some("v1"), &req)
        .await
        .expect("push");
    let requests = registry.requests();
    for r in &requests {
        assert!(r.header(INJECTED).is_none(), "injected header: {r:?}");
        assert!(!r.target.chars().any(char::is_control), "{:?}", r.target);
        for (k, v) in &r.headers {
            assert!(
                !v.contains(INJECTED) && !v.chars().any(|c| c.is_control() && c != '\t'),
                "header {k}: {v:?}"
            );
        }
    }
    let manifest = requests
        .iter()
        .find(|r| r.method == "PUT" && r.path().ends_with("/manifests/v1"))
        .expect("the manifest PUT");
    let json: serde_json::Value = serde_json::from_slice(&manifest.body).expect("manifest JSON");
    assert_eq!(json["annotations"]["org.example.note"], hostile.as_str());
    assert_eq!(
        json["layers"][0]["annotations"][ANNOTATION_TITLE],
        name.as_str()
    );
}
