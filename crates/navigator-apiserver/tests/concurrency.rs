//! Optimistic concurrency under contention: 16 concurrent writers each doing read-modify-write
//! (GET, increment a counter annotation, PUT with the resourceVersion read) on one object, 1,000
//! update attempts in total over HTTPS. Every attempt either lands (200) or gets 409 Conflict
//! (never a 5xx or anything else); the final counter equals exactly the number of landed updates
//! (no lost update), and the resourceVersions of the landed updates are all distinct.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use http::StatusCode;
use support::{Backend, Server, collection};

const WRITERS: usize = 16;
const ATTEMPTS: usize = 1000;
const COUNTER: &str = "navigator.jetstack.io/test-counter";

async fn sixteen_writers_read_modify_write_without_lost_updates(backend: Backend) {
    let server = Server::start_on(backend);
    let http = server.http().await;
    let ns = "concurrency";
    let base = collection(ns, "cassandraclusters");
    let mut obj = support::cassandra(ns, "counter");
    obj["metadata"]["annotations"] = serde_json::json!({COUNTER: "0"});
    let created = http.post_json(&base, &obj).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let path = format!("{base}/counter");

    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let http = http.clone();
        let path = path.clone();
        // 1,000 attempts split over 16 writers (the first 8 do one more).
        let attempts = ATTEMPTS / WRITERS + usize::from(w < ATTEMPTS % WRITERS);
        tasks.push(tokio::spawn(async move {
            let mut landed = Vec::new();
            let mut conflicts = 0usize;
            for _ in 0..attempts {
                let got = http.get(&path).await;
                assert_eq!(got.status, StatusCode::OK, "{}", got.text());
                let mut obj = got.json();
                let n: u64 = obj["metadata"]["annotations"][COUNTER]
                    .as_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                obj["metadata"]["annotations"][COUNTER] = (n + 1).to_string().into();
                let put = http.put_json(&path, &obj).await;
                match put.status {
                    StatusCode::OK => {
                        let stored = put.json();
                        assert_eq!(
                            stored["metadata"]["annotations"][COUNTER],
                            (n + 1).to_string()
                        );
                        landed.push(
                            stored["metadata"]["resourceVersion"]
                                .as_str()
                                .unwrap()
                                .to_owned(),
                        );
                    }
                    StatusCode::CONFLICT => {
                        let status = put.json();
                        assert_eq!(status["reason"], "Conflict", "{status}");
                        assert_eq!(status["code"], 409);
                        assert!(
                            status["message"]
                                .as_str()
                                .unwrap()
                                .contains("the object has been modified"),
                            "{status}"
                        );
                        conflicts += 1;
                    }
                    other => panic!("unexpected {other}: {}", put.text()),
                }
            }
            (landed, conflicts)
        }));
    }
    let mut landed = Vec::new();
    let mut conflicts = 0;
    for t in tasks {
        let (l, c) = tokio::time::timeout(Duration::from_secs(300), t)
            .await
            .expect("writers did not finish in time")
            .unwrap();
        landed.extend(l);
        conflicts += c;
    }
    assert_eq!(landed.len() + conflicts, ATTEMPTS);
    assert!(!landed.is_empty());
    let distinct: BTreeSet<_> = landed.iter().collect();
    assert_eq!(
        distinct.len(),
        landed.len(),
        "two updates landed on one resourceVersion"
    );

    let final_obj = http.get(&path).await.json();
    assert_eq!(
        final_obj["metadata"]["annotations"][COUNTER],
        landed.len().to_string(),
        "landed {} updates, {conflicts} conflicts",
        landed.len()
    );
    // Annotations are metadata: the generation did not move.
    assert_eq!(final_obj["metadata"]["generation"], 1);
    eprintln!("{} landed, {conflicts} conflicts", landed.len());
}

support::on_both_backends!(async sixteen_writers_read_modify_write_without_lost_updates);
