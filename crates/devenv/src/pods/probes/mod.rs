//! Probes and lifecycle hooks: httpGet and tcpSocket from the host to the pod's IP, exec through
//! `nsenter` into the container's namespaces and root. The threshold bookkeeping is pure
//! ([`Tracker`]); the actions are thin.

mod tls;

use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, ExecAction, HTTPGetAction, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// What a probe or hook does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// HTTP GET `path` on `host:port`; 200–399 succeeds.
    Http {
        /// Address.
        host: String,
        /// Port.
        port: u16,
        /// Path and query.
        path: String,
        /// `scheme: HTTPS`: over TLS, the certificate not verified (as the kubelet does).
        https: bool,
    },
    /// TCP connect.
    Tcp {
        /// Address.
        host: String,
        /// Port.
        port: u16,
    },
    /// A command in the container; exit 0 succeeds.
    Exec {
        /// argv.
        command: Vec<String>,
    },
}

/// The probe's timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Before the first probe.
    pub initial_delay: Duration,
    /// Between probes.
    pub period: Duration,
    /// Per probe.
    pub timeout: Duration,
    /// Consecutive failures that count.
    pub failure_threshold: u32,
    /// Consecutive successes that count.
    pub success_threshold: u32,
}

fn secs(v: Option<i32>, default: i32) -> Duration {
    Duration::from_secs(u64::try_from(v.unwrap_or(default).max(0)).unwrap_or(0))
}

fn count(v: Option<i32>, default: i32) -> u32 {
    u32::try_from(v.unwrap_or(default).max(1)).unwrap_or(1)
}

/// The timing of `p`, with Kubernetes' defaults. Pure.
#[must_use]
pub fn timing(p: &Probe) -> Timing {
    Timing {
        initial_delay: secs(p.initial_delay_seconds, 0),
        period: secs(p.period_seconds, 10).max(Duration::from_secs(1)),
        timeout: secs(p.timeout_seconds, 1).max(Duration::from_secs(1)),
        failure_threshold: count(p.failure_threshold, 3),
        success_threshold: count(p.success_threshold, 1),
    }
}

fn port_of(c: &Container, port: &IntOrString) -> Option<u16> {
    match port {
        IntOrString::Int(i) => u16::try_from(*i).ok(),
        IntOrString::String(name) => name.parse().ok().or_else(|| {
            c.ports
                .iter()
                .flatten()
                .find(|p| p.name.as_deref() == Some(name.as_str()))
                .and_then(|p| u16::try_from(p.container_port).ok())
        }),
    }
}

fn http_action(c: &Container, h: &HTTPGetAction, pod_ip: &str) -> Option<Action> {
    Some(Action::Http {
        host: h
            .host
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| pod_ip.to_owned()),
        port: port_of(c, &h.port)?,
        path: h
            .path
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "/".to_owned()),
        https: h
            .scheme
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("https")),
    })
}

fn exec_action(e: &ExecAction) -> Action {
    Action::Exec {
        command: e.command.clone().unwrap_or_default(),
    }
}

/// The action of a probe. Pure. `None` when the probe names no usable handler (grpc is probed
/// as TCP).
#[must_use]
pub fn probe_action(c: &Container, p: &Probe, pod_ip: &str) -> Option<Action> {
    if let Some(h) = &p.http_get {
        return http_action(c, h, pod_ip);
    }
    if let Some(t) = &p.tcp_socket {
        return Some(Action::Tcp {
            host: t
                .host
                .clone()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| pod_ip.to_owned()),
            port: port_of(c, &t.port)?,
        });
    }
    if let Some(e) = &p.exec {
        return Some(exec_action(e));
    }
    if let Some(g) = &p.grpc {
        return Some(Action::Tcp {
            host: pod_ip.to_owned(),
            port: u16::try_from(g.port).ok()?,
        });
    }
    None
}

/// The container's preStop hook, if any. Pure.
#[must_use]
pub fn pre_stop(c: &Container, pod_ip: &str) -> Option<Action> {
    let h = c.lifecycle.as_ref()?.pre_stop.as_ref()?;
    if let Some(e) = &h.exec {
        return Some(exec_action(e));
    }
    if let Some(g) = &h.http_get {
        return http_action(c, g, pod_ip);
    }
    if let Some(s) = &h.sleep {
        return Some(Action::Exec {
            command: vec!["sleep".to_owned(), s.seconds.to_string()],
        });
    }
    None
}

/// How to enter a container for exec actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecTarget {
    /// Host PID of the container's `pod-init` (PID 1 of its namespace).
    pub init_pid: i32,
    /// User.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// The container's environment.
    pub env: Vec<(String, String)>,
}

/// The host argv of an exec action: `nsenter` into every namespace and the root of the
/// container, `setpriv` to its user, `env -i` with its environment. Pure.
#[must_use]
pub fn exec_argv(t: &ExecTarget, command: &[String]) -> Vec<String> {
    let mut v = vec![
        "nsenter".to_owned(),
        format!("--target={}", t.init_pid),
        "--mount".to_owned(),
        "--uts".to_owned(),
        "--ipc".to_owned(),
        "--net".to_owned(),
        "--pid".to_owned(),
        "--root".to_owned(),
        "--wd".to_owned(),
        "--".to_owned(),
        "/usr/bin/setpriv".to_owned(),
        format!("--reuid={}", t.uid),
        format!("--regid={}", t.gid),
        "--clear-groups".to_owned(),
        "--".to_owned(),
        "/usr/bin/env".to_owned(),
        "-i".to_owned(),
    ];
    v.extend(t.env.iter().map(|(k, val)| format!("{k}={val}")));
    v.extend(command.iter().cloned());
    v
}

/// Runs `a` once within `timeout`: `Ok(())` on success, `Err(reason)` otherwise.
///
/// # Errors
/// Why it failed, for messages.
pub async fn run(a: &Action, exec: Option<&ExecTarget>, timeout: Duration) -> Result<(), String> {
    let work = async {
        match a {
            Action::Tcp { host, port } => TcpStream::connect((host.as_str(), *port))
                .await
                .map(|_| ())
                .map_err(|e| format!("dial tcp {host}:{port}: {e}")),
            Action::Http {
                host,
                port,
                path,
                https,
            } => http_get(host, *port, path, *https).await,
            Action::Exec { command } => {
                let Some(t) = exec else {
                    return Err("container not running".to_owned());
                };
                let argv = exec_argv(t, command);
                let out = tokio::process::Command::new(&argv[0])
                    .args(&argv[1..])
                    .stdin(std::process::Stdio::null())
                    .kill_on_drop(true)
                    .output()
                    .await
                    .map_err(|e| format!("exec: {e}"))?;
                if out.status.success() {
                    Ok(())
                } else {
                    Err(format!(
                        "command {:?} exited with {}: {}",
                        command,
                        out.status,
                        String::from_utf8_lossy(&out.stdout).trim()
                    ))
                }
            }
        }
    };
    tokio::time::timeout(timeout, work)
        .await
        .unwrap_or_else(|_| Err(format!("timed out after {timeout:?}")))
}

async fn http_get(host: &str, port: u16, path: &str, https: bool) -> Result<(), String> {
    let s = TcpStream::connect((host, port))
        .await
        .map_err(|e| format!("dial tcp {host}:{port}: {e}"))?;
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: kube-probe/1.37\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    let buf = if https {
        let config = tls::client_config().map_err(|e| e.to_string())?;
        let name = rustls::pki_types::ServerName::try_from(host.to_owned())
            .map_err(|e| format!("{host}: {e}"))?;
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, s)
            .await
            .map_err(|e| format!("TLS handshake with {host}:{port}: {e}"))?;
        exchange(tls, &req).await?
    } else {
        exchange(s, &req).await?
    };
    let head = String::from_utf8_lossy(&buf[..buf.len().min(64)]);
    let code: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("not an HTTP response: {head:?}"))?;
    if (200..400).contains(&code) {
        Ok(())
    } else {
        Err(format!("HTTP probe failed with statuscode: {code}"))
    }
}

/// Writes `req` and reads the whole (bounded) response, so the server is not reset mid-write.
async fn exchange<S>(mut s: S, req: &str) -> Result<Vec<u8>, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    s.write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    let _ = (&mut s).take(1 << 20).read_to_end(&mut buf).await;
    Ok(buf)
}

/// Consecutive-result bookkeeping of one probe. Pure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracker {
    successes: u32,
    failures: u32,
    /// The current verdict.
    pub passing: bool,
}

impl Tracker {
    /// A tracker whose verdict starts at `initial` (liveness: true; readiness, startup: false).
    #[must_use]
    pub fn new(initial: bool) -> Self {
        Self {
            successes: 0,
            failures: 0,
            passing: initial,
        }
    }

    /// Records one result. Returns `Some(true)` when the success threshold turns a failing
    /// verdict into passing, `Some(false)` each time consecutive failures reach the failure
    /// threshold, else `None`.
    pub fn record(&mut self, ok: bool, t: &Timing) -> Option<bool> {
        if ok {
            self.successes = self.successes.saturating_add(1);
            self.failures = 0;
            if !self.passing && self.successes >= t.success_threshold {
                self.passing = true;
                return Some(true);
            }
        } else {
            self.failures = self.failures.saturating_add(1);
            self.successes = 0;
            if self.failures == t.failure_threshold {
                self.passing = false;
                return Some(false);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c() -> Container {
        serde_json::from_value(serde_json::json!({
            "name": "c", "ports": [{"name": "http", "containerPort": 8080}],
            "lifecycle": {"preStop": {"exec": {"command": ["sh", "-c", "echo bye"]}}}
        }))
        .expect("container")
    }

    #[test]
    fn actions_resolve_named_ports_and_default_to_the_pod_ip() {
        let p: Probe = serde_json::from_value(
            serde_json::json!({"httpGet": {"port": "http"}, "periodSeconds": 2}),
        )
        .expect("probe");
        assert_eq!(
            probe_action(&c(), &p, "10.244.0.12"),
            Some(Action::Http {
                host: "10.244.0.12".into(),
                port: 8080,
                path: "/".into(),
                https: false,
            })
        );
        let https: Probe = serde_json::from_value(
            serde_json::json!({"httpGet": {"port": 6443, "path": "/livez", "scheme": "HTTPS"}}),
        )
        .expect("probe");
        assert_eq!(
            probe_action(&c(), &https, "10.244.0.12"),
            Some(Action::Http {
                host: "10.244.0.12".into(),
                port: 6443,
                path: "/livez".into(),
                https: true,
            })
        );
        let t = timing(&p);
        assert_eq!(t.period, Duration::from_secs(2));
        assert_eq!(t.failure_threshold, 3);
        assert_eq!(t.timeout, Duration::from_secs(1));
        assert_eq!(
            pre_stop(&c(), "x"),
            Some(Action::Exec {
                command: vec!["sh".into(), "-c".into(), "echo bye".into()]
            })
        );
    }

    #[test]
    fn exec_enters_the_container() {
        let t = ExecTarget {
            init_pid: 42,
            uid: 1,
            gid: 2,
            env: vec![("A".into(), "b".into())],
        };
        let argv = exec_argv(&t, &["cat".to_owned(), "/x".to_owned()]);
        assert_eq!(argv[0], "nsenter");
        assert!(argv.contains(&"--target=42".to_owned()));
        assert!(argv.contains(&"--root".to_owned()));
        assert_eq!(&argv[argv.len() - 3..], ["A=b", "cat", "/x"]);
    }

    #[test]
    fn tracker_thresholds() {
        let t = Timing {
            initial_delay: Duration::ZERO,
            period: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            failure_threshold: 2,
            success_threshold: 2,
        };
        let mut k = Tracker::new(false);
        assert_eq!(k.record(true, &t), None);
        assert_eq!(k.record(true, &t), Some(true));
        assert_eq!(k.record(true, &t), None);
        assert_eq!(k.record(false, &t), None);
        assert_eq!(k.record(false, &t), Some(false));
        assert_eq!(k.record(false, &t), None);
        let mut live = Tracker::new(true);
        assert_eq!(live.record(false, &t), None);
        assert_eq!(live.record(false, &t), Some(false));
    }
}
