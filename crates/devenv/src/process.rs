//! PID files and stopping processes by PID — only processes whose command line shows they are
//! ours (the expected program, run for this state directory), so a recycled PID is never hit.

use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// An error with a PID file.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// Writing or removing the PID file failed.
    #[error("cannot write {path}")]
    PidFile {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// What [`stop`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// The process was not running (or the PID belongs to someone else now).
    NotRunning,
    /// It exited after SIGTERM.
    Terminated,
    /// It had to be killed with SIGKILL after the grace period.
    Killed,
}

/// Reads a PID file; `None` if absent or not a PID.
#[must_use]
pub fn read_pid(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path)
        .ok()?
        .trim()
        .parse()
        .ok()
        .filter(|p: &i32| *p > 0)
}

/// Writes a PID file.
///
/// # Errors
/// [`ProcessError::PidFile`] if writing fails.
pub fn write_pid(path: &Path, pid: u32) -> Result<(), ProcessError> {
    crate::pki::write_file(path, format!("{pid}\n").as_bytes(), false).map_err(|source| {
        ProcessError::PidFile {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// Removes a PID file if present.
pub fn remove_pid(path: &Path) {
    let _ = std::fs::remove_file(path);
}

/// The command line of a live (non-zombie) process.
#[must_use]
pub fn cmdline(pid: i32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The state is the first field after the parenthesised command name.
    let state = stat.rsplit_once(')')?.1.split_whitespace().next()?;
    if state == "Z" || state == "X" {
        return None;
    }
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        raw.split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect(),
    )
}

/// Whether `cmdline` is `program` (by file name) run with an argument mentioning `state_dir`. Pure.
#[must_use]
pub fn is_ours(cmdline: &[String], program: &str, state_dir: &Path) -> bool {
    let Some(argv0) = cmdline.first() else {
        return false;
    };
    let name_matches = Path::new(argv0).file_name().is_some_and(|n| n == program);
    let dir = state_dir.to_string_lossy();
    name_matches && cmdline.iter().skip(1).any(|a| a.contains(dir.as_ref()))
}

/// Whether `pid` is alive and ours (see [`is_ours`]).
#[must_use]
pub fn is_running(pid: i32, program: &str, state_dir: &Path) -> bool {
    cmdline(pid).is_some_and(|c| is_ours(&c, program, state_dir))
}

/// Stops `pid` if it is ours: SIGTERM, then SIGKILL after `grace`. Blocks until it is gone.
#[must_use]
pub fn stop(pid: i32, program: &str, state_dir: &Path, grace: Duration) -> Stopped {
    if !is_running(pid, program, state_dir) {
        return Stopped::NotRunning;
    }
    let target = Pid::from_raw(pid);
    let _ = kill(target, Signal::SIGTERM);
    if wait_gone(pid, grace) {
        return Stopped::Terminated;
    }
    let _ = kill(target, Signal::SIGKILL);
    let _ = wait_gone(pid, Duration::from_secs(10));
    Stopped::Killed
}

/// Waits until `pid` is gone (or a zombie); `false` on timeout.
#[must_use]
pub fn wait_gone(pid: i32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cmdline(pid).is_none() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn ours_needs_the_program_and_the_state_dir() {
        let dir = Path::new("/tmp/st");
        assert!(is_ours(
            &v(&["/c/k8s/etcd", "--data-dir=/tmp/st/etcd"]),
            "etcd",
            dir
        ));
        assert!(!is_ours(
            &v(&["/c/k8s/etcd", "--data-dir=/other/etcd"]),
            "etcd",
            dir
        ));
        assert!(!is_ours(&v(&["/usr/bin/vim", "/tmp/st/x"]), "etcd", dir));
        assert!(!is_ours(&v(&["/tmp/st/etcd"]), "etcd", dir));
        assert!(!is_ours(&[], "etcd", dir));
    }

    #[test]
    fn stop_terminates_a_child_of_ours_and_ignores_strangers() {
        let dir = tempfile::tempdir().expect("tempdir");
        // `sh -c '…' <dir>`: the dir is $0 of the script, so the command line mentions it. The
        // script does not end in `sleep`, so the shell cannot exec into it.
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg("sleep 30; true")
            .arg(dir.path())
            .spawn()
            .expect("spawn");
        let pid = i32::try_from(child.id()).expect("pid");
        // Right after fork the child's command line is still this test's; wait for the exec.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !is_running(pid, "sh", dir.path()) {
            assert!(
                std::time::Instant::now() < deadline,
                "sh never showed up as pid {pid}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let other_dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            stop(pid, "sh", other_dir.path(), Duration::from_secs(1)),
            Stopped::NotRunning
        );
        // Reap concurrently so the process does not linger as a zombie of this test.
        let reaper = std::thread::spawn(move || child.wait());
        assert_eq!(
            stop(pid, "sh", dir.path(), Duration::from_secs(5)),
            Stopped::Terminated
        );
        reaper.join().expect("join").expect("wait");
        assert!(!is_running(pid, "sh", dir.path()));
    }

    #[test]
    fn pid_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("x.pid");
        assert_eq!(read_pid(&p), None);
        write_pid(&p, 42).expect("write");
        assert_eq!(read_pid(&p), Some(42));
        remove_pid(&p);
        assert_eq!(read_pid(&p), None);
    }
}
