//! watch: initial events, transitions, bookmarks, timeouts, errors, representations.

use super::*;
use pretty_assertions::assert_eq;

async fn next(s: &mut WatchStream) -> Value {
    tokio::time::timeout(Duration::from_secs(5), s.next())
        .await
        .expect("event in time")
        .expect("stream open")
}

#[tokio::test]
async fn watch_initial_events_changes_transitions_and_bookmarks() {
    let f = fixture_with(|c| c.bookmark_interval = Duration::from_millis(300));
    let mut b = widget("a", json!({}));
    b["metadata"]["labels"] = json!({"app": "x"});
    f.reg.create(&ctx(), b).await.expect("a");
    create(&f, "other", json!({})).await;
    let mut w = f
        .reg
        .watch(
            &ctx(),
            &ListOptions {
                label_selector: Some("app=x".into()),
                send_initial_events: Some(true),
                resource_version_match: Some("NotOlderThan".into()),
                allow_watch_bookmarks: true,
                ..ListOptions::default()
            },
        )
        .await
        .expect("watch");
    let e = next(&mut w).await;
    assert_eq!(e["type"], "ADDED");
    assert_eq!(e["object"]["metadata"]["name"], "a");
    let e = next(&mut w).await;
    assert_eq!(e["type"], "BOOKMARK");
    assert_eq!(
        e["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    // A change that makes the object stop matching is a DELETED.
    f.reg
        .patch(
            &ctx(),
            "a",
            Subresource::Main,
            PatchType::Merge,
            br#"{"metadata":{"labels":{"app":"y"}}}"#,
        )
        .await
        .expect("relabel");
    let e = next(&mut w).await;
    assert_eq!(e["type"], "DELETED");
    f.reg
        .patch(
            &ctx(),
            "a",
            Subresource::Main,
            PatchType::Merge,
            br#"{"metadata":{"labels":{"app":"x"}}}"#,
        )
        .await
        .expect("relabel back");
    let e = next(&mut w).await;
    assert_eq!(e["type"], "ADDED");
    let rv_added = rv(&e["object"]);
    // Non-matching objects are never sent; bookmarks come periodically.
    f.reg
        .patch(
            &ctx(),
            "other",
            Subresource::Main,
            PatchType::Merge,
            br#"{"spec":{"replicas":4}}"#,
        )
        .await
        .expect("other");
    let e = next(&mut w).await;
    assert_eq!(e["type"], "BOOKMARK");
    assert!(rv(&e["object"]) > rv_added);
    f.reg
        .delete(&ctx(), "a", &DeleteOptions::default())
        .await
        .expect("delete");
    let e = next(&mut w).await;
    assert_eq!(e["type"], "DELETED");
    assert!(rv(&e["object"]) > rv_added);
}

#[tokio::test]
async fn watch_from_resource_version_timeout_and_gone() {
    let f = fixture();
    let a = create(&f, "a", json!({})).await;
    let table = RequestContext {
        representation: Representation::Table {
            include_object: IncludeObject::None,
        },
        ..ctx()
    };
    let mut w = f
        .reg
        .watch(
            &table,
            &ListOptions {
                resource_version: Some(rv(&a).to_string()),
                timeout_seconds: Some(1),
                ..ListOptions::default()
            },
        )
        .await
        .expect("watch");
    create(&f, "b", json!({"replicas": 2})).await;
    create(&f, "c", json!({"replicas": 3})).await;
    let e = next(&mut w).await;
    assert_eq!(e["type"], "ADDED");
    assert_eq!(e["object"]["kind"], "Table");
    assert_eq!(e["object"]["rows"][0]["cells"], json!(["b", 2]));
    assert!(e["object"]["columnDefinitions"].is_array());
    let e = next(&mut w).await;
    assert_eq!(e["object"]["columnDefinitions"], Value::Null);
    // timeoutSeconds ends the stream.
    let end = tokio::time::timeout(Duration::from_secs(5), w.next())
        .await
        .expect("ends");
    assert!(end.is_none());

    // A compacted start is an ERROR event with 410 Expired.
    let current = f.store.current_revision().await.expect("rev");
    f.store.compact(current).await.expect("compact");
    let mut w = f
        .reg
        .watch(
            &ctx(),
            &ListOptions {
                resource_version: Some(rv(&a).to_string()),
                ..ListOptions::default()
            },
        )
        .await
        .expect("watch");
    let e = next(&mut w).await;
    assert_eq!(e["type"], "ERROR");
    assert_eq!(e["object"]["code"], 410);
    assert_eq!(e["object"]["reason"], "Expired");
    assert!(
        e["object"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("too old resource version"))
    );
}

#[tokio::test]
async fn watch_representations_table_and_metadata() {
    let f = fixture();
    create(&f, "a", json!({"replicas": 1})).await;
    let table_none = RequestContext {
        representation: Representation::Table {
            include_object: IncludeObject::None,
        },
        ..ctx()
    };
    // A legacy watch from "" with bookmarks gets the watch-list end bookmark (WatchList on).
    let mut w = f
        .reg
        .watch(
            &table_none,
            &ListOptions {
                allow_watch_bookmarks: true,
                ..ListOptions::default()
            },
        )
        .await
        .expect("watch");
    let e = next(&mut w).await;
    assert_eq!(e["type"], "ADDED");
    assert_eq!(e["object"]["rows"][0]["object"], Value::Null);
    assert_eq!(e["object"]["rows"][0]["cells"], json!(["a", 1]));
    let e = next(&mut w).await;
    assert_eq!(e["type"], "BOOKMARK");
    assert_eq!(e["object"]["kind"], "Table");
    assert_eq!(e["object"]["columnDefinitions"], Value::Null);
    assert_eq!(
        e["object"]["rows"][0]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    let pom = RequestContext {
        representation: Representation::PartialObjectMetadata,
        ..ctx()
    };
    let mut w = f
        .reg
        .watch(&pom, &ListOptions::default())
        .await
        .expect("watch");
    let e = next(&mut w).await;
    assert_eq!(e["object"]["kind"], "PartialObjectMetadata");
    assert_eq!(e["object"]["metadata"]["name"], "a");
    // sendInitialEvents without resourceVersionMatch is 422.
    let err = f
        .reg
        .watch(
            &ctx(),
            &ListOptions {
                send_initial_events: Some(true),
                ..ListOptions::default()
            },
        )
        .await
        .err()
        .expect("invalid");
    assert_eq!(err.code(), 422);
}

mod watch_filter_props {
    use crate::selector::LabelSelector;
    use crate::store::{EventKind, WatchEvent};
    use proptest::prelude::*;
    use serde_json::json;

    fn bytes(label: Option<&str>) -> Vec<u8> {
        let labels = label.map_or(json!({}), |l| json!({"app": l}));
        serde_json::to_vec(&json!({"metadata": {"name": "a", "labels": labels}})).expect("json")
    }

    proptest! {
        /// Whatever the sequence of label values an object goes through (then deletion), a
        /// selector-filtered watcher sees a consistent stream: ADDED only while it does not
        /// see the object, MODIFIED/DELETED only while it does, and ends seeing nothing.
        #[test]
        fn selector_transitions_are_consistent(labels in proptest::collection::vec(proptest::option::of("[xy]"), 1..12)) {
            let sel = LabelSelector::parse("app=x").expect("selector");
            let matches = |b: &[u8]| {
                let v: serde_json::Value = serde_json::from_slice(b).expect("json");
                let l: std::collections::BTreeMap<String, String> =
                    serde_json::from_value(v["metadata"]["labels"].clone()).unwrap_or_default();
                sel.matches(&l)
            };
            let mut prev: Option<Vec<u8>> = None;
            let mut visible = false;
            let n = labels.len() as u64;
            for (i, l) in labels.iter().enumerate() {
                let value = bytes(l.as_deref());
                let ev = WatchEvent { kind: EventKind::Put, key: "k".into(), revision: i as u64 + 2, create_revision: 2, value: Some(value.clone()), prev_value: prev.clone() };
                if let Some(d) = ev.filter(matches) {
                    match d.event_type {
                        "ADDED" => prop_assert!(!visible),
                        "MODIFIED" | "DELETED" => prop_assert!(visible),
                        other => prop_assert!(false, "unexpected {}", other),
                    }
                    visible = d.event_type != "DELETED";
                }
                prop_assert_eq!(visible, l.as_deref() == Some("x"));
                prev = Some(value);
            }
            let del = WatchEvent { kind: EventKind::Delete, key: "k".into(), revision: n + 2, create_revision: 2, value: None, prev_value: prev };
            let d = del.filter(matches);
            prop_assert_eq!(d.is_some(), visible);
        }
    }
}
