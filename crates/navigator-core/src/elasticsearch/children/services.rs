//! The cluster's Services: `discovery` (headless, the master-eligible nodes, published before
//! they are ready) and the client Service (HTTP on the ready ingest, else data, nodes).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Service, ServiceSpec};
use navigator_api::pilot_contract::elasticsearch_role_label;
use navigator_api::v1beta1::ElasticsearchCluster;

use super::{HTTP_PORT, HTTP_PORT_NAME, Owner, TRANSPORT_PORT, TRANSPORT_PORT_NAME, is_ingest};
use crate::children::service::port;
use crate::elasticsearch::names;

fn service(owner: &Owner, name: String, spec: ServiceSpec) -> Service {
    crate::children::service::service(owner, name, names::cluster_labels(&owner.name), spec)
}

/// The cluster's labels plus `navigator.jetstack.io/elasticsearch-role-<role>: "true"`.
pub(super) fn role_selector(cluster: &str, role: &str) -> BTreeMap<String, String> {
    let mut selector = names::cluster_labels(cluster);
    selector.insert(elasticsearch_role_label(role), "true".to_owned());
    selector
}

/// The headless Service `es-<cluster>-discovery` (the StatefulSets' `serviceName` and the
/// nodes' seed hosts), selecting the master-eligible pods and publishing them before they are
/// ready: a forming cluster's masters find each other, a restarted node finds the masters.
pub(super) fn discovery(owner: &Owner) -> Service {
    service(
        owner,
        names::discovery_service(&owner.name),
        ServiceSpec {
            cluster_ip: Some("None".to_owned()),
            publish_not_ready_addresses: Some(true),
            selector: Some(role_selector(&owner.name, "master")),
            ports: Some(vec![
                port(TRANSPORT_PORT_NAME, TRANSPORT_PORT),
                port(HTTP_PORT_NAME, HTTP_PORT),
            ]),
            ..ServiceSpec::default()
        },
    )
}

/// The client Service `es-<cluster>`: a ClusterIP on the HTTP port of the ready ingest nodes
/// when a pool of the spec has the `ingest` role, else of the ready data nodes.
pub(super) fn client(cluster: &ElasticsearchCluster, owner: &Owner) -> Service {
    let role = if cluster.spec.node_pools.iter().any(is_ingest) {
        "ingest"
    } else {
        "data"
    };
    service(
        owner,
        names::client_service(&owner.name),
        ServiceSpec {
            type_: Some("ClusterIP".to_owned()),
            selector: Some(role_selector(&owner.name, role)),
            ports: Some(vec![port(HTTP_PORT_NAME, HTTP_PORT)]),
            ..ServiceSpec::default()
        },
    )
}
