//! The REST paths the pilot uses and pure parsers of their replies.

use serde_json::Value;

/// The node's root: name, cluster UUID (`_na_` before it joined a cluster), version.
pub const ROOT: &str = "/";
/// The local node's id, name, roles and version (answers before the node joined a cluster).
pub const LOCAL_NODE: &str =
    "/_nodes/_local/transport?filter_path=nodes.*.name,nodes.*.roles,nodes.*.version";
/// The elected master as this node knows it (its local cluster state).
pub const MASTER: &str = "/_cluster/state/master_node?local=true";
/// Documents on the local node.
pub const LOCAL_DOCS: &str =
    "/_nodes/_local/stats/indices/docs?filter_path=nodes.*.indices.docs.count";
/// Cluster health (needs a master).
pub const HEALTH: &str = "/_cluster/health?master_timeout=2s";
/// Cluster settings, flat.
pub const SETTINGS: &str = "/_cluster/settings?flat_settings=true&master_timeout=2s";
/// Writes cluster settings.
pub const PUT_SETTINGS: &str = "/_cluster/settings?flat_settings=true&master_timeout=10s";
/// The voting configuration exclusions in this node's cluster state.
pub const VOTING_EXCLUSIONS: &str = "/_cluster/state/metadata?local=true&filter_path=metadata.cluster_coordination.voting_config_exclusions";
/// Every node of the cluster: names and roles.
pub const NODES: &str = "/_nodes/_all/transport?filter_path=nodes.*.name,nodes.*.roles";
/// Clears every voting configuration exclusion without waiting for the nodes to leave.
pub const CLEAR_VOTING_EXCLUSIONS: &str =
    "/_cluster/voting_config_exclusions?wait_for_removal=false";
/// Flushes every index (before a restart: faster recovery).
pub const FLUSH: &str = "/_flush";
/// The allocation exclusion by node name.
pub const EXCLUDE_NAME: &str = "cluster.routing.allocation.exclude._name";

/// Shards allocated to the node named `name` (`_cat/allocation`, needs a master).
pub fn allocation_path(name: &str) -> String {
    format!("/_cat/allocation/{name}?format=json&h=shards,node&master_timeout=2s")
}

/// Every shard copy of the cluster: index, shard, primary or replica, state, node name
/// (`_cat/shards`, needs a master).
pub const SHARDS: &str =
    "/_cat/shards?format=json&h=index,shard,prirep,state,node&master_timeout=2s";
/// Why a shard copy is where it is (`POST` with [`explain_body`], needs a master).
pub const ALLOCATION_EXPLAIN: &str = "/_cluster/allocation/explain";

/// The body of an allocation explain for the copy of shard `shard` of `index` on `node`.
pub fn explain_body(index: &str, shard: u32, primary: bool, node: &str) -> Value {
    serde_json::json!({"index": index, "shard": shard, "primary": primary, "current_node": node})
}

/// Adds voting configuration exclusions for `names` (Elasticsearch 7.8+ and OpenSearch take
/// `node_names`; Elasticsearch 7.0-7.7 the names in the path). Waits up to 30 s for the
/// voting configuration to exclude them.
pub fn add_voting_exclusions_path(names: &[String], names_in_path: bool) -> String {
    let joined = names.join(",");
    if names_in_path {
        format!("/_cluster/voting_config_exclusions/{joined}?timeout=30s")
    } else {
        format!("/_cluster/voting_config_exclusions?node_names={joined}&timeout=30s")
    }
}

/// `GET /`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootInfo {
    /// `name`.
    pub name: String,
    /// `cluster_uuid` (`_na_` before the node joined a cluster).
    pub cluster_uuid: String,
    /// `version.number`.
    pub version: String,
}

/// Parses `GET /`.
pub fn root(v: &Value) -> Option<RootInfo> {
    Some(RootInfo {
        name: v.get("name")?.as_str()?.to_owned(),
        cluster_uuid: v
            .get("cluster_uuid")
            .and_then(Value::as_str)
            .unwrap_or("_na_")
            .to_owned(),
        version: v.pointer("/version/number")?.as_str()?.to_owned(),
    })
}

/// One node in a `_nodes` reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    /// The node id.
    pub id: String,
    /// `name`.
    pub name: String,
    /// `roles` as the database spells them.
    pub roles: Vec<String>,
    /// `version`, when asked for.
    pub version: Option<String>,
}

/// Parses a `_nodes` reply (any number of nodes), sorted by name.
pub fn nodes(v: &Value) -> Vec<NodeInfo> {
    let Some(map) = v.get("nodes").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut out: Vec<NodeInfo> = map
        .iter()
        .filter_map(|(id, n)| {
            Some(NodeInfo {
                id: id.clone(),
                name: n.get("name")?.as_str()?.to_owned(),
                roles: n
                    .get("roles")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|r| r.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
                version: n.get("version").and_then(Value::as_str).map(str::to_owned),
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The elected master's id, `None` while there is none.
pub fn master(v: &Value) -> Option<String> {
    v.get("master_node")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
}

/// Documents on the one node of a `_nodes/_local/stats/indices/docs` reply.
pub fn local_docs(v: &Value) -> Option<i64> {
    let map = v.get("nodes")?.as_object()?;
    map.values()
        .next()?
        .pointer("/indices/docs/count")?
        .as_i64()
}

fn number(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str()?.trim().parse().ok())
}

/// Shards on the node named `name` in a `_cat/allocation?format=json` reply.
pub fn allocation_shards(v: &Value, name: &str) -> Option<i64> {
    v.as_array()?
        .iter()
        .find(|row| row.get("node").and_then(Value::as_str) == Some(name))
        .and_then(|row| number(row.get("shards")?))
}

/// One shard copy of a `_cat/shards?format=json` reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardCopy {
    /// `index`.
    pub index: String,
    /// `shard`.
    pub shard: u32,
    /// `prirep` is `p`.
    pub primary: bool,
    /// `state`: `STARTED`, `RELOCATING`, `INITIALIZING` or `UNASSIGNED`.
    pub state: String,
    /// `node`: the node's name (a relocating copy: `<from> -> <address> <id> <to>`); `None`
    /// while unassigned.
    pub node: Option<String>,
}

/// Parses `_cat/shards?format=json`; rows it cannot read are left out.
pub fn shard_copies(v: &Value) -> Vec<ShardCopy> {
    let Some(rows) = v.as_array() else {
        return Vec::new();
    };
    rows.iter()
        .filter_map(|row| {
            Some(ShardCopy {
                index: row.get("index")?.as_str()?.to_owned(),
                shard: u32::try_from(number(row.get("shard")?)?).ok()?,
                primary: row.get("prirep")?.as_str()? == "p",
                state: row.get("state")?.as_str()?.to_owned(),
                node: row.get("node").and_then(Value::as_str).map(str::to_owned),
            })
        })
        .collect()
}

/// One node's decision in an allocation explain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeDecision {
    /// `node_name`.
    pub node: String,
    /// `node_decision`: `yes`, `no`, `throttled`, `worse_balance`, ...
    pub decision: String,
    /// The deciders that said `NO` or `THROTTLE`: `[<decider>] <explanation>`.
    pub reasons: Vec<String>,
}

/// An allocation explain of an assigned copy (`_cluster/allocation/explain` with
/// `current_node`). The field names are the same on Elasticsearch 7.10 and OpenSearch 2/3.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explain {
    /// `current_state` (`started`, `relocating`, ...).
    pub current_state: String,
    /// `can_remain_on_current_node`: `yes` or `no`.
    pub can_remain: String,
    /// `can_move_to_other_node` (`yes` or `no`; present only when the copy may not remain; a
    /// move throttled for now also says `no`: see [`Explain::nodes`]).
    pub can_move: Option<String>,
    /// `move_explanation` (or `rebalance_explanation`).
    pub explanation: String,
    /// The deciders that say the copy may not remain: `[<decider>] <explanation>`.
    pub remain_reasons: Vec<String>,
    /// `node_allocation_decisions`: every other node's decision.
    pub nodes: Vec<NodeDecision>,
}

fn reasons(deciders: Option<&Value>) -> Vec<String> {
    deciders
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter(|d| {
                    d.get("decision")
                        .and_then(Value::as_str)
                        .is_some_and(|s| !s.eq_ignore_ascii_case("YES"))
                })
                .map(|d| {
                    format!(
                        "[{}] {}",
                        d.get("decider").and_then(Value::as_str).unwrap_or("?"),
                        d.get("explanation").and_then(Value::as_str).unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Parses an allocation explain of an assigned copy; `None` without
/// `can_remain_on_current_node`.
pub fn explain(v: &Value) -> Option<Explain> {
    let text = |key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    Some(Explain {
        current_state: text("current_state").unwrap_or_default(),
        can_remain: text("can_remain_on_current_node")?,
        can_move: text("can_move_to_other_node"),
        explanation: text("move_explanation")
            .or_else(|| text("rebalance_explanation"))
            .unwrap_or_default(),
        remain_reasons: reasons(v.get("can_remain_decisions")),
        nodes: v
            .get("node_allocation_decisions")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|n| NodeDecision {
                        node: n
                            .get("node_name")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        decision: n
                            .get("node_decision")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        reasons: reasons(n.get("deciders")),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// Cluster health and shard counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Health {
    /// `Green`, `Yellow` or `Red`.
    pub status: String,
    /// Relocating shards.
    pub relocating: i32,
    /// Initialising shards.
    pub initializing: i32,
    /// Unassigned shards.
    pub unassigned: i32,
}

/// Parses `_cluster/health`; the status capitalised as the Pilot API spells it.
pub fn health(v: &Value) -> Option<Health> {
    let status = v.get("status")?.as_str()?;
    let mut chars = status.chars();
    let status = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return None,
    };
    let count = |key: &str| {
        v.get(key)
            .and_then(number)
            .and_then(|n| i32::try_from(n).ok())
            .unwrap_or(0)
    };
    Some(Health {
        status,
        relocating: count("relocating_shards"),
        initializing: count("initializing_shards"),
        unassigned: count("unassigned_shards"),
    })
}

/// A flat cluster setting as persistent and transient values (`_cluster/settings?flat_settings`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SettingLayers {
    /// The persistent value.
    pub persistent: Option<String>,
    /// The transient value (wins over the persistent one).
    pub transient: Option<String>,
}

impl SettingLayers {
    /// The value in effect.
    pub fn effective(&self) -> Option<&str> {
        self.transient.as_deref().or(self.persistent.as_deref())
    }
}

/// The layers of setting `key` in a flat `_cluster/settings` reply.
pub fn setting(v: &Value, key: &str) -> SettingLayers {
    let layer = |name: &str| {
        let value = v.get(name)?.get(key)?;
        match value {
            Value::String(s) => Some(s.clone()),
            Value::Array(a) => Some(
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    };
    SettingLayers {
        persistent: layer("persistent"),
        transient: layer("transient"),
    }
}

/// One voting configuration exclusion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VotingExclusion {
    /// The node id (`_absent_` when added by name for a node not in the cluster).
    pub node_id: String,
    /// The node name (`_absent_` when added by id for a node not in the cluster).
    pub node_name: String,
}

/// The voting configuration exclusions of a `_cluster/state/metadata` reply.
pub fn voting_exclusions(v: &Value) -> Vec<VotingExclusion> {
    v.pointer("/metadata/cluster_coordination/voting_config_exclusions")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|e| VotingExclusion {
                    node_id: e
                        .get("node_id")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    node_name: e
                        .get("node_name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn parses_replies() {
        let r = root(
            &json!({"name": "n0", "cluster_name": "c", "cluster_uuid": "u",
            "version": {"distribution": "opensearch", "number": "2.19.6"}}),
        );
        assert_eq!(
            r,
            Some(RootInfo {
                name: "n0".into(),
                cluster_uuid: "u".into(),
                version: "2.19.6".into()
            })
        );
        let n = nodes(&json!({"nodes": {
            "id1": {"name": "b", "roles": ["data", "cluster_manager"], "version": "2.19.6"},
            "id0": {"name": "a", "roles": ["master"]}}}));
        assert_eq!(n.len(), 2);
        assert_eq!(n[0].name, "a");
        assert_eq!(
            n[1].roles,
            vec!["data".to_owned(), "cluster_manager".to_owned()]
        );
        assert_eq!(n[1].version.as_deref(), Some("2.19.6"));
        assert_eq!(nodes(&json!({})), vec![]);
        assert_eq!(
            master(&json!({"cluster_name": "c", "master_node": "id1"})).as_deref(),
            Some("id1")
        );
        assert_eq!(master(&json!({"cluster_name": "c"})), None);
        assert_eq!(master(&json!({"master_node": null})), None);
        assert_eq!(
            local_docs(&json!({"nodes": {"x": {"indices": {"docs": {"count": 1000}}}}})),
            Some(1000)
        );
        let alloc = json!([{"shards": "3", "node": "a"}, {"shards": "2", "node": "UNASSIGNED"}, {"shards": 0, "node": "b"}]);
        assert_eq!(allocation_shards(&alloc, "a"), Some(3));
        assert_eq!(allocation_shards(&alloc, "b"), Some(0));
        assert_eq!(allocation_shards(&alloc, "c"), None);
        assert_eq!(
            health(
                &json!({"status": "yellow", "relocating_shards": 1, "initializing_shards": 2, "unassigned_shards": 3})
            ),
            Some(Health {
                status: "Yellow".into(),
                relocating: 1,
                initializing: 2,
                unassigned: 3
            })
        );
        let settings = json!({"persistent": {"cluster.routing.allocation.exclude._name": "a,b",
            "cluster.routing.allocation.exclude._ip": "10.0.0.1"}, "transient": {}});
        let layers = setting(&settings, EXCLUDE_NAME);
        assert_eq!(layers.persistent.as_deref(), Some("a,b"));
        assert_eq!(layers.effective(), Some("a,b"));
        let both =
            json!({"persistent": {EXCLUDE_NAME: "a"}, "transient": {EXCLUDE_NAME: ["c", "d"]}});
        assert_eq!(setting(&both, EXCLUDE_NAME).effective(), Some("c,d"));
        assert_eq!(
            voting_exclusions(
                &json!({"metadata": {"cluster_coordination": {"voting_config_exclusions": [
                {"node_id": "id2", "node_name": "c"}]}}})
            ),
            vec![VotingExclusion {
                node_id: "id2".into(),
                node_name: "c".into()
            }]
        );
        assert_eq!(voting_exclusions(&json!({})), vec![]);
        assert_eq!(
            add_voting_exclusions_path(&["a".into(), "b".into()], false),
            "/_cluster/voting_config_exclusions?node_names=a,b&timeout=30s"
        );
        assert_eq!(
            add_voting_exclusions_path(&["a".into()], true),
            "/_cluster/voting_config_exclusions/a?timeout=30s"
        );
    }

    #[test]
    fn parses_shards_and_explains() {
        let rows = json!([
            {"index": "r", "shard": "0", "prirep": "p", "state": "STARTED", "node": "real-0"},
            {"index": "r", "shard": "0", "prirep": "r", "state": "RELOCATING",
             "node": "real-1 -> 127.0.0.1 abc real-2"},
            {"index": "u", "shard": "1", "prirep": "r", "state": "UNASSIGNED", "node": null},
            {"index": "bad", "shard": "x", "prirep": "p", "state": "STARTED", "node": "real-0"}
        ]);
        let copy = |index: &str, shard, primary, state: &str, node: Option<&str>| ShardCopy {
            index: index.into(),
            shard,
            primary,
            state: state.into(),
            node: node.map(str::to_owned),
        };
        assert_eq!(
            shard_copies(&rows),
            vec![
                copy("r", 0, true, "STARTED", Some("real-0")),
                copy(
                    "r",
                    0,
                    false,
                    "RELOCATING",
                    Some("real-1 -> 127.0.0.1 abc real-2")
                ),
                copy("u", 1, false, "UNASSIGNED", None),
            ]
        );
        assert_eq!(shard_copies(&json!({})), vec![]);
        assert_eq!(
            explain_body("r", 1, false, "real-1"),
            json!({"index": "r", "shard": 1, "primary": false, "current_node": "real-1"})
        );
        // As OpenSearch 2.19.6 answers (Elasticsearch 7.10.2 and OpenSearch 3.6.0 alike).
        let reply = json!({"index": "r", "shard": 0, "primary": false, "current_state": "started",
            "current_node": {"id": "y", "name": "real-1"},
            "can_remain_on_current_node": "no",
            "can_remain_decisions": [{"decider": "filter", "decision": "NO",
                "explanation": "node matches cluster setting [cluster.routing.allocation.exclude] filters [_name:\"real-1\"]"}],
            "can_move_to_other_node": "no",
            "move_explanation": "cannot move shard to another node, even though it is not allowed to remain on its current node",
            "node_allocation_decisions": [{"node_id": "c", "node_name": "real-0", "node_decision": "no",
                "weight_ranking": 1, "deciders": [
                    {"decider": "same_shard", "decision": "NO", "explanation": "a copy of this shard is already allocated to this node"},
                    {"decider": "other", "decision": "YES", "explanation": "fine"}]}]});
        assert_eq!(
            explain(&reply),
            Some(Explain {
                current_state: "started".into(),
                can_remain: "no".into(),
                can_move: Some("no".into()),
                explanation: "cannot move shard to another node, even though it is not allowed to remain on its current node".into(),
                remain_reasons: vec!["[filter] node matches cluster setting [cluster.routing.allocation.exclude] filters [_name:\"real-1\"]".into()],
                nodes: vec![NodeDecision {
                    node: "real-0".into(),
                    decision: "no".into(),
                    reasons: vec!["[same_shard] a copy of this shard is already allocated to this node".into()],
                }],
            })
        );
        let remain = json!({"current_state": "started", "can_remain_on_current_node": "yes",
            "can_rebalance_cluster": "yes", "rebalance_explanation": "cannot rebalance as no target node exists that can both allocate this shard and improve the cluster balance"});
        let e = explain(&remain).expect("an explain");
        assert_eq!((e.can_remain.as_str(), e.can_move), ("yes", None));
        assert!(e.explanation.starts_with("cannot rebalance"));
        assert_eq!(explain(&json!({"error": "x"})), None);
    }
}
