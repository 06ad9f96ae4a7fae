//! Carries out one planned action against the API: server-side apply of desired objects (one
//! field manager, forced), merge patches of a pod's seed label and a Pilot's requested state,
//! and deletes (an object already gone counts as deleted). Nothing here decides anything.

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::{Api, Client, Resource};
use navigator_api::pilot_contract::CASSANDRA_SEED_LABEL;
use navigator_api::v1beta1::Pilot;
use navigator_core::children::DesiredChild;
use navigator_core::observe::ChildKind;
use navigator_core::plan::Action;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::expectations::{Kind, Written};

/// The field manager of every object the controller applies.
pub const FIELD_MANAGER: &str = "navigator-controller";

/// The requested state that asks a pilot to decommission its node.
pub const DECOMMISSIONED: &str = "Decommissioned";
/// The requested state that asks a pilot to keep its node running.
pub const RUNNING: &str = "Running";

/// An API call of an action failed.
#[derive(Debug, thiserror::Error)]
#[error("{verb} {kind} {name}: {source}")]
pub struct ExecuteError {
    /// What was done: `apply`, `patch`, `delete`.
    pub verb: &'static str,
    /// The object's kind.
    pub kind: &'static str,
    /// The object's name.
    pub name: String,
    /// The API error.
    #[source]
    pub source: kube::Error,
}

/// Carries out `action` in `namespace`. `Wait` and `Idle` do nothing. Returns the write the
/// caches must show before the cluster is planned again (none for the shared children: their
/// re-application is harmless).
pub async fn execute(
    client: &Client,
    namespace: &str,
    action: &Action,
) -> Result<Option<Written>, ExecuteError> {
    let updated = |kind, name: String, resource_version: Option<String>| {
        resource_version.map(|resource_version| Written::Updated {
            kind,
            name,
            resource_version,
        })
    };
    let written = match action {
        Action::ApplyChildren(children) => {
            // Independent objects are applied at once, in two waves: RoleBindings after the
            // rest, because kube-apiserver checks a binding against the rules of the Role it
            // names (a controller that is not cluster-admin gets NotFound for a binding whose
            // Role does not exist yet). Every write of a wave runs to its end (none is dropped
            // half-sent when another fails); the first error is reported.
            let (bindings, others): (Vec<_>, Vec<_>) = children
                .iter()
                .partition(|c| matches!(c, DesiredChild::RoleBinding(_)));
            for wave in [others, bindings] {
                let results = futures::future::join_all(wave.into_iter().map(|child| async move {
                    match child {
                        DesiredChild::ServiceAccount(o) => {
                            apply::<ServiceAccount>(client, namespace, o).await
                        }
                        DesiredChild::Role(o) => apply::<Role>(client, namespace, o).await,
                        DesiredChild::RoleBinding(o) => {
                            apply::<RoleBinding>(client, namespace, o).await
                        }
                        DesiredChild::Service(o) => apply::<Service>(client, namespace, o).await,
                        DesiredChild::PodDisruptionBudget(o) => {
                            apply::<PodDisruptionBudget>(client, namespace, o).await
                        }
                        DesiredChild::ConfigMap(o) => {
                            apply::<ConfigMap>(client, namespace, o).await
                        }
                    }
                }))
                .await;
                for result in results {
                    result?;
                }
            }
            None
        }
        Action::CreatePilot(pilot) => {
            let (name, rv) = apply::<Pilot>(client, namespace, pilot).await?;
            updated(Kind::Pilot, name, rv)
        }
        Action::CreateNodePool { statefulset, .. }
        | Action::ScaleOut { statefulset, .. }
        | Action::ScaleIn { statefulset, .. }
        | Action::UpdatePodTemplate { statefulset, .. }
        | Action::RollNextPod { statefulset, .. } => {
            let (name, rv) = apply::<StatefulSet>(client, namespace, statefulset).await?;
            updated(Kind::StatefulSet, name, rv)
        }
        Action::SetSeedLabel { pod, seed } => {
            let value = if *seed { json!("true") } else { json!(null) };
            let patch = json!({"metadata": {"labels": {CASSANDRA_SEED_LABEL: value}}});
            let rv = merge::<Pod>(client, namespace, pod, &patch).await?;
            updated(Kind::Pod, pod.clone(), rv)
        }
        Action::RequestDecommission { pilot } => {
            let patch = json!({"spec": {"requestedState": DECOMMISSIONED}});
            let rv = merge::<Pilot>(client, namespace, pilot, &patch).await?;
            updated(Kind::Pilot, pilot.clone(), rv)
        }
        Action::CancelDecommission { pilot } => {
            let patch = json!({"spec": {"requestedState": RUNNING}});
            let rv = merge::<Pilot>(client, namespace, pilot, &patch).await?;
            updated(Kind::Pilot, pilot.clone(), rv)
        }
        Action::DeleteClaim { claim } => {
            delete::<PersistentVolumeClaim>(client, namespace, claim).await?;
            Some(Written::Deleted {
                kind: Kind::Claim,
                name: claim.clone(),
            })
        }
        Action::DeletePilot { pilot } => {
            delete::<Pilot>(client, namespace, pilot).await?;
            Some(Written::Deleted {
                kind: Kind::Pilot,
                name: pilot.clone(),
            })
        }
        Action::DeleteNodePool { statefulset, .. } => {
            delete::<StatefulSet>(client, namespace, statefulset).await?;
            Some(Written::Deleted {
                kind: Kind::StatefulSet,
                name: statefulset.clone(),
            })
        }
        Action::DeleteChildren(children) => {
            futures::future::try_join_all(children.iter().map(|child| async move {
                let name = child.name.as_str();
                match child.kind {
                    ChildKind::ServiceAccount => {
                        delete::<ServiceAccount>(client, namespace, name).await
                    }
                    ChildKind::Role => delete::<Role>(client, namespace, name).await,
                    ChildKind::RoleBinding => delete::<RoleBinding>(client, namespace, name).await,
                    ChildKind::Service => delete::<Service>(client, namespace, name).await,
                    ChildKind::PodDisruptionBudget => {
                        delete::<PodDisruptionBudget>(client, namespace, name).await
                    }
                    ChildKind::ConfigMap => delete::<ConfigMap>(client, namespace, name).await,
                }
            }))
            .await?;
            None
        }
        Action::Wait(_) | Action::Idle => None,
    };
    Ok(written)
}

fn api<K>(client: &Client, namespace: &str) -> Api<K>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>,
{
    Api::namespaced(client.clone(), namespace)
}

/// Server-side apply; the object's name and the resourceVersion of the answer.
async fn apply<K>(
    client: &Client,
    namespace: &str,
    object: &K,
) -> Result<(String, Option<String>), ExecuteError>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Serialize
        + DeserializeOwned
        + Clone
        + std::fmt::Debug,
{
    let name = object.meta().name.clone().unwrap_or_default();
    let params = PatchParams::apply(FIELD_MANAGER).force();
    match api::<K>(client, namespace)
        .patch(&name, &params, &Patch::Apply(object))
        .await
    {
        Ok(answer) => Ok((name, answer.meta().resource_version.clone())),
        Err(source) => Err(ExecuteError {
            verb: "apply",
            kind: kind::<K>(),
            name,
            source,
        }),
    }
}

/// A JSON merge patch; the resourceVersion of the answer.
async fn merge<K>(
    client: &Client,
    namespace: &str,
    name: &str,
    patch: &serde_json::Value,
) -> Result<Option<String>, ExecuteError>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + DeserializeOwned
        + Clone
        + std::fmt::Debug,
{
    api::<K>(client, namespace)
        .patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .map(|answer| answer.meta().resource_version.clone())
        .map_err(|source| ExecuteError {
            verb: "patch",
            kind: kind::<K>(),
            name: name.to_owned(),
            source,
        })
}

async fn delete<K>(client: &Client, namespace: &str, name: &str) -> Result<(), ExecuteError>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + DeserializeOwned
        + Clone
        + std::fmt::Debug,
{
    match api::<K>(client, namespace)
        .delete(name, &DeleteParams::default())
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(source) => Err(ExecuteError {
            verb: "delete",
            kind: kind::<K>(),
            name: name.to_owned(),
            source,
        }),
    }
}

fn kind<K: Resource<DynamicType = ()>>() -> &'static str {
    // The kinds used here are static strings in their types; `kind(&())` borrows one.
    match K::kind(&()) {
        std::borrow::Cow::Borrowed(k) => k,
        std::borrow::Cow::Owned(_) => "object",
    }
}
