//! End to end: `pilot-cassandra` in devenv pods, through kube-apiserver with navigator-apiserver
//! aggregated behind it — the acceptance of issue 11, before any controller exists.
//!
//! Each test brings up its own devenv (control plane + pod runner, `devenv up`) with
//! navigator-apiserver aggregated behind it (`deploy/` RBAC and APIServices, the server on the
//! host as its ServiceAccount, embedded store: `test_support::devenv::Env`), and then writes what the controller will
//! write later: a namespace with the pilots' ServiceAccount, Role and RoleBinding, the headless
//! nodes Service, the seeds Service (pod 0, unready addresses published), a CassandraCluster, one Pilot per pod, and a StatefulSet of three Cassandra pods.
//! Each pod gets its pilot from the `navigator-pilot` image (devenv's image map binds the
//! workspace's `target/release/pilot-cassandra`): an init container copies it into an emptyDir,
//! and the Cassandra container runs it as its command, with the downward API's pod name,
//! namespace, IP and memory limit, probes on the pilot's ports and a volumeClaimTemplate.
//!
//! `cassandra_5_0_pilot_story` takes one 5.0.8 cluster through the story: the ring forms and every
//! Pilot reports it; a decommission that would leave an RF 3 keyspace short fails and names it;
//! rows written at RF 2 survive the decommission of the third node (read at ALL from the two
//! left); the decommissioned node's old volume is refused; a SIGSTOPped JVM fails liveness and the
//! container restarts; SIGTERM drains and the container exits 0. The 4.1 image under the pilot
//! (its own `cassandra_4_1_pilot_ring` until issue 16) is covered by navigator-controller's
//! `e2e_cassandra`, which creates its cluster at 4.1.10 and checks the ring every Pilot reports
//! and rows read back at ALL after every step.
//!
//! `#[ignore]`d: they need root, the pod network (one devenv pod runner per machine), the Go-built
//! binaries (`hack/build-k8s`), the images (`hack/build-images`), the Python cassandra-driver
//! (`hack/install-prereqs`), `cargo build -p devenv -p navigator-apiserver` and
//! `cargo build --release -p pilot-cassandra`. Run with
//! `cargo test -p pilot-cassandra --test e2e_devenv -- --ignored --nocapture --test-threads=1`.
//! Every wait has a bound and its failure message says what was expected and what was seen; the
//! pods' logs are printed when a test fails.
#![allow(clippy::unwrap_used)]

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use test_support::cassandra::{cql, listed_as_peer, ring_member_problems};
use test_support::devenv::{
    Env, EnvOptions, GROUP, condition, eventually, pids_in_pod, pod_ready, require_prerequisites,
    require_release_pilot, signal,
};
use test_support::pilot_pods::{
    self, data_volume_claims, install_pilot, pilot, pilot_env, pilot_probes, pilot_rbac, pod,
    pod_ip, request_state, wait_statefulset_ready,
};

/// One devenv pod runner per machine: the tests run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// The CassandraCluster, its node pool and the objects named after them (the original's names).
const CLUSTER: &str = "demo";
const POOL: &str = "a";
const STS: &str = "cass-demo-a";
const NODES_SVC: &str = "cass-demo-nodes";
const SEEDS_SVC: &str = "cass-demo-seeds";
const SERVICE_ACCOUNT: &str = "cass-demo";
const PILOT_IMAGE: &str = "navigator-pilot:dev";
/// The pod's memory limit; the pilot derives the heap from it.
const MEMORY_LIMIT: &str = "1Gi";

// ------------------------------------------------------------------------------------------------
// The cluster: what the controller will create, written by hand

/// The pods' names, by ordinal.
fn pod_name(ordinal: usize) -> String {
    format!("{STS}-{ordinal}")
}

/// The labels of every object of the cluster (the original's), plus the pool's on pods.
fn cluster_labels() -> Value {
    json!({
        "app": "cassandracluster",
        "navigator.jetstack.io/cassandra-cluster-name": CLUSTER,
    })
}

/// The pilot's command line after `/shared/pilot` (its identity comes from the downward API's
/// environment). `$(VAR)` is expanded by the pod runner from the container's environment, as
/// the kubelet does.
fn pilot_args() -> Vec<String> {
    vec![
        format!("--cluster-name={CLUSTER}"),
        format!("--rack={POOL}"),
        format!("--seeds-service={SEEDS_SVC}.$(POD_NAMESPACE).svc.cluster.local"),
        // Test rings: gossip settles in seconds on one bridge.
        "--ring-delay-ms=5000".to_owned(),
        // A small node drains in seconds; a stopped JVM never does (the SIGSTOP step).
        "--shutdown-timeout=30s".to_owned(),
    ]
}

/// ServiceAccount, Role and RoleBinding of the pilots; the nodes and seeds Services; the
/// CassandraCluster; one Pilot per pod; the StatefulSet of `replicas` pods of `image`.
fn create_cluster(env: &Env, ns: &str, version: &str, image: &str, replicas: usize) {
    env.k(&["create", "namespace", ns]);
    let labels = cluster_labels();
    env.apply(
        "pilot-rbac",
        &pilot_rbac(ns, SERVICE_ACCOUNT, &labels, "cassandraclusters"),
    );
    // Headless: the nodes' DNS names; the seeds Service selects pod 0 and publishes it before it
    // is ready (the first node seeds itself).
    env.apply(
        "services",
        &json!({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "Service",
             "metadata": {"name": NODES_SVC, "namespace": ns, "labels": labels},
             "spec": {"clusterIP": "None", "publishNotReadyAddresses": true, "selector": labels,
                      "ports": [{"name": "intra-node", "port": 7000}, {"name": "cql", "port": 9042}]}},
            {"apiVersion": "v1", "kind": "Service",
             "metadata": {"name": SEEDS_SVC, "namespace": ns, "labels": labels},
             "spec": {"clusterIP": "None", "publishNotReadyAddresses": true,
                      "selector": {"app": "cassandracluster",
                                   "navigator.jetstack.io/cassandra-cluster-name": CLUSTER,
                                   "statefulset.kubernetes.io/pod-name": pod_name(0)},
                      "ports": [{"name": "intra-node", "port": 7000}]}},
        ]}),
    );
    env.apply(
        "cassandracluster",
        &json!({
            "apiVersion": format!("{GROUP}/v1beta1"), "kind": "CassandraCluster",
            "metadata": {"name": CLUSTER, "namespace": ns, "labels": labels},
            "spec": {
                "version": version,
                "pilotImage": {"repository": "navigator-pilot", "tag": "dev"},
                "nodePools": [{"name": POOL, "replicas": replicas, "persistence": {"size": "1Gi"}}]
            }
        }),
    );
    for i in 0..replicas {
        create_pilot(env, ns, &pod_name(i));
    }
    let pod_labels = {
        let mut l = labels.clone();
        l["navigator.jetstack.io/cassandra-node-pool-name"] = json!(POOL);
        l["navigator.jetstack.io/has-pilot"] = json!("");
        l
    };
    let (startup, liveness, readiness) = pilot_probes();
    let args = pilot_args();
    env.apply(
        "statefulset",
        &json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": STS, "namespace": ns, "labels": labels},
            "spec": {
                "serviceName": NODES_SVC, "replicas": replicas, "podManagementPolicy": "OrderedReady",
                "selector": {"matchLabels": pod_labels},
                "template": {
                    "metadata": {"labels": pod_labels},
                    "spec": {
                        "serviceAccountName": SERVICE_ACCOUNT,
                        // A small node drains in ~10 s. After a failed liveness probe the pilot gives
                        // a SIGSTOPped JVM SIGTERM, then SIGKILL after its --stop-timeout (30 s).
                        "terminationGracePeriodSeconds": 60,
                        "volumes": [{"name": "shared", "emptyDir": {}}],
                        "initContainers": [install_pilot(PILOT_IMAGE, "pilot-cassandra")],
                        "containers": [{
                            "name": "cassandra", "image": image,
                            "command": ["/shared/pilot"],
                            "args": args,
                            "env": pilot_env("cassandra"),
                            "resources": {"requests": {"cpu": "100m", "memory": MEMORY_LIMIT},
                                          "limits": {"memory": MEMORY_LIMIT}},
                            "ports": [{"name": "intra-node", "containerPort": 7000},
                                      {"name": "cql", "containerPort": 9042},
                                      {"name": "pilot-live", "containerPort": 12000},
                                      {"name": "pilot-ready", "containerPort": 12001}],
                            // The pilot answers from its last observation of the database.
                            "startupProbe": startup,
                            "livenessProbe": liveness,
                            "readinessProbe": readiness,
                            // A stopped JVM does not drain: the hook gives up within 30 s.
                            "lifecycle": {"preStop": {"exec": {"command": [
                                "/shared/pilot", "pre-stop", "--drain-timeout-seconds=30"]}}},
                            "volumeMounts": [{"name": "shared", "mountPath": "/shared", "readOnly": true},
                                             {"name": "data", "mountPath": "/var/lib/cassandra"}],
                        }],
                    }
                },
                "volumeClaimTemplates": data_volume_claims("1Gi")
            }
        }),
    );
}

fn create_pilot(env: &Env, ns: &str, name: &str) {
    env.apply(
        &format!("pilot-{name}"),
        &json!({
            "apiVersion": format!("{GROUP}/v1beta1"), "kind": "Pilot",
            "metadata": {"name": name, "namespace": ns, "labels": {
                "app": "cassandracluster",
                "navigator.jetstack.io/cassandra-cluster-name": CLUSTER,
                "navigator.jetstack.io/cassandra-node-pool-name": POOL}},
            "spec": {"cluster": {"kind": "CassandraCluster", "name": CLUSTER}, "nodePool": POOL}
        }),
    );
}

// ------------------------------------------------------------------------------------------------
// Observations

/// The Cassandra container's status of a pod.
fn container_status(p: &Value) -> Value {
    test_support::devenv::container_status(p, "cassandra")
}

/// Waits until pods `0..n` are Ready and every Pilot reports a healthy ring member of `version`
/// that sees the others live; returns the pods' IPs by ordinal.
fn wait_for_ring(env: &Env, ns: &str, n: usize, version: &str, timeout: Duration) -> Vec<String> {
    let t = Instant::now();
    wait_statefulset_ready(env, ns, STS, n, timeout);
    let logs = || env.pod_logs(ns);
    println!(
        "TIMING {n} pods Ready (OrderedReady) {:.1}s",
        t.elapsed().as_secs_f64()
    );
    let ips: Vec<String> = (0..n)
        .map(|i| pod_ip(env, ns, &pod_name(i)).unwrap())
        .collect();
    for i in 0..n {
        let others: Vec<String> = (0..n).filter(|j| *j != i).map(|j| ips[j].clone()).collect();
        let name = pod_name(i);
        let p = eventually(
            &format!("Pilot {name} reports a ring member of {version} seeing {others:?} live"),
            Duration::from_secs(120),
            logs,
            || {
                let p = pilot(env, ns, &name)?;
                let problems = ring_member_problems(&p["status"], version, &others);
                if problems.is_empty() {
                    Ok(p)
                } else {
                    Err(format!("{problems:?} in {}", p["status"]))
                }
            },
        );
        println!("Pilot {name} status: {}", p["status"]);
    }
    println!(
        "TIMING ring of {n} reported by every Pilot {:.1}s after the StatefulSet",
        t.elapsed().as_secs_f64()
    );
    ips
}

/// Pod readiness follows the database: every Ready pod's Pilot says `Ready=True` (the status
/// writer may trail the probe by a moment).
fn readiness_matches_pilots(env: &Env, ns: &str, n: usize) {
    for i in 0..n {
        let name = pod_name(i);
        eventually(
            &format!("pod {name} Ready and its Pilot's Ready condition True"),
            Duration::from_secs(30),
            || env.pod_logs(ns),
            || {
                let p = pod(env, ns, &name)?;
                let pi = pilot(env, ns, &name)?;
                let ready = condition(&pi["status"]["conditions"], "Ready")
                    .is_some_and(|c| c["status"] == "True");
                (pod_ready(&p) && ready).then_some(()).ok_or_else(|| {
                    format!(
                        "pod conditions {}; Pilot status {}",
                        p["status"]["conditions"], pi["status"]
                    )
                })
            },
        );
    }
}

// ------------------------------------------------------------------------------------------------
// Requested states

/// Waits for the Pilot's operation towards `state` to reach `phase`; returns the operation.
fn wait_for_operation(
    env: &Env,
    ns: &str,
    name: &str,
    state: &str,
    phase: &str,
    timeout: Duration,
) -> Value {
    pilot_pods::wait_for_operation(
        env,
        ns,
        name,
        state,
        phase,
        &["Complete", "Failed"],
        timeout,
    )
}

// ------------------------------------------------------------------------------------------------
// The tests

/// One Cassandra 5.0.8 cluster through the whole story (see the module documentation).
#[test]
#[ignore = "needs root, devenv's pod runner, the Go-built binaries, the images and release pilot-cassandra; run by hack/test-devenv"]
fn cassandra_5_0_pilot_story() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    require_prerequisites();
    require_release_pilot();
    let started = Instant::now();
    // Cassandra drains on SIGTERM: allow it more than the runner's default 30 s.
    let mut env = Env::up(EnvOptions::new("pilot-e2e").grace_cap_seconds(120));
    env.start_navigator();
    let ns = "pilot-e2e";
    let logs = || env.pod_logs(ns);

    // --- the ring forms; every Pilot reports it; readiness follows the database ---
    create_cluster(&env, ns, "5.0.8", "cassandra:5.0.8", 3);
    let ips = wait_for_ring(&env, ns, 3, "5.0.8", Duration::from_secs(900));
    readiness_matches_pilots(&env, ns, 3);
    let dc = pilot(&env, ns, &pod_name(0)).unwrap()["status"]["cassandra"]["datacenter"]
        .as_str()
        .expect("Pilot reports the datacenter")
        .to_owned();

    // --- a decommission that would leave an RF 3 keyspace short fails and names it ---
    cql("keyspace", &dc, "rf3", 3, 0, &ips[..1]);
    let t = Instant::now();
    request_state(&env, ns, &pod_name(1), Some("Decommissioned"));
    let op = wait_for_operation(
        &env,
        ns,
        &pod_name(1),
        "Decommissioned",
        "Failed",
        Duration::from_secs(120),
    );
    println!(
        "TIMING refused decommission reported {:.1}s: {op}",
        t.elapsed().as_secs_f64()
    );
    assert!(
        op["message"].as_str().unwrap_or("").contains("rf3"),
        "the failure does not name keyspace rf3: {op}"
    );
    // The node keeps serving.
    request_state(&env, ns, &pod_name(1), None);
    let p1 = pilot(&env, ns, &pod_name(1)).unwrap();
    assert_eq!(p1["status"]["cassandra"]["operationMode"], "NORMAL", "{p1}");
    assert!(pod_ready(&pod(&env, ns, &pod_name(1)).unwrap()));
    cql("ping", &dc, "rf3", 3, 0, &ips[1..2]);
    cql("drop", &dc, "rf3", 3, 0, &ips[..1]);

    // --- rows at RF 2 survive the decommission of the third node ---
    let rows = 200;
    cql("system-rf", &dc, "-", 2, 0, &ips[..1]);
    cql("write", &dc, "navtest", 2, rows, &ips[..1]);
    let t = Instant::now();
    request_state(&env, ns, &pod_name(2), Some("Decommissioned"));
    let op = wait_for_operation(
        &env,
        ns,
        &pod_name(2),
        "Decommissioned",
        "Complete",
        Duration::from_secs(600),
    );
    println!(
        "TIMING decommission of {} Complete {:.1}s: {op}",
        pod_name(2),
        t.elapsed().as_secs_f64()
    );
    // The node is gone from the others' peers, and its pod is no longer Ready.
    for i in 0..2 {
        let name = pod_name(i);
        eventually(
            &format!("{} gone from Pilot {name}'s peers", ips[2]),
            Duration::from_secs(120),
            logs,
            || {
                let p = pilot(&env, ns, &name)?;
                let peers = &p["status"]["cassandra"]["peers"];
                let listed = listed_as_peer(peers, &ips[2]);
                listed
                    .is_empty()
                    .then_some(())
                    .ok_or_else(|| format!("{peers}"))
            },
        );
    }
    eventually(
        &format!("{} not Ready after its decommission", pod_name(2)),
        Duration::from_secs(60),
        logs,
        || {
            let p = pod(&env, ns, &pod_name(2))?;
            (!pod_ready(&p))
                .then_some(())
                .ok_or_else(|| format!("{}", p["status"]["conditions"]))
        },
    );
    let old_uid = pod(&env, ns, &pod_name(2)).unwrap()["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_owned();
    env.k(&["scale", "statefulset", STS, "-n", ns, "--replicas=2"]);
    eventually(
        &format!("{} deleted after the scale-down", pod_name(2)),
        Duration::from_secs(180),
        logs,
        || match pod(&env, ns, &pod_name(2)) {
            Err(e) if e.contains("NotFound") => Ok(()),
            Err(e) => Err(e),
            Ok(p) => Err(format!("still there: {}", p["status"]["phase"])),
        },
    );
    let read = cql("read", &dc, "navtest", 2, rows, &ips[..2]);
    for ip in &ips[..2] {
        assert!(
            read.contains(&format!("READ {rows} rows at ALL through {ip}")),
            "{read}"
        );
    }

    // --- the decommissioned node's volume is refused ---
    // The new pod 2 mounts the old claim (data-cass-demo-a-2, kept by the StatefulSet); its
    // pilot must not start Cassandra there and says why in its Started condition.
    env.k(&["scale", "statefulset", STS, "-n", ns, "--replicas=3"]);
    let new_uid = eventually(
        &format!("a new {} on the old claim", pod_name(2)),
        Duration::from_secs(120),
        logs,
        || {
            let p = pod(&env, ns, &pod_name(2))?;
            let uid = p["metadata"]["uid"].as_str().unwrap_or_default().to_owned();
            (uid != old_uid && container_status(&p)["restartCount"].is_u64())
                .then_some(uid)
                .ok_or_else(|| format!("{}", p["status"]))
        },
    );
    // The new pod's pilot says so in its log …
    let said = eventually(
        &format!("the new {}'s pilot logs its refusal", pod_name(2)),
        Duration::from_secs(120),
        logs,
        || {
            let log = env.container_log(ns, &pod_name(2), "cassandra");
            let marker = format!("(pod uid {new_uid})");
            let own = log.rfind(&marker).map_or("", |i| &log[i..]);
            own.lines()
                .find(|l| l.contains("not starting the database") && l.contains("decommissioned"))
                .map(str::to_owned)
                .ok_or_else(|| own.chars().take(2000).collect())
        },
    );
    println!("refusal logged: {said}");
    // … and in its Pilot's status.
    let refused = eventually(
        &format!(
            "Pilot {} refuses the decommissioned data (Started=False saying so)",
            pod_name(2)
        ),
        Duration::from_secs(240),
        logs,
        || {
            let p = pilot(&env, ns, &pod_name(2))?;
            condition(&p["status"]["conditions"], "Started")
                .filter(|c| {
                    c["status"] == "False"
                        && c["message"]
                            .as_str()
                            .is_some_and(|m| m.to_lowercase().contains("decommission"))
                })
                .cloned()
                .ok_or_else(|| format!("{}", p["status"]))
        },
    );
    println!("refusal: {refused}");
    let p2 = pod(&env, ns, &pod_name(2)).unwrap();
    assert!(
        !pod_ready(&p2),
        "{} Ready on decommissioned data",
        pod_name(2)
    );
    assert!(
        pids_in_pod(&p2, "java").is_empty(),
        "Cassandra runs on decommissioned data in {}",
        pod_name(2)
    );
    env.k(&["scale", "statefulset", STS, "-n", ns, "--replicas=2"]);

    // --- a SIGSTOPped JVM fails liveness and the container restarts ---
    let name = pod_name(1);
    let p = pod(&env, ns, &name).unwrap();
    let restarts = container_status(&p)["restartCount"].as_u64().unwrap_or(0);
    let java = pids_in_pod(&p, "java");
    assert_eq!(java.len(), 1, "one Cassandra JVM in {name}: {java:?}");
    let t = Instant::now();
    signal(java[0], "STOP");
    let mut seen_unready = false;
    eventually(
        &format!("{name} restarted after SIGSTOP of its JVM"),
        Duration::from_secs(240),
        logs,
        || {
            let p = pod(&env, ns, &name)?;
            seen_unready |= !pod_ready(&p);
            let n = container_status(&p)["restartCount"].as_u64().unwrap_or(0);
            (n > restarts)
                .then_some(())
                .ok_or_else(|| format!("restartCount {n}"))
        },
    );
    println!(
        "TIMING SIGSTOP → container restart {:.1}s",
        t.elapsed().as_secs_f64()
    );
    assert!(seen_unready, "{name} stayed Ready with a stopped JVM");
    eventually(
        &format!("{name} Ready again after the restart"),
        Duration::from_secs(300),
        logs,
        || {
            let p = pod(&env, ns, &name)?;
            pod_ready(&p)
                .then_some(())
                .ok_or_else(|| format!("{}", container_status(&p)))
        },
    );

    // --- SIGTERM drains, the container exits 0 ---
    let name = pod_name(0);
    let p = pod(&env, ns, &name).unwrap();
    let restarts = container_status(&p)["restartCount"].as_u64().unwrap_or(0);
    let log_before = env.container_log(ns, &name, "cassandra").len();
    let pilots = pids_in_pod(&p, "pilot");
    assert_eq!(pilots.len(), 1, "one pilot process in {name}: {pilots:?}");
    let t = Instant::now();
    signal(pilots[0], "TERM");
    let terminated = eventually(
        &format!("{name}'s container exits after SIGTERM"),
        Duration::from_secs(180),
        logs,
        || {
            let p = pod(&env, ns, &name)?;
            let c = container_status(&p);
            let n = c["restartCount"].as_u64().unwrap_or(0);
            (n > restarts)
                .then(|| c["lastState"]["terminated"].clone())
                .ok_or_else(|| format!("{c}"))
        },
    );
    println!(
        "TIMING SIGTERM → exit {:.1}s: {terminated}",
        t.elapsed().as_secs_f64()
    );
    assert_eq!(terminated["exitCode"], 0, "{terminated}");
    let log = env.container_log(ns, &name, "cassandra");
    assert!(
        log[log_before.min(log.len())..].contains("DRAINED"),
        "Cassandra did not log DRAINED before exiting:\n{}",
        &log[log_before.min(log.len())..]
    );

    env.k(&["delete", "statefulset", STS, "-n", ns, "--wait=true"]);
    println!(
        "TIMING cassandra_5_0_pilot_story {:.1}s",
        started.elapsed().as_secs_f64()
    );
}
