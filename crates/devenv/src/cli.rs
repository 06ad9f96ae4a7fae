//! The `devenv` command line: `up`, `down`, `status`, `env` (and the internal `supervise`).

use std::fs;
use std::io::{BufRead as _, BufReader};
use std::net::IpAddr;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

use crate::binaries::{self, Binaries, BinariesError};
use crate::components::{ClusterSettings, Component};
use crate::kubeconfig::{self, Kubeconfig};
use crate::layout::Layout;
use crate::pki::{self, PkiError};
use crate::probe;
use crate::process::{self, Stopped};
use crate::state::{self, StateError, StateFile};
use crate::supervisor::{self, STOP_GRACE, SupervisorError};

/// An error of a `devenv` command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The upstream binaries are missing.
    #[error(transparent)]
    Binaries(#[from] BinariesError),
    /// The PKI could not be made.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// `state.json` could not be read or written.
    #[error(transparent)]
    State(#[from] StateError),
    /// The supervisor failed.
    #[error(transparent)]
    Supervisor(#[from] SupervisorError),
    /// A file or directory of the state directory could not be written.
    #[error("cannot write {path}")]
    Write {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// No state directory was given and `HOME` is unset.
    #[error("HOME is not set; pass --state-dir")]
    NoStateDir,
    /// `up` was asked for settings different from the existing environment's.
    #[error(
        "the environment in {0} was created with other addresses; run `devenv down --purge` first"
    )]
    SettingsChanged(PathBuf),
    /// The environment's ports are taken by other processes.
    #[error(
        "ports {ports:?} of the environment in {dir} are in use (a previous run still going? \
         try `devenv down`; or `devenv down --purge` for new ports)"
    )]
    PortsInUse {
        /// The state directory.
        dir: PathBuf,
        /// The busy ports.
        ports: Vec<u16>,
    },
    /// The environment has not been prepared (`devenv up` never ran here).
    #[error("no environment in {0}; run `devenv up`")]
    NoEnvironment(PathBuf),
    /// The background supervisor could not be started or died while starting.
    #[error("the supervisor failed to start the control plane: {0}")]
    StartFailed(String),
    /// Building the runtime failed.
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
    /// Some processes survived `down`.
    #[error("processes still running after down: {0:?}")]
    Leftovers(Vec<i32>),
}

/// `devenv`: a local Kubernetes control plane built from the upstream Go modules.
#[derive(Debug, Parser)]
#[command(name = "devenv", version, about)]
pub struct Cli {
    /// The state directory (PKI, kubeconfigs, etcd data, logs, PID files).
    /// Default: $HOME/.local/state/navigator/devenv.
    #[arg(long, env = "DEVENV_STATE_DIR", global = true)]
    pub state_dir: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// A `devenv` subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Prepare the state directory and start etcd, kube-apiserver, kube-controller-manager and
    /// kube-scheduler; return when all are ready (or, with --foreground, run until Ctrl-C).
    Up(UpArgs),
    /// Stop every process the environment started (by PID); --purge also deletes the state.
    Down {
        /// Also delete the state directory (certificates, etcd data, logs).
        #[arg(long)]
        purge: bool,
    },
    /// Show each component's PID and readiness; exit status 0 only when all are ready.
    Status,
    /// Print `KUBECONFIG=…` (and related variables) for `export $(devenv env)`.
    Env,
    /// Run the supervisor in this process (what `up` starts in the background).
    #[command(hide = true)]
    Supervise {
        /// Per-component readiness timeout in seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
        /// Pod runner options.
        #[command(flatten)]
        pods: PodArgs,
    },
    /// Run one container's sandbox (started by the pod runner inside the pod's namespaces).
    #[command(hide = true)]
    PodInit {
        /// The sandbox spec (JSON).
        spec: PathBuf,
    },
}

/// Options of the pod runner.
#[derive(Debug, Clone, clap::Args)]
pub struct PodArgs {
    /// Nodes the pod runner registers and runs pods for (devenv-node-a, -b, …); 0 disables the
    /// pod runner (and the pod network).
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// Upper bound, in seconds, on a pod's termination grace period.
    #[arg(long, default_value_t = 30)]
    pub grace_cap: u64,
    /// The image map. Default: crates/devenv/images.yaml (or $DEVENV_IMAGES).
    #[arg(long)]
    pub images: Option<PathBuf>,
}

impl PodArgs {
    /// The runner options, `None` when disabled.
    #[must_use]
    pub fn options(&self) -> Option<crate::pods::RunnerOptions> {
        (self.nodes > 0).then(|| crate::pods::RunnerOptions {
            nodes: self.nodes,
            grace_cap: Duration::from_secs(self.grace_cap),
            images: self
                .images
                .clone()
                .unwrap_or_else(crate::pods::images::default_path),
        })
    }

    fn to_args(&self) -> Vec<String> {
        let mut v = vec![
            format!("--nodes={}", self.nodes),
            format!("--grace-cap={}", self.grace_cap),
        ];
        if let Some(i) = &self.images {
            v.push(format!("--images={}", i.display()));
        }
        v
    }
}

/// Options of `devenv up`.
#[derive(Debug, clap::Args)]
pub struct UpArgs {
    /// Run in the foreground (Ctrl-C stops everything) instead of detaching a supervisor.
    #[arg(long)]
    pub foreground: bool,
    /// Directory with the upstream binaries. Default: where hack/build-k8s puts them.
    #[arg(long, env = "DEVENV_BIN_DIR")]
    pub bin_dir: Option<PathBuf>,
    /// Address kube-apiserver listens on (only when creating the environment).
    #[arg(long)]
    pub bind_address: Option<IpAddr>,
    /// Address kube-apiserver advertises (only when creating the environment).
    #[arg(long)]
    pub advertise_address: Option<IpAddr>,
    /// Seconds to wait for each component to become ready.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
    /// Pod runner options.
    #[command(flatten)]
    pub pods: PodArgs,
}

/// Parses the command line and runs it.
///
/// # Errors
/// [`CliError`] describing what failed.
pub fn run(cli: Cli) -> Result<ExitCode, CliError> {
    if let Command::PodInit { spec } = &cli.command {
        let code = crate::pods::sandbox::pod_init(spec);
        return Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)));
    }
    let create = matches!(cli.command, Command::Up(_) | Command::Supervise { .. });
    let layout = Layout::new(state_dir(cli.state_dir, create)?);
    match cli.command {
        Command::Up(args) => up(&layout, &args),
        Command::Down { purge } => down(&layout, purge),
        Command::Status => status(&layout),
        Command::Env => {
            let st = StateFile::read(&layout.state_file())?
                .ok_or_else(|| CliError::NoEnvironment(layout.root().to_path_buf()))?;
            println!("KUBECONFIG={}", layout.admin_kubeconfig().display());
            println!(
                "DEVENV_TEST_USER_KUBECONFIG={}",
                layout.test_user_kubeconfig().display()
            );
            println!("DEVENV_BIN_DIR={}", st.bin_dir.display());
            println!("KUBECTL={}", st.bin_dir.join("kubectl").display());
            Ok(ExitCode::SUCCESS)
        }
        Command::PodInit { .. } => Ok(ExitCode::FAILURE),
        Command::Supervise { timeout, pods } => {
            let st = StateFile::read(&layout.state_file())?
                .ok_or_else(|| CliError::NoEnvironment(layout.root().to_path_buf()))?;
            let bins = Binaries::find(&st.bin_dir)?;
            runtime()?.block_on(supervisor::run(
                &layout,
                &st.settings,
                &bins,
                Duration::from_secs(timeout),
                pods.options(),
            ))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The absolute state directory, created if missing when `create` (only `up` creates it).
fn state_dir(given: Option<PathBuf>, create: bool) -> Result<PathBuf, CliError> {
    let dir = match given {
        Some(d) => d,
        None => std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(|h| PathBuf::from(h).join(".local/state/navigator/devenv"))
            .ok_or(CliError::NoStateDir)?,
    };
    if !create && !dir.exists() {
        return Err(CliError::NoEnvironment(dir));
    }
    fs::create_dir_all(&dir).map_err(|source| CliError::Write {
        path: dir.clone(),
        source,
    })?;
    dir.canonicalize().map_err(|source| CliError::Write {
        path: dir.clone(),
        source,
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)
}

fn supervisor_running(layout: &Layout) -> Option<i32> {
    process::read_pid(&layout.supervisor_pid_file())
        .filter(|pid| process::is_running(*pid, "devenv", layout.root()))
}

/// Writes the state file, PKI, kubeconfigs and directories; returns the settings and binaries.
fn prepare(layout: &Layout, args: &UpArgs) -> Result<(StateFile, Binaries), CliError> {
    let bin_dir = match &args.bin_dir {
        Some(d) => d.clone(),
        None => binaries::default_bin_dir()?,
    };
    let bins = Binaries::find(&bin_dir)?;
    let st = match StateFile::read(&layout.state_file())? {
        Some(mut st) => {
            let bind_changed = args
                .bind_address
                .is_some_and(|b| b != st.settings.bind_address);
            let adv_changed = args
                .advertise_address
                .is_some_and(|a| Some(a) != st.settings.advertise_address);
            if bind_changed || adv_changed {
                return Err(CliError::SettingsChanged(layout.root().to_path_buf()));
            }
            st.bin_dir.clone_from(&bin_dir);
            st
        }
        None => {
            let mut settings = ClusterSettings::with_ports(state::free_ports()?);
            if let Some(b) = args.bind_address {
                settings.bind_address = b;
            }
            settings.advertise_address = args.advertise_address;
            StateFile {
                bin_dir: bin_dir.clone(),
                settings,
            }
        }
    };
    let busy = state::ports_in_use(&st.settings.ports);
    if !busy.is_empty() {
        return Err(CliError::PortsInUse {
            dir: layout.root().to_path_buf(),
            ports: busy,
        });
    }
    for dir in [
        layout.logs_dir(),
        layout.pids_dir(),
        layout.etcd_data_dir(),
        layout.apiserver_cert_dir(),
        layout.root().join("kubeconfigs"),
    ] {
        fs::create_dir_all(&dir).map_err(|source| CliError::Write { path: dir, source })?;
    }
    st.write(&layout.state_file())?;
    pki::ensure(layout, &pki::plan(&st.settings))?;
    write_kubeconfigs(layout, &st.settings)?;
    Ok((st, bins))
}

fn write_kubeconfigs(layout: &Layout, settings: &ClusterSettings) -> Result<(), CliError> {
    let read = |f: &str| {
        fs::read_to_string(layout.pki(f)).map_err(|source| CliError::Write {
            path: layout.pki(f),
            source,
        })
    };
    let ca = read("ca.crt")?;
    let server = settings.apiserver_url();
    let mut files = vec![
        (layout.admin_kubeconfig(), "admin", pki::ADMIN_USER),
        (layout.test_user_kubeconfig(), "test-user", pki::TEST_USER),
    ];
    for (c, stem) in [
        (Component::KubeControllerManager, "controller-manager"),
        (Component::KubeScheduler, "scheduler"),
    ] {
        if let Some(user) = c.apiserver_user() {
            files.push((layout.component_kubeconfig(c), stem, user));
        }
    }
    for (path, stem, user) in files {
        let cert = read(&format!("{stem}.crt"))?;
        let key = read(&format!("{stem}.key"))?;
        let yaml = kubeconfig::render(&Kubeconfig {
            server: &server,
            ca_pem: &ca,
            user,
            client_cert_pem: &cert,
            client_key_pem: &key,
        })
        .map_err(|e| CliError::Write {
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        pki::write_file(&path, yaml.as_bytes(), true)
            .map_err(|source| CliError::Write { path, source })?;
    }
    Ok(())
}

fn up(layout: &Layout, args: &UpArgs) -> Result<ExitCode, CliError> {
    let started = Instant::now();
    if let Some(pid) = supervisor_running(layout) {
        eprintln!(
            "devenv: already running (supervisor pid {pid}) in {}",
            layout.root().display()
        );
        return status(layout);
    }
    let (st, bins) = prepare(layout, args)?;
    if args.foreground {
        runtime()?.block_on(supervisor::run(
            layout,
            &st.settings,
            &bins,
            Duration::from_secs(args.timeout),
            args.pods.options(),
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    let log_path = layout.supervisor_log();
    let open_log = || {
        fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|source| CliError::Write {
                path: log_path.clone(),
                source,
            })
    };
    let exe = std::env::current_exe().map_err(|e| CliError::StartFailed(e.to_string()))?;
    let mut child = std::process::Command::new(exe)
        .arg("--state-dir")
        .arg(layout.root())
        .arg("supervise")
        .arg("--timeout")
        .arg(args.timeout.to_string())
        .args(args.pods.to_args())
        .stdin(Stdio::null())
        .stdout(open_log()?)
        .stderr(open_log()?)
        .process_group(0)
        .spawn()
        .map_err(|e| CliError::StartFailed(e.to_string()))?;
    let tls = supervisor::admin_tls(layout)?;
    let rt = runtime()?;
    for c in Component::ALL {
        let wait = supervisor::wait_ready(c, &st.settings, &tls, Duration::from_secs(args.timeout));
        let ready = rt.block_on(async {
            tokio::select! {
                r = wait => r.map_err(CliError::from),
                () = exited(&mut child) => Err(CliError::StartFailed(format!(
                    "the supervisor exited; last lines of {}:\n{}",
                    log_path.display(),
                    tail(&log_path, 20)
                ))),
            }
        });
        if let Err(e) = ready {
            let _ = down(layout, false);
            let _ = child.wait();
            return Err(e);
        }
    }
    if let Some(opts) = args.pods.options() {
        let wait = crate::pods::wait_nodes_ready(layout, opts.nodes, Duration::from_secs(60));
        if let Err(msg) = rt.block_on(wait) {
            let _ = down(layout, false);
            let _ = child.wait();
            return Err(CliError::StartFailed(msg));
        }
    }
    eprintln!(
        "devenv: control plane ready in {:.1}s (state in {})",
        started.elapsed().as_secs_f64(),
        layout.root().display()
    );
    println!("KUBECONFIG={}", layout.admin_kubeconfig().display());
    Ok(ExitCode::SUCCESS)
}

/// Resolves when the background supervisor has exited.
async fn exited(child: &mut std::process::Child) {
    loop {
        if !matches!(child.try_wait(), Ok(None)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn tail(path: &Path, n: usize) -> String {
    let Ok(f) = fs::File::open(path) else {
        return String::new();
    };
    let lines: Vec<String> = BufReader::new(f).lines().map_while(Result::ok).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn down(layout: &Layout, purge: bool) -> Result<ExitCode, CliError> {
    let root = layout.root();
    if let Some(pid) = process::read_pid(&layout.supervisor_pid_file()) {
        // The supervisor stops the components in reverse order, each within STOP_GRACE.
        let grace = STOP_GRACE * 5;
        match process::stop(pid, "devenv", root, grace) {
            Stopped::NotRunning => {}
            outcome => eprintln!("devenv: supervisor {pid}: {outcome:?}"),
        }
        process::remove_pid(&layout.supervisor_pid_file());
    }
    // Whatever the supervisor left behind (it was killed, or crashed): stop by PID.
    let mut leftovers = Vec::new();
    for c in Component::ALL.into_iter().rev() {
        let pid_file = layout.pid_file(c);
        if let Some(pid) = process::read_pid(&pid_file) {
            match process::stop(pid, c.name(), root, STOP_GRACE) {
                Stopped::NotRunning => {}
                outcome => eprintln!("devenv: {} {pid}: {outcome:?}", c.name()),
            }
            if process::is_running(pid, c.name(), root) {
                leftovers.push(pid);
            } else {
                process::remove_pid(&pid_file);
            }
        }
    }
    // Pod processes, network namespaces, veths and the bridge the runner left (it was killed).
    crate::pods::sweep(root, true);
    if !leftovers.is_empty() {
        return Err(CliError::Leftovers(leftovers));
    }
    if purge {
        fs::remove_dir_all(root).map_err(|source| CliError::Write {
            path: root.to_path_buf(),
            source,
        })?;
    }
    eprintln!("devenv: down ({})", root.display());
    Ok(ExitCode::SUCCESS)
}

fn status(layout: &Layout) -> Result<ExitCode, CliError> {
    let st = StateFile::read(&layout.state_file())?
        .ok_or_else(|| CliError::NoEnvironment(layout.root().to_path_buf()))?;
    let tls = supervisor::admin_tls(layout)?;
    let rt = runtime()?;
    let mut all_ready = true;
    let sup = supervisor_running(layout);
    println!(
        "{:<24} {:>8}  {}",
        "supervisor",
        sup.map_or("-".to_owned(), |p| p.to_string()),
        if sup.is_some() {
            "running"
        } else {
            "not running"
        }
    );
    all_ready &= sup.is_some();
    for c in Component::ALL {
        let pid = process::read_pid(&layout.pid_file(c))
            .filter(|p| process::is_running(*p, c.name(), layout.root()));
        let check = crate::components::readiness(c, &st.settings.ports);
        let state = match rt.block_on(probe::probe(&check, &tls, Duration::from_secs(5))) {
            Ok(r) if r.is_ready() => "ready".to_owned(),
            Ok(r) => format!("not ready (HTTP {})", r.status),
            Err(e) => format!("not ready ({e})"),
        };
        all_ready &= pid.is_some() && state == "ready";
        println!(
            "{:<24} {:>8}  {state}",
            c.name(),
            pid.map_or("-".to_owned(), |p| p.to_string())
        );
    }
    Ok(if all_ready {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
