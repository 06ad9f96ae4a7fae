//! Command-line options of `navigator-apiserver`, validated into a [`Config`].
//!
//! Options → `validate()` (every problem at once) → [`Config`] → the server. Only
//! [`Options::into_config`] builds a `Config`.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Parser;

/// `navigator-apiserver`: the Kubernetes API server of the `navigator.jetstack.io` group
/// (CassandraCluster, ElasticsearchCluster, Pilot).
///
/// In standalone mode it needs no Kubernetes at all: it keeps objects in an embedded
/// single-file store, generates its own TLS certificates and writes a kubeconfig, so that
/// `kubectl --kubeconfig <data-dir>/kubeconfig get cassandraclusters` works at once.
#[derive(Debug, Clone, Parser)]
#[command(name = "navigator-apiserver", version, about, long_about = None)]
pub struct Options {
    /// Run without Kubernetes: embedded store, self-signed certificates, everyone allowed.
    #[arg(long)]
    pub standalone: bool,

    /// Where the embedded store, generated certificates and kubeconfig live.
    #[arg(long, default_value = "navigator-data", env = "NAVIGATOR_DATA_DIR")]
    pub data_dir: PathBuf,

    /// Address the HTTPS listener binds to.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind_address: IpAddr,

    /// HTTPS port (0 picks a free port; the chosen one is logged and written to the kubeconfig).
    #[arg(long, default_value_t = 6443)]
    pub secure_port: u16,

    /// Also serve plain HTTP on this loopback port (development only; never on other addresses).
    #[arg(long)]
    pub http_port: Option<u16>,

    /// Serving certificate (PEM). Generated under `<data-dir>/certs` when not given.
    #[arg(long, requires = "tls_private_key_file")]
    pub tls_cert_file: Option<PathBuf>,

    /// Serving key (PEM).
    #[arg(long, requires = "tls_cert_file")]
    pub tls_private_key_file: Option<PathBuf>,

    /// Extra names for the generated serving certificate (DNS names or IP addresses).
    #[arg(long, value_delimiter = ',')]
    pub tls_sans: Vec<String>,

    /// Key prefix of stored objects (Kubernetes' `--etcd-prefix`, accepted as an alias). A Go
    /// Navigator kept its objects under `/registry/navigator.jetstack.io/navigator.jetstack.io`.
    #[arg(
        long,
        visible_alias = "etcd-prefix",
        default_value = "/registry/navigator.jetstack.io"
    )]
    pub storage_prefix: String,

    /// etcd v3 servers to keep objects in (comma-separated URLs, `http://` or `https://`).
    /// Without it objects are kept in the embedded store under `--data-dir`.
    #[arg(long, value_delimiter = ',')]
    pub etcd_servers: Vec<String>,

    /// CA bundle (PEM) that verifies the etcd servers' certificates.
    #[arg(long)]
    pub etcd_cafile: Option<PathBuf>,

    /// Client certificate (PEM) presented to etcd; needs `--etcd-keyfile`.
    #[arg(long)]
    pub etcd_certfile: Option<PathBuf>,

    /// Key (PEM) of `--etcd-certfile`.
    #[arg(long)]
    pub etcd_keyfile: Option<PathBuf>,

    /// Embedded store only: revisions of history kept for watches to resume from; older ones
    /// are compacted and watches from them get 410 Gone. (With etcd, compaction follows
    /// kube-apiserver: each run compacts to the revision seen one interval before.)
    #[arg(long, default_value_t = 10_000)]
    pub compaction_history: u64,

    /// Seconds between compactions (default 60 for the embedded store, 300 for etcd as
    /// kube-apiserver's `--etcd-compaction-interval`).
    #[arg(long)]
    pub compaction_interval_seconds: Option<u64>,

    /// Where to write the generated kubeconfig (default `<data-dir>/kubeconfig`).
    #[arg(long)]
    pub kubeconfig_out: Option<PathBuf>,

    /// Log as JSON lines instead of text.
    #[arg(long)]
    pub log_json: bool,

    /// Most non-mutating requests served at once; more get 429 with Retry-After (0: no limit).
    /// Watches are not counted and system:masters is never refused.
    #[arg(long, default_value_t = apiserver::filters::max_in_flight::DEFAULT_MAX_REQUESTS_INFLIGHT)]
    pub max_requests_inflight: usize,

    /// Most mutating requests served at once; more get 429 with Retry-After (0: no limit).
    #[arg(long, default_value_t = apiserver::filters::max_in_flight::DEFAULT_MAX_MUTATING_REQUESTS_INFLIGHT)]
    pub max_mutating_requests_inflight: usize,

    /// Delegated security flags (not used with `--standalone`).
    #[command(flatten)]
    pub security: crate::security::SecurityOptions,
}

/// Seconds between compactions of the embedded store unless `--compaction-interval-seconds`.
pub const EMBEDDED_COMPACTION_INTERVAL_SECONDS: u64 = 60;
/// Seconds between compactions of etcd unless `--compaction-interval-seconds` (kube-apiserver's
/// `--etcd-compaction-interval` default, 5m).
pub const ETCD_COMPACTION_INTERVAL_SECONDS: u64 = 300;

/// Where objects are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageConfig {
    /// The embedded single-file store.
    Embedded {
        /// The store file.
        path: PathBuf,
        /// Revisions of history kept.
        compaction_history: u64,
    },
    /// An etcd v3 cluster.
    Etcd(EtcdOptions),
}

/// How to reach etcd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdOptions {
    /// Client URLs.
    pub endpoints: Vec<String>,
    /// CA bundle verifying the servers.
    pub ca_file: Option<PathBuf>,
    /// Client certificate and key.
    pub client_cert: Option<(PathBuf, PathBuf)>,
}

/// The validated configuration the server is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Data directory.
    pub data_dir: PathBuf,
    /// Where objects are kept.
    pub storage: StorageConfig,
    /// Directory of generated certificates.
    pub cert_dir: PathBuf,
    /// HTTPS bind address and port.
    pub bind_address: IpAddr,
    /// HTTPS port.
    pub secure_port: u16,
    /// Plain-HTTP loopback port.
    pub http_port: Option<u16>,
    /// Serving certificate and key files, when given.
    pub tls_files: Option<(PathBuf, PathBuf)>,
    /// Extra SANs of the generated certificate.
    pub tls_sans: Vec<String>,
    /// Storage key prefix.
    pub storage_prefix: String,
    /// Seconds between compactions.
    pub compaction_interval_seconds: u64,
    /// Where the kubeconfig goes.
    pub kubeconfig_path: PathBuf,
    /// JSON logs.
    pub log_json: bool,
    /// `--max-requests-inflight` (0: unlimited).
    pub max_requests_inflight: usize,
    /// `--max-mutating-requests-inflight` (0: unlimited).
    pub max_mutating_requests_inflight: usize,
    /// Delegated security; `None` with `--standalone` (everyone allowed).
    pub security: Option<crate::security::SecurityOptions>,
}

impl Options {
    /// Every problem with the options, in words a user can act on.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !self.standalone {
            problems.extend(self.security.validate());
        }
        if self.compaction_history == 0 {
            problems.push("--compaction-history must be at least 1".to_owned());
        }
        if self.compaction_interval_seconds == Some(0) {
            problems.push("--compaction-interval-seconds must be at least 1".to_owned());
        }
        problems.extend(self.etcd_problems());
        if !self.storage_prefix.starts_with('/') || self.storage_prefix.ends_with('/') {
            problems.push(format!(
                "--storage-prefix {:?} must start with '/' and not end with '/'",
                self.storage_prefix
            ));
        }
        if self
            .http_port
            .is_some_and(|p| p == self.secure_port && p != 0)
        {
            problems.push("--http-port must differ from --secure-port".to_owned());
        }
        problems
    }

    /// The problems of the `--etcd-*` flags.
    fn etcd_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for server in &self.etcd_servers {
            let scheme_ok = ["http://", "https://"].iter().any(|s| {
                server
                    .strip_prefix(s)
                    .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
            });
            if !scheme_ok {
                problems.push(format!(
                    "--etcd-servers: {server:?} is not a URL like https://host:2379"
                ));
            }
        }
        let tls_flags = [
            ("--etcd-cafile", self.etcd_cafile.is_some()),
            ("--etcd-certfile", self.etcd_certfile.is_some()),
            ("--etcd-keyfile", self.etcd_keyfile.is_some()),
        ];
        if self.etcd_servers.is_empty() {
            for (flag, _) in tls_flags.iter().filter(|(_, given)| *given) {
                problems.push(format!("{flag} needs --etcd-servers"));
            }
        } else if tls_flags.iter().any(|(_, given)| *given)
            && self.etcd_servers.iter().all(|s| s.starts_with("http://"))
        {
            problems.push(
                "--etcd-cafile/--etcd-certfile/--etcd-keyfile need https:// --etcd-servers"
                    .to_owned(),
            );
        }
        match (&self.etcd_certfile, &self.etcd_keyfile) {
            (Some(_), None) => problems.push("--etcd-certfile needs --etcd-keyfile".to_owned()),
            (None, Some(_)) => problems.push("--etcd-keyfile needs --etcd-certfile".to_owned()),
            _ => {}
        }
        problems
    }

    /// Validates and completes the options.
    ///
    /// # Errors
    /// Every problem [`Options::validate`] finds, joined into one message.
    pub fn into_config(self) -> Result<Config, String> {
        let problems = self.validate();
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        let kubeconfig_path = self
            .kubeconfig_out
            .unwrap_or_else(|| self.data_dir.join("kubeconfig"));
        let (storage, default_interval) = if self.etcd_servers.is_empty() {
            let storage = StorageConfig::Embedded {
                path: self.data_dir.join("store.redb"),
                compaction_history: self.compaction_history,
            };
            (storage, EMBEDDED_COMPACTION_INTERVAL_SECONDS)
        } else {
            let storage = StorageConfig::Etcd(EtcdOptions {
                endpoints: self.etcd_servers,
                ca_file: self.etcd_cafile,
                client_cert: self.etcd_certfile.zip(self.etcd_keyfile),
            });
            (storage, ETCD_COMPACTION_INTERVAL_SECONDS)
        };
        Ok(Config {
            storage,
            cert_dir: self.data_dir.join("certs"),
            data_dir: self.data_dir,
            bind_address: self.bind_address,
            secure_port: self.secure_port,
            http_port: self.http_port,
            tls_files: self.tls_cert_file.zip(self.tls_private_key_file),
            tls_sans: self.tls_sans,
            storage_prefix: self.storage_prefix,
            compaction_interval_seconds: self
                .compaction_interval_seconds
                .unwrap_or(default_interval),
            kubeconfig_path,
            log_json: self.log_json,
            max_requests_inflight: self.max_requests_inflight,
            max_mutating_requests_inflight: self.max_mutating_requests_inflight,
            security: (!self.standalone).then_some(self.security),
        })
    }
}

/// A kubeconfig for a standalone server: one cluster at `server` trusting `ca_pem`, one user,
/// one context selected. Standalone mode admits everyone; the user still carries a token because
/// kubectl prompts for a user name when a user entry has no credentials at all.
pub fn standalone_kubeconfig(server: &str, ca_pem: &str) -> String {
    use base64::Engine as _;
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: navigator\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\nusers:\n- name: navigator\n  user:\n    token: navigator-standalone\ncontexts:\n- name: navigator\n  context:\n    cluster: navigator\n    user: navigator\n    namespace: default\ncurrent-context: navigator\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Options {
        Options::try_parse_from(std::iter::once("navigator-apiserver").chain(args.iter().copied()))
            .unwrap()
    }

    #[test]
    fn defaults_complete_into_paths_under_the_data_dir() {
        let config = parse(&["--standalone", "--data-dir", "/tmp/nav"])
            .into_config()
            .unwrap();
        assert_eq!(
            config.storage,
            StorageConfig::Embedded {
                path: PathBuf::from("/tmp/nav/store.redb"),
                compaction_history: 10_000
            }
        );
        assert_eq!(config.compaction_interval_seconds, 60);
        assert_eq!(config.cert_dir, PathBuf::from("/tmp/nav/certs"));
        assert_eq!(config.kubeconfig_path, PathBuf::from("/tmp/nav/kubeconfig"));
        assert_eq!(config.secure_port, 6443);
        assert_eq!(config.storage_prefix, "/registry/navigator.jetstack.io");
        assert_eq!(
            (
                config.max_requests_inflight,
                config.max_mutating_requests_inflight
            ),
            (400, 200)
        );
    }

    #[test]
    fn in_flight_limits_take_kubernetes_flag_names() {
        let config = parse(&[
            "--standalone",
            "--max-requests-inflight=2",
            "--max-mutating-requests-inflight",
            "0",
        ])
        .into_config()
        .unwrap();
        assert_eq!(
            (
                config.max_requests_inflight,
                config.max_mutating_requests_inflight
            ),
            (2, 0)
        );
        assert!(Options::try_parse_from(["x", "--max-requests-inflight=-1"]).is_err());
    }

    #[test]
    fn every_problem_is_reported() {
        let problems = parse(&[
            "--compaction-history",
            "0",
            "--storage-prefix",
            "registry/",
            "--authorization-always-allow-paths",
            "healthz",
        ])
        .validate();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("--authorization-always-allow-paths"));
    }

    #[test]
    fn etcd_servers_select_etcd_with_its_tls_files() {
        let config = parse(&[
            "--standalone",
            "--etcd-servers",
            "https://10.0.0.1:2379,https://10.0.0.2:2379",
            "--etcd-cafile",
            "ca.crt",
            "--etcd-certfile",
            "client.crt",
            "--etcd-keyfile",
            "client.key",
            "--etcd-prefix",
            "/registry/navigator.jetstack.io/navigator.jetstack.io",
        ])
        .into_config()
        .unwrap();
        assert_eq!(
            config.storage,
            StorageConfig::Etcd(EtcdOptions {
                endpoints: vec![
                    "https://10.0.0.1:2379".to_owned(),
                    "https://10.0.0.2:2379".to_owned()
                ],
                ca_file: Some(PathBuf::from("ca.crt")),
                client_cert: Some((PathBuf::from("client.crt"), PathBuf::from("client.key"))),
            })
        );
        assert_eq!(config.compaction_interval_seconds, 300);
        assert_eq!(
            config.storage_prefix,
            "/registry/navigator.jetstack.io/navigator.jetstack.io"
        );
    }

    #[test]
    fn etcd_flag_problems_are_all_reported() {
        // (flags, expected problems — each a fragment of one message)
        let cases: &[(&[&str], &[&str])] = &[
            (
                &["--etcd-servers", "https://e:2379", "--etcd-certfile", "c"],
                &["--etcd-certfile needs --etcd-keyfile"],
            ),
            (
                &["--etcd-servers", "https://e:2379", "--etcd-keyfile", "k"],
                &["--etcd-keyfile needs --etcd-certfile"],
            ),
            (
                &["--etcd-cafile", "ca", "--etcd-keyfile", "k"],
                &[
                    "--etcd-cafile needs --etcd-servers",
                    "--etcd-keyfile needs --etcd-servers",
                    "--etcd-keyfile needs --etcd-certfile",
                ],
            ),
            (
                &["--etcd-servers", "e:2379,https://"],
                &["\"e:2379\" is not a URL", "\"https://\" is not a URL"],
            ),
            (
                &["--etcd-servers", "http://e:2379", "--etcd-cafile", "ca"],
                &["need https://"],
            ),
            (&["--etcd-servers", "http://127.0.0.1:2379"], &[]),
        ];
        for (flags, expected) in cases {
            let mut args = vec!["--standalone"];
            args.extend_from_slice(flags);
            let problems = parse(&args).validate();
            assert_eq!(problems.len(), expected.len(), "{flags:?}: {problems:?}");
            for (p, e) in problems.iter().zip(expected.iter()) {
                assert!(p.contains(e), "{flags:?}: {p:?} lacks {e:?}");
            }
        }
    }

    #[test]
    fn tls_files_come_in_pairs() {
        assert!(Options::try_parse_from(["x", "--tls-cert-file", "a"]).is_err());
        let config = parse(&[
            "--standalone",
            "--tls-cert-file",
            "a",
            "--tls-private-key-file",
            "b",
        ])
        .into_config()
        .unwrap();
        assert_eq!(
            config.tls_files,
            Some((PathBuf::from("a"), PathBuf::from("b")))
        );
    }

    #[test]
    fn kubeconfig_names_the_server_and_its_ca() {
        let text = standalone_kubeconfig("https://127.0.0.1:6443", "-----BEGIN CERTIFICATE-----\n");
        assert!(text.contains("server: https://127.0.0.1:6443"));
        assert!(text.contains("certificate-authority-data: LS0tLS1CRUdJTi"));
        assert!(text.contains("current-context: navigator"));
    }
}
