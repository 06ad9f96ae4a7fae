//! `v1beta1` ⇄ hub. The hub mirrors `v1beta1`, so both directions are total field copies.

use crate::internal as hub;
use crate::v1beta1 as v;

impl From<v::ImageSpec> for hub::ImageSpec {
    fn from(x: v::ImageSpec) -> Self {
        Self {
            repository: x.repository,
            tag: x.tag,
            pull_policy: x.pull_policy,
        }
    }
}
impl From<hub::ImageSpec> for v::ImageSpec {
    fn from(x: hub::ImageSpec) -> Self {
        Self {
            repository: x.repository,
            tag: x.tag,
            pull_policy: x.pull_policy,
        }
    }
}

impl From<v::PersistenceConfig> for hub::PersistenceConfig {
    fn from(x: v::PersistenceConfig) -> Self {
        Self {
            size: x.size,
            storage_class: x.storage_class,
        }
    }
}
impl From<hub::PersistenceConfig> for v::PersistenceConfig {
    fn from(x: hub::PersistenceConfig) -> Self {
        Self {
            size: x.size,
            storage_class: x.storage_class,
        }
    }
}

impl From<v::PodDisruptionBudgetConfig> for hub::PodDisruptionBudgetConfig {
    fn from(x: v::PodDisruptionBudgetConfig) -> Self {
        Self {
            max_unavailable: x.max_unavailable,
            min_available: x.min_available,
        }
    }
}
impl From<hub::PodDisruptionBudgetConfig> for v::PodDisruptionBudgetConfig {
    fn from(x: hub::PodDisruptionBudgetConfig) -> Self {
        Self {
            max_unavailable: x.max_unavailable,
            min_available: x.min_available,
        }
    }
}

impl From<v::Condition> for hub::Condition {
    fn from(x: v::Condition) -> Self {
        Self {
            type_: x.type_,
            status: x.status,
            observed_generation: x.observed_generation,
            last_transition_time: x.last_transition_time,
            reason: x.reason,
            message: x.message,
        }
    }
}
impl From<hub::Condition> for v::Condition {
    fn from(x: hub::Condition) -> Self {
        Self {
            type_: x.type_,
            status: x.status,
            observed_generation: x.observed_generation,
            last_transition_time: x.last_transition_time,
            reason: x.reason,
            message: x.message,
        }
    }
}

impl From<v::NodePoolStatus> for hub::NodePoolStatus {
    fn from(x: v::NodePoolStatus) -> Self {
        Self {
            ready_replicas: x.ready_replicas,
            replicas: x.replicas,
            updated_replicas: x.updated_replicas,
        }
    }
}
impl From<hub::NodePoolStatus> for v::NodePoolStatus {
    fn from(x: hub::NodePoolStatus) -> Self {
        Self {
            ready_replicas: x.ready_replicas,
            replicas: x.replicas,
            updated_replicas: x.updated_replicas,
        }
    }
}

fn map_vec<A, B: From<A>>(v: Vec<A>) -> Vec<B> {
    v.into_iter().map(B::from).collect()
}

fn map_values<A, B: From<A>>(
    m: std::collections::BTreeMap<String, A>,
) -> std::collections::BTreeMap<String, B> {
    m.into_iter().map(|(k, a)| (k, B::from(a))).collect()
}

// ---- ElasticsearchCluster ----

impl From<v::ElasticsearchClusterNodePool> for hub::ElasticsearchClusterNodePool {
    fn from(x: v::ElasticsearchClusterNodePool) -> Self {
        Self {
            name: x.name,
            replicas: x.replicas,
            roles: x.roles,
            node_selector: x.node_selector,
            resources: x.resources,
            persistence: x.persistence.map(Into::into),
            scheduler_name: x.scheduler_name,
        }
    }
}
impl From<hub::ElasticsearchClusterNodePool> for v::ElasticsearchClusterNodePool {
    fn from(x: hub::ElasticsearchClusterNodePool) -> Self {
        Self {
            name: x.name,
            replicas: x.replicas,
            roles: x.roles,
            node_selector: x.node_selector,
            resources: x.resources,
            persistence: x.persistence.map(Into::into),
            scheduler_name: x.scheduler_name,
        }
    }
}

impl From<v::ElasticsearchCluster> for hub::ElasticsearchCluster {
    fn from(x: v::ElasticsearchCluster) -> Self {
        let s = x.spec;
        Self {
            metadata: x.metadata,
            spec: hub::ElasticsearchClusterSpec {
                config: hub::ClusterConfig {
                    pilot_image: s.pilot_image.into(),
                    security_context: hub::SecurityContext {
                        run_as_user: s.security_context.run_as_user,
                    },
                    paused: s.paused,
                    pod_disruption_budget: s.pod_disruption_budget.map(Into::into),
                },
                flavor: s.flavor,
                version: s.version,
                plugins: s.plugins,
                node_pools: map_vec(s.node_pools),
                image: s.image.map(Into::into),
                minimum_masters: s.minimum_masters,
            },
            status: hub::ElasticsearchClusterStatus {
                conditions: map_vec(x.status.conditions),
                observed_generation: x.status.observed_generation,
                node_pools: map_values(x.status.node_pools),
                health: x.status.health,
            },
        }
    }
}
impl From<hub::ElasticsearchCluster> for v::ElasticsearchCluster {
    fn from(x: hub::ElasticsearchCluster) -> Self {
        let s = x.spec;
        Self {
            metadata: x.metadata,
            spec: v::ElasticsearchClusterSpec {
                pilot_image: s.config.pilot_image.into(),
                security_context: v::NavigatorSecurityContext {
                    run_as_user: s.config.security_context.run_as_user,
                },
                paused: s.config.paused,
                pod_disruption_budget: s.config.pod_disruption_budget.map(Into::into),
                flavor: s.flavor,
                version: s.version,
                plugins: s.plugins,
                node_pools: map_vec(s.node_pools),
                image: s.image.map(Into::into),
                minimum_masters: s.minimum_masters,
            },
            status: v::ElasticsearchClusterStatus {
                conditions: map_vec(x.status.conditions),
                observed_generation: x.status.observed_generation,
                node_pools: map_values(x.status.node_pools),
                health: x.status.health,
            },
        }
    }
}

// ---- CassandraCluster ----

impl From<v::CassandraClusterNodePool> for hub::CassandraClusterNodePool {
    fn from(x: v::CassandraClusterNodePool) -> Self {
        Self {
            name: x.name,
            replicas: x.replicas,
            persistence: x.persistence.map(Into::into),
            node_selector: x.node_selector,
            rack: x.rack,
            datacenter: x.datacenter,
            resources: x.resources,
            scheduler_name: x.scheduler_name,
        }
    }
}
impl From<hub::CassandraClusterNodePool> for v::CassandraClusterNodePool {
    fn from(x: hub::CassandraClusterNodePool) -> Self {
        Self {
            name: x.name,
            replicas: x.replicas,
            persistence: x.persistence.map(Into::into),
            node_selector: x.node_selector,
            rack: x.rack,
            datacenter: x.datacenter,
            resources: x.resources,
            scheduler_name: x.scheduler_name,
        }
    }
}

impl From<v::CassandraCluster> for hub::CassandraCluster {
    fn from(x: v::CassandraCluster) -> Self {
        let s = x.spec;
        Self {
            metadata: x.metadata,
            spec: hub::CassandraClusterSpec {
                config: hub::ClusterConfig {
                    pilot_image: s.pilot_image.into(),
                    security_context: hub::SecurityContext {
                        run_as_user: s.security_context.run_as_user,
                    },
                    paused: s.paused,
                    pod_disruption_budget: s.pod_disruption_budget.map(Into::into),
                },
                version: s.version,
                node_pools: map_vec(s.node_pools),
                image: s.image.map(Into::into),
            },
            status: hub::CassandraClusterStatus {
                conditions: map_vec(x.status.conditions),
                observed_generation: x.status.observed_generation,
                node_pools: map_values(x.status.node_pools),
            },
        }
    }
}
impl From<hub::CassandraCluster> for v::CassandraCluster {
    fn from(x: hub::CassandraCluster) -> Self {
        let s = x.spec;
        Self {
            metadata: x.metadata,
            spec: v::CassandraClusterSpec {
                pilot_image: s.config.pilot_image.into(),
                security_context: v::NavigatorSecurityContext {
                    run_as_user: s.config.security_context.run_as_user,
                },
                paused: s.config.paused,
                pod_disruption_budget: s.config.pod_disruption_budget.map(Into::into),
                version: s.version,
                node_pools: map_vec(s.node_pools),
                image: s.image.map(Into::into),
            },
            status: v::CassandraClusterStatus {
                conditions: map_vec(x.status.conditions),
                observed_generation: x.status.observed_generation,
                node_pools: map_values(x.status.node_pools),
            },
        }
    }
}

// ---- Pilot ----

impl From<v::PilotOperationStatus> for hub::PilotOperationStatus {
    fn from(x: v::PilotOperationStatus) -> Self {
        Self {
            state: x.state,
            phase: x.phase,
            start_time: x.start_time,
            completion_time: x.completion_time,
            message: x.message,
        }
    }
}
impl From<hub::PilotOperationStatus> for v::PilotOperationStatus {
    fn from(x: hub::PilotOperationStatus) -> Self {
        Self {
            state: x.state,
            phase: x.phase,
            start_time: x.start_time,
            completion_time: x.completion_time,
            message: x.message,
        }
    }
}

impl From<v::ElasticsearchPilotStatus> for hub::ElasticsearchPilotStatus {
    fn from(x: v::ElasticsearchPilotStatus) -> Self {
        Self {
            documents: x.documents,
            version: x.version,
            node_id: x.node_id,
            roles: x.roles,
            shards: x.shards,
            cluster_health: x.cluster_health,
            relocating_shards: x.relocating_shards,
            initializing_shards: x.initializing_shards,
            unassigned_shards: x.unassigned_shards,
        }
    }
}
impl From<hub::ElasticsearchPilotStatus> for v::ElasticsearchPilotStatus {
    fn from(x: hub::ElasticsearchPilotStatus) -> Self {
        Self {
            documents: x.documents,
            version: x.version,
            node_id: x.node_id,
            roles: x.roles,
            shards: x.shards,
            cluster_health: x.cluster_health,
            relocating_shards: x.relocating_shards,
            initializing_shards: x.initializing_shards,
            unassigned_shards: x.unassigned_shards,
        }
    }
}

impl From<v::CassandraPeers> for hub::CassandraPeers {
    fn from(x: v::CassandraPeers) -> Self {
        Self {
            live: x.live,
            unreachable: x.unreachable,
            joining: x.joining,
            leaving: x.leaving,
            moving: x.moving,
        }
    }
}
impl From<hub::CassandraPeers> for v::CassandraPeers {
    fn from(x: hub::CassandraPeers) -> Self {
        Self {
            live: x.live,
            unreachable: x.unreachable,
            joining: x.joining,
            leaving: x.leaving,
            moving: x.moving,
        }
    }
}

impl From<v::CassandraPilotStatus> for hub::CassandraPilotStatus {
    fn from(x: v::CassandraPilotStatus) -> Self {
        Self {
            version: x.version,
            host_id: x.host_id,
            datacenter: x.datacenter,
            rack: x.rack,
            operation_mode: x.operation_mode,
            tokens: x.tokens,
            load_bytes: x.load_bytes,
            peers: x.peers.map(Into::into),
        }
    }
}
impl From<hub::CassandraPilotStatus> for v::CassandraPilotStatus {
    fn from(x: hub::CassandraPilotStatus) -> Self {
        Self {
            version: x.version,
            host_id: x.host_id,
            datacenter: x.datacenter,
            rack: x.rack,
            operation_mode: x.operation_mode,
            tokens: x.tokens,
            load_bytes: x.load_bytes,
            peers: x.peers.map(Into::into),
        }
    }
}

impl From<v::Pilot> for hub::Pilot {
    fn from(x: v::Pilot) -> Self {
        Self {
            metadata: x.metadata,
            spec: hub::PilotSpec {
                cluster: x.spec.cluster.map(|c| hub::PilotClusterReference {
                    kind: c.kind,
                    name: c.name,
                }),
                node_pool: x.spec.node_pool,
                requested_state: x.spec.requested_state,
            },
            status: hub::PilotStatus {
                conditions: map_vec(x.status.conditions),
                observed_generation: x.status.observed_generation,
                last_heartbeat_time: x.status.last_heartbeat_time,
                operation: x.status.operation.map(Into::into),
                elasticsearch: x.status.elasticsearch.map(Into::into),
                cassandra: x.status.cassandra.map(Into::into),
            },
        }
    }
}
impl From<hub::Pilot> for v::Pilot {
    fn from(x: hub::Pilot) -> Self {
        Self {
            metadata: x.metadata,
            spec: v::PilotSpec {
                cluster: x.spec.cluster.map(|c| v::PilotClusterReference {
                    kind: c.kind,
                    name: c.name,
                }),
                node_pool: x.spec.node_pool,
                requested_state: x.spec.requested_state,
            },
            status: v::PilotStatus {
                conditions: map_vec(x.status.conditions),
                observed_generation: x.status.observed_generation,
                last_heartbeat_time: x.status.last_heartbeat_time,
                operation: x.status.operation.map(Into::into),
                elasticsearch: x.status.elasticsearch.map(Into::into),
                cassandra: x.status.cassandra.map(Into::into),
            },
        }
    }
}
