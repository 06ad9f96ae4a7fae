//! What the caches keep of each object: only what the planner and the status read. Every
//! object loses its `managedFields` and the `kubectl.kubernetes.io/last-applied-configuration`
//! annotation; StatefulSets keep replicas, update strategy and selector but not their pod and
//! claim templates; Pods and claims keep no spec (the planner reads their metadata — labels,
//! spec-hash, deletion — and Pods' status); ServiceAccounts, Roles, RoleBindings, Services and
//! PDBs are watched as metadata only (`PartialObjectMeta`, see `stores::reflected`). Pilots and
//! CassandraClusters keep spec and status. With 1,000 clusters most of the controller's memory was these fields.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::core::PartialObjectMeta;
use navigator_api::v1beta1::{CassandraCluster, ElasticsearchCluster, Pilot};

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Drops what no decision reads from a cached object of this kind.
pub trait Strip {
    /// Drops the unread fields in place.
    fn strip(&mut self);
}

fn strip_meta(meta: &mut ObjectMeta) {
    meta.managed_fields = None;
    if let Some(a) = meta.annotations.as_mut() {
        a.remove(LAST_APPLIED);
    }
}

impl Strip for StatefulSet {
    fn strip(&mut self) {
        strip_meta(&mut self.metadata);
        if let Some(spec) = self.spec.as_mut() {
            spec.template = PodTemplateSpec::default();
            spec.volume_claim_templates = None;
        }
    }
}

impl Strip for Pod {
    fn strip(&mut self) {
        strip_meta(&mut self.metadata);
        self.spec = None;
    }
}

impl Strip for PersistentVolumeClaim {
    fn strip(&mut self) {
        strip_meta(&mut self.metadata);
        self.spec = None;
    }
}

impl<K> Strip for PartialObjectMeta<K> {
    fn strip(&mut self) {
        strip_meta(&mut self.metadata);
    }
}

impl Strip for Pilot {
    fn strip(&mut self) {
        strip_meta(&mut self.metadata);
    }
}

impl Strip for CassandraCluster {
    fn strip(&mut self) {
        strip_meta(&mut self.metadata);
    }
}

impl Strip for ElasticsearchCluster {
    fn strip(&mut self) {
        strip_meta(&mut self.metadata);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::api::apps::v1::{
        RollingUpdateStatefulSetStrategy, StatefulSetSpec, StatefulSetStatus,
        StatefulSetUpdateStrategy,
    };
    use k8s_openapi::api::core::v1::{PodSpec, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;

    use super::*;

    fn meta() -> ObjectMeta {
        ObjectMeta {
            name: Some("cass-demo-a-0".into()),
            labels: Some(BTreeMap::from([("app".into(), "cassandracluster".into())])),
            annotations: Some(BTreeMap::from([
                (LAST_APPLIED.into(), "{…}".into()),
                ("navigator.jetstack.io/spec-hash".into(), "abc".into()),
            ])),
            managed_fields: Some(vec![ManagedFieldsEntry::default()]),
            resource_version: Some("42".into()),
            ..ObjectMeta::default()
        }
    }

    fn kept_meta() -> ObjectMeta {
        ObjectMeta {
            annotations: Some(BTreeMap::from([(
                "navigator.jetstack.io/spec-hash".into(),
                "abc".into(),
            )])),
            managed_fields: None,
            ..meta()
        }
    }

    #[test]
    fn a_statefulset_keeps_what_the_planner_reads() {
        let mut sts = StatefulSet {
            metadata: meta(),
            spec: Some(StatefulSetSpec {
                replicas: Some(3),
                update_strategy: Some(StatefulSetUpdateStrategy {
                    rolling_update: Some(RollingUpdateStatefulSetStrategy {
                        partition: Some(2),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                template: PodTemplateSpec {
                    spec: Some(PodSpec::default()),
                    ..Default::default()
                },
                volume_claim_templates: Some(vec![PersistentVolumeClaim::default()]),
                ..Default::default()
            }),
            status: Some(StatefulSetStatus {
                update_revision: Some("r2".into()),
                ..Default::default()
            }),
        };
        let before = sts.clone();
        sts.strip();
        assert_eq!(sts.metadata, kept_meta());
        let spec = sts.spec.as_ref().unwrap();
        assert_eq!(spec.replicas, Some(3));
        assert_eq!(spec.update_strategy, before.spec.unwrap().update_strategy);
        assert_eq!(spec.template, PodTemplateSpec::default());
        assert_eq!(spec.volume_claim_templates, None);
        assert_eq!(sts.status, before.status);
    }

    #[test]
    fn a_pod_keeps_metadata_and_status() {
        let mut pod = Pod {
            metadata: meta(),
            spec: Some(PodSpec::default()),
            status: Some(PodStatus {
                pod_ip: Some("10.244.0.5".into()),
                ..Default::default()
            }),
        };
        let status = pod.status.clone();
        pod.strip();
        assert_eq!(pod.metadata, kept_meta());
        assert_eq!(pod.spec, None);
        assert_eq!(pod.status, status);
    }

    #[test]
    fn a_pilot_keeps_spec_and_status() {
        let mut pilot = Pilot {
            metadata: meta(),
            ..Pilot::default()
        };
        pilot.spec.requested_state = Some("Decommissioned".into());
        pilot.strip();
        assert_eq!(pilot.metadata, kept_meta());
        assert_eq!(
            pilot.spec.requested_state.as_deref(),
            Some("Decommissioned")
        );
    }

    #[test]
    fn a_cluster_keeps_spec_and_status() {
        let mut cluster = CassandraCluster {
            metadata: meta(),
            ..CassandraCluster::default()
        };
        cluster.spec.paused = true;
        cluster.status.observed_generation = Some(3);
        let before = cluster.clone();
        cluster.strip();
        assert_eq!(cluster.metadata, kept_meta());
        assert_eq!(cluster.spec, before.spec);
        assert_eq!(cluster.status, before.status);
    }
}
