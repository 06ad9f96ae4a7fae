//! A conformance suite for [`Storage`] implementations: every backend (the embedded store, and
//! `etcd_store::EtcdStore`) must pass the same checks. Each check needs a fresh, empty store at
//! revision 1 (as a new etcd is) and panics when the contract is broken. Enabled in tests and
//! with the `testing` feature.

use super::{KeyValue, ListRequest, Preconditions, Storage, StoreError, WatchEvent};
use std::time::Duration;

fn obj(uid: &str, n: u32) -> Vec<u8> {
    format!(r#"{{"metadata":{{"uid":"{uid}"}},"n":{n}}}"#).into_bytes()
}

fn list_req(prefix: &str) -> ListRequest {
    ListRequest {
        prefix: prefix.to_owned(),
        ..ListRequest::default()
    }
}

async fn next_event(w: &mut super::Watch) -> WatchEvent {
    tokio::time::timeout(Duration::from_secs(10), w.next())
        .await
        .expect("event within 10s")
        .expect("watch open")
        .expect("no error")
}

fn counter(kv: &KeyValue) -> u64 {
    serde_json::from_slice::<serde_json::Value>(&kv.value)
        .ok()
        .and_then(|v| v.get("n").and_then(serde_json::Value::as_u64))
        .unwrap_or(0)
}

fn with_counter(n: u64) -> Vec<u8> {
    format!(r#"{{"metadata":{{"uid":"u"}},"n":{n}}}"#).into_bytes()
}

/// Conformance check `writes_follow_etcd_revision_semantics`.
///
/// # Panics
/// When the store breaks the contract.
pub async fn writes_follow_etcd_revision_semantics<S: Storage>(s: &S) {
    assert_eq!(
        s.current_revision().await,
        Ok(1),
        "an empty store is at revision 1, like etcd"
    );

    let created = s.create("/r/ns/a", obj("u1", 1)).await.expect("create");
    assert_eq!((created.create_revision, created.mod_revision), (2, 2));
    assert_eq!(
        s.create("/r/ns/a", obj("u1", 9)).await,
        Err(StoreError::AlreadyExists {
            key: "/r/ns/a".into()
        })
    );
    assert_eq!(
        s.current_revision().await,
        Ok(2),
        "a failed create takes no revision"
    );

    let stale = Preconditions {
        mod_revision: Some(1),
        uid: None,
    };
    assert_eq!(
        s.update("/r/ns/a", obj("u1", 2), &stale).await,
        Err(StoreError::RevisionConflict {
            key: "/r/ns/a".into(),
            expected: 1,
            actual: 2
        })
    );
    let wrong_uid = Preconditions {
        mod_revision: None,
        uid: Some("u2".into()),
    };
    assert_eq!(
        s.update("/r/ns/a", obj("u1", 2), &wrong_uid).await,
        Err(StoreError::UidConflict {
            key: "/r/ns/a".into(),
            expected: "u2".into(),
            actual: "u1".into()
        })
    );
    let fresh = Preconditions {
        mod_revision: Some(2),
        uid: Some("u1".into()),
    };
    let updated = s
        .update("/r/ns/a", obj("u1", 2), &fresh)
        .await
        .expect("update");
    assert_eq!((updated.create_revision, updated.mod_revision), (2, 3));

    let noop = s
        .update("/r/ns/a", obj("u1", 2), &Preconditions::default())
        .await
        .expect("no-op");
    assert_eq!(
        noop.mod_revision, 3,
        "identical bytes keep the resourceVersion"
    );
    assert_eq!(s.current_revision().await, Ok(3), "and take no revision");

    assert_eq!(s.get("/r/ns/a", None).await, Ok(Some(updated.clone())));
    assert_eq!(
        s.get("/r/ns/a", Some(2))
            .await
            .expect("historic")
            .map(|kv| kv.value),
        Some(obj("u1", 1))
    );

    let (deleted, rev) = s
        .delete("/r/ns/a", &Preconditions::default())
        .await
        .expect("delete");
    assert_eq!((deleted, rev), (updated, 4));
    assert_eq!(s.get("/r/ns/a", None).await, Ok(None));
    assert_eq!(
        s.get("/r/ns/a", Some(3))
            .await
            .expect("historic")
            .map(|kv| kv.mod_revision),
        Some(3)
    );
    assert_eq!(
        s.update("/r/ns/a", obj("u1", 5), &Preconditions::default())
            .await,
        Err(StoreError::NotFound {
            key: "/r/ns/a".into()
        })
    );
    assert_eq!(
        s.delete("/r/ns/a", &Preconditions::default()).await,
        Err(StoreError::NotFound {
            key: "/r/ns/a".into()
        })
    );
    assert_eq!(
        s.get("/r/ns/a", Some(99)).await,
        Err(StoreError::FutureRevision {
            requested: 99,
            current: 4
        })
    );
    let recreated = s.create("/r/ns/a", obj("u3", 1)).await.expect("re-create");
    assert_eq!((recreated.create_revision, recreated.mod_revision), (5, 5));
}

/// Conformance check `lists_are_prefix_scoped_ordered_and_paginate_on_a_snapshot`.
///
/// # Panics
/// When the store breaks the contract.
pub async fn lists_are_prefix_scoped_ordered_and_paginate_on_a_snapshot<S: Storage>(s: &S) {
    for k in ["/r/ns/c", "/r/ns/a", "/r/ns2/x", "/r/ns/b", "/r/nsx"] {
        s.create(k, obj(k, 0)).await.expect("create");
    }
    let all = s.list(list_req("/r/ns/")).await.expect("list");
    let keys: Vec<&str> = all.items.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys, ["/r/ns/a", "/r/ns/b", "/r/ns/c"]);
    assert_eq!((all.revision, all.remaining), (6, 0));

    let page1 = s
        .list(ListRequest {
            limit: Some(2),
            ..list_req("/r/ns/")
        })
        .await
        .expect("page 1");
    assert_eq!(page1.items.len(), 2);
    assert_eq!(page1.remaining, 1);
    let token = page1.continue_token("/r/ns/").expect("ok").expect("more");

    // Writes after the first page must not show up in the second.
    s.create("/r/ns/d", obj("d", 0)).await.expect("create d");
    s.update("/r/ns/c", obj("c", 1), &Preconditions::default())
        .await
        .expect("update c");
    s.delete("/r/ns/a", &Preconditions::default())
        .await
        .expect("delete a");

    let cont = crate::store::decode_continue(&token, "/r/ns/").expect("token");
    let page2 = s
        .list(ListRequest {
            prefix: "/r/ns/".into(),
            revision: cont.revision,
            limit: Some(2),
            start: Some(cont.start),
        })
        .await
        .expect("page 2");
    let keys: Vec<&str> = page2.items.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys, ["/r/ns/c"]);
    assert_eq!(
        page2.items[0].value,
        obj("/r/ns/c", 0),
        "the snapshot value, not the update"
    );
    assert_eq!((page2.revision, page2.remaining), (6, 0));

    let now = s.list(list_req("/r/ns/")).await.expect("latest");
    let keys: Vec<&str> = now.items.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys, ["/r/ns/b", "/r/ns/c", "/r/ns/d"]);
    assert_eq!(now.revision, 9);
    let old = s
        .list(ListRequest {
            revision: Some(6),
            ..list_req("/r/ns/")
        })
        .await
        .expect("at 6");
    let keys: Vec<&str> = old.items.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys, ["/r/ns/a", "/r/ns/b", "/r/ns/c"]);
    assert_eq!(
        s.list(ListRequest {
            revision: Some(10),
            ..list_req("/r/")
        })
        .await,
        Err(StoreError::FutureRevision {
            requested: 10,
            current: 9
        })
    );
}

/// Conformance check `compaction_drops_history_but_keeps_state`.
///
/// # Panics
/// When the store breaks the contract.
pub async fn compaction_drops_history_but_keeps_state<S: Storage>(s: &S) {
    s.create("/r/a", obj("a", 1)).await.expect("2");
    s.create("/r/b", obj("b", 1)).await.expect("3");
    s.update("/r/a", obj("a", 2), &Preconditions::default())
        .await
        .expect("4");
    s.delete("/r/b", &Preconditions::default())
        .await
        .expect("5");
    s.create("/r/c", obj("c", 1)).await.expect("6");
    s.update("/r/c", obj("c", 2), &Preconditions::default())
        .await
        .expect("7");

    assert_eq!(
        s.compact(99).await,
        Err(StoreError::FutureRevision {
            requested: 99,
            current: 7
        })
    );
    s.compact(6).await.expect("compact");
    assert_eq!(s.compacted_revision().await, Ok(6));

    assert_eq!(
        s.get("/r/a", Some(5)).await,
        Err(StoreError::Compacted {
            requested: 5,
            compacted: 6
        })
    );
    assert!(matches!(
        s.list(ListRequest {
            revision: Some(4),
            ..list_req("/r/")
        })
        .await,
        Err(StoreError::Compacted { .. })
    ));
    assert!(matches!(
        s.watch("/r/", 5).await,
        Err(StoreError::Compacted {
            requested: 5,
            compacted: 6
        })
    ));

    let at6 = s
        .list(ListRequest {
            revision: Some(6),
            ..list_req("/r/")
        })
        .await
        .expect("at 6");
    let got: Vec<(&str, u64)> = at6
        .items
        .iter()
        .map(|kv| (kv.key.as_str(), kv.mod_revision))
        .collect();
    assert_eq!(got, [("/r/a", 4), ("/r/c", 6)]);
    let latest = s.list(list_req("/r/")).await.expect("latest");
    let got: Vec<(&str, u64)> = latest
        .items
        .iter()
        .map(|kv| (kv.key.as_str(), kv.mod_revision))
        .collect();
    assert_eq!(got, [("/r/a", 4), ("/r/c", 7)]);

    // A watch from the compacted revision still sees everything after it, prev values included.
    let mut w = s.watch("/r/", 6).await.expect("watch");
    let ev = next_event(&mut w).await;
    assert_eq!((ev.revision, ev.watch_type()), (7, "MODIFIED"));
    assert_eq!(ev.prev_value, Some(obj("c", 1)));

    s.compact(6).await.expect("compacting again is a no-op");
    s.compact(3).await.expect("compacting below is a no-op");
    assert_eq!(s.compacted_revision().await, Ok(6));
}

/// Conformance check `watch_replays_history_then_follows_live_changes_in_order`.
///
/// # Panics
/// When the store breaks the contract.
pub async fn watch_replays_history_then_follows_live_changes_in_order<S: Storage>(s: &S) {
    s.create("/r/ns/a", obj("a", 1)).await.expect("2");
    s.create("/other/x", obj("x", 1)).await.expect("3");
    s.update("/r/ns/a", obj("a", 2), &Preconditions::default())
        .await
        .expect("4");

    let mut from_start = s.watch("/r/", 1).await.expect("watch");
    let mut from_mid = s.watch("/r/", 2).await.expect("watch");

    s.delete("/r/ns/a", &Preconditions::default())
        .await
        .expect("5");
    s.create("/r/ns/b", obj("b", 1)).await.expect("6");

    let mut seen = Vec::new();
    for _ in 0..4 {
        let ev = next_event(&mut from_start).await;
        seen.push((
            ev.revision,
            ev.watch_type(),
            ev.key.clone(),
            ev.value.clone(),
            ev.prev_value.clone(),
        ));
    }
    assert_eq!(
        seen,
        [
            (2, "ADDED", "/r/ns/a".to_owned(), Some(obj("a", 1)), None),
            (
                4,
                "MODIFIED",
                "/r/ns/a".to_owned(),
                Some(obj("a", 2)),
                Some(obj("a", 1))
            ),
            (5, "DELETED", "/r/ns/a".to_owned(), None, Some(obj("a", 2))),
            (6, "ADDED", "/r/ns/b".to_owned(), Some(obj("b", 1)), None),
        ]
    );
    let revs: Vec<u64> = [
        next_event(&mut from_mid).await,
        next_event(&mut from_mid).await,
        next_event(&mut from_mid).await,
    ]
    .iter()
    .map(|e| e.revision)
    .collect();
    assert_eq!(revs, [4, 5, 6]);
    assert_eq!(
        tokio::time::timeout(Duration::from_millis(200), from_mid.next())
            .await
            .ok(),
        None,
        "nothing more, and nothing from other prefixes"
    );
}

/// Conformance check `many_watchers_each_see_every_event`.
///
/// # Panics
/// When the store breaks the contract.
pub async fn many_watchers_each_see_every_event<S: Storage>(s: &S) {
    let mut watchers = Vec::new();
    for _ in 0..20 {
        watchers.push(s.watch("/r/", 1).await.expect("watch"));
    }
    for i in 0..50u32 {
        s.create(&format!("/r/k{i:03}"), obj("u", i))
            .await
            .expect("create");
    }
    for w in &mut watchers {
        for i in 0..50u64 {
            assert_eq!(next_event(w).await.revision, i + 2);
        }
    }
}

/// Concurrent `guaranteed_update`s never lose an increment.
///
/// # Panics
/// When the store breaks the contract.
pub async fn guaranteed_update_never_loses_an_update<S: Storage + Clone>(s: &S) {
    s.create("/r/counter", with_counter(0))
        .await
        .expect("create");
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..15 {
                crate::store::guaranteed_update::<_, StoreError, _>(
                    &s,
                    "/r/counter",
                    &Preconditions::default(),
                    |kv| Ok(with_counter(counter(kv) + 1)),
                )
                .await
                .expect("update");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let kv = s
        .get("/r/counter", None)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(counter(&kv), 120);
    assert_eq!(
        kv.mod_revision,
        2 + 120,
        "one revision per increment, no wasted writes"
    );
}

/// The issue's concurrency acceptance at the store level: clients doing read-modify-write
/// with the resourceVersion they read either land or get a conflict; the final state reflects
/// exactly the landed ones.
///
/// # Panics
/// When the store breaks the contract.
pub async fn optimistic_writers_land_or_conflict_and_nothing_is_lost<S: Storage + Clone>(s: &S) {
    s.create("/r/counter", with_counter(0))
        .await
        .expect("create");
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let (mut landed, mut conflicts) = (0u64, 0u64);
            for _ in 0..10 {
                let kv = s
                    .get("/r/counter", None)
                    .await
                    .expect("get")
                    .expect("exists");
                let pre = Preconditions {
                    mod_revision: Some(kv.mod_revision),
                    uid: None,
                };
                match s
                    .update("/r/counter", with_counter(counter(&kv) + 1), &pre)
                    .await
                {
                    Ok(_) => landed += 1,
                    Err(StoreError::RevisionConflict { .. }) => conflicts += 1,
                    Err(e) => panic!("unexpected {e}"),
                }
            }
            (landed, conflicts)
        }));
    }
    let (mut landed, mut conflicts) = (0, 0);
    for t in tasks {
        let (l, c) = t.await.expect("task");
        landed += l;
        conflicts += c;
    }
    assert_eq!(landed + conflicts, 160);
    let kv = s
        .get("/r/counter", None)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(
        counter(&kv),
        landed,
        "every landed update is in the final state, and only those"
    );
}

/// Conformance check `guaranteed_update_respects_preconditions_and_no_ops`.
///
/// # Panics
/// When the store breaks the contract.
pub async fn guaranteed_update_respects_preconditions_and_no_ops<S: Storage>(s: &S) {
    let created = s.create("/r/c", with_counter(1)).await.expect("create");
    let same = crate::store::guaranteed_update::<_, StoreError, _>(
        s,
        "/r/c",
        &Preconditions::default(),
        |kv| Ok(kv.value.clone()),
    )
    .await
    .expect("no-op");
    assert_eq!(same, created, "unchanged bytes are not written");
    let wrong_uid = Preconditions {
        uid: Some("other".into()),
        ..Preconditions::default()
    };
    let err = crate::store::guaranteed_update::<_, StoreError, _>(s, "/r/c", &wrong_uid, |_| {
        panic!("update must not run when a precondition fails")
    })
    .await
    .expect_err("uid");
    assert!(matches!(err, StoreError::UidConflict { .. }));
    let stale = Preconditions {
        mod_revision: Some(1),
        uid: None,
    };
    let err = crate::store::guaranteed_update::<_, StoreError, _>(s, "/r/c", &stale, |kv| {
        Ok(with_counter(counter(kv) + 1))
    })
    .await
    .expect_err("stale");
    assert!(
        matches!(err, StoreError::RevisionConflict { .. }),
        "a caller's revision is not retried"
    );
    let err = crate::store::guaranteed_update::<_, StoreError, _>(
        s,
        "/r/missing",
        &Preconditions::default(),
        |kv| Ok(kv.value.clone()),
    )
    .await
    .expect_err("missing");
    assert!(matches!(err, StoreError::NotFound { .. }));
    assert_eq!(s.current_revision().await, Ok(2), "nothing was written");
}
