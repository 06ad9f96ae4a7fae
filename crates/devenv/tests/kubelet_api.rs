//! devenv's kubelet API end to end, with the real kubectl through the real kube-apiserver:
//! `kubectl logs` (plain, `-c`, `--tail`, `-f` reading lines as they come, `--previous` after a
//! restart), `kubectl exec` (stdout, stderr, stdin, exit code; `-it` on a pty; kubectl's SPDY
//! fallback), `kubectl port-forward` to a server bound to the pod's loopback, and the TLS rules
//! (no client certificate: refused; a cluster-CA certificate other than kube-apiserver's: 403).
//!
//! `#[ignore]`d (needs root, the Go-built binaries, python3, curl); run by `hack/test-devenv` or
//! `flock /tmp/devenv.lock cargo test -p devenv --test kubelet_api -- --ignored --nocapture`.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use devenv::layout::Layout;
use serde_json::{Value, json};
use test_support::devenv::{Env, EnvOptions, output_with_stdin};

const NS: &str = "kubelet-test";

/// devenv's layout of the environment's state (its PKI).
fn layout(env: &Env) -> Layout {
    Layout::new(env.state_dir().canonicalize().unwrap())
}

/// kubectl as the admin with `stdin` and extra environment variables; its whole output.
fn kubectl_env(env: &Env, args: &[&str], stdin: Option<&str>, vars: &[(&str, &str)]) -> Output {
    let mut command = env.kubectl_command(args);
    command.envs(vars.iter().copied());
    output_with_stdin(command, stdin)
}

/// Polls `f` until it returns `Ok` (test-support's, without extra context).
fn eventually<T>(what: &str, timeout: Duration, f: impl FnMut() -> Result<T, String>) -> T {
    test_support::devenv::eventually(what, timeout, String::new, f)
}

/// [`kubectl_env`] without extra variables.
fn kubectl(env: &Env, args: &[&str], stdin: Option<&str>) -> Output {
    kubectl_env(env, args, stdin, &[])
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Kills and reaps a child when dropped (kubectl -f, port-forward).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn pods() -> Value {
    let sh = |name: &str, script: &str| json!({"name": name, "image": "busybox", "command": ["sh", "-c", script]});
    json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "talker", "namespace": NS},
         "spec": {"terminationGracePeriodSeconds": 1, "containers": [
            sh("first", "echo first-1; echo first-2; echo first-3; n=0; while true; do n=$((n+1)); echo tick-$n; sleep 0.3; done"),
            sh("second", "echo second-only; exec sleep 100000"),
            sh("web", "echo hello-from-pod > /tmp/index.html && exec python3 -m http.server 8080 --bind 127.0.0.1 --directory /tmp"),
         ]}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "crasher", "namespace": NS},
         "spec": {"terminationGracePeriodSeconds": 1, "containers": [
            sh("c", "echo run-$(cat /proc/sys/kernel/random/uuid); sleep 2; exit 1"),
         ]}},
    ]})
}

#[test]
#[ignore = "devenv group: needs root, the Go-built Kubernetes binaries, python3 and curl; run hack/test-devenv"]
fn kubelet_api_serves_kubectl() {
    let env = Env::up(EnvOptions::new("devenv-kubelet"));
    env.k(&["create", "namespace", NS]);
    eventually("default ServiceAccount", Duration::from_secs(30), || {
        env.get(&["get", "serviceaccount", "default", "-n", NS])
            .map(|_| ())
    });
    let out = kubectl(&env, &["apply", "-f", "-"], Some(&pods().to_string()));
    assert!(out.status.success(), "apply: {:?}", text(&out));
    eventually("talker Ready", Duration::from_secs(60), || {
        let p = env.get(&["get", "pod", "talker", "-n", NS])?;
        let ready = p["status"]["containerStatuses"]
            .as_array()
            .is_some_and(|a| a.len() == 3 && a.iter().all(|c| c["ready"] == true));
        ready.then_some(()).ok_or_else(|| "not ready".to_owned())
    });

    tls_rules(&env);
    logs(&env);
    exec(&env);
    port_forward(&env);
    previous(&env);
}

fn curl(env: &Env, cert: Option<&str>) -> Output {
    let l = layout(env);
    let mut c = Command::new("curl");
    c.args(["-sS", "--max-time", "10", "--cacert"])
        .arg(l.pki("ca.crt"));
    if let Some(stem) = cert {
        c.arg("--cert")
            .arg(l.pki(&format!("{stem}.crt")))
            .arg("--key")
            .arg(l.pki(&format!("{stem}.key")));
    }
    c.args(["-w", "\n%{http_code}", "https://10.244.0.1:10250/healthz"]);
    c.output()
        .unwrap_or_else(|e| panic!("curl (install it: apt-get install curl): {e}"))
}

fn tls_rules(env: &Env) {
    let none = curl(env, None);
    assert!(
        !none.status.success(),
        "no client certificate must be refused: {:?}",
        text(&none)
    );
    let admin = curl(env, Some("admin"));
    assert!(
        text(&admin).0.ends_with("\n403"),
        "another cluster-CA client certificate gets 403: {:?}",
        text(&admin)
    );
    let apiserver = curl(env, Some("apiserver-kubelet-client"));
    assert_eq!(text(&apiserver).0, "ok\n200", "{:?}", text(&apiserver));
}

fn logs(env: &Env) {
    let second = env.k(&["logs", "talker", "-c", "second", "-n", NS]);
    assert_eq!(second, "second-only\n");
    let limited = env.k(&[
        "logs",
        "talker",
        "-c",
        "second",
        "-n",
        NS,
        "--limit-bytes=5",
    ]);
    assert_eq!(limited, "secon");
    let first = env.k(&["logs", "talker", "-c", "first", "-n", NS]);
    assert!(
        first.starts_with("first-1\nfirst-2\nfirst-3\ntick-1\n"),
        "{first}"
    );
    assert!(!first.contains("=== devenv"), "no runner markers: {first}");
    // Wait for a third tick, so the last two lines are ticks.
    eventually("three ticks", Duration::from_secs(10), || {
        let all = env.k(&["logs", "talker", "-c", "first", "-n", NS]);
        all.contains("tick-3\n").then_some(()).ok_or(all)
    });
    let tail = env.k(&["logs", "talker", "-c", "first", "-n", NS, "--tail=2"]);
    let lines: Vec<&str> = tail.lines().collect();
    assert_eq!(lines.len(), 2, "{tail}");
    let n = |l: &str| {
        l.strip_prefix("tick-")
            .and_then(|x| x.parse::<u32>().ok())
            .unwrap_or_else(|| panic!("not a tick line: {l:?}"))
    };
    assert_eq!(n(lines[1]), n(lines[0]) + 1, "{tail}");
    // Without -c in a pod with several containers kubectl asks for one (its own rule), so -c is
    // what picks the file; a missing container is the API's 400/404.
    let missing = kubectl(env, &["logs", "talker", "-c", "nope", "-n", NS], None);
    assert!(!missing.status.success());

    // -f: lines arrive as the container writes them (one every 0.3 s), then we stop reading.
    let mut child = Killed(
        env.kubectl_command(&["logs", "-f", "talker", "-c", "first", "-n", NS, "--tail=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines() {
            let Ok(l) = l else { break };
            if tx.send((Instant::now(), l)).is_err() {
                break;
            }
        }
    });
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while got.len() < 6 {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(x) => got.push(x),
            Err(_) => break,
        }
    }
    drop(child);
    assert!(got.len() >= 6, "kubectl logs -f gave {got:?}");
    let ticks: Vec<u32> = got.iter().map(|(_, l)| n(l)).collect();
    assert!(
        ticks.windows(2).all(|w| w[1] == w[0] + 1),
        "consecutive: {ticks:?}"
    );
    let spread = got[5].0 - got[1].0;
    assert!(
        spread >= Duration::from_millis(800),
        "lines came as written, not at once: {spread:?}"
    );
    eprintln!("TIMING kubectl logs -f: 4 lines over {spread:.1?} (written every 0.3 s)");
}

fn exec(env: &Env) {
    let t = Instant::now();
    let out = kubectl(
        env,
        &[
            "exec",
            "talker",
            "-c",
            "second",
            "-n",
            NS,
            "--",
            "sh",
            "-c",
            "echo out; echo err >&2; hostname",
        ],
        None,
    );
    let (o, e) = text(&out);
    assert!(out.status.success(), "{o} {e}");
    assert_eq!(o, "out\ntalker\n");
    assert!(e.contains("err"), "{e}");
    eprintln!(
        "TIMING kubectl exec (WebSocket → SPDY): {:.1?}",
        t.elapsed()
    );
    let out = kubectl(
        env,
        &[
            "exec", "-i", "talker", "-c", "second", "-n", NS, "--", "tr", "a-z", "A-Z",
        ],
        Some("hello\nworld\n"),
    );
    assert_eq!(text(&out).0, "HELLO\nWORLD\n", "{:?}", text(&out));
    let out = kubectl(
        env,
        &[
            "exec", "talker", "-c", "second", "-n", NS, "--", "sh", "-c", "exit 3",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(3), "{:?}", text(&out));
    // The container's PID namespace: its command is PID 1's child there (pod-init is PID 1).
    let ps = env.k(&[
        "exec",
        "talker",
        "-c",
        "second",
        "-n",
        NS,
        "--",
        "cat",
        "/proc/1/comm",
    ]);
    assert_eq!(ps.trim(), "devenv", "pod-init is PID 1: {ps}");

    // A client that goes away takes its command with it.
    let cmdlines = || {
        env.k(&[
            "exec",
            "talker",
            "-c",
            "second",
            "-n",
            NS,
            "--",
            "sh",
            "-c",
            "cat /proc/[0-9]*/cmdline | tr '\\0' ' '",
        ])
    };
    let child = Killed(
        env.kubectl_command(&[
            "exec", "talker", "-c", "second", "-n", NS, "--", "sleep", "4242",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap(),
    );
    eventually("sleep 4242 running", Duration::from_secs(10), || {
        let c = cmdlines();
        c.contains("sleep 4242").then_some(()).ok_or(c)
    });
    drop(child);
    eventually(
        "sleep 4242 gone with its client",
        Duration::from_secs(10),
        || {
            let c = cmdlines();
            (!c.contains("sleep 4242")).then_some(()).ok_or(c)
        },
    );

    // kubectl's SPDY fallback (no WebSocket): the apiserver passes the upgrade through.
    let spdy = [("KUBECTL_REMOTE_COMMAND_WEBSOCKETS", "false")];
    let out = kubectl_env(
        env,
        &[
            "exec",
            "-i",
            "talker",
            "-c",
            "second",
            "-n",
            NS,
            "--",
            "sh",
            "-c",
            "cat; echo e >&2; exit 5",
        ],
        Some("via-spdy\n"),
        &spdy,
    );
    let (o, e) = text(&out);
    assert_eq!(o, "via-spdy\n", "{e}");
    assert!(e.contains('e'), "{e}");
    assert_eq!(out.status.code(), Some(5), "{e}");

    // -it on a pseudo-terminal (kubectl itself runs on one made by python's pty module).
    for env_pairs in [&[][..], &spdy[..]] {
        let kubeconfig = layout(env).admin_kubeconfig();
        let argv = json!([
            env.bin_dir().join("kubectl").to_string_lossy(),
            "--kubeconfig",
            kubeconfig.to_string_lossy(),
            "exec",
            "-it",
            "talker",
            "-c",
            "second",
            "-n",
            NS,
            "--",
            "sh",
            "-c",
            "tty; stty size; exit 7"
        ]);
        // A 33x111 terminal for kubectl; the container's pty gets that size.
        let code = format!(
            "import fcntl, os, pty, struct, sys, termios\n\
             argv = {argv}\n\
             pid, fd = pty.fork()\n\
             if pid == 0:\n    \
                 fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', 33, 111, 0, 0))\n    \
                 os.execv(argv[0], argv)\n\
             out = b''\n\
             while True:\n    \
                 try:\n        d = os.read(fd, 4096)\n    \
                 except OSError:\n        break\n    \
                 if not d:\n        break\n    \
                 out += d\n\
             _, status = os.waitpid(pid, 0)\n\
             sys.stdout.write(out.decode(errors='replace'))\n\
             sys.exit(os.waitstatus_to_exitcode(status))\n"
        );
        let mut child = Command::new("python3")
            .args(["-c", &code])
            .envs(env_pairs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        let status = child.wait().unwrap();
        assert!(
            out.contains("/dev/pts/"),
            "tty inside: {out:?} ({env_pairs:?})"
        );
        assert!(
            out.contains("33 111"),
            "the terminal's size: {out:?} ({env_pairs:?})"
        );
        assert_eq!(status.code(), Some(7), "{out:?} ({env_pairs:?})");
    }
}

fn port_forward(env: &Env) {
    // kubectl's default (a WebSocket tunnel of SPDY to kube-apiserver) and its SPDY fallback.
    for (local, env_pairs) in [
        (18080, &[][..]),
        (18082, &[("KUBECTL_PORT_FORWARD_WEBSOCKETS", "false")][..]),
    ] {
        let mut child = Killed(
            env.kubectl_command(&[
                "port-forward",
                "-n",
                NS,
                "pod/talker",
                &format!("{local}:8080"),
            ])
            .envs(env_pairs.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
        );
        let mut line = String::new();
        BufReader::new(child.0.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(
            line.contains(&format!("Forwarding from 127.0.0.1:{local}")),
            "{line}"
        );
        let t = Instant::now();
        for _ in 0..3 {
            let out = Command::new("curl")
                .args(["-sS", "--max-time", "10"])
                .arg(format!("http://127.0.0.1:{local}/index.html"))
                .output()
                .unwrap();
            assert_eq!(
                text(&out).0,
                "hello-from-pod\n",
                "{:?} ({env_pairs:?})",
                text(&out)
            );
        }
        eprintln!(
            "TIMING 3 HTTP requests through kubectl port-forward ({env_pairs:?}): {:.1?}",
            t.elapsed()
        );
    }
    // 5 MiB in with `kubectl cp` (tar over exec's stdin), back out through port-forward.
    let scratch = tempfile::tempdir().unwrap();
    let big: Vec<u8> = (0..5u32 << 20)
        .map(|i| u8::try_from(i.wrapping_mul(2_654_435_761) >> 24).unwrap())
        .collect();
    let src = scratch.path().join("big.bin");
    std::fs::write(&src, &big).unwrap();
    let t = Instant::now();
    let out = kubectl(
        env,
        &[
            "cp",
            &src.to_string_lossy(),
            &format!("{NS}/talker:/tmp/big.bin"),
            "-c",
            "web",
        ],
        None,
    );
    assert!(out.status.success(), "kubectl cp: {:?}", text(&out));
    eprintln!(
        "TIMING kubectl cp of 5 MiB into a container: {:.1?}",
        t.elapsed()
    );
    let mut child = Killed(
        env.kubectl_command(&["port-forward", "-n", NS, "pod/talker", "18083:8080"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let dst = scratch.path().join("back.bin");
    let t = Instant::now();
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "60", "-o"])
        .arg(&dst)
        .arg("http://127.0.0.1:18083/big.bin")
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(
        std::fs::read(&dst).unwrap() == big,
        "5 MiB came back intact"
    );
    eprintln!(
        "TIMING 5 MiB through kubectl port-forward: {:.1?}",
        t.elapsed()
    );
    drop(child);

    // Nothing listens on 9999 in the pod: the connection fails, kubectl is told why.
    let mut child = Killed(
        env.kubectl_command(&["port-forward", "-n", NS, "pod/talker", "18081:9999"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "http://127.0.0.1:18081/"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "{:?}", text(&out));
    let _ = child.0.kill();
    let mut err = String::new();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(
        err.contains("9999"),
        "kubectl reports the pod's refusal: {err}"
    );
}

fn previous(env: &Env) {
    eventually("crasher restarted", Duration::from_secs(90), || {
        let p = env.get(&["get", "pod", "crasher", "-n", NS])?;
        let n = p["status"]["containerStatuses"][0]["restartCount"]
            .as_i64()
            .unwrap_or(0);
        (n >= 1).then_some(()).ok_or(format!("restartCount {n}"))
    });
    let (prev, cur) = eventually("previous and current logs", Duration::from_secs(30), || {
        let prev = kubectl(env, &["logs", "crasher", "-n", NS, "--previous"], None);
        let cur = kubectl(env, &["logs", "crasher", "-n", NS], None);
        let (p, c) = (text(&prev).0, text(&cur).0);
        (prev.status.success() && p.starts_with("run-") && c.starts_with("run-"))
            .then_some((p, c))
            .ok_or(format!("{:?} {:?}", text(&prev), text(&cur)))
    });
    assert_eq!(prev.lines().count(), 1, "{prev}");
    // -f ends by itself when the followed instance ends (the container exits after 2 s).
    let t = Instant::now();
    let mut child = env
        .kubectl_command(&["logs", "-f", "crasher", "-n", NS])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let mut stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        let _ = tx.send(s);
    });
    let followed = rx.recv_timeout(Duration::from_secs(30));
    let _ = child.kill();
    let _ = child.wait();
    let followed = followed.expect("kubectl logs -f of a container that exits did not end");
    assert!(followed.starts_with("run-"), "{followed}");
    eprintln!(
        "TIMING kubectl logs -f ended with its instance after {:.1?}",
        t.elapsed()
    );

    // The same name, a new pod: its logs are its own, and it has no previous instance yet.
    env.k(&["delete", "pod", "crasher", "-n", NS, "--wait=true"]);
    let out = kubectl(env, &["apply", "-f", "-"], Some(&pods().to_string()));
    assert!(out.status.success(), "apply: {:?}", text(&out));
    let fresh = eventually("the new crasher's log", Duration::from_secs(60), || {
        let p = env.get(&["get", "pod", "crasher", "-n", NS])?;
        let n = p["status"]["containerStatuses"][0]["restartCount"].as_i64();
        let cur = kubectl(env, &["logs", "crasher", "-n", NS], None);
        let c = text(&cur).0;
        (n == Some(0) && c.starts_with("run-"))
            .then_some(c)
            .ok_or(format!("restartCount {n:?}, log {:?}", text(&cur)))
    });
    assert_eq!(
        fresh.lines().count(),
        1,
        "only the new pod's output: {fresh}"
    );
    assert!(!fresh.contains(prev.trim()) && !fresh.contains(cur.trim()));
    // Right after its first start the new pod has no previous instance; should it have restarted
    // meanwhile (first back-off 1-2 s), its previous is its own first run, never the old pod's.
    let p = kubectl(env, &["logs", "crasher", "-n", NS, "--previous"], None);
    let (p_out, p_err) = text(&p);
    if p.status.success() {
        assert_eq!(p_out, fresh, "the new pod's own first run: {p_err}");
    } else {
        assert!(p_err.contains("previous terminated container"), "{p_err}");
    }
    assert_ne!(prev, cur, "previous is the instance before the current one");
}
