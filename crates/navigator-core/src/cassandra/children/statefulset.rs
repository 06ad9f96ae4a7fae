//! The StatefulSet of one node pool: the pods run the pilot (copied in by an init container)
//! as the database container's command, the pilot starting and supervising Cassandra.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    RollingUpdateStatefulSetStrategy, StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy,
    StatefulSetSpec, StatefulSetUpdateStrategy,
};
use k8s_openapi::api::core::v1::{
    Container, ExecAction, Lifecycle, LifecycleHandler, PersistentVolumeClaim,
    PersistentVolumeClaimSpec, PodSpec, PodTemplateSpec, VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use navigator_api::pilot_contract::{
    ENV_POD_NAMESPACE, LIVENESS_PATH, LIVENESS_PORT, PILOT_BINARY_PATH, READINESS_PATH,
    READINESS_PORT,
};
use navigator_api::v1beta1::{CassandraCluster, CassandraClusterNodePool};

use super::{
    CQL_PORT, CQL_PORT_NAME, ChildrenError, INTRA_NODE_PORT, INTRA_NODE_PORT_NAME, Owner, hashed,
};
use crate::cassandra::compatibility::{
    self, STORAGE_COMPATIBILITY_ANNOTATION, STORAGE_COMPATIBILITY_FLAG, StorageCompatibility,
};
use crate::cassandra::names;
use crate::cassandra::settings::Settings;
use crate::children::pod::{
    SHARED_MOUNT, SHARED_VOLUME, container_port, http_probe, image_name, install_pilot, pilot_env,
    pod_volumes, pull_policy, run_as, spread_affinity,
};

/// Annotation on the pod template naming the cluster's Cassandra version, so a version change
/// changes the template (and rolls the pods) even when the image stays the same.
pub const CASSANDRA_VERSION_ANNOTATION: &str = "navigator.jetstack.io/cassandra-version";

/// The datacenter of a pool that names none (the pilot's default too).
pub(super) const DEFAULT_DATACENTER: &str = "navigator-default-datacenter";
/// The database container's name (also the `MEMORY_LIMIT` resource reference's).
pub(super) const CASSANDRA_CONTAINER: &str = "cassandra";
/// Where the pilot image keeps the Cassandra pilot binary.
const PILOT_IMAGE_BINARY: &str = "/usr/local/bin/pilot-cassandra";
/// Where the data volume is mounted (the pilot's and the official image's data directory).
const DATA_MOUNT: &str = "/var/lib/cassandra";
/// The pilot's command line after [`PILOT_BINARY_PATH`]: the cluster, datacenter, rack, seeds
/// Service, version and storage compatibility mode (5.x only), then the controller's extra
/// arguments.
pub(super) fn pilot_args(
    cluster: &str,
    pool: &CassandraClusterNodePool,
    version: &str,
    mode: Option<StorageCompatibility>,
    settings: &Settings,
) -> Vec<String> {
    let datacenter = pool
        .datacenter
        .as_deref()
        .filter(|d| !d.is_empty())
        .unwrap_or(DEFAULT_DATACENTER);
    let rack = pool
        .rack
        .as_deref()
        .filter(|r| !r.is_empty())
        .unwrap_or(&pool.name);
    let mut args = vec![
        format!("--cluster-name={cluster}"),
        format!("--datacenter={datacenter}"),
        format!("--rack={rack}"),
        format!(
            "--seeds-service={}.$({ENV_POD_NAMESPACE}).svc.cluster.local",
            names::seeds_service(cluster)
        ),
        format!("--cassandra-version={version}"),
    ];
    if let Some(mode) = mode {
        args.push(format!("{STORAGE_COMPATIBILITY_FLAG}={}", mode.as_flag()));
    }
    args.extend(settings.pilot_extra_args.iter().cloned());
    args
}

/// The pod template of `pool`'s pods.
fn pod_template(
    cluster: &CassandraCluster,
    owner: &Owner,
    pool: &CassandraClusterNodePool,
    version: &str,
    mode: Option<StorageCompatibility>,
    settings: &Settings,
) -> PodTemplateSpec {
    let c = &owner.name;
    let spec = &cluster.spec;
    let pilot_image =
        image_name(&spec.pilot_image, "").unwrap_or_else(|| settings.default_pilot_image.clone());
    let cassandra_image = spec
        .image
        .as_ref()
        .and_then(|i| image_name(i, version))
        .unwrap_or_else(|| format!("{}:{version}", settings.default_cassandra_repository));

    let install_pilot = install_pilot(pilot_image, &spec.pilot_image, PILOT_IMAGE_BINARY);

    let cassandra = Container {
        name: CASSANDRA_CONTAINER.to_owned(),
        image: Some(cassandra_image),
        image_pull_policy: Some(pull_policy(spec.image.as_ref())),
        command: Some(vec![PILOT_BINARY_PATH.to_owned()]),
        args: Some(pilot_args(c, pool, version, mode, settings)),
        env: Some(pilot_env(CASSANDRA_CONTAINER)),
        resources: pool.resources.clone(),
        ports: Some(vec![
            container_port(INTRA_NODE_PORT_NAME, INTRA_NODE_PORT),
            container_port(CQL_PORT_NAME, CQL_PORT),
            container_port("pilot-live", i32::from(LIVENESS_PORT)),
            container_port("pilot-ready", i32::from(READINESS_PORT)),
        ]),
        // The pilot answers from its last observation of the database; a first start (or a
        // bootstrap streaming data) may take minutes.
        startup_probe: Some(http_probe(LIVENESS_PATH, LIVENESS_PORT, 2, 1, 150)),
        liveness_probe: Some(http_probe(LIVENESS_PATH, LIVENESS_PORT, 5, 3, 3)),
        readiness_probe: Some(http_probe(READINESS_PATH, READINESS_PORT, 2, 2, 2)),
        lifecycle: Some(Lifecycle {
            pre_stop: Some(LifecycleHandler {
                exec: Some(ExecAction {
                    command: Some(vec![PILOT_BINARY_PATH.to_owned(), "pre-stop".to_owned()]),
                }),
                ..LifecycleHandler::default()
            }),
            ..Lifecycle::default()
        }),
        volume_mounts: Some(vec![
            VolumeMount {
                name: SHARED_VOLUME.to_owned(),
                mount_path: SHARED_MOUNT.to_owned(),
                read_only: Some(true),
                ..VolumeMount::default()
            },
            VolumeMount {
                name: names::DATA_VOLUME.to_owned(),
                mount_path: DATA_MOUNT.to_owned(),
                ..VolumeMount::default()
            },
        ]),
        ..Container::default()
    };

    let volumes = pod_volumes(names::DATA_VOLUME, pool.persistence.is_some());

    let security_context = run_as(spec.security_context.run_as_user);

    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(names::pod_labels(c, &pool.name)),
            annotations: Some(
                [(CASSANDRA_VERSION_ANNOTATION.to_owned(), version.to_owned())]
                    .into_iter()
                    .chain(mode_annotation(mode))
                    .collect(),
            ),
            ..ObjectMeta::default()
        }),
        spec: Some(PodSpec {
            service_account_name: Some(names::service_account(c)),
            termination_grace_period_seconds: Some(settings.termination_grace_period_seconds),
            volumes: Some(volumes),
            init_containers: Some(vec![install_pilot]),
            containers: vec![cassandra],
            node_selector: pool.node_selector.clone().filter(|s| !s.is_empty()),
            scheduler_name: Some(pool.scheduler_name.clone()).filter(|s| !s.is_empty()),
            security_context,
            affinity: Some(spread_affinity(&names::cluster_labels(c))),
            ..PodSpec::default()
        }),
    }
}

/// The data volume claim template of a pool with persistence.
fn claim_template(owner: &Owner, pool: &CassandraClusterNodePool) -> Option<PersistentVolumeClaim> {
    let persistence = pool.persistence.as_ref()?;
    Some(PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(names::DATA_VOLUME.to_owned()),
            labels: Some(names::pool_labels(&owner.name, &pool.name)),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".to_owned()]),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_owned(),
                    persistence.size.clone(),
                )])),
                ..VolumeResourceRequirements::default()
            }),
            storage_class_name: persistence.storage_class.clone(),
            ..PersistentVolumeClaimSpec::default()
        }),
        status: None,
    })
}

/// The annotation naming `mode`, when there is one.
fn mode_annotation(mode: Option<StorageCompatibility>) -> Option<(String, String)> {
    mode.map(|m| {
        (
            STORAGE_COMPATIBILITY_ANNOTATION.to_owned(),
            m.as_str().to_owned(),
        )
    })
}

/// See [`super::statefulset_in_mode`].
pub(super) fn statefulset(
    cluster: &CassandraCluster,
    pool: &CassandraClusterNodePool,
    replicas: i32,
    partition: i32,
    settings: &Settings,
    mode: StorageCompatibility,
) -> Result<StatefulSet, ChildrenError> {
    let owner = Owner::of(cluster)?;
    let version = cluster
        .spec
        .version
        .as_ref()
        .ok_or(ChildrenError::NoVersion)?;
    let mode = compatibility::applies_to(version).then_some(mode);
    let version = version.to_string();
    let c = &owner.name;
    let mut metadata = owner.meta(
        names::statefulset(c, &pool.name),
        names::pool_labels(c, &pool.name),
    );
    if let Some(annotation) = mode_annotation(mode) {
        metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .extend([annotation]);
    }
    // Built with replicas and partition 0: the hash covers everything else.
    let unscaled = StatefulSet {
        metadata,
        spec: Some(StatefulSetSpec {
            replicas: Some(0),
            service_name: Some(names::nodes_service(c)),
            pod_management_policy: Some("OrderedReady".to_owned()),
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("RollingUpdate".to_owned()),
                rolling_update: Some(RollingUpdateStatefulSetStrategy {
                    partition: Some(0),
                    ..RollingUpdateStatefulSetStrategy::default()
                }),
            }),
            // A decommissioned node's volume must never rejoin the ring: scaling down deletes
            // the claim; deleting the cluster keeps the data.
            persistent_volume_claim_retention_policy: Some(
                StatefulSetPersistentVolumeClaimRetentionPolicy {
                    when_deleted: Some("Retain".to_owned()),
                    when_scaled: Some("Delete".to_owned()),
                },
            ),
            selector: LabelSelector {
                match_labels: Some(names::pod_labels(c, &pool.name)),
                ..LabelSelector::default()
            },
            template: pod_template(cluster, &owner, pool, &version, mode, settings),
            volume_claim_templates: claim_template(&owner, pool).map(|t| vec![t]),
            ..StatefulSetSpec::default()
        }),
        status: None,
    };
    let mut sts = hashed(unscaled, |o| &mut o.metadata);
    if let Some(spec) = sts.spec.as_mut() {
        spec.replicas = Some(replicas);
        if let Some(rolling) = spec
            .update_strategy
            .as_mut()
            .and_then(|s| s.rolling_update.as_mut())
        {
            rolling.partition = Some(partition);
        }
    }
    Ok(sts)
}
