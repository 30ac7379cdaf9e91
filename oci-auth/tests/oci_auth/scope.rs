//! Scopes: parsing from both ends, display, merge.

use oci_auth::{Action, Scope};

fn check(input: &str) -> String {
    match Scope::parse(input) {
        Ok(s) => format!(
            "{input:?} -> type={} name={} actions={:?} display={}",
            s.resource_type(),
            s.name(),
            s.actions().iter().map(Action::as_str).collect::<Vec<_>>(),
            s
        ),
        Err(e) => format!("{input:?} -> error: {e}"),
    }
}

#[test]
fn parse_table() {
    let cases = [
        "repository:library/alpine:pull",
        "repository:localhost:5000/app:push,pull",
        "repository:[::1]:5000/app:pull",
        "repository:a/b:pull,pull,push",
        "registry:catalog:*",
        "repository(plugin):a/b:pull",
        "repository:a/b:",
        "repository:a/b:delete,frob",
        "repository:a",
        "Repository:a/b:pull",
        "repository::pull",
        "repository:a b:pull",
        "repository:a/b:PULL",
        "",
    ];
    let out: Vec<String> = cases.iter().map(|c| check(c)).collect();
    insta::assert_snapshot!(out.join("\n"));
}

#[test]
fn too_long_scope_is_refused() {
    let long = format!("repository:{}:pull", "a".repeat(oci_auth::MAX_SCOPE_LENGTH));
    let err = Scope::parse(&long).expect_err("over MAX_SCOPE_LENGTH");
    assert!(err.to_string().contains("longer than"), "{err}");
}

#[test]
fn constructors_display() {
    assert_eq!(Scope::pull("a/b").to_string(), "repository:a/b:pull");
    assert_eq!(
        Scope::push_pull("a/b").to_string(),
        "repository:a/b:pull,push"
    );
    assert_eq!(Scope::catalog().to_string(), "registry:catalog:*");
    assert_eq!(
        Scope::repository("a", &[Action::Delete, Action::Pull]).to_string(),
        "repository:a:pull,delete"
    );
}

#[test]
fn merge_unions_actions_per_resource_and_sorts() {
    let merged = Scope::merge(&[
        Scope::pull("b"),
        Scope::push_pull("a"),
        Scope::pull("a"),
        Scope::repository("b", &[Action::Push]),
        Scope::catalog(),
    ]);
    let text: Vec<String> = merged.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "registry:catalog:*",
            "repository:a:pull,push",
            "repository:b:pull,push"
        ]
    );
}

#[test]
fn covers() {
    assert!(Scope::push_pull("a").covers(&Scope::pull("a")));
    assert!(!Scope::pull("a").covers(&Scope::push_pull("a")));
    assert!(!Scope::pull("a").covers(&Scope::pull("b")));
    assert!(Scope::catalog().covers(&Scope::new("registry", "catalog", &[Action::Pull])));
}

#[test]
fn parse_list_splits_on_spaces() {
    let list = Scope::parse_list("repository:a:pull  repository:b:push").expect("valid list");
    assert_eq!(
        list,
        vec![Scope::pull("a"), Scope::repository("b", &[Action::Push])]
    );
}

proptest::proptest! {
    #[test]
    fn display_round_trips(
        name in "[a-z0-9]{1,8}(:[0-9]{1,5})?(/[a-z0-9._-]{1,8}){0,3}",
        actions in proptest::collection::vec(proptest::sample::select(vec!["pull", "push", "delete", "*", "frob"]), 0..4),
    ) {
        let actions: Vec<Action> = actions.iter().filter_map(|a| Action::parse(a)).collect();
        let s = Scope::repository(&name, &actions);
        let back = Scope::parse(&s.to_string()).expect("display output parses");
        proptest::prop_assert_eq!(back, s);
    }

    #[test]
    fn parse_never_panics(input in ".{0,64}") {
        let _ = Scope::parse(&input);
    }
}
