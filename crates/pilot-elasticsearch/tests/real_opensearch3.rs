//! The adapter against two real OpenSearch 3.6.0 nodes (the image hack/build-images assembles
//! under `${NAVIGATOR_CACHE:-~/.cache/navigator}`), as host processes, with their Pilots in
//! `navigator-apiserver --standalone`: see `common`. A file of its own so that it never runs
//! beside the other real-node tests (test binaries run one after the other). Fails, saying what
//! to run, when the image or the API server binary is missing.

mod common;
/// OpenSearch 3 (Java 21+: the Temurin 25 JDK these machines have; no test plugin zip, the 3.x
/// distribution's zip bundles every module).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opensearch_3_forms_reports_drains_and_reverses() {
    common::two_real_nodes_form_report_drain_and_reverse(common::Spec {
        flavor: "opensearch",
        version: "3.6.0",
        master_role: "cluster_manager",
        initial_key: "cluster.initial_cluster_manager_nodes",
        plugin: false,
        java_home: Some("/usr/lib/jvm/temurin-25-jdk-amd64"),
    })
    .await;
}
