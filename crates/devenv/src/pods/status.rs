//! The pod status the runner reports (PATCH `pods/<name>/status`), computed from what it knows
//! about the pod's containers. Pure.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// A container's state, as in `ContainerStatus.state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CState {
    /// Not running yet, or waiting to restart.
    Waiting {
        /// `ContainerCreating`, `PodInitializing`, `CrashLoopBackOff`, `ErrImagePull`, …
        reason: String,
        /// Details.
        message: Option<String>,
    },
    /// Running since `started_at`.
    Running {
        /// RFC 3339.
        started_at: String,
    },
    /// Exited.
    Terminated {
        /// Exit code (128 + signal when killed).
        exit_code: i32,
        /// `Completed` or `Error`.
        reason: String,
        /// RFC 3339.
        started_at: String,
        /// RFC 3339.
        finished_at: String,
    },
}

impl CState {
    /// The `state` object. Pure.
    #[must_use]
    pub fn to_json(&self) -> Value {
        match self {
            CState::Waiting { reason, message } => {
                let mut w = json!({"reason": reason});
                if let Some(m) = message {
                    w["message"] = json!(m);
                }
                json!({"waiting": w})
            }
            CState::Running { started_at } => json!({"running": {"startedAt": started_at}}),
            CState::Terminated {
                exit_code,
                reason,
                started_at,
                finished_at,
            } => json!({"terminated": {"exitCode": exit_code, "reason": reason,
                                        "startedAt": started_at, "finishedAt": finished_at}}),
        }
    }
}

/// What the runner knows about one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CStatus {
    /// Container name.
    pub name: String,
    /// Image reference.
    pub image: String,
    /// Current state.
    pub state: CState,
    /// The previous termination.
    pub last: Option<CState>,
    /// Restarts so far.
    pub restart_count: i32,
    /// Readiness.
    pub ready: bool,
    /// Startup probe passed (or none).
    pub started: bool,
    /// `devenv://<uid>/<name>/<n>` of the current or last instance.
    pub container_id: Option<String>,
}

impl CStatus {
    /// A container not started yet.
    #[must_use]
    pub fn new(name: &str, image: &str, reason: &str) -> Self {
        Self {
            name: name.to_owned(),
            image: image.to_owned(),
            state: CState::Waiting {
                reason: reason.to_owned(),
                message: None,
            },
            last: None,
            restart_count: 0,
            ready: false,
            started: false,
            container_id: None,
        }
    }

    fn to_json(&self) -> Value {
        let mut v = json!({
            "name": self.name,
            "image": self.image,
            "imageID": format!("devenv://{}", self.image),
            "state": self.state.to_json(),
            "lastState": self.last.as_ref().map_or_else(|| json!({}), CState::to_json),
            "ready": self.ready,
            "started": self.started,
            "restartCount": self.restart_count,
        });
        if let Some(id) = &self.container_id {
            v["containerID"] = json!(id);
        }
        v
    }

    fn is_running(&self) -> bool {
        matches!(self.state, CState::Running { .. })
    }
}

/// The pod's restart policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartPolicy {
    /// Restart always (default).
    Always,
    /// Restart on non-zero exit.
    OnFailure,
    /// Never restart.
    Never,
}

impl RestartPolicy {
    /// From `spec.restartPolicy`.
    #[must_use]
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("Never") => RestartPolicy::Never,
            Some("OnFailure") => RestartPolicy::OnFailure,
            _ => RestartPolicy::Always,
        }
    }

    /// Whether a container that exited with `code` is started again.
    #[must_use]
    pub fn restarts(self, code: i32) -> bool {
        match self {
            RestartPolicy::Always => true,
            RestartPolicy::OnFailure => code != 0,
            RestartPolicy::Never => false,
        }
    }
}

/// The whole pod as the runner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodView {
    /// Pod IP once the network exists.
    pub pod_ip: Option<String>,
    /// Node IP.
    pub host_ip: String,
    /// RFC 3339 time the runner took the pod on.
    pub start_time: String,
    /// The sandbox (network, volumes) is ready.
    pub sandbox_ready: bool,
    /// All init containers completed.
    pub initialized: bool,
    /// An init container failed for good (restartPolicy Never).
    pub init_failed: bool,
    /// Init containers.
    pub init: Vec<CStatus>,
    /// Containers.
    pub main: Vec<CStatus>,
    /// Restart policy.
    pub policy: RestartPolicy,
}

/// `Pending`, `Running`, `Succeeded` or `Failed`. Pure.
#[must_use]
pub fn phase(v: &PodView) -> &'static str {
    if v.init_failed {
        return "Failed";
    }
    if !v.initialized {
        return "Pending";
    }
    let terminated: Vec<i32> = v
        .main
        .iter()
        .filter_map(|c| match c.state {
            CState::Terminated { exit_code, .. } => Some(exit_code),
            _ => None,
        })
        .collect();
    if !v.main.is_empty() && terminated.len() == v.main.len() {
        let all_ok = terminated.iter().all(|c| *c == 0);
        match v.policy {
            RestartPolicy::Never if all_ok => return "Succeeded",
            RestartPolicy::Never => return "Failed",
            RestartPolicy::OnFailure if all_ok => return "Succeeded",
            _ => {}
        }
    }
    let ever_started = v
        .main
        .iter()
        .any(|c| c.is_running() || c.restart_count > 0 || !terminated.is_empty());
    if ever_started { "Running" } else { "Pending" }
}

/// Condition values and the time each last flipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conditions(pub BTreeMap<String, (bool, String)>);

impl Conditions {
    /// Sets `t` to `value`; the transition time changes only when the value flips. Pure.
    pub fn set(&mut self, t: &str, value: bool, now: &str) {
        match self.0.get(t) {
            Some((v, _)) if *v == value => {}
            _ => {
                self.0.insert(t.to_owned(), (value, now.to_owned()));
            }
        }
    }
}

/// Updates `conds` for `v` and returns the status patch. `gates` are the readiness gates'
/// condition types with their current values in the pod. Pure.
#[must_use]
pub fn status_patch(
    v: &PodView,
    conds: &mut Conditions,
    gates: &[(String, bool)],
    now: &str,
) -> Value {
    let containers_ready = v.initialized && !v.main.is_empty() && v.main.iter().all(|c| c.ready);
    let gates_ok = gates.iter().all(|(_, ok)| *ok);
    conds.set("PodReadyToStartContainers", v.sandbox_ready, now);
    conds.set("Initialized", v.initialized, now);
    conds.set("ContainersReady", containers_ready, now);
    conds.set("Ready", containers_ready && gates_ok, now);
    let conditions: Vec<Value> = conds
        .0
        .iter()
        .map(|(t, (val, at))| {
            // Explicit nulls: a strategic merge keeps fields the patch does not mention.
            let mut c = json!({"type": t, "status": if *val { "True" } else { "False" },
                               "lastProbeTime": null, "lastTransitionTime": at,
                               "reason": null, "message": null});
            if !*val && (t == "Ready" || t == "ContainersReady") {
                let not_ready: Vec<&str> = v
                    .main
                    .iter()
                    .filter(|c| !c.ready)
                    .map(|c| c.name.as_str())
                    .collect();
                if not_ready.is_empty() {
                    c["reason"] = json!("ReadinessGatesNotReady");
                } else {
                    c["reason"] = json!("ContainersNotReady");
                    c["message"] = json!(format!(
                        "containers with unready status: [{}]",
                        not_ready.join(" ")
                    ));
                }
            }
            if !*val && t == "Initialized" {
                c["reason"] = json!("ContainersNotInitialized");
            }
            c
        })
        .collect();
    let mut status = json!({
        "phase": phase(v),
        "hostIP": v.host_ip,
        "hostIPs": [{"ip": v.host_ip}],
        "startTime": v.start_time,
        "conditions": conditions,
        "containerStatuses": v.main.iter().map(CStatus::to_json).collect::<Vec<_>>(),
    });
    if !v.init.is_empty() {
        status["initContainerStatuses"] =
            json!(v.init.iter().map(CStatus::to_json).collect::<Vec<_>>());
    }
    if let Some(ip) = &v.pod_ip {
        status["podIP"] = json!(ip);
        status["podIPs"] = json!([{"ip": ip}]);
    }
    json!({"status": status})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> PodView {
        PodView {
            pod_ip: Some("10.244.0.12".into()),
            host_ip: "10.244.0.1".into(),
            start_time: "t0".into(),
            sandbox_ready: true,
            initialized: true,
            init_failed: false,
            init: vec![],
            main: vec![CStatus::new("c", "busybox", "ContainerCreating")],
            policy: RestartPolicy::Always,
        }
    }

    fn running(c: &mut CStatus) {
        c.state = CState::Running {
            started_at: "t1".into(),
        };
    }

    fn term(code: i32) -> CState {
        CState::Terminated {
            exit_code: code,
            reason: if code == 0 { "Completed" } else { "Error" }.into(),
            started_at: "t1".into(),
            finished_at: "t2".into(),
        }
    }

    #[test]
    fn phases() {
        let mut v = view();
        assert_eq!(phase(&v), "Pending");
        running(&mut v.main[0]);
        assert_eq!(phase(&v), "Running");
        v.main[0].state = term(0);
        assert_eq!(phase(&v), "Running", "Always restarts");
        v.policy = RestartPolicy::Never;
        assert_eq!(phase(&v), "Succeeded");
        v.main[0].state = term(1);
        assert_eq!(phase(&v), "Failed");
        v.policy = RestartPolicy::OnFailure;
        assert_eq!(phase(&v), "Running");
        v.initialized = false;
        assert_eq!(phase(&v), "Pending");
        v.init_failed = true;
        assert_eq!(phase(&v), "Failed");
    }

    #[test]
    fn ready_needs_ready_containers_and_gates_and_times_change_only_on_flips() {
        let mut v = view();
        running(&mut v.main[0]);
        let mut conds = Conditions::default();
        let p = status_patch(&v, &mut conds, &[], "t1");
        let ready = |p: &Value| {
            p["status"]["conditions"]
                .as_array()
                .and_then(|a| a.iter().find(|c| c["type"] == "Ready").cloned())
                .expect("Ready")
        };
        assert_eq!(ready(&p)["status"], "False");
        assert_eq!(ready(&p)["reason"], "ContainersNotReady");
        v.main[0].ready = true;
        let p = status_patch(&v, &mut conds, &[], "t2");
        assert_eq!(ready(&p)["status"], "True");
        assert_eq!(ready(&p)["lastTransitionTime"], "t2");
        let p = status_patch(&v, &mut conds, &[], "t3");
        assert_eq!(ready(&p)["lastTransitionTime"], "t2");
        let p = status_patch(&v, &mut conds, &[("g".into(), false)], "t4");
        assert_eq!(ready(&p)["status"], "False");
        assert_eq!(ready(&p)["reason"], "ReadinessGatesNotReady");
        assert_eq!(p["status"]["podIP"], "10.244.0.12");
        assert_eq!(p["status"]["phase"], "Running");
        assert_eq!(
            p["status"]["containerStatuses"][0]["state"]["running"]["startedAt"],
            "t1"
        );
    }

    #[test]
    fn restart_policies() {
        assert!(RestartPolicy::parse(None).restarts(0));
        assert!(RestartPolicy::parse(Some("OnFailure")).restarts(1));
        assert!(!RestartPolicy::parse(Some("OnFailure")).restarts(0));
        assert!(!RestartPolicy::parse(Some("Never")).restarts(1));
    }
}
