use super::common::{validate_conditions, validate_non_negative};
use super::metadata::{validate_object_meta, validate_object_meta_update};
use super::names;
use crate::field::{ErrorList, FieldError, FieldPath};
use crate::internal::{HEALTHS, OPERATION_PHASES, PILOT_CLUSTER_KINDS, Pilot, REQUESTED_STATES};

/// Validates a new Pilot.
pub fn validate_pilot(obj: &Pilot) -> ErrorList {
    validate_pilot_spec(obj, validate_object_meta(&obj.metadata))
}

/// The spec rules of a Pilot, appended to the metadata errors `errs`.
fn validate_pilot_spec(obj: &Pilot, mut errs: ErrorList) -> ErrorList {
    let path = FieldPath::new("spec");
    if let Some(cluster) = &obj.spec.cluster {
        let p = path.child("cluster");
        if !PILOT_CLUSTER_KINDS.contains(&cluster.kind.as_str()) {
            errs.push(FieldError::not_supported(
                p.child("kind"),
                &cluster.kind,
                PILOT_CLUSTER_KINDS,
            ));
        }
        if cluster.name.is_empty() {
            errs.push(FieldError::required(p.child("name"), ""));
        } else {
            for msg in names::dns1123_subdomain_errors(&cluster.name) {
                errs.push(FieldError::invalid(p.child("name"), &cluster.name, &msg));
            }
        }
    }
    if let Some(pool) = &obj.spec.node_pool {
        for msg in names::dns1123_label_errors(pool) {
            errs.push(FieldError::invalid(path.child("nodePool"), pool, &msg));
        }
    }
    if let Some(state) = &obj.spec.requested_state
        && !REQUESTED_STATES.contains(&state.as_str())
    {
        errs.push(FieldError::not_supported(
            path.child("requestedState"),
            state,
            REQUESTED_STATES,
        ));
    }
    errs
}

/// Validates an update of a Pilot: the new spec in full and the metadata checks of
/// [`validate_object_meta_update`] (the registry validates the rest of the metadata); the
/// cluster and node pool are immutable once set.
pub fn validate_pilot_update(new: &Pilot, old: &Pilot) -> ErrorList {
    let mut errs = validate_pilot_spec(new, validate_object_meta_update(&new.metadata));
    let path = FieldPath::new("spec");
    if old.spec.cluster.is_some() && new.spec.cluster != old.spec.cluster {
        errs.push(FieldError::forbidden(
            path.child("cluster"),
            "field is immutable once set",
        ));
    }
    if old.spec.node_pool.is_some() && new.spec.node_pool != old.spec.node_pool {
        errs.push(FieldError::forbidden(
            path.child("nodePool"),
            "field is immutable once set",
        ));
    }
    errs
}

/// Validates the status a Pilot's `/status` update writes.
pub fn validate_pilot_status(obj: &Pilot) -> ErrorList {
    let mut errs = ErrorList::new();
    let path = FieldPath::new("status");
    let status = &obj.status;
    validate_conditions(&status.conditions, &path.child("conditions"), &mut errs);
    validate_non_negative(
        status.observed_generation,
        &path.child("observedGeneration"),
        &mut errs,
    );
    if let Some(op) = &status.operation {
        let p = path.child("operation");
        if !REQUESTED_STATES.contains(&op.state.as_str()) {
            errs.push(FieldError::not_supported(
                p.child("state"),
                &op.state,
                REQUESTED_STATES,
            ));
        }
        if !OPERATION_PHASES.contains(&op.phase.as_str()) {
            errs.push(FieldError::not_supported(
                p.child("phase"),
                &op.phase,
                OPERATION_PHASES,
            ));
        }
    }
    if let Some(es) = &status.elasticsearch {
        let p = path.child("elasticsearch");
        validate_non_negative(es.documents, &p.child("documents"), &mut errs);
        validate_non_negative(es.shards, &p.child("shards"), &mut errs);
        for (field, value) in [
            ("relocatingShards", es.relocating_shards),
            ("initializingShards", es.initializing_shards),
            ("unassignedShards", es.unassigned_shards),
        ] {
            validate_non_negative(value.map(i64::from), &p.child(field), &mut errs);
        }
        if let Some(health) = &es.cluster_health
            && !HEALTHS.contains(&health.as_str())
        {
            errs.push(FieldError::not_supported(
                p.child("clusterHealth"),
                health,
                HEALTHS,
            ));
        }
    }
    if let Some(c) = &status.cassandra {
        let p = path.child("cassandra");
        validate_non_negative(c.tokens.map(i64::from), &p.child("tokens"), &mut errs);
        validate_non_negative(c.load_bytes, &p.child("loadBytes"), &mut errs);
    }
    errs
}
