//! The node's facts: what one round of Jolokia reads says about the node, parsed into typed
//! values (pure), and their form in the Pilot's status.

use navigator_api::v1beta1::{CassandraPeers, CassandraPilotStatus};
use navigator_api::version::CassandraVersion;
use serde_json::Value;

use crate::jolokia::{ENDPOINT_SNITCH_INFO, Reply, Request, STORAGE_SERVICE};
use crate::mode::OperationMode;

/// What the node says about itself; a field is None when its read failed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeFacts {
    /// `ReleaseVersion`, e.g. `5.0.8`.
    pub release_version: Option<String>,
    /// `LocalHostId`.
    pub host_id: Option<String>,
    /// `OperationMode`.
    pub operation_mode: Option<OperationMode>,
    /// Bytes on disk (the `Storage` metric `Load`), exact; the status rounds it.
    pub load_bytes: Option<i64>,
    /// Number of this node's `Tokens`.
    pub tokens: Option<usize>,
    /// Peers seen up (`LiveNodes`, this node included).
    pub live: Option<Vec<String>>,
    /// Peers seen down (`UnreachableNodes`). Gossip keeps a node that left the ring (for three
    /// days) and lists it here once it is marked down; [`NodeFacts::to_status`] reports only
    /// the unreachable nodes that are still ring members.
    pub unreachable: Option<Vec<String>>,
    /// The ring's members: the addresses of `EndpointToHostId` (nodes that own or are taking
    /// tokens; a node that left is gone from it).
    pub ring_members: Option<Vec<String>>,
    /// `JoiningNodes`.
    pub joining: Option<Vec<String>>,
    /// `LeavingNodes`.
    pub leaving: Option<Vec<String>>,
    /// `MovingNodes`.
    pub moving: Option<Vec<String>>,
    /// `NativeTransportRunning`: CQL is served.
    pub native_transport_running: Option<bool>,
    /// The snitch's `Datacenter` of this node.
    pub datacenter: Option<String>,
    /// The snitch's `Rack` of this node.
    pub rack: Option<String>,
    /// Reads that failed, as `Attribute: error` lines.
    pub errors: Vec<String>,
}

/// The reads of one observation, in the order [`parse`] expects.
pub fn requests() -> Vec<Request> {
    READS
        .iter()
        .map(|(mbean, attribute)| Request::read(mbean, attribute))
        .collect()
}

/// Bytes on disk: the `Storage` metric's `Load` counter (5.0's StorageService has no `Load`
/// attribute any more, only the human-readable `LoadString`).
pub const STORAGE_LOAD_METRIC: &str = "org.apache.cassandra.metrics:type=Storage,name=Load";

const READS: [(&str, &str); 14] = [
    (STORAGE_SERVICE, "ReleaseVersion"),
    (STORAGE_SERVICE, "LocalHostId"),
    (STORAGE_SERVICE, "OperationMode"),
    (STORAGE_LOAD_METRIC, "Count"),
    (STORAGE_SERVICE, "Tokens"),
    (STORAGE_SERVICE, "LiveNodes"),
    (STORAGE_SERVICE, "UnreachableNodes"),
    (STORAGE_SERVICE, "JoiningNodes"),
    (STORAGE_SERVICE, "LeavingNodes"),
    (STORAGE_SERVICE, "MovingNodes"),
    (STORAGE_SERVICE, "NativeTransportRunning"),
    (ENDPOINT_SNITCH_INFO, "Datacenter"),
    (ENDPOINT_SNITCH_INFO, "Rack"),
    (STORAGE_SERVICE, "EndpointToHostId"),
];

/// Parses the replies to [`requests`].
pub fn parse(replies: &[Reply]) -> NodeFacts {
    let mut f = NodeFacts::default();
    for ((mbean, attribute), reply) in READS.iter().zip(replies) {
        let name = if *mbean == STORAGE_LOAD_METRIC {
            "Load"
        } else {
            attribute
        };
        let Some(v) = reply.value() else {
            f.errors.push(format!("{name}: {}", reply.describe()));
            continue;
        };
        let ok = match name {
            "ReleaseVersion" => set(&mut f.release_version, string(v)),
            "LocalHostId" => set(&mut f.host_id, string(v)),
            "OperationMode" => set(
                &mut f.operation_mode,
                string(v).as_deref().map(OperationMode::parse),
            ),
            "Load" => set(&mut f.load_bytes, number(v)),
            "Tokens" => set(&mut f.tokens, strings(v).map(|t| t.len())),
            "LiveNodes" => set(&mut f.live, strings(v)),
            "UnreachableNodes" => set(&mut f.unreachable, strings(v)),
            "JoiningNodes" => set(&mut f.joining, strings(v)),
            "LeavingNodes" => set(&mut f.leaving, strings(v)),
            "MovingNodes" => set(&mut f.moving, strings(v)),
            "NativeTransportRunning" => set(&mut f.native_transport_running, v.as_bool()),
            "Datacenter" => set(&mut f.datacenter, string(v)),
            "Rack" => set(&mut f.rack, string(v)),
            "EndpointToHostId" => set(&mut f.ring_members, keys(v)),
            _ => true,
        };
        if !ok {
            f.errors.push(format!("{name}: unexpected value {v}"));
        }
    }
    if replies.len() < READS.len() {
        f.errors.push(format!("only {} replies", replies.len()));
    }
    f
}

fn set<T>(slot: &mut Option<T>, value: Option<T>) -> bool {
    let ok = value.is_some();
    *slot = value;
    ok
}

fn string(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

fn number(v: &Value) -> Option<i64> {
    // A counter is a Java long; Jolokia may send a number or a string.
    if let Some(n) = v.as_i64() {
        return (n >= 0).then_some(n);
    }
    let f = v.as_f64().or_else(|| v.as_str()?.parse().ok())?;
    (f.is_finite() && f >= 0.0).then_some(f as i64)
}

fn keys(v: &Value) -> Option<Vec<String>> {
    let mut k: Vec<String> = v.as_object()?.keys().cloned().collect();
    k.sort();
    Some(k)
}

fn strings(v: &Value) -> Option<Vec<String>> {
    let mut s: Vec<String> = v
        .as_array()?
        .iter()
        .map(|x| x.as_str().map(str::to_owned))
        .collect::<Option<_>>()?;
    s.sort();
    Some(s)
}

/// `n` rounded to two significant digits (147_743 → 150_000). The status reports the load
/// this coarsely so that a node under writes does not change its Pilot's status (and cause a
/// write to the API) every second; a change of a few percent still shows.
pub fn two_significant_digits(n: i64) -> i64 {
    if n < 100 {
        return n;
    }
    let mut scale = 1i64;
    while n / scale >= 100 {
        scale *= 10;
    }
    ((n + scale / 2) / scale) * scale
}

impl NodeFacts {
    /// The facts as the Pilot's `status.cassandra`.
    pub fn to_status(&self) -> CassandraPilotStatus {
        let peers = CassandraPeers {
            live: self.live.clone().unwrap_or_default(),
            unreachable: self.unreachable_members(),
            joining: self.joining.clone().unwrap_or_default(),
            leaving: self.leaving.clone().unwrap_or_default(),
            moving: self.moving.clone().unwrap_or_default(),
        };
        let any_peers = self.live.is_some() || self.unreachable.is_some();
        CassandraPilotStatus {
            version: self
                .release_version
                .as_deref()
                .and_then(|v| CassandraVersion::parse(v).ok()),
            host_id: self.host_id.clone(),
            datacenter: self.datacenter.clone(),
            rack: self.rack.clone(),
            operation_mode: self.operation_mode.as_ref().map(|m| m.as_str().to_owned()),
            tokens: self.tokens.and_then(|t| i32::try_from(t).ok()),
            load_bytes: self.load_bytes.map(two_significant_digits),
            peers: any_peers.then_some(peers),
        }
    }

    /// The unreachable nodes that are ring members (all of them when membership is unknown): a
    /// node that left the ring is not a peer any more, even while gossip still lists it.
    pub fn unreachable_members(&self) -> Vec<String> {
        let unreachable = self.unreachable.iter().flatten();
        match &self.ring_members {
            Some(members) => unreachable
                .filter(|u| members.contains(u))
                .cloned()
                .collect(),
            None => unreachable.cloned().collect(),
        }
    }

    /// Peers of this node that are up and NORMAL members of the ring (neither joining,
    /// leaving nor moving), `self_address` excluded.
    pub fn normal_live_peers(&self, self_address: &str) -> Vec<String> {
        let busy = |p: &String| {
            [&self.joining, &self.leaving, &self.moving]
                .iter()
                .any(|l| l.as_ref().is_some_and(|l| l.contains(p)))
        };
        self.live
            .iter()
            .flatten()
            .filter(|p| p.as_str() != self_address && !busy(p))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn v(x: Value) -> Reply {
        Reply::Value(x)
    }

    #[test]
    fn replies_become_facts_and_failed_reads_are_named() {
        let replies = vec![
            v(json!("5.0.8")),
            v(json!("6f0b7c3e-0000-4000-8000-000000000001")),
            v(json!("NORMAL")),
            v(json!(104857.0)),
            v(json!(["-1", "2", "3"])),
            v(json!(["10.0.0.2", "10.0.0.1"])),
            v(json!([])),
            v(json!([])),
            v(json!(["10.0.0.3"])),
            v(json!([])),
            v(json!(true)),
            Reply::Error {
                status: 404,
                error_type: "javax.management.InstanceNotFoundException".into(),
                error: "gone".into(),
            },
            v(json!(42)),
            v(json!({"10.0.0.1": "h1", "10.0.0.2": "h2", "10.0.0.3": "h3"})),
        ];
        let f = parse(&replies);
        assert_eq!(f.release_version.as_deref(), Some("5.0.8"));
        assert_eq!(f.operation_mode, Some(OperationMode::Normal));
        assert_eq!(f.load_bytes, Some(104857));
        assert_eq!(f.tokens, Some(3));
        assert_eq!(f.live, Some(vec!["10.0.0.1".into(), "10.0.0.2".into()]));
        assert_eq!(f.native_transport_running, Some(true));
        assert_eq!(f.datacenter, None);
        assert_eq!(f.rack, None);
        assert_eq!(
            f.errors,
            [
                "Datacenter: 404 javax.management.InstanceNotFoundException: gone",
                "Rack: unexpected value 42"
            ]
        );
        let s = f.to_status();
        assert_eq!(s.version.map(|v| v.to_string()).as_deref(), Some("5.0.8"));
        assert_eq!(s.operation_mode.as_deref(), Some("NORMAL"));
        assert_eq!(s.tokens, Some(3));
        assert_eq!(s.load_bytes, Some(100_000));
        assert_eq!(s.peers.unwrap().leaving, ["10.0.0.3"]);
    }

    #[test]
    fn a_node_that_left_the_ring_is_not_reported_unreachable() {
        let facts = |members: Option<&[&str]>| NodeFacts {
            live: Some(vec!["10.0.0.1".into(), "10.0.0.2".into()]),
            // .9 left the ring (decommissioned, its pod gone); .3 is a member that is down.
            unreachable: Some(vec!["10.0.0.3".into(), "10.0.0.9".into()]),
            ring_members: members.map(|m| m.iter().map(|s| s.to_string()).collect()),
            ..NodeFacts::default()
        };
        let members = ["10.0.0.1", "10.0.0.2", "10.0.0.3"];
        assert_eq!(facts(Some(&members)).unreachable_members(), ["10.0.0.3"]);
        assert_eq!(
            facts(Some(&members)).to_status().peers.unwrap().unreachable,
            ["10.0.0.3"]
        );
        // Membership unknown (its read failed): every unreachable node is reported.
        assert_eq!(facts(None).unreachable_members(), ["10.0.0.3", "10.0.0.9"]);
    }

    #[test]
    fn normal_live_peers_leave_out_self_and_busy_nodes() {
        let f = NodeFacts {
            live: Some(vec!["a".into(), "b".into(), "c".into(), "d".into()]),
            joining: Some(vec!["c".into()]),
            leaving: Some(vec!["d".into()]),
            moving: Some(vec![]),
            ..NodeFacts::default()
        };
        assert_eq!(f.normal_live_peers("a"), ["b"]);
        assert!(NodeFacts::default().normal_live_peers("a").is_empty());
    }

    #[test]
    fn load_is_reported_to_two_significant_digits() {
        for (n, want) in [
            (0, 0),
            (99, 99),
            (104_857, 100_000),
            (147_743, 150_000),
            (4_496_145, 4_500_000),
            (9_960_000, 10_000_000),
        ] {
            assert_eq!(two_significant_digits(n), want, "{n}");
        }
    }

    #[test]
    fn nothing_known_gives_an_empty_status() {
        assert_eq!(
            NodeFacts::default().to_status(),
            CassandraPilotStatus::default()
        );
    }
}
