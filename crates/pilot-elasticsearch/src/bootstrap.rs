//! Whether this node forms a new cluster (and so gets `cluster.initial_master_nodes`, or
//! OpenSearch 2+'s `cluster.initial_cluster_manager_nodes`) or joins one. Forming is only for
//! the very first start of a cluster: a node whose data directory holds node state, or that
//! can reach a node of a formed cluster through the discovery Service, joins. Setting the
//! initial masters on a node that joins an existing cluster can form a second cluster (split
//! brain), so every doubt means "join". Besides the node's own data and the discovery probe,
//! the cluster's Pilots are asked: a Pilot (this node's own included) that carries the
//! cluster-UUID annotation ([`ELASTICSEARCH_CLUSTER_UUID_ANNOTATION`], set by its pilot once the
//! node joined a formed cluster, and never removed) or reports shards was on a node that had
//! joined the cluster, so the cluster exists even when DNS does not show its nodes yet (a pod
//! that lost its volume, a slow DNS). The annotation is what makes this hold after the node
//! stopped: `shards` is only reported while the node sees an elected master, and a node's last
//! report before it stops may not have one.

use std::path::Path;

use navigator_api::pilot_contract::ELASTICSEARCH_CLUSTER_UUID_ANNOTATION;
use navigator_api::v1beta1::Pilot;

use crate::flavor::Dialect;
use crate::roles::Role;

/// What the probe of one discovery address found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerState {
    /// The node answers and belongs to a formed cluster (its `cluster_uuid` is set).
    Formed {
        /// The cluster's UUID.
        cluster_uuid: String,
    },
    /// The node answers but has not joined a cluster yet (`cluster_uuid` is `_na_`).
    Forming,
    /// No answer (not started yet, or not reachable).
    Unreachable(String),
}

/// What the pilot gathered before the start.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BootstrapFacts {
    /// The data directory holds node state (the node was started on it before).
    pub has_node_state: bool,
    /// Every discovery address except the pod's own, with what its probe found.
    pub peers: Vec<(String, PeerState)>,
    /// The cluster's Pilots that record or report a node that joined the cluster
    /// ([`joined_pilots`]).
    pub joined_pilots: Vec<String>,
    /// Why the cluster's Pilots could not be read, when they could not (then nobody can say
    /// the cluster never formed: the node joins).
    pub pilots_unknown: Option<String>,
}

/// The decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Bootstrap {
    /// Form a new cluster with these initial master-eligible nodes.
    Form(Vec<String>),
    /// Join an existing cluster (no initial masters), and why.
    Join(String),
}

/// Decides whether `node_name` forms the cluster. `configured` is `--initial-master-nodes`;
/// when empty, a master-eligible node whose name ends in `-0` forms the cluster alone.
pub fn decide(
    dialect: Dialect,
    roles: &[Role],
    node_name: &str,
    configured: &[String],
    facts: &BootstrapFacts,
) -> Bootstrap {
    if dialect.initial_masters_setting().is_none() {
        return Bootstrap::Join(
            "Elasticsearch 6 forms its cluster with discovery.zen.minimum_master_nodes".into(),
        );
    }
    if !roles.contains(&Role::Master) {
        return Bootstrap::Join("the node is not master-eligible".into());
    }
    if facts.has_node_state {
        return Bootstrap::Join("the data directory holds node state".into());
    }
    if let Some((addr, PeerState::Formed { cluster_uuid })) = facts
        .peers
        .iter()
        .find(|(_, s)| matches!(s, PeerState::Formed { .. }))
    {
        return Bootstrap::Join(format!(
            "{addr} belongs to the formed cluster {cluster_uuid}"
        ));
    }
    if let Some(pilot) = facts.joined_pilots.first() {
        return Bootstrap::Join(format!(
            "Pilot {pilot} reports a node that joined the cluster"
        ));
    }
    if let Some(why) = &facts.pilots_unknown {
        return Bootstrap::Join(format!(
            "the cluster's Pilots could not be read ({why}), so nothing shows the cluster never formed"
        ));
    }
    let masters: Vec<String> = configured
        .iter()
        .map(|m| m.trim().to_owned())
        .filter(|m| !m.is_empty())
        .collect();
    if !masters.is_empty() {
        if !masters.iter().any(|m| m == node_name) {
            return Bootstrap::Join(format!(
                "{node_name} is not one of the initial master nodes"
            ));
        }
        return Bootstrap::Form(masters);
    }
    if node_name.ends_with("-0") {
        Bootstrap::Form(vec![node_name.to_owned()])
    } else {
        Bootstrap::Join(
            "no initial master nodes are configured and this is not the first pod".into(),
        )
    }
}

/// The names of the Pilots whose node had joined a cluster: they carry the cluster-UUID
/// annotation ([`recorded_cluster_uuid`]) or their status reports shards; sorted and without
/// duplicates.
pub fn joined_pilots<'a>(pilots: impl IntoIterator<Item = &'a Pilot>) -> Vec<String> {
    let mut names: Vec<String> = pilots
        .into_iter()
        .filter(|p| {
            recorded_cluster_uuid(p).is_some()
                || p.status
                    .elasticsearch
                    .as_ref()
                    .is_some_and(|e| e.shards.is_some())
        })
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The cluster UUID a Pilot's annotation records (`None` when absent, empty or `_na_`).
pub fn recorded_cluster_uuid(pilot: &Pilot) -> Option<&str> {
    pilot
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(ELASTICSEARCH_CLUSTER_UUID_ANNOTATION))
        .map(String::as_str)
        .filter(|u| formed_uuid(u))
}

/// Whether a `cluster_uuid` names a formed cluster (not empty, not `_na_`).
fn formed_uuid(uuid: &str) -> bool {
    !uuid.trim().is_empty() && uuid != "_na_"
}

/// The cluster UUID the pilot records on its Pilot now, if any: the node sees an elected
/// master (`master_elected`) and `GET /` names a formed cluster (`root_uuid`), and neither the
/// Pilot as last seen (`on_pilot`) nor the pilot's last successful record (`written`) holds
/// that UUID already. A different recorded UUID is replaced (the node joined another cluster).
pub fn uuid_to_record(
    master_elected: bool,
    root_uuid: Option<&str>,
    on_pilot: Option<&str>,
    written: Option<&str>,
) -> Option<String> {
    let uuid = root_uuid.filter(|u| master_elected && formed_uuid(u))?;
    if on_pilot == Some(uuid) || written == Some(uuid) {
        return None;
    }
    Some(uuid.to_owned())
}

/// The metadata merge patch that records `uuid` on a Pilot.
pub fn record_patch(uuid: &str) -> serde_json::Value {
    serde_json::json!({
        "metadata": {"annotations": {ELASTICSEARCH_CLUSTER_UUID_ANNOTATION: uuid}}
    })
}

/// Whether `data_dir` holds node state: `nodes/<n>/_state` (Elasticsearch 6 and 7,
/// OpenSearch) or `_state` (Elasticsearch 8).
pub fn has_node_state(data_dir: &Path) -> bool {
    if data_dir.join("_state").is_dir() {
        return true;
    }
    let Ok(entries) = std::fs::read_dir(data_dir.join("nodes")) else {
        return false;
    };
    entries
        .filter_map(Result::ok)
        .any(|e| e.path().join("_state").is_dir())
}

/// The `cluster_uuid` of a root (`GET /`) reply: `Formed` unless it is `_na_` or missing.
pub fn peer_state_from_root(root: &serde_json::Value) -> PeerState {
    match root.get("cluster_uuid").and_then(|u| u.as_str()) {
        Some(uuid) if !uuid.is_empty() && uuid != "_na_" => PeerState::Formed {
            cluster_uuid: uuid.to_owned(),
        },
        _ => PeerState::Forming,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flavor::Flavor;
    use pretty_assertions::assert_eq;

    fn d(flavor: Flavor, v: &str) -> Dialect {
        Dialect::new(flavor, v).expect("dialect")
    }

    #[test]
    fn decisions() {
        let os = d(Flavor::Opensearch, "2.19.6");
        let es6 = d(Flavor::Elasticsearch, "6.8.23");
        let all = [Role::Master, Role::Data, Role::Ingest];
        let data = [Role::Data];
        let three: Vec<String> = ["es-0", "es-1", "es-2"].map(String::from).to_vec();
        let fresh = BootstrapFacts::default();
        let state = BootstrapFacts {
            has_node_state: true,
            ..BootstrapFacts::default()
        };
        let joined_pilot = BootstrapFacts {
            joined_pilots: vec!["es-1".into()],
            ..BootstrapFacts::default()
        };
        let pilots_unknown = BootstrapFacts {
            pilots_unknown: Some("no answer within 5 s".into()),
            ..BootstrapFacts::default()
        };
        let formed_peer = BootstrapFacts {
            pilots_unknown: None,
            joined_pilots: Vec::new(),
            has_node_state: false,
            peers: vec![
                ("10.0.0.2".into(), PeerState::Unreachable("refused".into())),
                (
                    "10.0.0.3".into(),
                    PeerState::Formed {
                        cluster_uuid: "u1".into(),
                    },
                ),
            ],
        };
        let forming_peers = BootstrapFacts {
            pilots_unknown: None,
            joined_pilots: Vec::new(),
            has_node_state: false,
            peers: vec![
                ("10.0.0.2".into(), PeerState::Forming),
                ("10.0.0.3".into(), PeerState::Unreachable("timeout".into())),
            ],
        };
        let form3 = Bootstrap::Form(three.clone());
        type Case<'a> = (
            &'a str,
            Dialect,
            &'a [Role],
            &'a str,
            &'a [String],
            &'a BootstrapFacts,
            Bootstrap,
        );
        let cases: Vec<Case<'_>> = vec![
            (
                "fresh, listed",
                os,
                &all,
                "es-1",
                &three,
                &fresh,
                form3.clone(),
            ),
            (
                "peers still forming",
                os,
                &all,
                "es-2",
                &three,
                &forming_peers,
                form3.clone(),
            ),
            (
                "not listed",
                os,
                &all,
                "es-3",
                &three,
                &fresh,
                Bootstrap::Join("es-3 is not one of the initial master nodes".into()),
            ),
            (
                "restart on data",
                os,
                &all,
                "es-0",
                &three,
                &state,
                Bootstrap::Join("the data directory holds node state".into()),
            ),
            (
                "formed peer",
                os,
                &all,
                "es-0",
                &three,
                &formed_peer,
                Bootstrap::Join("10.0.0.3 belongs to the formed cluster u1".into()),
            ),
            (
                "data-only",
                os,
                &data,
                "es-0",
                &three,
                &fresh,
                Bootstrap::Join("the node is not master-eligible".into()),
            ),
            (
                "zen",
                es6,
                &all,
                "es-0",
                &three,
                &fresh,
                Bootstrap::Join(
                    "Elasticsearch 6 forms its cluster with discovery.zen.minimum_master_nodes"
                        .into(),
                ),
            ),
            (
                "unset, first pod",
                os,
                &all,
                "es-0",
                &[],
                &fresh,
                Bootstrap::Form(vec!["es-0".into()]),
            ),
            (
                "a Pilot says the cluster exists",
                os,
                &all,
                "es-0",
                &[],
                &joined_pilot,
                Bootstrap::Join("Pilot es-1 reports a node that joined the cluster".into()),
            ),
            (
                "the Pilots could not be read: a doubt means join",
                os,
                &all,
                "es-0",
                &[],
                &pilots_unknown,
                Bootstrap::Join(
                    "the cluster's Pilots could not be read (no answer within 5 s), so nothing shows the cluster never formed"
                        .into(),
                ),
            ),
            (
                "a Pilot says so, masters listed",
                os,
                &all,
                "es-0",
                &three,
                &joined_pilot,
                Bootstrap::Join("Pilot es-1 reports a node that joined the cluster".into()),
            ),
            (
                "unset, first pod restarted",
                os,
                &all,
                "es-0",
                &[],
                &state,
                Bootstrap::Join("the data directory holds node state".into()),
            ),
            (
                "unset, other pod",
                os,
                &all,
                "es-1",
                &[],
                &fresh,
                Bootstrap::Join(
                    "no initial master nodes are configured and this is not the first pod".into(),
                ),
            ),
        ];
        for (name, dialect, roles, node, configured, facts, want) in cases {
            assert_eq!(
                decide(dialect, roles, node, configured, facts),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn pilots_that_joined() {
        use navigator_api::v1beta1::ElasticsearchPilotStatus;
        let pilot = |name: &str, shards: Option<i64>, facts: bool| {
            let mut p = Pilot::default();
            p.metadata.name = Some(name.into());
            if facts {
                p.status.elasticsearch = Some(ElasticsearchPilotStatus {
                    node_id: Some("id".into()),
                    shards,
                    ..ElasticsearchPilotStatus::default()
                });
            }
            p
        };
        let annotated = |name: &str, uuid: &str, facts: bool| {
            let mut p = pilot(name, None, facts);
            p.metadata.annotations = Some(
                [(
                    ELASTICSEARCH_CLUSTER_UUID_ANNOTATION.to_owned(),
                    uuid.to_owned(),
                )]
                .into(),
            );
            p
        };
        let pilots = [
            pilot("es-2", Some(0), true),
            pilot("es-1", None, true),
            pilot("es-0", None, false),
            pilot("es-2", Some(3), true),
            pilot("es-3", Some(5), true),
        ];
        assert_eq!(
            joined_pilots(&pilots),
            vec!["es-2".to_owned(), "es-3".to_owned()]
        );
        assert_eq!(joined_pilots(&[]), Vec::<String>::new());
        // The marker counts without any status (the node stopped without a master in sight).
        let marked = [
            annotated("es-0", "u1", false),
            annotated("es-1", "u1", true),
            annotated("es-4", "_na_", false),
            annotated("es-5", "", true),
            pilot("es-6", None, true),
        ];
        assert_eq!(
            joined_pilots(&marked),
            vec!["es-0".to_owned(), "es-1".to_owned()]
        );
        assert_eq!(recorded_cluster_uuid(&marked[0]), Some("u1"));
        assert_eq!(recorded_cluster_uuid(&marked[2]), None);
        assert_eq!(recorded_cluster_uuid(&marked[4]), None);
    }

    #[test]
    fn when_the_cluster_uuid_is_recorded() {
        type Case<'a> = (
            &'a str,
            bool,
            Option<&'a str>,
            Option<&'a str>,
            Option<&'a str>,
            Option<&'a str>,
        );
        let cases: [Case<'_>; 9] = [
            (
                "joined, nothing recorded",
                true,
                Some("u1"),
                None,
                None,
                Some("u1"),
            ),
            ("no elected master", false, Some("u1"), None, None, None),
            ("not formed yet", true, Some("_na_"), None, None, None),
            ("empty uuid", true, Some(""), None, None, None),
            ("root unread", true, None, None, None, None),
            (
                "already on the Pilot",
                true,
                Some("u1"),
                Some("u1"),
                None,
                None,
            ),
            (
                "already written, Pilot not seen since",
                true,
                Some("u1"),
                None,
                Some("u1"),
                None,
            ),
            (
                "another cluster on the Pilot",
                true,
                Some("u2"),
                Some("u1"),
                None,
                Some("u2"),
            ),
            (
                "another cluster written",
                true,
                Some("u2"),
                Some("u1"),
                Some("u1"),
                Some("u2"),
            ),
        ];
        for (name, master, root, on_pilot, written, want) in cases {
            assert_eq!(
                uuid_to_record(master, root, on_pilot, written).as_deref(),
                want,
                "{name}"
            );
        }
        assert_eq!(
            record_patch("u1"),
            serde_json::json!({"metadata": {"annotations": {
                "navigator.jetstack.io/elasticsearch-cluster-uuid": "u1"
            }}})
        );
    }

    #[test]
    fn node_state_on_disk() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(!has_node_state(dir.path()));
        std::fs::create_dir_all(dir.path().join("nodes/0")).expect("mkdir");
        assert!(!has_node_state(dir.path()));
        std::fs::create_dir_all(dir.path().join("nodes/0/_state")).expect("mkdir");
        assert!(has_node_state(dir.path()));
        let es8 = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(es8.path().join("_state")).expect("mkdir");
        assert!(has_node_state(es8.path()));
    }

    #[test]
    fn peer_states() {
        let cases = [
            (
                serde_json::json!({"cluster_uuid": "_na_"}),
                PeerState::Forming,
            ),
            (serde_json::json!({}), PeerState::Forming),
            (
                serde_json::json!({"cluster_uuid": "abc"}),
                PeerState::Formed {
                    cluster_uuid: "abc".into(),
                },
            ),
        ];
        for (root, want) in cases {
            assert_eq!(peer_state_from_root(&root), want, "{root}");
        }
    }
}
