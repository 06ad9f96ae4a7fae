//! A userspace ClusterIP proxy for the pod network (there is no kube-proxy and no iptables):
//! every IPv4 ClusterIP is added as a `/32` address on the bridge, a TCP listener on
//! `ClusterIP:port` accepts connections and forwards each to a ready endpoint of the Service,
//! round-robin (the next one is tried if a connect fails). UDP ports are not proxied.
//!
//! Pods reach a ClusterIP through their default route (the bridge gateway): the address is
//! local to the host, so no forwarding is involved (test-environment §2.1, verified).
//!
//! Planning is pure — [`desired`] (Services + EndpointSlices → listeners and backends) and
//! [`plan`] (current vs desired → steps) — the listeners and `ip addr` calls around it are thin.
//!
//! # Use (for the pod runner's wiring)
//!
//! ```no_run
//! # async fn wire(client: kube::Client, apiserver: std::net::SocketAddr) -> Result<(), devenv::service_proxy::ProxyError> {
//! use devenv::service_proxy::{ProxyConfig, run};
//! let cfg = ProxyConfig {
//!     bridge: "navbr0".to_owned(),
//!     // kube-apiserver listens on 127.0.0.1:<port> but advertises the host's address in the
//!     // `kubernetes` EndpointSlice; forward default/kubernetes to where it really listens.
//!     // = SocketAddr::new(settings.bind_address, settings.ports.apiserver) from state.json.
//!     kubernetes_backend: Some(apiserver),
//! };
//! run(client, cfg, async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(()) }
//! ```
//!
//! * Start it after the bridge exists (`ip addr add` needs the device). It removes the
//!   addresses it added when `shutdown` resolves.
//! * `devenv down` (or a start after a crash) calls [`cleanup`]`("navbr0")`, which removes every
//!   `/32` address on the bridge — the runner's own gateway address is `/16` and stays (deleting
//!   the bridge removes them too).

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Client;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::cluster_watch::{self, Changes, Ready};
use crate::dns::zone::SERVICE_NAME_LABEL;

/// How long a connect to one backend may take before the next is tried.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How often the proxy re-applies its plan without a change (retries failed binds).
const RESYNC: Duration = Duration::from_secs(10);

/// An error of the service proxy.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// `ip` could not be run or failed.
    #[error("`ip {args}` failed: {detail}")]
    Ip {
        /// The arguments.
        args: String,
        /// Its standard error, or the spawn error.
        detail: String,
    },
    /// `ip -j addr show` printed something unexpected.
    #[error("cannot parse the addresses of {bridge}: {detail}")]
    Parse {
        /// The bridge.
        bridge: String,
        /// What was wrong.
        detail: String,
    },
    /// Every watch stream ended.
    #[error("the Service/EndpointSlice watches ended")]
    WatchesEnded,
}

/// Where and how to proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyConfig {
    /// The bridge the ClusterIPs are added to (`navbr0`).
    pub bridge: String,
    /// Where `default/kubernetes` really goes (kube-apiserver's listen address), overriding the
    /// endpoint it advertises; `None` uses the EndpointSlice as is.
    pub kubernetes_backend: Option<SocketAddr>,
}

/// What should be listening: `ClusterIP:port` → the backends, sorted. Listeners of Services
/// with no ready endpoint stay (their connections are closed at once, like a reject).
pub type Desired = BTreeMap<SocketAddrV4, Vec<SocketAddr>>;

/// The desired listeners from the cluster's Services and EndpointSlices. Pure.
pub fn desired<S, E>(
    services: &[S],
    slices: &[E],
    kubernetes_backend: Option<SocketAddr>,
) -> Desired
where
    S: Borrow<Service>,
    E: Borrow<EndpointSlice>,
{
    let mut out = Desired::new();
    for svc in services {
        let svc = svc.borrow();
        let (Some(name), Some(ns), Some(spec)) = (
            svc.metadata.name.as_deref(),
            svc.metadata.namespace.as_deref(),
            svc.spec.as_ref(),
        ) else {
            continue;
        };
        if spec.type_.as_deref() == Some("ExternalName") {
            continue;
        }
        let Some(cluster_ip) = spec
            .cluster_ip
            .as_deref()
            .and_then(|ip| ip.parse::<Ipv4Addr>().ok())
        else {
            continue; // headless ("None"), unset, or IPv6
        };
        let own_slices: Vec<&EndpointSlice> = slices
            .iter()
            .map(Borrow::borrow)
            .filter(|s| {
                s.metadata.namespace.as_deref() == Some(ns)
                    && s.metadata
                        .labels
                        .as_ref()
                        .and_then(|l| l.get(SERVICE_NAME_LABEL))
                        .is_some_and(|n| n == name)
            })
            .collect();
        for port in spec.ports.iter().flatten() {
            if !is_tcp(port.protocol.as_deref()) {
                continue;
            }
            let Ok(front) = u16::try_from(port.port) else {
                continue;
            };
            let port_name = port.name.as_deref().unwrap_or("");
            let mut backends: BTreeSet<SocketAddr> = BTreeSet::new();
            if let (Some(api), "default", "kubernetes") = (kubernetes_backend, ns, name) {
                backends.insert(api);
            } else {
                for slice in &own_slices {
                    let Some(target) = slice
                        .ports
                        .iter()
                        .flatten()
                        .find(|p| {
                            p.name.as_deref().unwrap_or("") == port_name
                                && is_tcp(p.protocol.as_deref())
                        })
                        .and_then(|p| p.port)
                        .and_then(|p| u16::try_from(p).ok())
                    else {
                        continue;
                    };
                    for ep in &slice.endpoints {
                        let ready = ep.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true);
                        if !ready {
                            continue;
                        }
                        backends.extend(
                            ep.addresses
                                .iter()
                                .filter_map(|a| a.parse::<IpAddr>().ok())
                                .map(|ip| SocketAddr::new(ip, target)),
                        );
                    }
                }
            }
            out.insert(
                SocketAddrV4::new(cluster_ip, front),
                backends.into_iter().collect(),
            );
        }
    }
    out
}

fn is_tcp(protocol: Option<&str>) -> bool {
    protocol.is_none_or(|p| p == "TCP")
}

/// The steps from the current state to the desired one, in the order to run them: add
/// addresses, start listeners, set every listener's backends, stop listeners, remove addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// ClusterIPs to add to the bridge.
    pub add_addresses: Vec<Ipv4Addr>,
    /// Listeners to start.
    pub start: Vec<SocketAddrV4>,
    /// Backends of every listener that remains or starts.
    pub backends: Desired,
    /// Listeners to stop.
    pub stop: Vec<SocketAddrV4>,
    /// ClusterIPs to remove from the bridge.
    pub remove_addresses: Vec<Ipv4Addr>,
}

/// Plans the way from `addresses`/`listeners` (what is there now) to `desired`. Pure.
pub fn plan(
    addresses: &BTreeSet<Ipv4Addr>,
    listeners: &BTreeSet<SocketAddrV4>,
    desired: &Desired,
) -> Plan {
    let want_addresses: BTreeSet<Ipv4Addr> = desired.keys().map(|a| *a.ip()).collect();
    Plan {
        add_addresses: want_addresses.difference(addresses).copied().collect(),
        start: desired
            .keys()
            .filter(|a| !listeners.contains(a))
            .copied()
            .collect(),
        backends: desired.clone(),
        stop: listeners
            .iter()
            .filter(|a| !desired.contains_key(a))
            .copied()
            .collect(),
        remove_addresses: addresses.difference(&want_addresses).copied().collect(),
    }
}

/// The `/32` IPv4 addresses in `ip -j -4 addr show dev <bridge>` output. Pure.
///
/// # Errors
/// [`ProxyError::Parse`] if the output is not the expected JSON.
pub fn parse_host_addresses(bridge: &str, json: &str) -> Result<BTreeSet<Ipv4Addr>, ProxyError> {
    let parse_err = |detail: String| ProxyError::Parse {
        bridge: bridge.to_owned(),
        detail,
    };
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| parse_err(e.to_string()))?;
    let links = v.as_array().ok_or_else(|| parse_err("not a list".into()))?;
    let mut out = BTreeSet::new();
    for info in links
        .iter()
        .filter_map(|l| l.get("addr_info").and_then(|a| a.as_array()))
        .flatten()
    {
        if info.get("prefixlen").and_then(serde_json::Value::as_u64) != Some(32) {
            continue;
        }
        if let Some(ip) = info
            .get("local")
            .and_then(|l| l.as_str())
            .and_then(|l| l.parse().ok())
        {
            out.insert(ip);
        }
    }
    Ok(out)
}

fn ip(args: &[&str]) -> Result<String, ProxyError> {
    let out = std::process::Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| ProxyError::Ip {
            args: args.join(" "),
            detail: e.to_string(),
        })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(ProxyError::Ip {
            args: args.join(" "),
            detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

/// The `/32` addresses on `bridge` now.
///
/// # Errors
/// [`ProxyError`] if `ip` fails (e.g. no such device) or prints something unexpected.
pub fn host_addresses(bridge: &str) -> Result<BTreeSet<Ipv4Addr>, ProxyError> {
    parse_host_addresses(bridge, &ip(&["-j", "-4", "addr", "show", "dev", bridge])?)
}

fn add_address(bridge: &str, a: Ipv4Addr) -> Result<(), ProxyError> {
    match ip(&["addr", "add", &format!("{a}/32"), "dev", bridge]) {
        Err(ProxyError::Ip { detail, .. }) if detail.contains("File exists") => Ok(()),
        r => r.map(drop),
    }
}

fn remove_address(bridge: &str, a: Ipv4Addr) -> Result<(), ProxyError> {
    match ip(&["addr", "del", &format!("{a}/32"), "dev", bridge]) {
        Err(ProxyError::Ip { detail, .. }) if detail.contains("Cannot assign") => Ok(()),
        r => r.map(drop),
    }
}

/// Removes every `/32` address from `bridge` (what the proxy adds; for `devenv down` and for a
/// start after a crash). Returns the removed addresses; a missing bridge is not an error.
///
/// # Errors
/// [`ProxyError`] if `ip` fails.
pub fn cleanup(bridge: &str) -> Result<Vec<Ipv4Addr>, ProxyError> {
    let present = match host_addresses(bridge) {
        Ok(a) => a,
        Err(ProxyError::Ip { detail, .. }) if detail.contains("does not exist") => {
            return Ok(Vec::new());
        }
        Err(e) => return Err(e),
    };
    for a in &present {
        remove_address(bridge, *a)?;
    }
    Ok(present.into_iter().collect())
}

struct Listener {
    backends: Arc<RwLock<Vec<SocketAddr>>>,
    task: JoinHandle<()>,
}

/// The proxy's running state: the addresses it manages on the bridge and its listeners.
pub struct ServiceProxy {
    cfg: ProxyConfig,
    addresses: BTreeSet<Ipv4Addr>,
    listeners: BTreeMap<SocketAddrV4, Listener>,
}

impl std::fmt::Debug for ServiceProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceProxy")
            .field("cfg", &self.cfg)
            .field("addresses", &self.addresses)
            .field("listeners", &self.listeners.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl ServiceProxy {
    /// A proxy for `cfg.bridge`; `/32` addresses already on the bridge (left by a crashed run)
    /// count as its own, so the first [`ServiceProxy::apply`] removes those no longer wanted.
    ///
    /// # Errors
    /// [`ProxyError`] if the bridge's addresses cannot be read.
    pub fn new(cfg: ProxyConfig) -> Result<Self, ProxyError> {
        let addresses = host_addresses(&cfg.bridge)?;
        Ok(Self {
            cfg,
            addresses,
            listeners: BTreeMap::new(),
        })
    }

    /// The listeners running now.
    pub fn listening(&self) -> Vec<SocketAddrV4> {
        self.listeners.keys().copied().collect()
    }

    /// Moves to `desired`. Failures of single steps (an address, a bind) are logged and retried
    /// at the next apply.
    pub async fn apply(&mut self, desired: &Desired) {
        let listening: BTreeSet<SocketAddrV4> = self.listeners.keys().copied().collect();
        let p = plan(&self.addresses, &listening, desired);
        for a in p.add_addresses {
            match add_address(&self.cfg.bridge, a) {
                Ok(()) => {
                    self.addresses.insert(a);
                }
                Err(e) => cluster_watch::log("service-proxy", &e.to_string()),
            }
        }
        for addr in p.start {
            match TcpListener::bind(addr).await {
                Ok(l) => {
                    let backends = Arc::new(RwLock::new(Vec::new()));
                    let task = tokio::spawn(serve(l, backends.clone()));
                    self.listeners.insert(addr, Listener { backends, task });
                }
                Err(e) => {
                    cluster_watch::log("service-proxy", &format!("cannot listen on {addr}: {e}"))
                }
            }
        }
        for (addr, backends) in p.backends {
            if let Some(l) = self.listeners.get(&addr)
                && let Ok(mut b) = l.backends.write()
            {
                *b = backends;
            }
        }
        for addr in p.stop {
            if let Some(l) = self.listeners.remove(&addr) {
                l.task.abort();
            }
        }
        for a in p.remove_addresses {
            match remove_address(&self.cfg.bridge, a) {
                Ok(()) => {
                    self.addresses.remove(&a);
                }
                Err(e) => cluster_watch::log("service-proxy", &e.to_string()),
            }
        }
    }

    /// Stops every listener and removes every address this proxy added.
    pub async fn shutdown(mut self) {
        self.apply(&Desired::new()).await;
    }
}

async fn serve(listener: TcpListener, backends: Arc<RwLock<Vec<SocketAddr>>>) {
    let next = Arc::new(AtomicUsize::new(0));
    loop {
        let Ok((client, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let candidates = backends.read().map(|b| b.clone()).unwrap_or_default();
        let start = next.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(forward(client, candidates, start));
    }
}

/// Connects to the backends in round-robin order from `start` until one answers, then copies
/// both ways until either side closes.
async fn forward(mut client: TcpStream, candidates: Vec<SocketAddr>, start: usize) {
    let n = candidates.len();
    for i in 0..n {
        let b = candidates[(start + i) % n];
        if let Ok(Ok(mut upstream)) =
            tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(b)).await
        {
            let _ = client.set_nodelay(true);
            let _ = upstream.set_nodelay(true);
            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            return;
        }
    }
}

/// Watches Services and EndpointSlices and proxies their ClusterIPs until `shutdown` resolves;
/// then stops the listeners and removes the addresses it added.
///
/// # Errors
/// [`ProxyError`] if the bridge cannot be read at start, or the watches end.
pub async fn run(
    client: Client,
    cfg: ProxyConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ProxyError> {
    let kubernetes_backend = cfg.kubernetes_backend;
    let mut proxy = ServiceProxy::new(cfg)?;
    let mut changes = Changes::default();
    let services = cluster_watch::reflect::<Service>(&client, &mut changes);
    let slices = cluster_watch::reflect::<EndpointSlice>(&client, &mut changes);
    let mut tick = tokio::time::interval(RESYNC);
    tokio::pin!(shutdown);
    let result = loop {
        tokio::select! {
            batch = cluster_watch::next_batch(&mut changes) => match batch {
                None => break Err(ProxyError::WatchesEnded),
                Some(errors) => for e in errors {
                    cluster_watch::log("service-proxy", &format!("watch error (retrying): {e}"));
                },
            },
            _ = tick.tick() => {}
            () = &mut shutdown => break Ok(()),
        }
        if !cluster_watch::all_ready([&services as &dyn Ready, &slices as &dyn Ready]) {
            continue;
        }
        let want = desired(&services.state(), &slices.state(), kubernetes_backend);
        proxy.apply(&want).await;
    };
    proxy.shutdown().await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn svc(v: serde_json::Value) -> Service {
        serde_json::from_value(v).unwrap()
    }

    fn slice(v: serde_json::Value) -> EndpointSlice {
        serde_json::from_value(v).unwrap()
    }

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn sa4(s: &str) -> SocketAddrV4 {
        s.parse().unwrap()
    }

    #[test]
    fn desired_listeners() {
        let services = vec![
            svc(json!({"metadata": {"name": "web", "namespace": "default"},
                "spec": {"clusterIP": "10.96.0.20", "ports": [
                    {"name": "http", "port": 80, "targetPort": "http"},
                    {"name": "dns", "port": 53, "protocol": "UDP"},
                    {"name": "admin", "port": 9000}]}})),
            svc(
                json!({"metadata": {"name": "single", "namespace": "default"},
                "spec": {"clusterIP": "10.96.0.21", "ports": [{"port": 8080, "targetPort": 18080}]}}),
            ),
            svc(
                json!({"metadata": {"name": "headless", "namespace": "default"},
                "spec": {"clusterIP": "None", "ports": [{"port": 80}]}}),
            ),
            svc(
                json!({"metadata": {"name": "kubernetes", "namespace": "default"},
                "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "targetPort": 6443}]}}),
            ),
        ];
        let slices = vec![
            slice(json!({"metadata": {"name": "web-1", "namespace": "default",
                    "labels": {"kubernetes.io/service-name": "web"}},
                "addressType": "IPv4",
                "ports": [{"name": "http", "port": 8080, "protocol": "TCP"},
                          {"name": "admin", "port": 9090}],
                "endpoints": [
                    {"addresses": ["10.244.0.12"], "conditions": {"ready": true}},
                    {"addresses": ["10.244.0.11"]},
                    {"addresses": ["10.244.0.13"], "conditions": {"ready": false}}]})),
            slice(json!({"metadata": {"name": "web-2", "namespace": "default",
                    "labels": {"kubernetes.io/service-name": "web"}},
                "addressType": "IPv4",
                "ports": [{"name": "http", "port": 8081}],
                "endpoints": [{"addresses": ["10.244.0.14"]}]})),
            // Same service name, other namespace: not ours.
            slice(json!({"metadata": {"name": "web-x", "namespace": "other",
                    "labels": {"kubernetes.io/service-name": "web"}},
                "addressType": "IPv4",
                "ports": [{"name": "http", "port": 1}],
                "endpoints": [{"addresses": ["10.244.9.9"]}]})),
            slice(
                json!({"metadata": {"name": "single-1", "namespace": "default",
                    "labels": {"kubernetes.io/service-name": "single"}},
                "addressType": "IPv4",
                "ports": [{"port": 18080}],
                "endpoints": [{"addresses": ["192.0.2.2"]}]}),
            ),
            slice(
                json!({"metadata": {"name": "kubernetes", "namespace": "default",
                    "labels": {"kubernetes.io/service-name": "kubernetes"}},
                "addressType": "IPv4",
                "ports": [{"name": "https", "port": 6443}],
                "endpoints": [{"addresses": ["192.0.2.2"]}]}),
            ),
        ];
        let want: Desired = [
            (
                sa4("10.96.0.20:80"),
                vec![
                    sa("10.244.0.11:8080"),
                    sa("10.244.0.12:8080"),
                    sa("10.244.0.14:8081"),
                ],
            ),
            (
                sa4("10.96.0.20:9000"),
                vec![sa("10.244.0.11:9090"), sa("10.244.0.12:9090")],
            ),
            (sa4("10.96.0.21:8080"), vec![sa("192.0.2.2:18080")]),
            (sa4("10.96.0.1:443"), vec![sa("192.0.2.2:6443")]),
        ]
        .into_iter()
        .collect();
        assert_eq!(desired(&services, &slices, None), want);

        // The kubernetes Service goes where kube-apiserver really listens.
        let got = desired(&services, &slices, Some(sa("127.0.0.1:36443")));
        assert_eq!(got[&sa4("10.96.0.1:443")], vec![sa("127.0.0.1:36443")]);
        assert_eq!(got[&sa4("10.96.0.21:8080")], vec![sa("192.0.2.2:18080")]);

        // A service without endpoints still listens (and closes connections).
        let got = desired(&services[..1], &[] as &[EndpointSlice], None);
        assert_eq!(got[&sa4("10.96.0.20:80")], Vec::<SocketAddr>::new());
    }

    #[test]
    fn plans() {
        let addrs =
            |v: &[&str]| -> BTreeSet<Ipv4Addr> { v.iter().map(|s| s.parse().unwrap()).collect() };
        let lst = |v: &[&str]| -> BTreeSet<SocketAddrV4> { v.iter().map(|s| sa4(s)).collect() };
        let want: Desired = [
            (sa4("10.96.0.20:80"), vec![sa("10.244.0.11:8080")]),
            (sa4("10.96.0.21:80"), vec![]),
        ]
        .into_iter()
        .collect();
        // From nothing.
        let p = plan(&addrs(&[]), &lst(&[]), &want);
        assert_eq!(
            p.add_addresses,
            addrs(&["10.96.0.20", "10.96.0.21"])
                .into_iter()
                .collect::<Vec<_>>()
        );
        assert_eq!(p.start, vec![sa4("10.96.0.20:80"), sa4("10.96.0.21:80")]);
        assert!(p.stop.is_empty() && p.remove_addresses.is_empty());
        // A service went away, another changed port, a stale address from a crashed run.
        let p = plan(
            &addrs(&["10.96.0.20", "10.96.0.22", "10.96.0.99"]),
            &lst(&["10.96.0.20:8080", "10.96.0.22:80"]),
            &want,
        );
        assert_eq!(
            p.add_addresses,
            vec!["10.96.0.21".parse::<Ipv4Addr>().unwrap()]
        );
        assert_eq!(p.start, vec![sa4("10.96.0.20:80"), sa4("10.96.0.21:80")]);
        assert_eq!(p.stop, vec![sa4("10.96.0.20:8080"), sa4("10.96.0.22:80")]);
        assert_eq!(
            p.remove_addresses,
            addrs(&["10.96.0.22", "10.96.0.99"])
                .into_iter()
                .collect::<Vec<_>>()
        );
        assert_eq!(p.backends, want);
        // Steady state: nothing but backends.
        let p = plan(
            &addrs(&["10.96.0.20", "10.96.0.21"]),
            &lst(&["10.96.0.20:80", "10.96.0.21:80"]),
            &want,
        );
        assert_eq!(
            p,
            Plan {
                backends: want.clone(),
                ..Plan::default()
            }
        );
    }

    #[test]
    fn parses_ip_json() {
        let out = r#"[{"ifindex":5,"ifname":"navbr0","flags":["BROADCAST","UP"],"addr_info":[
            {"family":"inet","local":"10.244.0.1","prefixlen":16,"scope":"global"},
            {"family":"inet","local":"10.96.0.1","prefixlen":32,"scope":"global"},
            {"family":"inet","local":"10.96.0.10","prefixlen":32,"scope":"global"}]}]"#;
        let got = parse_host_addresses("navbr0", out).unwrap();
        assert_eq!(
            got.into_iter().collect::<Vec<_>>(),
            vec![Ipv4Addr::new(10, 96, 0, 1), Ipv4Addr::new(10, 96, 0, 10)]
        );
        assert!(parse_host_addresses("navbr0", "[]").unwrap().is_empty());
        assert!(parse_host_addresses("navbr0", "nope").is_err());
    }

    /// Real sockets on loopback: round-robin over two backends, skipping a dead one.
    #[tokio::test]
    async fn forwards_round_robin_and_skips_dead_backends() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        async fn backend(tag: u8) -> SocketAddr {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            tokio::spawn(async move {
                loop {
                    let (mut s, _) = l.accept().await.unwrap();
                    tokio::spawn(async move {
                        let mut b = [0u8; 1];
                        s.read_exact(&mut b).await.unwrap();
                        s.write_all(&[b[0], tag]).await.unwrap();
                    });
                }
            });
            addr
        }
        let a = backend(b'a').await;
        let b = backend(b'b').await;
        let dead = {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            l.local_addr().unwrap()
        };
        let front = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let front_addr = front.local_addr().unwrap();
        let backends = Arc::new(RwLock::new(vec![a, dead, b]));
        tokio::spawn(serve(front, backends));
        let mut seen = Vec::new();
        for _ in 0..3 {
            let mut c = TcpStream::connect(front_addr).await.unwrap();
            c.write_all(b"x").await.unwrap();
            let mut reply = [0u8; 2];
            c.read_exact(&mut reply).await.unwrap();
            assert_eq!(reply[0], b'x');
            seen.push(reply[1]);
        }
        // Order a, (dead → b), b.
        assert_eq!(seen, b"abb");
    }
}
