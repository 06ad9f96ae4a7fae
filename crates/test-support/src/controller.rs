//! `navigator-controller` as a process on the host for devenv end-to-end tests: started as the
//! cluster admin with a test's flags, its log appended across restarts, SIGKILLed and
//! restarted at will, its log's tail printed when the test panics.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::devenv::{self, Env, tail};

/// `navigator-controller` on the host as the cluster admin, without leader election (the test
/// is the only one running it, and a SIGKILLed leader's Lease would only delay the restart),
/// its metrics on a free loopback port, `RUST_LOG=info`, and the test's flags (the pilot
/// image, pilot arguments, grace period, …). Its log (`navigator-controller.log` in the
/// environment's work directory) is appended across restarts, each start marked
/// `=== e2e: start #n ===`. Killed on drop; the log's tail is printed then when the test is
/// panicking.
pub struct Controller {
    binary: PathBuf,
    kubeconfig: PathBuf,
    log: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
    starts: u32,
}

impl Controller {
    /// Starts the controller of this workspace's target directory (or `$NAVIGATOR_CONTROLLER`)
    /// against `env` with `args` (e.g. `--pilot-image=navigator-pilot:dev`); panics saying
    /// what to build when the binary is missing.
    pub fn start(env: &Env, args: &[&str]) -> Self {
        let mut c = Controller {
            binary: devenv::sibling_binary(
                "navigator-controller",
                "NAVIGATOR_CONTROLLER",
                "cargo build -p navigator-controller --bin navigator-controller",
            ),
            kubeconfig: env.admin(),
            log: env.work_dir().join("navigator-controller.log"),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            child: None,
            starts: 0,
        };
        c.spawn();
        c
    }

    /// A new controller process (after [`kill`](Self::kill); the previous one must be gone).
    pub fn spawn(&mut self) {
        assert!(
            self.child.is_none(),
            "navigator-controller is already running"
        );
        let port = crate::ports::free_port().expect("a free port for the metrics");
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("open the controller's log");
        self.starts += 1;
        writeln!(log, "=== e2e: start #{} ===", self.starts).expect("write the controller's log");
        self.child = Some(
            Command::new(&self.binary)
                .arg("--kubeconfig")
                .arg(&self.kubeconfig)
                .arg("--leader-elect=false")
                .arg(format!("--metrics-bind-address=127.0.0.1:{port}"))
                .args(&self.args)
                .env("RUST_LOG", "info")
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("clone the log's handle"))
                .stderr(log)
                .spawn()
                .expect("start navigator-controller"),
        );
    }

    /// SIGKILL (no clean-up at all) after a random 0–3 s (so that repeated runs hit different
    /// moments), then a new process; prints a TIMING line. Panics when the controller had
    /// exited by itself.
    pub fn crash_and_restart(&mut self, when: &str) {
        let jitter = Duration::from_millis(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| u64::from(d.subsec_nanos()) % 3_000),
        );
        std::thread::sleep(jitter);
        let t = Instant::now();
        self.kill(&format!("{when}, +{jitter:?}"));
        std::thread::sleep(Duration::from_secs(2));
        self.spawn();
        println!(
            "TIMING controller crash + restart {:.1}s",
            t.elapsed().as_secs_f64()
        );
    }

    /// SIGKILLs the controller now (no clean-up at all), for a test that goes on observing
    /// while it is down and [`spawn`](Self::spawn)s it again later. Panics when the controller
    /// had exited by itself.
    pub fn kill(&mut self, when: &str) {
        self.assert_running();
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL navigator-controller");
            child.wait().expect("reap navigator-controller");
        }
        println!("CONTROLLER SIGKILLed ({when})");
    }

    /// Whether a controller process is started (not killed).
    pub fn is_started(&self) -> bool {
        self.child.is_some()
    }

    /// Panics with the log's tail when the controller has exited by itself.
    pub fn assert_running(&mut self) {
        if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
            panic!(
                "navigator-controller exited by itself with {status}:\n{}",
                self.log_tail(80)
            );
        }
    }

    /// How many times the controller was started.
    pub fn starts(&self) -> u32 {
        self.starts
    }

    /// The controller's log file (all starts).
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The last `n` lines of the controller's log.
    pub fn log_tail(&self, n: usize) -> String {
        tail(&std::fs::read_to_string(&self.log).unwrap_or_default(), n)
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "--- navigator-controller log (last 150 lines) ---\n{}",
                self.log_tail(150)
            );
        }
    }
}
