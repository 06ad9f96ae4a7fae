//! The pilot as a good PID 1: it starts the database as a child in its own process group,
//! forwards signals to it, reaps every zombie (orphans are re-parented to PID 1, or to the pilot
//! as a child subreaper when it is not PID 1), restarts nothing, and reports the child's exit
//! status (`128 + signal` when a signal killed it).
//!
//! One reaper thread per process blocks in `waitpid(-1)` and hands the status of a supervised
//! child to its [`Supervisor`]; every other child it reaps is an orphan (logged at debug level).
//! So nothing else in the pilot may wait on child processes of its own.

use std::collections::HashMap;
use std::os::unix::process::CommandExt as _;
use std::process::{Command, Stdio};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;
use tokio::sync::watch;

use crate::adapter::StartCommand;

/// The signals the pilot forwards to the database as they come (SIGTERM gets the graceful
/// stop first; see the runtime).
pub const FORWARDED_SIGNALS: [Signal; 5] = [
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

/// Starting or signalling the database process failed.
#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    /// The process could not be started.
    #[error("starting {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A signal could not be delivered.
    #[error("sending {signal} to process {pid}: {source}")]
    Signal {
        /// The signal.
        signal: Signal,
        /// The process.
        pid: i32,
        /// The underlying error.
        #[source]
        source: Errno,
    },
    /// Becoming a child subreaper failed.
    #[error("becoming a child subreaper: {0}")]
    Subreaper(Errno),
    /// Listening for signals failed.
    #[error("listening for {signal}: {source}")]
    Listen {
        /// The signal.
        signal: Signal,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// The exit code a wait status stands for: the exit status, or `128 + signal`.
pub fn exit_code(status: WaitStatus) -> Option<i32> {
    match status {
        WaitStatus::Exited(_, code) => Some(code),
        WaitStatus::Signaled(_, signal, _) => Some(128 + signal as i32),
        _ => None,
    }
}

/// The process-wide reaper: supervised children by pid, and a wake-up for the reaper thread
/// when it has no children to wait for.
struct Reaper {
    children: Mutex<HashMap<i32, watch::Sender<Option<i32>>>>,
    spawned: Condvar,
}

static REAPER: OnceLock<Reaper> = OnceLock::new();

fn reaper() -> &'static Reaper {
    REAPER.get_or_init(|| {
        let spawn = std::thread::Builder::new()
            .name("pilot-reaper".into())
            .spawn(reap_forever);
        if let Err(e) = spawn {
            tracing::error!(error = %e, "could not start the reaper thread; zombies will pile up");
        }
        Reaper {
            children: Mutex::new(HashMap::new()),
            spawned: Condvar::new(),
        }
    })
}

fn reap_forever() {
    let reaper = reaper();
    loop {
        match waitpid(Pid::from_raw(-1), None) {
            Ok(status) => {
                let Some(pid) = status.pid() else { continue };
                let Some(code) = exit_code(status) else {
                    continue;
                };
                let sender = reaper
                    .children
                    .lock()
                    .map(|mut children| children.remove(&pid.as_raw()))
                    .unwrap_or_else(|poisoned| poisoned.into_inner().remove(&pid.as_raw()));
                match sender {
                    Some(tx) => {
                        tracing::info!(pid = pid.as_raw(), code, "database process exited");
                        let _ = tx.send(Some(code));
                    }
                    None => tracing::debug!(pid = pid.as_raw(), code, "reaped an orphan"),
                }
            }
            Err(Errno::EINTR) => {}
            Err(_) => {
                // ECHILD: no children. Sleep until one is spawned, or a second passes (orphans
                // can be re-parented to us at any time).
                let guard = reaper
                    .children
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                let _ = reaper.spawned.wait_timeout(guard, Duration::from_secs(1));
            }
        }
    }
}

/// Makes this process the reaper of orphaned descendants even when it is not PID 1
/// (`PR_SET_CHILD_SUBREAPER`).
pub fn become_subreaper() -> Result<(), SupervisorError> {
    nix::sys::prctl::set_child_subreaper(true).map_err(SupervisorError::Subreaper)
}

/// The supervised database process (clones share it).
#[derive(Clone, Debug)]
pub struct Supervisor {
    pid: Pid,
    exit: watch::Receiver<Option<i32>>,
}

impl Supervisor {
    /// Starts `cmd` as a child in its own process group, with stdin closed and stdout/stderr
    /// shared with the pilot (the container's log).
    pub fn spawn(cmd: &StartCommand) -> Result<Self, SupervisorError> {
        let reaper = reaper();
        let mut command = Command::new(&cmd.program);
        command
            .args(&cmd.args)
            .envs(cmd.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .process_group(0);
        if let Some(dir) = &cmd.current_dir {
            command.current_dir(dir);
        }
        // Registered under the lock, so the reaper cannot take the child's status first.
        let mut children = reaper
            .children
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let child = command.spawn().map_err(|source| SupervisorError::Spawn {
            program: cmd.program.display().to_string(),
            source,
        })?;
        let raw = i32::try_from(child.id()).unwrap_or(i32::MAX);
        // The std handle is dropped without waiting: the reaper thread waits for every child.
        drop(child);
        let (tx, exit) = watch::channel(None);
        children.insert(raw, tx);
        drop(children);
        reaper.spawned.notify_all();
        tracing::info!(pid = raw, program = %cmd.program.display(), "database process started");
        Ok(Self {
            pid: Pid::from_raw(raw),
            exit,
        })
    }

    /// The child's process id.
    pub fn pid(&self) -> i32 {
        self.pid.as_raw()
    }

    /// Sends `signal` to the child (not to its group). A child that already exited is not an
    /// error.
    pub fn signal(&self, signal: Signal) -> Result<(), SupervisorError> {
        if self.exit_code().is_some() {
            return Ok(());
        }
        match kill(self.pid, signal) {
            Ok(()) | Err(Errno::ESRCH) => Ok(()),
            Err(source) => Err(SupervisorError::Signal {
                signal,
                pid: self.pid.as_raw(),
                source,
            }),
        }
    }

    /// The exit code, once the child has exited.
    pub fn exit_code(&self) -> Option<i32> {
        *self.exit.borrow()
    }

    /// Waits for the child to exit and returns its exit code. Cancel-safe.
    pub async fn wait(&self) -> i32 {
        let mut exit = self.exit.clone();
        match exit.wait_for(Option::is_some).await {
            Ok(code) => code.unwrap_or(255),
            // The reaper dropped the sender without a status: only if the process vanished.
            Err(_) => 255,
        }
    }
}

/// A stream of the signals the pilot handles: SIGTERM and [`FORWARDED_SIGNALS`].
pub struct SignalEvents {
    rx: tokio::sync::mpsc::UnboundedReceiver<Signal>,
}

impl SignalEvents {
    /// Starts listening. From then on these signals no longer have their default action.
    pub fn listen() -> Result<Self, SupervisorError> {
        use tokio::signal::unix::{SignalKind, signal};
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        for sig in std::iter::once(Signal::SIGTERM).chain(FORWARDED_SIGNALS) {
            let mut stream = signal(SignalKind::from_raw(sig as i32)).map_err(|source| {
                SupervisorError::Listen {
                    signal: sig,
                    source,
                }
            })?;
            let tx = tx.clone();
            tokio::spawn(async move {
                while stream.recv().await.is_some() {
                    if tx.send(sig).is_err() {
                        break;
                    }
                }
            });
        }
        Ok(Self { rx })
    }

    /// Signals from a channel instead of the process (tests, embedding).
    pub fn from_channel(rx: tokio::sync::mpsc::UnboundedReceiver<Signal>) -> Self {
        Self { rx }
    }

    /// The next signal received.
    pub async fn recv(&mut self) -> Option<Signal> {
        self.rx.recv().await
    }
}
