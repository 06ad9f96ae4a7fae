//! `/exec/{namespace}/{pod}/{container}?command=…&input&output&error&tty` over SPDY
//! (`v4.channel.k8s.io`): the client opens an `error` stream and, as asked, `stdin`, `stdout`,
//! `stderr` (not with a tty) and `resize` (with a tty); the command runs through `nsenter` in
//! the container's namespaces and root (as exec probes do), on a pseudo-terminal with `tty`;
//! its exit is reported on the error stream as a `Status` (Success, or NonZeroExitCode with an
//! ExitCode cause), then every stream is finished and the session ends.

use std::collections::BTreeMap;
use std::os::fd::{AsRawFd as _, OwnedFd};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::{mpsc, watch};

use super::spdy::headers::get;
use super::spdy::session::{Session, Stream, Writer};
use crate::pods::probes::{ExecTarget, exec_argv};

/// The remote-command protocol this kubelet speaks.
pub const PROTOCOL: &str = "v4.channel.k8s.io";

/// What an exec request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOptions {
    /// argv.
    pub command: Vec<String>,
    /// A stdin stream.
    pub stdin: bool,
    /// A stdout stream.
    pub stdout: bool,
    /// A stderr stream (never with a tty).
    pub stderr: bool,
    /// A pseudo-terminal (and a resize stream).
    pub tty: bool,
}

impl ExecOptions {
    /// The options of `req`'s query. Pure.
    #[must_use]
    pub fn from_request(req: &super::http::Request) -> Self {
        let tty = req.flag("tty");
        Self {
            command: req.params("command"),
            stdin: req.flag("input"),
            stdout: req.flag("output"),
            stderr: req.flag("error") && !tty,
            tty,
        }
    }

    /// The stream types the client opens. Pure.
    #[must_use]
    pub fn expected_streams(&self) -> Vec<&'static str> {
        let mut v = vec!["error"];
        for (on, t) in [
            (self.stdin, "stdin"),
            (self.stdout, "stdout"),
            (self.stderr, "stderr"),
            (self.tty, "resize"),
        ] {
            if on {
                v.push(t);
            }
        }
        v
    }
}

/// The `Status` a kubelet writes on the error stream for exit `code`. Pure.
#[must_use]
pub fn exit_status(code: i32, command: &[String]) -> serde_json::Value {
    if code == 0 {
        return json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"});
    }
    json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": format!(
            "command terminated with non-zero exit code: error executing command {command:?}, exit code {code}"
        ),
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
    })
}

/// A `Status` for an exec that could not run. Pure.
#[must_use]
pub fn failure_status(message: &str) -> serde_json::Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": "InternalError", "code": 500})
}

/// The sizes in a resize stream's data — concatenated `{"Width":w,"Height":h}` objects — and
/// how many bytes they used (an incomplete last object waits for more data). Pure.
#[must_use]
pub fn resizes(data: &[u8]) -> (Vec<(u16, u16)>, usize) {
    let mut it = serde_json::Deserializer::from_slice(data).into_iter::<serde_json::Value>();
    let mut sizes = Vec::new();
    let mut used = 0;
    while let Some(Ok(v)) = it.next() {
        used = it.byte_offset();
        let n = |k: &str| v.get(k).and_then(serde_json::Value::as_u64);
        if let (Some(w), Some(h)) = (n("Width"), n("Height"))
            && let (Ok(w), Ok(h)) = (u16::try_from(w), u16::try_from(h))
        {
            sizes.push((w, h));
        }
    }
    (sizes, used)
}

/// Waits (up to 30 s) for the streams `opts` needs and accepts each.
async fn collect(session: &mut Session, opts: &ExecOptions) -> Option<BTreeMap<String, Stream>> {
    let want = opts.expected_streams();
    let mut got = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while got.len() < want.len() {
        let s = tokio::time::timeout_at(deadline, session.incoming.recv())
            .await
            .ok()??;
        session.writer.reply(s.id);
        let kind = get(&s.headers, "streamtype").unwrap_or_default().to_owned();
        got.insert(kind, s);
    }
    Some(got)
}

/// Runs the exec on an upgraded session.
pub async fn serve(mut session: Session, target: ExecTarget, opts: ExecOptions) {
    let Some(mut streams) = collect(&mut session, &opts).await else {
        session.writer.go_away();
        return;
    };
    let w = session.writer.clone();
    let ids: Vec<u32> = streams.values().map(|s| s.id).collect();
    let error_id = streams.get("error").map(|s| s.id);
    let status = run(&w, &mut streams, &target, &opts, session.closed.clone()).await;
    if let Some(id) = error_id {
        w.data(id, status.to_string().as_bytes());
    }
    for id in ids {
        w.finish(id);
    }
    w.go_away();
}

async fn pump<R: AsyncRead + Unpin>(mut r: R, w: Writer, id: u32) {
    let mut buf = vec![0u8; 32 * 1024];
    // A pty's master reads EIO once the last process holding the terminal is gone.
    while let Ok(n) = r.read(&mut buf).await {
        if n == 0 {
            break;
        }
        w.data(id, &buf[..n]);
    }
}

async fn feed<W: tokio::io::AsyncWrite + Unpin>(
    mut dst: W,
    mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
    close: bool,
) {
    while let Some(d) = rx.recv().await {
        if dst.write_all(&d).await.is_err() || dst.flush().await.is_err() {
            return;
        }
    }
    if close {
        let _ = dst.shutdown().await;
    }
}

async fn run(
    w: &Writer,
    streams: &mut BTreeMap<String, Stream>,
    target: &ExecTarget,
    opts: &ExecOptions,
    closed: watch::Receiver<bool>,
) -> serde_json::Value {
    let argv = exec_argv(target, &opts.command);
    if opts.tty {
        return run_tty(w, streams, argv, opts, closed).await;
    }
    let pipe = |on: bool| if on { Stdio::piped() } else { Stdio::null() };
    let child = tokio::process::Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(pipe(streams.contains_key("stdin")))
        .stdout(pipe(streams.contains_key("stdout")))
        .stderr(pipe(streams.contains_key("stderr")))
        .process_group(0)
        .kill_on_drop(true)
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return failure_status(&format!("exec: {e}")),
    };
    if let (Some(stdin), Some(s)) = (child.stdin.take(), streams.remove("stdin")) {
        tokio::spawn(feed(stdin, s.data, true));
    }
    let mut outs = Vec::new();
    if let (Some(o), Some(s)) = (child.stdout.take(), streams.get("stdout")) {
        outs.push(tokio::spawn(pump(o, w.clone(), s.id)));
    }
    if let (Some(o), Some(s)) = (child.stderr.take(), streams.get("stderr")) {
        outs.push(tokio::spawn(pump(o, w.clone(), s.id)));
    }
    let Some(code) = wait(&mut child, closed).await else {
        return failure_status("the client went away");
    };
    for o in outs {
        let _ = o.await;
    }
    exit_status(code, &opts.command)
}

/// The child's exit code, or `None` when the client went first: then the child's process group
/// (nsenter and the command in the container) is killed.
async fn wait(child: &mut tokio::process::Child, mut closed: watch::Receiver<bool>) -> Option<i32> {
    tokio::select! {
        r = child.wait() => Some(r.map(|s| {
            s.code().unwrap_or_else(|| {
                128 + std::os::unix::process::ExitStatusExt::signal(&s).unwrap_or(9)
            })
        })
        .unwrap_or(128)),
        () = async {
            let _ = closed.wait_for(|c| *c).await;
        } => {
            // The command is in nsenter's process group (its own, or setsid's session with a tty).
            match child.id().and_then(|p| i32::try_from(p).ok()) {
                Some(pid) => {
                    let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
                }
                None => {
                    let _ = child.start_kill();
                }
            }
            let _ = child.wait().await;
            None
        }
    }
}

fn stty(slave: &PathBuf, (width, height): (u16, u16)) {
    let _ = std::process::Command::new("stty")
        .arg("-F")
        .arg(slave)
        .args(["rows", &height.to_string(), "cols", &width.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

async fn run_tty(
    w: &Writer,
    streams: &mut BTreeMap<String, Stream>,
    argv: Vec<String>,
    opts: &ExecOptions,
    closed: watch::Receiver<bool>,
) -> serde_json::Value {
    // kubectl sends the terminal's size first: the pty is made with it when it comes soon.
    let mut resize = streams.remove("resize").map(|s| s.data);
    let mut pending = Vec::new();
    let mut initial = None;
    if let Some(rx) = resize.as_mut() {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
        while initial.is_none() {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(d)) => {
                    pending.extend_from_slice(&d);
                    let (sizes, used) = resizes(&pending);
                    pending.drain(..used);
                    initial = sizes.last().copied();
                }
                Ok(None) | Err(_) => break,
            }
        }
    }
    let winsize = initial.map(|(cols, rows)| nix::pty::Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    });
    let pty = match nix::pty::openpty(winsize.as_ref(), None) {
        Ok(p) => p,
        Err(e) => return failure_status(&format!("openpty: {e}")),
    };
    let slave_path =
        std::fs::read_link(format!("/proc/self/fd/{}", pty.slave.as_raw_fd())).unwrap_or_default();
    let stdio = |fd: &OwnedFd| fd.try_clone().map(Stdio::from);
    let spawned = (|| {
        let (i, o, e) = (stdio(&pty.slave)?, stdio(&pty.slave)?, stdio(&pty.slave)?);
        // `setsid --ctty`: a new session whose controlling terminal is the pty.
        tokio::process::Command::new("setsid")
            .args(["--ctty", "--wait", "--"])
            .args(&argv)
            .stdin(i)
            .stdout(o)
            .stderr(e)
            .kill_on_drop(true)
            .spawn()
    })();
    drop(pty.slave);
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => return failure_status(&format!("exec: {e}")),
    };
    let master = std::fs::File::from(pty.master);
    let reader = master.try_clone().map(tokio::fs::File::from_std);
    let writer = tokio::fs::File::from_std(master);
    if let Some(mut rx) = resize {
        let path = slave_path.clone();
        tokio::spawn(async move {
            while let Some(d) = rx.recv().await {
                pending.extend_from_slice(&d);
                let (sizes, used) = resizes(&pending);
                pending.drain(..used);
                for size in sizes {
                    let p = path.clone();
                    let _ = tokio::task::spawn_blocking(move || stty(&p, size)).await;
                }
            }
        });
    }
    if let Some(s) = streams.remove("stdin") {
        tokio::spawn(feed(writer, s.data, false));
    }
    let out = match (reader, streams.get("stdout")) {
        (Ok(r), Some(s)) => Some(tokio::spawn(pump(r, w.clone(), s.id))),
        _ => None,
    };
    let Some(code) = wait(&mut child, closed).await else {
        return failure_status("the client went away");
    };
    if let Some(o) = out {
        let _ = tokio::time::timeout(Duration::from_secs(2), o).await;
    }
    exit_status(code, &opts.command)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kubelet::http::{Request, parse_query};

    fn req(q: &str) -> Request {
        Request {
            method: "POST".into(),
            path: "/exec/a/b/c".into(),
            query: parse_query(q),
            headers: vec![],
        }
    }

    #[test]
    fn streams_follow_the_query() {
        let cases = [
            (
                "command=ls&output=1&error=1",
                vec!["error", "stdout", "stderr"],
            ),
            (
                "command=sh&input=1&output=1&error=1&tty=1",
                vec!["error", "stdin", "stdout", "resize"],
            ),
            ("command=true", vec!["error"]),
        ];
        for (q, want) in cases {
            assert_eq!(
                ExecOptions::from_request(&req(q)).expected_streams(),
                want,
                "{q}"
            );
        }
        assert_eq!(
            ExecOptions::from_request(&req("command=sh&command=-c&command=exit+3")).command,
            ["sh", "-c", "exit 3"]
        );
    }

    #[test]
    fn statuses() {
        assert_eq!(exit_status(0, &[])["status"], "Success");
        let f = exit_status(3, &["sh".to_owned()]);
        assert_eq!(f["status"], "Failure");
        assert_eq!(f["reason"], "NonZeroExitCode");
        assert_eq!(f["details"]["causes"][0]["reason"], "ExitCode");
        assert_eq!(f["details"]["causes"][0]["message"], "3");
        assert_eq!(failure_status("x")["status"], "Failure");
    }

    #[test]
    fn resize_messages() {
        type Case = (&'static [u8], Vec<(u16, u16)>, usize);
        let cases: [Case; 4] = [
            (
                br#"{"Width":80,"Height":24}{"Width":100,"Height":30}"#,
                vec![(80, 24), (100, 30)],
                49,
            ),
            (br#"{"Width":80,"Height":24}{"Width":1"#, vec![(80, 24)], 24),
            (br#"{"Width":80,"Hei"#, vec![], 0),
            (br#"{"Width":80}"#, vec![], 12),
        ];
        for (data, sizes, used) in cases {
            assert_eq!(
                resizes(data),
                (sizes, used),
                "{}",
                String::from_utf8_lossy(data)
            );
        }
    }
}
