//! One container's sandbox: `ip netns exec <pod netns> unshare --mount --uts --ipc --pid --fork
//! --kill-child --propagation private devenv pod-init <spec.json>`. `pod-init` is PID 1 of the new
//! PID namespace: it builds the container's root (a tmpfs with the host's system directories and
//! the image's directories as overlays, the volumes bound in, fresh `/proc`, `/tmp`), sets the
//! hostname, `chroot`s, starts the command through `setpriv` (user, group, supplementary
//! groups), forwards signals to it, reaps orphans, and exits with the command's status.
//!
//! # The container's writable layer
//! Like a container runtime's, each container's root is writable and starts from a clean copy of
//! its image: every directory of the image (and every host directory standing for it in a
//! host-root image, [`HOST_DIRS`]) is an `overlay` mount whose `lowerdir` is the source and whose
//! `upperdir`/`workdir` ([`layer_paths`]) lie on a tmpfs mounted on [`SandboxSpec::layers`]
//! inside the container's private mount namespace. Writes land there; the host's directories are
//! never written; the layer vanishes with the namespace when the container instance ends (a
//! restart starts from a fresh one; nothing stays on the host even if the runner is killed). A
//! tmpfs because overlayfs wants `upperdir` and `workdir` on one filesystem that is not
//! overlayfs and outside the lower layers (the default state directory lies under `/root`, one
//! of them): the price is that what a container writes into its image is held in memory (bounded
//! by the container's `ephemeral-storage` limit when it has one) — data belongs on volumes, as on
//! a real cluster. Files of an image bound singly (`/docker-entrypoint.sh`, the pilots) stay
//! read-only binds; volumes stay binds (shared, persistent; `readOnly` ones read-only). Mounts
//! found below a host directory (`ip netns exec` binds the pod's `/etc/resolv.conf` and
//! `/etc/hosts`) are bound again on top of its overlay. A directory overlayfs refuses as a lower
//! layer stays a read-only bind (with a warning in the container's log).
//!
//! [`SandboxSpec`], the command line, [`placement`], [`overlay_options`], [`layer_paths`] and
//! [`submounts`] are pure; [`pod_init`] is the thin I/O part.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use nix::mount::{MsFlags, mount};
use serde::{Deserialize, Serialize};

/// The host directories every container sees, as on the host (each directory as a writable
/// overlay, see the module documentation): symbolic links stay links (`/bin -> usr/bin` on
/// merged-/usr systems).
pub const HOST_DIRS: [&str; 8] = [
    "/usr", "/bin", "/sbin", "/lib", "/lib64", "/etc", "/root", "/opt",
];

/// A bind of a host path into the container's root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindMount {
    /// Host path (directory or file).
    pub source: PathBuf,
    /// Absolute path inside the container.
    pub target: String,
    /// Read-only.
    pub read_only: bool,
}

/// Everything `pod-init` needs, written by the runner as JSON next to the pod's other state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxSpec {
    /// An empty host directory the root tmpfs is mounted on (inside the private mount
    /// namespace, so the host never sees it).
    pub root: PathBuf,
    /// The hostname.
    pub hostname: String,
    /// An empty host directory the tmpfs holding the container's writable layers is mounted on
    /// (inside the private mount namespace: it goes with the container instance).
    pub layers: PathBuf,
    /// The size limit of the layers tmpfs in bytes (the container's `ephemeral-storage`
    /// limit); `None`: tmpfs's default (half the RAM).
    #[serde(default)]
    pub layers_size: Option<u64>,
    /// Host directories shown as overlays (see [`HOST_DIRS`]).
    pub host_dirs: Vec<String>,
    /// The image's directories and files, in order (parents before children), mounted before
    /// [`SandboxSpec::mounts`]: a directory whose `read_only` is set becomes an overlay (the
    /// container's own writable copy), one without a shared writable bind (`writable: true` in
    /// the image map); a file a bind (see [`placement`]).
    pub image: Vec<BindMount>,
    /// Volumes, in order (parents before children), bound as given.
    pub mounts: Vec<BindMount>,
    /// The command and its arguments.
    pub argv: Vec<String>,
    /// The environment (nothing else is inherited).
    pub env: Vec<(String, String)>,
    /// Working directory inside the container.
    pub working_dir: String,
    /// User ID.
    pub uid: u32,
    /// Group ID.
    pub gid: u32,
    /// Supplementary groups (fsGroup, supplementalGroups).
    pub groups: Vec<u32>,
}

/// The host command line that runs a sandbox: `(program, args)`. Pure.
#[must_use]
pub fn command_line(netns: &str, devenv_exe: &Path, spec_file: &Path) -> (String, Vec<String>) {
    let mut args: Vec<String> = [
        "netns",
        "exec",
        netns,
        "unshare",
        "--mount",
        "--uts",
        "--ipc",
        "--pid",
        "--fork",
        "--kill-child",
        "--propagation",
        "private",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    args.push(devenv_exe.to_string_lossy().into_owned());
    args.push("pod-init".to_owned());
    args.push(spec_file.to_string_lossy().into_owned());
    ("ip".to_owned(), args)
}

/// The argv `pod-init` executes inside the root: `setpriv` switching user and groups, then the
/// command. Pure.
#[must_use]
pub fn setpriv_argv(spec: &SandboxSpec) -> Vec<String> {
    let mut v = vec![
        "/usr/bin/setpriv".to_owned(),
        format!("--reuid={}", spec.uid),
        format!("--regid={}", spec.gid),
    ];
    let groups: BTreeSet<u32> = spec.groups.iter().copied().collect();
    if groups.is_empty() {
        v.push("--clear-groups".to_owned());
    } else {
        let list: Vec<String> = groups.iter().map(u32::to_string).collect();
        v.push(format!("--groups={}", list.join(",")));
    }
    v.push("--".to_owned());
    v.extend(spec.argv.iter().cloned());
    v
}

/// An error setting up the sandbox (printed to the container log; `pod-init` exits 128).
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// Reading the spec failed.
    #[error("cannot read the sandbox spec {path}: {message}")]
    Spec {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A system call failed.
    #[error("{what}: {source}")]
    Sys {
        /// What was being done.
        what: String,
        /// The errno.
        #[source]
        source: std::io::Error,
    },
}

fn sys<E: Into<std::io::Error>>(what: impl FnOnce() -> String) -> impl FnOnce(E) -> SandboxError {
    move |e| SandboxError::Sys {
        what: what(),
        source: e.into(),
    }
}

fn nixerr(e: nix::Error) -> std::io::Error {
    std::io::Error::from_raw_os_error(e as i32)
}

/// `root` joined with the absolute container path `target`, without `..` escapes. Pure.
#[must_use]
pub fn in_root(root: &Path, target: &str) -> PathBuf {
    let mut p = root.to_path_buf();
    for c in Path::new(target).components() {
        if let Component::Normal(s) = c {
            p.push(s);
        }
    }
    p
}

/// What a source path is on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// A directory.
    Dir,
    /// A file (or anything else that is neither a directory nor a link).
    File,
    /// A symbolic link (only host directories keep links as links).
    Link,
    /// Nothing there.
    Missing,
}

/// Where a mount comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// One of [`HOST_DIRS`].
    Host,
    /// The image map (`read_only` = not `writable: true`).
    Image {
        /// The source must stay unmodified.
        read_only: bool,
    },
    /// A volume (`read_only` = the volumeMount's `readOnly`).
    Volume {
        /// Read-only.
        read_only: bool,
    },
}

/// How an entry enters the container's root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// An overlay mount: the source as the lower layer, a fresh upper layer of the container's own.
    Overlay,
    /// A bind of the source.
    Bind {
        /// Read-only.
        read_only: bool,
    },
    /// The same symbolic link.
    Link,
    /// Nothing (a host directory this host does not have).
    Skip,
}

/// How a source of kind `kind` coming from `origin` enters the root. Pure.
#[must_use]
pub fn placement(origin: Origin, kind: SourceKind) -> Placement {
    match (origin, kind) {
        (Origin::Host, SourceKind::Missing) => Placement::Skip,
        (Origin::Host, SourceKind::Link) => Placement::Link,
        (Origin::Host, SourceKind::Dir) | (Origin::Image { read_only: true }, SourceKind::Dir) => {
            Placement::Overlay
        }
        (Origin::Host, SourceKind::File) => Placement::Bind { read_only: true },
        // Image and volume sources are followed before (a link never gets here); a missing
        // one fails at the bind, naming it.
        (Origin::Image { read_only } | Origin::Volume { read_only }, _) => {
            Placement::Bind { read_only }
        }
    }
}

/// The upper and work directories of the container's `n`th overlay under its layers tmpfs:
/// `<layers>/<n>/upper`, `<layers>/<n>/work` (one filesystem, as overlayfs requires). Pure.
#[must_use]
pub fn layer_paths(layers: &Path, n: usize) -> (PathBuf, PathBuf) {
    let d = layers.join(n.to_string());
    (d.join("upper"), d.join("work"))
}

/// A path as an overlayfs option value: `\`, `,` and `:` escaped with a backslash.
fn escape_option(p: &Path) -> String {
    let mut out = String::new();
    for ch in p.to_string_lossy().chars() {
        if matches!(ch, '\\' | ',' | ':') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// The `overlay` mount options for one lower layer. Pure.
#[must_use]
pub fn overlay_options(lower: &Path, upper: &Path, work: &Path) -> String {
    format!(
        "lowerdir={},upperdir={},workdir={}",
        escape_option(lower),
        escape_option(upper),
        escape_option(work)
    )
}

/// The mount options of the layers tmpfs: private to root, at most `size` bytes (at least one
/// page: `size=0` would mean no limit). Pure.
#[must_use]
pub fn layers_tmpfs_options(size: Option<u64>) -> String {
    match size {
        None => "mode=0700".to_owned(),
        Some(n) => format!("mode=0700,size={}", n.max(4096)),
    }
}

/// The mount points listed in a `/proc/self/mountinfo` text (octal escapes such as `\040`
/// undone). Pure.
#[must_use]
pub fn mount_points(mountinfo: &str) -> Vec<PathBuf> {
    mountinfo
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(unescape_octal(p)))
        .collect()
}

fn unescape_octal(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let digits = b.get(i + 1..i + 4);
        if b[i] == b'\\'
            && let Some(d) = digits.filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)))
        {
            out.push(
                d.iter()
                    .fold(0u8, |acc, c| acc.wrapping_mul(8).wrapping_add(c - b'0')),
            );
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The mount points strictly below `dir` that an overlay of `dir` would hide, outermost only
/// (a recursive bind of one carries those below it), sorted, without those under `exclude`.
/// Pure.
#[must_use]
pub fn submounts(points: &[PathBuf], dir: &Path, exclude: &[&Path]) -> Vec<PathBuf> {
    let below: BTreeSet<&PathBuf> = points
        .iter()
        .filter(|p| p.starts_with(dir) && p.as_path() != dir)
        .filter(|p| !exclude.iter().any(|x| p.starts_with(x)))
        .collect();
    below
        .iter()
        .filter(|p| !below.iter().any(|q| q != *p && p.starts_with(q.as_path())))
        .map(|p| (*p).clone())
        .collect()
}

/// The directory mounts made so far: (path in the new root, host source of a bind, or `None`
/// for a writable overlay or a tmpfs laid over a bound directory) — to know when a mount target
/// would have to be created inside a host directory.
struct Binds(Vec<(PathBuf, Option<PathBuf>)>);

impl Binds {
    /// The host directory behind `p` (a path in the new root), if `p` lies in a bind and not
    /// in a tmpfs laid over one since (whose entries are already re-bound one by one).
    fn host_path(&self, p: &Path) -> Option<PathBuf> {
        self.0
            .iter()
            .filter(|(inroot, _)| p.starts_with(inroot))
            .max_by_key(|(inroot, _)| inroot.components().count())
            .and_then(|(inroot, src)| {
                let src = src.as_ref()?;
                p.strip_prefix(inroot).ok().map(|rel| src.join(rel))
            })
    }
}

fn bind(source: &Path, target: &Path, read_only: bool) -> Result<(), SandboxError> {
    mount(
        Some(source),
        target,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(nixerr)
    .map_err(sys(|| {
        format!("bind {} on {}", source.display(), target.display())
    }))?;
    if read_only {
        mount(
            None::<&str>,
            target,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
            None::<&str>,
        )
        .map_err(nixerr)
        .map_err(sys(|| format!("remount {} read-only", target.display())))?;
    }
    Ok(())
}

fn tmpfs(target: &Path, mode: &str) -> Result<(), SandboxError> {
    mount(
        Some("tmpfs"),
        target,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some(mode),
    )
    .map_err(nixerr)
    .map_err(sys(|| format!("tmpfs on {}", target.display())))
}

/// Replicates the host entry `src` at `dst` (a link as a link, a directory or file as a bind).
fn replicate(
    src: &Path,
    dst: &Path,
    binds: &mut Binds,
    read_only: bool,
) -> Result<(), SandboxError> {
    let Ok(meta) = std::fs::symlink_metadata(src) else {
        return Ok(());
    };
    if meta.file_type().is_symlink() {
        let to = std::fs::read_link(src).map_err(sys(|| format!("readlink {}", src.display())))?;
        std::os::unix::fs::symlink(&to, dst)
            .map_err(sys(|| format!("symlink {}", dst.display())))?;
    } else if meta.is_dir() {
        std::fs::create_dir_all(dst).map_err(sys(|| format!("mkdir {}", dst.display())))?;
        bind(src, dst, read_only)?;
        binds.0.push((dst.to_path_buf(), Some(src.to_path_buf())));
    } else {
        std::fs::write(dst, b"").map_err(sys(|| format!("create {}", dst.display())))?;
        bind(src, dst, read_only)?;
    }
    Ok(())
}

/// Makes `full` (a path in the new root) exist as a directory (or an empty file). If it would
/// have to be created inside a bound host directory, that directory is first covered by a
/// tmpfs into which its entries are bound again — the host is never written to.
fn ensure_target(full: &Path, dir: bool, binds: &mut Binds) -> Result<(), SandboxError> {
    if full.exists() {
        return Ok(());
    }
    let mut anc = full.parent().map(Path::to_path_buf);
    while let Some(a) = &anc {
        if a.exists() {
            break;
        }
        anc = a.parent().map(Path::to_path_buf);
    }
    if let Some(a) = anc
        && let Some(host) = binds.host_path(&a)
    {
        tmpfs(&a, "mode=0755")?;
        // Entries bound below re-register their own binds after this one, so they win for
        // paths inside them; the rest of `a` is the tmpfs from now on (a second target in the
        // same directory must not cover it again and drop the first).
        binds.0.push((a.clone(), None));
        let entries =
            std::fs::read_dir(&host).map_err(sys(|| format!("list {}", host.display())))?;
        for e in entries.flatten() {
            replicate(&e.path(), &a.join(e.file_name()), binds, true)?;
        }
    }
    if dir {
        std::fs::create_dir_all(full).map_err(sys(|| format!("mkdir {}", full.display())))
    } else {
        if let Some(p) = full.parent() {
            std::fs::create_dir_all(p).map_err(sys(|| format!("mkdir {}", p.display())))?;
        }
        std::fs::write(full, b"").map_err(sys(|| format!("create {}", full.display())))
    }
}

/// The container's writable layers: the tmpfs they live on and how many overlays it holds.
struct Layers {
    dir: PathBuf,
    next: usize,
    /// The mount points that existed before the sandbox mounted anything.
    points: Vec<PathBuf>,
    /// The sandbox's own directories (never bound again as submounts).
    own: Vec<PathBuf>,
}

impl Layers {
    /// Mounts an overlay of `lower` on `target` with a fresh upper layer.
    fn mount_overlay(&mut self, lower: &Path, target: &Path) -> Result<(), SandboxError> {
        let (upper, work) = layer_paths(&self.dir, self.next);
        self.next += 1;
        for d in [&upper, &work] {
            std::fs::create_dir_all(d).map_err(sys(|| format!("mkdir {}", d.display())))?;
        }
        // The mount's root shows the upper directory's owner and mode: those of the image's.
        let meta = std::fs::metadata(lower).map_err(sys(|| format!("stat {}", lower.display())))?;
        {
            use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
            std::os::unix::fs::chown(&upper, Some(meta.uid()), Some(meta.gid()))
                .map_err(sys(|| format!("chown {}", upper.display())))?;
            std::fs::set_permissions(&upper, std::fs::Permissions::from_mode(meta.mode()))
                .map_err(sys(|| format!("chmod {}", upper.display())))?;
        }
        let opts = overlay_options(lower, &upper, &work);
        mount(
            Some("overlay"),
            target,
            Some("overlay"),
            MsFlags::empty(),
            Some(opts.as_str()),
        )
        .map_err(nixerr)
        .map_err(sys(|| {
            format!("overlay of {} on {}", lower.display(), target.display())
        }))
    }

    /// Binds again, on the overlay of `lower` at `target`, the mounts found below `lower` (which
    /// the overlay, reading `lower`'s own filesystem, hides).
    fn rebind_submounts(&self, lower: &Path, target: &Path) -> Result<(), SandboxError> {
        let real = std::fs::canonicalize(lower).unwrap_or_else(|_| lower.to_path_buf());
        let own: Vec<&Path> = self.own.iter().map(PathBuf::as_path).collect();
        for sub in submounts(&self.points, &real, &own) {
            let Ok(rel) = sub.strip_prefix(&real) else {
                continue;
            };
            let dst = target.join(rel);
            if !dst.exists() {
                if sub.is_dir() {
                    std::fs::create_dir_all(&dst)
                        .map_err(sys(|| format!("mkdir {}", dst.display())))?;
                } else {
                    if let Some(p) = dst.parent() {
                        std::fs::create_dir_all(p)
                            .map_err(sys(|| format!("mkdir {}", p.display())))?;
                    }
                    std::fs::write(&dst, b"")
                        .map_err(sys(|| format!("create {}", dst.display())))?;
                }
            }
            bind(&sub, &dst, false)?;
        }
        Ok(())
    }
}

/// What `p` is; `follow`: a link is taken for what it points to.
fn source_kind(p: &Path, follow: bool) -> SourceKind {
    let meta = if follow {
        std::fs::metadata(p)
    } else {
        std::fs::symlink_metadata(p)
    };
    match meta {
        Err(_) => SourceKind::Missing,
        Ok(m) if m.file_type().is_symlink() => SourceKind::Link,
        Ok(m) if m.is_dir() => SourceKind::Dir,
        Ok(_) => SourceKind::File,
    }
}

/// Mounts (or links) `src` at `dst` (a path in the new root) as `origin` says.
fn place(
    origin: Origin,
    src: &Path,
    dst: &Path,
    binds: &mut Binds,
    layers: &mut Layers,
) -> Result<(), SandboxError> {
    // Only a host directory keeps a link as a link; image and volume sources are followed.
    let kind = source_kind(src, !matches!(origin, Origin::Host));
    let is_dir = match kind {
        SourceKind::Dir => true,
        SourceKind::Link => src.is_dir(),
        SourceKind::File | SourceKind::Missing => false,
    };
    match placement(origin, kind) {
        Placement::Skip => {}
        Placement::Link => {
            let to =
                std::fs::read_link(src).map_err(sys(|| format!("readlink {}", src.display())))?;
            if let Some(p) = dst.parent() {
                std::fs::create_dir_all(p).map_err(sys(|| format!("mkdir {}", p.display())))?;
            }
            std::os::unix::fs::symlink(&to, dst)
                .map_err(sys(|| format!("symlink {}", dst.display())))?;
        }
        Placement::Overlay => {
            ensure_target(dst, true, binds)?;
            match layers.mount_overlay(src, dst) {
                Ok(()) => {
                    layers.rebind_submounts(src, dst)?;
                    // A writable layer: mount targets below are simply created in it.
                    binds.0.push((dst.to_path_buf(), None));
                }
                Err(e) => {
                    // A filesystem overlayfs refuses as a lower layer: the container still
                    // runs, with this directory read-only as before writable layers.
                    eprintln!(
                        "devenv pod-init: {e}; {} stays a read-only bind (no writable layer)",
                        src.display()
                    );
                    bind(src, dst, true)?;
                    binds.0.push((dst.to_path_buf(), Some(src.to_path_buf())));
                }
            }
        }
        Placement::Bind { read_only } => {
            ensure_target(dst, is_dir, binds)?;
            bind(src, dst, read_only)?;
            if is_dir {
                binds.0.push((dst.to_path_buf(), Some(src.to_path_buf())));
            }
        }
    }
    Ok(())
}

/// Builds the root and `chroot`s into it (runs inside the new namespaces).
///
/// # Errors
/// [`SandboxError`] naming the step that failed.
pub fn build_root(spec: &SandboxSpec) -> Result<(), SandboxError> {
    let root = spec.root.as_path();
    // The mounts inherited from the host's namespace (before the sandbox adds its own).
    let points = std::fs::read_to_string("/proc/self/mountinfo")
        .map(|t| mount_points(&t))
        .map_err(sys(|| "read /proc/self/mountinfo".to_owned()))?;
    for d in [root, spec.layers.as_path()] {
        std::fs::create_dir_all(d).map_err(sys(|| format!("mkdir {}", d.display())))?;
    }
    tmpfs(root, "mode=0755")?;
    tmpfs(&spec.layers, &layers_tmpfs_options(spec.layers_size))?;
    let mut layers = Layers {
        dir: spec.layers.clone(),
        next: 0,
        points,
        own: vec![spec.root.clone(), spec.layers.clone()],
    };
    let mut binds = Binds(Vec::new());
    for d in &spec.host_dirs {
        place(
            Origin::Host,
            Path::new(d),
            &in_root(root, d),
            &mut binds,
            &mut layers,
        )?;
    }
    for d in ["proc", "dev", "sys", "tmp", "run", "var/tmp", "home"] {
        let p = root.join(d);
        std::fs::create_dir_all(&p).map_err(sys(|| format!("mkdir {}", p.display())))?;
    }
    mount(
        Some("proc"),
        &root.join("proc"),
        Some("proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .map_err(nixerr)
    .map_err(sys(|| "mount /proc".to_owned()))?;
    bind(Path::new("/dev"), &root.join("dev"), false)?;
    bind(Path::new("/sys"), &root.join("sys"), false)?;
    tmpfs(&root.join("tmp"), "mode=1777")?;
    tmpfs(&root.join("var/tmp"), "mode=1777")?;
    tmpfs(&root.join("run"), "mode=0755")?;
    for m in &spec.image {
        let origin = Origin::Image {
            read_only: m.read_only,
        };
        let dst = in_root(root, &m.target);
        place(origin, &m.source, &dst, &mut binds, &mut layers)?;
    }
    for m in &spec.mounts {
        let origin = Origin::Volume {
            read_only: m.read_only,
        };
        let dst = in_root(root, &m.target);
        place(origin, &m.source, &dst, &mut binds, &mut layers)?;
    }
    nix::unistd::sethostname(&spec.hostname)
        .map_err(nixerr)
        .map_err(sys(|| "sethostname".to_owned()))?;
    std::os::unix::fs::chroot(root).map_err(sys(|| format!("chroot {}", root.display())))?;
    std::env::set_current_dir(&spec.working_dir)
        .or_else(|_| std::env::set_current_dir("/"))
        .map_err(sys(|| format!("chdir {}", spec.working_dir)))?;
    Ok(())
}

/// `devenv pod-init <spec.json>`: builds the root, runs the command, forwards SIGTERM, SIGINT,
/// SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 to it, reaps every child (it is PID 1), and returns the
/// command's exit status (128 + signal when killed; 128 when the sandbox could not be built).
#[must_use]
pub fn pod_init(spec_file: &Path) -> i32 {
    match pod_init_inner(spec_file) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("devenv pod-init: {e}");
            128
        }
    }
}

fn pod_init_inner(spec_file: &Path) -> Result<i32, SandboxError> {
    let spec_err = |message: String| SandboxError::Spec {
        path: spec_file.to_path_buf(),
        message,
    };
    let text = std::fs::read(spec_file).map_err(|e| spec_err(e.to_string()))?;
    let spec: SandboxSpec = serde_json::from_slice(&text).map_err(|e| spec_err(e.to_string()))?;
    build_root(&spec)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(sys(|| "tokio runtime".to_owned()))?;
    rt.block_on(supervise_child(&spec))
}

async fn supervise_child(spec: &SandboxSpec) -> Result<i32, SandboxError> {
    use nix::sys::signal::{Signal, kill};
    use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
    use nix::unistd::Pid;
    use tokio::signal::unix::{SignalKind, signal};

    let mk = |k: SignalKind| signal(k).map_err(sys(|| "signal handler".to_owned()));
    let mut chld = mk(SignalKind::child())?;
    let mut forwarded = Vec::new();
    for (kind, sig) in [
        (SignalKind::terminate(), Signal::SIGTERM),
        (SignalKind::interrupt(), Signal::SIGINT),
        (SignalKind::hangup(), Signal::SIGHUP),
        (SignalKind::quit(), Signal::SIGQUIT),
        (SignalKind::user_defined1(), Signal::SIGUSR1),
        (SignalKind::user_defined2(), Signal::SIGUSR2),
    ] {
        forwarded.push((mk(kind)?, sig));
    }
    let argv = setpriv_argv(spec);
    let child = std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .spawn()
        .map_err(sys(|| format!("start {}", spec.argv.join(" "))))?;
    let main = Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
    // The std handle is never waited on: every child is reaped below with waitpid(-1).
    drop(child);
    loop {
        // Reap whatever has exited; stop when the command itself has.
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) if pid == main => return Ok(code),
                Ok(WaitStatus::Signaled(pid, sig, _)) if pid == main => return Ok(128 + sig as i32),
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(_) => {}
            }
        }
        let next = {
            let recvs = forwarded
                .iter_mut()
                .map(|(s, sig)| {
                    let sig = *sig;
                    Box::pin(async move {
                        s.recv().await;
                        sig
                    })
                })
                .collect::<Vec<_>>();
            tokio::select! {
                _ = chld.recv() => None,
                (sig, _, _) = futures::future::select_all(recvs) => Some(sig),
                // SIGCHLD can be coalesced with an exit that raced the handler: poll too.
                () = tokio::time::sleep(std::time::Duration::from_millis(500)) => None,
            }
        };
        if let Some(sig) = next {
            let _ = kill(main, sig);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two files bound into one host directory (the pilot image's /usr/local/bin): the first
    /// target covers the directory with a tmpfs, the second must find no host directory there
    /// (covering it again dropped the first file's bind).
    #[test]
    fn a_tmpfs_over_a_bound_directory_hides_its_host_path() {
        let mut b = Binds(vec![(PathBuf::from("/r/usr"), Some(PathBuf::from("/usr")))]);
        assert_eq!(
            b.host_path(Path::new("/r/usr/local/bin")),
            Some(PathBuf::from("/usr/local/bin"))
        );
        b.0.push((PathBuf::from("/r/usr/local/bin"), None));
        b.0.push((
            PathBuf::from("/r/usr/local/bin/sub"),
            Some(PathBuf::from("/usr/local/bin/sub")),
        ));
        assert_eq!(b.host_path(Path::new("/r/usr/local/bin")), None);
        assert_eq!(b.host_path(Path::new("/r/usr/local/bin/pilot-x")), None);
        assert_eq!(
            b.host_path(Path::new("/r/usr/local/bin/sub/x")),
            Some(PathBuf::from("/usr/local/bin/sub/x"))
        );
        assert_eq!(
            b.host_path(Path::new("/r/usr/share")),
            Some(PathBuf::from("/usr/share"))
        );
    }

    fn spec() -> SandboxSpec {
        SandboxSpec {
            root: "/s/pods/u/root-c".into(),
            layers: "/s/pods/u/layers/c".into(),
            layers_size: None,
            hostname: "web-0".into(),
            host_dirs: HOST_DIRS.iter().map(|s| (*s).to_owned()).collect(),
            image: vec![],
            mounts: vec![],
            argv: vec!["python3".into(), "-m".into(), "http.server".into()],
            env: vec![],
            working_dir: "/".into(),
            uid: 1000,
            gid: 1000,
            groups: vec![2000, 2000],
        }
    }

    #[test]
    fn runs_through_ip_netns_exec_and_unshare() {
        let (prog, args) = command_line("nav-abc", Path::new("/t/devenv"), Path::new("/s/x.json"));
        assert_eq!(prog, "ip");
        assert_eq!(
            args.join(" "),
            "netns exec nav-abc unshare --mount --uts --ipc --pid --fork --kill-child \
             --propagation private /t/devenv pod-init /s/x.json"
        );
    }

    #[test]
    fn setpriv_switches_user_and_groups() {
        assert_eq!(
            setpriv_argv(&spec()).join(" "),
            "/usr/bin/setpriv --reuid=1000 --regid=1000 --groups=2000 -- python3 -m http.server"
        );
        let mut s = spec();
        s.groups.clear();
        s.uid = 0;
        s.gid = 0;
        assert!(setpriv_argv(&s).contains(&"--clear-groups".to_owned()));
    }

    #[test]
    fn in_root_never_escapes() {
        assert_eq!(
            in_root(Path::new("/r"), "/var/lib/x"),
            Path::new("/r/var/lib/x")
        );
        assert_eq!(in_root(Path::new("/r"), "/../../etc"), Path::new("/r/etc"));
    }

    #[test]
    fn binds_map_paths_to_the_deepest_host_source() {
        let b = Binds(vec![
            ("/r/etc".into(), Some("/etc".into())),
            ("/r/etc/x".into(), Some("/data/x".into())),
        ]);
        assert_eq!(
            b.host_path(Path::new("/r/etc/pilot")),
            Some("/etc/pilot".into())
        );
        assert_eq!(
            b.host_path(Path::new("/r/etc/x/y")),
            Some("/data/x/y".into())
        );
        assert_eq!(b.host_path(Path::new("/r/opt")), None);
    }

    #[test]
    fn image_and_host_directories_become_overlays_volumes_stay_binds() {
        use Origin::{Host, Image, Volume};
        use Placement::{Bind, Link, Overlay, Skip};
        use SourceKind::{Dir, File, Link as L, Missing};
        let ro = Bind { read_only: true };
        let rw = Bind { read_only: false };
        let table = [
            // Host-root images: /usr, /etc, /opt … are the container's own copies.
            (Host, Dir, Overlay),
            (Host, L, Link),
            (Host, File, ro),
            (Host, Missing, Skip),
            // The image map's directories too, unless `writable: true` shares them.
            (Image { read_only: true }, Dir, Overlay),
            (Image { read_only: false }, Dir, rw),
            // Files bound singly (/docker-entrypoint.sh, the pilots) stay binds.
            (Image { read_only: true }, File, ro),
            (Image { read_only: true }, L, ro),
            (Image { read_only: true }, Missing, ro),
            // Volumes: shared and persistent; readOnly ones read-only.
            (Volume { read_only: false }, Dir, rw),
            (Volume { read_only: true }, Dir, ro),
            (Volume { read_only: false }, File, rw),
            (Volume { read_only: true }, File, ro),
            (Volume { read_only: false }, L, rw),
        ];
        for (origin, kind, want) in table {
            assert_eq!(placement(origin, kind), want, "{origin:?} {kind:?}");
        }
    }

    #[test]
    fn each_overlay_has_its_upper_and_work_dirs_on_the_layers_tmpfs() {
        let l = Path::new("/s/pods/u/layers/c");
        for (n, upper, work) in [
            (0, "/s/pods/u/layers/c/0/upper", "/s/pods/u/layers/c/0/work"),
            (7, "/s/pods/u/layers/c/7/upper", "/s/pods/u/layers/c/7/work"),
        ] {
            assert_eq!(layer_paths(l, n), (upper.into(), work.into()));
        }
    }

    #[test]
    fn the_layers_tmpfs_is_bounded_by_the_ephemeral_storage_limit() {
        for (size, want) in [
            (None, "mode=0700"),
            (Some(1 << 30), "mode=0700,size=1073741824"),
            (Some(0), "mode=0700,size=4096"),
        ] {
            assert_eq!(layers_tmpfs_options(size), want);
        }
    }

    #[test]
    fn overlay_options_escape_separators() {
        let table = [
            (
                "/usr",
                "/l/0/upper",
                "/l/0/work",
                "lowerdir=/usr,upperdir=/l/0/upper,workdir=/l/0/work",
            ),
            (
                "/img/a,b:c",
                "/l/1/upper",
                "/l/1/work",
                r"lowerdir=/img/a\,b\:c,upperdir=/l/1/upper,workdir=/l/1/work",
            ),
            (
                r"/img/back\slash",
                "/x y/upper",
                "/x y/work",
                r"lowerdir=/img/back\\slash,upperdir=/x y/upper,workdir=/x y/work",
            ),
        ];
        for (lower, upper, work, want) in table {
            assert_eq!(
                overlay_options(Path::new(lower), Path::new(upper), Path::new(work)),
                want
            );
        }
    }

    #[test]
    fn mountinfo_mount_points_are_unescaped() {
        let text = "22 27 0:21 / /proc rw,relatime - proc proc rw\n\
                    27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n\
                    50 27 0:40 /netns/x/resolv.conf /etc/resolv.conf rw - ext4 /dev/vda rw\n\
                    51 27 0:41 / /mnt/with\\040space rw - tmpfs tmpfs rw\n";
        assert_eq!(
            mount_points(text),
            [
                PathBuf::from("/proc"),
                "/".into(),
                "/etc/resolv.conf".into(),
                "/mnt/with space".into()
            ]
        );
    }

    #[test]
    fn submounts_are_the_outermost_strictly_below() {
        let points: Vec<PathBuf> = [
            "/",
            "/etc",
            "/etc/resolv.conf",
            "/etc/hosts",
            "/etc/ssl",
            "/etc/ssl/private",
            "/etcetera",
            "/usr",
            "/root/.local/state/d/pods/u/rootfs/c",
            "/root/data",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        let own = Path::new("/root/.local/state/d/pods/u/rootfs/c");
        let table: [(&str, &[&str]); 4] = [
            ("/etc", &["/etc/hosts", "/etc/resolv.conf", "/etc/ssl"]),
            ("/usr", &[]),
            ("/root", &["/root/data"]),
            ("/", &["/etc", "/etcetera", "/root/data", "/usr"]),
        ];
        for (dir, want) in table {
            let want: Vec<PathBuf> = want.iter().map(PathBuf::from).collect();
            assert_eq!(submounts(&points, Path::new(dir), &[own]), want, "{dir}");
        }
    }
}
