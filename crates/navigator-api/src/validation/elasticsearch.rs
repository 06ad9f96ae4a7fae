use std::collections::HashSet;

use super::common::*;
use super::metadata::{validate_object_meta, validate_object_meta_update};
use crate::field::{ErrorList, FieldError, FieldPath};
use crate::internal::{
    ElasticsearchCluster, ElasticsearchClusterNodePool, FLAVOR_ELASTICSEARCH, FLAVOR_OPENSEARCH,
    FLAVORS, HEALTHS, ROLES,
};
use crate::version::ElasticsearchVersion;

/// `quorum(n)`: the majority of `n` master-eligible nodes (0 → 0, 1 → 1, else `n / 2 + 1`).
pub fn quorum(n: i32) -> i32 {
    match n {
        i32::MIN..=0 => 0,
        1 => 1,
        n => n / 2 + 1,
    }
}

/// The supported major versions of a flavour, inclusive.
pub fn supported_majors(flavor: &str) -> Option<(u64, u64)> {
    match flavor {
        FLAVOR_ELASTICSEARCH => Some((6, 8)),
        FLAVOR_OPENSEARCH => Some((1, 3)),
        _ => None,
    }
}

/// The StatefulSet name of an Elasticsearch node pool: `es-<cluster>-<pool>`.
pub fn elasticsearch_statefulset_name(cluster: &str, pool: &str) -> String {
    format!("es-{cluster}-{pool}")
}

/// Validates a new ElasticsearchCluster.
pub fn validate_elasticsearch_cluster(obj: &ElasticsearchCluster) -> ErrorList {
    validate_elasticsearch_cluster_spec(obj, validate_object_meta(&obj.metadata))
}

/// The spec rules of an ElasticsearchCluster, appended to the metadata errors `errs`.
fn validate_elasticsearch_cluster_spec(
    obj: &ElasticsearchCluster,
    mut errs: ErrorList,
) -> ErrorList {
    let spec = &obj.spec;
    let path = FieldPath::new("spec");
    validate_cluster_config(&spec.config, &path, &mut errs);
    if let Some(image) = &spec.image {
        validate_image(image, &path.child("image"), &mut errs);
    }

    let flavor = spec.flavor();
    if !FLAVORS.contains(&flavor) {
        errs.push(FieldError::not_supported(
            path.child("flavor"),
            flavor,
            FLAVORS,
        ));
    }
    validate_version(
        spec.version.as_ref(),
        flavor,
        &path.child("version"),
        &mut errs,
    );

    let mut seen_plugins = HashSet::new();
    for (i, plugin) in spec.plugins.iter().enumerate() {
        let p = path.child("plugins").index(i);
        if plugin.is_empty() {
            errs.push(FieldError::required(&p, ""));
        } else if !seen_plugins.insert(plugin) {
            errs.push(FieldError::duplicate(&p, plugin));
        }
    }

    let cluster_name = obj.metadata.name.as_deref().unwrap_or_default();
    let mut seen = HashSet::new();
    for (i, pool) in spec.node_pools.iter().enumerate() {
        let p = path.child("nodePools").index(i);
        let ss_name = elasticsearch_statefulset_name(cluster_name, &pool.name);
        validate_pool_name(&pool.name, &ss_name, &p.child("name"), &mut seen, &mut errs);
        validate_replicas(pool.replicas, &p.child("replicas"), &mut errs);
        if pool.roles.is_empty() {
            errs.push(FieldError::required(
                p.child("roles"),
                "at least one role is required",
            ));
        }
        let mut seen_roles = HashSet::new();
        for (j, role) in pool.roles.iter().enumerate() {
            let rp = p.child("roles").index(j);
            if !ROLES.contains(&role.as_str()) {
                errs.push(FieldError::not_supported(&rp, role, ROLES));
            } else if !seen_roles.insert(role) {
                errs.push(FieldError::duplicate(&rp, role));
            }
        }
        validate_node_selector(
            pool.node_selector.as_ref(),
            &p.child("nodeSelector"),
            &mut errs,
        );
        validate_resources(pool.resources.as_ref(), &p.child("resources"), &mut errs);
        if let Some(persistence) = &pool.persistence {
            validate_persistence(persistence, &p.child("persistence"), &mut errs);
        }
        validate_scheduler_name(&pool.scheduler_name, &p.child("schedulerName"), &mut errs);
    }

    let masters = spec.master_count();
    if masters < 1 {
        errs.push(FieldError::invalid(
            path.child("nodePools"),
            masters,
            "must be at least one master node",
        ));
    }
    if let Some(minimum) = spec.minimum_masters {
        let p = path.child("minimumMasters");
        let needed = quorum(masters);
        if minimum == 0 {
            errs.push(FieldError::invalid(&p, minimum, "cannot be zero"));
        } else if minimum < needed {
            errs.push(FieldError::invalid(
                &p,
                minimum,
                format!("must be a minimum of {needed} to avoid a split brain scenario"),
            ));
        } else if minimum > masters {
            errs.push(FieldError::invalid(
                &p,
                minimum,
                "cannot be greater than the total number of master nodes",
            ));
        }
    }
    errs
}

fn validate_version(
    version: Option<&ElasticsearchVersion>,
    flavor: &str,
    path: &FieldPath,
    errs: &mut ErrorList,
) {
    let Some(version) = version.filter(|v| !v.is_zero()) else {
        errs.push(FieldError::required(path, "must be a semver version"));
        return;
    };
    let Some((lowest, highest)) = supported_majors(flavor) else {
        return; // the flavour itself is reported
    };
    if version.major() < lowest || version.major() > highest || !version.semver().pre.is_empty() {
        errs.push(FieldError::forbidden(
            path,
            format!(
                "{flavor} {version} is not supported. Supported versions are: >= {lowest}.0.0, < {}.0.0, without a pre-release suffix",
                highest + 1
            ),
        ));
    }
}

/// Validates an update of an ElasticsearchCluster: the new spec in full and the metadata checks
/// of [`validate_object_meta_update`] (the registry validates the rest of the metadata), the
/// flavour is immutable, versions only move forward one major at a time, existing pools change only
/// `replicas` and `persistence`, and pools leave only once scaled to zero.
pub fn validate_elasticsearch_cluster_update(
    new: &ElasticsearchCluster,
    old: &ElasticsearchCluster,
) -> ErrorList {
    let mut errs =
        validate_elasticsearch_cluster_spec(new, validate_object_meta_update(&new.metadata));
    let path = FieldPath::new("spec");
    if new.spec.flavor() != old.spec.flavor() {
        errs.push(FieldError::forbidden(
            path.child("flavor"),
            format!(
                "cannot change the flavor of an existing cluster. old flavor: {}, new flavor: {}",
                old.spec.flavor(),
                new.spec.flavor()
            ),
        ));
    }
    if let (Some(n), Some(o)) = (&new.spec.version, &old.spec.version) {
        let vp = path.child("version");
        if n < o {
            errs.push(FieldError::forbidden(
                &vp,
                format!("cannot downgrade an existing cluster. old version: {o}, new version: {n}"),
            ));
        } else if n.major() > o.major() + 1 {
            errs.push(FieldError::forbidden(
                &vp,
                format!(
                    "upgrades must go one major version at a time. old version: {o}, new version: {n}"
                ),
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

/// Validates the status an ElasticsearchCluster's `/status` update writes.
pub fn validate_elasticsearch_cluster_status(obj: &ElasticsearchCluster) -> ErrorList {
    let mut errs = ErrorList::new();
    let path = FieldPath::new("status");
    validate_conditions(&obj.status.conditions, &path.child("conditions"), &mut errs);
    validate_non_negative(
        obj.status.observed_generation,
        &path.child("observedGeneration"),
        &mut errs,
    );
    validate_pool_statuses(&obj.status.node_pools, &path.child("nodePools"), &mut errs);
    if let Some(health) = &obj.status.health
        && !HEALTHS.contains(&health.as_str())
    {
        errs.push(FieldError::not_supported(
            path.child("health"),
            health,
            HEALTHS,
        ));
    }
    errs
}

/// Warnings for an ElasticsearchCluster: fields that are accepted but have no effect.
pub fn elasticsearch_cluster_warnings(obj: &ElasticsearchCluster) -> Vec<String> {
    let mut out = Vec::new();
    let modern = obj.spec.flavor() == FLAVOR_OPENSEARCH
        || obj.spec.version.as_ref().is_some_and(|v| v.major() >= 7);
    if obj.spec.minimum_masters.is_some() && modern {
        out.push(
            "spec.minimumMasters is ignored: Elasticsearch 7 and later and OpenSearch choose the master quorum themselves"
                .to_owned(),
        );
    }
    out
}

impl NodePool for ElasticsearchClusterNodePool {
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
        forbid_pool_field_change(&self.roles, &old.roles, &path.child("roles"), errs);
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
