use super::*;
use crate::field::aggregate_message;
use pretty_assertions::assert_eq;
use std::collections::BTreeMap;

fn meta(name: &str, ns: Option<&str>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: ns.map(str::to_owned),
        ..ObjectMeta::default()
    }
}

fn messages(errs: &[FieldError]) -> Vec<String> {
    errs.iter().map(ToString::to_string).collect()
}

const SUBDOMAIN: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

#[test]
fn dns_name_messages_like_go() {
    assert!(dns1123_subdomain_errors("demo.example-1").is_empty());
    assert_eq!(dns1123_subdomain_errors("Demo"), [SUBDOMAIN]);
    assert_eq!(
        dns1123_subdomain_errors(&"a".repeat(254)),
        ["must be no more than 253 characters"]
    );
    assert!(dns1123_label_errors("ns-1").is_empty());
    assert_eq!(dns1123_label_errors("a.b"), ["must not contain dots"]);
    assert_eq!(dns1123_label_errors("-a"), [LABEL]);
    assert_eq!(
        dns1123_label_errors(&"a".repeat(64)),
        ["must be no more than 63 characters"]
    );
    assert_eq!(
        NameRule::Dns1123Subdomain.errors("demo-", true),
        Vec::<String>::new(),
        "generateName may end in '-'"
    );
    assert_eq!(
        NameRule::Dns1123Subdomain.errors("demo-", false),
        [SUBDOMAIN]
    );
    assert_eq!(
        NameRule::PathSegment.errors("..", false),
        ["may not be '..'"]
    );
    assert_eq!(
        NameRule::PathSegment.errors("a/b%", false),
        ["may not contain '/'", "may not contain '%'"]
    );
    assert!(NameRule::PathSegment.errors(".", true).is_empty());
}

#[test]
fn create_validation_collects_everything_in_go_order() {
    let mut m = meta("Bad_Name", None);
    m.generate_name = Some("Gen-".into());
    m.generation = Some(-1);
    m.labels = Some(BTreeMap::from([("-k".to_owned(), "v!".to_owned())]));
    m.annotations = Some(BTreeMap::from([
        ("EXAMPLE.com/Ok".to_owned(), "x".to_owned()),
        ("a/b/c".to_owned(), String::new()),
    ]));
    m.finalizers = Some(vec![
        "orphan".into(),
        "foregroundDeletion".into(),
        "bad finalizer".into(),
    ]);
    m.owner_references = Some(vec![
        OwnerReference {
            api_version: "a/b/c".into(),
            kind: "K".into(),
            name: "n".into(),
            uid: "u".into(),
            controller: Some(true),
            ..OwnerReference::default()
        },
        OwnerReference {
            api_version: String::new(),
            kind: String::new(),
            name: "n2".into(),
            uid: String::new(),
            controller: Some(true),
            ..OwnerReference::default()
        },
    ]);
    let errs = validate_object_meta(&m, true, NameRule::Dns1123Subdomain);
    let got = messages(&errs);
    let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "metadata.generateName",
            "metadata.name",
            "metadata.namespace",
            "metadata.generation",
            "metadata.labels",
            "metadata.labels",
            "metadata.annotations",
            "metadata.ownerReferences[0].apiVersion",
            "metadata.ownerReferences[1].apiVersion",
            "metadata.ownerReferences[1].kind",
            "metadata.ownerReferences[1].uid",
            "metadata.ownerReferences",
            "metadata.finalizers",
            "metadata.finalizers",
        ]
    );
    assert_eq!(
        got[0],
        format!("metadata.generateName: Invalid value: \"Gen-\": {SUBDOMAIN}")
    );
    assert_eq!(got[2], "metadata.namespace: Required value");
    assert_eq!(
        got[3],
        "metadata.generation: Invalid value: -1: must be greater than or equal to 0"
    );
    assert!(
        got[6].starts_with("metadata.annotations: Invalid value: \"a/b/c\": a valid label key"),
        "{}",
        got[6]
    );
    assert_eq!(
        got[7],
        "metadata.ownerReferences[0].apiVersion: Invalid value: \"a/b/c\": must be <group>/<version> or <version>"
    );
    assert_eq!(
        got[8],
        "metadata.ownerReferences[1].apiVersion: Required value: must not be empty"
    );
    assert!(got[11].ends_with("Only one reference can have Controller set to true. Found \"true\" in references for K/n and /n2"), "{}", got[11]);
    assert!(
        got[12].starts_with(
            "metadata.finalizers: Invalid value: \"bad finalizer\": name part must consist of"
        ),
        "{}",
        got[12]
    );
    assert_eq!(
        got[13],
        "metadata.finalizers: Invalid value: [\"orphan\",\"foregroundDeletion\",\"bad finalizer\"]: finalizer orphan and foregroundDeletion cannot be both set"
    );
}

#[test]
fn create_validation_namespace_and_name_rules() {
    assert!(
        validate_object_meta(
            &meta("demo", Some("default")),
            true,
            NameRule::Dns1123Subdomain
        )
        .is_empty()
    );
    assert_eq!(
        messages(&validate_object_meta(
            &meta("", Some("default")),
            true,
            NameRule::Dns1123Subdomain
        )),
        ["metadata.name: Required value: name or generateName is required"]
    );
    assert_eq!(
        messages(&validate_object_meta(
            &meta("demo", Some("default")),
            false,
            NameRule::Dns1123Subdomain
        )),
        ["metadata.namespace: Forbidden: not allowed on this type"]
    );
    assert_eq!(
        messages(&validate_object_meta(
            &meta("demo", Some("a.b")),
            true,
            NameRule::Dns1123Subdomain
        )),
        ["metadata.namespace: Invalid value: \"a.b\": must not contain dots"]
    );
    let mut big = meta("demo", Some("default"));
    big.annotations = Some(BTreeMap::from([(
        "k".to_owned(),
        "x".repeat(TOTAL_ANNOTATION_SIZE_LIMIT),
    )]));
    assert_eq!(
        messages(&validate_object_meta(
            &big,
            true,
            NameRule::Dns1123Subdomain
        )),
        ["metadata.annotations: Too long: may not be more than 262144 bytes"]
    );
    let mut event_owner = meta("demo", Some("default"));
    event_owner.owner_references = Some(vec![OwnerReference {
        api_version: "v1".into(),
        kind: "Event".into(),
        name: "e".into(),
        uid: "u".into(),
        ..OwnerReference::default()
    }]);
    let errs = validate_object_meta(&event_owner, true, NameRule::Dns1123Subdomain);
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0]
            .to_string()
            .ends_with("/v1, Kind=Event is disallowed from being an owner"),
        "{}",
        errs[0]
    );
}

#[test]
fn update_validation_guards_immutable_fields() {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    let ts = |s: &str| serde_json::from_value::<Time>(serde_json::json!(s)).expect("time");
    let mut old = meta("demo", Some("default"));
    old.uid = Some("u1".into());
    old.generation = Some(3);
    old.resource_version = Some("10".into());
    old.creation_timestamp = Some(ts("2026-01-01T00:00:00Z"));
    let mut new = old.clone();
    assert!(validate_object_meta_update(&new, &old).is_empty());

    new.name = Some("other".into());
    new.uid = Some("u2".into());
    new.generation = Some(2);
    new.resource_version = None;
    new.creation_timestamp = Some(ts("2026-02-01T00:00:00Z"));
    let errs = validate_object_meta_update(&new, &old);
    assert_eq!(
        aggregate_message(&errs),
        "[metadata.resourceVersion: Invalid value: \"\": must be specified for an update, metadata.generation: Invalid value: 2: must not be decremented, metadata.name: Invalid value: \"other\": field is immutable, metadata.uid: Invalid value: \"u2\": field is immutable, metadata.creationTimestamp: Invalid value: \"2026-02-01T00:00:00Z\": field is immutable]"
    );

    let mut deleting = old.clone();
    deleting.deletion_timestamp = Some(ts("2026-03-01T00:00:00Z"));
    deleting.finalizers = Some(vec!["a".into()]);
    let mut adding = deleting.clone();
    adding.finalizers = Some(vec!["a".into(), "c".into(), "b".into()]);
    assert_eq!(
        messages(&validate_object_meta_update(&adding, &deleting)),
        [
            "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"b\", \"c\"}"
        ]
    );
    let mut removing = deleting.clone();
    removing.finalizers = None;
    assert!(
        validate_object_meta_update(&removing, &deleting).is_empty(),
        "removing finalizers while deleting is fine"
    );
}
