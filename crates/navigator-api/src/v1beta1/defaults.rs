//! Defaulting for `v1beta1`, applied when an object is decoded in this version (on write and on
//! read), before conversion and validation.

use std::collections::BTreeMap;

use super::{CassandraCluster, ElasticsearchCluster, ImageSpec, Pilot};
use crate::internal::{DEFAULT_DATACENTER, FLAVOR_ELASTICSEARCH, REQUESTED_STATE_RUNNING};

/// The pull policy an image gets when it names none.
pub const DEFAULT_PULL_POLICY: &str = "IfNotPresent";

fn default_image(image: &mut ImageSpec) {
    if image.pull_policy.is_empty() {
        image.pull_policy = DEFAULT_PULL_POLICY.to_owned();
    }
}

/// Fills in `v1beta1` defaults: pull policies, `flavor: elasticsearch`, pool `replicas: 1` and
/// `nodeSelector: {}`.
pub fn default_elasticsearch_cluster(obj: &mut ElasticsearchCluster) {
    let spec = &mut obj.spec;
    default_image(&mut spec.pilot_image);
    if let Some(image) = &mut spec.image {
        default_image(image);
    }
    spec.flavor
        .get_or_insert_with(|| FLAVOR_ELASTICSEARCH.to_owned());
    for pool in &mut spec.node_pools {
        pool.replicas.get_or_insert(1);
        pool.node_selector.get_or_insert_with(BTreeMap::new);
    }
}

/// Fills in `v1beta1` defaults: pull policies, pool `replicas: 1`, `nodeSelector: {}`,
/// `rack: <pool name>`, `datacenter: navigator-default-datacenter`.
pub fn default_cassandra_cluster(obj: &mut CassandraCluster) {
    let spec = &mut obj.spec;
    default_image(&mut spec.pilot_image);
    if let Some(image) = &mut spec.image {
        default_image(image);
    }
    for pool in &mut spec.node_pools {
        pool.replicas.get_or_insert(1);
        pool.node_selector.get_or_insert_with(BTreeMap::new);
        // An unnamed pool is reported as such; it gets no empty rack to report twice.
        if pool.rack.is_none() && !pool.name.is_empty() {
            pool.rack = Some(pool.name.clone());
        }
        pool.datacenter
            .get_or_insert_with(|| DEFAULT_DATACENTER.to_owned());
    }
}

/// Fills in `v1beta1` defaults: `requestedState: Running`.
pub fn default_pilot(obj: &mut Pilot) {
    obj.spec
        .requested_state
        .get_or_insert_with(|| REQUESTED_STATE_RUNNING.to_owned());
}
