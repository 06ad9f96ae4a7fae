//! The pilots' identity: ServiceAccount, Role and RoleBinding (built by [`crate::children::rbac`]).

use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use navigator_api::v1beta1::CassandraCluster;

use super::Owner;
use crate::cassandra::names;
use crate::children::rbac::{self, PilotIdentity};

fn identity(owner: &Owner) -> PilotIdentity {
    PilotIdentity {
        service_account: names::service_account(&owner.name),
        role: names::pilot_role(&owner.name),
        labels: names::cluster_labels(&owner.name),
        events_k8s_io: true,
    }
}

/// The pilots' ServiceAccount `cass-<cluster>`.
pub(super) fn service_account(owner: &Owner) -> ServiceAccount {
    rbac::service_account(owner, &identity(owner))
}

/// The pilots' Role `cass-<cluster>-pilot`.
pub(super) fn role(owner: &Owner) -> Role {
    rbac::role::<CassandraCluster>(owner, &identity(owner))
}

/// The RoleBinding `cass-<cluster>-pilot` of the Role to the ServiceAccount.
pub(super) fn role_binding(owner: &Owner) -> RoleBinding {
    rbac::role_binding(owner, &identity(owner))
}
