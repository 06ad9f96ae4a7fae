use super::*;
use pretty_assertions::assert_eq;
use proptest::prelude::*;
use serde_json::json;

struct PodLike;

impl FieldSchema for PodLike {
    fn shape(&self, path: &[&str]) -> Option<Shape> {
        match path {
            ["metadata", "labels"] => Some(Shape::Map),
            ["spec", "selector"] => Some(Shape::AtomicMap),
            ["spec", "finalizers"] => Some(Shape::SetList),
            ["spec", "template", "spec", "containers"] => Some(Shape::MapList(vec!["name".into()])),
            ["spec", "template", "spec", "containers", "ports"] => Some(Shape::MapList(vec![
                "protocol".into(),
                "containerPort".into(),
            ])),
            _ => None,
        }
    }
}

fn f(name: &str) -> PathElement {
    PathElement::Field(name.to_owned())
}

/// What server-side apply records for an applied object: leaves, list items with `"."`,
/// atomic lists and maps as leaves, map keys as members; keys in SMD order.
#[test]
fn applied_object_field_set_matches_smd_fields_v1() {
    let obj = json!({
        "apiVersion": "v1",
        "kind": "Thing",
        "metadata": {"name": "demo", "labels": {"app": "db"}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "db"}},
            "template": {"spec": {"containers": [{
                "name": "c",
                "image": "img",
                "ports": [{"containerPort": 80, "protocol": "TCP"}]
            }]}},
            "finalizers": ["b", "a"],
            "args": ["x", "y"],
            "empty": {},
            "gone": null
        }
    });
    let set = to_field_set(&obj, &PodLike).expect("valid");
    let want = r#"{"f:apiVersion":{},"f:kind":{},"f:metadata":{"f:labels":{"f:app":{}},"f:name":{}},"f:spec":{"f:args":{},"f:empty":{},"f:finalizers":{"v:\"a\"":{},"v:\"b\"":{}},"f:gone":{},"f:replicas":{},"f:selector":{},"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"c\"}":{".":{},"f:image":{},"f:name":{},"f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{},"f:protocol":{}}}}}}}}}"#;
    assert_eq!(
        serde_json::to_string(&set.to_fields_v1()).expect("json"),
        want
    );
    assert_eq!(
        FieldSet::from_fields_v1(&set.to_fields_v1()),
        Ok(set.clone())
    );
    assert!(set.contains(&[f("spec"), f("selector")]));
    assert!(
        !set.contains(&[f("spec"), f("selector"), f("matchLabels")]),
        "atomic map is one leaf"
    );
    assert!(
        !set.contains(&[f("spec")]),
        "struct fields with content are not members"
    );
}

#[test]
fn duplicate_set_items_are_owned_once_as_a_whole() {
    let set =
        to_field_set(&json!({"spec": {"finalizers": ["a", "a", "b"]}}), &PodLike).expect("ok");
    let paths: Vec<String> = set.paths().iter().map(|p| path_string(p)).collect();
    assert_eq!(
        paths,
        [
            ".f:spec.f:finalizers.v:\"a\"",
            ".f:spec.f:finalizers.v:\"b\""
        ]
    );
}

#[test]
fn list_item_errors_like_smd() {
    let cases = [
        (
            json!({"spec": {"template": {"spec": {"containers": [null]}}}}),
            "associative list with keys may not have a null element",
        ),
        (
            json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}),
            "associative list with keys has an element that omits all key fields [\"name\"] (and doesn't have default values for any key fields)",
        ),
        (
            json!({"spec": {"template": {"spec": {"containers": ["x"]}}}}),
            "associative list with keys may not have non-map elements",
        ),
        (
            json!({"spec": {"finalizers": [{"a": 1}]}}),
            "associative list without keys has an element that's a map type",
        ),
        (
            json!({"spec": {"finalizers": [null]}}),
            "associative list without keys has an element that's an explicit null",
        ),
        (
            json!({"spec": {"finalizers": [[1]]}}),
            "not supported: associative list with lists as elements",
        ),
    ];
    for (obj, want) in cases {
        let err = to_field_set(&obj, &PodLike).expect_err(want);
        assert!(err.to_string().ends_with(want), "{err}");
    }
}

#[test]
fn path_elements_order_and_serialise_like_smd() {
    let mut pes = vec![
        PathElement::Index(0),
        PathElement::Value(json!("a")),
        PathElement::Key(vec![("name".into(), json!("x"))]),
        PathElement::Field("z".into()),
        PathElement::Value(json!(1)),
        PathElement::Field("a".into()),
    ];
    pes.sort();
    let rendered: Vec<String> = pes.iter().map(ToString::to_string).collect();
    assert_eq!(
        rendered,
        ["f:a", "f:z", "k:{\"name\":\"x\"}", "v:1", "v:\"a\"", "i:0"]
    );
    assert_eq!(
        PathElement::Value(json!({"b": 1, "a": "<"})).to_string(),
        "v:{\"a\":\"\\u003c\",\"b\":1}"
    );
    for pe in &pes {
        assert_eq!(PathElement::parse(&pe.to_string()), Ok(Some(pe.clone())));
    }
    assert_eq!(
        PathElement::parse("k:{\"protocol\":\"TCP\",\"containerPort\":80}"),
        Ok(Some(PathElement::Key(vec![
            ("containerPort".into(), json!(80)),
            ("protocol".into(), json!("TCP"))
        ])))
    );
    assert_eq!(
        PathElement::parse("z:whatever"),
        Ok(None),
        "unknown types are skipped"
    );
    assert!(PathElement::parse("f").is_err());
    assert!(PathElement::parse("fx").is_err());
    assert!(PathElement::parse("i:x").is_err());
    assert!(PathElement::parse("v:{").is_err());
    assert_eq!(
        compare_values(&json!(1), &json!(1.5)),
        Ordering::Less,
        "ints and floats compare numerically"
    );
    assert_eq!(
        compare_values(&json!({"a": 1}), &json!({"a": 1, "b": 2})),
        Ordering::Less
    );
}

#[test]
fn fields_v1_parsing_like_smd() {
    let v = json!({"f:a": {}, "f:b": {".": {}, "f:c": {}}, "f:d": {"f:e": {}}, "z:unknown": {}});
    let set = FieldSet::from_fields_v1(&v).expect("parses");
    let paths: Vec<String> = set.paths().iter().map(|p| path_string(p)).collect();
    assert_eq!(paths, [".f:a", ".f:b", ".f:b.f:c", ".f:d.f:e"]);
    assert!(FieldSet::from_fields_v1(&json!({"f:a": 1})).is_err());
    assert!(FieldSet::from_fields_v1(&json!([])).is_err());
    assert_eq!(FieldSet::from_fields_v1(&json!({})), Ok(FieldSet::new()));
}

#[test]
fn schemaless_set_guesses_list_keys() {
    let set = set_from_value(
        &json!({"a": [{"name": "x", "v": 1}, {"other": 2}, 5, {"id": {"nested": 1}}]}),
    );
    let paths: Vec<String> = set.paths().iter().map(|p| path_string(p)).collect();
    assert_eq!(
        paths,
        [
            ".f:a.k:{\"name\":\"x\"}.f:name",
            ".f:a.k:{\"name\":\"x\"}.f:v",
            ".f:a.i:1.f:other",
            ".f:a.i:2",
            ".f:a.i:3.f:id.f:nested"
        ]
    );
}

fn arb_pe() -> impl Strategy<Value = PathElement> {
    prop_oneof![
        "[a-c]".prop_map(PathElement::Field),
        (0usize..3).prop_map(PathElement::Index),
        prop_oneof![Just(json!("x")), Just(json!(1)), Just(json!(true))]
            .prop_map(PathElement::Value),
        "[a-c]".prop_map(|n| PathElement::Key(vec![("name".to_owned(), Value::String(n))])),
    ]
}

fn arb_set() -> impl Strategy<Value = FieldSet> {
    proptest::collection::vec(proptest::collection::vec(arb_pe(), 1..4), 0..8).prop_map(|paths| {
        let mut s = FieldSet::new();
        for p in paths {
            s.insert(&p);
        }
        s
    })
}

proptest! {
    #[test]
    fn fields_v1_round_trips(s in arb_set()) {
        prop_assert_eq!(FieldSet::from_fields_v1(&s.to_fields_v1()), Ok(s));
    }

    #[test]
    fn set_algebra(a in arb_set(), b in arb_set()) {
        let union = a.union(&b);
        let diff = a.difference(&b);
        let inter = a.intersection(&b);
        for p in a.paths() {
            prop_assert!(union.contains(&p));
            prop_assert_eq!(diff.contains(&p), !b.contains(&p));
            prop_assert_eq!(inter.contains(&p), b.contains(&p));
        }
        for p in b.paths() {
            prop_assert!(union.contains(&p));
            prop_assert!(!diff.contains(&p));
        }
        prop_assert_eq!(union.paths().len(), a.paths().len() + b.paths().len() - inter.paths().len());
        prop_assert_eq!(diff.union(&inter), a);
    }

    #[test]
    fn to_field_set_never_panics(obj in any::<u8>().prop_flat_map(|_| proptest::collection::vec(("[a-z]{1,3}", -2i64..2), 0..4))) {
        let v = Value::Object(obj.into_iter().map(|(k, n)| (k, json!([n, {"name": n}]))).collect());
        let _ = to_field_set(&json!({"spec": {"template": {"spec": {"containers": [v.clone()]}}, "finalizers": [v.clone()]}, "x": v}), &PodLike);
    }
}
