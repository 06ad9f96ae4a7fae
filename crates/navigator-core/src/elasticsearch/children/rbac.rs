//! The pilots' identity: ServiceAccount, Role and RoleBinding (built by [`crate::children::rbac`]).

use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use navigator_api::v1beta1::ElasticsearchCluster;

use super::Owner;
use crate::children::rbac::{self, PilotIdentity};
use crate::elasticsearch::names;

fn identity(owner: &Owner) -> PilotIdentity {
    PilotIdentity {
        service_account: names::service_account(&owner.name),
        role: names::pilot_role(&owner.name),
        labels: names::cluster_labels(&owner.name),
        events_k8s_io: false,
    }
}

/// The pilots' ServiceAccount `es-<cluster>`.
pub(super) fn service_account(owner: &Owner) -> ServiceAccount {
    rbac::service_account(owner, &identity(owner))
}

/// The pilots' Role `es-<cluster>-pilot`: their Pilots and status (the leader lists every
/// Pilot of the cluster), the cluster, the leader Lease, pods/endpoints/services to read
/// (the discovery Service), events to write.
pub(super) fn role(owner: &Owner) -> Role {
    rbac::role::<ElasticsearchCluster>(owner, &identity(owner))
}

/// The RoleBinding `es-<cluster>-pilot` of the Role to the ServiceAccount.
pub(super) fn role_binding(owner: &Owner) -> RoleBinding {
    rbac::role_binding(owner, &identity(owner))
}
