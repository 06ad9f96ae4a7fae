use super::*;
use crate::status::ApiError;
use pretty_assertions::assert_eq;

#[test]
fn lists_have_go_shape() {
    let meta = ListMeta {
        resource_version: 42,
        continue_token: Some("tok".into()),
        remaining_item_count: Some(3),
    };
    let l = list(
        "navigator.jetstack.io/v1alpha1",
        "PilotList",
        &meta,
        vec![json!({"a": 1})],
    );
    assert_eq!(
        l.to_string(),
        r#"{"kind":"PilotList","apiVersion":"navigator.jetstack.io/v1alpha1","metadata":{"resourceVersion":"42","continue":"tok","remainingItemCount":3},"items":[{"a":1}]}"#
    );
    let empty = list(
        "v",
        "KList",
        &ListMeta {
            resource_version: 1,
            ..ListMeta::default()
        },
        vec![],
    );
    assert_eq!(
        empty.to_string(),
        r#"{"kind":"KList","apiVersion":"v","metadata":{"resourceVersion":"1"},"items":[]}"#
    );
}

#[test]
fn watch_frames_are_newline_delimited_compact_json() {
    let frame = watch_frame(
        "ADDED",
        &json!({"kind": "Pilot", "metadata": {"name": "p"}}),
    );
    assert_eq!(
        String::from_utf8(frame).expect("utf-8"),
        "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pilot\",\"metadata\":{\"name\":\"p\"}}}\n"
    );
    let err = error_frame(&ApiError::Expired {
        message: "The resourceVersion for the provided watch is too old.".into(),
    });
    assert_eq!(
        String::from_utf8(err).expect("utf-8"),
        "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"The resourceVersion for the provided watch is too old.\",\"reason\":\"Expired\",\"code\":410}}\n"
    );
}

#[test]
fn bookmarks_carry_revision_and_initial_events_end() {
    assert_eq!(
        bookmark("g/v1", "Pilot", 7, false),
        json!({"kind": "Pilot", "apiVersion": "g/v1", "metadata": {"resourceVersion": "7"}})
    );
    assert_eq!(
        bookmark("g/v1", "Pilot", 7, true),
        json!({"kind": "Pilot", "apiVersion": "g/v1", "metadata": {"resourceVersion": "7", "annotations": {"k8s.io/initial-events-end": "true"}}})
    );
}

#[test]
fn resource_version_is_set_in_place() {
    let mut obj = json!({"kind": "Pilot"});
    set_resource_version(&mut obj, 9);
    assert_eq!(
        obj,
        json!({"kind": "Pilot", "metadata": {"resourceVersion": "9"}})
    );
    let mut obj = json!({"metadata": {"name": "p", "resourceVersion": "1"}});
    set_resource_version(&mut obj, 10);
    assert_eq!(
        obj,
        json!({"metadata": {"name": "p", "resourceVersion": "10"}})
    );
}

#[test]
fn partial_object_metadata_keeps_only_metadata() {
    let obj = json!({"kind": "Pilot", "apiVersion": "g/v1", "metadata": {"name": "p", "uid": "u"}, "spec": {"x": 1}});
    assert_eq!(
        partial_object_metadata(&obj, "v1").expect("ok"),
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": {"name": "p", "uid": "u"}})
    );
    let meta = ListMeta {
        resource_version: 5,
        ..ListMeta::default()
    };
    assert_eq!(
        partial_object_metadata_list(std::slice::from_ref(&obj), &meta, "v1beta1").expect("ok"),
        json!({
            "kind": "PartialObjectMetadataList",
            "apiVersion": "meta.k8s.io/v1beta1",
            "metadata": {"resourceVersion": "5"},
            "items": [{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1beta1", "metadata": {"name": "p", "uid": "u"}}]
        })
    );
    let err = partial_object_metadata(&obj, "v2").expect_err("406");
    assert_eq!(
        (err.code(), err.message()),
        (
            406,
            "no PartialObjectMetadataList exists in group version meta.k8s.io/v2".to_owned()
        )
    );
}

#[test]
fn tables_reduce_row_objects_per_include_object() {
    let obj = json!({"kind": "Pilot", "apiVersion": "g/v1", "metadata": {"name": "p"}, "spec": {}});
    let cols = vec![
        json!({"name": "Name", "type": "string", "format": "name", "description": "d", "priority": 0}),
    ];
    let row = || {
        vec![TableRow {
            cells: vec![json!("p")],
            object: obj.clone(),
        }]
    };
    let meta = ListMeta {
        resource_version: 3,
        ..ListMeta::default()
    };
    let t = table(cols.clone(), row(), &meta, IncludeObject::Metadata, "v1").expect("ok");
    assert_eq!(
        t.to_string(),
        r#"{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"3"},"columnDefinitions":[{"name":"Name","type":"string","format":"name","description":"d","priority":0}],"rows":[{"cells":["p"],"object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"p"}}}]}"#
    );
    let full = table(cols.clone(), row(), &meta, IncludeObject::Object, "v1beta1").expect("ok");
    assert_eq!(full["rows"][0]["object"], obj);
    assert_eq!(full["apiVersion"], "meta.k8s.io/v1beta1");
    let none = table(cols.clone(), row(), &meta, IncludeObject::None, "v1").expect("ok");
    assert_eq!(none["rows"][0]["object"], Value::Null);
    assert_eq!(
        table(cols, row(), &meta, IncludeObject::None, "v9").map_err(|e| e.code()),
        Err(406)
    );

    assert_eq!(IncludeObject::parse(None), Ok(IncludeObject::Metadata));
    assert_eq!(IncludeObject::parse(Some("None")), Ok(IncludeObject::None));
    assert_eq!(
        IncludeObject::parse(Some("Object")),
        Ok(IncludeObject::Object)
    );
    let err = IncludeObject::parse(Some("all")).expect_err("400");
    assert_eq!(
        (err.code(), err.message()),
        (400, "unrecognized includeObject value: \"all\"".to_owned())
    );
}
