//! Durability: a stream of creates and updates over HTTPS, `kill -9` of the server (by pid) in the
//! middle of it, restart on the same data directory. Every acknowledged write is there with its
//! content and resourceVersion; the one write whose response never arrived is either fully there
//! or absent; nothing else is; and a watch resumed from the last acknowledged resourceVersion
//! continues with exactly the later changes.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Backend, Http, Server, collection, wait_until};

const NS: &str = "durability";
const COUNTER: &str = "navigator.jetstack.io/test-counter";

fn object(i: usize) -> Value {
    let mut o = support::cassandra(NS, &format!("obj-{i:04}"));
    o["spec"]["nodePools"][0]["replicas"] = json!(i % 7 + 1);
    o
}

#[derive(Debug, Clone)]
enum Write {
    Create { i: usize },
    Update { value: u64 },
}

#[derive(Debug, Default)]
struct Outcome {
    /// Acknowledged writes and the resourceVersion each returned.
    acked: Vec<(Write, u64)>,
    /// The write that was in flight when the server died.
    in_flight: Option<Write>,
}

async fn writer(http: Http, acked_count: Arc<AtomicUsize>) -> Outcome {
    let base = collection(NS, "cassandraclusters");
    let mut counter = {
        let mut c = support::cassandra(NS, "counter");
        c["metadata"]["annotations"] = json!({COUNTER: "0"});
        let r = http.post_json(&base, &c).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        r.json()
    };
    let mut out = Outcome::default();
    for step in 0.. {
        let (write, result) = if step % 2 == 0 {
            let i = step / 2;
            let w = Write::Create { i };
            let r = http
                .request(
                    Method::POST,
                    &base,
                    Some("application/json"),
                    object(i).to_string().into_bytes(),
                )
                .await;
            (w, r)
        } else {
            let value: u64 = counter["metadata"]["annotations"][COUNTER]
                .as_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
                + 1;
            let mut next = counter.clone();
            next["metadata"]["annotations"][COUNTER] = json!(value.to_string());
            let r = http
                .request(
                    Method::PUT,
                    &format!("{base}/counter"),
                    Some("application/json"),
                    next.to_string().into_bytes(),
                )
                .await;
            (Write::Update { value }, r)
        };
        match result {
            Ok(r) => {
                assert!(
                    r.status == StatusCode::CREATED || r.status == StatusCode::OK,
                    "{write:?}: {} {}",
                    r.status,
                    r.text()
                );
                let body = r.json();
                let rv: u64 = body["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                if matches!(write, Write::Update { .. }) {
                    counter = body;
                }
                out.acked.push((write, rv));
                acked_count.fetch_add(1, Ordering::SeqCst);
            }
            Err(_) => {
                out.in_flight = Some(write);
                return out;
            }
        }
    }
    unreachable!()
}

async fn acknowledged_writes_survive_kill_9_and_watches_resume(backend: Backend) {
    let mut server = Server::start_on(backend);
    let http = server.http().await;
    let acked = Arc::new(AtomicUsize::new(0));
    let task = tokio::spawn(writer(http, acked.clone()));
    // Kill in the middle of the stream, once a good number of writes were acknowledged.
    let seen = acked.clone();
    tokio::task::spawn_blocking(move || {
        wait_until(Duration::from_secs(120), "150 acknowledged writes", || {
            (seen.load(Ordering::SeqCst) >= 150).then_some(())
        })
    })
    .await
    .unwrap();
    server.kill9();
    let outcome = tokio::time::timeout(Duration::from_secs(60), task)
        .await
        .expect("the writer never noticed the server died")
        .unwrap();
    assert!(outcome.acked.len() >= 150);

    server.restart();
    let http = server.http().await;
    let base = collection(NS, "cassandraclusters");
    let list = http.get(&base).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text());
    let list = list.json();
    let stored: std::collections::BTreeMap<String, Value> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["metadata"]["name"].as_str().unwrap().to_owned(),
                o.clone(),
            )
        })
        .collect();

    let mut expected_names = vec!["counter".to_owned()];
    let mut last_counter: Option<(u64, u64)> = None;
    let mut last_rv = 0;
    for (write, rv) in &outcome.acked {
        last_rv = last_rv.max(*rv);
        match write {
            Write::Create { i } => {
                let name = format!("obj-{i:04}");
                let o = stored
                    .get(&name)
                    .unwrap_or_else(|| panic!("acknowledged {name} lost"));
                assert_eq!(
                    o["spec"]["nodePools"][0]["replicas"],
                    json!(i % 7 + 1),
                    "{name}"
                );
                assert_eq!(o["metadata"]["resourceVersion"], rv.to_string(), "{name}");
                expected_names.push(name);
            }
            Write::Update { value } => last_counter = Some((*value, *rv)),
        }
    }
    let counter = &stored["counter"];
    let stored_value: u64 = counter["metadata"]["annotations"][COUNTER]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let (acked_value, acked_rv) = last_counter.unwrap();
    match &outcome.in_flight {
        Some(Write::Update { value }) if stored_value == *value => {
            // The unacknowledged update landed, whole.
            assert_eq!(*value, acked_value + 1);
        }
        Some(Write::Create { i }) => {
            let name = format!("obj-{i:04}");
            if let Some(o) = stored.get(&name) {
                assert_eq!(
                    o["spec"]["nodePools"][0]["replicas"],
                    json!(i % 7 + 1),
                    "{name} partial"
                );
                expected_names.push(name);
            }
            assert_eq!(stored_value, acked_value);
            assert_eq!(counter["metadata"]["resourceVersion"], acked_rv.to_string());
        }
        _ => {
            assert_eq!(
                stored_value, acked_value,
                "counter lost an acknowledged update"
            );
            assert_eq!(counter["metadata"]["resourceVersion"], acked_rv.to_string());
        }
    }
    expected_names.sort();
    let names: Vec<String> = stored.keys().cloned().collect();
    assert_eq!(
        names, expected_names,
        "objects that were never written are present"
    );
    let list_rv: u64 = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(list_rv >= last_rv);

    // A watch resumed from the last acknowledged resourceVersion continues after the restart.
    let after = http.post_json(&base, &object(9999)).await;
    assert_eq!(after.status, StatusCode::CREATED, "{}", after.text());
    let watch = http
        .get(&format!(
            "{base}?watch=1&resourceVersion={last_rv}&timeoutSeconds=2"
        ))
        .await;
    assert_eq!(watch.status, StatusCode::OK, "{}", watch.text());
    let events: Vec<Value> = watch
        .text()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|e: &Value| e["type"] != "BOOKMARK")
        .collect();
    for e in &events {
        let rv: u64 = e["object"]["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(rv > last_rv, "event at or before the resume point: {e}");
    }
    let last = events
        .last()
        .unwrap_or_else(|| panic!("no events: {}", watch.text()));
    assert_eq!(last["type"], "ADDED");
    assert_eq!(last["object"]["metadata"]["name"], "obj-9999");
    assert!(
        events.len() <= 2,
        "only the in-flight write may precede it: {events:?}"
    );
}

support::on_both_backends!(async acknowledged_writes_survive_kill_9_and_watches_resume);
