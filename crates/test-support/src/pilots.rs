//! Pilot binaries run as host processes by tests and benchmarks: a process guard that stops a
//! pilot the way the kubelet does (SIGTERM, so the pilot stops its database too, then SIGKILL
//! after a grace period, or waited for with a limit), and the text a binary printed.

use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

/// A child process stopped when dropped: SIGTERM first (a pilot then stops its database; a
/// SIGKILLed pilot would leave the database running), SIGKILL once `grace` has passed.
pub struct TermOnDrop {
    /// The process.
    pub child: Child,
    /// How long the drop waits after SIGTERM before SIGKILL.
    pub grace: Duration,
}

impl TermOnDrop {
    /// Guards `child` with a SIGTERM grace period of `grace`.
    pub fn new(child: Child, grace: Duration) -> Self {
        Self { child, grace }
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM; true when `kill` succeeded.
    pub fn terminate(&self) -> bool {
        Command::new("kill")
            .args(["-TERM", &self.id().to_string()])
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Sends SIGTERM and waits (polling every 200 ms) for the exit; its exit code (`None`
    /// when a signal ended it). Panics when SIGTERM cannot be sent or the process is still
    /// running after `limit`.
    pub async fn stop(&mut self, limit: Duration) -> Option<i32> {
        assert!(self.terminate(), "SIGTERM to process {}", self.id());
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the process") {
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "process {} still running {} s after SIGTERM",
                self.id(),
                limit.as_secs()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for TermOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.terminate();
            let deadline = Instant::now() + self.grace;
            while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a finished process printed: its stdout, then its stderr (lossy UTF-8).
pub fn output_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
