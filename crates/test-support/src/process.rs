//! Waiting for a process a test started to become ready: it answers, it exits first, or time
//! runs out.

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// How waiting for a started process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// `ready` said so.
    Ready,
    /// The process exited before that.
    Exited(ExitStatus),
    /// Neither within the timeout; the process is still running (the caller kills it).
    TimedOut,
}

/// Polls every `interval`: first whether `child` has exited, then `ready()`, until one holds or
/// `timeout` has passed.
pub fn await_ready(
    child: &mut Child,
    timeout: Duration,
    interval: Duration,
    mut ready: impl FnMut() -> bool,
) -> Readiness {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Readiness::Exited(status);
        }
        if ready() {
            return Readiness::Ready;
        }
        if Instant::now() > deadline {
            return Readiness::TimedOut;
        }
        std::thread::sleep(interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn tells_ready_exited_and_timed_out_apart() {
        let short = Duration::from_millis(200);
        let tick = Duration::from_millis(10);
        let mut sleeper = Command::new("sleep").arg("30").spawn().expect("sleep");
        assert_eq!(
            await_ready(&mut sleeper, short, tick, || true),
            Readiness::Ready
        );
        assert_eq!(
            await_ready(&mut sleeper, short, tick, || false),
            Readiness::TimedOut
        );
        let _ = sleeper.kill();
        let _ = sleeper.wait();
        let mut failing = Command::new("false").spawn().expect("false");
        let exited = await_ready(&mut failing, Duration::from_secs(10), tick, || false);
        assert!(
            matches!(exited, Readiness::Exited(status) if !status.success()),
            "{exited:?}"
        );
    }
}
