use super::*;
use pretty_assertions::assert_eq;
use proptest::prelude::*;
use serde_json::json;

/// A recursive schema keyed by the last path segment, like Go's test `mergeItem` type whose
/// list items are again `mergeItem`s.
struct ItemSchema;

impl PatchSchema for ItemSchema {
    fn patch_meta(&self, path: &[&str]) -> PatchMeta {
        match path.last().copied() {
            Some("mergingList" | "retainKeysMergingList") => PatchMeta::merge_by("name"),
            Some("mergingIntList") => PatchMeta::merge_set(),
            Some("replacingItem") => PatchMeta::replace(),
            Some("mergingListNoKey") => PatchMeta {
                strategy: PatchStrategy::Merge,
                merge_key: None,
            },
            _ => PatchMeta::default(),
        }
    }
}

fn smp(doc: Value, patch: Value) -> Result<Value, PatchError> {
    apply_strategic_merge_patch(&doc, patch.to_string().as_bytes(), &ItemSchema)
}

/// (what it shows, original, patch, expected result)
#[test]
fn strategic_merge_patch_cases() {
    let cases: Vec<(&str, Value, Value, Value)> = vec![
        (
            "primitive merge list is a set",
            json!({"mergingIntList": [5, 6]}),
            json!({"mergingIntList": [6, 7]}),
            json!({"mergingIntList": [5, 6, 7]}),
        ),
        (
            "non-merge primitive list is replaced",
            json!({"nonMergingIntList": [5, 6]}),
            json!({"nonMergingIntList": [7]}),
            json!({"nonMergingIntList": [7]}),
        ),
        (
            "non-merge list of maps is replaced",
            json!({"nonMergingList": [{"name": "a", "value": "1"}]}),
            json!({"nonMergingList": [{"name": "b"}]}),
            json!({"nonMergingList": [{"name": "b"}]}),
        ),
        (
            "map fields merge, null deletes",
            json!({"simpleMap": {"k1": "a", "k2": "b"}, "value": "v"}),
            json!({"simpleMap": {"k1": null, "k3": "c"}}),
            json!({"simpleMap": {"k2": "b", "k3": "c"}, "value": "v"}),
        ),
        (
            "$patch: delete on a map empties it",
            json!({"simpleMap": {"k1": "a"}}),
            json!({"simpleMap": {"$patch": "delete"}}),
            json!({"simpleMap": {}}),
        ),
        (
            "$patch: replace on a map replaces it",
            json!({"name": "n", "value": "v"}),
            json!({"$patch": "replace", "other": "o"}),
            json!({"other": "o"}),
        ),
        (
            "[{$patch: replace}] empties a merge list",
            json!({"mergingList": [{"name": "a"}, {"name": "b"}]}),
            json!({"mergingList": [{"$patch": "replace"}]}),
            json!({"mergingList": []}),
        ),
        (
            "$patch: replace item replaces the list with the other items",
            json!({"mergingList": [{"name": "a", "value": "1"}]}),
            json!({"mergingList": [{"name": "b"}, {"$patch": "replace"}]}),
            json!({"mergingList": [{"name": "b"}]}),
        ),
        (
            "$patch: delete removes every item with that key",
            json!({"mergingList": [{"name": "x"}, {"name": "x"}, {"name": "y", "value": "1"}, {"name": "z"}]}),
            json!({"mergingList": [{"name": "x", "$patch": "delete"}, {"name": "z", "$patch": "delete"}]}),
            json!({"mergingList": [{"name": "y", "value": "1"}]}),
        ),
        (
            "merge list items merge by key and keep unmentioned fields",
            json!({"mergingList": [{"name": "a", "value": "1", "other": "o"}, {"name": "b"}]}),
            json!({"mergingList": [{"name": "a", "value": "2", "other": null}]}),
            json!({"mergingList": [{"name": "a", "value": "2"}, {"name": "b"}]}),
        ),
        (
            "patch order wins over live order",
            json!({"mergingList": [{"name": "a"}, {"name": "b", "value": "B"}, {"name": "c"}]}),
            json!({"mergingList": [{"name": "c", "value": "C"}, {"name": "a", "value": "A"}, {"name": "b", "other": "x"}]}),
            json!({"mergingList": [{"name": "c", "value": "C"}, {"name": "a", "value": "A"}, {"name": "b", "value": "B", "other": "x"}]}),
        ),
        (
            "server-only items interleave by live order",
            json!({"mergingList": [{"name": "a"}, {"name": "b", "value": "B"}, {"name": "c"}]}),
            json!({"mergingList": [{"name": "c", "value": "C"}, {"name": "a", "value": "A"}]}),
            json!({"mergingList": [{"name": "b", "value": "B"}, {"name": "c", "value": "C"}, {"name": "a", "value": "A"}]}),
        ),
        (
            "without $setElementOrder, items unknown to the live list go first (Go's mergeSortedSlice)",
            json!({"mergingList": [{"name": "a"}]}),
            json!({"mergingList": [{"name": "n"}]}),
            json!({"mergingList": [{"name": "n"}, {"name": "a"}]}),
        ),
        (
            "$setElementOrder places new and live items",
            json!({"mergingList": [{"name": "1", "other": "a"}, {"name": "3"}]}),
            json!({"$setElementOrder/mergingList": [{"name": "1"}, {"name": "2"}], "mergingList": [{"name": "2"}]}),
            json!({"mergingList": [{"name": "1", "other": "a"}, {"name": "2"}, {"name": "3"}]}),
        ),
        (
            "primitive order follows the patch",
            json!({"mergingIntList": [1, 2, 3]}),
            json!({"mergingIntList": [3, 1, 2]}),
            json!({"mergingIntList": [3, 1, 2]}),
        ),
        (
            "$deleteFromPrimitiveList deletes from a merge list",
            json!({"mergingIntList": [1, 2, 3]}),
            json!({"$deleteFromPrimitiveList/mergingIntList": [2]}),
            json!({"mergingIntList": [1, 3]}),
        ),
        (
            "$deleteFromPrimitiveList deletes from a non-merge list",
            json!({"nonMergingIntList": [1, 2, 3]}),
            json!({"$deleteFromPrimitiveList/nonMergingIntList": [2]}),
            json!({"nonMergingIntList": [1, 3]}),
        ),
        (
            "$deleteFromPrimitiveList of a missing item changes nothing",
            json!({"mergingIntList": [1, 2]}),
            json!({"$deleteFromPrimitiveList/mergingIntList": [9]}),
            json!({"mergingIntList": [1, 2]}),
        ),
        (
            "$deleteFromPrimitiveList never creates the list",
            json!({"foo": ["bar"]}),
            json!({"$deleteFromPrimitiveList/mergingIntList": [3]}),
            json!({"foo": ["bar"]}),
        ),
        (
            "$deleteFromPrimitiveList on a null list keeps it null",
            json!({"mergingIntList": null}),
            json!({"$deleteFromPrimitiveList/mergingIntList": [3]}),
            json!({"mergingIntList": null}),
        ),
        (
            "$setElementOrder reorders an unpatched primitive list, ignoring unknown items",
            json!({"mergingIntList": [1, 3]}),
            json!({"$setElementOrder/mergingIntList": [3, 2, 1]}),
            json!({"mergingIntList": [3, 1]}),
        ),
        (
            "$setElementOrder orders a patched map list",
            json!({"mergingList": [{"name": "1"}, {"name": "3"}]}),
            json!({"$setElementOrder/mergingList": [{"name": "3"}, {"name": "2"}, {"name": "1"}], "mergingList": [{"name": "3", "value": "3"}, {"name": "1", "value": "1"}]}),
            json!({"mergingList": [{"name": "3", "value": "3"}, {"name": "1", "value": "1"}]}),
        ),
        (
            "$setElementOrder with $deleteFromPrimitiveList keeps server-only items",
            json!({"mergingIntList": [1, 2, 3, 4]}),
            json!({"$setElementOrder/mergingIntList": [1, 2], "$deleteFromPrimitiveList/mergingIntList": [3]}),
            json!({"mergingIntList": [1, 2, 4]}),
        ),
        (
            "$setElementOrder for a list only in the patch",
            json!({}),
            json!({"$setElementOrder/mergingList": [{"name": "b"}, {"name": "a"}], "mergingList": [{"name": "b"}, {"name": "a"}]}),
            json!({"mergingList": [{"name": "b"}, {"name": "a"}]}),
        ),
        (
            "$setElementOrder with deletions: server-only items land where Go's in-place merge leaves them",
            json!({"mergingList": [{"name": "a"}, {"name": "b", "value": "x"}, {"name": "d", "value": "y"}]}),
            json!({"$setElementOrder/mergingList": [{"name": "b"}, {"name": "c"}], "mergingList": [{"name": "c"}, {"name": "a", "$patch": "delete"}]}),
            json!({"mergingList": [{"name": "b", "value": "x"}, {"name": "d", "value": "y"}, {"name": "c"}]}),
        ),
        (
            "$retainKeys clears unlisted keys",
            json!({"retainKeysMap": {"name": "foo", "value": "a", "other": "x"}}),
            json!({"retainKeysMap": {"$retainKeys": ["name", "value"], "value": "b"}}),
            json!({"retainKeysMap": {"name": "foo", "value": "b"}}),
        ),
        (
            "$retainKeys inside merge list items",
            json!({"retainKeysMergingList": [{"name": "a", "value": "1", "other": "o"}]}),
            json!({"retainKeysMergingList": [{"name": "a", "$retainKeys": ["name", "other"]}]}),
            json!({"retainKeysMergingList": [{"name": "a", "other": "o"}]}),
        ),
        (
            "replace strategy replaces a map",
            json!({"replacingItem": {"a": 1, "b": 2}}),
            json!({"replacingItem": {"b": 3}}),
            json!({"replacingItem": {"b": 3}}),
        ),
        (
            "new value drops nulls and directives",
            json!({}),
            json!({"simpleMap": {"a": null, "b": "x"}, "mergingList": [{"name": "a"}, {"name": "b", "$patch": "delete"}]}),
            json!({"simpleMap": {"b": "x"}, "mergingList": [{"name": "a"}]}),
        ),
        (
            "type change takes the patch value",
            json!({"value": "scalar"}),
            json!({"value": {"now": "map", "gone": null}}),
            json!({"value": {"now": "map"}}),
        ),
        (
            "null for a missing key is ignored",
            json!({"a": 1}),
            json!({"b": null}),
            json!({"a": 1}),
        ),
        (
            "empty lists merge to empty",
            json!({"mergingList": []}),
            json!({"mergingList": []}),
            json!({"mergingList": []}),
        ),
        (
            "nested merge lists recurse",
            json!({"mergingList": [{"name": "a", "mergingIntList": [1]}]}),
            json!({"mergingList": [{"name": "a", "mergingIntList": [2]}]}),
            json!({"mergingList": [{"name": "a", "mergingIntList": [2, 1]}]}),
        ),
        (
            "null patch is a no-op",
            json!({"a": 1}),
            Value::Null,
            json!({"a": 1}),
        ),
    ];
    for (what, original, patch, want) in cases {
        let got = smp(original, patch).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(got, want, "{what}");
    }
}

#[test]
fn strategic_merge_patch_errors() {
    let cases: Vec<(&str, Value, Value, &str, u16)> = vec![
        (
            "order mismatch",
            json!({"mergingList": [{"name": "1"}, {"name": "3"}, {"name": "2"}]}),
            json!({"$setElementOrder/mergingList": [{"name": "1"}, {"name": "2"}, {"name": "3"}], "mergingList": [{"name": "3", "value": "3"}, {"name": "1", "value": "1"}]}),
            "doesn't match $setElementOrder list",
            400,
        ),
        (
            "primitive order mismatch",
            json!({"mergingIntList": [1, 3, 2]}),
            json!({"$setElementOrder/mergingIntList": [1, 2, 3], "mergingIntList": [3, 1]}),
            "doesn't match",
            400,
        ),
        (
            "missing merge key",
            json!({"mergingList": [{"name": "1", "value": "a"}]}),
            json!({"mergingList": [{"value": "b"}]}),
            "does not contain declared merge key: name",
            400,
        ),
        (
            "delete without merge key",
            json!({"mergingList": [{"name": "1"}]}),
            json!({"mergingList": [{"$patch": "delete"}]}),
            "does not contain declared merge key: name",
            400,
        ),
        (
            "unknown directive on a map",
            json!({"simpleMap": {}}),
            json!({"simpleMap": {"$patch": "frob"}}),
            "unknown patch type: frob in map: {\"$patch\":\"frob\"}",
            400,
        ),
        (
            "unknown directive in a list",
            json!({"mergingList": [{"name": "a"}]}),
            json!({"mergingList": [{"name": "a", "$patch": "frob"}]}),
            "unknown patch type: frob",
            400,
        ),
        (
            "$patch: merge in a list",
            json!({"mergingList": [{"name": "a"}]}),
            json!({"mergingList": [{"$patch": "merge"}]}),
            "merging lists cannot yet be specified in the patch",
            400,
        ),
        (
            "retainKeys not a list",
            json!({"retainKeysMap": {"name": "a"}}),
            json!({"retainKeysMap": {"$retainKeys": "name"}}),
            "invalid patch format of retainKeys",
            400,
        ),
        (
            "patched key outside retainKeys",
            json!({"retainKeysMap": {"name": "a"}}),
            json!({"retainKeysMap": {"$retainKeys": ["name"], "value": "b"}}),
            "invalid patch format of retainKeys",
            400,
        ),
        (
            "deleteFromPrimitiveList without field",
            json!({"a": [1]}),
            json!({"$deleteFromPrimitiveList": [1]}),
            "invalid patch format of primitive list",
            400,
        ),
        (
            "lists of lists",
            json!({"mergingIntList": [[1]]}),
            json!({"mergingIntList": [[2]]}),
            "",
            422,
        ),
        (
            "mixed element types",
            json!({"mergingIntList": [1]}),
            json!({"mergingIntList": ["x"]}),
            "list element types are not identical",
            400,
        ),
        (
            "int and float differ as in Go",
            json!({"mergingIntList": [1]}),
            json!({"mergingIntList": [1.5]}),
            "list element types are not identical",
            400,
        ),
        (
            "leading null element",
            json!({"mergingIntList": [null]}),
            json!({"mergingIntList": [1]}),
            "list element types are not identical",
            400,
        ),
        (
            "merge list of maps without a merge key",
            json!({"mergingListNoKey": [{"a": 1}]}),
            json!({"mergingListNoKey": [{"a": 2}]}),
            "cannot merge lists without merge key for mergingListNoKey",
            400,
        ),
        (
            "setElementOrder not a list",
            json!({"mergingIntList": [1]}),
            json!({"$setElementOrder/mergingIntList": "x"}),
            "expected a []interface {}, but received a string",
            400,
        ),
        (
            "patch is an array",
            json!({}),
            json!([1]),
            "error decoding patch: json: cannot unmarshal array into Go value of type map[string]interface {}",
            400,
        ),
    ];
    for (what, original, patch, want, code) in cases {
        let err = smp(original, patch).expect_err(what);
        assert!(err.to_string().contains(want), "{what}: {err}");
        assert_eq!(err.into_api_error().code(), code, "{what}");
    }
    let err = apply_strategic_merge_patch(&json!([1]), b"{}", &ItemSchema).expect_err("array doc");
    assert_eq!(err, PatchError::BadJsonDoc);
    assert_eq!(err.into_api_error().message(), "invalid JSON document");
    let err = apply_strategic_merge_patch(&json!({}), b"{", &ItemSchema).expect_err("bad json");
    assert!(matches!(err, PatchError::Decode(_)));
}

#[test]
fn static_schema_drives_kubernetes_style_objects() {
    let schema = StaticPatchSchema::default()
        .with("spec.nodePools", PatchMeta::merge_by("name"))
        .with("spec.nodePools.config", PatchMeta::replace())
        .with("spec.extra.*", PatchMeta::merge_set());
    let doc = json!({
        "metadata": {"name": "demo", "finalizers": ["a"], "ownerReferences": [{"uid": "1", "name": "x"}]},
        "spec": {
            "nodePools": [{"name": "p1", "replicas": 3, "config": {"a": "1", "b": "2"}}, {"name": "p2", "replicas": 1}],
            "extra": {"k": ["x"]}
        }
    });
    let patch = json!({
        "metadata": {"finalizers": ["b"], "ownerReferences": [{"uid": "2", "name": "y"}]},
        "spec": {"nodePools": [{"name": "p1", "replicas": 5, "config": {"c": "3"}}], "extra": {"k": ["y"]}}
    });
    let got =
        apply_strategic_merge_patch(&doc, patch.to_string().as_bytes(), &schema).expect("applies");
    assert_eq!(
        got,
        json!({
            "metadata": {"name": "demo", "finalizers": ["b", "a"], "ownerReferences": [{"uid": "2", "name": "y"}, {"uid": "1", "name": "x"}]},
            "spec": {
                "nodePools": [{"name": "p1", "replicas": 5, "config": {"c": "3"}}, {"name": "p2", "replicas": 1}],
                "extra": {"k": ["y", "x"]}
            }
        })
    );
    assert_eq!(
        schema.patch_meta(&["spec", "extra", "anything"]),
        PatchMeta::merge_set()
    );
    assert_eq!(schema.patch_meta(&["spec", "other"]), PatchMeta::default());
}

#[test]
fn json_patch_applies_atomically_and_maps_errors_like_go() {
    let doc = json!({"a": 1, "b": [1, 2]});
    let ok = apply_json_patch(
        &doc,
        br#"[{"op":"test","path":"/a","value":1},{"op":"replace","path":"/a","value":2},{"op":"add","path":"/b/-","value":3},{"op":"remove","path":"/b/0"}]"#,
    );
    assert_eq!(ok, Ok(json!({"a": 2, "b": [2, 3]})));

    let failed_test = apply_json_patch(&doc, br#"[{"op":"test","path":"/a","value":9}]"#)
        .expect_err("test fails");
    assert!(matches!(failed_test, PatchError::JsonPatchApply(_)));
    let status = failed_test.into_api_error().to_status();
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
    assert_eq!(
        status.message,
        "the server rejected our request due to an error in our request"
    );

    let unknown_op = apply_json_patch(&doc, br#"[{"op":"frob","path":"/a"}]"#).expect_err("op");
    assert_eq!(
        unknown_op.into_api_error().code(),
        422,
        "unknown op fails at apply time, as in Go"
    );
    let missing = apply_json_patch(&doc, br#"[{"op":"remove","path":"/nope"}]"#).expect_err("path");
    assert_eq!(missing.into_api_error().code(), 422);

    for bad in [&b"{}"[..], b"[1]", b"not json"] {
        let err = apply_json_patch(&doc, bad).expect_err("decode");
        assert!(matches!(err, PatchError::Decode(_)), "{err:?}");
        assert_eq!(err.into_api_error().code(), 400);
    }

    let many: Vec<Value> = (0..=MAX_JSON_PATCH_OPERATIONS)
        .map(|_| json!({"op": "test", "path": "/a", "value": 1}))
        .collect();
    let err =
        apply_json_patch(&doc, Value::from(many).to_string().as_bytes()).expect_err("too many");
    let status = err.into_api_error().to_status();
    assert_eq!(status.code, 413);
    assert_eq!(
        status.message,
        "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001"
    );
}

/// RFC 7386 appendix A, every example.
#[test]
fn merge_patch_rfc7386_examples() {
    let cases = [
        (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
        (
            json!({"a": "b"}),
            json!({"b": "c"}),
            json!({"a": "b", "b": "c"}),
        ),
        (json!({"a": "b"}), json!({"a": null}), json!({})),
        (
            json!({"a": "b", "b": "c"}),
            json!({"a": null}),
            json!({"b": "c"}),
        ),
        (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
        (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
        (
            json!({"a": {"b": "c"}}),
            json!({"a": {"b": "d", "c": null}}),
            json!({"a": {"b": "d"}}),
        ),
        (
            json!({"a": [{"b": "c"}]}),
            json!({"a": [1]}),
            json!({"a": [1]}),
        ),
        (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
        (json!({"a": "b"}), json!(["c"]), json!(["c"])),
        (json!({"a": "foo"}), json!(null), json!(null)),
        (json!({"a": "foo"}), json!("bar"), json!("bar")),
        (
            json!({"e": null}),
            json!({"a": 1}),
            json!({"e": null, "a": 1}),
        ),
        (
            json!([1, 2]),
            json!({"a": "b", "c": null}),
            json!({"a": "b"}),
        ),
        (
            json!({}),
            json!({"a": {"bb": {"ccc": null}}}),
            json!({"a": {"bb": {}}}),
        ),
    ];
    for (doc, patch, want) in cases {
        assert_eq!(
            apply_merge_patch(&doc, patch.to_string().as_bytes()),
            Ok(want.clone()),
            "{doc} + {patch}"
        );
    }
    assert!(matches!(
        apply_merge_patch(&json!({}), b"{"),
        Err(PatchError::Decode(_))
    ));
}

#[test]
fn merge_patch_keeps_key_order() {
    let got = apply_merge_patch(&json!({"a": 1, "b": 2, "c": 3}), br#"{"a": 9}"#).expect("ok");
    assert_eq!(got.to_string(), r#"{"a":9,"b":2,"c":3}"#);
    let got = smp(json!({"a": 1, "b": 2, "c": 3}), json!({"a": 9, "b": null})).expect("ok");
    assert_eq!(got.to_string(), r#"{"a":9,"c":3}"#);
}

fn arb_key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("name".to_owned()),
        Just("value".to_owned()),
        Just("mergingList".to_owned()),
        Just("mergingIntList".to_owned()),
        Just("replacingItem".to_owned()),
        Just("mergingListNoKey".to_owned()),
        Just("$patch".to_owned()),
        Just("$retainKeys".to_owned()),
        Just("$setElementOrder/mergingList".to_owned()),
        Just("$setElementOrder/mergingIntList".to_owned()),
        Just("$deleteFromPrimitiveList/mergingIntList".to_owned()),
        Just("$deleteFromPrimitiveList".to_owned()),
        "[a-c$/]{0,4}",
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-3i64..3).prop_map(Value::from),
        Just(json!(1.5)),
        prop_oneof![
            Just("delete"),
            Just("replace"),
            Just("merge"),
            Just("a"),
            Just("name")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::vec((arb_key(), inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn strategic_merge_patch_never_panics(doc in arb_json(), patch in arb_json()) {
        let _ = apply_strategic_merge_patch(&doc, patch.to_string().as_bytes(), &ItemSchema);
    }

    #[test]
    fn strategic_merge_patch_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = apply_strategic_merge_patch(&json!({"a": 1}), &bytes, &ItemSchema);
    }

    #[test]
    fn empty_strategic_patch_is_identity(doc in arb_json()) {
        if doc.is_object() {
            prop_assert_eq!(apply_strategic_merge_patch(&doc, b"{}", &ItemSchema), Ok(doc));
        }
    }

    #[test]
    fn json_patch_never_panics(doc in arb_json(), patch in arb_json()) {
        let _ = apply_json_patch(&doc, patch.to_string().as_bytes());
    }

    #[test]
    fn merge_patch_is_idempotent(doc in arb_json(), patch in arb_json()) {
        let once = apply_merge_patch(&doc, patch.to_string().as_bytes()).expect("valid JSON");
        let twice = apply_merge_patch(&once, patch.to_string().as_bytes()).expect("valid JSON");
        prop_assert_eq!(once, twice);
    }
}
