//! The four control-plane components: their command lines and how to tell they are ready.
//! Everything here is pure — the flag lists are decisions, and unit-tested as such.

use std::net::IpAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::layout::Layout;

/// A control-plane process devenv starts and supervises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    /// etcd, the store.
    Etcd,
    /// kube-apiserver, with kube-aggregator inside it.
    KubeApiserver,
    /// kube-controller-manager with all default controllers.
    KubeControllerManager,
    /// kube-scheduler.
    KubeScheduler,
}

impl Component {
    /// Every component, in start-up order (stop in reverse).
    pub const ALL: [Component; 4] = [
        Component::Etcd,
        Component::KubeApiserver,
        Component::KubeControllerManager,
        Component::KubeScheduler,
    ];

    /// The component's name: its binary's file name, and the stem of its log and PID files.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Component::Etcd => "etcd",
            Component::KubeApiserver => "kube-apiserver",
            Component::KubeControllerManager => "kube-controller-manager",
            Component::KubeScheduler => "kube-scheduler",
        }
    }

    /// The user name (certificate CN) the component authenticates to kube-apiserver with, if it
    /// is a client of kube-apiserver. These are the names the default RBAC bootstrap policy binds.
    #[must_use]
    pub fn apiserver_user(self) -> Option<&'static str> {
        match self {
            Component::Etcd | Component::KubeApiserver => None,
            Component::KubeControllerManager => Some("system:kube-controller-manager"),
            Component::KubeScheduler => Some("system:kube-scheduler"),
        }
    }
}

/// The loopback ports one environment uses. Chosen free at first `devenv up`, then kept in
/// `state.json` so kubeconfigs stay valid across `down`/`up`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ports {
    /// etcd client URL port.
    pub etcd_client: u16,
    /// etcd peer URL port.
    pub etcd_peer: u16,
    /// kube-apiserver secure port.
    pub apiserver: u16,
    /// kube-controller-manager secure (health, metrics) port.
    pub controller_manager: u16,
    /// kube-scheduler secure (health, metrics) port.
    pub scheduler: u16,
}

/// Cluster-wide settings that shape the command lines and the PKI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterSettings {
    /// The address kube-apiserver listens on (default `127.0.0.1`).
    pub bind_address: IpAddr,
    /// The address kube-apiserver advertises in the `kubernetes` Service's endpoints; `None` lets
    /// kube-apiserver pick the host's default-route address.
    pub advertise_address: Option<IpAddr>,
    /// The Service ClusterIP range.
    pub service_cidr: String,
    /// The first address of `service_cidr` (the `kubernetes` Service's ClusterIP).
    pub kubernetes_service_ip: IpAddr,
    /// Ports of every component.
    pub ports: Ports,
}

impl ClusterSettings {
    /// The default settings for the given ports.
    #[must_use]
    pub fn with_ports(ports: Ports) -> Self {
        Self {
            bind_address: IpAddr::from([127, 0, 0, 1]),
            advertise_address: None,
            service_cidr: "10.96.0.0/16".to_owned(),
            kubernetes_service_ip: IpAddr::from([10, 96, 0, 1]),
            ports,
        }
    }

    /// The URL clients (kubeconfigs, readiness probes) use to reach kube-apiserver.
    #[must_use]
    pub fn apiserver_url(&self) -> String {
        let host = if self.bind_address.is_unspecified() {
            IpAddr::from([127, 0, 0, 1])
        } else {
            self.bind_address
        };
        match host {
            IpAddr::V4(v4) => format!("https://{v4}:{}", self.ports.apiserver),
            IpAddr::V6(v6) => format!("https://[{v6}]:{}", self.ports.apiserver),
        }
    }

    /// etcd's client URL.
    #[must_use]
    pub fn etcd_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.etcd_client)
    }
}

/// How to check that a component is ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// Plain HTTP GET on loopback, expecting 200.
    Http {
        /// Port on 127.0.0.1.
        port: u16,
        /// Request path.
        path: &'static str,
    },
    /// HTTPS GET on loopback verifying the serving certificate against the cluster CA and
    /// presenting the admin client certificate, expecting 200.
    Https {
        /// Port on 127.0.0.1.
        port: u16,
        /// Request path.
        path: &'static str,
    },
}

/// The argv (without the program) of `component` for this environment.
#[must_use]
pub fn args(component: Component, layout: &Layout, settings: &ClusterSettings) -> Vec<String> {
    let p = |f: &str| path_str(layout.pki(f));
    let ports = settings.ports;
    match component {
        Component::Etcd => {
            let client = settings.etcd_url();
            let peer = format!("http://127.0.0.1:{}", ports.etcd_peer);
            vec![
                "--name=devenv".to_owned(),
                format!("--data-dir={}", path_str(layout.etcd_data_dir())),
                format!("--listen-client-urls={client}"),
                format!("--advertise-client-urls={client}"),
                format!("--listen-peer-urls={peer}"),
                format!("--initial-advertise-peer-urls={peer}"),
                format!("--initial-cluster=devenv={peer}"),
                "--initial-cluster-state=new".to_owned(),
                // A throw-away development store: durability is traded for speed, as envtest does.
                "--unsafe-no-fsync=true".to_owned(),
                "--log-level=warn".to_owned(),
            ]
        }
        Component::KubeApiserver => {
            let mut v = vec![
                format!("--etcd-servers={}", settings.etcd_url()),
                format!("--bind-address={}", settings.bind_address),
                format!("--secure-port={}", ports.apiserver),
                format!("--cert-dir={}", path_str(layout.apiserver_cert_dir())),
                format!("--tls-cert-file={}", p("apiserver.crt")),
                format!("--tls-private-key-file={}", p("apiserver.key")),
                format!("--client-ca-file={}", p("ca.crt")),
                format!(
                    "--kubelet-client-certificate={}",
                    p("apiserver-kubelet-client.crt")
                ),
                format!("--kubelet-client-key={}", p("apiserver-kubelet-client.key")),
                // devenv's kubelet API (crate::kubelet) serves with a cluster-CA certificate on
                // the nodes' InternalIP; their Hostname does not resolve on the host.
                format!("--kubelet-certificate-authority={}", p("ca.crt")),
                "--kubelet-preferred-address-types=InternalIP".to_owned(),
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local".to_owned(),
                format!("--service-account-key-file={}", p("sa.pub")),
                format!("--service-account-signing-key-file={}", p("sa.key")),
                format!("--service-cluster-ip-range={}", settings.service_cidr),
                "--authorization-mode=Node,RBAC".to_owned(),
                // Added to the default admission plugins (which stay on, ServiceAccount included,
                // because kube-controller-manager runs).
                "--enable-admission-plugins=NodeRestriction".to_owned(),
                "--allow-privileged=true".to_owned(),
                // The aggregation layer: kube-aggregator authenticates to extension API servers
                // with the front-proxy client certificate and passes the user in these headers.
                format!("--requestheader-client-ca-file={}", p("front-proxy-ca.crt")),
                "--requestheader-allowed-names=front-proxy-client".to_owned(),
                "--requestheader-username-headers=X-Remote-User".to_owned(),
                "--requestheader-group-headers=X-Remote-Group".to_owned(),
                "--requestheader-extra-headers-prefix=X-Remote-Extra-".to_owned(),
                "--requestheader-uid-headers=X-Remote-Uid".to_owned(),
                format!("--proxy-client-cert-file={}", p("front-proxy-client.crt")),
                format!("--proxy-client-key-file={}", p("front-proxy-client.key")),
                // No kube-proxy: dial the Service's endpoint address, not its ClusterIP.
                "--enable-aggregator-routing=true".to_owned(),
                "--v=1".to_owned(),
            ];
            if let Some(addr) = settings.advertise_address {
                v.push(format!("--advertise-address={addr}"));
            }
            v
        }
        Component::KubeControllerManager => {
            let kubeconfig = path_str(layout.component_kubeconfig(component));
            vec![
                format!("--kubeconfig={kubeconfig}"),
                format!("--authentication-kubeconfig={kubeconfig}"),
                format!("--authorization-kubeconfig={kubeconfig}"),
                "--bind-address=127.0.0.1".to_owned(),
                format!("--secure-port={}", ports.controller_manager),
                format!("--tls-cert-file={}", p("controller-manager-serving.crt")),
                format!(
                    "--tls-private-key-file={}",
                    p("controller-manager-serving.key")
                ),
                format!("--client-ca-file={}", p("ca.crt")),
                "--leader-elect=false".to_owned(),
                "--controllers=*".to_owned(),
                "--use-service-account-credentials=true".to_owned(),
                format!("--service-account-private-key-file={}", p("sa.key")),
                format!("--root-ca-file={}", p("ca.crt")),
                format!("--cluster-signing-cert-file={}", p("ca.crt")),
                format!("--cluster-signing-key-file={}", p("ca.key")),
                format!("--service-cluster-ip-range={}", settings.service_cidr),
                "--cluster-name=devenv".to_owned(),
                "--v=1".to_owned(),
            ]
        }
        Component::KubeScheduler => {
            let kubeconfig = path_str(layout.component_kubeconfig(component));
            vec![
                format!("--kubeconfig={kubeconfig}"),
                format!("--authentication-kubeconfig={kubeconfig}"),
                format!("--authorization-kubeconfig={kubeconfig}"),
                "--bind-address=127.0.0.1".to_owned(),
                format!("--secure-port={}", ports.scheduler),
                format!("--tls-cert-file={}", p("scheduler-serving.crt")),
                format!("--tls-private-key-file={}", p("scheduler-serving.key")),
                format!("--client-ca-file={}", p("ca.crt")),
                "--leader-elect=false".to_owned(),
                "--v=1".to_owned(),
            ]
        }
    }
}

/// How to check that `component` is ready.
#[must_use]
pub fn readiness(component: Component, ports: &Ports) -> Readiness {
    match component {
        Component::Etcd => Readiness::Http {
            port: ports.etcd_client,
            path: "/health",
        },
        Component::KubeApiserver => Readiness::Https {
            port: ports.apiserver,
            path: "/readyz",
        },
        Component::KubeControllerManager => Readiness::Https {
            port: ports.controller_manager,
            path: "/healthz",
        },
        Component::KubeScheduler => Readiness::Https {
            port: ports.scheduler,
            path: "/readyz",
        },
    }
}

fn path_str(p: PathBuf) -> String {
    p.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mk_settings() -> ClusterSettings {
        ClusterSettings::with_ports(Ports {
            etcd_client: 1001,
            etcd_peer: 1002,
            apiserver: 1003,
            controller_manager: 1004,
            scheduler: 1005,
        })
    }

    fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
        let prefix = format!("--{name}=");
        let mut found = args.iter().filter_map(|a| a.strip_prefix(&prefix));
        let first = found.next();
        assert!(found.next().is_none(), "--{name} given twice");
        first
    }

    #[test]
    fn apiserver_configures_the_whole_aggregation_layer() {
        let a = args(Component::KubeApiserver, &Layout::new("/s"), &mk_settings());
        for (name, value) in [
            ("requestheader-client-ca-file", "/s/pki/front-proxy-ca.crt"),
            ("requestheader-allowed-names", "front-proxy-client"),
            ("requestheader-username-headers", "X-Remote-User"),
            ("requestheader-group-headers", "X-Remote-Group"),
            ("requestheader-extra-headers-prefix", "X-Remote-Extra-"),
            ("requestheader-uid-headers", "X-Remote-Uid"),
            ("proxy-client-cert-file", "/s/pki/front-proxy-client.crt"),
            ("proxy-client-key-file", "/s/pki/front-proxy-client.key"),
            ("enable-aggregator-routing", "true"),
        ] {
            assert_eq!(flag(&a, name), Some(value), "--{name}");
        }
    }

    #[test]
    fn apiserver_authenticates_authorizes_and_admits_like_a_real_cluster() {
        let a = args(Component::KubeApiserver, &Layout::new("/s"), &mk_settings());
        assert_eq!(flag(&a, "authorization-mode"), Some("Node,RBAC"));
        assert_eq!(flag(&a, "client-ca-file"), Some("/s/pki/ca.crt"));
        assert_eq!(flag(&a, "etcd-servers"), Some("http://127.0.0.1:1001"));
        assert_eq!(flag(&a, "secure-port"), Some("1003"));
        assert_eq!(flag(&a, "service-account-key-file"), Some("/s/pki/sa.pub"));
        assert_eq!(
            flag(&a, "service-account-signing-key-file"),
            Some("/s/pki/sa.key")
        );
        // Default admission plugins stay on: nothing is disabled.
        assert_eq!(flag(&a, "disable-admission-plugins"), None);
        assert_eq!(flag(&a, "advertise-address"), None);
        // Never the default /var/run/kubernetes.
        assert_eq!(flag(&a, "cert-dir"), Some("/s/apiserver-cert-dir"));
    }

    #[test]
    fn advertise_address_is_passed_only_when_chosen() {
        let mut s = mk_settings();
        s.advertise_address = Some(IpAddr::from([10, 244, 0, 1]));
        let a = args(Component::KubeApiserver, &Layout::new("/s"), &s);
        assert_eq!(flag(&a, "advertise-address"), Some("10.244.0.1"));
    }

    #[test]
    fn controller_manager_runs_every_default_controller_with_the_token_signer() {
        let a = args(
            Component::KubeControllerManager,
            &Layout::new("/s"),
            &mk_settings(),
        );
        assert_eq!(flag(&a, "controllers"), Some("*"));
        assert_eq!(
            flag(&a, "service-account-private-key-file"),
            Some("/s/pki/sa.key")
        );
        assert_eq!(flag(&a, "root-ca-file"), Some("/s/pki/ca.crt"));
        assert_eq!(flag(&a, "use-service-account-credentials"), Some("true"));
        assert_eq!(
            flag(&a, "kubeconfig"),
            Some("/s/kubeconfigs/kube-controller-manager.kubeconfig")
        );
        assert_eq!(flag(&a, "secure-port"), Some("1004"));
    }

    #[test]
    fn every_component_listens_only_on_its_own_ports() {
        let s = mk_settings();
        let l = Layout::new("/s");
        let e = args(Component::Etcd, &l, &s);
        assert_eq!(
            flag(&e, "listen-client-urls"),
            Some("http://127.0.0.1:1001")
        );
        assert_eq!(flag(&e, "listen-peer-urls"), Some("http://127.0.0.1:1002"));
        assert_eq!(flag(&e, "data-dir"), Some("/s/etcd"));
        let sch = args(Component::KubeScheduler, &l, &s);
        assert_eq!(flag(&sch, "secure-port"), Some("1005"));
        assert_eq!(flag(&sch, "bind-address"), Some("127.0.0.1"));
    }

    #[test]
    fn readiness_endpoints() {
        let s = mk_settings();
        assert_eq!(
            readiness(Component::Etcd, &s.ports),
            Readiness::Http {
                port: 1001,
                path: "/health"
            }
        );
        assert_eq!(
            readiness(Component::KubeApiserver, &s.ports),
            Readiness::Https {
                port: 1003,
                path: "/readyz"
            }
        );
    }

    #[test]
    fn apiserver_url_uses_loopback_for_a_wildcard_bind() {
        let mut s = mk_settings();
        assert_eq!(s.apiserver_url(), "https://127.0.0.1:1003");
        s.bind_address = IpAddr::from([0, 0, 0, 0]);
        assert_eq!(s.apiserver_url(), "https://127.0.0.1:1003");
    }
}
