//! The pilots' identity: ServiceAccount, Role and RoleBinding.

use k8s_openapi::Resource;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use navigator_api::v1beta1::ElasticsearchCluster;

use super::{Owner, hashed};
use crate::elasticsearch::names;

/// The pilots' ServiceAccount `es-<cluster>`.
pub(super) fn service_account(owner: &Owner) -> ServiceAccount {
    hashed(
        ServiceAccount {
            metadata: owner.meta(
                names::service_account(&owner.name),
                names::cluster_labels(&owner.name),
            ),
            ..ServiceAccount::default()
        },
        |o| &mut o.metadata,
    )
}

fn rule(group: &str, resources: &[&str], verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(vec![group.to_owned()]),
        resources: Some(resources.iter().map(|r| (*r).to_owned()).collect()),
        verbs: verbs.iter().map(|v| (*v).to_owned()).collect(),
        ..PolicyRule::default()
    }
}

/// The pilots' Role `es-<cluster>-pilot`: their Pilots and status (the leader lists every
/// Pilot of the cluster), the cluster, the leader Lease, pods/endpoints/services to read
/// (the discovery Service), events to write.
pub(super) fn role(owner: &Owner) -> Role {
    let group = ElasticsearchCluster::GROUP;
    hashed(
        Role {
            metadata: owner.meta(
                names::pilot_role(&owner.name),
                names::cluster_labels(&owner.name),
            ),
            rules: Some(vec![
                rule(
                    group,
                    &["pilots"],
                    &["get", "list", "watch", "patch", "update"],
                ),
                rule(group, &["pilots/status"], &["get", "patch", "update"]),
                rule(group, &["elasticsearchclusters"], &["get", "list", "watch"]),
                rule(
                    "coordination.k8s.io",
                    &["leases"],
                    &["get", "list", "watch", "create", "update", "patch"],
                ),
                rule(
                    "",
                    &["pods", "endpoints", "services"],
                    &["get", "list", "watch"],
                ),
                rule("", &["events"], &["create", "update", "patch"]),
            ]),
        },
        |o| &mut o.metadata,
    )
}

/// The RoleBinding `es-<cluster>-pilot` of the Role to the ServiceAccount.
pub(super) fn role_binding(owner: &Owner) -> RoleBinding {
    hashed(
        RoleBinding {
            metadata: owner.meta(
                names::pilot_role(&owner.name),
                names::cluster_labels(&owner.name),
            ),
            role_ref: RoleRef {
                api_group: Role::GROUP.to_owned(),
                kind: Role::KIND.to_owned(),
                name: names::pilot_role(&owner.name),
            },
            subjects: Some(vec![Subject {
                kind: ServiceAccount::KIND.to_owned(),
                name: names::service_account(&owner.name),
                namespace: owner.namespace.clone(),
                ..Subject::default()
            }]),
        },
        |o| &mut o.metadata,
    )
}
