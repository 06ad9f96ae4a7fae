//! Pieces of the pod template every kind of cluster builds the same way: image name and pull
//! policy, environment from the downward API, container ports, HTTP probes and the preferred
//! anti-affinity that spreads a cluster's pods.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, ContainerPort, EnvVar, EnvVarSource, HTTPGetAction, ObjectFieldSelector,
    PodAffinityTerm, PodAntiAffinity, Probe, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use navigator_api::v1beta1::ImageSpec;

/// The default image pull policy.
const DEFAULT_PULL_POLICY: &str = "IfNotPresent";

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
