//! The pod network: bridge `navbr0` (10.244.0.1/16) and, per pod, a network namespace with a veth
//! into the bridge, plus the `/etc/netns/<netns>/{resolv.conf,hosts}` files `ip netns exec`
//! mounts over `/etc`. Names and file contents are pure; the `ip` calls are thin.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Stdio;

use super::ipam::{GATEWAY, PREFIX_LEN};

/// The bridge every pod's veth is attached to. Prefix `nav` marks devenv's links.
pub const BRIDGE: &str = "navbr0";
/// The bridge's MAC address, set explicitly (locally administered: `02:…`, then 10.244.0.1).
/// Without it Linux gives a bridge the lowest MAC of its ports, so deleting the pod whose veth
/// had it changes the gateway's MAC under every other pod: their neighbour entries go stale and
/// replies to the host are dropped until they re-resolve — tens of seconds in which probes fail
/// and liveness restarts healthy pods.
pub const BRIDGE_MAC: &str = "02:42:0a:f4:00:01";
/// Prefix of pod network namespace names.
pub const NETNS_PREFIX: &str = "nav-";
/// Prefix of the host ends of pod veth pairs.
pub const VETH_PREFIX: &str = "navv";
/// The cluster DNS domain.
pub const CLUSTER_DOMAIN: &str = "cluster.local";

/// An error running `ip`.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// `ip` could not be run.
    #[error("cannot run ip {args}")]
    Spawn {
        /// The arguments.
        args: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// `ip` failed.
    #[error("ip {args} failed: {stderr}")]
    Failed {
        /// The arguments.
        args: String,
        /// What it printed.
        stderr: String,
    },
    /// Writing `/etc/netns/...` failed.
    #[error("cannot write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// The network names of one pod. Pure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodNet {
    /// Network namespace name (`nav-<12 hex of the uid>`).
    pub netns: String,
    /// Host end of the veth pair (`navv<11 hex>`, within IFNAMSIZ).
    pub veth: String,
}

impl PodNet {
    /// The names for the pod with `uid`.
    #[must_use]
    pub fn for_uid(uid: &str) -> Self {
        let hex: String = uid.chars().filter(char::is_ascii_alphanumeric).collect();
        Self {
            netns: format!("{NETNS_PREFIX}{}", &hex[..hex.len().min(12)]),
            veth: format!("{VETH_PREFIX}{}", &hex[..hex.len().min(11)]),
        }
    }
}

/// The `ip` invocations that create the bridge. Pure.
#[must_use]
pub fn bridge_plan() -> Vec<Vec<String>> {
    let gw = format!("{GATEWAY}/{PREFIX_LEN}");
    [
        vec!["link", "add", BRIDGE, "type", "bridge"],
        vec!["addr", "add", gw.as_str(), "dev", BRIDGE],
        // A separate step so a bridge made by an older devenv gets it too.
        vec!["link", "set", BRIDGE, "address", BRIDGE_MAC],
        vec!["link", "set", BRIDGE, "up"],
    ]
    .into_iter()
    .map(|v| v.into_iter().map(str::to_owned).collect())
    .collect()
}

/// The `ip` invocations that create a pod's namespace and link, in order. Pure.
#[must_use]
pub fn pod_plan(net: &PodNet, ip: Ipv4Addr) -> Vec<Vec<String>> {
    let addr = format!("{ip}/{PREFIX_LEN}");
    let gw = GATEWAY.to_string();
    let ns = net.netns.as_str();
    let veth = net.veth.as_str();
    [
        vec!["netns", "add", ns],
        vec![
            "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns,
        ],
        vec!["link", "set", veth, "master", BRIDGE, "up"],
        vec!["-n", ns, "addr", "add", addr.as_str(), "dev", "eth0"],
        vec!["-n", ns, "link", "set", "eth0", "up"],
        vec!["-n", ns, "link", "set", "lo", "up"],
        vec!["-n", ns, "route", "add", "default", "via", gw.as_str()],
    ]
    .into_iter()
    .map(|v| v.into_iter().map(str::to_owned).collect())
    .collect()
}

/// What goes into a pod's DNS files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsFiles {
    /// `/etc/resolv.conf`.
    pub resolv_conf: String,
    /// `/etc/hosts`.
    pub hosts: String,
}

/// The pod's `/etc/resolv.conf` and `/etc/hosts`, as kubelet writes them for `ClusterFirst`.
/// Pure.
#[must_use]
pub fn dns_files(
    namespace: &str,
    hostname: &str,
    subdomain: Option<&str>,
    ip: Ipv4Addr,
) -> DnsFiles {
    let resolv_conf = format!(
        "nameserver {GATEWAY}\nsearch {namespace}.svc.{CLUSTER_DOMAIN} svc.{CLUSTER_DOMAIN} \
         {CLUSTER_DOMAIN}\noptions ndots:5 timeout:1 attempts:2\n"
    );
    let own = match subdomain.filter(|s| !s.is_empty()) {
        Some(sub) => {
            format!("{ip}\t{hostname}.{sub}.{namespace}.svc.{CLUSTER_DOMAIN}\t{hostname}\n")
        }
        None => format!("{ip}\t{hostname}\n"),
    };
    let hosts = format!(
        "# Kubernetes-managed hosts file (devenv).\n127.0.0.1\tlocalhost\n::1\tlocalhost \
         ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\n\
         fe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n{own}"
    );
    DnsFiles { resolv_conf, hosts }
}

/// The directory `ip netns exec` takes per-namespace `/etc` files from.
#[must_use]
pub fn etc_netns_dir(netns: &str) -> PathBuf {
    PathBuf::from("/etc/netns").join(netns)
}

/// Runs `ip <args>`.
///
/// # Errors
/// [`NetError`] if it cannot run or fails.
pub async fn ip(args: &[String]) -> Result<(), NetError> {
    let joined = args.join(" ");
    let out = tokio::process::Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|source| NetError::Spawn {
            args: joined.clone(),
            source,
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(NetError::Failed {
            args: joined,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

/// Whether the bridge exists.
#[must_use]
pub fn bridge_exists() -> bool {
    std::path::Path::new("/sys/class/net").join(BRIDGE).exists()
}

/// Creates the bridge with the gateway address and a fixed MAC (idempotent: an existing bridge
/// is kept, its address added if missing, its MAC set).
///
/// # Errors
/// [`NetError`].
pub async fn ensure_bridge() -> Result<(), NetError> {
    for (i, step) in bridge_plan().iter().enumerate() {
        match ip(step).await {
            Ok(()) => {}
            // "File exists": the bridge or its address is already there.
            Err(NetError::Failed { stderr, .. }) if i < 2 && stderr.contains("exists") => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Deletes the bridge (and with it every address on it). Missing is fine.
pub async fn delete_bridge() {
    if bridge_exists() {
        let _ = ip(&["link".into(), "del".into(), BRIDGE.into()]).await;
    }
}

/// Creates the pod's namespace, veth, address and route, and its `/etc/netns` files. A
/// half-made namespace from an earlier attempt is removed first.
///
/// # Errors
/// [`NetError`].
pub async fn create_pod_net(
    net: &PodNet,
    ip_addr: Ipv4Addr,
    files: &DnsFiles,
) -> Result<(), NetError> {
    delete_pod_net(net).await;
    let dir = etc_netns_dir(&net.netns);
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(&path, text))
            .map_err(|source| NetError::Write { path, source })
    };
    write("resolv.conf", &files.resolv_conf)?;
    write("hosts", &files.hosts)?;
    for step in pod_plan(net, ip_addr) {
        ip(&step).await?;
    }
    Ok(())
}

/// Deletes the pod's namespace, veth and `/etc/netns` directory; whatever is missing is skipped.
pub async fn delete_pod_net(net: &PodNet) {
    if std::path::Path::new("/run/netns").join(&net.netns).exists() {
        let _ = ip(&["netns".into(), "del".into(), net.netns.clone()]).await;
    }
    if std::path::Path::new("/sys/class/net")
        .join(&net.veth)
        .exists()
    {
        let _ = ip(&["link".into(), "del".into(), net.veth.clone()]).await;
    }
    let _ = std::fs::remove_dir_all(etc_netns_dir(&net.netns));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_linux_limits_and_carry_our_prefixes() {
        let n = PodNet::for_uid("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
        assert_eq!(n.netns, "nav-0f1e2d3c4b5a");
        assert_eq!(n.veth, "navv0f1e2d3c4b5");
        assert!(n.veth.len() <= 15);
    }

    #[test]
    fn pod_plan_wires_the_namespace_into_the_bridge() {
        let n = PodNet::for_uid("abc");
        let plan = pod_plan(&n, Ipv4Addr::new(10, 244, 0, 12));
        let lines: Vec<String> = plan.iter().map(|v| v.join(" ")).collect();
        assert_eq!(lines[0], "netns add nav-abc");
        assert!(lines.contains(&"link set navvabc master navbr0 up".to_owned()));
        assert!(lines.contains(&"-n nav-abc addr add 10.244.0.12/16 dev eth0".to_owned()));
        assert_eq!(
            lines.last().map(String::as_str),
            Some("-n nav-abc route add default via 10.244.0.1")
        );
        assert_eq!(
            bridge_plan()[1].join(" "),
            "addr add 10.244.0.1/16 dev navbr0"
        );
    }

    #[test]
    fn the_bridge_mac_is_fixed_and_locally_administered() {
        let plan: Vec<String> = bridge_plan().iter().map(|v| v.join(" ")).collect();
        assert!(plan.contains(&format!("link set navbr0 address {BRIDGE_MAC}")));
        let first = u8::from_str_radix(&BRIDGE_MAC[..2], 16).unwrap();
        // Locally administered (bit 1), unicast (bit 0 clear).
        assert_eq!(first & 0b11, 0b10);
    }

    #[test]
    fn dns_files_are_kubelets() {
        let f = dns_files("db", "cass-0", Some("cass"), Ipv4Addr::new(10, 244, 0, 12));
        assert_eq!(
            f.resolv_conf,
            "nameserver 10.244.0.1\nsearch db.svc.cluster.local svc.cluster.local cluster.local\n\
             options ndots:5 timeout:1 attempts:2\n"
        );
        assert!(
            f.hosts
                .ends_with("10.244.0.12\tcass-0.cass.db.svc.cluster.local\tcass-0\n")
        );
        let g = dns_files("db", "p", None, Ipv4Addr::new(10, 244, 0, 13));
        assert!(g.hosts.ends_with("10.244.0.13\tp\n"));
    }
}
