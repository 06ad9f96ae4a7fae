//! The cluster's Services: `nodes` (headless, every node's DNS name), `seeds` (headless, the
//! seed pods, published before they are ready) and the client Service (CQL on ready nodes).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Service, ServiceSpec};
use navigator_api::pilot_contract::CASSANDRA_SEED_LABEL;

use super::{CQL_PORT, CQL_PORT_NAME, INTRA_NODE_PORT, INTRA_NODE_PORT_NAME, Owner};
use crate::cassandra::names;
use crate::children::service::port;

fn service(owner: &Owner, name: String, spec: ServiceSpec) -> Service {
    crate::children::service::service(owner, name, names::cluster_labels(&owner.name), spec)
}

/// The headless Service `cass-<cluster>-nodes` (the StatefulSets' `serviceName`), publishing
/// every node whether ready or not.
pub(super) fn nodes(owner: &Owner) -> Service {
    service(
        owner,
        names::nodes_service(&owner.name),
        ServiceSpec {
            cluster_ip: Some("None".to_owned()),
            publish_not_ready_addresses: Some(true),
            selector: Some(names::cluster_labels(&owner.name)),
            ports: Some(vec![
                port(INTRA_NODE_PORT_NAME, INTRA_NODE_PORT),
                port(CQL_PORT_NAME, CQL_PORT),
            ]),
            ..ServiceSpec::default()
        },
    )
}

/// The selector of the seeds Service: the cluster's labels plus the seed label.
pub(super) fn seed_selector(cluster: &str) -> BTreeMap<String, String> {
    let mut selector = names::cluster_labels(cluster);
    selector.insert(CASSANDRA_SEED_LABEL.to_owned(), "true".to_owned());
    selector
}

/// The headless Service `cass-<cluster>-seeds`, selecting the pods labelled as seeds and
/// publishing them before they are ready (the first seed seeds itself). The seed label is on
/// the selector only, not on the Service.
pub(super) fn seeds(owner: &Owner) -> Service {
    service(
        owner,
        names::seeds_service(&owner.name),
        ServiceSpec {
            cluster_ip: Some("None".to_owned()),
            publish_not_ready_addresses: Some(true),
            selector: Some(seed_selector(&owner.name)),
            ports: Some(vec![port(INTRA_NODE_PORT_NAME, INTRA_NODE_PORT)]),
            ..ServiceSpec::default()
        },
    )
}

/// The client Service `cass-<cluster>`: a ClusterIP on the CQL port of the ready nodes.
pub(super) fn client(owner: &Owner) -> Service {
    service(
        owner,
        names::client_service(&owner.name),
        ServiceSpec {
            type_: Some("ClusterIP".to_owned()),
            selector: Some(names::cluster_labels(&owner.name)),
            ports: Some(vec![port(CQL_PORT_NAME, CQL_PORT)]),
            ..ServiceSpec::default()
        },
    )
}
