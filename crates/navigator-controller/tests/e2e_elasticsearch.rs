//! End to end: the ElasticsearchCluster story of issue 14 — `navigator-controller` as a process
//! against devenv (kube-apiserver with navigator-apiserver aggregated, real pods running real
//! OpenSearch and Elasticsearch under `pilot-elasticsearch`), every outcome checked through the
//! database's own REST API from the host (`test_support::elasticsearch`) and the objects through
//! kube-apiserver.
//!
//! `opensearch_cluster_story`: ONE OpenSearch cluster (`demo` in namespace `es-e2e`; pools
//! `masters` — master, data, ingest — and `data` — data, ingest —: StatefulSets
//! `es-demo-<pool>`, pods and Pilots `es-demo-<pool>-<n>`, client Service `es-demo`) goes
//! through the whole story, to keep CI's time down:
//!
//!  1. create at 2.18.0 with `masters` × 1: the client Service appears, a `CreateNodePool`
//!     Event, the pod Running, a leader pilot elected (Lease `es-demo-pilot-leader` held);
//!     documents with 1 replica: the Pilot reports documents > 0, the cluster's
//!     `status.health` Yellow; `masters` → 2: Green; → 3;
//!  2. pool `data` × 3 added; index `kept` (1 replica) and `bare` (0 replicas, 6 shards);
//!  3. `data` 3 → 2 → 1, each step watched every 250 ms: the condemned Pilot asked to
//!     decommission, its node excluded and holding 0 shards before its pod goes, the exclusion
//!     cleaned after; 0 documents lost in any index; Green after each step;
//!  4. rolling upgrade 2.18.0 → 2.19.6 under a continuous indexer (through the client
//!     Service): never two database pods not Ready at once, highest ordinal first in each
//!     pool, every Pilot reports 2.19.6, every acknowledged document present, Green, replica
//!     allocation resumed (`cluster.routing.allocation.enable` unset; its changes are printed);
//!  5. reversal: `data` 1 → 3 (Green, the rebalance gives `es-demo-data-2` shards); recovery
//!     throttled to 1 kB/s so that a drain cannot finish; `data` 3 → 2 and, once
//!     `es-demo-data-2` is excluded, its Pilot's decommission InProgress and shards still on
//!     it, 3 again: its requested state back to Running, the exclusion removed, the same pod
//!     kept; throttle restored: Green, 0 documents lost;
//!  6. `masters` 3 → 5 → 3 with a background poller asking a data node for the cluster
//!     manager every 500 ms: no failed request, no answer without a cluster manager; the
//!     voting exclusions cleared;
//!  7. `data` 3 → 2 with recovery throttled so that the drain lasts ~20 s and the controller
//!     SIGKILLed (restarted 1–4 s later) three times: once the decommission is requested, once
//!     the node is excluded and draining, once drained or the StatefulSet lowered; converges,
//!     0 documents lost;
//!  8. delete the cluster: StatefulSets, Services, ConfigMaps, Pilots, the pilots'
//!     ServiceAccount, Role and RoleBinding and the PodDisruptionBudget garbage-collected.
//!
//! `elasticsearch_7_10_scale_in`: Elasticsearch 7.10.2, pool `mixed` (master, data, ingest)
//! × 3, documents with 1 replica (`r1`) and with 0 replicas (`r0`); 3 → 2: drained first (0
//! shards on the node before its pod goes), Green; 2 → 1: `r0` moved off, `r1`'s copies on the
//! leaving node can go nowhere (the other copy of each shard is on the node that stays), so the
//! node leaves holding only copies with a STARTED twin on the staying node; yellow, 0
//! documents lost in either step, the exclusions cleaned.
//!
//! Every step prints a TIMING line. Every wait has a bound; its failure message carries the
//! cluster's status, the StatefulSets', the Pilots' specs and statuses, the pods, the Events,
//! the database's health, shards and exclusions, the pods' logs and the controller's log.
//!
//! `#[ignore]`d: it needs root, the pod network (one devenv pod runner per machine), the
//! Go-built binaries (`hack/build-k8s`), the images (`hack/build-images`), `cargo build -p devenv
//! -p navigator-apiserver -p navigator-controller` and `cargo build --release -p
//! pilot-elasticsearch -p pilot-cassandra` (the navigator-pilot image binds both). Run by
//! `hack/test-devenv`, or with `flock /tmp/devenv.lock cargo test -p navigator-controller --test
//! e2e_elasticsearch -- --ignored --nocapture --test-threads=1`.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use test_support::controller::Controller;
use test_support::devenv::{
    self, Env, EnvOptions, GROUP, condition, eventually, pod_ready, strings, tail,
};
use test_support::elasticsearch::{
    self as es, ContinuousIndexer, ManagerWatch, count, create_index, excluded_names, green,
    health, index_documents, rest_ok, rest_within, shards, verify_acked, voting_exclusions,
};

/// One devenv pod runner per machine: the tests run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// The cluster of both tests and the objects named after it.
const CLUSTER: &str = "demo";
const CLIENT_SERVICE: &str = "es-demo";
const DISCOVERY_SERVICE: &str = "es-demo-discovery";
const LEASE: &str = "es-demo-pilot-leader";
const CLUSTER_LABEL: &str = "navigator.jetstack.io/elasticsearch-cluster-name";
/// The pods' memory limit; the pilot derives the heap from it (half).
const MEMORY_LIMIT: &str = "1Gi";
/// The OpenSearch story's namespace, pools and versions.
const NS: &str = "es-e2e";
const MASTERS: &str = "masters";
const DATA: &str = "data";
const OLD: &str = "2.18.0";
const NEW: &str = "2.19.6";

/// The controller's flags (beside the kubeconfig, metrics port and no leader election that
/// [`Controller`] always passes): pilots that elect their leader and reconcile the exclusions
/// every second.
const CONTROLLER_ARGS: [&str; 4] = [
    "--pilot-image=navigator-pilot:dev",
    "--termination-grace-period=60s",
    "--elasticsearch-pilot-arg=--leader-interval-ms=1000",
    "--elasticsearch-pilot-arg=--leader-lease-seconds=10",
];

fn cluster_resource() -> String {
    format!("elasticsearchclusters.{GROUP}")
}

fn pilot_resource() -> String {
    format!("pilots.{GROUP}")
}

fn sts_name(pool: &str) -> String {
    format!("es-{CLUSTER}-{pool}")
}

fn pod_name(pool: &str, ordinal: usize) -> String {
    format!("es-{CLUSTER}-{pool}-{ordinal}")
}

fn config_map(pool: &str) -> String {
    format!("es-{CLUSTER}-{pool}-config")
}

/// A node pool of the spec: `persistence` 1Gi, memory limit [`MEMORY_LIMIT`].
fn pool_spec(name: &str, replicas: usize, roles: &[&str]) -> Value {
    json!({
        "name": name, "replicas": replicas, "roles": roles,
        "persistence": {"size": "1Gi"},
        "resources": {"requests": {"cpu": "100m", "memory": MEMORY_LIMIT},
                      "limits": {"memory": MEMORY_LIMIT}},
    })
}

fn cluster_manifest(ns: &str, flavor: &str, version: &str, pools: &[Value]) -> Value {
    json!({
        "apiVersion": format!("{GROUP}/v1beta1"), "kind": "ElasticsearchCluster",
        "metadata": {"name": CLUSTER, "namespace": ns},
        "spec": {
            "flavor": flavor,
            "version": version,
            "pilotImage": {"repository": "navigator-pilot", "tag": "dev"},
            "nodePools": pools,
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

fn not_found(r: &Result<Value, String>) -> bool {
    matches!(r, Err(e) if e.contains("NotFound") || e.contains("not found"))
}

// ------------------------------------------------------------------------------------------------
// Observing the story

/// One node leaving its pool, as the scale-in watch saw it (seconds since the scale-in).
#[derive(Debug, Default)]
struct Leaving {
    name: String,
    requested: Option<f64>,
    excluded: Option<f64>,
    /// Excluded and holding no shard copy (or, where allowed, only copies with a STARTED twin
    /// on a staying node).
    empty: Option<f64>,
    going: Option<f64>,
    gone: Option<f64>,
    pilot_gone: Option<f64>,
    cleaned: Option<f64>,
    /// The shard copies on it at the last successful `_cat/shards`, how many of them have no
    /// STARTED copy on a node that stays, and when.
    last_shards: Option<(usize, usize, f64)>,
    last_excluded: bool,
    /// The Pilot's last `status.operation`.
    operation: Value,
    problems: Vec<String>,
}

impl Leaving {
    fn done(&self) -> bool {
        self.gone.is_some() && self.pilot_gone.is_some() && self.cleaned.is_some()
    }

    fn timing(&self) -> String {
        let f = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}s"));
        format!(
            "{}: requested {}, excluded {}, drained {}, pod deleted {}, pod gone {}, Pilot gone {}, exclusion cleaned {}",
            self.name,
            f(self.requested),
            f(self.excluded),
            f(self.empty),
            f(self.going),
            f(self.gone),
            f(self.pilot_gone),
            f(self.cleaned)
        )
    }
}

/// The cluster's objects, read through kubectl and the REST API, and failure context.
struct Story<'a> {
    env: &'a Env,
    ns: &'static str,
    flavor: &'static str,
    controller_log: PathBuf,
}

impl Story<'_> {
    fn cluster(&self) -> Result<Value, String> {
        self.env
            .get(&["get", &cluster_resource(), CLUSTER, "-n", self.ns])
    }

    fn pilot(&self, name: &str) -> Result<Value, String> {
        self.env
            .get(&["get", &pilot_resource(), name, "-n", self.ns])
    }

    fn pod(&self, name: &str) -> Result<Value, String> {
        self.env.get(&["get", "pod", name, "-n", self.ns])
    }

    fn sts(&self, pool: &str) -> Result<Value, String> {
        self.env
            .get(&["get", "statefulset", &sts_name(pool), "-n", self.ns])
    }

    fn pods(&self) -> Result<Vec<Value>, String> {
        let l = self.env.get(&[
            "get",
            "pods",
            "-n",
            self.ns,
            "-l",
            &format!("{CLUSTER_LABEL}={CLUSTER}"),
        ])?;
        Ok(l["items"].as_array().cloned().unwrap_or_default())
    }

    fn pod_ip(&self, name: &str) -> Result<String, String> {
        let p = self.pod(name)?;
        p["status"]["podIP"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| format!("{name} has no IP yet"))
    }

    /// The client Service's ClusterIP (the host reaches it through devenv's proxy).
    fn client_ip(&self) -> String {
        self.wait(
            &format!("Service {CLIENT_SERVICE} with a ClusterIP"),
            Duration::from_secs(60),
            || {
                let s = self
                    .env
                    .get(&["get", "service", CLIENT_SERVICE, "-n", self.ns])?;
                s["spec"]["clusterIP"]
                    .as_str()
                    .filter(|ip| !ip.is_empty() && *ip != "None")
                    .map(str::to_owned)
                    .ok_or_else(|| format!("spec {}", s["spec"]))
            },
        )
    }

    fn requested_state(&self, name: &str) -> Result<String, String> {
        let p = self.pilot(name)?;
        Ok(p["spec"]["requestedState"]
            .as_str()
            .unwrap_or("")
            .to_owned())
    }

    /// `kubectl patch --type=json` of the ElasticsearchCluster.
    fn patch(&self, ops: Value) {
        self.env.k(&[
            "patch",
            &cluster_resource(),
            CLUSTER,
            "-n",
            self.ns,
            "--type=json",
            "-p",
            &ops.to_string(),
        ]);
        println!("PATCHED elasticsearchcluster {CLUSTER}: {ops}");
    }

    fn set_replicas(&self, pool_index: usize, n: usize) {
        self.patch(json!([{"op": "replace", "path": format!("/spec/nodePools/{pool_index}/replicas"), "value": n}]));
    }

    /// Everything a person debugging a failed step wants to see.
    fn diagnostics(&self) -> String {
        let mut out = String::new();
        let mut section = |title: &str, body: String| {
            out.push_str(&format!("\n--- {title} ---\n{body}\n"));
        };
        let ns = self.ns;
        section(
            "kubectl get elasticsearchcluster demo -o yaml",
            self.env
                .kubectl(&["get", &cluster_resource(), CLUSTER, "-n", ns, "-o", "yaml"])
                .unwrap_or_else(|e| e),
        );
        section(
            "statefulsets",
            match self.env.get(&["get", "statefulsets", "-n", ns]) {
                Ok(list) => list["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|s| {
                        format!(
                            "{} spec.replicas {} updateStrategy {} image {}\n  status {}",
                            s["metadata"]["name"],
                            s["spec"]["replicas"],
                            s["spec"]["updateStrategy"],
                            s["spec"]["template"]["spec"]["containers"][0]["image"],
                            s["status"]
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
                Err(e) => e,
            },
        );
        section(
            "pods",
            self.env
                .kubectl(&["get", "pods", "-n", ns, "-o", "wide"])
                .unwrap_or_else(|e| e),
        );
        section(
            "pilots (spec, status)",
            match self.env.get(&["get", &pilot_resource(), "-n", ns]) {
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
            "configmaps",
            self.env
                .kubectl(&["get", "configmaps", "-n", ns, "-o", "yaml"])
                .map(|y| tail(&y, 60))
                .unwrap_or_else(|e| e),
        );
        section(
            "events",
            self.env
                .kubectl(&["get", "events", "-n", ns, "--sort-by=.lastTimestamp"])
                .map(|e| tail(&e, 40))
                .unwrap_or_else(|e| e),
        );
        section(
            "database (through the client Service)",
            self.database_facts(),
        );
        section("pod logs (tails)", self.env.pod_logs(ns));
        section(
            "navigator-controller log (last 100 lines)",
            tail(
                &std::fs::read_to_string(&self.controller_log).unwrap_or_default(),
                100,
            ),
        );
        out
    }

    /// Health, shards by node and state, and the exclusions, each bounded to 5 s.
    fn database_facts(&self) -> String {
        let Some(ip) = self
            .env
            .get(&["get", "service", CLIENT_SERVICE, "-n", self.ns])
            .ok()
            .and_then(|s| s["spec"]["clusterIP"].as_str().map(str::to_owned))
        else {
            return "no client Service".to_owned();
        };
        let get = |path: &str| {
            rest_within("GET", &ip, path, None, Duration::from_secs(5))
                .map(|v| v.to_string())
                .unwrap_or_else(|e| e)
        };
        let shards = rest_within(
            "GET",
            &ip,
            "/_cat/shards?format=json&h=index,shard,prirep,state,node",
            None,
            Duration::from_secs(5),
        )
        .and_then(|v| es::parse_shards(&v))
        .map(|rows| {
            let mut by: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
            for r in rows {
                by.entry((r.node.clone(), r.state.clone()))
                    .or_default()
                    .push(format!("{}/{}{}", r.index, r.shard, r.prirep));
            }
            by.iter()
                .map(|((node, state), s)| format!("{node} {state}: {}", s.join(" ")))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_else(|e| e);
        format!(
            "health {}\nsettings {}\nvoting exclusions {}\nactive recoveries {}\nshards:\n{shards}",
            get("/_cluster/health"),
            get("/_cluster/settings?flat_settings=true"),
            get(
                "/_cluster/state/metadata?filter_path=metadata.cluster_coordination.voting_config_exclusions"
            ),
            active_recoveries(&ip),
        )
    }

    /// [`eventually`] with the story's diagnostics on failure.
    fn wait<T>(&self, what: &str, timeout: Duration, f: impl FnMut() -> Result<T, String>) -> T {
        eventually(what, timeout, || self.diagnostics(), f)
    }

    /// Prints the cluster's conditions (what the controller says it waits for).
    fn print_conditions(&self, when: &str) {
        if let Ok(c) = self.cluster() {
            for kind in ["Available", "Progressing", "Degraded"] {
                let v = condition(&c["status"]["conditions"], kind).map_or_else(
                    || "none".to_owned(),
                    |v| format!("{} {} {}", v["status"], v["reason"], v["message"]),
                );
                println!("{when}: {kind} {v}");
            }
        }
    }

    fn fail(&self, what: &str) -> ! {
        panic!("{what}\n{}", self.diagnostics())
    }

    /// Waits until `pool`'s StatefulSet has exactly `n` replicas, all Ready, no pod of a
    /// higher ordinal exists, and Pilots `0..n` report `version`.
    fn wait_pool(&self, pool: &str, n: usize, version: &str, timeout: Duration) {
        let t = Instant::now();
        self.wait(
            &format!("pool {pool}: exactly {n} pods Ready, their Pilots reporting {version}"),
            timeout,
            || {
                let s = self.sts(pool)?;
                let want = Some(n as u64);
                if !(s["spec"]["replicas"].as_u64() == want
                    && s["status"]["replicas"].as_u64() == want
                    && s["status"]["readyReplicas"].as_u64() == want)
                {
                    return Err(format!(
                        "spec.replicas {} status {}",
                        s["spec"]["replicas"], s["status"]
                    ));
                }
                if self.pod(&pod_name(pool, n)).is_ok() {
                    return Err(format!("{} still exists", pod_name(pool, n)));
                }
                for i in 0..n {
                    let p = self.pilot(&pod_name(pool, i))?;
                    if p["status"]["elasticsearch"]["version"] != version {
                        return Err(format!(
                            "Pilot {} reports {}",
                            pod_name(pool, i),
                            p["status"]["elasticsearch"]
                        ));
                    }
                }
                Ok(())
            },
        );
        println!(
            "TIMING pool {pool}: {n} pods Ready at {version} {:.1}s",
            t.elapsed().as_secs_f64()
        );
    }

    /// Waits until the database is green with `nodes` nodes, nothing moving, and the
    /// cluster's `status.health` says Green. Prints the active recoveries every 15 s while
    /// it is not.
    fn wait_green(&self, host: &str, nodes: u64, timeout: Duration) {
        let t = Instant::now();
        let mut shown = Instant::now();
        self.wait(
            &format!("green with {nodes} nodes, nothing moving, status.health Green"),
            timeout,
            || {
                if let Err(e) = green(host, nodes) {
                    if shown.elapsed() >= Duration::from_secs(15) {
                        shown = Instant::now();
                        println!(
                            "not green after {:.0}s: {e}\n  active recoveries {}",
                            t.elapsed().as_secs_f64(),
                            active_recoveries(host)
                        );
                    }
                    return Err(e);
                }
                let c = self.cluster()?;
                (c["status"]["health"] == "Green")
                    .then_some(())
                    .ok_or_else(|| format!("status.health {}", c["status"]["health"]))
            },
        );
        println!(
            "TIMING green with {nodes} nodes (database and status.health) {:.1}s",
            t.elapsed().as_secs_f64()
        );
    }

    /// Every index of `expected` holds exactly its number of documents.
    fn check_documents(&self, host: &str, expected: &[(&str, u64)]) {
        for (index, n) in expected {
            let got = self.wait(
                &format!("a document count of {index}"),
                Duration::from_secs(60),
                || count(host, index),
            );
            if got != *n {
                self.fail(&format!(
                    "index {index} holds {got} documents, {n} were indexed"
                ));
            }
        }
        println!("documents: {expected:?} all present");
    }

    /// Waits for the Event `reason` on the cluster.
    fn wait_event(&self, reason: &str) {
        self.wait(
            &format!("a {reason} Event on ElasticsearchCluster {CLUSTER}"),
            Duration::from_secs(60),
            || {
                let events = self.env.get(&["get", "events", "-n", self.ns])?;
                let found = events["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|e| e["reason"] == reason && e["involvedObject"]["name"] == CLUSTER)
                    .map(|e| e["message"].to_string())
                    .collect::<Vec<_>>();
                if found.is_empty() {
                    Err(format!("no {reason} event"))
                } else {
                    println!("{reason} events: {found:?}");
                    Ok(())
                }
            },
        );
    }

    /// Lowers pool `pool` (spec index `pool_index`) from `from` to `to` replicas and watches
    /// the condemned nodes (ordinals `to..from`) leave, one poll every 250 ms through `host`:
    /// each must be asked to decommission, be excluded and hold 0 shards (`_cat/shards`)
    /// before its pod is deleted — with `staying_allowed`, copies may stay on it when each
    /// has a STARTED copy on a node that stays (copies that no other node may hold, e.g. the
    /// replicas of a 2-node cluster going to 1) —; then its pod and Pilot go and the exclusion
    /// is cleaned.
    /// `between` runs after every poll (e.g. to crash the controller). Fails on any
    /// violation; prints a TIMING line per node.
    fn scale_in(
        &self,
        host: &str,
        (pool_index, pool): (usize, &str),
        (from, to): (usize, usize),
        staying_allowed: bool,
        timeout: Duration,
        mut between: impl FnMut(&[Leaving]),
    ) -> Vec<Leaving> {
        let mut leaving: Vec<Leaving> = (to..from)
            .map(|i| Leaving {
                name: pod_name(pool, i),
                ..Leaving::default()
            })
            .collect();
        self.set_replicas(pool_index, to);
        let t = Instant::now();
        loop {
            if t.elapsed() > timeout {
                self.fail(&format!(
                    "pool {pool} {from} → {to}: not done within {timeout:?}: {}",
                    leaving
                        .iter()
                        .map(Leaving::timing)
                        .collect::<Vec<_>>()
                        .join("; ")
                ));
            }
            let excluded = excluded_names(host).ok();
            let copies = shards(host, None).ok();
            let names: BTreeSet<String> = leaving.iter().map(|l| l.name.clone()).collect();
            for l in &mut leaving {
                let at = t.elapsed().as_secs_f64();
                let name = l.name.clone();
                match self.pilot(&name) {
                    Ok(p) => {
                        if l.requested.is_none() && p["spec"]["requestedState"] == "Decommissioned"
                        {
                            l.requested = Some(at);
                        }
                        l.operation = p["status"]["operation"].clone();
                    }
                    r if not_found(&r) => {
                        l.pilot_gone.get_or_insert(at);
                    }
                    _ => {}
                }
                if let Some(ex) = &excluded {
                    l.last_excluded = ex.contains(&name);
                    if l.last_excluded {
                        l.excluded.get_or_insert(at);
                    } else if l.gone.is_some() {
                        l.cleaned.get_or_insert(at);
                    }
                }
                if let Some(rows) = &copies {
                    let on_it: Vec<_> = rows.iter().filter(|r| r.node == name).collect();
                    let unprotected = on_it
                        .iter()
                        .filter(|c| {
                            !rows.iter().any(|o| {
                                o.index == c.index
                                    && o.shard == c.shard
                                    && o.state == "STARTED"
                                    && !o.node.is_empty()
                                    && !names.contains(&o.node)
                            })
                        })
                        .count();
                    l.last_shards = Some((on_it.len(), unprotected, at));
                    let safe = on_it.is_empty() || (staying_allowed && unprotected == 0);
                    if safe && l.excluded.is_some() {
                        l.empty.get_or_insert(at);
                    }
                }
                let pod = self.pod(&name);
                let going = match &pod {
                    Ok(p) => !p["metadata"]["deletionTimestamp"].is_null(),
                    r => not_found(r),
                };
                if not_found(&pod) {
                    l.gone.get_or_insert(at);
                }
                if going && l.going.is_none() {
                    l.going = Some(at);
                    if l.requested.is_none() {
                        l.problems.push(format!(
                            "{at:.1}s: pod deleted before a decommission request"
                        ));
                    }
                    if l.excluded.is_none() {
                        l.problems
                            .push(format!("{at:.1}s: pod deleted before it was excluded"));
                    }
                    match l.last_shards {
                        Some((0, _, _)) => {}
                        Some((n, 0, when)) if staying_allowed => println!(
                            "{}: pod deleted with {n} copies staying on it, each STARTED elsewhere (seen at {when:.1}s)",
                            l.name
                        ),
                        Some((n, unprotected, when)) => l.problems.push(format!(
                            "{at:.1}s: pod deleted while its node held {n} shards, {unprotected} without a STARTED copy on a node that stays (seen at {when:.1}s)"
                        )),
                        None => l.problems.push(format!(
                            "{at:.1}s: pod deleted before its shards were ever read"
                        )),
                    }
                }
            }
            if leaving.iter().all(Leaving::done)
                && self
                    .sts(pool)
                    .is_ok_and(|s| s["spec"]["replicas"].as_u64() == Some(to as u64))
            {
                break;
            }
            between(&leaving);
            std::thread::sleep(Duration::from_millis(250));
        }
        for l in &leaving {
            println!(
                "TIMING scale-in {pool} {from} → {to}: {} (operation {})",
                l.timing(),
                l.operation
            );
        }
        let problems: Vec<String> = leaving
            .iter()
            .flat_map(|l| l.problems.iter().map(move |p| format!("{}: {p}", l.name)))
            .collect();
        if !problems.is_empty() {
            self.fail(&format!(
                "pool {pool} {from} → {to}: the drain protocol was not followed:\n{}",
                problems.join("\n")
            ));
        }
        println!(
            "TIMING scale-in {pool} {from} → {to} {:.1}s",
            t.elapsed().as_secs_f64()
        );
        leaving
    }
}

/// The active shard recoveries (`_cat/recovery?active_only`), one line each, bounded to 5 s.
fn active_recoveries(host: &str) -> String {
    rest_within(
        "GET",
        host,
        "/_cat/recovery?active_only=true&format=json&h=index,shard,type,stage,source_node,target_node,bytes_percent,files_percent,translog_ops_percent,time",
        None,
        Duration::from_secs(5),
    )
    .map(|v| {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                format!(
                    "{}/{} {} {} {} -> {} bytes {} files {} translog {} for {}",
                    r["index"].as_str().unwrap_or("?"),
                    r["shard"].as_str().unwrap_or("?"),
                    r["type"].as_str().unwrap_or("?"),
                    r["stage"].as_str().unwrap_or("?"),
                    r["source_node"].as_str().unwrap_or("-"),
                    r["target_node"].as_str().unwrap_or("?"),
                    r["bytes_percent"].as_str().unwrap_or("?"),
                    r["files_percent"].as_str().unwrap_or("?"),
                    r["translog_ops_percent"].as_str().unwrap_or("?"),
                    r["time"].as_str().unwrap_or("?"),
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    })
    .unwrap_or_else(|e| e)
}

/// Throttles shard recovery (relocations) to `rate` per second, in 1 kB chunks so that the
/// rate limiter's pause after a chunk stays short and lifting the throttle (`None`, both
/// settings back to their defaults) takes effect within a second — with the default 512 kB
/// chunks a whole small file is sent at once and the pause after it (its size over the rate)
/// outlives the throttle.
fn throttle_recovery(host: &str, rate: Option<&str>) {
    let (rate, chunk) = match rate {
        Some(r) => (json!(r), json!("1kb")),
        None => (Value::Null, Value::Null),
    };
    rest_ok(
        "PUT",
        host,
        "/_cluster/settings",
        Some(
            &json!({"persistent": {"indices.recovery.max_bytes_per_sec": rate,
                                   "indices.recovery.chunk_size": chunk}})
            .to_string(),
        ),
    );
    println!("recovery throttle: max_bytes_per_sec {rate}, chunk_size {chunk}");
}

fn up(prefix: &str) -> (Env, Controller) {
    devenv::require_prerequisites();
    devenv::require_release_binary("pilot-elasticsearch");
    // The navigator-pilot image binds both pilots: a missing one fails the whole image.
    devenv::require_release_binary("pilot-cassandra");
    // The pods' grace period is 60 s (the controller's flag); the runner's default cap is 30.
    let mut env = Env::up(EnvOptions::new(prefix).grace_cap_seconds(90));
    env.start_navigator();
    let controller = Controller::start(&env, &CONTROLLER_ARGS);
    (env, controller)
}

// ------------------------------------------------------------------------------------------------
// The OpenSearch story

#[test]
#[ignore = "needs root, devenv's pod runner, the Go-built binaries, the images, navigator-controller and the release pilots; run by hack/test-devenv"]
fn opensearch_cluster_story() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let started = Instant::now();
    let (env, mut controller) = up("es-controller-e2e");
    let story = Story {
        env: &env,
        ns: NS,
        flavor: "opensearch",
        controller_log: controller.log_path().to_owned(),
    };
    let env = &env;
    let masters = |i| pod_name(MASTERS, i);
    let data = |i| pod_name(DATA, i);
    // Documents indexed by the story, by index, checked after every step.
    let mut documents: Vec<(&str, u64)> = Vec::new();

    // --- 1. create ---------------------------------------------------------------------------
    let t = step(
        1,
        "create at 2.18.0 with masters × 1; yellow with a replica; 2: green; 3",
    );
    env.k(&["create", "namespace", NS]);
    env.apply(
        "elasticsearchcluster",
        &cluster_manifest(
            NS,
            "opensearch",
            OLD,
            &[pool_spec(MASTERS, 1, &["master", "data", "ingest"])],
        ),
    );
    let ip = story.client_ip();
    println!(
        "TIMING client Service {CLIENT_SERVICE} ({ip}) {:.1}s",
        t.elapsed().as_secs_f64()
    );
    story.wait_event("CreateNodePool");
    story.wait(
        &format!("{} Running and Ready", masters(0)),
        Duration::from_secs(600),
        || {
            let p = story.pod(&masters(0))?;
            (p["status"]["phase"] == "Running" && pod_ready(&p))
                .then_some(())
                .ok_or_else(|| format!("{}", p["status"]))
        },
    );
    println!(
        "TIMING {} Running and Ready {:.1}s",
        masters(0),
        t.elapsed().as_secs_f64()
    );
    let holder = story.wait(
        &format!("Lease {LEASE} held by {}", masters(0)),
        Duration::from_secs(120),
        || {
            let l = env.get(&["get", "lease", LEASE, "-n", NS])?;
            let h = l["spec"]["holderIdentity"].as_str().unwrap_or_default();
            h.contains(&masters(0))
                .then(|| h.to_owned())
                .ok_or_else(|| format!("holder {h:?}"))
        },
    );
    println!(
        "TIMING leader pilot elected ({holder}) {:.1}s",
        t.elapsed().as_secs_f64()
    );
    index_documents(&ip, "docs", 3, 1, 200);
    documents.push(("docs", 200));
    let reported = story.wait(
        &format!("Pilot {} reports documents > 0", masters(0)),
        Duration::from_secs(120),
        || {
            let p = story.pilot(&masters(0))?;
            let d = p["status"]["elasticsearch"]["documents"]
                .as_i64()
                .unwrap_or(0);
            (d > 0)
                .then_some(d)
                .ok_or_else(|| format!("{}", p["status"]["elasticsearch"]))
        },
    );
    println!("Pilot {} reports {reported} documents", masters(0));
    story.wait(
        "status.health Yellow (one node, an index with a replica)",
        Duration::from_secs(120),
        || {
            let c = story.cluster()?;
            (c["status"]["health"] == "Yellow")
                .then_some(())
                .ok_or_else(|| format!("status {}", c["status"]))
        },
    );
    println!(
        "TIMING status.health Yellow with 1 node {:.1}s",
        t.elapsed().as_secs_f64()
    );
    story.set_replicas(0, 2);
    story.wait_pool(MASTERS, 2, OLD, Duration::from_secs(600));
    story.wait_event("ScaleOut");
    story.wait_green(&ip, 2, Duration::from_secs(300));
    story.set_replicas(0, 3);
    story.wait_pool(MASTERS, 3, OLD, Duration::from_secs(600));
    story.wait_green(&ip, 3, Duration::from_secs(300));
    story.check_documents(&ip, &documents);
    controller.assert_running();
    step_done(1, "create, 1 → 2 → 3 masters", t);

    // --- 2. a data pool ----------------------------------------------------------------------
    let t = step(
        2,
        "add pool data × 3; indices kept (1 replica) and bare (0 replicas)",
    );
    story.patch(json!([{"op": "add", "path": "/spec/nodePools/-",
                        "value": pool_spec(DATA, 3, &["data", "ingest"])}]));
    story.wait_pool(DATA, 3, OLD, Duration::from_secs(900));
    story.wait_green(&ip, 6, Duration::from_secs(300));
    index_documents(&ip, "kept", 3, 1, 500);
    index_documents(&ip, "bare", 6, 0, 600);
    documents.extend([("kept", 500), ("bare", 600)]);
    story.wait_green(&ip, 6, Duration::from_secs(300));
    let bare_nodes: BTreeSet<String> = shards(&ip, Some("bare"))
        .unwrap()
        .into_iter()
        .map(|r| r.node)
        .collect();
    println!("bare's primaries are on {bare_nodes:?}");
    controller.assert_running();
    step_done(2, "data pool", t);

    // --- 3. data 3 → 2 → 1 -------------------------------------------------------------------
    let t = step(3, "data 3 → 2 → 1, each node drained before its pod goes");
    for (from, to) in [(3, 2), (2, 1)] {
        story.scale_in(
            &ip,
            (1, DATA),
            (from, to),
            false,
            Duration::from_secs(600),
            |_| {},
        );
        story.wait_green(&ip, 3 + to as u64, Duration::from_secs(300));
        story.check_documents(&ip, &documents);
        let left = excluded_names(&ip).unwrap();
        assert!(
            left.is_empty(),
            "exclusions left after {from} → {to}: {left:?}"
        );
    }
    story.print_conditions("after step 3");
    controller.assert_running();
    step_done(3, "data 3 → 2 → 1", t);

    // --- 4. rolling upgrade under indexing ---------------------------------------------------
    let t = step(
        4,
        "rolling upgrade 2.18.0 → 2.19.6 under a continuous indexer",
    );
    create_index(&ip, "stream", 3, 1).unwrap();
    let mut indexer =
        ContinuousIndexer::start(vec![ip.clone()], "stream", Duration::from_millis(20));
    story.wait(
        "the indexer acknowledged 50 documents",
        Duration::from_secs(60),
        || {
            let n = indexer.acked_count();
            (n >= 50)
                .then_some(())
                .ok_or_else(|| format!("{n} acked; failures {:?}", indexer.last_failures(5)))
        },
    );
    let expected_pods: Vec<(String, usize, String)> = (0..3)
        .map(|i| (MASTERS.to_owned(), i, masters(i)))
        .chain([(DATA.to_owned(), 0, data(0))])
        .collect();
    story.patch(json!([{"op": "replace", "path": "/spec/version", "value": NEW}]));
    let upgrade = Instant::now();
    let mut max_down = 0;
    let mut violations: Vec<String> = Vec::new();
    let mut order: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    // `cluster.routing.allocation.enable` as it changed (the pilots pause replica allocation
    // around a data node's restart).
    let mut allocation: Vec<(f64, Option<String>)> = Vec::new();
    loop {
        let at = upgrade.elapsed().as_secs_f64();
        if upgrade.elapsed() > Duration::from_secs(1500) {
            story.fail(&format!(
                "the upgrade did not finish within 25 min; updated in order {order:?}"
            ));
        }
        if !indexer.running() {
            story.fail("the indexer's thread ended");
        }
        let Ok(pods) = story.pods() else {
            std::thread::sleep(Duration::from_millis(500));
            continue;
        };
        let by_name: BTreeMap<String, &Value> = pods
            .iter()
            .filter_map(|p| p["metadata"]["name"].as_str().map(|n| (n.to_owned(), p)))
            .collect();
        let mut down = Vec::new();
        let mut all_new = true;
        for (pool, ordinal, name) in &expected_pods {
            let p = by_name.get(name);
            let ready =
                p.is_some_and(|p| pod_ready(p) && p["metadata"]["deletionTimestamp"].is_null());
            let new = p.is_some_and(|p| {
                p["spec"]["containers"][0]["image"]
                    .as_str()
                    .is_some_and(|i| i.ends_with(&format!(":{NEW}")))
            });
            if !ready {
                down.push(name.clone());
            }
            all_new &= ready && new;
            let seen = order.entry(pool.clone()).or_default();
            if ready && new && !seen.contains(ordinal) {
                seen.push(*ordinal);
                println!(
                    "TIMING upgrade: {name} Ready at {NEW} {at:.1}s (acked {}, failed {})",
                    indexer.acked_count(),
                    indexer.failed_count()
                );
            }
        }
        if let Ok(enable) = es::allocation_enable(&ip)
            && allocation.last().map(|(_, e)| e) != Some(&enable)
        {
            println!("TIMING upgrade: cluster.routing.allocation.enable {enable:?} {at:.1}s");
            allocation.push((at, enable));
        }
        max_down = max_down.max(down.len());
        if down.len() > 1 {
            violations.push(format!("{at:.1}s: {down:?} not Ready at once"));
        }
        if all_new
            && expected_pods.iter().all(|(_, _, name)| {
                story
                    .pilot(name)
                    .is_ok_and(|p| p["status"]["elasticsearch"]["version"] == NEW)
            })
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    println!(
        "TIMING upgrade: every pod Ready at {NEW} and every Pilot reports it {:.1}s; order {order:?}; max pods down at once {max_down}",
        upgrade.elapsed().as_secs_f64()
    );
    story.wait_pool(MASTERS, 3, NEW, Duration::from_secs(300));
    story.wait_pool(DATA, 1, NEW, Duration::from_secs(300));
    story.wait_green(&ip, 4, Duration::from_secs(300));
    story.wait(
        "replica allocation resumed after the upgrade (cluster.routing.allocation.enable unset)",
        Duration::from_secs(120),
        || match es::allocation_enable(&ip)? {
            None => Ok(()),
            Some(e) => Err(e),
        },
    );
    println!("upgrade: allocation.enable over time {allocation:?}");
    let report = indexer.stop();
    println!(
        "indexer: {} attempts, {} acknowledged, {} failed; failures: {:?}",
        report.attempts,
        report.acked.len(),
        report.failures.len(),
        &report.failures[..report.failures.len().min(20)]
    );
    assert!(
        violations.is_empty(),
        "more than one database pod not Ready at once during the upgrade:\n{}\n{}",
        violations.join("\n"),
        story.diagnostics()
    );
    assert_eq!(
        order.get(MASTERS),
        Some(&vec![2, 1, 0]),
        "masters not updated highest ordinal first"
    );
    let (checked, missing) = verify_acked(&ip, "stream", &report.acked).unwrap();
    println!(
        "verified {checked} acknowledged documents: {} missing",
        missing.len()
    );
    assert!(
        missing.is_empty(),
        "acknowledged documents lost in the upgrade: {missing:?}\n{}",
        story.diagnostics()
    );
    assert!(
        report.acked.len() > 100,
        "the indexer acknowledged only {} documents: {:?}",
        report.acked.len(),
        report.failures
    );
    let root = rest_ok("GET", &ip, "/", None);
    assert_eq!(root["version"]["number"], NEW, "{root}");
    story.check_documents(&ip, &documents);
    story.print_conditions("after step 4");
    controller.assert_running();
    step_done(4, "rolling upgrade", t);

    // --- 5. reversal -------------------------------------------------------------------------
    let t = step(5, "reversal: data 1 → 3, then 3 → 2 cancelled mid-drain");
    story.set_replicas(1, 3);
    story.wait_pool(DATA, 3, NEW, Duration::from_secs(900));
    story.wait_green(&ip, 6, Duration::from_secs(300));
    // The rebalance after the scale-out gave data-2 shards; at 1 kB/s its drain cannot finish
    // before the reversal. (No index is pinned there and unpinned: that starts a rebalance
    // under the throttle whose paused chunk outlives it by a minute.)
    let d2 = data(2);
    throttle_recovery(&ip, Some("1kb"));
    let held = es::shards_on(&ip, &d2).unwrap();
    assert!(held > 0, "{d2} holds no shard before its drain");
    let d2_uid = story.pod(&d2).unwrap()["metadata"]["uid"].clone();
    story.set_replicas(1, 2);
    let t_rev = Instant::now();
    // Mid-drain: asked, InProgress, excluded, and shards still on the node (moving at 1 kB/s).
    let (op, on_it) = story.wait(
        &format!("Pilot {d2}'s drain InProgress with {d2} excluded and still holding shards"),
        Duration::from_secs(300),
        || {
            let p = story.pilot(&d2)?;
            let op = &p["status"]["operation"];
            let excluded = excluded_names(&ip)?.contains(&d2);
            let rows = shards(&ip, None)?;
            let on_it: Vec<String> = rows
                .iter()
                .filter(|r| r.node == d2)
                .map(|r| format!("{}/{}{} {}", r.index, r.shard, r.prirep, r.state))
                .collect();
            (p["spec"]["requestedState"] == "Decommissioned"
                && op["state"] == "Decommissioned"
                && op["phase"] == "InProgress"
                && excluded
                && !on_it.is_empty())
            .then(|| (op.clone(), on_it.clone()))
            .ok_or_else(|| {
                format!(
                    "spec {} operation {op}; excluded {excluded}; on it {on_it:?}",
                    p["spec"]
                )
            })
        },
    );
    println!(
        "TIMING reversal: {d2} excluded, its drain InProgress {:.1}s after the scale-in ({held} shards on it before, {on_it:?} now): {op}",
        t_rev.elapsed().as_secs_f64()
    );
    story.set_replicas(1, 3);
    let t_back = Instant::now();
    let state = story.wait(
        &format!("Pilot {d2}'s requested state back to Running"),
        Duration::from_secs(120),
        || {
            let r = story.requested_state(&d2)?;
            matches!(r.as_str(), "Running" | "")
                .then_some(r.clone())
                .ok_or_else(|| format!("requestedState {r:?}"))
        },
    );
    println!(
        "TIMING reversal: requestedState {state:?} {:.1}s after replicas back to 3",
        t_back.elapsed().as_secs_f64()
    );
    story.wait(
        &format!("{d2}'s exclusion removed"),
        Duration::from_secs(120),
        || {
            let ex = excluded_names(&ip)?;
            (!ex.contains(&d2))
                .then_some(())
                .ok_or_else(|| format!("{ex:?}"))
        },
    );
    println!(
        "TIMING reversal: exclusion removed {:.1}s after replicas back to 3",
        t_back.elapsed().as_secs_f64()
    );
    throttle_recovery(&ip, None);
    story.wait_pool(DATA, 3, NEW, Duration::from_secs(300));
    story.wait_green(&ip, 6, Duration::from_secs(300));
    assert_eq!(
        story.pod(&d2).unwrap()["metadata"]["uid"],
        d2_uid,
        "{d2} was replaced during the reversal"
    );
    story.check_documents(&ip, &documents);
    assert!(excluded_names(&ip).unwrap().is_empty());
    story.print_conditions("after step 5");
    controller.assert_running();
    step_done(5, "reversal", t);

    // --- 6. masters 3 → 5 → 3 ----------------------------------------------------------------
    let t = step(6, "masters 3 → 5 → 3 with a cluster manager at every poll");
    let data0_ip = story.pod_ip(&data(0)).unwrap();
    let mut watch = ManagerWatch::start(&data0_ip, "opensearch", Duration::from_millis(500));
    story.set_replicas(0, 5);
    story.wait_pool(MASTERS, 5, NEW, Duration::from_secs(900));
    story.wait_green(&ip, 8, Duration::from_secs(300));
    story.scale_in(
        &ip,
        (0, MASTERS),
        (5, 3),
        false,
        Duration::from_secs(600),
        |_| {},
    );
    story.wait_pool(MASTERS, 3, NEW, Duration::from_secs(300));
    story.wait_green(&ip, 6, Duration::from_secs(300));
    story.wait(
        "voting exclusions cleared",
        Duration::from_secs(120),
        || {
            let v = voting_exclusions(&ip)?;
            v.is_empty().then_some(()).ok_or_else(|| format!("{v:?}"))
        },
    );
    let report = watch.stop();
    println!(
        "cluster manager watch from {}: {} polls, {} failures, managers {:?}",
        data(0),
        report.polls,
        report.failures.len(),
        report.managers
    );
    assert!(
        report.failures.is_empty(),
        "the cluster manager was lost or the cluster did not answer:\n{}\n{}",
        report.failures.join("\n"),
        story.diagnostics()
    );
    assert!(report.polls > 10, "only {} polls", report.polls);
    story.check_documents(&ip, &documents);
    controller.assert_running();
    step_done(6, "masters 3 → 5 → 3", t);

    // --- 7. a drain with controller crashes ---------------------------------------------------
    let t = step(
        7,
        "data 3 → 2 with the controller SIGKILLed during the drain",
    );
    // Recovery throttled so that the drain lasts about 20 s: long enough to crash the
    // controller while it runs.
    let d2_bytes = es::store_bytes_on(&ip, &data(2)).unwrap();
    let rate = (d2_bytes / 20).max(1024);
    throttle_recovery(&ip, Some(&format!("{rate}b")));
    println!(
        "{} holds {} shards, {d2_bytes} bytes: recovery throttled to {rate} B/s",
        data(2),
        es::shards_on(&ip, &data(2)).unwrap()
    );
    let mut crashes = 0;
    let mut killed_at: Option<(Instant, Duration)> = None;
    let mut due_at: Option<(Instant, Duration)> = None;
    let jitter = || {
        Duration::from_millis(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| u64::from(d.subsec_nanos()) % 3_000),
        )
    };
    story.scale_in(
        &ip,
        (1, DATA),
        (3, 2),
        false,
        Duration::from_secs(600),
        |leaving| {
            let l = &leaving[0];
            if let Some((k, after)) = killed_at {
                if k.elapsed() >= after {
                    controller.spawn();
                    println!(
                        "TIMING controller down {:.1}s, restarted",
                        k.elapsed().as_secs_f64()
                    );
                    killed_at = None;
                }
                return;
            }
            let point = match crashes {
                0 => l.requested.is_some().then_some("decommission requested"),
                1 => (l.excluded.is_some()
                    && matches!(
                        l.operation["phase"].as_str(),
                        Some("InProgress" | "Complete")
                    ))
                .then_some("excluded, draining or drained"),
                2 => (l.operation["phase"] == "Complete"
                    || story.sts(DATA).is_ok_and(|s| s["spec"]["replicas"] == 2))
                .then_some("drained or StatefulSet lowered"),
                _ => None,
            };
            if let Some(point) = point {
                // The last point (drained, before the ScaleIn) lasts well under a second: no jitter.
                let (since, wait) = *due_at.get_or_insert_with(|| {
                    (
                        Instant::now(),
                        if crashes < 2 {
                            jitter()
                        } else {
                            Duration::ZERO
                        },
                    )
                });
                if since.elapsed() >= wait {
                    controller.kill(&format!(
                        "crash {} of 3: {point} (+{wait:?}), operation {}",
                        crashes + 1,
                        l.operation
                    ));
                    killed_at = Some((Instant::now(), Duration::from_secs(1) + jitter()));
                    due_at = None;
                    crashes += 1;
                }
            }
        },
    );
    if !controller.is_started() {
        controller.spawn();
    }
    throttle_recovery(&ip, None);
    println!("controller crashes during the drain: {crashes}");
    assert!(
        crashes >= 2,
        "the controller was crashed only {crashes} times during the drain"
    );
    story.wait_pool(DATA, 2, NEW, Duration::from_secs(300));
    story.wait_green(&ip, 5, Duration::from_secs(300));
    story.check_documents(&ip, &documents);
    assert!(excluded_names(&ip).unwrap().is_empty());
    story.print_conditions("after step 7");
    controller.assert_running();
    step_done(7, "scale-in with controller crashes", t);

    // --- 8. delete ---------------------------------------------------------------------------
    let t = step(8, "delete the cluster: its children are garbage-collected");
    env.k(&[
        "delete",
        &cluster_resource(),
        CLUSTER,
        "-n",
        NS,
        "--wait=false",
    ]);
    story.wait(
        "StatefulSets, Services, ConfigMaps, Pilots, RBAC and PDB garbage-collected",
        Duration::from_secs(300),
        || {
            let mut left = Vec::new();
            for pool in [MASTERS, DATA] {
                if story.sts(pool).is_ok() {
                    left.push(format!("statefulset/{}", sts_name(pool)));
                }
                if env
                    .get(&["get", "configmap", &config_map(pool), "-n", NS])
                    .is_ok()
                {
                    left.push(format!("configmap/{}", config_map(pool)));
                }
            }
            for (kind, name) in [
                ("service", CLIENT_SERVICE),
                ("service", DISCOVERY_SERVICE),
                ("serviceaccount", "es-demo"),
                ("role", "es-demo-pilot"),
                ("rolebinding", "es-demo-pilot"),
                ("poddisruptionbudget", "es-demo"),
            ] {
                if env.get(&["get", kind, name, "-n", NS]).is_ok() {
                    left.push(format!("{kind}/{name}"));
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
    step_done(8, "delete", t);
    println!(
        "TIMING opensearch_cluster_story {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

// ------------------------------------------------------------------------------------------------
// Elasticsearch 7.10.2

#[test]
#[ignore = "needs root, devenv's pod runner, the Go-built binaries, the images, navigator-controller and the release pilots; run by hack/test-devenv"]
fn elasticsearch_7_10_scale_in() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let started = Instant::now();
    let ns = "es-e2e-7";
    let pool = "mixed";
    let version = "7.10.2";
    let (env, controller) = up("es7-controller-e2e");
    let story = Story {
        env: &env,
        ns,
        flavor: "elasticsearch",
        controller_log: controller.log_path().to_owned(),
    };
    let t = step(1, "create Elasticsearch 7.10.2 with mixed × 3");
    env.k(&["create", "namespace", ns]);
    env.apply(
        "elasticsearchcluster",
        &cluster_manifest(
            ns,
            "elasticsearch",
            version,
            &[pool_spec(pool, 3, &["master", "data", "ingest"])],
        ),
    );
    let ip = story.client_ip();
    story.wait_event("CreateNodePool");
    story.wait_pool(pool, 3, version, Duration::from_secs(900));
    story.wait_green(&ip, 3, Duration::from_secs(300));
    let root = rest_ok("GET", &ip, "/", None);
    assert_eq!(root["version"]["number"], version, "{root}");
    let p = story.pilot(&pod_name(pool, 0)).unwrap();
    let roles = strings(&p["status"]["elasticsearch"]["roles"]);
    assert!(
        roles.iter().any(|r| r == es::master_role(story.flavor)),
        "Pilot roles {roles:?}"
    );
    step_done(1, "create", t);

    let t = step(
        2,
        "documents with 1 and 0 replicas; mixed 3 → 2, drained first",
    );
    index_documents(&ip, "r1", 3, 1, 500);
    index_documents(&ip, "r0", 3, 0, 500);
    let documents = [("r1", 500), ("r0", 500)];
    story.wait_green(&ip, 3, Duration::from_secs(300));
    let leaving = pod_name(pool, 2);
    println!(
        "health before: {}; shards on {leaving}: {:?}",
        health(&ip).unwrap(),
        es::shards_on(&ip, &leaving)
    );
    story.scale_in(
        &ip,
        (0, pool),
        (3, 2),
        false,
        Duration::from_secs(600),
        |_| {},
    );
    story.wait_pool(pool, 2, version, Duration::from_secs(300));
    story.wait_green(&ip, 2, Duration::from_secs(300));
    story.check_documents(&ip, &documents);
    assert!(excluded_names(&ip).unwrap().is_empty());
    let voting = voting_exclusions(&ip).unwrap();
    assert!(voting.is_empty(), "voting exclusions left: {voting:?}");
    // The cluster still answers with a master.
    let master = es::cluster_manager(&ip, story.flavor).unwrap();
    println!("master after the scale-in: {master}");
    step_done(2, "scale-in 3 → 2", t);

    // 2 → 1: r1's copies on mixed-1 can go nowhere (the other copy of each shard is on
    // mixed-0); r0's primaries move. The node leaves once only copies with a STARTED twin on
    // mixed-0 are left; the cluster is then yellow (r1's replicas unassigned), no document lost.
    let t = step(
        3,
        "mixed 2 → 1: r0 moved, r1's copies left only with a twin on mixed-0",
    );
    let leaving = pod_name(pool, 1);
    println!(
        "shards on {leaving} before: {:?}",
        shards(&ip, None).map(|rows| rows
            .into_iter()
            .filter(|r| r.node == leaving)
            .map(|r| format!("{}/{}{}", r.index, r.shard, r.prirep))
            .collect::<Vec<_>>())
    );
    story.scale_in(
        &ip,
        (0, pool),
        (2, 1),
        true,
        Duration::from_secs(600),
        |_| {},
    );
    story.wait_pool(pool, 1, version, Duration::from_secs(300));
    story.wait(
        "yellow with 1 node (r1's replicas unassigned), status.health Yellow",
        Duration::from_secs(300),
        || {
            let h = health(&ip)?;
            let c = story.cluster()?;
            (h["status"] == "yellow"
                && h["number_of_nodes"] == 1
                && h["relocating_shards"] == 0
                && h["initializing_shards"] == 0
                && c["status"]["health"] == "Yellow")
                .then_some(())
                .ok_or_else(|| format!("health {h}; status.health {}", c["status"]["health"]))
        },
    );
    story.check_documents(&ip, &documents);
    story.wait("exclusions cleaned", Duration::from_secs(120), || {
        let ex = excluded_names(&ip)?;
        let voting = voting_exclusions(&ip)?;
        (ex.is_empty() && voting.is_empty())
            .then_some(())
            .ok_or_else(|| format!("allocation {ex:?}, voting {voting:?}"))
    });
    let master = es::cluster_manager(&ip, story.flavor).unwrap();
    assert_eq!(master, pod_name(pool, 0), "the master after 2 → 1");
    story.print_conditions("after step 3");
    step_done(3, "scale-in 2 → 1", t);
    drop(controller);
    println!(
        "TIMING elasticsearch_7_10_scale_in {:.1}s",
        started.elapsed().as_secs_f64()
    );
}
