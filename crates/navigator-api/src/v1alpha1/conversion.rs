//! `v1alpha1` ⇄ hub.
//!
//! `v1alpha1` cannot express everything the hub holds (the Elasticsearch flavour, disruption
//! budgets, Pilot requests and most node facts, `observedGeneration`s). Following the Kubernetes
//! convention, those fields travel in one annotation, [`V1BETA1_FIELDS_ANNOTATION`], holding
//! compact JSON: hub → `v1alpha1` writes it (only when there is something to keep), and `v1alpha1`
//! → hub reads and removes it. Values that `v1alpha1` implies (flavour `elasticsearch`, requested
//! state `Running`) are not written. Together this makes every defaulted object survive
//! `v1beta1 → hub → v1alpha1 → hub → v1beta1` unchanged.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::field::{FieldError, FieldPath};
use crate::internal::{self as hub, FLAVOR_ELASTICSEARCH, REQUESTED_STATE_RUNNING};
use crate::serde_helpers::is_empty_map;
use crate::v1alpha1 as v;
use crate::v1beta1;

/// The annotation that keeps, on objects read as `v1alpha1`, the fields only `v1beta1` has.
pub const V1BETA1_FIELDS_ANNOTATION: &str = "navigator.jetstack.io/v1beta1-fields";

/// Why an object could not be converted.
#[derive(Debug, thiserror::Error)]
pub enum ConversionError {
    /// The annotation holding `v1beta1` fields is not valid JSON of the expected shape.
    #[error("annotation {V1BETA1_FIELDS_ANNOTATION} is malformed: {0}")]
    MalformedAnnotation(#[source] serde_json::Error),
    /// The `v1beta1` fields could not be encoded into the annotation.
    #[error("cannot encode the v1beta1 fields annotation: {0}")]
    EncodeAnnotation(#[source] serde_json::Error),
}

impl ConversionError {
    /// The error as a field error, for a `422 Invalid` status.
    pub fn to_field_error(&self) -> FieldError {
        let path = FieldPath::new("metadata")
            .child("annotations")
            .key(V1BETA1_FIELDS_ANNOTATION);
        FieldError::invalid(&path, "<annotation value>", self.to_string())
    }
}

/// Per-condition facts `v1alpha1` conditions cannot hold, keyed by condition type.
type ConditionGenerations = BTreeMap<String, i64>;

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PoolStatusExtras {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    replicas: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    updated_replicas: Option<i32>,
}

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClusterStatusExtras {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "is_empty_map")]
    condition_generations: ConditionGenerations,
    #[serde(default, skip_serializing_if = "is_empty_map")]
    node_pools: BTreeMap<String, PoolStatusExtras>,
}

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClusterExtras {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    flavor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pod_disruption_budget: Option<v1beta1::PodDisruptionBudgetConfig>,
    #[serde(default, skip_serializing_if = "is_default")]
    status: ClusterStatusExtras,
}

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ElasticsearchNodeExtras {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    node_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shards: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cluster_health: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    relocating_shards: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    initializing_shards: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unassigned_shards: Option<i32>,
}

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CassandraNodeExtras {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    host_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    datacenter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rack: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    operation_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tokens: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    load_bytes: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    peers: Option<v1beta1::CassandraPeers>,
}

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PilotExtras {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cluster: Option<v1beta1::PilotClusterReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    node_pool: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    requested_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_heartbeat_time: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    operation: Option<v1beta1::PilotOperationStatus>,
    #[serde(default, skip_serializing_if = "is_empty_map")]
    condition_generations: ConditionGenerations,
    #[serde(default, skip_serializing_if = "is_default")]
    elasticsearch: ElasticsearchNodeExtras,
    #[serde(default, skip_serializing_if = "is_default")]
    cassandra: CassandraNodeExtras,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// Removes the annotation from `metadata` and decodes it (the default when absent). An
/// annotation map left empty becomes absent, as Kubernetes' encoding omits empty maps.
fn take_extras<T: DeserializeOwned + Default>(
    metadata: &mut ObjectMeta,
) -> Result<T, ConversionError> {
    let Some(annotations) = metadata.annotations.as_mut() else {
        return Ok(T::default());
    };
    let raw = annotations.remove(V1BETA1_FIELDS_ANNOTATION);
    if annotations.is_empty() {
        metadata.annotations = None;
    }
    match raw {
        Some(raw) => serde_json::from_str(&raw).map_err(ConversionError::MalformedAnnotation),
        None => Ok(T::default()),
    }
}

/// Encodes `extras` into the annotation, replacing any value already there, unless there is
/// nothing to keep.
fn put_extras<T: Serialize + Default + PartialEq>(
    metadata: &mut ObjectMeta,
    extras: &T,
) -> Result<(), ConversionError> {
    if let Some(annotations) = metadata.annotations.as_mut() {
        annotations.remove(V1BETA1_FIELDS_ANNOTATION);
        if annotations.is_empty() {
            metadata.annotations = None;
        }
    }
    if is_default(extras) {
        return Ok(());
    }
    let raw = serde_json::to_string(extras).map_err(ConversionError::EncodeAnnotation)?;
    metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(V1BETA1_FIELDS_ANNOTATION.to_owned(), raw);
    Ok(())
}

// ---- shared pieces ----

fn image_to_hub(x: v::ImageSpec) -> hub::ImageSpec {
    hub::ImageSpec {
        repository: x.repository,
        tag: x.tag,
        pull_policy: x.pull_policy,
    }
}

fn image_from_hub(x: hub::ImageSpec) -> v::ImageSpec {
    v::ImageSpec {
        repository: x.repository,
        tag: x.tag,
        pull_policy: x.pull_policy,
    }
}

/// `enabled` is deprecated and has no meaning: it is dropped here (see `docs/api.md`).
fn persistence_to_hub(x: v::PersistenceConfig) -> hub::PersistenceConfig {
    hub::PersistenceConfig {
        size: x.size,
        storage_class: x.storage_class,
    }
}

fn persistence_from_hub(x: hub::PersistenceConfig) -> v::PersistenceConfig {
    v::PersistenceConfig {
        enabled: None,
        size: x.size,
        storage_class: x.storage_class,
    }
}

fn cluster_conditions_to_hub(
    conditions: Vec<v::ClusterCondition>,
    generations: &ConditionGenerations,
) -> Vec<hub::Condition> {
    conditions
        .into_iter()
        .map(|c| hub::Condition {
            observed_generation: generations.get(&c.type_).copied(),
            type_: c.type_,
            status: c.status,
            last_transition_time: c.last_transition_time,
            reason: c.reason,
            message: c.message,
        })
        .collect()
}

fn cluster_conditions_from_hub(
    conditions: Vec<hub::Condition>,
    generations: &mut ConditionGenerations,
) -> Vec<v::ClusterCondition> {
    conditions
        .into_iter()
        .map(|c| {
            if let Some(generation) = c.observed_generation {
                generations.insert(c.type_.clone(), generation);
            }
            v::ClusterCondition {
                type_: c.type_,
                status: c.status,
                last_transition_time: c.last_transition_time,
                reason: c.reason,
                message: c.message,
            }
        })
        .collect()
}

fn pools_status_to_hub(
    pools: BTreeMap<String, v::NodePoolStatus>,
    extras: &mut BTreeMap<String, PoolStatusExtras>,
) -> BTreeMap<String, hub::NodePoolStatus> {
    pools
        .into_iter()
        .map(|(name, p)| {
            let extra = extras.remove(&name).unwrap_or_default();
            let status = hub::NodePoolStatus {
                ready_replicas: p.ready_replicas,
                replicas: extra.replicas,
                updated_replicas: extra.updated_replicas,
            };
            (name, status)
        })
        .collect()
}

fn pools_status_from_hub(
    pools: BTreeMap<String, hub::NodePoolStatus>,
    extras: &mut BTreeMap<String, PoolStatusExtras>,
) -> BTreeMap<String, v::NodePoolStatus> {
    pools
        .into_iter()
        .map(|(name, p)| {
            let extra = PoolStatusExtras {
                replicas: p.replicas,
                updated_replicas: p.updated_replicas,
            };
            if !is_default(&extra) {
                extras.insert(name.clone(), extra);
            }
            (
                name,
                v::NodePoolStatus {
                    ready_replicas: p.ready_replicas,
                },
            )
        })
        .collect()
}

fn config_to_hub(
    pilot_image: v::ImageSpec,
    security_context: v::NavigatorSecurityContext,
    paused: bool,
    pdb: Option<v1beta1::PodDisruptionBudgetConfig>,
) -> hub::ClusterConfig {
    hub::ClusterConfig {
        pilot_image: image_to_hub(pilot_image),
        security_context: hub::SecurityContext {
            run_as_user: security_context.run_as_user,
        },
        paused,
        pod_disruption_budget: pdb.map(Into::into),
    }
}

// ---- ElasticsearchCluster ----

impl TryFrom<v::ElasticsearchCluster> for hub::ElasticsearchCluster {
    type Error = ConversionError;

    fn try_from(x: v::ElasticsearchCluster) -> Result<Self, Self::Error> {
        let mut metadata = x.metadata;
        let mut extras: ClusterExtras = take_extras(&mut metadata)?;
        let s = x.spec;
        let spec = hub::ElasticsearchClusterSpec {
            config: config_to_hub(
                s.pilot_image,
                s.security_context,
                s.paused,
                extras.pod_disruption_budget,
            ),
            flavor: Some(
                extras
                    .flavor
                    .unwrap_or_else(|| FLAVOR_ELASTICSEARCH.to_owned()),
            ),
            version: s.version,
            plugins: s.plugins,
            node_pools: s
                .node_pools
                .into_iter()
                .map(|p| hub::ElasticsearchClusterNodePool {
                    name: p.name,
                    replicas: p.replicas,
                    roles: p.roles,
                    node_selector: p.node_selector,
                    resources: p.resources,
                    persistence: p.persistence.map(persistence_to_hub),
                    scheduler_name: p.scheduler_name,
                })
                .collect(),
            image: s.image.map(image_to_hub),
            minimum_masters: s.minimum_masters,
        };
        let status = hub::ElasticsearchClusterStatus {
            conditions: cluster_conditions_to_hub(
                x.status.conditions,
                &extras.status.condition_generations,
            ),
            observed_generation: extras.status.observed_generation,
            node_pools: pools_status_to_hub(x.status.node_pools, &mut extras.status.node_pools),
            health: x.status.health,
        };
        Ok(Self {
            metadata,
            spec,
            status,
        })
    }
}

impl TryFrom<hub::ElasticsearchCluster> for v::ElasticsearchCluster {
    type Error = ConversionError;

    fn try_from(x: hub::ElasticsearchCluster) -> Result<Self, Self::Error> {
        let s = x.spec;
        let mut extras = ClusterExtras {
            flavor: s.flavor.filter(|f| f != FLAVOR_ELASTICSEARCH),
            pod_disruption_budget: s.config.pod_disruption_budget.map(Into::into),
            status: ClusterStatusExtras {
                observed_generation: x.status.observed_generation,
                ..ClusterStatusExtras::default()
            },
        };
        let spec = v::ElasticsearchClusterSpec {
            pilot_image: image_from_hub(s.config.pilot_image),
            security_context: v::NavigatorSecurityContext {
                run_as_user: s.config.security_context.run_as_user,
            },
            paused: s.config.paused,
            version: s.version,
            plugins: s.plugins,
            node_pools: s
                .node_pools
                .into_iter()
                .map(|p| v::ElasticsearchClusterNodePool {
                    name: p.name,
                    replicas: p.replicas,
                    roles: p.roles,
                    node_selector: p.node_selector,
                    resources: p.resources,
                    persistence: p.persistence.map(persistence_from_hub),
                    scheduler_name: p.scheduler_name,
                })
                .collect(),
            image: s.image.map(image_from_hub),
            minimum_masters: s.minimum_masters,
        };
        let status = v::ElasticsearchClusterStatus {
            conditions: cluster_conditions_from_hub(
                x.status.conditions,
                &mut extras.status.condition_generations,
            ),
            node_pools: pools_status_from_hub(x.status.node_pools, &mut extras.status.node_pools),
            health: x.status.health,
        };
        let mut metadata = x.metadata;
        put_extras(&mut metadata, &extras)?;
        Ok(Self {
            metadata,
            spec,
            status,
        })
    }
}

// ---- CassandraCluster ----

impl TryFrom<v::CassandraCluster> for hub::CassandraCluster {
    type Error = ConversionError;

    fn try_from(x: v::CassandraCluster) -> Result<Self, Self::Error> {
        let mut metadata = x.metadata;
        let mut extras: ClusterExtras = take_extras(&mut metadata)?;
        let s = x.spec;
        let spec = hub::CassandraClusterSpec {
            config: config_to_hub(
                s.pilot_image,
                s.security_context,
                s.paused,
                extras.pod_disruption_budget,
            ),
            version: s.version,
            node_pools: s
                .node_pools
                .into_iter()
                .map(|p| hub::CassandraClusterNodePool {
                    name: p.name,
                    replicas: p.replicas,
                    persistence: p.persistence.map(persistence_to_hub),
                    node_selector: p.node_selector,
                    rack: p.rack,
                    datacenter: p.datacenter,
                    resources: p.resources,
                    scheduler_name: p.scheduler_name,
                })
                .collect(),
            image: s.image.map(image_to_hub),
        };
        let status = hub::CassandraClusterStatus {
            conditions: cluster_conditions_to_hub(
                x.status.conditions,
                &extras.status.condition_generations,
            ),
            observed_generation: extras.status.observed_generation,
            node_pools: pools_status_to_hub(x.status.node_pools, &mut extras.status.node_pools),
        };
        Ok(Self {
            metadata,
            spec,
            status,
        })
    }
}

impl TryFrom<hub::CassandraCluster> for v::CassandraCluster {
    type Error = ConversionError;

    fn try_from(x: hub::CassandraCluster) -> Result<Self, Self::Error> {
        let s = x.spec;
        let mut extras = ClusterExtras {
            flavor: None,
            pod_disruption_budget: s.config.pod_disruption_budget.map(Into::into),
            status: ClusterStatusExtras {
                observed_generation: x.status.observed_generation,
                ..ClusterStatusExtras::default()
            },
        };
        let spec = v::CassandraClusterSpec {
            pilot_image: image_from_hub(s.config.pilot_image),
            security_context: v::NavigatorSecurityContext {
                run_as_user: s.config.security_context.run_as_user,
            },
            paused: s.config.paused,
            node_pools: s
                .node_pools
                .into_iter()
                .map(|p| v::CassandraClusterNodePool {
                    name: p.name,
                    replicas: p.replicas,
                    persistence: p.persistence.map(persistence_from_hub),
                    node_selector: p.node_selector,
                    rack: p.rack,
                    datacenter: p.datacenter,
                    resources: p.resources,
                    scheduler_name: p.scheduler_name,
                })
                .collect(),
            image: s.image.map(image_from_hub),
            version: s.version,
        };
        let status = v::CassandraClusterStatus {
            conditions: cluster_conditions_from_hub(
                x.status.conditions,
                &mut extras.status.condition_generations,
            ),
            node_pools: pools_status_from_hub(x.status.node_pools, &mut extras.status.node_pools),
        };
        let mut metadata = x.metadata;
        put_extras(&mut metadata, &extras)?;
        Ok(Self {
            metadata,
            spec,
            status,
        })
    }
}

// ---- Pilot ----

impl TryFrom<v::Pilot> for hub::Pilot {
    type Error = ConversionError;

    fn try_from(x: v::Pilot) -> Result<Self, Self::Error> {
        let mut metadata = x.metadata;
        let extras: PilotExtras = take_extras(&mut metadata)?;
        let spec = hub::PilotSpec {
            cluster: extras.cluster.map(|c| hub::PilotClusterReference {
                kind: c.kind,
                name: c.name,
            }),
            node_pool: extras.node_pool,
            requested_state: Some(
                extras
                    .requested_state
                    .unwrap_or_else(|| REQUESTED_STATE_RUNNING.to_owned()),
            ),
        };
        let conditions = x
            .status
            .conditions
            .into_iter()
            .map(|c| hub::Condition {
                observed_generation: extras.condition_generations.get(&c.type_).copied(),
                type_: c.type_,
                status: c.status,
                last_transition_time: c.last_transition_time,
                reason: c.reason,
                message: c.message,
            })
            .collect();
        let es = extras.elasticsearch;
        let cass = extras.cassandra;
        let status = hub::PilotStatus {
            conditions,
            observed_generation: extras.observed_generation,
            last_heartbeat_time: extras.last_heartbeat_time,
            operation: extras.operation.map(Into::into),
            elasticsearch: x
                .status
                .elasticsearch
                .map(|e| hub::ElasticsearchPilotStatus {
                    documents: e.documents,
                    version: e.version,
                    node_id: es.node_id,
                    roles: es.roles,
                    shards: es.shards,
                    cluster_health: es.cluster_health,
                    relocating_shards: es.relocating_shards,
                    initializing_shards: es.initializing_shards,
                    unassigned_shards: es.unassigned_shards,
                }),
            cassandra: x.status.cassandra.map(|c| hub::CassandraPilotStatus {
                version: c.version,
                host_id: cass.host_id,
                datacenter: cass.datacenter,
                rack: cass.rack,
                operation_mode: cass.operation_mode,
                tokens: cass.tokens,
                load_bytes: cass.load_bytes,
                peers: cass.peers.map(Into::into),
            }),
        };
        Ok(Self {
            metadata,
            spec,
            status,
        })
    }
}

impl TryFrom<hub::Pilot> for v::Pilot {
    type Error = ConversionError;

    fn try_from(x: hub::Pilot) -> Result<Self, Self::Error> {
        let mut extras = PilotExtras {
            cluster: x.spec.cluster.map(|c| v1beta1::PilotClusterReference {
                kind: c.kind,
                name: c.name,
            }),
            node_pool: x.spec.node_pool,
            requested_state: x
                .spec
                .requested_state
                .filter(|s| s != REQUESTED_STATE_RUNNING),
            observed_generation: x.status.observed_generation,
            last_heartbeat_time: x.status.last_heartbeat_time,
            operation: x.status.operation.map(Into::into),
            ..PilotExtras::default()
        };
        let conditions = x
            .status
            .conditions
            .into_iter()
            .map(|c| {
                if let Some(generation) = c.observed_generation {
                    extras
                        .condition_generations
                        .insert(c.type_.clone(), generation);
                }
                v::PilotCondition {
                    type_: c.type_,
                    status: c.status,
                    last_transition_time: c.last_transition_time,
                    reason: c.reason,
                    message: c.message,
                }
            })
            .collect();
        let elasticsearch = x.status.elasticsearch.map(|e| {
            extras.elasticsearch = ElasticsearchNodeExtras {
                node_id: e.node_id,
                roles: e.roles,
                shards: e.shards,
                cluster_health: e.cluster_health,
                relocating_shards: e.relocating_shards,
                initializing_shards: e.initializing_shards,
                unassigned_shards: e.unassigned_shards,
            };
            v::ElasticsearchPilotStatus {
                documents: e.documents,
                version: e.version,
            }
        });
        let cassandra = x.status.cassandra.map(|c| {
            extras.cassandra = CassandraNodeExtras {
                host_id: c.host_id,
                datacenter: c.datacenter,
                rack: c.rack,
                operation_mode: c.operation_mode,
                tokens: c.tokens,
                load_bytes: c.load_bytes,
                peers: c.peers.map(Into::into),
            };
            v::CassandraPilotStatus { version: c.version }
        });
        let mut metadata = x.metadata;
        put_extras(&mut metadata, &extras)?;
        Ok(Self {
            metadata,
            spec: v::PilotSpec {},
            status: v::PilotStatus {
                conditions,
                elasticsearch,
                cassandra,
            },
        })
    }
}
