use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;

use super::common::*;
use super::metadata::{validate_object_meta, validate_object_meta_update};
use crate::field::{ErrorList, FieldError, FieldPath};
use crate::internal::{CassandraCluster, CassandraClusterNodePool};
use crate::version::CassandraVersion;

/// The lowest supported Cassandra version (inclusive).
pub const CASSANDRA_MIN_VERSION: (u64, u64) = (3, 11);
/// The highest supported Cassandra minor version (inclusive).
pub const CASSANDRA_MAX_VERSION: (u64, u64) = (5, 0);

#[allow(clippy::unwrap_used)] // a constant pattern, exercised by every test
static TOPOLOGY_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("^[A-Za-z0-9][-A-Za-z0-9_.]*$").unwrap());

/// The StatefulSet name of a Cassandra node pool: `cass-<cluster>-<pool>`.
pub fn cassandra_statefulset_name(cluster: &str, pool: &str) -> String {
    format!("cass-{cluster}-{pool}")
}

/// Whether Navigator runs this Cassandra version: 3.11 to 5.0, no pre-releases.
pub fn is_supported_cassandra_version(v: &CassandraVersion) -> bool {
    let minor = (v.major(), v.minor());
    !v.is_prerelease() && minor >= CASSANDRA_MIN_VERSION && minor <= CASSANDRA_MAX_VERSION
}

/// Validates a new CassandraCluster.
pub fn validate_cassandra_cluster(obj: &CassandraCluster) -> ErrorList {
    validate_cassandra_cluster_spec(obj, validate_object_meta(&obj.metadata))
}

/// The spec rules of a CassandraCluster, appended to the metadata errors `errs`.
fn validate_cassandra_cluster_spec(obj: &CassandraCluster, mut errs: ErrorList) -> ErrorList {
    let spec = &obj.spec;
    let path = FieldPath::new("spec");
    validate_cluster_config(&spec.config, &path, &mut errs);
    if let Some(image) = &spec.image {
        validate_image(image, &path.child("image"), &mut errs);
    }
    match &spec.version {
        None => errs.push(FieldError::required(path.child("version"), "")),
        Some(v) if !is_supported_cassandra_version(v) => {
            let (lo_major, lo_minor) = CASSANDRA_MIN_VERSION;
            let (hi_major, hi_minor) = CASSANDRA_MAX_VERSION;
            errs.push(FieldError::forbidden(
                path.child("version"),
                format!(
                    "{v} is not supported. Supported versions are: >= {lo_major}.{lo_minor}, < {hi_major}.{}, without a pre-release suffix",
                    hi_minor + 1
                ),
            ));
        }
        Some(_) => {}
    }
    let cluster_name = obj.metadata.name.as_deref().unwrap_or_default();
    let mut seen = HashSet::new();
    for (i, pool) in spec.node_pools.iter().enumerate() {
        let p = path.child("nodePools").index(i);
        let ss_name = cassandra_statefulset_name(cluster_name, &pool.name);
        validate_pool_name(&pool.name, &ss_name, &p.child("name"), &mut seen, &mut errs);
        validate_replicas(pool.replicas, &p.child("replicas"), &mut errs);
        if let Some(persistence) = &pool.persistence {
            validate_persistence(persistence, &p.child("persistence"), &mut errs);
        }
        validate_node_selector(
            pool.node_selector.as_ref(),
            &p.child("nodeSelector"),
            &mut errs,
        );
        for (field, value) in [("rack", &pool.rack), ("datacenter", &pool.datacenter)] {
            match value.as_deref() {
                None => {}
                Some("") => errs.push(FieldError::required(p.child(field), "")),
                Some(name) if !TOPOLOGY_NAME.is_match(name) => errs.push(FieldError::invalid(
                    p.child(field),
                    name,
                    "must consist of alphanumeric characters, '-', '_' or '.', and start with an alphanumeric character",
                )),
                Some(_) => {}
            }
        }
        validate_resources(pool.resources.as_ref(), &p.child("resources"), &mut errs);
        validate_scheduler_name(&pool.scheduler_name, &p.child("schedulerName"), &mut errs);
    }
    errs
}

/// Validates an update of a CassandraCluster: the new spec in full and the metadata checks of
/// [`validate_object_meta_update`] (the registry validates the rest of the metadata), versions
/// move forward one major at a time (a downgrade only within the same minor version, which is
/// compatible on disk), existing pools change only `replicas` and `persistence`, and pools leave
/// only once scaled to zero.
pub fn validate_cassandra_cluster_update(
    new: &CassandraCluster,
    old: &CassandraCluster,
) -> ErrorList {
    let mut errs = validate_cassandra_cluster_spec(new, validate_object_meta_update(&new.metadata));
    let path = FieldPath::new("spec");
    if let (Some(n), Some(o)) = (&new.spec.version, &old.spec.version) {
        let vp = path.child("version");
        if n < o && (n.major(), n.minor()) != (o.major(), o.minor()) {
            errs.push(FieldError::forbidden(
                &vp,
                format!(
                    "cannot downgrade an existing cluster to another minor version. old version: {o}, new version: {n}"
                ),
            ));
        } else if n.major() > o.major() + 1 {
            errs.push(FieldError::forbidden(
                &vp,
                format!("upgrades must go one major version at a time. old version: {o}, new version: {n}"),
            ));
        }
    }
    validate_pool_updates(
        &new.spec.node_pools,
        &old.spec.node_pools,
        &path.child("nodePools"),
        &mut errs,
    );
    errs
}

/// Validates the status a CassandraCluster's `/status` update writes.
pub fn validate_cassandra_cluster_status(obj: &CassandraCluster) -> ErrorList {
    let mut errs = ErrorList::new();
    let path = FieldPath::new("status");
    validate_conditions(&obj.status.conditions, &path.child("conditions"), &mut errs);
    validate_non_negative(
        obj.status.observed_generation,
        &path.child("observedGeneration"),
        &mut errs,
    );
    validate_pool_statuses(&obj.status.node_pools, &path.child("nodePools"), &mut errs);
    errs
}

impl NodePool for CassandraClusterNodePool {
    fn name(&self) -> &str {
        &self.name
    }

    fn replicas(&self) -> Option<i32> {
        self.replicas
    }

    fn persistence(&self) -> Option<&crate::internal::PersistenceConfig> {
        self.persistence.as_ref()
    }

    fn forbid_immutable_changes(&self, old: &Self, path: &FieldPath, errs: &mut ErrorList) {
        forbid_pool_field_change(&self.rack, &old.rack, &path.child("rack"), errs);
        forbid_pool_field_change(
            &self.datacenter,
            &old.datacenter,
            &path.child("datacenter"),
            errs,
        );
        forbid_pool_field_change(
            &self.node_selector,
            &old.node_selector,
            &path.child("nodeSelector"),
            errs,
        );
        forbid_pool_field_change(
            &self.resources,
            &old.resources,
            &path.child("resources"),
            errs,
        );
        forbid_pool_field_change(
            &self.scheduler_name,
            &old.scheduler_name,
            &path.child("schedulerName"),
            errs,
        );
    }
}
