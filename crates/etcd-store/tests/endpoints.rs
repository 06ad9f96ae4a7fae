//! Several endpoints, one of them down: requests go to the one that answers.
#![allow(clippy::unwrap_used)]

use apimachinery::store::Storage;
use etcd_store::EtcdStore;
use etcd_store::testing::{EtcdServer, EtcdServerOptions, free_port};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_endpoint_among_live_ones_does_not_fail_requests() {
    let etcd = EtcdServer::start_with(EtcdServerOptions {
        tls: false,
        unsafe_no_fsync: true,
    })
    .await
    .unwrap();
    let mut cfg = etcd.config();
    cfg.endpoints = vec![
        format!("http://127.0.0.1:{}", free_port().unwrap()),
        etcd.endpoint(),
    ];
    let store = EtcdStore::connect(cfg).await.unwrap();
    let mut failures = 0;
    for i in 0..200 {
        if store
            .create(&format!("/r/k{i}"), b"{}".to_vec())
            .await
            .is_err()
        {
            failures += 1;
        }
    }
    assert_eq!(failures, 0);
}
