//! How to reach etcd: endpoints, TLS files and timeouts.

use std::path::PathBuf;
use std::time::Duration;

/// Where etcd is and how to talk to it (kube-apiserver's `--etcd-servers`, `--etcd-cafile`,
/// `--etcd-certfile`, `--etcd-keyfile`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdConfig {
    /// Client URLs, e.g. `http://127.0.0.1:2379` or `https://etcd-0:2379`. Requests are
    /// balanced over them; a member that goes away is retried when it comes back.
    pub endpoints: Vec<String>,
    /// Client TLS; required for `https://` endpoints with client-certificate auth.
    pub tls: Option<EtcdTls>,
    /// How long establishing a connection may take.
    pub dial_timeout: Duration,
    /// How long one request (get, list, txn, compact) may take before it fails with
    /// `StoreError::Backend`.
    pub request_timeout: Duration,
}

impl EtcdConfig {
    /// A configuration for `endpoints` with kube-apiserver's defaults: no TLS, 20 s dial
    /// timeout (`DefaultDialTimeout`), 15 s request timeout.
    pub fn new(endpoints: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            endpoints: endpoints.into_iter().map(Into::into).collect(),
            tls: None,
            dial_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(15),
        }
    }

    /// The same configuration with client TLS.
    #[must_use]
    pub fn with_tls(mut self, tls: EtcdTls) -> Self {
        self.tls = Some(tls);
        self
    }
}

/// PEM files for TLS to etcd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdTls {
    /// CA bundle that signed etcd's serving certificate (`--etcd-cafile`); `None` trusts the
    /// platform roots.
    pub ca_file: Option<PathBuf>,
    /// Client certificate (`--etcd-certfile`); with `key_file`, for `--client-cert-auth`.
    pub cert_file: Option<PathBuf>,
    /// Client private key (`--etcd-keyfile`).
    pub key_file: Option<PathBuf>,
}
