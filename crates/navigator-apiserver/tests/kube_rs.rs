//! kube-rs — a real client nobody here wrote — against the standalone server, over rustls
//! trusting the generated CA (configuration read from the generated kubeconfig): typed CRUD with
//! `navigator_api::v1beta1` kinds (create, get, replace with optimistic concurrency, merge and
//! JSON patches, server-side apply, list with selectors, delete), `DynamicObject` through
//! discovery in the other version, and a `kube::runtime::watcher` on the watch-list path
//! (`streaming_lists()`, i.e. `sendInitialEvents`) feeding a reflector store that sees every
//! change: initial objects, later creates, an update and a delete.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{StreamExt as _, TryStreamExt as _};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::runtime::{reflector, watcher};
use navigator_api::v1beta1::{CassandraCluster, Pilot};
use serde_json::json;
use support::{Backend, Server};

fn typed_cassandra(ns: &str, name: &str) -> CassandraCluster {
    serde_json::from_value(support::cassandra(ns, name)).unwrap()
}

fn replicas(c: &CassandraCluster) -> Vec<(String, Option<i32>)> {
    c.spec
        .node_pools
        .iter()
        .map(|p| (p.name.clone(), p.replicas))
        .collect()
}

async fn typed_and_dynamic_crud(backend: Backend) {
    let server = Server::start_on(backend);
    let client = server.kube_client().await;
    let ns = "kube-crud";
    let api: Api<CassandraCluster> = Api::namespaced(client.clone(), ns);

    let created = api
        .create(&PostParams::default(), &typed_cassandra(ns, "demo"))
        .await
        .unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    assert!(created.metadata.uid.is_some());
    assert_eq!(
        created.spec.node_pools[0].datacenter.as_deref(),
        Some("navigator-default-datacenter")
    );
    let err = api
        .create(&PostParams::default(), &typed_cassandra(ns, "demo"))
        .await
        .unwrap_err();
    let kube::Error::Api(status) = err else {
        panic!("{err}")
    };
    assert_eq!(
        (status.code, status.reason.as_str()),
        (409, "AlreadyExists")
    );

    // replace: lands with the current resourceVersion, 409 Conflict with a stale one.
    let mut current = api.get("demo").await.unwrap();
    current.spec.node_pools[0].replicas = Some(4);
    let replaced = api
        .replace("demo", &PostParams::default(), &current)
        .await
        .unwrap();
    assert_eq!(replicas(&replaced), [("a".to_owned(), Some(4))]);
    assert_eq!(replaced.metadata.generation, Some(2));
    let err = api
        .replace("demo", &PostParams::default(), &current)
        .await
        .unwrap_err();
    let kube::Error::Api(status) = err else {
        panic!("{err}")
    };
    assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));

    // merge patch, strategic merge patch, server-side apply (with force).
    let patched = api
        .patch(
            "demo",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"tier": "db"}}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.metadata.labels.as_ref().unwrap()["tier"], "db");
    // A strategic merge patch merges pools by name.
    let patched = api
        .patch(
            "demo",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"nodePools": [{"name": "a", "replicas": 5}]}})),
        )
        .await
        .unwrap();
    assert_eq!(replicas(&patched), [("a".to_owned(), Some(5))]);
    let applied = api
        .patch(
            "demo",
            &PatchParams::apply("kube-rs-test").force(),
            &Patch::Apply(json!({
                "apiVersion": "navigator.jetstack.io/v1beta1",
                "kind": "CassandraCluster",
                "metadata": {"name": "demo"},
                "spec": {"nodePools": [{"name": "a", "replicas": 6}]}
            })),
        )
        .await
        .unwrap();
    assert_eq!(replicas(&applied), [("a".to_owned(), Some(6))]);
    let managers: Vec<_> = applied
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert!(
        managers.contains(&"kube-rs-test".to_owned()),
        "{managers:?}"
    );

    // list with a label selector; the other object does not match.
    api.create(&PostParams::default(), &typed_cassandra(ns, "other"))
        .await
        .unwrap();
    let listed = api
        .list(&ListParams::default().labels("tier=db"))
        .await
        .unwrap();
    let names: Vec<_> = listed
        .items
        .iter()
        .map(|c| c.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["demo"]);
    let all = api.list(&ListParams::default().limit(1)).await.unwrap();
    assert_eq!(all.items.len(), 1);
    assert!(all.metadata.continue_.is_some());

    // The same object through DynamicObject in v1alpha1, found by discovery.
    let gvk = GroupVersionKind::gvk("navigator.jetstack.io", "v1alpha1", "CassandraCluster");
    let (ar, _caps) = kube::discovery::pinned_kind(&client, &gvk).await.unwrap();
    let dynamic: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
    let d = dynamic.get("demo").await.unwrap();
    assert_eq!(
        d.types.as_ref().unwrap().api_version,
        "navigator.jetstack.io/v1alpha1"
    );
    assert_eq!(d.data["spec"]["nodePools"][0]["replicas"], 6);

    // Pilots, typed, with a kind-specific field selector.
    let pilots: Api<Pilot> = Api::namespaced(client.clone(), ns);
    for (name, pool) in [("p-a", "a"), ("p-b", "b")] {
        let p: Pilot = serde_json::from_value(support::pilot(ns, name, pool)).unwrap();
        pilots.create(&PostParams::default(), &p).await.unwrap();
    }
    let b = pilots
        .list(&ListParams::default().fields("spec.nodePool=b"))
        .await
        .unwrap();
    assert_eq!(b.items.len(), 1);
    assert_eq!(b.items[0].metadata.name.as_deref(), Some("p-b"));

    // delete
    api.delete("demo", &DeleteParams::default()).await.unwrap();
    assert!(api.get_opt("demo").await.unwrap().is_none());
    let err = api
        .delete("demo", &DeleteParams::default())
        .await
        .unwrap_err();
    let kube::Error::Api(status) = err else {
        panic!("{err}")
    };
    assert_eq!((status.code, status.reason.as_str()), (404, "NotFound"));
}

async fn streaming_list_watcher_feeds_a_reflector_that_sees_every_change(backend: Backend) {
    let server = Server::start_on(backend);
    let client = server.kube_client().await;
    let ns = "kube-watch";
    let api: Api<CassandraCluster> = Api::namespaced(client.clone(), ns);
    for n in ["init-0", "init-1", "init-2"] {
        api.create(&PostParams::default(), &typed_cassandra(ns, n))
            .await
            .unwrap();
    }

    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let (reader, writer) = reflector::store::<CassandraCluster>();
    let stream = watcher(api.clone(), watcher::Config::default().streaming_lists());
    let log = seen.clone();
    let task = tokio::spawn(async move {
        let events = reflector(writer, stream).map_ok(move |event| {
            let mut log = log.lock().unwrap();
            match &event {
                watcher::Event::Init => log.push(("Init".into(), String::new())),
                watcher::Event::InitApply(o) => {
                    log.push(("InitApply".into(), o.metadata.name.clone().unwrap()))
                }
                watcher::Event::InitDone => log.push(("InitDone".into(), String::new())),
                watcher::Event::Apply(o) => {
                    log.push(("Apply".into(), o.metadata.name.clone().unwrap()))
                }
                watcher::Event::Delete(o) => {
                    log.push(("Delete".into(), o.metadata.name.clone().unwrap()))
                }
            }
            event
        });
        // Any error ends the test: the watcher must not need to fall back or retry.
        let mut events = std::pin::pin!(events);
        while let Some(item) = events.next().await {
            if let Err(e) = item {
                panic!("watcher error: {e}");
            }
        }
    });

    tokio::time::timeout(Duration::from_secs(30), reader.wait_until_ready())
        .await
        .expect("the initial events never ended")
        .unwrap();
    let mut initial: Vec<_> = reader
        .state()
        .iter()
        .map(|o| o.metadata.name.clone().unwrap())
        .collect();
    initial.sort();
    assert_eq!(initial, ["init-0", "init-1", "init-2"]);

    for n in ["later-0", "later-1"] {
        api.create(&PostParams::default(), &typed_cassandra(ns, n))
            .await
            .unwrap();
    }
    api.patch(
        "init-1",
        &PatchParams::default(),
        &Patch::Strategic(json!({"spec": {"nodePools": [{"name": "a", "replicas": 7}]}})),
    )
    .await
    .unwrap();
    api.delete("init-0", &DeleteParams::default())
        .await
        .unwrap();
    // Another namespace's object is not part of this namespaced watch.
    Api::<CassandraCluster>::namespaced(client.clone(), "elsewhere")
        .create(&PostParams::default(), &typed_cassandra("elsewhere", "x"))
        .await
        .unwrap();

    let want: BTreeMap<String, i32> =
        [("init-1", 7), ("init-2", 3), ("later-0", 3), ("later-1", 3)]
            .into_iter()
            .map(|(n, r)| (n.to_owned(), r))
            .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let state: BTreeMap<String, i32> = reader
            .state()
            .iter()
            .map(|o| {
                (
                    o.metadata.name.clone().unwrap(),
                    o.spec.node_pools[0].replicas.unwrap_or_default(),
                )
            })
            .collect();
        if state == want {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "store never converged: {state:?}; events {:?}",
            seen.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!task.is_finished(), "watcher ended");
    task.abort();

    let log = seen.lock().unwrap().clone();
    let mut init: Vec<_> = log[..5].to_vec();
    init[1..4].sort();
    assert_eq!(
        init,
        [
            ("Init".to_owned(), String::new()),
            ("InitApply".to_owned(), "init-0".to_owned()),
            ("InitApply".to_owned(), "init-1".to_owned()),
            ("InitApply".to_owned(), "init-2".to_owned()),
            ("InitDone".to_owned(), String::new()),
        ],
        "{log:?}"
    );
    assert_eq!(
        log[5..],
        [
            ("Apply".to_owned(), "later-0".to_owned()),
            ("Apply".to_owned(), "later-1".to_owned()),
            ("Apply".to_owned(), "init-1".to_owned()),
            ("Delete".to_owned(), "init-0".to_owned()),
        ],
        "{log:?}"
    );
}

support::on_both_backends!(async typed_and_dynamic_crud, streaming_list_watcher_feeds_a_reflector_that_sees_every_change);
