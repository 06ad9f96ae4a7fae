//! Rules 1–4: pause, an invalid spec, the shared children, and the seed labels.

use std::collections::BTreeSet;

use navigator_api::pilot_contract::CASSANDRA_SEED_LABEL;

use super::facts::{self, PoolObjects};
use super::{Action, Ctx, WaitReason};
use crate::cassandra::children::{self, DesiredChild};

/// The spec-hash annotation a desired shared child carries.
fn desired_hash(child: &DesiredChild) -> Option<&str> {
    facts::annotation_hash(child.metadata())
}

/// Rules 1–4, or `None` when none applies.
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
            children::statefulset(ctx.cluster, pool, 1, 0, ctx.settings)?;
            children::pilot(ctx.cluster, &pool.name, 0)?;
        }
        Ok(shared)
    });
    let shared = match built {
        Ok(shared) => shared,
        Err(e) => {
            return Some(ctx.wait_cluster(
                WaitReason::InvalidSpec,
                format!("the spec cannot be turned into children: {e}"),
            ));
        }
    };
    // 2. ... nor a 4.x version over nodes that left CASSANDRA_4.
    if let Some(why) = super::storage::downgrade_refused(ctx.cluster, ctx.observed) {
        return Some(ctx.wait_cluster(WaitReason::InvalidSpec, why));
    }
    // 3. Shared children missing or changed.
    let stale: Vec<DesiredChild> = shared
        .into_iter()
        .filter(|child| match ctx.observed.others.get(&child.child_ref()) {
            None => true,
            Some(seen) => seen.as_deref() != desired_hash(child),
        })
        .collect();
    if !stale.is_empty() {
        return Some(Action::ApplyChildren(stale));
    }
    // 4. Seed labels.
    seed_labels(ctx)
}

/// Rule 4: the first wrong seed label (pools in spec order, ordinals ascending, then pods of
/// no pool by name). Pods being deleted are left alone.
fn seed_labels(ctx: &Ctx<'_>) -> Option<Action> {
    let mut pool_pods = BTreeSet::new();
    for pool in &ctx.cluster.spec.node_pools {
        let objects = PoolObjects::of(ctx.name, &pool.name, ctx.observed);
        for (k, pod) in objects.pods() {
            let name = objects.pod_name(k);
            pool_pods.insert(name.clone());
            if pod.metadata.deletion_timestamp.is_some() {
                continue;
            }
            let label = is_seed(pod);
            if k == 0 && label != Some("true") {
                return Some(Action::SetSeedLabel {
                    pod: name,
                    seed: true,
                });
            }
            if k != 0 && label.is_some() {
                return Some(Action::SetSeedLabel {
                    pod: name,
                    seed: false,
                });
            }
        }
    }
    let mut others: Vec<_> = ctx
        .observed
        .pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter_map(|p| p.metadata.name.as_ref().map(|n| (n, p)))
        .filter(|(n, p)| !pool_pods.contains(*n) && is_seed(p).is_some())
        .collect();
    others.sort_by(|a, b| a.0.cmp(b.0));
    others.first().map(|(n, _)| Action::SetSeedLabel {
        pod: (*n).clone(),
        seed: false,
    })
}

/// The seed label's value on `pod`, if it carries the label.
fn is_seed(pod: &k8s_openapi::api::core::v1::Pod) -> Option<&str> {
    pod.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(CASSANDRA_SEED_LABEL))
        .map(String::as_str)
}
