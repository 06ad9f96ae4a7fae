use super::*;
use pretty_assertions::assert_eq;
use proptest::prelude::*;

/// The token from the conventions checklist, byte for byte (Go's `EncodeContinue`).
#[test]
fn continue_token_matches_go_bytes() {
    let prefix = "/registry/navigator.jetstack.io/cassandraclusters/";
    let token =
        encode_continue(&format!("{prefix}default/demo\u{0}"), prefix, 123).expect("encodes");
    assert_eq!(
        token,
        "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MTIzLCJzdGFydCI6ImRlZmF1bHQvZGVtb1x1MDAwMCJ9"
    );
    let decoded = decode_continue(&token, prefix).expect("decodes");
    assert_eq!(
        decoded,
        Continue {
            start: format!("{prefix}default/demo\u{0}"),
            revision: Some(123)
        }
    );
    let latest = encode_continue(&format!("{prefix}a\u{0}"), prefix, -1).expect("encodes");
    assert_eq!(
        decode_continue(&latest, prefix).expect("decodes").revision,
        None
    );
}

#[test]
fn continue_token_errors_match_go() {
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let cases = [
        (
            b64(r#"{"v":"meta.k8s.io/v2","rv":1,"start":"a"}"#),
            "continue key is not valid: server does not recognize this encoded version meta.k8s.io/v2",
        ),
        (
            b64(r#"{"v":"meta.k8s.io/v1","rv":0,"start":"a"}"#),
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        ),
        (
            b64(r#"{"v":"meta.k8s.io/v1","rv":5,"start":""}"#),
            "continue key is not valid: encoded start key empty (version meta.k8s.io/v1)",
        ),
        (
            b64(r#"{"v":"meta.k8s.io/v1","rv":5,"start":"../../secrets/x"}"#),
            "continue key is not valid: ../../secrets/x",
        ),
        (
            b64(r#"{"v":"meta.k8s.io/v1","rv":5,"start":"a//b"}"#),
            "continue key is not valid: a//b",
        ),
    ];
    for (token, want) in cases {
        let err = decode_continue(&token, "/p/").expect_err(want);
        assert_eq!(err.to_string(), want);
        let api = err.into_api_error(Operation::ContinueList, &GroupResource::default(), "");
        assert_eq!(api.code(), 400);
        assert_eq!(api.message(), format!("invalid continue token: {want}"));
    }
    for garbage in ["!!!", "e30"] {
        // Not base64url, and `{}` (no version).
        assert!(decode_continue(garbage, "/p/").is_err(), "{garbage}");
    }
    assert!(encode_continue("/other/x", "/p/", 1).is_err());
}

#[test]
fn list_page_continue_token_only_when_more_remain() {
    let kv = |k: &str| KeyValue {
        key: k.to_owned(),
        value: vec![],
        create_revision: 2,
        mod_revision: 2,
    };
    let page = ListPage {
        items: vec![kv("/p/ns/a"), kv("/p/ns/b")],
        revision: 9,
        remaining: 3,
    };
    let token = page
        .continue_token("/p/")
        .expect("ok")
        .expect("more remain");
    assert_eq!(
        decode_continue(&token, "/p/").expect("decodes"),
        Continue {
            start: "/p/ns/b\u{0}".to_owned(),
            revision: Some(9)
        }
    );
    let last = ListPage {
        remaining: 0,
        ..page
    };
    assert_eq!(last.continue_token("/p/"), Ok(None));
}

#[test]
fn keys_follow_kubernetes_layout() {
    let p = "/registry/navigator.jetstack.io";
    assert_eq!(
        object_key(p, "pilots", Some("ns"), "p0"),
        "/registry/navigator.jetstack.io/pilots/ns/p0"
    );
    assert_eq!(object_key("/r/", "nodes", None, "n"), "/r/nodes/n");
    assert_eq!(
        list_prefix(p, "pilots", Some("ns")),
        "/registry/navigator.jetstack.io/pilots/ns/"
    );
    assert_eq!(
        list_prefix(p, "pilots", None),
        "/registry/navigator.jetstack.io/pilots/"
    );
}

#[test]
fn compaction_schedule_compacts_to_previous_tick() {
    let mut s = CompactionSchedule::default();
    assert_eq!(s.tick(10, 0), None, "first tick never compacts");
    assert_eq!(s.tick(25, 0), Some(10));
    assert_eq!(s.tick(25, 10), Some(25));
    assert_eq!(
        s.tick(40, 25),
        None,
        "nothing newer than the compacted revision"
    );
    assert_eq!(s.tick(50, 25), Some(40));
}

#[test]
fn compaction_schedule_keeps_a_revision_window() {
    let mut s = CompactionSchedule::KeepRevisions(5);
    assert_eq!(s.tick(3, 0), None, "fewer revisions than the window");
    assert_eq!(s.tick(12, 0), Some(7));
    assert_eq!(s.tick(12, 7), None);
    assert_eq!(s.tick(20, 7), Some(15));
}

#[test]
fn store_errors_map_to_go_statuses() {
    let r = GroupResource::new("navigator.jetstack.io", "pilots");
    let cases: Vec<(StoreError, Operation, u16, &str, &str)> = vec![
        (
            StoreError::NotFound { key: "k".into() },
            Operation::Object,
            404,
            "NotFound",
            "pilots.navigator.jetstack.io \"p\" not found",
        ),
        (
            StoreError::AlreadyExists { key: "k".into() },
            Operation::Object,
            409,
            "AlreadyExists",
            "pilots.navigator.jetstack.io \"p\" already exists",
        ),
        (
            StoreError::RevisionConflict {
                key: "k".into(),
                expected: 1,
                actual: 2,
            },
            Operation::Object,
            409,
            "Conflict",
            "Operation cannot be fulfilled on pilots.navigator.jetstack.io \"p\": the object has been modified; please apply your changes to the latest version and try again",
        ),
        (
            StoreError::UidConflict {
                key: "/k".into(),
                expected: "a".into(),
                actual: "b".into(),
            },
            Operation::Object,
            409,
            "Conflict",
            "Operation cannot be fulfilled on pilots.navigator.jetstack.io \"p\": StorageError: invalid object, Code: 4, Key: /k, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: a, UID in object meta: b",
        ),
        (
            StoreError::Compacted {
                requested: 1,
                compacted: 5,
            },
            Operation::Watch,
            410,
            "Expired",
            "The resourceVersion for the provided watch is too old.",
        ),
        (
            StoreError::Compacted {
                requested: 1,
                compacted: 5,
            },
            Operation::List,
            410,
            "Expired",
            "The resourceVersion for the provided list is too old.",
        ),
        (
            StoreError::FutureRevision {
                requested: 9,
                current: 5,
            },
            Operation::List,
            504,
            "Timeout",
            "Timeout: Too large resource version: 9, current: 5",
        ),
        (
            StoreError::Backend("disk".into()),
            Operation::Object,
            500,
            "InternalError",
            "Internal error occurred: disk",
        ),
        (
            StoreError::Unavailable("etcd txn: connection lost; it may have been applied".into()),
            Operation::Object,
            504,
            "Timeout",
            "Timeout: request did not complete: etcd txn: connection lost; it may have been applied",
        ),
    ];
    for (err, op, code, reason, message) in cases {
        let api = err.clone().into_api_error(op, &r, "p");
        assert_eq!(
            (api.code(), api.reason(), api.message().as_str()),
            (code, reason, message),
            "{err:?}"
        );
    }
}

#[test]
fn watch_event_types() {
    let ev = |kind, revision, create_revision| WatchEvent {
        kind,
        key: "k".into(),
        revision,
        create_revision,
        value: None,
        prev_value: None,
    };
    assert_eq!(ev(EventKind::Put, 5, 5).watch_type(), "ADDED");
    assert_eq!(ev(EventKind::Put, 6, 5).watch_type(), "MODIFIED");
    assert_eq!(ev(EventKind::Delete, 7, 5).watch_type(), "DELETED");
}

proptest! {
    #[test]
    fn continue_round_trip(start in "[a-z0-9.-][a-z0-9./-]{0,19}", rv in 1i64..i64::MAX) {
        let prefix = "/registry/g/r/";
        let key = format!("{prefix}{start}\u{0}");
        let token = encode_continue(&key, prefix, rv).expect("encodes");
        match decode_continue(&token, prefix) {
            // Keys that are not clean paths are rejected, as in Go.
            Err(_) => prop_assert_ne!(clean_path(&format!("/{start}\u{0}")), format!("/{start}\u{0}")),
            Ok(c) => {
                prop_assert_eq!(c.start, key);
                prop_assert_eq!(c.revision, u64::try_from(rv).ok());
            }
        }
    }

    #[test]
    fn decode_continue_never_panics(token in "\\PC{0,80}") {
        let _ = decode_continue(&token, "/p/");
    }
}

/// Go's `cacheWatcher.convertToWatchEvent` transitions, every combination.
#[test]
fn filtered_watch_events_follow_selector_transitions() {
    let ev = |kind, value: Option<&str>, prev: Option<&str>| WatchEvent {
        kind,
        key: "k".into(),
        revision: 9,
        create_revision: 3,
        value: value.map(|v| v.as_bytes().to_vec()),
        prev_value: prev.map(|v| v.as_bytes().to_vec()),
    };
    // "in" matches the watcher's selector, "out" does not.
    let matches = |b: &[u8]| b.starts_with(b"in");
    let cases = [
        (
            ev(EventKind::Put, Some("in-new"), None),
            Some(("ADDED", "in-new")),
        ),
        (ev(EventKind::Put, Some("out-new"), None), None),
        (
            ev(EventKind::Put, Some("in-2"), Some("in-1")),
            Some(("MODIFIED", "in-2")),
        ),
        (
            ev(EventKind::Put, Some("in-2"), Some("out-1")),
            Some(("ADDED", "in-2")),
        ),
        (
            ev(EventKind::Put, Some("out-2"), Some("in-1")),
            Some(("DELETED", "in-1")),
        ),
        (ev(EventKind::Put, Some("out-2"), Some("out-1")), None),
        (
            ev(EventKind::Delete, None, Some("in-1")),
            Some(("DELETED", "in-1")),
        ),
        (ev(EventKind::Delete, None, Some("out-1")), None),
    ];
    for (event, want) in cases {
        let got = event.filter(matches).map(|d| {
            assert_eq!(d.revision, 9, "deliveries carry the event's revision");
            (d.event_type, std::str::from_utf8(d.object).expect("utf-8"))
        });
        assert_eq!(got, want, "{event:?}");
    }
    let everything = ev(EventKind::Put, Some("x"), Some("w"));
    assert_eq!(
        everything.filter(|_| true).map(|d| d.event_type),
        Some("MODIFIED")
    );
}

#[test]
fn preconditions_check_uid_then_revision() {
    let kv = KeyValue {
        key: "k".into(),
        value: br#"{"metadata":{"uid":"u1"}}"#.to_vec(),
        create_revision: 2,
        mod_revision: 5,
    };
    assert_eq!(Preconditions::default().check(&kv), Ok(()));
    assert_eq!(
        Preconditions {
            mod_revision: Some(5),
            uid: Some("u1".into())
        }
        .check(&kv),
        Ok(())
    );
    assert!(matches!(
        Preconditions {
            mod_revision: Some(4),
            uid: Some("u2".into())
        }
        .check(&kv),
        Err(StoreError::UidConflict { .. })
    ));
    assert!(matches!(
        Preconditions {
            mod_revision: Some(4),
            uid: None
        }
        .check(&kv),
        Err(StoreError::RevisionConflict {
            expected: 4,
            actual: 5,
            ..
        })
    ));
    let no_uid = KeyValue {
        value: b"not json".to_vec(),
        ..kv
    };
    assert!(matches!(
        Preconditions { uid: Some("u1".into()), ..Preconditions::default() }.check(&no_uid),
        Err(StoreError::UidConflict { ref actual, .. }) if actual.is_empty()
    ));
}
