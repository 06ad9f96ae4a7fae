//! Concurrent writers on one object.

use super::*;
use pretty_assertions::assert_eq;

/// 16 writers, 1,000 read-modify-write attempts on one object: every attempt lands or gets a
/// 409, and the final counter equals the landed ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_read_modify_write_loses_no_update() {
    let f = fixture();
    create(&f, "counter", json!({"replicas": 0})).await;
    let reg = f.reg.clone();
    let mut tasks = vec![];
    for t in 0..16 {
        let reg = reg.clone();
        let attempts = 1000 / 16 + usize::from(t < 1000 % 16);
        tasks.push(tokio::spawn(async move {
            let (mut landed, mut conflicts) = (0u64, 0u64);
            for _ in 0..attempts {
                let cur = reg
                    .get(&ctx(), "counter", &GetOptions::default())
                    .await
                    .expect("get")
                    .body;
                let mut next = cur.clone();
                next["spec"]["replicas"] = json!(cur["spec"]["replicas"].as_i64().unwrap_or(0) + 1);
                match reg.update(&ctx(), "counter", Subresource::Main, next).await {
                    Ok(_) => landed += 1,
                    Err(e) if e.code() == 409 => conflicts += 1,
                    Err(e) => panic!("unexpected {e:?}"),
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
    assert_eq!(landed + conflicts, 1000);
    assert!(landed > 0);
    let last = get(&f, "counter").await.expect("get");
    assert_eq!(last["spec"]["replicas"].as_u64(), Some(landed));
    assert_eq!(last["metadata"]["generation"].as_u64(), Some(landed + 1));
}

/// Patches without a resourceVersion retry on a lost race (Go's GuaranteedUpdate): 16 writers
/// each adding their own labels all land.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_patches_retry_and_all_land() {
    let f = fixture();
    create(&f, "shared", json!({})).await;
    let mut tasks = vec![];
    for t in 0..16 {
        let reg = f.reg.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..5 {
                let body = format!(r#"{{"metadata":{{"labels":{{"t{t}-{i}":"x"}}}}}}"#);
                reg.patch(
                    &ctx(),
                    "shared",
                    Subresource::Main,
                    PatchType::Merge,
                    body.as_bytes(),
                )
                .await
                .expect("patch lands");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let last = get(&f, "shared").await.expect("get");
    assert_eq!(
        last["metadata"]["labels"].as_object().map(|m| m.len()),
        Some(80)
    );
    assert_eq!(
        last["metadata"]["generation"], 1,
        "labels do not bump generation"
    );
}
