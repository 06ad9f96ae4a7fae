//! The pilots' identity every kind of cluster gives its pods: a ServiceAccount, a Role and the
//! RoleBinding of one to the other. The kinds differ only in names, labels, the cluster
//! resource the pilots read and whether events are also written through `events.k8s.io`.

use std::collections::BTreeMap;

use k8s_openapi::Resource;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};

use super::{Owner, hashed};

/// What differs between the kinds' pilot identities.
pub(crate) struct PilotIdentity {
    /// The ServiceAccount's name.
    pub service_account: String,
    /// The name of the Role and of the RoleBinding.
    pub role: String,
    /// The labels of all three objects.
    pub labels: BTreeMap<String, String>,
    /// Whether the Role also grants writing `events.k8s.io` events (besides core events).
    pub events_k8s_io: bool,
}

/// The pilots' ServiceAccount.
pub(crate) fn service_account(owner: &Owner, identity: &PilotIdentity) -> ServiceAccount {
    hashed(
        ServiceAccount {
            metadata: owner.meta(identity.service_account.clone(), identity.labels.clone()),
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

/// The pilots' Role: their Pilots and status, the cluster resource `K` to read, leader
/// election leases, pods/endpoints/services to read, events to write.
pub(crate) fn role<K: Resource>(owner: &Owner, identity: &PilotIdentity) -> Role {
    let group = K::GROUP;
    let mut rules = vec![
        rule(
            group,
            &["pilots"],
            &["get", "list", "watch", "patch", "update"],
        ),
        rule(group, &["pilots/status"], &["get", "patch", "update"]),
        rule(group, &[K::URL_PATH_SEGMENT], &["get", "list", "watch"]),
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
    ];
    if identity.events_k8s_io {
        rules.push(rule(
            "events.k8s.io",
            &["events"],
            &["create", "update", "patch"],
        ));
    }
    hashed(
        Role {
            metadata: owner.meta(identity.role.clone(), identity.labels.clone()),
            rules: Some(rules),
        },
        |o| &mut o.metadata,
    )
}

/// The RoleBinding of the Role to the ServiceAccount (named like the Role).
pub(crate) fn role_binding(owner: &Owner, identity: &PilotIdentity) -> RoleBinding {
    hashed(
        RoleBinding {
            metadata: owner.meta(identity.role.clone(), identity.labels.clone()),
            role_ref: RoleRef {
                api_group: Role::GROUP.to_owned(),
                kind: Role::KIND.to_owned(),
                name: identity.role.clone(),
            },
            subjects: Some(vec![Subject {
                kind: ServiceAccount::KIND.to_owned(),
                name: identity.service_account.clone(),
                namespace: owner.namespace.clone(),
                ..Subject::default()
            }]),
        },
        |o| &mut o.metadata,
    )
}
