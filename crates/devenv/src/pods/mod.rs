//! The pod runner — devenv's kubelet substitute. It registers Nodes (`devenv-node-a`, `-b`, …,
//! one zone each) and keeps them Ready, and runs every pod kube-scheduler binds to them as real
//! processes: each pod in its own network namespace on the bridge `navbr0` (10.244.0.0/16), each
//! container in its own mount/UTS/IPC/PID namespaces with a root built from the host's system
//! directories, the image map's directories and the pod's volumes.
//!
//! ```text
//!  supervisor ──► pods::run ──► bridge navbr0 ──► (DNS, service proxy, provisioner hook in here)
//!                    │ nodes + leases every 10 s
//!                    └ every second: list pods on our nodes ──► one worker per pod UID
//!                           worker: netns + veth + IP ─ volumes ─ init containers ─ containers
//!                                   (probes, restarts) ─ status PATCHes ─ termination ─ DELETE
//! ```
//!
//! Files: `<state>/pods/ipam.json` (addresses, netns and veth names of our pods),
//! `<state>/pods/<uid>/` (sandbox specs, volumes, root mount points),
//! `<state>/logs/pods/<namespace>_<pod>/<container>.log` (container output, served to `kubectl
//! logs` by [`crate::kubelet`], which also serves `exec` and `port-forward`).

pub mod env;
pub mod images;
pub mod ipam;
pub mod net;
pub mod node;
pub mod probes;
pub mod sandbox;
pub mod status;
pub mod volumes;
pub mod worker;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::ListParams;
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;

use crate::layout::Layout;

/// Options of the pod runner (`devenv up --nodes … --grace-cap …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunnerOptions {
    /// How many Nodes to register (0: no runner).
    pub nodes: usize,
    /// Upper bound on a pod's termination grace period.
    pub grace_cap: Duration,
    /// The image map file.
    pub images: PathBuf,
}

/// An error starting the pod runner.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// The admin kubeconfig is unusable.
    #[error("cannot build an API client from {path}: {message}")]
    Client {
        /// The kubeconfig.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// The image map is unusable.
    #[error(transparent)]
    Images(#[from] images::ImageError),
    /// The bridge could not be made.
    #[error(transparent)]
    Net(#[from] net::NetError),
    /// Another live environment owns the pod network (one per machine).
    #[error("the pod network (bridge navbr0) belongs to the running environment in {0}")]
    NetworkBusy(PathBuf),
    /// The devenv executable is unknown.
    #[error("cannot find the devenv executable")]
    Exe(#[source] std::io::Error),
}

/// `<state>/pods/ipam.json`.
#[must_use]
pub fn ipam_file(root: &Path) -> PathBuf {
    root.join("pods").join("ipam.json")
}

/// The log file of a container: `<state>/logs/pods/<namespace>_<pod>/<container>.log`.
#[must_use]
pub fn container_log(root: &Path, namespace: &str, pod: &str, container: &str) -> PathBuf {
    root.join("logs")
        .join("pods")
        .join(format!("{namespace}_{pod}"))
        .join(format!("{container}.log"))
}

/// The current time as RFC 3339 (seconds), as Kubernetes writes `Time`.
#[must_use]
pub fn now_rfc3339() -> String {
    fmt_time(false)
}

fn fmt_time(micro: bool) -> String {
    let n = time::OffsetDateTime::now_utc();
    let base = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        n.year(),
        u8::from(n.month()),
        n.day(),
        n.hour(),
        n.minute(),
        n.second()
    );
    if micro {
        format!("{base}.{:06}Z", n.microsecond())
    } else {
        format!("{base}Z")
    }
}

pub(crate) fn log(msg: &str) {
    eprintln!("{} devenv: pods: {msg}", now_rfc3339());
}

/// Builds an API client from the admin kubeconfig.
///
/// # Errors
/// [`RunnerError::Client`].
pub async fn admin_client(layout: &Layout) -> Result<kube::Client, RunnerError> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let path = layout.admin_kubeconfig();
    let err = |message: String| RunnerError::Client {
        path: path.clone(),
        message,
    };
    let kc = kube::config::Kubeconfig::read_from(&path).map_err(|e| err(e.to_string()))?;
    let cfg = kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
        .await
        .map_err(|e| err(e.to_string()))?;
    kube::Client::try_from(cfg).map_err(|e| err(e.to_string()))
}

/// Waits until the runner's `nodes` Nodes are Ready (what `devenv up` returns after).
///
/// # Errors
/// A message saying which nodes are missing after `timeout`.
pub async fn wait_nodes_ready(
    layout: &Layout,
    nodes: usize,
    timeout: Duration,
) -> Result<(), String> {
    let client = admin_client(layout).await.map_err(|e| e.to_string())?;
    let api: Api<k8s_openapi::api::core::v1::Node> = Api::all(client);
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let mut missing = Vec::new();
        for i in 0..nodes {
            let name = node::node_name(i);
            let ready = api.get_opt(&name).await.ok().flatten().is_some_and(|n| {
                n.status
                    .and_then(|s| s.conditions)
                    .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
            });
            if !ready {
                missing.push(name);
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "nodes {missing:?} not Ready within {timeout:?} (see the pod runner's lines in {})",
                layout.supervisor_log().display()
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Creates the pod network's bridge. Call before binding anything to 10.244.0.1 (the DNS
/// server, the service proxy).
///
/// # Errors
/// [`RunnerError::Net`].
pub async fn ensure_network() -> Result<(), RunnerError> {
    Ok(net::ensure_bridge().await?)
}

/// Runs the pod runner until `stop` turns true; then stops every pod's processes and removes
/// their network namespaces and the bridge (pod objects stay: a later `up` runs them again).
///
/// # Errors
/// [`RunnerError`] if it cannot start.
pub async fn run(
    layout: Layout,
    opts: RunnerOptions,
    client: kube::Client,
    mut stop: watch::Receiver<bool>,
) -> Result<(), RunnerError> {
    let images = images::ImageMap::load(&opts.images)?;
    let exe = std::env::current_exe().map_err(RunnerError::Exe)?;
    claim_network(layout.root())?;
    sweep(layout.root(), false);
    // `ip netns add` turns /run/netns into a mount point the first time; remember whether we
    // did that, so `down` can undo it.
    if !is_mount_point(Path::new(RUN_NETNS)) {
        let marker = run_netns_marker(layout.root());
        if let Some(dir) = marker.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = std::fs::write(&marker, b"");
    }
    ensure_network().await?;
    let (services_stop, services) = spawn_services(&layout, &client).await;
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let ctx = Arc::new(worker::Ctx {
        client: client.clone(),
        root: layout.root().to_path_buf(),
        ipam: Mutex::new(ipam::Ipam::load(&ipam_file(layout.root()))),
        images,
        exe,
        grace_cap: opts.grace_cap,
        shutdown: shutdown_rx,
    });
    let nodes: BTreeSet<String> = (0..opts.nodes).map(node::node_name).collect();
    // Register the nodes, then keep them alive.
    for i in 0..opts.nodes {
        loop {
            match node::register(&client, i, &now_rfc3339(), &fmt_time(true)).await {
                Ok(()) => break,
                Err(e) => {
                    log(&format!(
                        "registering {}: {e}; retrying",
                        node::node_name(i)
                    ));
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = stop.changed() => return Ok(()),
                    }
                }
            }
        }
    }
    log(&format!("nodes registered: {nodes:?}"));
    let hb_client = client.clone();
    let n = opts.nodes;
    let heartbeat = tokio::spawn(async move {
        loop {
            tokio::time::sleep(node::HEARTBEAT).await;
            for i in 0..n {
                if let Err(e) =
                    node::heartbeat(&hb_client, i, &now_rfc3339(), &fmt_time(true)).await
                {
                    log(&format!("heartbeat of {}: {e}", node::node_name(i)));
                }
            }
        }
    });
    let pods: Api<Pod> = Api::all(client.clone());
    let mut workers: BTreeMap<String, (watch::Sender<Option<Pod>>, JoinHandle<()>)> =
        BTreeMap::new();
    loop {
        match pods.list(&ListParams::default()).await {
            Ok(list) => {
                let mut seen = BTreeSet::new();
                for p in list.items {
                    let on_ours = p
                        .spec
                        .as_ref()
                        .and_then(|s| s.node_name.as_ref())
                        .is_some_and(|n| nodes.contains(n));
                    let Some(uid) = p.metadata.uid.clone().filter(|_| on_ours) else {
                        continue;
                    };
                    seen.insert(uid.clone());
                    match workers.get(&uid) {
                        Some((tx, _)) => {
                            tx.send_if_modified(|cur| {
                                let changed = cur.as_ref().map(|c| &c.metadata.resource_version)
                                    != Some(&p.metadata.resource_version);
                                if changed {
                                    *cur = Some(p.clone());
                                }
                                changed
                            });
                        }
                        None => {
                            let (tx, rx) = watch::channel(Some(p));
                            let task = tokio::spawn(worker::run_pod(ctx.clone(), rx));
                            workers.insert(uid, (tx, task));
                        }
                    }
                }
                for (uid, (tx, _)) in &workers {
                    if !seen.contains(uid) {
                        tx.send_if_modified(|cur| cur.take().is_some());
                    }
                }
                workers.retain(|_, (_, task)| !task.is_finished());
            }
            Err(e) => log(&format!("listing pods: {e}")),
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => break,
        }
    }
    log("stopping every pod");
    heartbeat.abort();
    let _ = shutdown_tx.send(true);
    for (_, (_, task)) in workers {
        let _ = tokio::time::timeout(Duration::from_secs(30), task).await;
    }
    let _ = services_stop.send(true);
    for t in services {
        let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
    }
    sweep(layout.root(), true);
    log("pod runner stopped");
    Ok(())
}

/// Starts the pod network's services once the bridge exists: cluster DNS on 10.244.0.1:53, the
/// ClusterIP proxy on the bridge, and the hostPath provisioner of StorageClass `standard`.
/// Returns their stop switch and tasks.
async fn spawn_services(
    layout: &Layout,
    client: &kube::Client,
) -> (watch::Sender<bool>, Vec<JoinHandle<()>>) {
    let (tx, rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let mut tasks = Vec::new();
    let dns_addr = std::net::SocketAddr::from((ipam::GATEWAY, 53));
    match crate::dns::Dns::bind(client.clone(), dns_addr).await {
        Ok(dns) => {
            let stop = stopped(rx.clone());
            tasks.push(tokio::spawn(async move {
                if let Err(e) = dns.run(stop).await {
                    log(&format!("cluster DNS stopped: {e}"));
                }
            }));
            log(&format!("cluster DNS on {dns_addr}"));
        }
        Err(e) => log(&format!("cluster DNS not started: {e}")),
    }
    let apiserver = crate::state::StateFile::read(&layout.state_file())
        .ok()
        .flatten()
        .map(|st| std::net::SocketAddr::from(([127, 0, 0, 1], st.settings.ports.apiserver)));
    let cfg = crate::service_proxy::ProxyConfig {
        bridge: net::BRIDGE.to_owned(),
        kubernetes_backend: apiserver,
    };
    let (c, stop) = (client.clone(), stopped(rx.clone()));
    tasks.push(tokio::spawn(async move {
        if let Err(e) = crate::service_proxy::run(c, cfg, stop).await {
            log(&format!("service proxy stopped: {e}"));
        }
    }));
    let kcfg = crate::kubelet::KubeletConfig {
        addr: std::net::SocketAddr::from((ipam::GATEWAY, crate::kubelet::PORT)),
        ca: layout.pki("ca.crt"),
        cert: layout.pki("kubelet-serving.crt"),
        key: layout.pki("kubelet-serving.key"),
        client_cert: layout.pki("apiserver-kubelet-client.crt"),
        root: layout.root().to_path_buf(),
    };
    match crate::kubelet::bind(client.clone(), kcfg).await {
        Ok(serve) => {
            let stop = stopped(rx.clone());
            tasks.push(tokio::spawn(async move {
                tokio::select! {
                    () = serve => {}
                    () = stop => {}
                }
            }));
            log("kubelet API on 10.244.0.1:10250");
        }
        Err(e) => log(&format!("kubelet API not started: {e}")),
    }
    let cfg = crate::provisioner::ProvisionerConfig {
        volumes_dir: layout.root().join("volumes"),
    };
    let (c, stop) = (client.clone(), stopped(rx));
    tasks.push(tokio::spawn(async move {
        if let Err(e) = crate::provisioner::run(c, cfg, stop).await {
            log(&format!("provisioner stopped: {e}"));
        }
    }));
    (tx, tasks)
}

/// Kills pod processes of this state directory and removes the network namespaces, links and
/// `/etc/netns` entries recorded in `pods/ipam.json`; with `bridge`, also the bridge. Used when the
/// runner starts (leftovers of a crash) and by `devenv down`.
pub fn sweep(root: &Path, bridge: bool) {
    let marker = root.join("pods");
    let marker = marker.to_string_lossy();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for e in entries.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            let Some(cmd) = crate::process::cmdline(pid) else {
                continue;
            };
            let is_sandbox = cmd
                .windows(2)
                .any(|w| w[0] == "pod-init" && w[1].starts_with(marker.as_ref()));
            if is_sandbox {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
    let file = ipam_file(root);
    let ipam = ipam::Ipam::load(&file);
    let ip = |args: &[&str]| {
        let _ = std::process::Command::new("ip")
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    };
    for a in ipam.allocations.values() {
        if Path::new("/run/netns").join(&a.netns).exists() {
            ip(&["netns", "del", &a.netns]);
        }
        if Path::new("/sys/class/net").join(&a.veth).exists() {
            ip(&["link", "del", &a.veth]);
        }
        let _ = std::fs::remove_dir_all(net::etc_netns_dir(&a.netns));
    }
    let _ = std::fs::remove_file(&file);
    if bridge && owns_network(root) && net::bridge_exists() {
        ip(&["link", "del", net::BRIDGE]);
    }
    if !bridge || !owns_network(root) {
        return;
    }
    let _ = std::fs::remove_file(OWNER_FILE);
    let marker = run_netns_marker(root);
    if marker.exists() {
        let empty = std::fs::read_dir(RUN_NETNS).map_or(true, |mut d| d.next().is_none());
        if empty {
            while is_mount_point(Path::new(RUN_NETNS)) {
                let ok = std::process::Command::new("umount")
                    .arg(RUN_NETNS)
                    .status()
                    .is_ok_and(|s| s.success());
                if !ok {
                    break;
                }
            }
        }
        let _ = std::fs::remove_file(marker);
    }
}

const RUN_NETNS: &str = "/run/netns";

/// Which state directory owns the pod network (bridge, DNS and proxy addresses): one
/// environment with pods per machine.
const OWNER_FILE: &str = "/run/devenv-pod-network.owner";

fn network_owner() -> Option<PathBuf> {
    std::fs::read_to_string(OWNER_FILE)
        .ok()
        .map(|s| PathBuf::from(s.trim()))
        .filter(|p| !p.as_os_str().is_empty())
}

fn owns_network(root: &Path) -> bool {
    network_owner().is_none_or(|o| o == root)
}

/// Claims the pod network for `root`, unless another environment whose supervisor still runs
/// has it.
fn claim_network(root: &Path) -> Result<(), RunnerError> {
    if let Some(owner) = network_owner().filter(|o| o != root) {
        let layout = Layout::new(&owner);
        let alive = crate::process::read_pid(&layout.supervisor_pid_file())
            .is_some_and(|pid| crate::process::is_running(pid, "devenv", &owner));
        if alive {
            return Err(RunnerError::NetworkBusy(owner));
        }
    }
    std::fs::write(OWNER_FILE, root.to_string_lossy().as_bytes()).map_err(|e| {
        RunnerError::Net(net::NetError::Write {
            path: PathBuf::from(OWNER_FILE),
            source: e,
        })
    })
}

fn run_netns_marker(root: &Path) -> PathBuf {
    root.join("pods").join("run-netns-was-not-mounted")
}

/// Whether `p` is a mount point (per /proc/self/mountinfo).
fn is_mount_point(p: &Path) -> bool {
    let want = p.to_string_lossy();
    std::fs::read_to_string("/proc/self/mountinfo").is_ok_and(|m| {
        m.lines()
            .any(|l| l.split_whitespace().nth(4) == Some(want.as_ref()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(ipam_file(Path::new("/s")), Path::new("/s/pods/ipam.json"));
        assert_eq!(
            container_log(Path::new("/s"), "ns", "web-0", "c"),
            Path::new("/s/logs/pods/ns_web-0/c.log")
        );
        let t = now_rfc3339();
        assert_eq!(t.len(), 20, "{t}");
        assert!(fmt_time(true).ends_with('Z'));
    }
}
