//! The pod runner end to end: `devenv up` (own state dir) registers three Nodes and runs the pods
//! kube-scheduler binds to them as real processes in network namespaces on `navbr0`.
//!
//! `#[ignore]`d (needs root, the Go-built binaries and the host's `python3`); run by
//! `hack/test-devenv`. One test in steps sharing one environment:
//! StatefulSet (3 replicas, volumeClaimTemplate, headless Service) Ready → pods reach each other by
//! IP and by DNS name → a deleted pod comes back with its volume's data → scale-down removes the
//! highest ordinal after its preStop hook ran → a failing liveness probe restarts a container →
//! init container, downward-API env, configMap volume, runAsUser/fsGroup seen by the process →
//! containers writing into their image's directories get their own writable layer, clean at each
//! start → `devenv down` leaves no processes, mounts, namespaces, links, `/etc/netns` entries or
//! pod directories.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use devenv::layout::Layout;
use devenv::process;
use serde_json::{Value, json};
use test_support::devenv::{Env, EnvOptions, pod_netns, pod_ready};

const NS: &str = "pods-test";

/// devenv's layout of the environment's state directory.
fn layout(env: &Env) -> Layout {
    Layout::new(env.state_dir().canonicalize().unwrap())
}

/// Pod `name` of the test's namespace.
fn get_pod(env: &Env, name: &str) -> Result<Value, String> {
    env.get(&["get", "pod", name, "-n", NS])
}

/// Polls `f` every 300 ms until it returns `Ok` (test-support's, without extra context).
fn eventually<T>(what: &str, timeout: Duration, f: impl FnMut() -> Result<T, String>) -> T {
    test_support::devenv::eventually_every(
        what,
        timeout,
        Duration::from_millis(300),
        String::new,
        f,
    )
}

/// Runs `python3 -c <code>` inside the pod's network namespace (with its resolv.conf and hosts).
fn in_pod_netns(pod: &Value, code: &str) -> Result<String, String> {
    let netns = pod_netns(pod["metadata"]["uid"].as_str().unwrap());
    let out = Command::new("ip")
        .args(["netns", "exec", &netns, "python3", "-c", code])
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn http_get_code(url: &str) -> String {
    format!(
        "import urllib.request; print(urllib.request.urlopen({url:?}, timeout=3).read().decode().strip())"
    )
}

fn host_get(ip: &str, path: &str) -> Result<String, String> {
    http(ip, 8080, "GET", path, "")
}

/// One HTTP/1.0 request from the host; the body of a 200 or 201 answer.
fn http(ip: &str, port: u16, method: &str, path: &str, body: &str) -> Result<String, String> {
    use std::io::Read as _;
    let mut s = std::net::TcpStream::connect_timeout(
        &format!("{ip}:{port}").parse().unwrap(),
        Duration::from_secs(2),
    )
    .map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: {ip}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| e.to_string())?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).map_err(|e| e.to_string())?;
    let (head, body) = buf.split_once("\r\n\r\n").ok_or("no body")?;
    if !head.contains(" 200 ") && !head.contains(" 201 ") {
        return Err(head.to_owned());
    }
    Ok(body.trim().to_owned())
}

/// The MAC of the bridge the pods' veths are attached to.
fn bridge_mac() -> String {
    std::fs::read_to_string("/sys/class/net/navbr0/address")
        .unwrap()
        .trim()
        .to_owned()
}

/// The MAC of the pod's host-side veth, while it exists.
fn veth_mac(p: &Value) -> Option<String> {
    let net = devenv::pods::net::PodNet::for_uid(p["metadata"]["uid"].as_str()?);
    std::fs::read_to_string(format!("/sys/class/net/{}/address", net.veth))
        .ok()
        .map(|m| m.trim().to_owned())
}

fn pod_ip(p: &Value) -> String {
    p["status"]["podIP"].as_str().unwrap_or_default().to_owned()
}

/// Everything on the host the runner could leave behind.
#[derive(Debug, PartialEq, Eq)]
struct HostState {
    links: BTreeSet<String>,
    netns: BTreeSet<String>,
    etc_netns: BTreeSet<String>,
    mounts: BTreeSet<String>,
}

fn host_state() -> HostState {
    let names = |dir: &str| -> BTreeSet<String> {
        std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mounts = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4).map(str::to_owned))
        .collect();
    HostState {
        links: names("/sys/class/net"),
        netns: names("/run/netns"),
        etc_netns: names("/etc/netns"),
        mounts,
    }
}

#[test]
#[ignore = "devenv group: needs root, the Go-built Kubernetes binaries and python3; run hack/test-devenv"]
fn pods_run_for_real() {
    let before = host_state();
    // hostPath directories the test reads (hooks, feature results) and the PVs' backing dirs.
    let scratch = tempfile::Builder::new()
        .prefix("devenv-pods-scratch-")
        .tempdir()
        .unwrap();
    let scratch_dir = scratch.path().canonicalize().unwrap();
    std::fs::set_permissions(
        &scratch_dir,
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();

    // The image map: devenv's own, after a test image with a real directory (see
    // `writable_layer`).
    let image_dir = scratch_dir.join("image/opt/app");
    let images = test_image_map(&scratch_dir, &image_dir);
    let env = Env::up(
        EnvOptions::new("devenv-pods").up_args(&[&format!("--images={}", images.display())]),
    );
    eventually("three Ready nodes", Duration::from_secs(30), || {
        let nodes = env.get(&["get", "nodes"])?;
        let ready = nodes["items"]
            .as_array()
            .map_or(0, |a| a.iter().filter(|n| pod_ready(n)).count());
        (ready == 3).then_some(()).ok_or(format!("{ready} ready"))
    });
    let zones = env.k(&["get", "nodes", "-L", "topology.kubernetes.io/zone"]);
    assert!(
        zones.contains("zone-a") && zones.contains("zone-c"),
        "{zones}"
    );
    env.k(&["create", "namespace", NS]);
    eventually("default ServiceAccount", Duration::from_secs(30), || {
        env.get(&["get", "serviceaccount", "default", "-n", NS])
            .map(|_| ())
    });

    statefulset(&env, &scratch_dir);
    liveness_restarts(&env);
    features(&env, &scratch_dir);
    writable_layer(&env, &scratch_dir, &image_dir);
    opensearch_without_a_data_volume(&env);
    down_leaves_nothing(&env, &before);
}

fn statefulset(env: &Env, scratch: &Path) {
    let hooks = scratch.join("hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    std::fs::set_permissions(&hooks, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    env.apply(
        "web",
        &json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": NS},
            "spec": {"clusterIP": "None", "selector": {"app": "web"},
                     "ports": [{"name": "http", "port": 8080}]}
        }),
    );
    let script = "echo \"$POD_NAME\" > /data/name; echo \"boot $POD_NAME\" >> /data/boots; \
                  cd /data && exec python3 -m http.server 8080";
    let sts = json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "web", "namespace": NS},
        "spec": {
            "serviceName": "web", "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "terminationGracePeriodSeconds": 10,
                    "containers": [{
                        "name": "web", "image": "busybox:1.36",
                        "command": ["sh", "-c", script],
                        "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                        "ports": [{"name": "http", "containerPort": 8080}],
                        "readinessProbe": {"httpGet": {"port": "http", "path": "/name"}, "periodSeconds": 1},
                        "lifecycle": {"preStop": {"exec": {"command": ["sh", "-c",
                            "echo \"preStop ran in $HOSTNAME\" > /hooks/prestop-$HOSTNAME"]}}},
                        "volumeMounts": [{"name": "data", "mountPath": "/data"},
                                         {"name": "hooks", "mountPath": "/hooks"}],
                    }],
                    "volumes": [{"name": "hooks", "hostPath": {"path": hooks.to_string_lossy()}}],
                }
            },
            "volumeClaimTemplates": [{
                "metadata": {"name": "data"},
                // No class: the default StorageClass `standard` and devenv's hostPath provisioner.
                "spec": {"accessModes": ["ReadWriteOnce"],
                         "resources": {"requests": {"storage": "1Gi"}}}
            }]
        }
    });
    let t = Instant::now();
    env.apply("web-statefulset", &sts);
    eventually(
        "StatefulSet web 3/3 ready",
        Duration::from_secs(120),
        || {
            let s = env.get(&["get", "statefulset", "web", "-n", NS])?;
            (s["status"]["readyReplicas"] == 3)
                .then_some(())
                .ok_or(format!("{}", s["status"]))
        },
    );
    eprintln!(
        "TIMING StatefulSet 3 replicas Ready (OrderedReady, python3 http.server): {:.1?}",
        t.elapsed()
    );

    let pods: Vec<Value> = (0..3)
        .map(|i| get_pod(env, &format!("web-{i}")).unwrap())
        .collect();
    let ips: Vec<String> = pods.iter().map(pod_ip).collect();
    let distinct: BTreeSet<&String> = ips.iter().collect();
    assert_eq!(distinct.len(), 3, "{ips:?}");
    let nodes: BTreeSet<&str> = pods
        .iter()
        .filter_map(|p| p["spec"]["nodeName"].as_str())
        .collect();
    eprintln!("StatefulSet pods on nodes {nodes:?} with IPs {ips:?}");
    // Host → pod.
    for (i, ip) in ips.iter().enumerate() {
        assert_eq!(host_get(ip, "/name").unwrap(), format!("web-{i}"));
    }
    // Pod → pod by IP and by DNS name (the headless Service's per-pod records).
    let by_ip = in_pod_netns(
        &pods[0],
        &http_get_code(&format!("http://{}:8080/name", ips[1])),
    )
    .unwrap();
    assert_eq!(by_ip, "web-1");
    let name = format!("web-2.web.{NS}.svc.cluster.local");
    let by_name = eventually(
        "DNS name of web-2 from web-0",
        Duration::from_secs(30),
        || {
            in_pod_netns(
                &pods[0],
                &http_get_code(&format!("http://{name}:8080/name")),
            )
        },
    );
    assert_eq!(by_name, "web-2");
    // Short name through the search path.
    let short = eventually(
        "short DNS name web-1.web from web-2",
        Duration::from_secs(30),
        || in_pod_netns(&pods[2], &http_get_code("http://web-1.web:8080/name")),
    );
    assert_eq!(short, "web-1");
    // The pod's own hostname/FQDN is in its hosts file.
    let fqdn = in_pod_netns(
        &pods[1],
        "import socket; print(socket.gethostbyname('web-1.web.pods-test.svc.cluster.local'))",
    )
    .unwrap();
    assert_eq!(fqdn, ips[1]);

    // Delete the pod whose veth has the lowest MAC (Linux would make it the bridge's MAC had
    // devenv not fixed one): the others keep answering the host at once after its veth is gone,
    // and it comes back (new UID) with the same volume data.
    assert_eq!(bridge_mac(), devenv::pods::net::BRIDGE_MAC);
    let victim = (0..3).min_by_key(|&i| veth_mac(&pods[i]).unwrap()).unwrap();
    let victim_name = format!("web-{victim}");
    let old_uid = pods[victim]["metadata"]["uid"].as_str().unwrap().to_owned();
    let t = Instant::now();
    env.k(&["delete", "pod", &victim_name, "-n", NS, "--wait=false"]);
    eventually(
        &format!("{victim_name}'s veth removed"),
        Duration::from_secs(60),
        || match veth_mac(&pods[victim]) {
            Some(mac) => Err(mac),
            None => Ok(()),
        },
    );
    assert_eq!(bridge_mac(), devenv::pods::net::BRIDGE_MAC);
    for i in (0..3).filter(|&i| i != victim) {
        assert_eq!(
            host_get(&ips[i], "/name"),
            Ok(format!("web-{i}")),
            "web-{i} answers the host at once after {victim_name}'s veth left the bridge"
        );
    }
    let back = eventually(
        &format!("{victim_name} back and Ready"),
        Duration::from_secs(90),
        || {
            let p = get_pod(env, &victim_name)?;
            let fresh = p["metadata"]["uid"].as_str() != Some(old_uid.as_str());
            (fresh && pod_ready(&p))
                .then_some(p)
                .ok_or("not yet".to_owned())
        },
    );
    eprintln!(
        "TIMING {victim_name} deleted → recreated and Ready: {:.1?}",
        t.elapsed()
    );
    let boots = host_get(&pod_ip(&back), "/boots").unwrap();
    assert_eq!(
        boots.lines().count(),
        2,
        "the volume kept the first boot's line: {boots:?}"
    );
    let prestop = hooks.join(format!("prestop-{victim_name}"));
    assert!(prestop.exists(), "preStop ran on delete");
    std::fs::remove_file(prestop).unwrap();

    // Scale down: the highest ordinal goes, after its preStop hook.
    let t = Instant::now();
    env.k(&["scale", "statefulset", "web", "-n", NS, "--replicas=2"]);
    eventually("web-2 gone", Duration::from_secs(60), || {
        match get_pod(env, "web-2") {
            Err(e) if e.contains("NotFound") => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
    eprintln!("TIMING scale 3→2, web-2 removed: {:.1?}", t.elapsed());
    let hook = std::fs::read_to_string(hooks.join("prestop-web-2")).unwrap();
    assert_eq!(hook.trim(), "preStop ran in web-2");
    assert!(!hooks.join("prestop-web-0").exists() && !hooks.join("prestop-web-1").exists());
    assert!(
        pod_ready(&get_pod(env, "web-0").unwrap()) && pod_ready(&get_pod(env, "web-1").unwrap())
    );
}

fn liveness_restarts(env: &Env) {
    env.apply(
        "liveness",
        &json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "liveness", "namespace": NS},
            "spec": {
                "terminationGracePeriodSeconds": 2,
                "containers": [{
                    "name": "c", "image": "busybox",
                    "command": ["sh", "-c", "touch /tmp/alive; sleep 3; rm /tmp/alive; sleep 3600"],
                    "livenessProbe": {"exec": {"command": ["cat", "/tmp/alive"]},
                                      "periodSeconds": 1, "failureThreshold": 2},
                }]
            }
        }),
    );
    let t = Instant::now();
    let p = eventually(
        "liveness restarts the container",
        Duration::from_secs(60),
        || {
            let p = get_pod(env, "liveness")?;
            let n = p["status"]["containerStatuses"][0]["restartCount"]
                .as_i64()
                .unwrap_or(0);
            (n >= 1).then_some(p).ok_or(format!("restartCount {n}"))
        },
    );
    eprintln!("TIMING liveness failure → restart: {:.1?}", t.elapsed());
    let last = &p["status"]["containerStatuses"][0]["lastState"]["terminated"];
    assert!(last["exitCode"].as_i64().unwrap_or(0) != 0, "{last}");
}

fn features(env: &Env, scratch: &Path) {
    let out = scratch.join("features");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::set_permissions(&out, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    env.apply(
        "settings",
        &json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": NS},
            "data": {"greeting": "hello from a configMap", "mode": "fast"}
        }),
    );
    let script = "{ cat /work/init.txt; echo \"name=$POD_NAME ns=$POD_NAMESPACE ip=$POD_IP node=$NODE\"; \
                  echo \"greeting=$(cat /config/greeting) mode=$MODE args=$1\"; \
                  echo \"uid=$(id -u) groups=$(id -G) host=$(hostname)\"; \
                  echo \"token=$(test -s /var/run/secrets/kubernetes.io/serviceaccount/token && echo yes) \
                  ns-file=$(cat /var/run/secrets/kubernetes.io/serviceaccount/namespace)\"; \
                  } > /out/result.tmp; mv /out/result.tmp /out/result; sleep 3600";
    env.apply("features", &json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "features", "namespace": NS},
        "spec": {
            "hostname": "feat",
            "securityContext": {"runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 2000},
            "terminationGracePeriodSeconds": 1,
            "initContainers": [{
                "name": "init", "image": "busybox",
                "command": ["sh", "-c", "echo init-ran > /work/init.txt"],
                "volumeMounts": [{"name": "work", "mountPath": "/work"}],
            }],
            "containers": [{
                "name": "main", "image": "busybox",
                "command": ["sh", "-c", script, "sh"],
                "args": ["--pilot-name=$(POD_NAME)"],
                "env": [
                    {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                    {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                    {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                    {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "mode"}}},
                ],
                "volumeMounts": [
                    {"name": "work", "mountPath": "/work"},
                    {"name": "config", "mountPath": "/config", "readOnly": true},
                    {"name": "out", "mountPath": "/out"},
                ],
            }],
            "volumes": [
                {"name": "work", "emptyDir": {}},
                {"name": "config", "configMap": {"name": "settings"}},
                {"name": "out", "hostPath": {"path": out.to_string_lossy()}},
            ]
        }
    }));
    let result = eventually(
        "the features pod's result file",
        Duration::from_secs(60),
        || std::fs::read_to_string(out.join("result")).map_err(|e| e.to_string()),
    );
    let p = get_pod(env, "features").unwrap();
    let ip = pod_ip(&p);
    let node = p["spec"]["nodeName"].as_str().unwrap();
    eprintln!("features pod wrote:\n{result}");
    let lines: Vec<&str> = result.lines().collect();
    assert_eq!(lines[0], "init-ran");
    assert_eq!(
        lines[1],
        format!("name=features ns={NS} ip={ip} node={node}")
    );
    assert_eq!(
        lines[2],
        "greeting=hello from a configMap mode=fast args=--pilot-name=features"
    );
    assert_eq!(lines[3], "uid=1000 groups=1000 2000 host=feat");
    assert_eq!(
        lines[4].split_whitespace().collect::<Vec<_>>(),
        ["token=yes", &format!("ns-file={NS}")]
    );
    let st = &p["status"];
    assert_eq!(st["phase"], "Running");
    assert_eq!(
        st["initContainerStatuses"][0]["state"]["terminated"]["reason"],
        "Completed"
    );
    // An unknown image waits with ErrImagePull.
    env.apply(
        "unknown-image",
        &json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "unknown-image", "namespace": NS},
            "spec": {"containers": [{"name": "c", "image": "no-such-image:1"}]}
        }),
    );
    eventually("ErrImagePull", Duration::from_secs(30), || {
        let p = get_pod(env, "unknown-image")?;
        let reason = p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"].clone();
        (reason == "ErrImagePull")
            .then_some(())
            .ok_or(format!("{reason}"))
    });
    // A deleted pod is finished (not left Terminating).
    let t = Instant::now();
    env.k(&[
        "delete",
        "pod",
        "features",
        "unknown-image",
        "-n",
        NS,
        "--wait=true",
        "--timeout=60s",
    ]);
    eprintln!(
        "TIMING delete of two pods (grace 1 s and none running): {:.1?}",
        t.elapsed()
    );
}

/// Writes the test's image map: `navigator-test/layered:*` (a directory of the test's, owned by
/// uid 1000 as an image's files may be, at /opt/app) before devenv's own entries.
fn test_image_map(scratch: &Path, image_dir: &Path) -> PathBuf {
    std::fs::create_dir_all(image_dir).unwrap();
    std::fs::write(image_dir.join("content"), "original\n").unwrap();
    for p in [image_dir, &image_dir.join("content")] {
        std::os::unix::fs::chown(p, Some(1000), Some(1000)).unwrap();
    }
    let ours = std::fs::read_to_string(devenv::pods::images::default_path()).unwrap();
    let entry = format!(
        "images:\n  - match: \"navigator-test/layered*\"\n    binds:\n      \
         - {{source: \"{}\", target: /opt/app}}\n    cmd: [\"sh\"]\n",
        image_dir.display()
    );
    assert!(
        ours.contains("\nimages:\n"),
        "images.yaml has an images: list"
    );
    let map = scratch.join("images.yaml");
    std::fs::write(&map, ours.replacen("\nimages:\n", &format!("\n{entry}"), 1)).unwrap();
    map
}

/// A StatefulSet whose containers write into their image's directory (/opt/app) and into the
/// host directories of a host-root image (/etc, /usr/share) with no volume there: it runs, each
/// container start (a restart too) sees a clean copy of the image, a volume's file stays, the
/// host's directories are never written, and the deleted pod leaves no layer behind.
fn writable_layer(env: &Env, scratch: &Path, image_dir: &Path) {
    let out = scratch.join("layered");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::set_permissions(&out, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    // First start: record what the image looks like, write into it, exit (restartPolicy Always
    // restarts it). Second start: record again and stay.
    let script = "seen=clean; \
        for f in /opt/app/written-$WHO /etc/navtest-written-$WHO /usr/share/navtest-written-$WHO; do \
          if [ -e $f ]; then seen=\"dirty:$f\"; fi; done; \
        echo \"$seen content=$(cat /opt/app/content | tr '\\n' ' ')\" >> /out/$WHO; \
        echo changed >> /opt/app/content && touch /opt/app/written-$WHO || echo \"cannot write /opt/app\" >> /out/$WHO; \
        if [ $WHO = root ]; then touch /etc/navtest-written-root /usr/share/navtest-written-root \
          || echo \"cannot write /etc or /usr\" >> /out/$WHO; fi; \
        dd if=/dev/zero of=/opt/app/big bs=64k count=32 2>/dev/null; echo $? > /out/$WHO.dd; \
        rm -f /opt/app/big; \
        if [ $(wc -l < /out/$WHO) -lt 2 ]; then exit 0; fi; exec sleep 3600";
    // The second container's writable layer is limited to 1 MiB (its ephemeral-storage
    // limit): writing 2 MiB into its image fails.
    let container = |who: &str, uid: i64, resources: Value| {
        json!({
            "name": who, "image": "navigator-test/layered:1",
            "command": ["sh", "-c", script],
            "env": [{"name": "WHO", "value": who}],
            "securityContext": {"runAsUser": uid, "runAsGroup": uid},
            "resources": resources,
            "volumeMounts": [{"name": "out", "mountPath": "/out"}],
        })
    };
    env.apply(
        "layered",
        &json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "layered", "namespace": NS},
            "spec": {
                "serviceName": "layered", "replicas": 1,
                "selector": {"matchLabels": {"app": "layered"}},
                "template": {
                    "metadata": {"labels": {"app": "layered"}},
                    "spec": {
                        "terminationGracePeriodSeconds": 1,
                        "containers": [
                            container("root", 0, json!({})),
                            container("app", 1000, json!({"limits": {"ephemeral-storage": "1Mi"}})),
                        ],
                        "volumes": [{"name": "out", "hostPath": {"path": out.to_string_lossy()}}],
                    }
                }
            }
        }),
    );
    let t = Instant::now();
    let pod = eventually(
        "layered-0 Ready after each container's restart",
        Duration::from_secs(90),
        || {
            let p = get_pod(env, "layered-0")?;
            let restarts: Vec<i64> = p["status"]["containerStatuses"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|c| c["restartCount"].as_i64().unwrap_or(0))
                        .collect()
                })
                .unwrap_or_default();
            let ready = pod_ready(&p);
            (ready && restarts.len() == 2 && restarts.iter().all(|&n| n >= 1))
                .then_some(p)
                .ok_or(format!("ready {ready} restarts {restarts:?}"))
        },
    );
    eprintln!(
        "TIMING StatefulSet writing into its image, each container restarted once, Ready: {:.1?}",
        t.elapsed()
    );
    for who in ["root", "app"] {
        // The volume's file kept the first start's line; each start saw a clean image.
        let seen = std::fs::read_to_string(out.join(who)).unwrap();
        assert_eq!(
            seen.lines().take(2).collect::<Vec<_>>(),
            ["clean content=original ", "clean content=original "],
            "{who}: {seen}"
        );
    }
    // 2 MiB fit in the unlimited layer, not in the one limited to 1 MiB.
    let dd = |who: &str| std::fs::read_to_string(out.join(format!("{who}.dd"))).unwrap();
    assert_eq!(dd("root").trim(), "0");
    assert_ne!(dd("app").trim(), "0", "2 MiB written into a 1 MiB layer");
    // The host's directories were never written.
    assert_eq!(
        std::fs::read_to_string(image_dir.join("content")).unwrap(),
        "original\n"
    );
    let names: Vec<String> = std::fs::read_dir(image_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["content"]);
    for p in [
        "/etc/navtest-written-root",
        "/usr/share/navtest-written-root",
    ] {
        assert!(!Path::new(p).exists(), "{p} written on the host");
    }
    // Deleted: the pod's directory (with its layers' mount points) is gone.
    let uid = pod["metadata"]["uid"].as_str().unwrap().to_owned();
    let pod_dir = layout(env).root().join("pods").join(&uid);
    assert!(pod_dir.join("layers").is_dir(), "{}", pod_dir.display());
    env.k(&[
        "delete",
        "statefulset",
        "layered",
        "-n",
        NS,
        "--wait=true",
        "--timeout=60s",
    ]);
    eventually(
        "layered-0 gone",
        Duration::from_secs(60),
        || match get_pod(env, "layered-0") {
            Err(e) if e.contains("NotFound") => Ok(()),
            other => Err(format!("{other:?}")),
        },
    );
    eventually(
        "layered-0's directory removed",
        Duration::from_secs(10),
        || {
            (!pod_dir.exists())
                .then_some(())
                .ok_or(format!("{} remains", pod_dir.display()))
        },
    );
}

/// The issue's case: OpenSearch with no data volume writes /usr/share/opensearch/data (read-only
/// before containers had a writable layer). It starts, indexes and finds a document; the image
/// directory in the cache is unchanged.
fn opensearch_without_a_data_volume(env: &Env) {
    let data = test_support::paths::image_root("opensearch", "2.19.6", "usr/share/opensearch/data")
        .join("usr/share/opensearch/data");
    let listing = |d: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let before = listing(&data);
    let var = |k: &str, v: &str| json!({"name": k, "value": v});
    env.apply(
        "opensearch",
        &json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "opensearch", "namespace": NS},
            "spec": {
                "terminationGracePeriodSeconds": 5,
                "containers": [{
                    "name": "opensearch", "image": "opensearchproject/opensearch:2.19.6",
                    "env": [var("discovery.type", "single-node"),
                            var("OPENSEARCH_JAVA_OPTS", "-Xms256m -Xmx256m"),
                            var("DISABLE_SECURITY_PLUGIN", "true")],
                    "readinessProbe": {"tcpSocket": {"port": 9200}, "periodSeconds": 2},
                }]
            }
        }),
    );
    let t = Instant::now();
    let p = eventually(
        "OpenSearch without a data volume Ready",
        Duration::from_secs(180),
        || {
            let p = get_pod(env, "opensearch")?;
            pod_ready(&p)
                .then_some(p.clone())
                .ok_or(format!("{}", p["status"]["containerStatuses"]))
        },
    );
    eprintln!(
        "TIMING OpenSearch 2.19.6 with no data volume Ready: {:.1?}",
        t.elapsed()
    );
    let ip = pod_ip(&p);
    let put = http(
        &ip,
        9200,
        "PUT",
        "/layer/_doc/1?refresh=true",
        r#"{"written": "into the image's data directory"}"#,
    )
    .unwrap();
    assert!(put.contains("\"result\":\"created\""), "{put}");
    let got = http(&ip, 9200, "GET", "/layer/_doc/1", "").unwrap();
    assert!(got.contains("into the image's data directory"), "{got}");
    assert_eq!(
        listing(&data),
        before,
        "the image's data directory was written"
    );
    env.k(&[
        "delete",
        "pod",
        "opensearch",
        "-n",
        NS,
        "--wait=true",
        "--timeout=60s",
    ]);
}

fn down_leaves_nothing(env: &Env, before: &HostState) {
    let root = layout(env).root().to_string_lossy().into_owned();
    let t = Instant::now();
    let out = env.devenv(&["down"]);
    assert!(
        out.status.success(),
        "devenv down: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("TIMING devenv down with running pods: {:.1?}", t.elapsed());
    let after = host_state();
    assert_eq!(&after, before, "host state changed");
    // No container's root or writable layer is left in the state directory.
    let left: Vec<String> = std::fs::read_dir(layout(env).root().join("pods"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.path().is_dir())
                .map(|e| e.path().display().to_string())
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "pod directories remain: {left:?}");
    let strays: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(process::cmdline)
        .filter(|c| c.iter().any(|a| a.contains(&root)))
        .map(|c| c.join(" "))
        .collect();
    assert!(strays.is_empty(), "processes remain: {strays:#?}");
}
