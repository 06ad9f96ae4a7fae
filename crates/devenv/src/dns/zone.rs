//! The record table of `cluster.local` (and the reverse zone), built purely from Services,
//! EndpointSlices and Pods, and the lookup rules the server answers by.
//!
//! What exists (as CoreDNS's `kubernetes` plugin serves it, "pods verified" mode):
//!
//! | name | records |
//! | --- | --- |
//! | `<svc>.<ns>.svc.cluster.local`, ClusterIP | A/AAAA of the ClusterIP(s) |
//! | `<svc>.<ns>.svc.cluster.local`, headless | A/AAAA of every published endpoint address |
//! | `<host>.<svc>.<ns>.svc.cluster.local`, headless | A/AAAA of that endpoint (`<host>` = endpoint hostname — StatefulSet pods, via `spec.hostname`/`spec.subdomain` — else its address with `-` for `.`/`:`) |
//! | `_<port>._<proto>.<svc>.<ns>.svc.cluster.local` | SRV per named port: ClusterIP → the service name; headless → each endpoint's name |
//! | `<svc>.<ns>.svc.cluster.local`, ExternalName | CNAME to the external name |
//! | `<a-b-c-d>.<ns>.pod.cluster.local` | A of a pod that has that IP |
//! | `d.c.b.a.in-addr.arpa` | PTR of ClusterIPs and of headless endpoints |
//!
//! An endpoint is published when its `ready` condition is not false (unset means ready) or the
//! Service has `publishNotReadyAddresses`. Names that exist only as parents of others
//! (`svc.cluster.local`, `<ns>.svc.cluster.local`) answer NODATA; other names inside the zones
//! NXDOMAIN; names outside them are refused (pods have no upstream resolver).

use std::borrow::Borrow;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointSlice};

/// The cluster domain.
pub const CLUSTER_DOMAIN: &str = "cluster.local";
/// The IPv4 reverse zone the server also answers for.
pub const REVERSE_V4: &str = "in-addr.arpa";
/// The IPv6 reverse zone (NXDOMAIN for everything but the zone itself).
pub const REVERSE_V6: &str = "ip6.arpa";
/// The label EndpointSlices carry naming their Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// One record's data; the owner name is the table's key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Record {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
    /// A service location.
    Srv {
        /// Priority (always 0).
        priority: u16,
        /// Weight (always 100).
        weight: u16,
        /// The port.
        port: u16,
        /// The target name (lower case, no trailing dot).
        target: String,
    },
    /// An alias (ExternalName Services).
    Cname(String),
    /// A reverse pointer.
    Ptr(String),
}

/// The type of a [`Record`], as a query asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// A.
    A,
    /// AAAA.
    Aaaa,
    /// SRV.
    Srv,
    /// CNAME.
    Cname,
    /// PTR.
    Ptr,
}

impl Record {
    /// This record's kind.
    pub fn kind(&self) -> RecordKind {
        match self {
            Record::A(_) => RecordKind::A,
            Record::Aaaa(_) => RecordKind::Aaaa,
            Record::Srv { .. } => RecordKind::Srv,
            Record::Cname(_) => RecordKind::Cname,
            Record::Ptr(_) => RecordKind::Ptr,
        }
    }

    fn address(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Record::A(v4),
            IpAddr::V6(v6) => Record::Aaaa(v6),
        }
    }
}

/// What a query gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup<'a> {
    /// Records of the asked kind (or the name's CNAME).
    Answer(Vec<&'a Record>),
    /// The name exists, but has no record of that kind.
    NoData {
        /// The zone apex the name belongs to (for the SOA in the authority section).
        zone: &'static str,
    },
    /// The name does not exist in a zone the server is authoritative for.
    NxDomain {
        /// The zone apex the name belongs to.
        zone: &'static str,
    },
    /// The name is outside every zone the server serves.
    Refused,
}

/// The record table: lower-case names without the trailing dot → records, plus the names that
/// exist only as parents ("empty non-terminals").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Zone {
    records: HashMap<String, Vec<Record>>,
    interior: HashSet<String>,
}

impl Zone {
    /// A table from explicit records (for tests and fixed set-ups); parents are derived.
    pub fn from_records(records: impl IntoIterator<Item = (String, Record)>) -> Self {
        let mut b = Builder::default();
        for (name, r) in records {
            b.add(name.to_ascii_lowercase(), r);
        }
        b.finish()
    }

    /// The records of `name` (lower case, no trailing dot), sorted.
    pub fn records(&self, name: &str) -> &[Record] {
        self.records.get(name).map_or(&[], Vec::as_slice)
    }

    /// Every owner name, sorted (for tests and diagnostics).
    pub fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.records.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    /// Answers a query for `name` (any case, trailing dot optional); `kind` `None` is ANY.
    pub fn lookup(&self, name: &str, kind: Option<RecordKind>) -> Lookup<'_> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let Some(zone) = zone_of(&name) else {
            return Lookup::Refused;
        };
        if let Some(records) = self.records.get(&name) {
            let matching: Vec<&Record> = records
                .iter()
                .filter(|r| kind.is_none_or(|k| r.kind() == k))
                .collect();
            if !matching.is_empty() {
                return Lookup::Answer(matching);
            }
            let cname: Vec<&Record> = records
                .iter()
                .filter(|r| r.kind() == RecordKind::Cname)
                .collect();
            if !cname.is_empty() {
                return Lookup::Answer(cname);
            }
            return Lookup::NoData { zone };
        }
        if name == zone || self.interior.contains(&name) || is_fixed_interior(&name) {
            return Lookup::NoData { zone };
        }
        Lookup::NxDomain { zone }
    }
}

/// The zone apex `name` falls in, if the server serves it.
pub fn zone_of(name: &str) -> Option<&'static str> {
    [CLUSTER_DOMAIN, REVERSE_V4, REVERSE_V6]
        .into_iter()
        .find(|z| name == *z || name.strip_suffix(z).is_some_and(|p| p.ends_with('.')))
}

fn is_fixed_interior(name: &str) -> bool {
    name == "svc.cluster.local" || name == "pod.cluster.local"
}

#[derive(Default)]
struct Builder {
    records: HashMap<String, BTreeSet<Record>>,
}

impl Builder {
    fn add(&mut self, name: String, r: Record) {
        self.records.entry(name).or_default().insert(r);
    }

    fn finish(self) -> Zone {
        let mut interior = HashSet::new();
        for name in self.records.keys() {
            let Some(zone) = zone_of(name) else { continue };
            let mut rest = name.as_str();
            while let Some((_, parent)) = rest.split_once('.') {
                if parent.len() < zone.len() {
                    break;
                }
                if !self.records.contains_key(parent) {
                    interior.insert(parent.to_owned());
                }
                rest = parent;
            }
        }
        Zone {
            records: self
                .records
                .into_iter()
                .map(|(k, v)| (k, v.into_iter().collect()))
                .collect(),
            interior,
        }
    }
}

/// Builds the table from the cluster's Services, EndpointSlices and Pods. Pure.
pub fn build<S, E, P>(services: &[S], slices: &[E], pods: &[P]) -> Zone
where
    S: Borrow<Service>,
    E: Borrow<EndpointSlice>,
    P: Borrow<Pod>,
{
    let mut b = Builder::default();
    // (namespace, service name) → its slices.
    let mut slices_of: HashMap<(&str, &str), Vec<&EndpointSlice>> = HashMap::new();
    for s in slices {
        let s = s.borrow();
        let ns = s.metadata.namespace.as_deref();
        let svc = s
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(SERVICE_NAME_LABEL))
            .map(String::as_str);
        if let (Some(ns), Some(svc)) = (ns, svc) {
            slices_of.entry((ns, svc)).or_default().push(s);
        }
    }
    for svc in services {
        let svc = svc.borrow();
        let (Some(name), Some(ns)) = (
            svc.metadata.name.as_deref(),
            svc.metadata.namespace.as_deref(),
        ) else {
            continue;
        };
        let Some(spec) = svc.spec.as_ref() else {
            continue;
        };
        let base = format!("{name}.{ns}.svc.{CLUSTER_DOMAIN}").to_ascii_lowercase();
        if spec.type_.as_deref() == Some("ExternalName") {
            if let Some(target) = spec.external_name.as_deref() {
                b.add(base, Record::Cname(normalise(target)));
            }
            continue;
        }
        let cluster_ips: Vec<IpAddr> = match (&spec.cluster_ips, &spec.cluster_ip) {
            (Some(ips), _) if !ips.is_empty() => {
                ips.iter().filter_map(|s| s.parse().ok()).collect()
            }
            (_, Some(ip)) => ip.parse().ok().into_iter().collect(),
            _ => Vec::new(),
        };
        if !cluster_ips.is_empty() {
            for ip in &cluster_ips {
                b.add(base.clone(), Record::address(*ip));
                b.add(reverse_name(*ip), Record::Ptr(base.clone()));
            }
            for p in spec.ports.iter().flatten() {
                let (Some(pname), Ok(port)) = (p.name.as_deref(), u16::try_from(p.port)) else {
                    continue;
                };
                if pname.is_empty() {
                    continue;
                }
                b.add(
                    srv_name(pname, p.protocol.as_deref(), &base),
                    Record::Srv {
                        priority: 0,
                        weight: 100,
                        port,
                        target: base.clone(),
                    },
                );
            }
            continue;
        }
        // Headless: the published endpoints.
        let publish_not_ready = spec.publish_not_ready_addresses == Some(true);
        for slice in slices_of.get(&(ns, name)).into_iter().flatten() {
            for ep in &slice.endpoints {
                if !publish_not_ready && !is_ready(ep) {
                    continue;
                }
                for ip in ep.addresses.iter().filter_map(|a| a.parse::<IpAddr>().ok()) {
                    let host = match ep.hostname.as_deref() {
                        Some(h) if !h.is_empty() => h.to_ascii_lowercase(),
                        _ => dashed(ip),
                    };
                    let own = format!("{host}.{base}");
                    b.add(base.clone(), Record::address(ip));
                    b.add(own.clone(), Record::address(ip));
                    b.add(reverse_name(ip), Record::Ptr(own.clone()));
                    for p in slice.ports.iter().flatten() {
                        let (Some(pname), Some(port)) = (
                            p.name.as_deref().filter(|n| !n.is_empty()),
                            p.port.and_then(|p| u16::try_from(p).ok()),
                        ) else {
                            continue;
                        };
                        b.add(
                            srv_name(pname, p.protocol.as_deref(), &base),
                            Record::Srv {
                                priority: 0,
                                weight: 100,
                                port,
                                target: own.clone(),
                            },
                        );
                    }
                }
            }
        }
    }
    for pod in pods {
        let pod = pod.borrow();
        let Some(ns) = pod.metadata.namespace.as_deref() else {
            continue;
        };
        let Some(status) = pod.status.as_ref() else {
            continue;
        };
        let mut ips: Vec<IpAddr> = status
            .pod_ips
            .iter()
            .flatten()
            .filter_map(|p| p.ip.parse().ok())
            .collect();
        if ips.is_empty() {
            ips.extend(
                status
                    .pod_ip
                    .as_deref()
                    .and_then(|s| s.parse::<IpAddr>().ok()),
            );
        }
        for ip in ips {
            b.add(
                format!("{}.{ns}.pod.{CLUSTER_DOMAIN}", dashed(ip)).to_ascii_lowercase(),
                Record::address(ip),
            );
        }
    }
    b.finish()
}

/// An endpoint's `ready` condition; unset means ready (the API's rule).
fn is_ready(ep: &Endpoint) -> bool {
    ep.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true)
}

fn srv_name(port: &str, protocol: Option<&str>, base: &str) -> String {
    format!(
        "_{}._{}.{base}",
        port.to_ascii_lowercase(),
        protocol.unwrap_or("TCP").to_ascii_lowercase()
    )
}

/// `10.244.0.12` → `10-244-0-12`; IPv6 colons become dashes too.
fn dashed(ip: IpAddr) -> String {
    ip.to_string().replace(['.', ':'], "-")
}

fn normalise(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// The reverse-lookup name of `ip`: `12.0.244.10.in-addr.arpa`, or the nibble form under
/// `ip6.arpa`.
pub fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.{REVERSE_V4}")
        }
        IpAddr::V6(v6) => {
            let mut s = String::new();
            for byte in v6.octets().iter().rev() {
                s.push_str(&format!("{:x}.{:x}.", byte & 0xf, byte >> 4));
            }
            s.push_str(REVERSE_V6);
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn service(v: serde_json::Value) -> Service {
        serde_json::from_value(v).unwrap()
    }

    fn slice(v: serde_json::Value) -> EndpointSlice {
        serde_json::from_value(v).unwrap()
    }

    fn pod(ns: &str, name: &str, ip: &str) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": ns},
            "status": {"podIP": ip, "podIPs": [{"ip": ip}]}
        }))
        .unwrap()
    }

    fn fixture() -> Zone {
        let services = vec![
            service(json!({
                "metadata": {"name": "web", "namespace": "default"},
                "spec": {"clusterIP": "10.96.0.20", "clusterIPs": ["10.96.0.20"],
                         "ports": [{"name": "http", "port": 80, "protocol": "TCP"},
                                   {"port": 81}]}
            })),
            service(json!({
                "metadata": {"name": "cass", "namespace": "db"},
                "spec": {"clusterIP": "None",
                         "ports": [{"name": "cql", "port": 9042}]}
            })),
            service(json!({
                "metadata": {"name": "seeds", "namespace": "db"},
                "spec": {"clusterIP": "None", "publishNotReadyAddresses": true}
            })),
            service(json!({
                "metadata": {"name": "ext", "namespace": "default"},
                "spec": {"type": "ExternalName", "externalName": "Example.COM."}
            })),
        ];
        let slices = vec![
            slice(json!({
                "metadata": {"name": "cass-abc", "namespace": "db",
                             "labels": {"kubernetes.io/service-name": "cass"}},
                "addressType": "IPv4",
                "ports": [{"name": "cql", "port": 9042, "protocol": "TCP"}],
                "endpoints": [
                    {"addresses": ["10.244.0.11"], "hostname": "cass-0", "conditions": {"ready": true}},
                    {"addresses": ["10.244.0.12"], "hostname": "cass-1", "conditions": {"ready": false}},
                    {"addresses": ["10.244.0.13"], "conditions": {}}
                ]
            })),
            slice(json!({
                "metadata": {"name": "seeds-abc", "namespace": "db",
                             "labels": {"kubernetes.io/service-name": "seeds"}},
                "addressType": "IPv4",
                "endpoints": [
                    {"addresses": ["10.244.0.12"], "hostname": "cass-1", "conditions": {"ready": false}}
                ]
            })),
            // A slice of a service in another namespace with the same name: ignored for db/cass.
            slice(json!({
                "metadata": {"name": "cass-x", "namespace": "other",
                             "labels": {"kubernetes.io/service-name": "cass"}},
                "addressType": "IPv4",
                "endpoints": [{"addresses": ["10.244.9.9"]}]
            })),
        ];
        let pods = vec![pod("db", "cass-0", "10.244.0.11")];
        build(&services, &slices, &pods)
    }

    fn a(ip: [u8; 4]) -> Record {
        Record::A(Ipv4Addr::from(ip))
    }

    /// [`Lookup`] with owned records, for tables of expectations.
    #[derive(Debug, PartialEq)]
    enum W {
        Answer(Vec<Record>),
        NoData { zone: &'static str },
        NxDomain { zone: &'static str },
        Refused,
    }

    impl From<Lookup<'_>> for W {
        fn from(l: Lookup<'_>) -> Self {
            match l {
                Lookup::Answer(v) => W::Answer(v.into_iter().cloned().collect()),
                Lookup::NoData { zone } => W::NoData { zone },
                Lookup::NxDomain { zone } => W::NxDomain { zone },
                Lookup::Refused => W::Refused,
            }
        }
    }

    #[test]
    fn table() {
        let z = fixture();
        let cases: Vec<(&str, Option<RecordKind>, W)> = vec![
            // ClusterIP service.
            (
                "web.default.svc.cluster.local",
                Some(RecordKind::A),
                W::Answer(vec![a([10, 96, 0, 20])]),
            ),
            // Any case, trailing dot.
            (
                "WEB.Default.svc.cluster.local.",
                Some(RecordKind::A),
                W::Answer(vec![a([10, 96, 0, 20])]),
            ),
            (
                "web.default.svc.cluster.local",
                Some(RecordKind::Aaaa),
                W::NoData {
                    zone: CLUSTER_DOMAIN,
                },
            ),
            // Headless: ready and unset-condition endpoints only.
            (
                "cass.db.svc.cluster.local",
                Some(RecordKind::A),
                W::Answer(vec![a([10, 244, 0, 11]), a([10, 244, 0, 13])]),
            ),
            (
                "cass-0.cass.db.svc.cluster.local",
                Some(RecordKind::A),
                W::Answer(vec![a([10, 244, 0, 11])]),
            ),
            (
                "cass-1.cass.db.svc.cluster.local",
                Some(RecordKind::A),
                W::NxDomain {
                    zone: CLUSTER_DOMAIN,
                },
            ),
            // Endpoint without hostname: its dashed address.
            (
                "10-244-0-13.cass.db.svc.cluster.local",
                Some(RecordKind::A),
                W::Answer(vec![a([10, 244, 0, 13])]),
            ),
            // publishNotReadyAddresses.
            (
                "cass-1.seeds.db.svc.cluster.local",
                Some(RecordKind::A),
                W::Answer(vec![a([10, 244, 0, 12])]),
            ),
            (
                "seeds.db.svc.cluster.local",
                Some(RecordKind::A),
                W::Answer(vec![a([10, 244, 0, 12])]),
            ),
            // Pods.
            (
                "10-244-0-11.db.pod.cluster.local",
                Some(RecordKind::A),
                W::Answer(vec![a([10, 244, 0, 11])]),
            ),
            (
                "10-244-0-99.db.pod.cluster.local",
                Some(RecordKind::A),
                W::NxDomain {
                    zone: CLUSTER_DOMAIN,
                },
            ),
            // Parents exist without records.
            (
                "db.svc.cluster.local",
                Some(RecordKind::A),
                W::NoData {
                    zone: CLUSTER_DOMAIN,
                },
            ),
            (
                "cluster.local",
                Some(RecordKind::A),
                W::NoData {
                    zone: CLUSTER_DOMAIN,
                },
            ),
            (
                "svc.cluster.local",
                Some(RecordKind::A),
                W::NoData {
                    zone: CLUSTER_DOMAIN,
                },
            ),
            (
                "nope.default.svc.cluster.local",
                Some(RecordKind::A),
                W::NxDomain {
                    zone: CLUSTER_DOMAIN,
                },
            ),
            // The search path's expansions of an outside name.
            (
                "example.com.default.svc.cluster.local",
                Some(RecordKind::A),
                W::NxDomain {
                    zone: CLUSTER_DOMAIN,
                },
            ),
            ("example.com", Some(RecordKind::A), W::Refused),
            // A name that merely ends in the domain's text is not inside it.
            ("evilcluster.local", Some(RecordKind::A), W::Refused),
            // SRV for named ports.
            (
                "_http._tcp.web.default.svc.cluster.local",
                Some(RecordKind::Srv),
                W::Answer(vec![Record::Srv {
                    priority: 0,
                    weight: 100,
                    port: 80,
                    target: "web.default.svc.cluster.local".into(),
                }]),
            ),
            (
                "_cql._tcp.cass.db.svc.cluster.local",
                Some(RecordKind::Srv),
                W::Answer(vec![
                    Record::Srv {
                        priority: 0,
                        weight: 100,
                        port: 9042,
                        target: "10-244-0-13.cass.db.svc.cluster.local".into(),
                    },
                    Record::Srv {
                        priority: 0,
                        weight: 100,
                        port: 9042,
                        target: "cass-0.cass.db.svc.cluster.local".into(),
                    },
                ]),
            ),
            // ExternalName → CNAME, also for an A query.
            (
                "ext.default.svc.cluster.local",
                Some(RecordKind::A),
                W::Answer(vec![Record::Cname("example.com".into())]),
            ),
            // Reverse lookups.
            (
                "11.0.244.10.in-addr.arpa",
                Some(RecordKind::Ptr),
                W::Answer(vec![Record::Ptr("cass-0.cass.db.svc.cluster.local".into())]),
            ),
            (
                "20.0.96.10.in-addr.arpa",
                Some(RecordKind::Ptr),
                W::Answer(vec![Record::Ptr("web.default.svc.cluster.local".into())]),
            ),
            (
                "2.2.0.192.in-addr.arpa",
                Some(RecordKind::Ptr),
                W::NxDomain { zone: REVERSE_V4 },
            ),
            // ANY.
            (
                "cass-0.cass.db.svc.cluster.local",
                None,
                W::Answer(vec![a([10, 244, 0, 11])]),
            ),
        ];
        for (name, kind, want) in cases {
            assert_eq!(W::from(z.lookup(name, kind)), want, "{name} {kind:?}");
        }
    }

    #[test]
    fn the_other_namespaces_slice_stays_there() {
        let z = fixture();
        assert!(
            !z.names().iter().any(|n| n.contains("10-244-9-9")),
            "{:?}",
            z.names()
        );
    }

    #[test]
    fn reverse_names() {
        assert_eq!(
            reverse_name(IpAddr::from([10, 244, 0, 12])),
            "12.0.244.10.in-addr.arpa"
        );
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert!(reverse_name(v6).starts_with("1.0.0.0.0.0.0.0"));
        assert!(reverse_name(v6).ends_with("8.b.d.0.1.0.0.2.ip6.arpa"));
    }

    #[test]
    fn from_records_derives_parents() {
        let z = Zone::from_records([("A.b.svc.cluster.local".into(), a([1, 2, 3, 4]))]);
        assert_eq!(z.records("a.b.svc.cluster.local"), [a([1, 2, 3, 4])]);
        assert_eq!(
            z.lookup("b.svc.cluster.local", Some(RecordKind::A)),
            Lookup::NoData {
                zone: CLUSTER_DOMAIN
            }
        );
    }
}
