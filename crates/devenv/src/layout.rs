//! Where everything lives inside a state directory. Pure path arithmetic, no I/O.
//!
//! ```text
//! <state>/
//!   state.json                 ports and binary directory of this environment (state::StateFile)
//!   admin.kubeconfig           cluster-admin (O=system:masters)
//!   test-user.kubeconfig       an authenticated user with no RBAC bindings
//!   pki/                       CAs, serving and client certificates, service-account keys
//!   kubeconfigs/               the controller-manager's and the scheduler's own credentials
//!   etcd/                      etcd's data directory
//!   logs/<component>.log       stdout+stderr of each component; logs/devenv.log of the supervisor
//!   pids/<component>.pid       PID of each running component; pids/supervisor.pid
//! ```

use std::path::{Path, PathBuf};

use crate::components::Component;

/// The paths of one environment's state directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// A layout rooted at `root` (which need not exist yet).
    #[must_use]
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The state directory itself.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `state.json`: the ports and binary directory this environment was prepared with.
    #[must_use]
    pub fn state_file(&self) -> PathBuf {
        self.root.join("state.json")
    }

    /// The directory of certificates and keys.
    #[must_use]
    pub fn pki_dir(&self) -> PathBuf {
        self.root.join("pki")
    }

    /// `pki/<name>` (a certificate, key or public key file).
    #[must_use]
    pub fn pki(&self, file: &str) -> PathBuf {
        self.pki_dir().join(file)
    }

    /// The cluster-admin kubeconfig (what `devenv env` points `KUBECONFIG` at).
    #[must_use]
    pub fn admin_kubeconfig(&self) -> PathBuf {
        self.root.join("admin.kubeconfig")
    }

    /// The kubeconfig of the non-admin test user (authenticated, no RBAC bindings).
    #[must_use]
    pub fn test_user_kubeconfig(&self) -> PathBuf {
        self.root.join("test-user.kubeconfig")
    }

    /// The kubeconfig a control-plane component uses to reach kube-apiserver.
    #[must_use]
    pub fn component_kubeconfig(&self, component: Component) -> PathBuf {
        self.root
            .join("kubeconfigs")
            .join(format!("{}.kubeconfig", component.name()))
    }

    /// etcd's data directory.
    #[must_use]
    pub fn etcd_data_dir(&self) -> PathBuf {
        self.root.join("etcd")
    }

    /// The directory of log files.
    #[must_use]
    pub fn logs_dir(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// The log file of one component (stdout and stderr).
    #[must_use]
    pub fn log_file(&self, component: Component) -> PathBuf {
        self.logs_dir().join(format!("{}.log", component.name()))
    }

    /// The supervisor's own log (stdout and stderr of `devenv supervise`).
    #[must_use]
    pub fn supervisor_log(&self) -> PathBuf {
        self.logs_dir().join("devenv.log")
    }

    /// The directory of PID files.
    #[must_use]
    pub fn pids_dir(&self) -> PathBuf {
        self.root.join("pids")
    }

    /// The PID file of one running component.
    #[must_use]
    pub fn pid_file(&self, component: Component) -> PathBuf {
        self.pids_dir().join(format!("{}.pid", component.name()))
    }

    /// The supervisor's PID file.
    #[must_use]
    pub fn supervisor_pid_file(&self) -> PathBuf {
        self.pids_dir().join("supervisor.pid")
    }

    /// The directory kube-apiserver may write self-generated certificates to (never the default
    /// `/var/run/kubernetes`; unused because devenv passes its own serving certificate).
    #[must_use]
    pub fn apiserver_cert_dir(&self) -> PathBuf {
        self.root.join("apiserver-cert-dir")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_is_inside_the_state_dir() {
        let l = Layout::new("/s");
        let mut paths = vec![
            l.state_file(),
            l.pki("ca.crt"),
            l.admin_kubeconfig(),
            l.test_user_kubeconfig(),
            l.etcd_data_dir(),
            l.supervisor_log(),
            l.supervisor_pid_file(),
            l.apiserver_cert_dir(),
        ];
        for c in Component::ALL {
            paths.extend([l.log_file(c), l.pid_file(c), l.component_kubeconfig(c)]);
        }
        for p in &paths {
            assert!(p.starts_with("/s"), "{}", p.display());
        }
        let unique: std::collections::BTreeSet<_> = paths.iter().collect();
        assert_eq!(unique.len(), paths.len(), "paths collide: {paths:?}");
    }

    #[test]
    fn names_are_the_documented_ones() {
        let l = Layout::new("/s");
        assert_eq!(
            l.log_file(Component::KubeApiserver),
            Path::new("/s/logs/kube-apiserver.log")
        );
        assert_eq!(l.pid_file(Component::Etcd), Path::new("/s/pids/etcd.pid"));
        assert_eq!(l.admin_kubeconfig(), Path::new("/s/admin.kubeconfig"));
    }
}
