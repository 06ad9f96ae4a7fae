//! Carries out one planned action against the API: server-side apply of desired objects (one
//! field manager, forced), merge patches of a pod's seed label and a Pilot's requested state,
//! and deletes (an object already gone counts as deleted). Nothing here decides anything.

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::{Api, Client, Resource};
use navigator_api::pilot_contract::CASSANDRA_SEED_LABEL;
use navigator_api::v1beta1::Pilot;
use navigator_core::cassandra::children::DesiredChild;
use navigator_core::cassandra::plan::Action;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

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

/// Carries out `action` in `namespace`. `Wait` and `Idle` do nothing.
pub async fn execute(
    client: &Client,
    namespace: &str,
    action: &Action,
) -> Result<(), ExecuteError> {
    match action {
        Action::ApplyChildren(children) => {
            for child in children {
                match child {
                    DesiredChild::ServiceAccount(o) => {
                        apply::<ServiceAccount>(client, namespace, o).await?
                    }
                    DesiredChild::Role(o) => apply::<Role>(client, namespace, o).await?,
                    DesiredChild::RoleBinding(o) => {
                        apply::<RoleBinding>(client, namespace, o).await?
                    }
                    DesiredChild::Service(o) => apply::<Service>(client, namespace, o).await?,
                    DesiredChild::PodDisruptionBudget(o) => {
                        apply::<PodDisruptionBudget>(client, namespace, o).await?
                    }
                }
            }
            Ok(())
        }
        Action::CreatePilot(pilot) => apply::<Pilot>(client, namespace, pilot).await,
        Action::CreateNodePool { statefulset, .. }
        | Action::ScaleOut { statefulset, .. }
        | Action::ScaleIn { statefulset, .. }
        | Action::UpdatePodTemplate { statefulset, .. }
        | Action::RollNextPod { statefulset, .. } => {
            apply::<StatefulSet>(client, namespace, statefulset).await
        }
        Action::SetSeedLabel { pod, seed } => {
            let value = if *seed { json!("true") } else { json!(null) };
            let patch = json!({"metadata": {"labels": {CASSANDRA_SEED_LABEL: value}}});
            merge::<Pod>(client, namespace, pod, &patch).await
        }
        Action::RequestDecommission { pilot } => {
            let patch = json!({"spec": {"requestedState": DECOMMISSIONED}});
            merge::<Pilot>(client, namespace, pilot, &patch).await
        }
        Action::CancelDecommission { pilot } => {
            let patch = json!({"spec": {"requestedState": RUNNING}});
            merge::<Pilot>(client, namespace, pilot, &patch).await
        }
        Action::DeleteClaim { claim } => {
            delete::<PersistentVolumeClaim>(client, namespace, claim).await
        }
        Action::DeletePilot { pilot } => delete::<Pilot>(client, namespace, pilot).await,
        Action::Wait(_) | Action::Idle => Ok(()),
    }
}

fn api<K>(client: &Client, namespace: &str) -> Api<K>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>,
{
    Api::namespaced(client.clone(), namespace)
}

async fn apply<K>(client: &Client, namespace: &str, object: &K) -> Result<(), ExecuteError>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Serialize
        + DeserializeOwned
        + Clone
        + std::fmt::Debug,
{
    let name = object.meta().name.clone().unwrap_or_default();
    let params = PatchParams::apply(FIELD_MANAGER).force();
    api::<K>(client, namespace)
        .patch(&name, &params, &Patch::Apply(object))
        .await
        .map(|_| ())
        .map_err(|source| ExecuteError {
            verb: "apply",
            kind: kind::<K>(),
            name,
            source,
        })
}

async fn merge<K>(
    client: &Client,
    namespace: &str,
    name: &str,
    patch: &serde_json::Value,
) -> Result<(), ExecuteError>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + DeserializeOwned
        + Clone
        + std::fmt::Debug,
{
    api::<K>(client, namespace)
        .patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .map(|_| ())
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
