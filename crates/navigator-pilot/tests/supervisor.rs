//! The supervisor with real processes: exit statuses (plain and by signal) come back as exit
//! codes, signals reach the child, and orphans the child leaves behind are reaped (the test
//! process is made a child subreaper, as PID 1 would be their parent in a container).
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use navigator_pilot::StartCommand;
use navigator_pilot::supervisor::{SignalEvents, Supervisor, become_subreaper};
use nix::sys::signal::Signal;

fn sh(script: &str) -> StartCommand {
    StartCommand {
        program: "sh".into(),
        args: vec!["-c".into(), script.into()],
        env: vec![],
        current_dir: None,
    }
}

async fn wait_for_file(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && !text.is_empty()
        {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{} never written",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait(sup: &Supervisor) -> i32 {
    tokio::time::timeout(Duration::from_secs(10), sup.wait())
        .await
        .expect("the child did not exit within 10s")
}

/// `State:` of a process from /proc, `None` once it is gone (reaped).
fn proc_state(pid: i32) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("State:"))
        .map(|s| s.trim().to_owned())
}

#[tokio::test]
async fn exit_status_is_propagated() {
    let cases = [
        ("exit 0", 0),
        ("exit 7", 7),
        // Killed by a signal: 128 + signal, like a shell reports it.
        ("kill -KILL $$", 128 + 9),
        ("kill -TERM $$", 128 + 15),
    ];
    for (script, want) in cases {
        let sup = Supervisor::spawn(&sh(script)).unwrap();
        assert_eq!(wait(&sup).await, want, "{script}");
        assert_eq!(sup.exit_code(), Some(want));
    }
}

#[tokio::test]
async fn a_program_that_cannot_start_is_an_error() {
    let err = Supervisor::spawn(&StartCommand {
        program: "/nonexistent/database".into(),
        ..StartCommand::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("/nonexistent/database"), "{err}");
}

#[tokio::test]
async fn signals_reach_the_child() {
    // As the pilot does before it starts the database: its handlers replace any disposition
    // inherited from whoever started the tests (`nohup` ignores SIGHUP, and a non-interactive
    // shell cannot trap a signal that was ignored when it started), so the child starts with
    // the default actions.
    let _signals = SignalEvents::listen().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let got = dir.path().join("got");
    let ready = dir.path().join("ready");
    for (signal, name, code) in [
        (Signal::SIGUSR1, "USR1", 11),
        (Signal::SIGHUP, "HUP", 12),
        (Signal::SIGTERM, "TERM", 13),
    ] {
        let _ = std::fs::remove_file(&got);
        let _ = std::fs::remove_file(&ready);
        let script = format!(
            "trap 'echo {name} > {got}; exit {code}' {name}; echo up > {ready}; \
             while :; do sleep 0.05; done",
            got = got.display(),
            ready = ready.display()
        );
        let mut cmd = sh(&script);
        cmd.current_dir = Some(dir.path().to_owned());
        cmd.env = vec![("PILOT_TEST".into(), "1".into())];
        let sup = Supervisor::spawn(&cmd).unwrap();
        wait_for_file(&ready).await;
        sup.signal(signal).unwrap();
        assert_eq!(wait(&sup).await, code, "{name}");
        assert_eq!(wait_for_file(&got).await.trim(), name);
        // Signalling an exited child is not an error.
        sup.signal(signal).unwrap();
    }
}

#[tokio::test]
async fn orphans_are_reaped() {
    become_subreaper().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    // The child starts three background processes in a subshell that exits at once, so they
    // are re-parented to us; they end after 0.3 s and must not stay zombies. The child itself
    // lives on for a while, so they are not its children when they die.
    let script = format!(
        "(for i in 1 2 3; do sleep 0.3 & echo $! >> {pids}; done); sleep 2",
        pids = pids.display()
    );
    let sup = Supervisor::spawn(&sh(&script)).unwrap();
    wait_for_file(&pids).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let orphans: Vec<i32> = std::fs::read_to_string(&pids)
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert_eq!(orphans.len(), 3);
    let me = std::process::id().to_string();
    for pid in &orphans {
        // Re-parented to this process (the subreaper) while they run.
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            let ppid = stat.lines().find_map(|l| l.strip_prefix("PPid:")).unwrap();
            assert_eq!(ppid.trim(), me, "orphan {pid} not re-parented to the pilot");
        }
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    for pid in orphans {
        while let Some(state) = proc_state(pid) {
            assert!(
                Instant::now() < deadline,
                "orphan {pid} not reaped (state {state})"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // The database child is still running and still ours.
    assert_eq!(sup.exit_code(), None);
    sup.signal(Signal::SIGKILL).unwrap();
    assert_eq!(wait(&sup).await, 137);
}
