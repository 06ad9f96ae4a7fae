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

    /// Key prefix of stored objects, as Kubernetes' `--etcd-prefix`.
    #[arg(long, default_value = "/registry/navigator.jetstack.io")]
    pub storage_prefix: String,

    /// Revisions of history kept for watches to resume from; older ones are compacted and
    /// watches from them get 410 Gone.
    #[arg(long, default_value_t = 10_000)]
    pub compaction_history: u64,

    /// Seconds between compactions.
    #[arg(long, default_value_t = 60)]
    pub compaction_interval_seconds: u64,

    /// Where to write the generated kubeconfig (default `<data-dir>/kubeconfig`).
    #[arg(long)]
    pub kubeconfig_out: Option<PathBuf>,

    /// Log as JSON lines instead of text.
    #[arg(long)]
    pub log_json: bool,
}

/// The validated configuration the server is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Data directory.
    pub data_dir: PathBuf,
    /// Embedded store file.
    pub store_path: PathBuf,
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
    /// Revisions of history kept.
    pub compaction_history: u64,
    /// Seconds between compactions.
    pub compaction_interval_seconds: u64,
    /// Where the kubeconfig goes.
    pub kubeconfig_path: PathBuf,
    /// JSON logs.
    pub log_json: bool,
}

impl Options {
    /// Every problem with the options, in words a user can act on.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !self.standalone {
            problems.push(
                "only --standalone mode is available in this release (etcd storage and delegated authentication come next)"
                    .to_owned(),
            );
        }
        if self.compaction_history == 0 {
            problems.push("--compaction-history must be at least 1".to_owned());
        }
        if self.compaction_interval_seconds == 0 {
            problems.push("--compaction-interval-seconds must be at least 1".to_owned());
        }
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
        Ok(Config {
            store_path: self.data_dir.join("store.redb"),
            cert_dir: self.data_dir.join("certs"),
            data_dir: self.data_dir,
            bind_address: self.bind_address,
            secure_port: self.secure_port,
            http_port: self.http_port,
            tls_files: self.tls_cert_file.zip(self.tls_private_key_file),
            tls_sans: self.tls_sans,
            storage_prefix: self.storage_prefix,
            compaction_history: self.compaction_history,
            compaction_interval_seconds: self.compaction_interval_seconds,
            kubeconfig_path,
            log_json: self.log_json,
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
        assert_eq!(config.store_path, PathBuf::from("/tmp/nav/store.redb"));
        assert_eq!(config.cert_dir, PathBuf::from("/tmp/nav/certs"));
        assert_eq!(config.kubeconfig_path, PathBuf::from("/tmp/nav/kubeconfig"));
        assert_eq!(config.secure_port, 6443);
        assert_eq!(config.storage_prefix, "/registry/navigator.jetstack.io");
    }

    #[test]
    fn every_problem_is_reported() {
        let problems =
            parse(&["--compaction-history", "0", "--storage-prefix", "registry/"]).validate();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("--standalone"));
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
