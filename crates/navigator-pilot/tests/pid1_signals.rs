//! Real signals from the operating system: this test re-runs its own binary as a stand-in
//! pilot process (the same test, in "pilot mode" chosen by an environment variable), which
//! listens with `SignalEvents` and supervises a shell "database"; the test sends that process
//! SIGUSR1, SIGHUP and SIGTERM with kill(2). Each reaches the database, and the pilot process
//! exits with the database's status.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use navigator_pilot::StartCommand;
use navigator_pilot::supervisor::{SignalEvents, Supervisor, become_subreaper};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const PILOT_MODE: &str = "NAVIGATOR_PILOT_TEST_PILOT_MODE_DIR";
const TEST_NAME: &str = "real_signals_are_forwarded_and_the_exit_status_propagated";

/// The stand-in pilot: supervise, forward every signal, exit with the database's status.
fn pilot_mode(dir: &Path) -> ! {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let code = rt.block_on(async {
        become_subreaper().unwrap();
        let mut signals = SignalEvents::listen().unwrap();
        let script = format!(
            "for s in USR1 HUP; do trap \"echo $s >> {log}\" $s; done; \
             trap 'echo TERM >> {log}; exit 5' TERM; echo up > {ready}; \
             while :; do sleep 0.05; done",
            log = dir.join("log").display(),
            ready = dir.join("ready").display(),
        );
        let child = Supervisor::spawn(&StartCommand {
            program: "sh".into(),
            args: vec!["-c".into(), script],
            ..StartCommand::default()
        })
        .unwrap();
        loop {
            tokio::select! {
                code = child.wait() => break code,
                Some(sig) = signals.recv() => child.signal(sig).unwrap(),
            }
        }
    });
    std::process::exit(code)
}

fn wait_for(path: &Path, content: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(content) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} never held {content:?}: {text:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn real_signals_are_forwarded_and_the_exit_status_propagated() {
    if let Some(dir) = std::env::var_os(PILOT_MODE) {
        pilot_mode(Path::new(&dir));
    }
    let dir = tempfile::tempdir().unwrap();
    let mut pilot = Command::new(std::env::current_exe().unwrap())
        .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(PILOT_MODE, dir.path())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let pid = Pid::from_raw(i32::try_from(pilot.id()).unwrap());
    wait_for(&dir.path().join("ready"), "up");
    let log = dir.path().join("log");
    kill(pid, Signal::SIGUSR1).unwrap();
    wait_for(&log, "USR1");
    kill(pid, Signal::SIGHUP).unwrap();
    wait_for(&log, "HUP");
    kill(pid, Signal::SIGTERM).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = pilot.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = pilot.kill();
            panic!("the pilot did not exit after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(5), "{status}");
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "USR1\nHUP\nTERM\n");
}
