//! Pieces of the pod template every kind of cluster builds the same way: image name and pull
//! policy, the pilot-installing init container, environment from the downward API, container
//! ports, HTTP probes, volumes, the security context and the preferred anti-affinity that
//! spreads a cluster's pods.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource, HTTPGetAction,
    ObjectFieldSelector, PodAffinityTerm, PodAntiAffinity, PodSecurityContext, Probe,
    ResourceFieldSelector, Volume, VolumeMount, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use navigator_api::pilot_contract::{ENV_POD_NAME, ENV_POD_NAMESPACE, PILOT_BINARY_PATH};
use navigator_api::v1beta1::ImageSpec;

/// The default image pull policy.
const DEFAULT_PULL_POLICY: &str = "IfNotPresent";
/// The pilot-copying init container's name.
pub(crate) const INSTALL_PILOT_CONTAINER: &str = "install-pilot";
/// The volume shared by the init container and the database container (the pilot binary).
pub(crate) const SHARED_VOLUME: &str = "shared";
/// Where the shared volume is mounted.
pub(crate) const SHARED_MOUNT: &str = "/shared";

/// `repository:tag` of `image` (the tag defaulting to `default_tag`), or `None` when it names
/// no repository.
pub(crate) fn image_name(image: &ImageSpec, default_tag: &str) -> Option<String> {
    if image.repository.is_empty() {
        return None;
    }
    let tag = if image.tag.is_empty() {
        default_tag
    } else {
        &image.tag
    };
    Some(if tag.is_empty() {
        image.repository.clone()
    } else {
        format!("{}:{tag}", image.repository)
    })
}

/// The pull policy of `image`, `IfNotPresent` when it names none.
pub(crate) fn pull_policy(image: Option<&ImageSpec>) -> String {
    image
        .map(|i| i.pull_policy.clone())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| DEFAULT_PULL_POLICY.to_owned())
}

/// The variable `name` set from the pod's field `path` (downward API).
pub(crate) fn env_field(name: &str, path: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: path.to_owned(),
                ..ObjectFieldSelector::default()
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }
}

/// The TCP container port `port` called `name`.
pub(crate) fn container_port(name: &str, port: i32) -> ContainerPort {
    ContainerPort {
        name: Some(name.to_owned()),
        container_port: port,
        protocol: Some("TCP".to_owned()),
        ..ContainerPort::default()
    }
}

/// An HTTP GET probe of `path` on `port`, every `period` seconds, timing out after `timeout`
/// seconds, failing after `failures` failures in a row.
pub(crate) fn http_probe(path: &str, port: u16, period: i32, timeout: i32, failures: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_owned()),
            port: IntOrString::Int(i32::from(port)),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(timeout),
        failure_threshold: Some(failures),
        ..Probe::default()
    }
}

/// The preferred anti-affinity spreading the pods labelled `cluster_labels` over hosts
/// (weight 100) and zones (weight 50); preferred, so a test cluster on one node still
/// schedules.
pub(crate) fn spread_affinity(cluster_labels: &BTreeMap<String, String>) -> Affinity {
    Affinity {
        pod_anti_affinity: Some(PodAntiAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(vec![
                anti_affinity_term(cluster_labels.clone(), "kubernetes.io/hostname", 100),
                anti_affinity_term(cluster_labels.clone(), "topology.kubernetes.io/zone", 50),
            ]),
            ..PodAntiAffinity::default()
        }),
        ..Affinity::default()
    }
}

/// A preferred (`weight`) anti-affinity to the pods labelled `cluster_labels` within
/// `topology_key`.
fn anti_affinity_term(
    cluster_labels: BTreeMap<String, String>,
    topology_key: &str,
    weight: i32,
) -> WeightedPodAffinityTerm {
    WeightedPodAffinityTerm {
        weight,
        pod_affinity_term: PodAffinityTerm {
            label_selector: Some(LabelSelector {
                match_labels: Some(cluster_labels),
                ..LabelSelector::default()
            }),
            topology_key: topology_key.to_owned(),
            ..PodAffinityTerm::default()
        },
    }
}

/// The init container that copies the pilot binary `image_binary` out of the pilot `image`
/// (pulled as `pilot_image` asks) onto the shared volume, at [`PILOT_BINARY_PATH`].
pub(crate) fn install_pilot(
    image: String,
    pilot_image: &ImageSpec,
    image_binary: &str,
) -> Container {
    Container {
        name: INSTALL_PILOT_CONTAINER.to_owned(),
        image: Some(image),
        image_pull_policy: Some(pull_policy(Some(pilot_image))),
        command: Some(vec![
            "cp".to_owned(),
            image_binary.to_owned(),
            PILOT_BINARY_PATH.to_owned(),
        ]),
        volume_mounts: Some(vec![VolumeMount {
            name: SHARED_VOLUME.to_owned(),
            mount_path: SHARED_MOUNT.to_owned(),
            ..VolumeMount::default()
        }]),
        ..Container::default()
    }
}

/// The database container's environment: pod name, namespace and IP from the downward API,
/// and `MEMORY_LIMIT`, the memory limit of `container` in bytes.
pub(crate) fn pilot_env(container: &str) -> Vec<EnvVar> {
    vec![
        env_field(ENV_POD_NAME, "metadata.name"),
        env_field(ENV_POD_NAMESPACE, "metadata.namespace"),
        env_field("POD_IP", "status.podIP"),
        // Bytes; the divisor is explicit so every runtime agrees on the unit.
        EnvVar {
            name: "MEMORY_LIMIT".to_owned(),
            value_from: Some(EnvVarSource {
                resource_field_ref: Some(ResourceFieldSelector {
                    container_name: Some(container.to_owned()),
                    resource: "limits.memory".to_owned(),
                    divisor: Some(Quantity("1".to_owned())),
                }),
                ..EnvVarSource::default()
            }),
            ..EnvVar::default()
        },
    ]
}

/// The pod's volumes: the shared `emptyDir`, and an `emptyDir` called `data_volume` when the
/// pool has no persistence (`persistent` false).
pub(crate) fn pod_volumes(data_volume: &str, persistent: bool) -> Vec<Volume> {
    let mut volumes = vec![Volume {
        name: SHARED_VOLUME.to_owned(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Volume::default()
    }];
    if !persistent {
        volumes.push(Volume {
            name: data_volume.to_owned(),
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..Volume::default()
        });
    }
    volumes
}

/// The pod security context running as (and with the filesystem group of) `run_as_user`,
/// when set.
pub(crate) fn run_as(run_as_user: Option<i64>) -> Option<PodSecurityContext> {
    run_as_user.map(|uid| PodSecurityContext {
        run_as_user: Some(uid),
        fs_group: Some(uid),
        ..PodSecurityContext::default()
    })
}
