//! The adapter against two real OpenSearch 2.19.6 nodes (the image and plugin zip
//! hack/build-images assembles under `${NAVIGATOR_CACHE:-~/.cache/navigator}`), as host
//! processes, with their Pilots in `navigator-apiserver --standalone`: see `common`. Runs in
//! plain `cargo test` (20-50 s, 1.5 GiB) and fails, saying what to run, when the image, the
//! plugin zip or the API server binary is missing.

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opensearch_2_19_forms_reports_drains_and_reverses() {
    common::two_real_nodes_form_report_drain_and_reverse(common::Spec {
        flavor: "opensearch",
        version: "2.19.6",
        master_role: "cluster_manager",
        initial_key: "cluster.initial_cluster_manager_nodes",
        plugin: true,
        java_home: None,
    })
    .await;
}
