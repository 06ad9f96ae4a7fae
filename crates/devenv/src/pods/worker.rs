//! One pod's life on a devenv node: network and volumes, init containers in order, containers
//! with restarts and probes, status reports, and graceful termination ending in the pod's final
//! deletion. Decisions come from the pure modules (`status`, `env`, `images`, `probes`); this
//! file sequences them.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, Secret};
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, Preconditions};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use tokio::sync::{Mutex, mpsc, watch};
use tokio::task::JoinHandle;

use super::env::{self, PodFacts, Sources};
use super::images::{self, ImageMap};
use super::ipam::{Allocation, GATEWAY, Ipam};
use super::net::{self, PodNet};
use super::probes::{self, Action, ExecTarget, Tracker};
use super::sandbox::{self, BindMount, HOST_DIRS, SandboxSpec};
use super::status::{CState, CStatus, Conditions, PodView, RestartPolicy, status_patch};
use super::volumes::{VolumeCtx, container_mounts};
use super::{log, now_rfc3339};

/// What every pod worker shares.
pub struct Ctx {
    /// API client (admin).
    pub client: kube::Client,
    /// The state directory.
    pub root: PathBuf,
    /// The IPAM and its file.
    pub ipam: Mutex<Ipam>,
    /// The image map.
    pub images: ImageMap,
    /// The devenv executable (runs `pod-init`).
    pub exe: PathBuf,
    /// Upper bound on termination grace periods.
    pub grace_cap: Duration,
    /// Turns true when the runner stops (devenv down).
    pub shutdown: watch::Receiver<bool>,
}

impl Ctx {
    fn ipam_file(&self) -> PathBuf {
        super::ipam_file(&self.root)
    }
}

/// A running container process.
struct Instance {
    /// PID of the sandbox's outer process (`unshare`); also its process group.
    pid: i32,
    no: u32,
    exit: watch::Receiver<Option<i32>>,
    probes: Option<JoinHandle<()>>,
    exec: ExecTarget,
    started: Instant,
    started_at: String,
}

struct Slot {
    spec: Container,
    status: CStatus,
    inst: Option<Instance>,
    next_start: Option<Instant>,
    quick_failures: u32,
    instances: u32,
}

enum ProbeEvent {
    Started,
    Ready(bool),
    Kill(String),
}

/// Which way the pod ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The pod was deleted through the API: finish the deletion.
    Deleted,
    /// The pod object is gone already.
    Gone,
    /// The runner stops.
    Shutdown,
}

struct Worker {
    ctx: Arc<Ctx>,
    pod: Pod,
    uid: String,
    ns: String,
    name: String,
    net: PodNet,
    ip: Option<Ipv4Addr>,
    volumes: BTreeMap<String, PathBuf>,
    init: Vec<Slot>,
    main: Vec<Slot>,
    view_initialized: bool,
    init_failed: bool,
    sandbox_ready: bool,
    start_time: String,
    conds: Conditions,
    last_patch: Option<Value>,
    exit_tx: mpsc::UnboundedSender<(bool, usize, u32, i32)>,
    exit_rx: mpsc::UnboundedReceiver<(bool, usize, u32, i32)>,
    probe_tx: mpsc::UnboundedSender<(usize, u32, ProbeEvent)>,
    probe_rx: mpsc::UnboundedReceiver<(usize, u32, ProbeEvent)>,
}

/// Runs the pod whose object `rx` carries (`None` once it is gone from the API).
pub async fn run_pod(ctx: Arc<Ctx>, mut rx: watch::Receiver<Option<Pod>>) {
    let Some(pod) = rx.borrow().clone() else {
        return;
    };
    let mut w = Worker::new(ctx, pod);
    log(&format!("pod {}/{} ({}): taken on", w.ns, w.name, w.uid));
    let end = w.run(&mut rx).await;
    w.finish(end).await;
}

fn slot(c: &Container, reason: &str) -> Slot {
    Slot {
        status: CStatus::new(&c.name, c.image.as_deref().unwrap_or_default(), reason),
        spec: c.clone(),
        inst: None,
        next_start: None,
        quick_failures: 0,
        instances: 0,
    }
}

/// The container's `ephemeral-storage` limit in bytes: the size of its writable layer's tmpfs
/// (kubelet would evict the pod beyond it; here writes fail with ENOSPC). Pure.
fn ephemeral_storage_limit(c: &Container) -> Option<u64> {
    let q = c
        .resources
        .as_ref()?
        .limits
        .as_ref()?
        .get("ephemeral-storage")?;
    let bytes = env::parse_quantity(&q.0).ceil();
    // Saturating float-to-int conversion; quantities are never negative in a valid pod.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Some(bytes.max(0.0) as u64)
}

/// Restart delay after `n` quick failures: 1 s doubling, at most 10 s (kubelet: 10 s to 5 min).
fn restart_delay(n: u32) -> Duration {
    Duration::from_secs(1u64 << n.min(4)).min(Duration::from_secs(10))
}

impl Worker {
    fn new(ctx: Arc<Ctx>, pod: Pod) -> Self {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let spec = pod.spec.clone().unwrap_or_default();
        let (exit_tx, exit_rx) = mpsc::unbounded_channel();
        let (probe_tx, probe_rx) = mpsc::unbounded_channel();
        Self {
            net: PodNet::for_uid(&uid),
            ns: pod.metadata.namespace.clone().unwrap_or_default(),
            name: pod.metadata.name.clone().unwrap_or_default(),
            uid,
            ip: None,
            volumes: BTreeMap::new(),
            init: spec
                .init_containers
                .iter()
                .flatten()
                .map(|c| slot(c, "PodInitializing"))
                .collect(),
            main: spec
                .containers
                .iter()
                .map(|c| slot(c, "ContainerCreating"))
                .collect(),
            view_initialized: spec.init_containers.as_ref().is_none_or(Vec::is_empty),
            init_failed: false,
            sandbox_ready: false,
            start_time: pod
                .status
                .as_ref()
                .and_then(|s| s.start_time.as_ref())
                .map_or_else(now_rfc3339, |t| t.0.to_string()),
            conds: Conditions::default(),
            last_patch: None,
            exit_tx,
            exit_rx,
            probe_tx,
            probe_rx,
            pod,
            ctx,
        }
    }

    fn pod_dir(&self) -> PathBuf {
        self.ctx.root.join("pods").join(&self.uid)
    }

    fn policy(&self) -> RestartPolicy {
        RestartPolicy::parse(
            self.pod
                .spec
                .as_ref()
                .and_then(|s| s.restart_policy.as_deref()),
        )
    }

    fn hostname(&self) -> String {
        self.pod
            .spec
            .as_ref()
            .and_then(|s| s.hostname.clone())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| self.name.clone())
    }

    fn facts(&self) -> PodFacts {
        PodFacts {
            pod_ip: self.ip.map(|i| i.to_string()).unwrap_or_default(),
            host_ip: GATEWAY.to_string(),
            node_cpu: 2,
            node_memory: 24 << 30,
        }
    }

    /// Checks the latest object: returns how the pod ends, if it does.
    fn ending(&mut self, rx: &mut watch::Receiver<Option<Pod>>) -> Option<End> {
        if *self.ctx.shutdown.borrow() {
            return Some(End::Shutdown);
        }
        match rx.borrow_and_update().clone() {
            None => Some(End::Gone),
            Some(p) => {
                let deleted = p.metadata.deletion_timestamp.is_some();
                self.pod = p;
                deleted.then_some(End::Deleted)
            }
        }
    }

    /// Waits up to `d` for a change of the pod or the runner; returns how the pod ends, if it does.
    async fn pause(&mut self, rx: &mut watch::Receiver<Option<Pod>>, d: Duration) -> Option<End> {
        let mut shutdown = self.ctx.shutdown.clone();
        tokio::select! {
            () = tokio::time::sleep(d) => {}
            r = rx.changed() => if r.is_err() { return Some(End::Gone) },
            _ = shutdown.changed() => {}
        }
        self.ending(rx)
    }

    async fn run(&mut self, rx: &mut watch::Receiver<Option<Pod>>) -> End {
        if let Some(e) = self.ending(rx) {
            return e;
        }
        let phase = self.pod.status.as_ref().and_then(|s| s.phase.clone());
        if matches!(phase.as_deref(), Some("Succeeded" | "Failed")) {
            // Finished before the runner (re)started: nothing runs again.
            loop {
                if let Some(e) = self.pause(rx, Duration::from_secs(3600)).await {
                    return e;
                }
            }
        }
        // The sandbox: network and volumes.
        let mut attempt = 0u32;
        loop {
            match self.setup().await {
                Ok(()) => break,
                Err(msg) => {
                    attempt += 1;
                    if attempt == 1 || attempt.is_multiple_of(10) {
                        log(&format!("pod {}/{}: {msg}", self.ns, self.name));
                    }
                    for s in self.init.iter_mut().chain(self.main.iter_mut()) {
                        if let CState::Waiting { message, .. } = &mut s.status.state {
                            *message = Some(msg.clone());
                        }
                    }
                    self.report().await;
                    if let Some(e) = self.pause(rx, Duration::from_secs(2)).await {
                        return e;
                    }
                }
            }
        }
        self.sandbox_ready = true;
        self.report().await;
        // Init containers, in order, each to completion.
        for i in 0..self.init.len() {
            loop {
                if let Err((reason, message)) = self.start(true, i).await {
                    self.init[i].status.state = CState::Waiting {
                        reason,
                        message: Some(message),
                    };
                    self.report().await;
                    if let Some(e) = self.pause(rx, Duration::from_secs(2)).await {
                        return e;
                    }
                    continue;
                }
                self.report().await;
                let code = loop {
                    let mut shutdown = self.ctx.shutdown.clone();
                    tokio::select! {
                        Some((true, idx, no, code)) = self.exit_rx.recv() => {
                            if idx == i && self.init[i].inst.as_ref().is_some_and(|x| x.no == no) {
                                break code;
                            }
                        }
                        r = rx.changed() => if r.is_err() { return End::Gone },
                        _ = shutdown.changed() => {}
                    }
                    if let Some(e) = self.ending(rx) {
                        return e;
                    }
                };
                self.exited(true, i, code);
                self.report().await;
                if code == 0 {
                    break;
                }
                if !self.policy().restarts(code) {
                    self.init_failed = true;
                    self.report().await;
                    loop {
                        if let Some(e) = self.pause(rx, Duration::from_secs(3600)).await {
                            return e;
                        }
                    }
                }
                let delay = restart_delay(self.init[i].quick_failures);
                if let Some(e) = self.pause(rx, delay).await {
                    return e;
                }
                self.init[i].status.restart_count += 1;
            }
        }
        self.view_initialized = true;
        for i in 0..self.main.len() {
            self.main[i].next_start = Some(Instant::now());
        }
        // Containers.
        loop {
            let now = Instant::now();
            for i in 0..self.main.len() {
                if self.main[i].next_start.is_some_and(|t| t <= now) {
                    self.main[i].next_start = None;
                    if self.main[i].instances > 0 {
                        self.main[i].status.restart_count += 1;
                    }
                    if let Err((reason, message)) = self.start(false, i).await {
                        self.main[i].status.state = CState::Waiting {
                            reason,
                            message: Some(message),
                        };
                        self.main[i].next_start = Some(Instant::now() + Duration::from_secs(2));
                        if self.main[i].instances > 0 {
                            self.main[i].status.restart_count -= 1;
                        }
                    }
                }
            }
            self.report().await;
            let wake = self
                .main
                .iter()
                .filter_map(|s| s.next_start)
                .min()
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            let mut shutdown = self.ctx.shutdown.clone();
            tokio::select! {
                () = tokio::time::sleep_until(wake.into()) => {}
                r = rx.changed() => if r.is_err() { return End::Gone },
                _ = shutdown.changed() => {}
                Some((false, idx, no, code)) = self.exit_rx.recv() => {
                    if self.main.get(idx).and_then(|s| s.inst.as_ref()).is_some_and(|x| x.no == no) {
                        self.exited(false, idx, code);
                        if self.policy().restarts(code) {
                            let delay = restart_delay(self.main[idx].quick_failures);
                            self.main[idx].next_start = Some(Instant::now() + delay);
                        }
                    }
                }
                Some((idx, no, ev)) = self.probe_rx.recv() => self.probe_event(idx, no, ev),
            }
            if let Some(e) = self.ending(rx) {
                return e;
            }
        }
    }

    fn probe_event(&mut self, idx: usize, no: u32, ev: ProbeEvent) {
        let Some(s) = self.main.get_mut(idx) else {
            return;
        };
        let Some(inst) = s.inst.as_ref().filter(|x| x.no == no) else {
            return;
        };
        match ev {
            ProbeEvent::Started => s.status.started = true,
            ProbeEvent::Ready(r) => s.status.ready = r,
            ProbeEvent::Kill(why) => {
                log(&format!(
                    "pod {}/{}: container {}: {why}; killing it",
                    self.ns, self.name, s.spec.name
                ));
                s.status.ready = false;
                let pid = inst.pid;
                let init = find_init(pid);
                let grace = self.grace();
                tokio::spawn(async move {
                    signal_container(pid, init, Signal::SIGTERM);
                    tokio::time::sleep(grace).await;
                    let _ = kill(Pid::from_raw(-pid), Signal::SIGKILL);
                });
            }
        }
    }

    fn grace(&self) -> Duration {
        let secs = self
            .pod
            .metadata
            .deletion_grace_period_seconds
            .or_else(|| {
                self.pod
                    .spec
                    .as_ref()
                    .and_then(|s| s.termination_grace_period_seconds)
            })
            .unwrap_or(30);
        Duration::from_secs(u64::try_from(secs.max(0)).unwrap_or(30)).min(self.ctx.grace_cap)
    }

    /// Records the exit of a container instance.
    fn exited(&mut self, is_init: bool, idx: usize, code: i32) {
        let s = if is_init {
            &mut self.init[idx]
        } else {
            &mut self.main[idx]
        };
        let Some(mut inst) = s.inst.take() else {
            return;
        };
        if let Some(p) = inst.probes.take() {
            p.abort();
        }
        let ran = inst.started.elapsed();
        if code != 0 && ran < Duration::from_secs(60) {
            s.quick_failures += 1;
        } else if ran >= Duration::from_secs(60) {
            s.quick_failures = 0;
        }
        let term = CState::Terminated {
            exit_code: code,
            reason: if code == 0 { "Completed" } else { "Error" }.to_owned(),
            started_at: inst.started_at.clone(),
            finished_at: now_rfc3339(),
        };
        s.status.ready = false;
        s.status.started = false;
        if is_init
            || !RestartPolicy::parse(
                self.pod
                    .spec
                    .as_ref()
                    .and_then(|p| p.restart_policy.as_deref()),
            )
            .restarts(code)
        {
            s.status.state = term;
        } else {
            s.status.last = Some(term);
            s.status.state = CState::Waiting {
                reason: if code == 0 {
                    "Completed"
                } else {
                    "CrashLoopBackOff"
                }
                .to_owned(),
                message: Some(format!(
                    "back-off restarting failed container {}",
                    s.spec.name
                )),
            };
        }
        log(&format!(
            "pod {}/{}: container {} exited with {code} after {:?}",
            self.ns, self.name, s.spec.name, ran
        ));
    }

    /// Network, DNS files and volumes.
    async fn setup(&mut self) -> Result<(), String> {
        if self.ip.is_none() {
            let mut ipam = self.ctx.ipam.lock().await;
            let ip = ipam
                .allocate(Allocation {
                    pod_uid: self.uid.clone(),
                    pod: format!("{}/{}", self.ns, self.name),
                    netns: self.net.netns.clone(),
                    veth: self.net.veth.clone(),
                })
                .map_err(|e| e.to_string())?;
            ipam.save(&self.ctx.ipam_file())
                .map_err(|e| e.to_string())?;
            drop(ipam);
            let spec = self.pod.spec.clone().unwrap_or_default();
            let files = net::dns_files(&self.ns, &self.hostname(), spec.subdomain.as_deref(), ip);
            net::create_pod_net(&self.net, ip, &files)
                .await
                .map_err(|e| e.to_string())?;
            self.ip = Some(ip);
        }
        let facts = self.facts();
        let dir = self.pod_dir();
        let vctx = VolumeCtx {
            client: &self.ctx.client,
            pod: &self.pod,
            facts: &facts,
            pod_dir: &dir,
        };
        self.volumes = vctx.prepare().await.map_err(|e| e.to_string())?;
        Ok(())
    }

    async fn sources(&self, c: &Container) -> Sources {
        let mut cms = Vec::new();
        let mut secrets = Vec::new();
        for f in c.env_from.iter().flatten() {
            if let Some(r) = &f.config_map_ref {
                cms.push(r.name.clone());
            }
            if let Some(r) = &f.secret_ref {
                secrets.push(r.name.clone());
            }
        }
        for e in c.env.iter().flatten() {
            if let Some(vf) = &e.value_from {
                if let Some(r) = &vf.config_map_key_ref {
                    cms.push(r.name.clone());
                }
                if let Some(r) = &vf.secret_key_ref {
                    secrets.push(r.name.clone());
                }
            }
        }
        let mut out = Sources::default();
        let cm_api: Api<ConfigMap> = Api::namespaced(self.ctx.client.clone(), &self.ns);
        for n in cms {
            if let Ok(Some(cm)) = cm_api.get_opt(&n).await {
                let mut d: BTreeMap<String, String> = cm.data.unwrap_or_default();
                for (k, v) in cm.binary_data.unwrap_or_default() {
                    d.insert(k, String::from_utf8_lossy(&v.0).into_owned());
                }
                out.config_maps.insert(n, d);
            }
        }
        let s_api: Api<Secret> = Api::namespaced(self.ctx.client.clone(), &self.ns);
        for n in secrets {
            if let Ok(Some(s)) = s_api.get_opt(&n).await {
                let mut d: BTreeMap<String, Vec<u8>> = s
                    .data
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, v.0))
                    .collect();
                for (k, v) in s.string_data.unwrap_or_default() {
                    d.insert(k, v.into_bytes());
                }
                out.secrets.insert(n, d);
            }
        }
        out
    }

    /// Starts container `idx`; on failure the waiting reason and message.
    async fn start(&mut self, is_init: bool, idx: usize) -> Result<(), (String, String)> {
        let c = if is_init {
            &self.init[idx]
        } else {
            &self.main[idx]
        }
        .spec
        .clone();
        let image = c.image.clone().unwrap_or_default();
        let img = self
            .ctx
            .images
            .resolve(&image, &images::host_var)
            .and_then(|i| images::check_exists(&image, &i).map(|()| i))
            .map_err(|e| ("ErrImagePull".to_owned(), e.to_string()))?;
        let spec = self.pod.spec.clone().unwrap_or_default();
        let psc = spec.security_context.clone().unwrap_or_default();
        let csc = c.security_context.clone().unwrap_or_default();
        let to_u32 = |v: Option<i64>| v.and_then(|x| u32::try_from(x).ok());
        let uid = to_u32(csc.run_as_user)
            .or(to_u32(psc.run_as_user))
            .unwrap_or(0);
        let gid = to_u32(csc.run_as_group)
            .or(to_u32(psc.run_as_group))
            .unwrap_or(0);
        let mut groups: Vec<u32> = psc
            .supplemental_groups
            .iter()
            .flatten()
            .filter_map(|g| u32::try_from(*g).ok())
            .collect();
        if let Some(g) = to_u32(psc.fs_group) {
            groups.push(g);
        }
        let hostname = self.hostname();
        let sources = self.sources(&c).await;
        let env = env::container_env(
            &self.pod,
            &c,
            &img.env,
            &self.facts(),
            &sources,
            &hostname,
            uid,
        )
        .map_err(|e| ("CreateContainerConfigError".to_owned(), e.to_string()))?;
        let command = env::expand_all(c.command.as_deref().unwrap_or_default(), &env);
        let args = env::expand_all(c.args.as_deref().unwrap_or_default(), &env);
        let argv = images::argv(&img, &command, &args);
        if argv.is_empty() {
            return Err((
                "CreateContainerError".to_owned(),
                format!("no command for image {image}"),
            ));
        }
        // The image's directories become the container's own writable overlays (unless
        // `writable: true` shares them); see sandbox.rs.
        let image: Vec<BindMount> = img
            .binds
            .iter()
            .map(|(src, target, writable)| BindMount {
                source: src.clone(),
                target: target.clone(),
                read_only: !writable,
            })
            .collect();
        let mounts = container_mounts(
            c.volume_mounts.as_deref().unwrap_or_default(),
            &self.volumes,
        );
        let working_dir = c
            .working_dir
            .clone()
            .or(img.working_dir.clone())
            .unwrap_or_else(|| "/".to_owned());
        let dir = self.pod_dir();
        let sbx = SandboxSpec {
            root: dir.join("rootfs").join(&c.name),
            layers: dir.join("layers").join(&c.name),
            layers_size: ephemeral_storage_limit(&c),
            hostname,
            host_dirs: HOST_DIRS.iter().map(|s| (*s).to_owned()).collect(),
            image,
            mounts,
            argv,
            env: env.clone(),
            working_dir,
            uid,
            gid,
            groups,
        };
        let spec_file = dir.join(format!("{}.json", c.name));
        let fail = |e: std::io::Error| ("RunContainerError".to_owned(), e.to_string());
        std::fs::create_dir_all(&sbx.root).map_err(fail)?;
        std::fs::create_dir_all(&sbx.layers).map_err(fail)?;
        let json = serde_json::to_vec_pretty(&sbx).map_err(|e| fail(std::io::Error::other(e)))?;
        std::fs::write(&spec_file, json).map_err(fail)?;
        let log_path = super::container_log(&self.ctx.root, &self.ns, &self.name, &c.name);
        if let Some(p) = log_path.parent() {
            std::fs::create_dir_all(p).map_err(fail)?;
        }
        let mut logf = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(fail)?;
        let slot = if is_init {
            &mut self.init[idx]
        } else {
            &mut self.main[idx]
        };
        slot.instances += 1;
        let no = slot.instances;
        let _ = writeln!(
            logf,
            "=== devenv: {} start #{no} of {} (pod uid {}): {:?}",
            now_rfc3339(),
            c.name,
            self.uid,
            sbx.argv
        );
        let (prog, cargs) = sandbox::command_line(&self.net.netns, &self.ctx.exe, &spec_file);
        let mut child = tokio::process::Command::new(prog)
            .args(cargs)
            .stdin(Stdio::null())
            .stdout(logf.try_clone().map_err(fail)?)
            .stderr(logf)
            .process_group(0)
            .spawn()
            .map_err(fail)?;
        let pid = child.id().and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
        let (wtx, wrx) = watch::channel(None);
        let etx = self.exit_tx.clone();
        tokio::spawn(async move {
            let code = match child.wait().await {
                Ok(s) => s.code().unwrap_or_else(|| {
                    128 + std::os::unix::process::ExitStatusExt::signal(&s).unwrap_or(9)
                }),
                Err(_) => 128,
            };
            let _ = wtx.send(Some(code));
            let _ = etx.send((is_init, idx, no, code));
        });
        let started_at = now_rfc3339();
        let exec = ExecTarget {
            init_pid: 0,
            uid,
            gid,
            env,
        };
        let probes = (!is_init).then(|| {
            tokio::spawn(probe_loop(
                c.clone(),
                self.ip.map(|i| i.to_string()).unwrap_or_default(),
                pid,
                exec.clone(),
                idx,
                no,
                self.probe_tx.clone(),
            ))
        });
        slot.status.state = CState::Running {
            started_at: started_at.clone(),
        };
        slot.status.container_id = Some(format!("devenv://{}/{}/{no}", self.uid, c.name));
        slot.status.started = is_init;
        slot.inst = Some(Instance {
            pid,
            no,
            exit: wrx,
            probes,
            exec,
            started: Instant::now(),
            started_at,
        });
        Ok(())
    }

    /// Patches the pod's status if it changed.
    async fn report(&mut self) {
        if *self.ctx.shutdown.borrow() {
            return;
        }
        let gates: Vec<(String, bool)> = self
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.readiness_gates.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|g| {
                let ok = self
                    .pod
                    .status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .and_then(|cs| cs.iter().find(|c| c.type_ == g.condition_type))
                    .is_some_and(|c| c.status == "True");
                (g.condition_type, ok)
            })
            .collect();
        let view = PodView {
            pod_ip: self.ip.map(|i| i.to_string()),
            host_ip: GATEWAY.to_string(),
            start_time: self.start_time.clone(),
            sandbox_ready: self.sandbox_ready,
            initialized: self.view_initialized,
            init_failed: self.init_failed,
            init: self.init.iter().map(|s| s.status.clone()).collect(),
            main: self.main.iter().map(|s| s.status.clone()).collect(),
            policy: self.policy(),
        };
        let patch = status_patch(&view, &mut self.conds, &gates, &now_rfc3339());
        if self.last_patch.as_ref() == Some(&patch) {
            return;
        }
        let api: Api<Pod> = Api::namespaced(self.ctx.client.clone(), &self.ns);
        match api
            .patch_status(
                &self.name,
                &PatchParams::default(),
                &Patch::Strategic(patch.clone()),
            )
            .await
        {
            Ok(p) => {
                if p.metadata.uid.as_deref() == Some(self.uid.as_str()) {
                    self.pod.status = p.status;
                }
                self.last_patch = Some(patch);
            }
            Err(e) => log(&format!(
                "pod {}/{}: status update failed: {e}",
                self.ns, self.name
            )),
        }
    }

    /// Stops every container (preStop, SIGTERM, SIGKILL after the grace period), removes the
    /// sandbox, and for a deleted pod finishes the deletion.
    async fn finish(&mut self, end: End) {
        let grace = match end {
            End::Deleted => self.grace(),
            End::Gone | End::Shutdown => Duration::from_secs(5).min(self.ctx.grace_cap),
        };
        let pod_ip = self.ip.map(|i| i.to_string()).unwrap_or_default();
        let mut stops = Vec::new();
        for s in self.init.iter_mut().chain(self.main.iter_mut()) {
            if let Some(mut inst) = s.inst.take() {
                if let Some(p) = inst.probes.take() {
                    p.abort();
                }
                let hook = (end == End::Deleted)
                    .then(|| probes::pre_stop(&s.spec, &pod_ip))
                    .flatten();
                let name = s.spec.name.clone();
                let who = format!("{}/{}", self.ns, self.name);
                stops.push(tokio::spawn(async move {
                    stop_instance(inst, hook, grace, &who, &name).await;
                }));
            }
        }
        for s in stops {
            let _ = s.await;
        }
        net::delete_pod_net(&self.net).await;
        {
            let mut ipam = self.ctx.ipam.lock().await;
            ipam.release(&self.uid);
            let _ = ipam.save(&self.ctx.ipam_file());
        }
        let _ = std::fs::remove_dir_all(self.pod_dir());
        if end == End::Deleted {
            let api: Api<Pod> = Api::namespaced(self.ctx.client.clone(), &self.ns);
            let dp = DeleteParams {
                grace_period_seconds: Some(0),
                preconditions: Some(Preconditions {
                    uid: Some(self.uid.clone()),
                    resource_version: None,
                }),
                ..DeleteParams::default()
            };
            if let Err(e) = api.delete(&self.name, &dp).await {
                log(&format!("pod {}/{}: final delete: {e}", self.ns, self.name));
            }
        }
        log(&format!(
            "pod {}/{} ({}): done ({end:?})",
            self.ns, self.name, self.uid
        ));
    }
}

/// The host PID of the sandbox's `pod-init` (the only child of its `unshare`).
fn find_init(unshare_pid: i32) -> Option<i32> {
    std::fs::read_to_string(format!("/proc/{unshare_pid}/task/{unshare_pid}/children"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Signals the container: through `pod-init` (which forwards), or the whole group if it is not
/// there yet.
fn signal_container(pid: i32, init: Option<i32>, sig: Signal) {
    match init {
        Some(i) => {
            let _ = kill(Pid::from_raw(i), sig);
        }
        None => {
            let _ = kill(Pid::from_raw(-pid), sig);
        }
    }
}

async fn stop_instance(
    mut inst: Instance,
    hook: Option<Action>,
    grace: Duration,
    who: &str,
    name: &str,
) {
    let deadline = Instant::now() + grace;
    let mut exec = inst.exec.clone();
    if let Some(i) = find_init(inst.pid) {
        exec.init_pid = i;
    }
    if let Some(h) = hook {
        let r = probes::run(&h, Some(&exec), grace.max(Duration::from_secs(1))).await;
        log(&format!("pod {who}: container {name}: preStop hook: {r:?}"));
    }
    signal_container(inst.pid, find_init(inst.pid), Signal::SIGTERM);
    let left = deadline.saturating_duration_since(Instant::now());
    let timed_out = tokio::time::timeout(left, inst.exit.wait_for(Option::is_some))
        .await
        .is_err();
    if timed_out {
        log(&format!(
            "pod {who}: container {name} did not stop within {grace:?}; SIGKILL"
        ));
        let _ = kill(Pid::from_raw(-inst.pid), Signal::SIGKILL);
        let _ = tokio::time::timeout(Duration::from_secs(10), inst.exit.wait_for(Option::is_some))
            .await;
    }
}

async fn probe_loop(
    c: Container,
    pod_ip: String,
    pid: i32,
    mut exec: ExecTarget,
    idx: usize,
    no: u32,
    tx: mpsc::UnboundedSender<(usize, u32, ProbeEvent)>,
) {
    let send = |ev| {
        let _ = tx.send((idx, no, ev));
    };
    // Exec probes need pod-init's PID; it appears right after the sandbox forks.
    for _ in 0..50 {
        if let Some(i) = find_init(pid) {
            exec.init_pid = i;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if let Some(p) = &c.startup_probe
        && let Some(a) = probes::probe_action(&c, p, &pod_ip)
    {
        let t = probes::timing(p);
        let mut k = Tracker::new(false);
        tokio::time::sleep(t.initial_delay).await;
        loop {
            let ok = probes::run(&a, Some(&exec), t.timeout).await.is_ok();
            match k.record(ok, &t) {
                Some(true) => break,
                Some(false) => {
                    send(ProbeEvent::Kill("startup probe failed".to_owned()));
                    return;
                }
                None => {}
            }
            tokio::time::sleep(t.period).await;
        }
    }
    send(ProbeEvent::Started);
    let readiness = async {
        let Some((p, a)) = c
            .readiness_probe
            .as_ref()
            .and_then(|p| probes::probe_action(&c, p, &pod_ip).map(|a| (p, a)))
        else {
            send(ProbeEvent::Ready(true));
            return;
        };
        let t = probes::timing(p);
        let mut k = Tracker::new(false);
        tokio::time::sleep(t.initial_delay).await;
        loop {
            let ok = probes::run(&a, Some(&exec), t.timeout).await.is_ok();
            if let Some(v) = k.record(ok, &t) {
                send(ProbeEvent::Ready(v));
            }
            tokio::time::sleep(t.period).await;
        }
    };
    let liveness = async {
        let Some((p, a)) = c
            .liveness_probe
            .as_ref()
            .and_then(|p| probes::probe_action(&c, p, &pod_ip).map(|a| (p, a)))
        else {
            return;
        };
        let t = probes::timing(p);
        let mut k = Tracker::new(true);
        tokio::time::sleep(t.initial_delay).await;
        loop {
            let r = probes::run(&a, Some(&exec), t.timeout).await;
            if k.record(r.is_ok(), &t) == Some(false) {
                send(ProbeEvent::Kill(format!(
                    "liveness probe failed: {}",
                    r.err().unwrap_or_default()
                )));
                return;
            }
            tokio::time::sleep(t.period).await;
        }
    };
    tokio::join!(readiness, liveness);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writable_layer_is_sized_by_the_ephemeral_storage_limit() {
        let c = |limits: serde_json::Value| -> Container {
            serde_json::from_value(serde_json::json!({"name": "c", "resources": limits})).unwrap()
        };
        for (res, want) in [
            (serde_json::json!({}), None),
            (serde_json::json!({"limits": {"memory": "1Gi"}}), None),
            (
                serde_json::json!({"requests": {"ephemeral-storage": "1Gi"}}),
                None,
            ),
            (
                serde_json::json!({"limits": {"ephemeral-storage": "1Gi"}}),
                Some(1 << 30),
            ),
            (
                serde_json::json!({"limits": {"ephemeral-storage": "500M"}}),
                Some(500_000_000),
            ),
        ] {
            assert_eq!(ephemeral_storage_limit(&c(res.clone())), want, "{res}");
        }
    }

    #[test]
    fn restart_delays_are_capped_low() {
        let d: Vec<u64> = (0..7).map(|n| restart_delay(n).as_secs()).collect();
        assert_eq!(d, [1, 2, 4, 8, 10, 10, 10]);
    }
}
