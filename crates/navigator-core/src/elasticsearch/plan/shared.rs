//! Rules 1–3: pause, an invalid spec, the shared children (applied, and deleted when no
//! longer wanted).

use std::collections::BTreeSet;

use super::facts;
use super::{Action, Ctx, WaitReason};
use crate::elasticsearch::children::{self, DesiredChild};
use crate::elasticsearch::names;
use crate::observe::{ChildKind, ChildRef};

/// Rules 1–3, or `None` when none applies.
pub(super) fn plan_shared(ctx: &Ctx<'_>) -> Option<Action> {
    // 1. Paused: no action at all.
    if ctx.cluster.spec.paused {
        return Some(ctx.wait_cluster(
            WaitReason::ClusterPaused,
            "spec.paused is true: the controller takes no action".to_owned(),
        ));
    }
    // 2. Every builder must accept the spec before anything is created.
    let built = children::shared_children(ctx.cluster, ctx.settings).and_then(|shared| {
        for pool in &ctx.cluster.spec.node_pools {
            children::statefulset(
                ctx.cluster,
                pool,
                facts::desired_replicas(pool),
                0,
                ctx.settings,
            )?;
            children::pilot(ctx.cluster, pool, 0)?;
        }
        Ok(shared)
    });
    let shared = match built {
        Ok(shared) => shared,
        Err(e) => return Some(ctx.invalid(&e)),
    };
    // 3. Shared children missing or changed, in creation order.
    let desired: BTreeSet<ChildRef> = shared.iter().map(DesiredChild::child_ref).collect();
    let stale: Vec<DesiredChild> = shared
        .into_iter()
        .filter(|child| match ctx.observed.others.get(&child.child_ref()) {
            None => true,
            Some(seen) => seen.as_deref() != facts::annotation_hash(child.metadata()),
        })
        .collect();
    if !stale.is_empty() {
        return Some(Action::ApplyChildren(stale));
    }
    // 3. Children no longer wanted; the configuration of a pool whose StatefulSet still
    //    exists stays (its pods read it when they restart).
    let kept: BTreeSet<String> = ctx
        .observed
        .statefulsets
        .iter()
        .filter_map(|s| s.metadata.name.as_deref())
        .map(|s| format!("{s}-config"))
        .collect();
    let unwanted: Vec<ChildRef> = ctx
        .observed
        .others
        .keys()
        .filter(|r| !desired.contains(*r))
        .filter(|r| !(r.kind == ChildKind::ConfigMap && kept.contains(&r.name)))
        .filter(|r| owned_name(ctx.name, r))
        .cloned()
        .collect();
    if !unwanted.is_empty() {
        return Some(Action::DeleteChildren(unwanted));
    }
    None
}

/// Whether `child` carries one of the names this cluster's builders give: only those are ever
/// deleted (an object someone labelled like the cluster's is left alone).
fn owned_name(cluster: &str, child: &ChildRef) -> bool {
    match child.kind {
        ChildKind::ServiceAccount => child.name == names::service_account(cluster),
        ChildKind::Role | ChildKind::RoleBinding => child.name == names::pilot_role(cluster),
        ChildKind::Service => {
            child.name == names::discovery_service(cluster)
                || child.name == names::client_service(cluster)
        }
        ChildKind::PodDisruptionBudget => child.name == names::pod_disruption_budget(cluster),
        ChildKind::ConfigMap => child
            .name
            .strip_prefix(&format!("es-{cluster}-"))
            .and_then(|rest| rest.strip_suffix("-config"))
            .is_some_and(|pool| !pool.is_empty()),
    }
}
