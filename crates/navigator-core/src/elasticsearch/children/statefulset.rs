//! The StatefulSet of one node pool: the pods run the pilot (copied in by an init container)
//! as the database container's command, the pilot configuring, starting and supervising
//! Elasticsearch or OpenSearch. The pool's identity and the cluster's masters come from the
//! pool's ConfigMap (`envFrom`); the pod template holds only what a restart must apply.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    RollingUpdateStatefulSetStrategy, StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy,
    StatefulSetSpec, StatefulSetUpdateStrategy,
};
use k8s_openapi::api::core::v1::{
    ConfigMapEnvSource, Container, EnvFromSource, PersistentVolumeClaim, PersistentVolumeClaimSpec,
    PodSpec, PodTemplateSpec, VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use navigator_api::pilot_contract::{
    ELASTICSEARCH_VERSION_ANNOTATION, LIVENESS_PATH, LIVENESS_PORT, PILOT_BINARY_PATH,
    READINESS_PATH, READINESS_PORT,
};
use navigator_api::v1beta1::{ElasticsearchCluster, ElasticsearchClusterNodePool};

use super::flavor::{Flavor, flavor};
use super::{
    ChildrenError, HTTP_PORT, HTTP_PORT_NAME, Owner, TRANSPORT_PORT, TRANSPORT_PORT_NAME, hashed,
};
use crate::children::pod::{
    SHARED_MOUNT, SHARED_VOLUME, container_port, http_probe, image_name, install_pilot, pilot_env,
    pod_volumes, pull_policy, run_as, spread_affinity,
};
use crate::elasticsearch::names;
use crate::elasticsearch::settings::Settings;

/// Where the pilot image keeps the Elasticsearch pilot binary.
const PILOT_IMAGE_BINARY: &str = "/usr/local/bin/pilot-elasticsearch";
/// The pilot's writable home: links into the image, the rendered configuration, plugins.
pub(super) const CONFIG_DIR: &str = "/shared/config";
/// Where the data volume is mounted.
const DATA_MOUNT: &str = "/var/lib/navigator";
/// The node's data directory on the data volume.
pub(super) const DATA_DIR: &str = "/var/lib/navigator/data";
/// The pilot's command line after [`PILOT_BINARY_PATH`]: flavour, version, the image's home,
/// the writable home and data directory, one `--plugin` per `spec.plugins` entry, then the
/// controller's extra arguments. The pool's identity and masters come from its ConfigMap.
pub(super) fn pilot_args(
    cluster: &ElasticsearchCluster,
    flavor: Flavor,
    version: &str,
    settings: &Settings,
) -> Vec<String> {
    let mut args = vec![
        format!("--flavor={}", flavor.as_str()),
        format!("--version={version}"),
        format!("--home={}", flavor.home()),
        format!("--config-dir={CONFIG_DIR}"),
        format!("--data-dir={DATA_DIR}"),
    ];
    args.extend(cluster.spec.plugins.iter().map(|p| format!("--plugin={p}")));
    args.extend(settings.pilot_extra_args.iter().cloned());
    args
}

/// The pod template of `pool`'s pods.
fn pod_template(
    cluster: &ElasticsearchCluster,
    owner: &Owner,
    pool: &ElasticsearchClusterNodePool,
    flavor: Flavor,
    version: &str,
    settings: &Settings,
) -> PodTemplateSpec {
    let c = &owner.name;
    let spec = &cluster.spec;
    let pilot_image =
        image_name(&spec.pilot_image, "").unwrap_or_else(|| settings.default_pilot_image.clone());
    let database_image = spec
        .image
        .as_ref()
        .and_then(|i| image_name(i, version))
        .unwrap_or_else(|| format!("{}:{version}", flavor.default_repository(settings)));
    let container_name = flavor.container_name();

    let install_pilot = install_pilot(pilot_image, &spec.pilot_image, PILOT_IMAGE_BINARY);

    let database = Container {
        name: container_name.to_owned(),
        image: Some(database_image),
        image_pull_policy: Some(pull_policy(spec.image.as_ref())),
        command: Some(vec![PILOT_BINARY_PATH.to_owned()]),
        args: Some(pilot_args(cluster, flavor, version, settings)),
        env_from: Some(vec![EnvFromSource {
            config_map_ref: Some(ConfigMapEnvSource {
                name: names::pool_config(c, &pool.name),
                optional: None,
            }),
            ..EnvFromSource::default()
        }]),
        env: Some(pilot_env(container_name)),
        resources: pool.resources.clone(),
        ports: Some(vec![
            container_port(HTTP_PORT_NAME, HTTP_PORT),
            container_port(TRANSPORT_PORT_NAME, TRANSPORT_PORT),
            container_port("pilot-live", i32::from(LIVENESS_PORT)),
            container_port("pilot-ready", i32::from(READINESS_PORT)),
        ]),
        // The pilot answers from its last observation of the node; a first start (plugins,
        // a JVM warming up) may take minutes.
        startup_probe: Some(http_probe(LIVENESS_PATH, LIVENESS_PORT, 2, 1, 90)),
        liveness_probe: Some(http_probe(LIVENESS_PATH, LIVENESS_PORT, 5, 3, 3)),
        readiness_probe: Some(http_probe(READINESS_PATH, READINESS_PORT, 2, 2, 2)),
        volume_mounts: Some(vec![
            VolumeMount {
                name: SHARED_VOLUME.to_owned(),
                mount_path: SHARED_MOUNT.to_owned(),
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
            labels: Some(names::pod_labels(c, &pool.name, &pool.roles)),
            annotations: Some(BTreeMap::from([(
                ELASTICSEARCH_VERSION_ANNOTATION.to_owned(),
                version.to_owned(),
            )])),
            ..ObjectMeta::default()
        }),
        spec: Some(PodSpec {
            service_account_name: Some(names::service_account(c)),
            termination_grace_period_seconds: Some(settings.termination_grace_period_seconds),
            volumes: Some(volumes),
            init_containers: Some(vec![install_pilot]),
            containers: vec![database],
            node_selector: pool.node_selector.clone().filter(|s| !s.is_empty()),
            scheduler_name: Some(pool.scheduler_name.clone()).filter(|s| !s.is_empty()),
            security_context,
            affinity: Some(spread_affinity(&names::cluster_labels(c))),
            ..PodSpec::default()
        }),
    }
}

/// The data volume claim template of a pool with persistence.
fn claim_template(
    owner: &Owner,
    pool: &ElasticsearchClusterNodePool,
) -> Option<PersistentVolumeClaim> {
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

/// See [`super::statefulset`].
pub(super) fn statefulset(
    cluster: &ElasticsearchCluster,
    pool: &ElasticsearchClusterNodePool,
    replicas: i32,
    partition: i32,
    settings: &Settings,
) -> Result<StatefulSet, ChildrenError> {
    let owner = Owner::of(cluster)?;
    let version = cluster
        .spec
        .version
        .as_ref()
        .ok_or(ChildrenError::NoVersion)?
        .to_string();
    let flavor = flavor(cluster)?;
    let c = &owner.name;
    // Built with replicas and partition 0: the hash covers everything else.
    let unscaled = StatefulSet {
        metadata: owner.meta(
            names::statefulset(c, &pool.name),
            names::pool_labels(c, &pool.name),
        ),
        spec: Some(StatefulSetSpec {
            replicas: Some(0),
            service_name: Some(names::discovery_service(c)),
            pod_management_policy: Some("OrderedReady".to_owned()),
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("RollingUpdate".to_owned()),
                rolling_update: Some(RollingUpdateStatefulSetStrategy {
                    partition: Some(0),
                    ..RollingUpdateStatefulSetStrategy::default()
                }),
            }),
            // A decommissioned node's volume must never rejoin with stale data: scaling down
            // deletes the claim; deleting the cluster keeps the data.
            persistent_volume_claim_retention_policy: Some(
                StatefulSetPersistentVolumeClaimRetentionPolicy {
                    when_deleted: Some("Retain".to_owned()),
                    when_scaled: Some("Delete".to_owned()),
                },
            ),
            selector: LabelSelector {
                match_labels: Some(names::pod_labels(c, &pool.name, &pool.roles)),
                ..LabelSelector::default()
            },
            template: pod_template(cluster, &owner, pool, flavor, &version, settings),
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
