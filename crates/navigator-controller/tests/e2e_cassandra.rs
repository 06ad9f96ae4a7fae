//! End to end: the Cassandra story of issue 13 — `navigator-controller` as a process against
//! devenv (kube-apiserver with navigator-apiserver aggregated, real pods running real Cassandra
//! under `pilot-cassandra`), with rows written before each operation and read back after through
//! the Python cassandra-driver.
//!
//! ONE CassandraCluster (`demo`, pool `a`: StatefulSet `cass-demo-a`, pods and Pilots
//! `cass-demo-a-<n>`, Services `cass-demo-nodes`, `cass-demo-seeds`, `cass-demo`) goes through the
//! whole story, to keep CI's time down:
//!
//!  1. create at 4.1.10 with 1 replica; CQL connects; keyspace `ks` at RF 2 with rows;
//!  2. delete pod 0: it comes back on the same claim, same host id, with its rows;
//!  3. scale to 2: a `ScaleOut` Event, 2 pods Ready, exactly one seed (pod 0); rows at ALL;
//!  4. SIGSTOP pod 1's JVM: liveness restarts it; rows at ALL;
//!  5. `paused: true` and replicas 3: nothing happens for 20 s, status says `ClusterPaused`;
//!     unpaused: 3 nodes, a ring of 3 seen by every Pilot;
//!  6. unsafe scale-in (keyspace `ks3` at RF 3, replicas 2): held, `Progressing` names `ks3`,
//!     nothing removed; ks3 lowered to RF 2 (the pilot retries the refused decommission by
//!     itself): pod 2 leaves the ring, its claim and Pilot are deleted, rows of `ks` and `ks3`
//!     at ALL — with the controller SIGKILLed and restarted three times on the way;
//!  7. scale out to 3 again: a fresh node (another host id) bootstraps on a fresh claim;
//!  8. reversal: replicas 2, and once Pilot 2 is asked to decommission, 3 again: converges to 3
//!     Ready nodes, a healthy ring, no row lost, `Progressing` False within a bound;
//!  9. rolling upgrade 4.1.10 → 5.0.8 under a background writer at QUORUM (every acknowledged
//!     key logged): never more than one pod down, highest ordinal first, every Pilot reports
//!     5.0.8; then, on its own, the storage compatibility progression (two more rolls, still
//!     under the writer): `storage_compatibility_mode` CASSANDRA_4 → UPGRADING → NONE, never a
//!     pod in NONE beside one in CASSANDRA_4, `Progressing` naming the step; every acknowledged
//!     key and the rows written before read back at ALL; every node's volume ends with its
//!     SSTables in 5.0's format (`oa`/`da`, no `nb` left) and its data recorded at 5.0; the
//!     controller killed once midway;
//! 10. delete the cluster: StatefulSet, Services and Pilots are garbage-collected.
//!
//! `E2E_CASSANDRA_UPGRADE_ONLY=1` (a debugging aid, not for CI) creates the cluster with 3 nodes
//! and runs only steps 1, 9 and 10.
//!
//! Every step prints a TIMING line. Every wait has a bound; its failure message carries the
//! cluster's status, the StatefulSet's, the Pilots' specs and statuses, the pods, the Events,
//! the pods' logs and the controller's log.
//!
//! `#[ignore]`d: it needs root, the pod network (one devenv pod runner per machine), the
//! Go-built binaries (`hack/build-k8s`), the images (`hack/build-images`), the Python
//! cassandra-driver (`hack/install-prereqs`), `cargo build -p devenv -p navigator-apiserver
//! -p navigator-controller` and `cargo build --release -p pilot-cassandra`. Run by
//! `hack/test-devenv`, or with `flock /tmp/devenv.lock cargo test -p navigator-controller
//! --test e2e_cassandra -- --ignored --nocapture`.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use test_support::cassandra::{
    ContinuousWriter, cql, cql_at, listed_as_peer, ring_member_problems, unexpected_peers,
    verify_acked,
};
use test_support::controller::Controller;
use test_support::devenv::{
    self, Env, EnvOptions, GROUP, condition, container_status, eventually, pids_in_pod, pod_ready,
    signal, tail,
};

/// The namespace of the story.
const NS: &str = "cass-e2e";
/// The CassandraCluster and the objects named after it (the original's names).
const CLUSTER: &str = "demo";
const STS: &str = "cass-demo-a";
const SERVICES: [&str; 3] = ["cass-demo-nodes", "cass-demo-seeds", "cass-demo"];
const SEED_LABEL: &str = "navigator.jetstack.io/cassandra-seed";
const CLUSTER_LABEL: &str = "navigator.jetstack.io/cassandra-cluster-name";
/// The pod's memory limit; the pilot derives the heap from it.
const MEMORY_LIMIT: &str = "1Gi";
/// The annotation naming a template's (and pod's) storage compatibility mode.
const MODE_ANNOTATION: &str = "navigator.jetstack.io/cassandra-storage-compatibility-mode";
/// Rows written to each keyspace of the story.
const ROWS: u32 = 200;
/// The version the cluster starts at, and the one it is upgraded to.
const OLD: &str = "4.1.10";
const NEW: &str = "5.0.8";

fn pod_name(ordinal: usize) -> String {
    format!("{STS}-{ordinal}")
}

fn claim_name(ordinal: usize) -> String {
    format!("data-{STS}-{ordinal}")
}

fn cluster_resource() -> String {
    format!("cassandraclusters.{GROUP}")
}

fn pilot_resource() -> String {
    format!("pilots.{GROUP}")
}

/// The controller's flags for this story (beside the kubeconfig, metrics port and no leader
/// election that [`Controller`] always passes).
const CONTROLLER_ARGS: [&str; 4] = [
    "--pilot-image=navigator-pilot:dev",
    // Test rings: gossip settles in seconds on one bridge.
    "--pilot-arg=--ring-delay-ms=5000",
    // A small node drains in seconds; a stopped JVM never does (step 4).
    "--pilot-arg=--shutdown-timeout=30s",
    "--termination-grace-period=60s",
];

// ------------------------------------------------------------------------------------------------
// Observing the story

/// The cluster's objects, read through kubectl, and failure context.
struct Story<'a> {
    env: &'a Env,
    controller_log: PathBuf,
}

impl Story<'_> {
    fn cluster(&self) -> Result<Value, String> {
        self.env
            .get(&["get", &cluster_resource(), CLUSTER, "-n", NS])
    }

    fn pilot(&self, ordinal: usize) -> Result<Value, String> {
        self.env
            .get(&["get", &pilot_resource(), &pod_name(ordinal), "-n", NS])
    }

    fn pod(&self, ordinal: usize) -> Result<Value, String> {
        self.env.get(&["get", "pod", &pod_name(ordinal), "-n", NS])
    }

    fn sts(&self) -> Result<Value, String> {
        self.env.get(&["get", "statefulset", STS, "-n", NS])
    }

    fn claim(&self, ordinal: usize) -> Result<Value, String> {
        self.env
            .get(&["get", "pvc", &claim_name(ordinal), "-n", NS])
    }

    /// `kubectl patch --type=json` of the CassandraCluster.
    fn patch(&self, ops: Value) {
        self.env.k(&[
            "patch",
            &cluster_resource(),
            CLUSTER,
            "-n",
            NS,
            "--type=json",
            "-p",
            &ops.to_string(),
        ]);
        println!("PATCHED cassandracluster {CLUSTER}: {ops}");
    }

    fn set_replicas(&self, n: usize) {
        self.patch(json!([{"op": "replace", "path": "/spec/nodePools/0/replicas", "value": n}]));
    }

    /// The cluster's condition of type `kind` (`Null` when absent).
    fn condition(&self, kind: &str) -> Result<Value, String> {
        let c = self.cluster()?;
        Ok(condition(&c["status"]["conditions"], kind)
            .cloned()
            .unwrap_or(Value::Null))
    }

    fn host_id(&self, ordinal: usize) -> String {
        let p = self.pilot(ordinal).unwrap_or_else(|e| panic!("{e}"));
        p["status"]["cassandra"]["hostId"]
            .as_str()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| {
                panic!(
                    "Pilot {} reports no host id: {}",
                    pod_name(ordinal),
                    p["status"]
                )
            })
            .to_owned()
    }

    fn uid(v: &Value) -> String {
        v["metadata"]["uid"].as_str().unwrap_or_default().to_owned()
    }

    /// Everything a person debugging a failed step wants to see.
    fn diagnostics(&self) -> String {
        let mut out = String::new();
        let mut section = |title: &str, body: String| {
            out.push_str(&format!("\n--- {title} ---\n{body}\n"));
        };
        section(
            "kubectl get cass demo -o yaml",
            self.env
                .kubectl(&["get", &cluster_resource(), CLUSTER, "-n", NS, "-o", "yaml"])
                .unwrap_or_else(|e| e),
        );
        section(
            "statefulset",
            self.sts()
                .map(|s| {
                    format!(
                        "spec.replicas {} updateStrategy {}\nstatus {}",
                        s["spec"]["replicas"], s["spec"]["updateStrategy"], s["status"]
                    )
                })
                .unwrap_or_else(|e| e),
        );
        section(
            "pods",
            self.env
                .kubectl(&["get", "pods", "-n", NS, "-o", "wide", "--show-labels"])
                .unwrap_or_else(|e| e),
        );
        section(
            "claims",
            self.env
                .kubectl(&["get", "pvc", "-n", NS])
                .unwrap_or_else(|e| e),
        );
        section(
            "pilots (spec, status)",
            match self.env.get(&["get", &pilot_resource(), "-n", NS]) {
                Ok(list) => list["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| {
                        format!(
                            "{} gen {} spec {}\n  status {}",
                            p["metadata"]["name"],
                            p["metadata"]["generation"],
                            p["spec"],
                            p["status"]
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
                Err(e) => e,
            },
        );
        section(
            "events",
            self.env
                .kubectl(&["get", "events", "-n", NS, "--sort-by=.lastTimestamp"])
                .map(|e| tail(&e, 40))
                .unwrap_or_else(|e| e),
        );
        section("pod logs (tails)", self.env.pod_logs(NS));
        section(
            "navigator-controller log (last 100 lines)",
            tail(
                &std::fs::read_to_string(&self.controller_log).unwrap_or_default(),
                100,
            ),
        );
        out
    }

    /// [`eventually`] with the story's diagnostics on failure.
    fn wait<T>(&self, what: &str, timeout: Duration, f: impl FnMut() -> Result<T, String>) -> T {
        eventually(what, timeout, || self.diagnostics(), f)
    }

    fn fail(&self, what: &str) -> ! {
        panic!("{what}\n{}", self.diagnostics())
    }

    /// Waits until the StatefulSet has exactly `n` replicas, all Ready, no pod of a higher
    /// ordinal exists, and every Pilot reports a NORMAL member of `version` seeing exactly the
    /// others live; returns the pods' IPs by ordinal.
    fn wait_for_ring(&self, n: usize, version: &str, timeout: Duration) -> Vec<String> {
        let t = Instant::now();
        self.wait(
            &format!("StatefulSet {STS}: exactly {n} pods, all Ready"),
            timeout,
            || {
                let s = self.sts()?;
                let want = Some(n as u64);
                let ok = s["spec"]["replicas"].as_u64() == want
                    && s["status"]["replicas"].as_u64() == want
                    && s["status"]["readyReplicas"].as_u64() == want;
                let extra = self.pod(n).is_ok();
                (ok && !extra).then_some(()).ok_or_else(|| {
                    format!(
                        "spec.replicas {} status {} (pod {n} exists: {extra})",
                        s["spec"]["replicas"], s["status"]
                    )
                })
            },
        );
        let deadline = Instant::now() + Duration::from_secs(180);
        let ips = self.wait(
            &format!("every Pilot of {n} reports a ring of {n} at {version}"),
            deadline.saturating_duration_since(Instant::now()),
            || {
                let ips: Vec<String> = (0..n)
                    .map(|i| {
                        self.pod(i).and_then(|p| {
                            p["status"]["podIP"]
                                .as_str()
                                .map(str::to_owned)
                                .ok_or_else(|| format!("{} has no IP", pod_name(i)))
                        })
                    })
                    .collect::<Result<_, _>>()?;
                for i in 0..n {
                    let others: Vec<String> =
                        (0..n).filter(|j| *j != i).map(|j| ips[j].clone()).collect();
                    let p = self.pilot(i)?;
                    let mut problems = ring_member_problems(&p["status"], version, &others);
                    problems.extend(unexpected_peers(&p["status"]["cassandra"]["peers"], &ips));
                    if !problems.is_empty() {
                        return Err(format!(
                            "Pilot {}: {problems:?} in {}",
                            pod_name(i),
                            p["status"]["cassandra"]
                        ));
                    }
                }
                Ok(ips)
            },
        );
        println!(
            "TIMING ring of {n} at {version} (Ready, seen by every Pilot) {:.1}s",
            t.elapsed().as_secs_f64()
        );
        ips
    }

    /// Waits until `Progressing` is False with reason `Converged` for the current generation.
    fn wait_converged(&self, timeout: Duration) -> Value {
        self.wait(
            "the cluster converged (Progressing False, Converged, observedGeneration current)",
            timeout,
            || {
                let c = self.cluster()?;
                let p = condition(&c["status"]["conditions"], "Progressing")
                    .cloned()
                    .unwrap_or(Value::Null);
                let current = c["status"]["observedGeneration"] == c["metadata"]["generation"];
                (p["status"] == "False" && p["reason"] == "Converged" && current)
                    .then(|| p.clone())
                    .ok_or_else(|| {
                        format!(
                            "Progressing {p}; observedGeneration {} generation {}",
                            c["status"]["observedGeneration"], c["metadata"]["generation"]
                        )
                    })
            },
        )
    }

    fn datacenter(&self) -> String {
        let p = self.pilot(0).unwrap_or_else(|e| self.fail(&e));
        p["status"]["cassandra"]["datacenter"]
            .as_str()
            .unwrap_or_else(|| self.fail("Pilot 0 reports no datacenter"))
            .to_owned()
    }

    fn requested_state(&self, ordinal: usize) -> Result<String, String> {
        let p = self.pilot(ordinal)?;
        Ok(p["spec"]["requestedState"]
            .as_str()
            .unwrap_or("")
            .to_owned())
    }
}

/// What node `ordinal`'s volume holds (read on the host: the claim's PersistentVolume is a
/// hostPath directory of devenv's provisioner): the pilot's data record, the number of
/// `*-Data.db` files by SSTable format (`nb` is 4.x's, `oa`/`da` 5.0's; snapshots and backups
/// left out), and the formats in keyspace `ks`.
#[allow(clippy::type_complexity)]
fn sstable_formats(
    env: &Env,
    ordinal: usize,
) -> Result<(String, BTreeMap<String, usize>, BTreeMap<String, usize>), String> {
    let claim = env.get(&["get", "pvc", &claim_name(ordinal), "-n", NS])?;
    let volume = claim["spec"]["volumeName"]
        .as_str()
        .ok_or_else(|| format!("claim {} is not bound", claim_name(ordinal)))?;
    let pv = env.get(&["get", "pv", volume])?;
    let root = PathBuf::from(
        pv["spec"]["hostPath"]["path"]
            .as_str()
            .ok_or_else(|| format!("volume {volume} is not a hostPath"))?,
    );
    let mut record = String::new();
    let mut formats = BTreeMap::new();
    let mut ks_formats = BTreeMap::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if name != "snapshots" && name != "backups" {
                    dirs.push(path);
                }
            } else if name == ".navigator-cassandra-data.json" {
                record = std::fs::read_to_string(&path).unwrap_or_default();
            } else if let Some(rest) = name.strip_suffix("-Data.db") {
                let format = rest.split('-').next().unwrap_or(rest).to_owned();
                if path
                    .strip_prefix(&root)
                    .is_ok_and(|p| p.components().any(|c| c.as_os_str() == "ks"))
                {
                    *ks_formats.entry(format.clone()).or_insert(0) += 1;
                }
                *formats.entry(format).or_insert(0) += 1;
            }
        }
    }
    Ok((record, formats, ks_formats))
}

/// The CassandraCluster of the story.
fn cluster_manifest(version: &str, replicas: usize) -> Value {
    json!({
        "apiVersion": format!("{GROUP}/v1beta1"), "kind": "CassandraCluster",
        "metadata": {"name": CLUSTER, "namespace": NS},
        "spec": {
            "version": version,
            "pilotImage": {"repository": "navigator-pilot", "tag": "dev"},
            "nodePools": [{
                "name": "a",
                "replicas": replicas,
                "persistence": {"size": "1Gi"},
                "resources": {"requests": {"cpu": "100m", "memory": MEMORY_LIMIT},
                              "limits": {"memory": MEMORY_LIMIT}},
            }]
        }
    })
}

fn step(n: u32, what: &str) -> Instant {
    println!("\n===== STEP {n}: {what} =====");
    Instant::now()
}

fn step_done(n: u32, what: &str, t: Instant) {
    println!("TIMING step {n} {what} {:.1}s", t.elapsed().as_secs_f64());
}

// ------------------------------------------------------------------------------------------------
// The story

#[test]
#[ignore = "needs root, devenv's pod runner, the Go-built binaries, the images, the Python cassandra-driver, navigator-controller and release pilot-cassandra; run by hack/test-devenv"]
fn cassandra_cluster_story() {
    devenv::require_prerequisites();
    devenv::require_release_pilot();
    devenv::python();
    let upgrade_only = std::env::var_os("E2E_CASSANDRA_UPGRADE_ONLY").is_some();
    let started = Instant::now();
    // Cassandra drains on SIGTERM: allow it more than the runner's default 30 s.
    let mut env = Env::up(EnvOptions::new("controller-e2e").grace_cap_seconds(120));
    env.start_navigator();
    let mut controller = Controller::start(&env, &CONTROLLER_ARGS);
    let story = Story {
        env: &env,
        controller_log: controller.log_path().to_owned(),
    };
    let env = &env;

    // --- 1. create ------------------------------------------------------------------------
    let t = step(
        1,
        "create the cluster at 4.1.10 (1 node; 3 with E2E_CASSANDRA_UPGRADE_ONLY)",
    );
    env.k(&["create", "namespace", NS]);
    let first = if upgrade_only { 3 } else { 1 };
    env.apply("cassandracluster", &cluster_manifest(OLD, first));
    let ips = story.wait_for_ring(first, OLD, Duration::from_secs(900));
    for svc in SERVICES {
        story.wait(&format!("Service {svc}"), Duration::from_secs(60), || {
            env.get(&["get", "service", svc, "-n", NS]).map(|_| ())
        });
    }
    let p0 = story.pod(0).unwrap();
    let image = container_status(&p0, "cassandra")["image"].clone();
    assert!(
        image
            .as_str()
            .is_some_and(|i| i.contains("cassandra:4.1.10")),
        "pod 0 runs {image}, not cassandra:4.1.10"
    );
    let dc = story.datacenter();
    // RF 2 on one node: written and read at ONE until a second node exists.
    cql_at("ONE", "write", &dc, "ks", 2, ROWS, &ips[..1]);
    cql_at("ONE", "read", &dc, "ks", 2, ROWS, &ips[..1]);
    controller.assert_running();
    step_done(1, "create", t);

    // A debugging aid for the upgrade (not for CI): E2E_CASSANDRA_UPGRADE_ONLY=1 creates the
    // cluster with 3 nodes at once and goes straight to steps 9 and 10.
    let ips = if upgrade_only {
        cql("write", &dc, "ks3", 2, ROWS, &ips[..1]);
        cql("read", &dc, "ks", 2, ROWS, &ips);
        ips
    } else {
        // --- 2. pod loss ------------------------------------------------------------------------
        let t = step(2, "delete pod 0: it comes back on its claim with its rows");
        let old_pod = Story::uid(&story.pod(0).unwrap());
        let claim0 = Story::uid(&story.claim(0).unwrap_or_else(|e| story.fail(&e)));
        let host0 = story.host_id(0);
        env.k(&["delete", "pod", &pod_name(0), "-n", NS, "--wait=false"]);
        story.wait("a new pod 0, Ready", Duration::from_secs(600), || {
            let p = story.pod(0)?;
            (Story::uid(&p) != old_pod && pod_ready(&p))
                .then_some(())
                .ok_or_else(|| format!("uid {} ready {}", Story::uid(&p), pod_ready(&p)))
        });
        let ips = story.wait_for_ring(1, OLD, Duration::from_secs(300));
        assert_eq!(
            Story::uid(&story.claim(0).unwrap()),
            claim0,
            "pod 0's claim was replaced"
        );
        assert_eq!(story.host_id(0), host0, "pod 0 came back as another node");
        cql_at("ONE", "read", &dc, "ks", 2, ROWS, &ips);
        controller.assert_running();
        step_done(2, "pod loss", t);

        // --- 3. scale out to 2 ------------------------------------------------------------------
        let t = step(3, "scale out to 2");
        story.set_replicas(2);
        let ips = story.wait_for_ring(2, OLD, Duration::from_secs(900));
        story.wait(
            "a ScaleOut Event on CassandraCluster demo",
            Duration::from_secs(60),
            || {
                let events = env.get(&["get", "events", "-n", NS])?;
                let found: Vec<Value> = events["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|e| e["reason"] == "ScaleOut" && e["involvedObject"]["name"] == CLUSTER)
                    .cloned()
                    .collect();
                if found.is_empty() {
                    Err("no ScaleOut event".to_owned())
                } else {
                    println!("ScaleOut events: {}", found.len());
                    Ok(())
                }
            },
        );
        story.wait("exactly one seed (pod 0)", Duration::from_secs(60), || {
            let pods = env.get(&["get", "pods", "-n", NS, "-l", &format!("{SEED_LABEL}=true")])?;
            let names: Vec<&str> = pods["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["metadata"]["name"].as_str())
                .collect();
            (names == [pod_name(0).as_str()])
                .then_some(())
                .ok_or_else(|| format!("seeds {names:?}"))
        });
        cql("read", &dc, "ks", 2, ROWS, &ips);
        controller.assert_running();
        step_done(3, "scale out to 2", t);

        // --- 4. a frozen JVM ----------------------------------------------------------------------
        let t = step(4, "SIGSTOP pod 1's JVM: liveness restarts it");
        let p1 = story.pod(1).unwrap();
        let restarts = container_status(&p1, "cassandra")["restartCount"]
            .as_u64()
            .unwrap_or(0);
        let java = pids_in_pod(&p1, "java");
        assert_eq!(java.len(), 1, "one Cassandra JVM in pod 1: {java:?}");
        signal(java[0], "STOP");
        let mut seen_unready = false;
        story.wait(
            "pod 1 restarted after SIGSTOP of its JVM",
            Duration::from_secs(300),
            || {
                let p = story.pod(1)?;
                seen_unready |= !pod_ready(&p);
                let n = container_status(&p, "cassandra")["restartCount"]
                    .as_u64()
                    .unwrap_or(0);
                (n > restarts)
                    .then_some(())
                    .ok_or_else(|| format!("restartCount {n}"))
            },
        );
        assert!(seen_unready, "pod 1 stayed Ready with a stopped JVM");
        let ips = story.wait_for_ring(2, OLD, Duration::from_secs(600));
        cql("read", &dc, "ks", 2, ROWS, &ips);
        controller.assert_running();
        step_done(4, "SIGSTOP → restart", t);

        // --- 5. pause -------------------------------------------------------------------------------
        let t = step(5, "paused: a replicas change waits; unpaused: it happens");
        story.patch(json!([
            {"op": "add", "path": "/spec/paused", "value": true},
            {"op": "replace", "path": "/spec/nodePools/0/replicas", "value": 3},
        ]));
        let paused_at = Instant::now();
        let mut paused_condition = Value::Null;
        while paused_at.elapsed() < Duration::from_secs(20) || paused_condition.is_null() {
            let s = story.sts().unwrap_or_else(|e| story.fail(&e));
            if s["spec"]["replicas"] != 2 {
                story.fail(&format!(
                    "paused, yet the StatefulSet has spec.replicas {} after {:.1}s",
                    s["spec"]["replicas"],
                    paused_at.elapsed().as_secs_f64()
                ));
            }
            if story.pilot(2).is_ok() {
                story.fail("paused, yet Pilot cass-demo-a-2 was created");
            }
            let p = story.condition("Progressing").unwrap_or(Value::Null);
            if p["reason"] == "ClusterPaused" && paused_condition.is_null() {
                println!(
                    "TIMING ClusterPaused reported {:.1}s: {p}",
                    paused_at.elapsed().as_secs_f64()
                );
                paused_condition = p;
            }
            if paused_at.elapsed() > Duration::from_secs(60) {
                story.fail("paused: Progressing never said ClusterPaused within 60 s");
            }
            std::thread::sleep(Duration::from_secs(1));
        }
        story.patch(json!([{"op": "add", "path": "/spec/paused", "value": false}]));
        let ips = story.wait_for_ring(3, OLD, Duration::from_secs(900));
        cql("read", &dc, "ks", 2, ROWS, &ips);
        controller.assert_running();
        step_done(5, "pause, unpause → 3", t);

        // --- 6. unsafe scale-in held, then made safe ---------------------------------------------
        let t = step(
            6,
            "unsafe scale-in held; made safe; scale-in with controller crashes",
        );
        cql("write", &dc, "ks3", 3, ROWS, &ips[..1]);
        let removed_host = story.host_id(2);
        let removed_ip = ips[2].clone();
        let removed_claim = Story::uid(&story.claim(2).unwrap_or_else(|e| story.fail(&e)));
        let removed_pod = Story::uid(&story.pod(2).unwrap());
        story.set_replicas(2);
        let blocked = story.wait(
            "Progressing names keyspace ks3 (the unsafe scale-in is held)",
            Duration::from_secs(300),
            || {
                let p = story.condition("Progressing")?;
                p["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("ks3"))
                    .then(|| p.clone())
                    .ok_or_else(|| format!("Progressing {p}"))
            },
        );
        println!(
            "TIMING unsafe scale-in held {:.1}s: {blocked}",
            t.elapsed().as_secs_f64()
        );
        // Held, also across the pilot's retries (every 15 s).
        std::thread::sleep(Duration::from_secs(20));
        let still = story.condition("Progressing").unwrap();
        assert!(
            still["message"].as_str().is_some_and(|m| m.contains("ks3")),
            "Progressing no longer names ks3 after 20 s: {still}\n{}",
            story.diagnostics()
        );
        let s = story.sts().unwrap();
        assert_eq!(
            s["spec"]["replicas"],
            3,
            "the StatefulSet shrank although the scale-in is unsafe:\n{}",
            story.diagnostics()
        );
        let p2 = story.pod(2).unwrap_or_else(|e| story.fail(&e));
        assert_eq!(Story::uid(&p2), removed_pod, "pod 2 was replaced");
        assert!(pod_ready(&p2), "pod 2 not Ready:\n{}", story.diagnostics());
        println!("degraded: {}", story.condition("Degraded").unwrap());
        // What a person does (the planner's documentation): lower ks3's RF. The pilot retries its
        // refused decommission by itself (every --operation-retry-interval, 15 s), which now passes;
        // the controller is crashed right after, while the scale-in is still blocked.
        cql("alter", &dc, "ks3", 2, 0, &ips[..1]);
        let t_in = Instant::now();
        controller.crash_and_restart("scale-in: blocked, right after ks3 went to RF 2");
        let phase = story.wait(
            "Pilot 2's decommission InProgress or Complete (the pilot retries the refused one)",
            Duration::from_secs(600),
            || {
                let p = story.pilot(2)?;
                let op = &p["status"]["operation"];
                match (op["state"].as_str(), op["phase"].as_str()) {
                    (Some("Decommissioned"), Some(phase @ ("InProgress" | "Complete"))) => {
                        Ok(phase.to_owned())
                    }
                    _ => Err(format!("operation {op}")),
                }
            },
        );
        controller.crash_and_restart(&format!("scale-in: Pilot 2's decommission {phase}"));
        story.wait(
            "the StatefulSet lowered to 2 replicas",
            Duration::from_secs(600),
            || {
                let s = story.sts()?;
                (s["spec"]["replicas"] == 2)
                    .then_some(())
                    .ok_or_else(|| format!("spec.replicas {}", s["spec"]["replicas"]))
            },
        );
        controller.crash_and_restart("scale-in: right after the StatefulSet went to 2");
        let pod_gone = story.wait("pod 2 gone", Duration::from_secs(300), || {
            match story.pod(2) {
                Err(e) if e.contains("NotFound") => Ok(Instant::now()),
                Err(e) => Err(e),
                Ok(p) => Err(format!("still there: {}", p["status"]["phase"])),
            }
        });
        story.wait(
            "claim data-cass-demo-a-2 deleted",
            Duration::from_secs(300),
            || match story.claim(2) {
                Err(e) if e.contains("NotFound") => Ok(()),
                Err(e) => Err(e),
                Ok(c) => Err(format!(
                    "still there: uid {} phase {}",
                    Story::uid(&c),
                    c["status"]["phase"]
                )),
            },
        );
        story.wait(
            "Pilot cass-demo-a-2 deleted",
            Duration::from_secs(300),
            || match story.pilot(2) {
                Err(e) if e.contains("NotFound") => Ok(()),
                Err(e) => Err(e),
                Ok(p) => Err(format!("still there: {}", p["status"]["operation"])),
            },
        );
        // The removed node is gone from every list of the others — also once its process has
        // stopped and gossip's failure detector has had time (~20 s) to mark it down: checked
        // until 30 s after its pod went.
        for i in 0..2 {
            story.wait(
                &format!(
                    "{removed_ip} gone from Pilot {}'s peers (of any kind), 30 s after its pod went",
                    pod_name(i)
                ),
                Duration::from_secs(150),
                || {
                    let p = story.pilot(i)?;
                    let listed = listed_as_peer(&p["status"]["cassandra"]["peers"], &removed_ip);
                    if !listed.is_empty() {
                        Err(format!("listed as {listed:?}"))
                    } else if pod_gone.elapsed() < Duration::from_secs(30) {
                        Err("not listed yet, checking until 30 s after the pod went".to_owned())
                    } else {
                        Ok(())
                    }
                },
            );
        }
        let ips = story.wait_for_ring(2, OLD, Duration::from_secs(300));
        println!(
            "TIMING scale-in 3 → 2 with 3 controller crashes {:.1}s",
            t_in.elapsed().as_secs_f64()
        );
        cql("read", &dc, "ks", 2, ROWS, &ips);
        cql("read", &dc, "ks3", 2, ROWS, &ips);
        story.wait_converged(Duration::from_secs(300));
        controller.assert_running();
        step_done(6, "unsafe scale-in held, then scale-in", t);

        // --- 7. a fresh node after a scale-in ---------------------------------------------------
        let t = step(7, "scale out to 3 again: a fresh node bootstraps");
        story.set_replicas(3);
        let ips = story.wait_for_ring(3, OLD, Duration::from_secs(900));
        let fresh_host = story.host_id(2);
        assert_ne!(
            fresh_host, removed_host,
            "pod 2 came back as the removed node (host id {removed_host})"
        );
        let fresh_claim = Story::uid(&story.claim(2).unwrap_or_else(|e| story.fail(&e)));
        assert_ne!(fresh_claim, removed_claim, "pod 2 reuses the removed claim");
        cql("read", &dc, "ks", 2, ROWS, &ips);
        cql("read", &dc, "ks3", 2, ROWS, &ips);
        controller.assert_running();
        step_done(7, "fresh node", t);

        // --- 8. reversal ---------------------------------------------------------------------------
        let t = step(
            8,
            "reversal: replicas 2, then 3 once the decommission is requested",
        );
        let before_pod = Story::uid(&story.pod(2).unwrap());
        story.set_replicas(2);
        story.wait(
            "Pilot 2 asked to decommission",
            Duration::from_secs(300),
            || {
                let r = story.requested_state(2)?;
                (r == "Decommissioned")
                    .then_some(())
                    .ok_or_else(|| format!("requestedState {r:?}"))
            },
        );
        story.set_replicas(3);
        let t_rev = Instant::now();
        let converged = story.wait_converged(Duration::from_secs(900));
        println!(
            "TIMING reversal converged {:.1}s: {converged}",
            t_rev.elapsed().as_secs_f64()
        );
        let ips = story.wait_for_ring(3, OLD, Duration::from_secs(300));
        let after_pod = Story::uid(&story.pod(2).unwrap());
        println!(
            "reversal path: {}",
            if after_pod == before_pod {
                "the decommission was withdrawn before it started (same pod 2)".to_owned()
            } else {
                format!(
                    "the node left and a fresh one joined (host id {})",
                    story.host_id(2)
                )
            }
        );
        cql("read", &dc, "ks", 2, ROWS, &ips);
        cql("read", &dc, "ks3", 2, ROWS, &ips);
        controller.assert_running();
        step_done(8, "reversal", t);

        ips
    };

    // --- 9. rolling upgrade under writes ----------------------------------------------------
    let t = step(9, "rolling upgrade 4.1.10 → 5.0.8 under writes at QUORUM");
    cql("keyspace", &dc, "ksw", 3, 0, &ips[..1]);
    let mut writer = ContinuousWriter::start(env.work_dir(), "ksw", "QUORUM", &ips);
    story.wait(
        "the writer acknowledged 50 writes",
        Duration::from_secs(60),
        || {
            let n = writer.acked_count();
            (n >= 50)
                .then_some(())
                .ok_or_else(|| format!("{n} acked; writer log:\n{}", writer.log()))
        },
    );
    let old_revision = story.sts().unwrap()["status"]["currentRevision"]
        .as_str()
        .unwrap_or_else(|| story.fail("the StatefulSet reports no currentRevision"))
        .to_owned();
    story.patch(json!([{"op": "replace", "path": "/spec/version", "value": NEW}]));
    let upgrade = Instant::now();
    let mut max_down = 0;
    let mut violations: Vec<String> = Vec::new();
    let mut order: Vec<usize> = Vec::new();
    let mut crashed = false;
    let mut acked_at_start = 0;
    // The storage compatibility progression: the template's mode as it changes (with the time),
    // when every pod first ran 5.0.8, and whether Progressing named a step.
    let mut template_modes: Vec<(String, f64)> = Vec::new();
    let mut pods_in_mode: Vec<(String, f64)> = Vec::new();
    let mut version_rolled: Option<f64> = None;
    let mut step_named = false;
    loop {
        if upgrade.elapsed() > Duration::from_secs(2400) {
            story.fail(&format!(
                "the upgrade did not finish within 40 min; pods updated in order {order:?}"
            ));
        }
        if !writer.running() {
            story.fail(&format!("the writer died:\n{}", writer.log()));
        }
        let Ok(s) = story.sts() else {
            std::thread::sleep(Duration::from_secs(1));
            continue;
        };
        let update = s["status"]["updateRevision"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        let Ok(pods) = env.get(&[
            "get",
            "pods",
            "-n",
            NS,
            "-l",
            &format!("{CLUSTER_LABEL}={CLUSTER}"),
        ]) else {
            std::thread::sleep(Duration::from_secs(1));
            continue;
        };
        let mut by_ordinal: BTreeMap<usize, (bool, String)> = BTreeMap::new();
        let mut modes: BTreeMap<usize, String> = BTreeMap::new();
        for p in pods["items"].as_array().into_iter().flatten() {
            let name = p["metadata"]["name"].as_str().unwrap_or("");
            let Some(ordinal) = name
                .strip_prefix(&format!("{STS}-"))
                .and_then(|o| o.parse().ok())
            else {
                continue;
            };
            let terminating = !p["metadata"]["deletionTimestamp"].is_null();
            let rev = p["metadata"]["labels"]["controller-revision-hash"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            by_ordinal.insert(ordinal, (pod_ready(p) && !terminating, rev));
            if !terminating {
                // A 4.1.10 pod names no mode ("-"): it runs 4.x's formats, like CASSANDRA_4.
                let mode = p["metadata"]["annotations"][MODE_ANNOTATION]
                    .as_str()
                    .unwrap_or("-");
                modes.insert(ordinal, mode.to_owned());
            }
        }
        let at = upgrade.elapsed().as_secs_f64();
        let template_mode = s["metadata"]["annotations"][MODE_ANNOTATION]
            .as_str()
            .unwrap_or("-")
            .to_owned();
        if template_modes.last().map(|(m, _)| m) != Some(&template_mode) {
            println!("TIMING upgrade: StatefulSet template in {template_mode} {at:.1}s");
            template_modes.push((template_mode.clone(), at));
        }
        if modes.len() == 3
            && modes.values().all(|m| *m == template_mode)
            && pods_in_mode.last().map(|(m, _)| m) != Some(&template_mode)
        {
            println!("TIMING upgrade: every pod in {template_mode} {at:.1}s");
            pods_in_mode.push((template_mode.clone(), at));
        }
        if modes.values().any(|m| m == "NONE")
            && modes.values().any(|m| m == "CASSANDRA_4" || m == "-")
        {
            violations.push(format!(
                "{at:.0}s: a pod in NONE beside one in CASSANDRA_4: {modes:?}"
            ));
        }
        if !step_named
            && let Ok(p) = story.condition("Progressing")
            && p["message"]
                .as_str()
                .is_some_and(|m| m.contains("storage_compatibility_mode"))
        {
            println!("upgrade: Progressing {} {}", p["reason"], p["message"]);
            step_named = true;
        }
        let down: Vec<usize> = (0..3)
            .filter(|o| !by_ordinal.get(o).is_some_and(|(ready, _)| *ready))
            .collect();
        max_down = max_down.max(down.len());
        if down.len() > 1 {
            violations.push(format!(
                "{:.0}s: pods {down:?} down at once ({by_ordinal:?}, update revision {update})",
                upgrade.elapsed().as_secs_f64()
            ));
        }
        // A pod is updated once it runs a revision other than the one before the upgrade.
        let updated_ready: Vec<usize> = by_ordinal
            .iter()
            .filter(|(_, (ready, rev))| *ready && !rev.is_empty() && *rev != old_revision)
            .map(|(o, _)| *o)
            .collect();
        for o in &updated_ready {
            if !order.contains(o) {
                order.push(*o);
                println!(
                    "TIMING upgrade: pod {o} Ready on the new revision {:.1}s (acked writes {})",
                    upgrade.elapsed().as_secs_f64(),
                    writer.acked_count()
                );
            }
        }
        if !crashed && !order.is_empty() {
            controller.crash_and_restart("upgrade: after the first pod was updated");
            crashed = true;
            acked_at_start = writer.acked_count();
        }
        let rolled = s["status"]["updatedReplicas"] == 3
            && s["status"]["readyReplicas"] == 3
            && s["status"]["currentRevision"] == update.as_str()
            && update != old_revision
            && (0..3).all(|i| {
                story
                    .pilot(i)
                    .is_ok_and(|p| p["status"]["cassandra"]["version"] == NEW)
            });
        if rolled && version_rolled.is_none() {
            println!("TIMING upgrade: every pod runs {NEW} {at:.1}s");
            version_rolled = Some(at);
        }
        if rolled && template_mode == "NONE" && modes.values().all(|m| m == "NONE") {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let total = upgrade.elapsed().as_secs_f64();
    let version_s = version_rolled.unwrap_or(total);
    println!(
        "TIMING upgrade rolled 3 pods to {NEW} {version_s:.1}s, then the storage steps \
         (UPGRADING, NONE) {:.1}s more, {total:.1}s in all; order {order:?}; max pods down at \
         once {max_down}; template modes {template_modes:?}; every pod in {pods_in_mode:?}",
        total - version_s
    );
    let steps: Vec<&str> = template_modes.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(
        steps
            .iter()
            .rev()
            .take(3)
            .rev()
            .copied()
            .collect::<Vec<_>>(),
        vec!["CASSANDRA_4", "UPGRADING", "NONE"],
        "the template's modes were {template_modes:?}\n{}",
        story.diagnostics()
    );
    assert!(
        pods_in_mode.iter().any(|(m, _)| m == "UPGRADING"),
        "no moment with every pod in UPGRADING before NONE: {pods_in_mode:?}"
    );
    assert!(
        step_named,
        "Progressing never named a storage compatibility step"
    );
    let ips = story.wait_for_ring(3, NEW, Duration::from_secs(300));
    let report = writer.stop(Duration::from_secs(60));
    println!(
        "writer: {} acknowledged, {} failed ({} acknowledged after the controller crash)",
        report.acked.len(),
        report.failed,
        report.acked.len().saturating_sub(acked_at_start)
    );
    assert!(
        violations.is_empty(),
        "more than one pod down at once during the upgrade:\n{}\n{}",
        violations.join("\n"),
        story.diagnostics()
    );
    assert!(crashed, "the controller was not crashed during the upgrade");
    let (checked, missing) = verify_acked("ksw", writer.acked_file(), &ips);
    println!(
        "verified {checked} acknowledged writes at ALL: {} missing",
        missing.len()
    );
    assert_eq!(
        checked,
        report.acked.len(),
        "not every acknowledged key was read"
    );
    assert!(
        missing.is_empty(),
        "acknowledged writes lost in the upgrade: {missing:?}\nwriter log:\n{}",
        tail(&report.log, 60)
    );
    assert!(
        report.acked.len() > 100,
        "the writer acknowledged only {} writes:\n{}",
        report.acked.len(),
        tail(&report.log, 60)
    );
    let ping = cql("ping", &dc, "-", 1, 0, &ips);
    assert_eq!(ping.matches(&format!(" {NEW}")).count(), 3, "{ping}");
    cql("read", &dc, "ks", 2, ROWS, &ips);
    cql("read", &dc, "ks3", 2, ROWS, &ips);
    assert_eq!(
        order,
        vec![2, 1, 0],
        "pods were not updated highest ordinal first"
    );
    // Under NONE every pilot rewrites its node's 4.x SSTables (upgradesstables) by itself.
    let t_sstables = Instant::now();
    story.wait(
        "every node's SSTables in 5.0's format and its data recorded at 5.0",
        Duration::from_secs(300),
        || {
            let mut problems = Vec::new();
            for i in 0..3 {
                let (record, formats, ks_formats) = sstable_formats(env, i)?;
                if !record.contains("\"5.0\"") {
                    problems.push(format!("{}: record {record}", pod_name(i)));
                }
                let old: Vec<&String> = formats
                    .keys()
                    .filter(|f| !matches!(f.as_str(), "oa" | "da"))
                    .collect();
                if !old.is_empty() || ks_formats.is_empty() {
                    problems.push(format!(
                        "{}: Data.db by format {formats:?}, in ks {ks_formats:?}",
                        pod_name(i)
                    ));
                }
            }
            problems
                .is_empty()
                .then_some(())
                .ok_or_else(|| problems.join("; "))
        },
    );
    for i in 0..3 {
        let (record, formats, ks_formats) = sstable_formats(env, i).unwrap();
        println!(
            "{}: data record {record}; Data.db by format {formats:?} (ks: {ks_formats:?})",
            pod_name(i)
        );
    }
    println!(
        "TIMING upgrade: SSTables rewritten in 5.0's format on every node {:.1}s after NONE",
        t_sstables.elapsed().as_secs_f64()
    );
    cql("read", &dc, "ks", 2, ROWS, &ips);
    story.wait_converged(Duration::from_secs(600));
    controller.assert_running();
    step_done(9, "rolling upgrade", t);

    // --- 10. delete --------------------------------------------------------------------------
    let t = step(10, "delete the cluster: its children are garbage-collected");
    env.k(&[
        "delete",
        &cluster_resource(),
        CLUSTER,
        "-n",
        NS,
        "--wait=false",
    ]);
    story.wait(
        "StatefulSet, Services and Pilots garbage-collected",
        Duration::from_secs(300),
        || {
            let mut left = Vec::new();
            if story.sts().is_ok() {
                left.push(format!("statefulset/{STS}"));
            }
            for svc in SERVICES {
                if env.get(&["get", "service", svc, "-n", NS]).is_ok() {
                    left.push(format!("service/{svc}"));
                }
            }
            let pilots = env.get(&["get", &pilot_resource(), "-n", NS])?;
            for p in pilots["items"].as_array().into_iter().flatten() {
                left.push(format!("pilot/{}", p["metadata"]["name"]));
            }
            left.is_empty()
                .then_some(())
                .ok_or_else(|| format!("left: {left:?}"))
        },
    );
    controller.assert_running();
    step_done(10, "delete", t);
    println!(
        "TIMING cassandra_cluster_story {:.1}s",
        started.elapsed().as_secs_f64()
    );
}
