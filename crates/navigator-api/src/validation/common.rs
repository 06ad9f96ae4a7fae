//! Rules shared by the cluster kinds and pilots.

use std::collections::{BTreeMap, HashSet};

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use apimachinery_core::object_meta::validate_labels;
use apimachinery_core::quote::go_quote;

use super::names;
use crate::field::{ErrorList, FieldError, FieldPath};
use crate::internal::{
    CONDITION_STATUSES, ClusterConfig, Condition, ImageSpec, NodePoolStatus, PULL_POLICIES,
    PersistenceConfig, PodDisruptionBudgetConfig,
};
use crate::quantity::parse_quantity;

/// Longest StatefulSet name: its pods carry a `controller-revision-hash` label of the name plus
/// an 11-character suffix, and label values are at most 63 characters.
pub(crate) const STATEFULSET_NAME_MAX: usize = 52;

pub(crate) fn validate_image(image: &ImageSpec, path: &FieldPath, errs: &mut ErrorList) {
    if image.repository.is_empty() {
        errs.push(FieldError::required(path.child("repository"), ""));
    }
    if image.tag.is_empty() {
        errs.push(FieldError::required(path.child("tag"), ""));
    }
    if image.pull_policy.is_empty() {
        errs.push(FieldError::required(path.child("pullPolicy"), ""));
    } else if !PULL_POLICIES.contains(&image.pull_policy.as_str()) {
        errs.push(FieldError::not_supported(
            path.child("pullPolicy"),
            &image.pull_policy,
            PULL_POLICIES,
        ));
    }
}

pub(crate) fn validate_cluster_config(
    config: &ClusterConfig,
    spec: &FieldPath,
    errs: &mut ErrorList,
) {
    validate_image(&config.pilot_image, &spec.child("pilotImage"), errs);
    if let Some(uid) = config.security_context.run_as_user
        && uid < 0
    {
        errs.push(FieldError::invalid(
            spec.child("securityContext").child("runAsUser"),
            uid,
            "must be greater than or equal to 0",
        ));
    }
    if let Some(pdb) = &config.pod_disruption_budget {
        validate_pdb(pdb, &spec.child("podDisruptionBudget"), errs);
    }
}

fn validate_pdb(pdb: &PodDisruptionBudgetConfig, path: &FieldPath, errs: &mut ErrorList) {
    if pdb.max_unavailable.is_some() && pdb.min_available.is_some() {
        errs.push(FieldError::invalid(
            path.child("minAvailable"),
            "both set",
            "minAvailable and maxUnavailable cannot both be set",
        ));
    }
    for (field, value) in [
        ("maxUnavailable", &pdb.max_unavailable),
        ("minAvailable", &pdb.min_available),
    ] {
        if let Some(value) = value {
            validate_int_or_percent(value, &path.child(field), errs);
        }
    }
}

fn validate_int_or_percent(value: &IntOrString, path: &FieldPath, errs: &mut ErrorList) {
    match value {
        IntOrString::Int(n) if *n < 0 => {
            errs.push(FieldError::invalid(
                path,
                n,
                "must be greater than or equal to 0",
            ));
        }
        IntOrString::Int(_) => {}
        IntOrString::String(s) => {
            let percent = s.strip_suffix('%').and_then(|n| n.parse::<u32>().ok());
            match percent {
                None => errs.push(FieldError::invalid(
                    path,
                    s,
                    "must be an integer or percentage (e.g '5%')",
                )),
                Some(p) if p > 100 => {
                    errs.push(FieldError::invalid(
                        path,
                        s,
                        "must not be greater than 100%",
                    ));
                }
                Some(_) => {}
            }
        }
    }
}

pub(crate) fn validate_replicas(replicas: Option<i32>, path: &FieldPath, errs: &mut ErrorList) {
    if let Some(n) = replicas
        && n < 0
    {
        errs.push(FieldError::invalid(
            path,
            n,
            "must be greater than or equal to 0",
        ));
    }
}

pub(crate) fn validate_persistence(p: &PersistenceConfig, path: &FieldPath, errs: &mut ErrorList) {
    let size_path = path.child("size");
    match parse_quantity(&p.size.0) {
        Err(e) => errs.push(FieldError::invalid(&size_path, &p.size.0, e.to_string())),
        Ok(q) if q.zero => errs.push(FieldError::required(
            &size_path,
            "must be greater than zero",
        )),
        Ok(q) if q.negative => errs.push(FieldError::invalid(
            &size_path,
            &p.size.0,
            "must be greater than zero",
        )),
        Ok(_) => {}
    }
    if let Some(class) = &p.storage_class {
        for msg in names::dns1123_subdomain_errors(class) {
            errs.push(FieldError::invalid(path.child("storageClass"), class, &msg));
        }
    }
}

pub(crate) fn validate_node_selector(
    selector: Option<&BTreeMap<String, String>>,
    path: &FieldPath,
    errs: &mut ErrorList,
) {
    errs.extend(validate_labels(selector, path.as_str()));
}

pub(crate) fn validate_scheduler_name(name: &str, path: &FieldPath, errs: &mut ErrorList) {
    if !name.is_empty() {
        for msg in names::dns1123_subdomain_errors(name) {
            errs.push(FieldError::invalid(path, name, &msg));
        }
    }
}

/// Resource names must be qualified names, quantities well formed and non-negative, and each
/// request no greater than its limit.
pub(crate) fn validate_resources(
    resources: Option<&ResourceRequirements>,
    path: &FieldPath,
    errs: &mut ErrorList,
) {
    let Some(resources) = resources else {
        return;
    };
    let mut parsed = |field: &str,
                      list: Option<
        &BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
    >| {
        let mut out = BTreeMap::new();
        for (name, quantity) in list.into_iter().flatten() {
            let p = path.child(field).key(name);
            for msg in names::label_key_errors(name) {
                errs.push(FieldError::invalid(&p, name, &msg));
            }
            match parse_quantity(&quantity.0) {
                Err(e) => errs.push(FieldError::invalid(&p, &quantity.0, e.to_string())),
                Ok(q) if q.negative => {
                    errs.push(FieldError::invalid(
                        &p,
                        &quantity.0,
                        "must be greater than or equal to 0",
                    ));
                }
                Ok(q) => {
                    out.insert(name.clone(), (quantity.0.clone(), q.approx));
                }
            }
        }
        out
    };
    let limits = parsed("limits", resources.limits.as_ref());
    let requests = parsed("requests", resources.requests.as_ref());
    for (name, (text, value)) in &requests {
        if let Some((limit_text, limit)) = limits.get(name)
            && value > limit
        {
            errs.push(FieldError::invalid(
                path.child("requests").key(name),
                text,
                format!("must be less than or equal to {name} limit of {limit_text}"),
            ));
        }
    }
}

/// A pool name: required, a DNS-1123 label, unique, and short enough that the StatefulSet
/// name `<prefix>-<cluster>-<pool>` is valid.
pub(crate) fn validate_pool_name(
    name: &str,
    statefulset_name: &str,
    path: &FieldPath,
    seen: &mut HashSet<String>,
    errs: &mut ErrorList,
) {
    if name.is_empty() {
        errs.push(FieldError::required(path, ""));
        return;
    }
    for msg in names::dns1123_label_errors(name) {
        errs.push(FieldError::invalid(path, name, &msg));
    }
    if statefulset_name.len() > STATEFULSET_NAME_MAX {
        errs.push(FieldError::invalid(
            path,
            name,
            format!(
                "the node pool's StatefulSet name {} would be {} characters; cluster and pool names together must leave it no more than {STATEFULSET_NAME_MAX}",
                go_quote(statefulset_name),
                statefulset_name.len()
            ),
        ));
    }
    if !seen.insert(name.to_owned()) {
        errs.push(FieldError::duplicate(path, name));
    }
}

pub(crate) fn validate_conditions(
    conditions: &[Condition],
    path: &FieldPath,
    errs: &mut ErrorList,
) {
    let mut seen = HashSet::new();
    for (i, c) in conditions.iter().enumerate() {
        let p = path.index(i);
        if c.type_.is_empty() {
            errs.push(FieldError::required(p.child("type"), ""));
        } else if !seen.insert(c.type_.as_str()) {
            errs.push(FieldError::duplicate(p.child("type"), &c.type_));
        }
        if !CONDITION_STATUSES.contains(&c.status.as_str()) {
            errs.push(FieldError::not_supported(
                p.child("status"),
                &c.status,
                CONDITION_STATUSES,
            ));
        }
        if let Some(g) = c.observed_generation
            && g < 0
        {
            errs.push(FieldError::invalid(
                p.child("observedGeneration"),
                g,
                "must be greater than or equal to 0",
            ));
        }
    }
}

pub(crate) fn validate_non_negative(value: Option<i64>, path: &FieldPath, errs: &mut ErrorList) {
    if let Some(v) = value
        && v < 0
    {
        errs.push(FieldError::invalid(
            path,
            v,
            "must be greater than or equal to 0",
        ));
    }
}

pub(crate) fn validate_pool_statuses(
    pools: &BTreeMap<String, NodePoolStatus>,
    path: &FieldPath,
    errs: &mut ErrorList,
) {
    for (name, status) in pools {
        let p = path.key(name);
        validate_non_negative(
            Some(i64::from(status.ready_replicas)),
            &p.child("readyReplicas"),
            errs,
        );
        validate_non_negative(status.replicas.map(i64::from), &p.child("replicas"), errs);
        validate_non_negative(
            status.updated_replicas.map(i64::from),
            &p.child("updatedReplicas"),
            errs,
        );
    }
}

/// A node pool as the update rules see it: a name, a replica count, a persistence setting, and
/// the fields that may not change once the pool exists.
pub(crate) trait NodePool {
    fn name(&self) -> &str;
    fn replicas(&self) -> Option<i32>;
    fn persistence(&self) -> Option<&PersistenceConfig>;
    /// Reports each immutable field of `self` that differs from `old`, under `path`.
    fn forbid_immutable_changes(&self, old: &Self, path: &FieldPath, errs: &mut ErrorList);
}

/// The update rules every kind's node pools follow: an existing pool (matched by name) changes
/// only `replicas` and `persistence`; persistence may be set once, then never changed; a pool
/// leaves the spec only once scaled to zero, so its nodes were drained or decommissioned first.
pub(crate) fn validate_pool_updates<P: NodePool>(
    new: &[P],
    old: &[P],
    path: &FieldPath,
    errs: &mut ErrorList,
) {
    for (i, pool) in new.iter().enumerate() {
        let Some(prev) = old.iter().find(|o| o.name() == pool.name()) else {
            continue;
        };
        let p = path.index(i);
        pool.forbid_immutable_changes(prev, &p, errs);
        if prev.persistence().is_some() && pool.persistence() != prev.persistence() {
            errs.push(FieldError::forbidden(
                p.child("persistence"),
                "cannot modify persistence configuration once enabled",
            ));
        }
    }
    for prev in old {
        let replicas = prev.replicas().unwrap_or(1);
        if replicas > 0 && !new.iter().any(|p| p.name() == prev.name()) {
            errs.push(FieldError::forbidden(
                path,
                format!(
                    "node pool {} has {replicas} replicas: scale it to 0 (so its nodes are drained safely) before removing it",
                    go_quote(prev.name())
                ),
            ));
        }
    }
}

/// An immutable pool field changed.
pub(crate) fn forbid_pool_field_change<T: PartialEq>(
    new: &T,
    old: &T,
    path: &FieldPath,
    errs: &mut ErrorList,
) {
    if new != old {
        errs.push(FieldError::forbidden(
            path,
            "updates to nodepool for fields other than 'replicas' and 'persistence' are forbidden",
        ));
    }
}
