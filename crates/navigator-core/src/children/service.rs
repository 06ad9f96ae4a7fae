//! The pieces of a cluster's Services every kind builds alike.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};

use super::{Owner, hashed};

/// The TCP Service port `port` called `name`.
pub(crate) fn port(name: &str, port: i32) -> ServicePort {
    ServicePort {
        name: Some(name.to_owned()),
        port,
        protocol: Some("TCP".to_owned()),
        ..ServicePort::default()
    }
}

/// The Service `name` labelled `labels` with `spec`, owned by the cluster, spec-hashed.
pub(crate) fn service(
    owner: &Owner,
    name: String,
    labels: BTreeMap<String, String>,
    spec: ServiceSpec,
) -> Service {
    hashed(
        Service {
            metadata: owner.meta(name, labels),
            spec: Some(spec),
            status: None,
        },
        |o| &mut o.metadata,
    )
}
