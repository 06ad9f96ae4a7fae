use super::*;
use pretty_assertions::assert_eq;
use serde_json::json;

struct Schema;

impl FieldSchema for Schema {
    fn shape(&self, path: &[&str]) -> Option<Shape> {
        match path {
            ["spec", "nodePools"] => Some(Shape::MapList(vec!["name".into()])),
            ["spec", "tags"] => Some(Shape::SetList),
            ["spec", "args"] => Some(Shape::AtomicList),
            ["spec", "config"] => Some(Shape::Map),
            _ => None,
        }
    }
}

fn t(s: i64) -> Time {
    Time(k8s_openapi::jiff::Timestamp::from_second(s).expect("ts"))
}

fn obj(spec: Value) -> Value {
    json!({"apiVersion": "g.io/v1", "kind": "T", "metadata": {"name": "a", "uid": "u", "resourceVersion": "3"}, "spec": spec, "status": {"x": 1}})
}

fn fields(m: &Manager) -> String {
    serde_json::to_string(&m.set.to_fields_v1()).expect("json")
}

#[test]
fn managed_view_strips_server_metadata_and_status() {
    let v = managed_view(&obj(json!({"a": 1})), Scope::Main);
    assert_eq!(v, json!({"spec": {"a": 1}}));
    let s = managed_view(&obj(json!({"a": 1})), Scope::Status);
    assert_eq!(s, json!({"status": {"x": 1}}));
}

#[test]
fn update_moves_changed_fields_to_the_writer_and_keeps_time_on_noop() {
    let old = managed_view(&obj(json!({"a": 1, "b": 2})), Scope::Main);
    let new = managed_view(&obj(json!({"a": 5, "b": 2, "c": 3})), Scope::Main);
    let first = update(
        vec![],
        &json!({}),
        &old,
        &Schema,
        "creator",
        "g.io/v1",
        "",
        t(10),
    )
    .expect("ok");
    assert_eq!(fields(&first[0]), r#"{"f:spec":{"f:a":{},"f:b":{}}}"#);
    let second = update(first, &old, &new, &Schema, "editor", "g.io/v1", "", t(20)).expect("ok");
    assert_eq!(second.len(), 2);
    assert_eq!(fields(&second[0]), r#"{"f:spec":{"f:b":{}}}"#);
    assert_eq!(second[1].manager, "editor");
    assert_eq!(fields(&second[1]), r#"{"f:spec":{"f:a":{},"f:c":{}}}"#);
    let third = update(
        second.clone(),
        &new,
        &new,
        &Schema,
        "editor",
        "g.io/v1",
        "",
        t(30),
    )
    .expect("ok");
    assert_eq!(
        third, second,
        "a no-op write changes no ownership and no time"
    );
}

#[test]
fn apply_conflicts_with_other_owners_unless_forced() {
    let live = obj(json!({"nodePools": [{"name": "a", "replicas": 1}]}));
    let mgrs = update(
        vec![],
        &json!({}),
        &managed_view(&live, Scope::Main),
        &Schema,
        "kubectl-edit",
        "g.io/v1",
        "",
        t(0),
    )
    .expect("ok");
    let applied = apply(
        mgrs.clone(),
        &live,
        &obj(json!({"nodePools": [{"name": "a", "replicas": 3}]})),
        &Schema,
        "kubectl",
        "g.io/v1",
        Scope::Main,
        false,
        t(5),
    );
    let err = applied.expect_err("conflict");
    assert_eq!(err.code(), 409);
    assert_eq!(
        err.message(),
        "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using g.io/v1 at 1970-01-01T00:00:00Z: .spec.nodePools[name=\"a\"].replicas"
    );
    let forced = apply(
        mgrs,
        &live,
        &obj(json!({"nodePools": [{"name": "a", "replicas": 3}]})),
        &Schema,
        "kubectl",
        "g.io/v1",
        Scope::Main,
        true,
        t(5),
    )
    .expect("forced");
    assert_eq!(forced.object["spec"]["nodePools"][0]["replicas"], 3);
    let editor = forced
        .managers
        .iter()
        .find(|m| m.manager == "kubectl-edit")
        .expect("kept");
    assert_eq!(
        fields(editor),
        r#"{"f:spec":{"f:nodePools":{"k:{\"name\":\"a\"}":{".":{},"f:name":{}}}}}"#
    );
}

#[test]
fn several_conflicts_are_listed_per_manager_like_go() {
    let live = obj(json!({"a": 1, "b": 1}));
    let mgrs = apply(
        vec![],
        &live,
        &obj(json!({"a": 1, "b": 1})),
        &Schema,
        "first",
        "g.io/v1",
        Scope::Main,
        false,
        t(0),
    )
    .expect("ok")
    .managers;
    let err = apply(
        mgrs,
        &live,
        &obj(json!({"a": 2, "b": 2})),
        &Schema,
        "second",
        "g.io/v1",
        Scope::Main,
        false,
        t(1),
    )
    .expect_err("conflicts");
    assert_eq!(
        err.message(),
        "Apply failed with 2 conflicts: conflicts with \"first\":\n- .spec.a\n- .spec.b"
    );
    let status = err.to_status();
    let causes = status.details.expect("details").causes;
    assert_eq!(causes.len(), 2);
    assert_eq!(causes[1].message, "conflict with \"first\"");
    assert_eq!(causes[1].field, ".spec.b");
}

#[test]
fn same_value_is_shared_not_a_conflict() {
    let live = obj(json!({"a": 1}));
    let mgrs = update(
        vec![],
        &json!({}),
        &managed_view(&live, Scope::Main),
        &Schema,
        "x",
        "g.io/v1",
        "",
        t(0),
    )
    .expect("ok");
    let ok = apply(
        mgrs,
        &live,
        &obj(json!({"a": 1})),
        &Schema,
        "y",
        "g.io/v1",
        Scope::Main,
        false,
        t(1),
    )
    .expect("shared");
    assert_eq!(ok.managers.len(), 2);
}

#[test]
fn apply_prunes_fields_no_longer_applied_unless_owned_by_others() {
    let live = obj(json!({}));
    let first = apply(
        vec![],
        &live,
        &obj(json!({"a": 1, "b": 2, "tags": ["x", "y"], "config": {"k": "v"}})),
        &Schema,
        "m",
        "g.io/v1",
        Scope::Main,
        false,
        t(1),
    )
    .expect("ok");
    let second = apply(
        first.managers,
        &first.object,
        &obj(json!({"a": 1, "tags": ["x"]})),
        &Schema,
        "m",
        "g.io/v1",
        Scope::Main,
        false,
        t(2),
    )
    .expect("ok");
    assert_eq!(second.object["spec"], json!({"a": 1, "tags": ["x"]}));
    // Another owner keeps a field alive.
    let first = apply(
        vec![],
        &live,
        &obj(json!({"a": 1, "b": 2})),
        &Schema,
        "m",
        "g.io/v1",
        Scope::Main,
        false,
        t(1),
    )
    .expect("ok");
    let shared = apply(
        first.managers,
        &first.object,
        &obj(json!({"b": 2})),
        &Schema,
        "other",
        "g.io/v1",
        Scope::Main,
        false,
        t(1),
    )
    .expect("ok");
    let third = apply(
        shared.managers,
        &shared.object,
        &obj(json!({"a": 1})),
        &Schema,
        "m",
        "g.io/v1",
        Scope::Main,
        false,
        t(2),
    )
    .expect("ok");
    assert_eq!(third.object["spec"], json!({"a": 1, "b": 2}));
}

#[test]
fn apply_merges_keyed_lists_and_replaces_atomic_ones() {
    let live =
        obj(json!({"nodePools": [{"name": "a", "replicas": 1, "x": true}], "args": ["1", "2"]}));
    let out = apply(vec![], &live, &obj(json!({"nodePools": [{"name": "b", "replicas": 2}, {"name": "a", "replicas": 1}], "args": ["3"]})), &Schema, "m", "g.io/v1", Scope::Main, false, t(1)).expect("ok");
    assert_eq!(
        out.object["spec"],
        json!({"nodePools": [{"name": "a", "replicas": 1, "x": true}, {"name": "b", "replicas": 2}], "args": ["3"]})
    );
}

#[test]
fn managers_round_trip_through_managed_fields_in_go_order() {
    let mgrs = vec![
        Manager {
            manager: "b".into(),
            operation: Operation::Update,
            api_version: "g/v1".into(),
            time: Some(t(5)),
            subresource: String::new(),
            set: to_field_set(&json!({"spec": {"a": 1}}), &Schema).expect("s"),
        },
        Manager {
            manager: "a".into(),
            operation: Operation::Apply,
            api_version: "g/v1".into(),
            time: Some(t(9)),
            subresource: "status".into(),
            set: to_field_set(&json!({"status": {"a": 1}}), &Schema).expect("s"),
        },
    ];
    let enc = encode_managers(&mgrs);
    assert_eq!(enc[0].manager.as_deref(), Some("a"));
    assert_eq!(enc[0].subresource.as_deref(), Some("status"));
    assert_eq!(enc[1].fields_type.as_deref(), Some("FieldsV1"));
    let back = decode_managers(&enc);
    assert_eq!(back.len(), 2);
    assert_eq!(back[1], mgrs[0]);
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn spec() -> impl Strategy<Value = Value> {
        (
            proptest::option::of(0i64..5),
            proptest::collection::btree_map("[a-c]", 0i64..3, 0..3),
            proptest::collection::vec("[a-c]", 0..3),
            proptest::collection::btree_map("[x-z]", "[a-b]", 0..3),
        )
            .prop_map(|(replicas, pools, tags, config)| {
                let mut s = serde_json::Map::new();
                if let Some(r) = replicas {
                    s.insert("replicas".into(), json!(r));
                }
                if !pools.is_empty() {
                    let items: Vec<Value> = pools
                        .iter()
                        .map(|(n, r)| json!({"name": n, "replicas": r}))
                        .collect();
                    s.insert("nodePools".into(), Value::Array(items));
                }
                let mut tags = tags;
                tags.sort();
                tags.dedup();
                if !tags.is_empty() {
                    s.insert("tags".into(), json!(tags));
                }
                if !config.is_empty() {
                    s.insert("config".into(), json!(config));
                }
                Value::Object(s)
            })
    }

    proptest! {
        /// Applying a configuration twice gives the same object and ownership (no-op), the
        /// result contains every applied field, and a second manager applying the same values
        /// never conflicts.
        #[test]
        fn apply_is_idempotent_and_covers_the_configuration(live in spec(), cfg in spec()) {
            let live = obj(live);
            let cfg = obj(cfg);
            let once = apply(vec![], &live, &cfg, &Schema, "m", "g.io/v1", Scope::Main, false, t(1)).expect("apply");
            let twice = apply(once.managers.clone(), &once.object, &cfg, &Schema, "m", "g.io/v1", Scope::Main, false, t(2)).expect("again");
            prop_assert_eq!(&twice.object, &once.object);
            prop_assert_eq!(&twice.managers, &once.managers);
            let result = managed_view(&once.object, Scope::Main);
            let cfg_view = managed_view(&cfg, Scope::Main);
            for p in fields_of(&cfg_view, &Schema).expect("set").paths() {
                let want = get_path(&cfg_view, &p);
                let got = get_path(&result, &p);
                prop_assert!(got.is_some(), "{:?} missing", p);
                if want.is_some_and(|v| !v.is_object() && !v.is_array()) {
                    prop_assert_eq!(got, want);
                }
            }
            let shared = apply(once.managers, &once.object, &cfg, &Schema, "n", "g.io/v1", Scope::Main, false, t(3));
            prop_assert!(shared.is_ok());
        }

        /// An update records exactly the changed fields for its manager.
        #[test]
        fn update_owns_what_it_changed(old in spec(), new in spec()) {
            let (o, n) = (managed_view(&obj(old), Scope::Main), managed_view(&obj(new), Scope::Main));
            let cmp = Comparison::of(&o, &n, &Schema).expect("cmp");
            let ms = update(vec![], &o, &n, &Schema, "u", "g.io/v1", "", t(1)).expect("update");
            let owned = ms.first().map(|m| m.set.clone()).unwrap_or_default();
            prop_assert_eq!(owned, cmp.added.union(&cmp.modified));
        }
    }
}

#[test]
fn more_than_ten_update_managers_merge_into_ancient_changes() {
    let mut mgrs = vec![];
    let mut live = json!({});
    for i in 0..12 {
        let mut next = live.clone();
        next["spec"] = json!({});
        for j in 0..=i {
            next["spec"][format!("f{j}")] = json!(1);
        }
        mgrs = update(
            mgrs,
            &live,
            &next,
            &Schema,
            &format!("m{i:02}"),
            "g.io/v1",
            "",
            t(i),
        )
        .expect("update");
        live = next;
    }
    assert_eq!(mgrs.len(), 10);
    let ancient = mgrs
        .iter()
        .find(|m| m.manager == ANCIENT_CHANGES)
        .expect("bucket");
    assert_eq!(
        fields(ancient),
        r#"{"f:spec":{"f:f0":{},"f:f1":{},"f:f2":{}}}"#
    );
    assert_eq!(ancient.time, Some(t(2)));
}
