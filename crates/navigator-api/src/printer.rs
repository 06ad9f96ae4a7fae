//! Printer columns: what `kubectl get` shows for each kind (`as=Table`), computed from hub
//! objects by pure functions. Columns with priority 0 are always shown; priority 1 only with
//! `-o wide`. The `Age` column is of type `date` and holds the object's age in Kubernetes' human
//! form (`5m`, `3h12m`, `2d`), computed against a `now` the caller passes, as the API server does
//! for custom resources.

use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::conditions::find_condition;
use crate::internal::{
    CassandraCluster, Condition, ElasticsearchCluster, NodePoolStatus, Pilot, ROLE_MASTER,
};
use crate::scheme::{HubObject, Kind};

/// A column definition of a Kubernetes `Table`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    /// Header, e.g. `Version`.
    pub name: &'static str,
    /// OpenAPI type of the cells: `string`, `integer`, `date`.
    pub type_: &'static str,
    /// OpenAPI format, e.g. `name` for the first column.
    pub format: &'static str,
    /// What the column shows.
    pub description: &'static str,
    /// 0 for the default view, 1 for `-o wide`.
    pub priority: i32,
}

impl Column {
    /// The column as a `TableColumnDefinition`.
    pub fn to_definition(&self) -> Value {
        json!({
            "name": self.name,
            "type": self.type_,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        })
    }
}

const NAME: Column = Column {
    name: "Name",
    type_: "string",
    format: "name",
    description: "Name must be unique within a namespace.",
    priority: 0,
};
const AGE: Column = Column {
    name: "Age",
    type_: "date",
    format: "",
    description: "Time since the object was created.",
    priority: 0,
};
const fn col(
    name: &'static str,
    type_: &'static str,
    description: &'static str,
    priority: i32,
) -> Column {
    Column {
        name,
        type_,
        format: "",
        description,
        priority,
    }
}

const CASSANDRA_COLUMNS: &[Column] = &[
    NAME,
    col("Version", "string", "The Cassandra version.", 0),
    col("Ready", "string", "Ready nodes / desired nodes.", 0),
    col(
        "Status",
        "string",
        "Paused, Degraded, Progressing or Available, from the conditions.",
        0,
    ),
    AGE,
    col("Pools", "string", "The node pools.", 1),
    col(
        "Datacenters",
        "string",
        "The datacenters of the node pools.",
        1,
    ),
];

const ELASTICSEARCH_COLUMNS: &[Column] = &[
    NAME,
    col("Version", "string", "The database version.", 0),
    col("Ready", "string", "Ready nodes / desired nodes.", 0),
    col(
        "Health",
        "string",
        "Cluster health reported by the database.",
        0,
    ),
    col(
        "Status",
        "string",
        "Paused, Degraded, Progressing or Available, from the conditions.",
        0,
    ),
    AGE,
    col("Flavor", "string", "elasticsearch or opensearch.", 1),
    col("Pools", "string", "The node pools.", 1),
    col("Masters", "integer", "Master-eligible nodes.", 1),
];

const PILOT_COLUMNS: &[Column] = &[
    NAME,
    col("Cluster", "string", "The cluster of the pilot's node.", 0),
    col("Pool", "string", "The node pool of the pilot's node.", 0),
    col(
        "Requested",
        "string",
        "The state the controller requested.",
        0,
    ),
    col(
        "Phase",
        "string",
        "Progress towards the requested state.",
        0,
    ),
    col(
        "Version",
        "string",
        "The database version the node runs.",
        0,
    ),
    col("Ready", "string", "The pilot's Ready condition.", 0),
    AGE,
    col(
        "Node",
        "string",
        "The database's id for the node (Cassandra host id, Elasticsearch node id).",
        1,
    ),
    col("Mode", "string", "Cassandra operation mode.", 1),
    col(
        "Documents",
        "integer",
        "Documents on the node (Elasticsearch/OpenSearch).",
        1,
    ),
];

/// The columns of a kind, `Name` first.
pub fn columns(kind: Kind) -> &'static [Column] {
    match kind {
        Kind::CassandraCluster => CASSANDRA_COLUMNS,
        Kind::ElasticsearchCluster => ELASTICSEARCH_COLUMNS,
        Kind::Pilot => PILOT_COLUMNS,
    }
}

/// The cells of one object's row, in the order of [`columns`], with ages relative to `now`.
pub fn cells(obj: &HubObject, now: Timestamp) -> Vec<Value> {
    let mut row = match obj {
        HubObject::CassandraCluster(o) => cassandra_cells(o),
        HubObject::ElasticsearchCluster(o) => elasticsearch_cells(o),
        HubObject::Pilot(o) => pilot_cells(o),
    };
    let age_column = columns(obj.kind()).iter().position(|c| c.name == AGE.name);
    if let Some(cell) = age_column.and_then(|i| row.get_mut(i)) {
        *cell = obj
            .metadata()
            .creation_timestamp
            .as_ref()
            .map_or(json!("<unknown>"), |created| {
                json!(human_duration(now.duration_since(created.0)))
            });
    }
    row
}

/// Go's `duration.HumanDuration`: how kubectl and the API server print ages.
pub fn human_duration(d: SignedDuration) -> String {
    let seconds = d.as_secs();
    if seconds < -1 {
        return "<invalid>".to_owned();
    }
    if seconds < 0 {
        return "0s".to_owned();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let days = (hours / 24) % 365;
        return if days == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{days}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

fn name(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> Value {
    json!(meta.name.clone().unwrap_or_default())
}

/// Filled in by [`cells`], which knows `now`.
fn age(_: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> Value {
    Value::Null
}

fn opt(value: Option<String>) -> Value {
    json!(value.unwrap_or_default())
}

/// `ready/desired` over all pools; a pool with no status counts 0 ready.
fn ready_of<'a>(
    pools: impl Iterator<Item = (&'a str, Option<i32>)>,
    status: &std::collections::BTreeMap<String, NodePoolStatus>,
) -> Value {
    let (ready, desired) = pools.fold((0i64, 0i64), |(ready, desired), (name, replicas)| {
        let pool_ready = status.get(name).map_or(0, |s| i64::from(s.ready_replicas));
        (
            ready + pool_ready,
            desired + i64::from(replicas.unwrap_or(1).max(0)),
        )
    });
    json!(format!("{ready}/{desired}"))
}

/// One word for the cluster's state: `Paused` wins, then `Degraded`, `Progressing`, `Available`.
pub fn status_summary(paused: bool, conditions: &[Condition]) -> String {
    if paused {
        return "Paused".to_owned();
    }
    let is_true = |t| find_condition(conditions, t).is_some_and(|c| c.status == "True");
    ["Degraded", "Progressing", "Available"]
        .into_iter()
        .find(|t| is_true(t))
        .unwrap_or_default()
        .to_owned()
}

fn joined<'a>(items: impl Iterator<Item = &'a str>) -> Value {
    let mut items: Vec<&str> = items.collect();
    items.dedup();
    json!(items.join(","))
}

fn cassandra_cells(o: &CassandraCluster) -> Vec<Value> {
    let pools = || o.spec.node_pools.iter();
    let mut datacenters: Vec<&str> = pools()
        .map(|p| {
            p.datacenter
                .as_deref()
                .unwrap_or(crate::internal::DEFAULT_DATACENTER)
        })
        .collect();
    datacenters.sort_unstable();
    vec![
        name(&o.metadata),
        opt(o.spec.version.as_ref().map(ToString::to_string)),
        ready_of(
            pools().map(|p| (p.name.as_str(), p.replicas)),
            &o.status.node_pools,
        ),
        json!(status_summary(o.spec.config.paused, &o.status.conditions)),
        age(&o.metadata),
        joined(pools().map(|p| p.name.as_str())),
        joined(datacenters.into_iter()),
    ]
}

fn elasticsearch_cells(o: &ElasticsearchCluster) -> Vec<Value> {
    let pools = || o.spec.node_pools.iter();
    vec![
        name(&o.metadata),
        opt(o.spec.version.as_ref().map(ToString::to_string)),
        ready_of(
            pools().map(|p| (p.name.as_str(), p.replicas)),
            &o.status.node_pools,
        ),
        opt(o.status.health.clone()),
        json!(status_summary(o.spec.config.paused, &o.status.conditions)),
        age(&o.metadata),
        json!(o.spec.flavor()),
        joined(pools().map(|p| p.name.as_str())),
        json!(
            pools()
                .filter(|p| p.roles.iter().any(|r| r == ROLE_MASTER))
                .map(|p| i64::from(p.replicas.unwrap_or(1).max(0)))
                .sum::<i64>()
        ),
    ]
}

fn pilot_cells(o: &Pilot) -> Vec<Value> {
    let es = o.status.elasticsearch.as_ref();
    let cass = o.status.cassandra.as_ref();
    let version = es
        .and_then(|e| e.version.as_ref().map(ToString::to_string))
        .or_else(|| cass.and_then(|c| c.version.as_ref().map(ToString::to_string)));
    let node = es
        .and_then(|e| e.node_id.clone())
        .or_else(|| cass.and_then(|c| c.host_id.clone()));
    vec![
        name(&o.metadata),
        opt(o.spec.cluster.as_ref().map(|c| c.name.clone())),
        opt(o.spec.node_pool.clone()),
        opt(o.spec.requested_state.clone()),
        opt(o.status.operation.as_ref().map(|op| op.phase.clone())),
        opt(version),
        opt(find_condition(&o.status.conditions, "Ready").map(|c| c.status.clone())),
        age(&o.metadata),
        opt(node),
        opt(cass.and_then(|c| c.operation_mode.clone())),
        es.and_then(|e| e.documents)
            .map_or(Value::Null, |d| json!(d)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::{ApiVersion, decode};

    fn hub(version: ApiVersion, kind: Kind, value: Value) -> HubObject {
        decode(version, kind, value).unwrap()
    }

    fn now() -> Timestamp {
        "2026-01-01T01:30:00Z".parse().unwrap()
    }

    fn cells(obj: &HubObject) -> Vec<Value> {
        super::cells(obj, now())
    }

    #[test]
    fn ages_read_like_kubectl() {
        let d = |s: i64| human_duration(SignedDuration::from_secs(s));
        for (secs, text) in [
            (-5, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (119, "119s"),
            (120, "2m"),
            (125, "2m5s"),
            (600, "10m"),
            (179 * 60, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 120, "3h2m"),
            (8 * 3600, "8h"),
            (47 * 3600, "47h"),
            (48 * 3600, "2d"),
            (50 * 3600, "2d2h"),
            (8 * 86400, "8d"),
            (729 * 86400, "729d"),
            (730 * 86400, "2y"),
            (731 * 86400, "2y1d"),
            (9 * 365 * 86400, "9y"),
        ] {
            assert_eq!(d(secs), text, "{secs}s");
        }
    }

    #[test]
    fn every_row_matches_its_columns() {
        for kind in Kind::ALL {
            let obj = hub(
                ApiVersion::V1beta1,
                kind,
                json!({"metadata": {"name": "x"}}),
            );
            assert_eq!(cells(&obj).len(), columns(kind).len(), "{kind}");
            assert_eq!(columns(kind)[0].format, "name");
        }
    }

    #[test]
    fn cassandra_row() {
        let obj = hub(
            ApiVersion::V1alpha1,
            Kind::CassandraCluster,
            json!({
                "metadata": {"name": "demo", "creationTimestamp": "2026-01-01T00:00:00Z"},
                "spec": {"version": "3.11.1", "nodePools": [
                    {"name": "a", "replicas": 3, "datacenter": "dc1"},
                    {"name": "b"}
                ]},
                "status": {"nodePools": {"a": {"readyReplicas": 2}},
                           "conditions": [{"type": "Available", "status": "True"}]}
            }),
        );
        assert_eq!(
            cells(&obj),
            vec![
                json!("demo"),
                json!("3.11.1"),
                json!("2/4"),
                json!("Available"),
                json!("90m"),
                json!("a,b"),
                json!("dc1,navigator-default-datacenter"),
            ]
        );
    }

    #[test]
    fn elasticsearch_row_and_paused_wins() {
        let obj = hub(
            ApiVersion::V1beta1,
            Kind::ElasticsearchCluster,
            json!({
                "metadata": {"name": "logs"},
                "spec": {"flavor": "opensearch", "version": "2.19.1", "paused": true, "nodePools": [
                    {"name": "m", "replicas": 3, "roles": ["master"]},
                    {"name": "d", "replicas": 2, "roles": ["data"]}
                ]},
                "status": {"health": "Green", "nodePools": {"m": {"readyReplicas": 3}, "d": {"readyReplicas": 2}},
                           "conditions": [{"type": "Degraded", "status": "True"}]}
            }),
        );
        assert_eq!(
            cells(&obj),
            vec![
                json!("logs"),
                json!("2.19.1"),
                json!("5/5"),
                json!("Green"),
                json!("Paused"),
                json!("<unknown>"),
                json!("opensearch"),
                json!("m,d"),
                json!(3),
            ]
        );
    }

    #[test]
    fn pilot_row() {
        let obj = hub(
            ApiVersion::V1beta1,
            Kind::Pilot,
            json!({
                "metadata": {"name": "cass-demo-a-0"},
                "spec": {"cluster": {"kind": "CassandraCluster", "name": "demo"}, "nodePool": "a",
                         "requestedState": "Decommissioned"},
                "status": {"operation": {"state": "Decommissioned", "phase": "InProgress"},
                           "conditions": [{"type": "Ready", "status": "False"}],
                           "cassandra": {"version": "5.0.2", "hostId": "h-1", "operationMode": "LEAVING"}}
            }),
        );
        assert_eq!(
            cells(&obj),
            vec![
                json!("cass-demo-a-0"),
                json!("demo"),
                json!("a"),
                json!("Decommissioned"),
                json!("InProgress"),
                json!("5.0.2"),
                json!("False"),
                json!("<unknown>"),
                json!("h-1"),
                json!("LEAVING"),
                Value::Null,
            ]
        );
    }

    #[test]
    fn status_summary_precedence() {
        let c = |t: &str, s: &str| Condition {
            type_: t.into(),
            status: s.into(),
            ..Condition::default()
        };
        assert_eq!(status_summary(false, &[]), "");
        assert_eq!(
            status_summary(false, &[c("Available", "True"), c("Progressing", "True")]),
            "Progressing"
        );
        assert_eq!(status_summary(false, &[c("Available", "False")]), "");
        assert_eq!(
            status_summary(false, &[c("Available", "True"), c("Degraded", "True")]),
            "Degraded"
        );
        assert_eq!(status_summary(true, &[c("Available", "True")]), "Paused");
    }
}
