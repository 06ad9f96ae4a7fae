//! Where the client CAs and front-proxy settings come from (Go's
//! `server/options/authentication.go` `DelegatingAuthenticationOptions.ApplyTo`): explicit
//! flags, else the `kube-system/extension-apiserver-authentication` ConfigMap kube-apiserver
//! writes, reread periodically so rotated CAs are picked up.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;

use super::{AuthnError, CaBundle, ClientAuthConfig, DynamicClientAuth, RequestHeaderConfig};

/// The ConfigMap's namespace.
pub const NAMESPACE: &str = "kube-system";
/// The ConfigMap's name.
pub const NAME: &str = "extension-apiserver-authentication";

/// The front-proxy settings before the CA is parsed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestHeaderSource {
    /// PEM CA bundle.
    pub ca_pem: String,
    /// Allowed common names.
    pub allowed_names: Vec<String>,
    /// User name headers.
    pub username_headers: Vec<String>,
    /// Group headers.
    pub group_headers: Vec<String>,
    /// Extra header prefixes.
    pub extra_headers_prefixes: Vec<String>,
    /// UID headers.
    pub uid_headers: Vec<String>,
}

/// Client CA and front-proxy settings before parsing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientAuthSource {
    /// PEM client CA bundle.
    pub client_ca_pem: Option<String>,
    /// Front-proxy settings.
    pub request_header: Option<RequestHeaderSource>,
}

/// The flags (`--client-ca-file`, `--requestheader-*`); files are read at each refresh.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientAuthFlags {
    /// `--client-ca-file`.
    pub client_ca_file: Option<PathBuf>,
    /// `--requestheader-client-ca-file`.
    pub requestheader_client_ca_file: Option<PathBuf>,
    /// `--requestheader-allowed-names`.
    pub requestheader_allowed_names: Vec<String>,
    /// `--requestheader-username-headers`.
    pub requestheader_username_headers: Vec<String>,
    /// `--requestheader-group-headers`.
    pub requestheader_group_headers: Vec<String>,
    /// `--requestheader-extra-headers-prefix`.
    pub requestheader_extra_headers_prefix: Vec<String>,
    /// `--requestheader-uid-headers`.
    pub requestheader_uid_headers: Vec<String>,
}

fn read(path: &PathBuf) -> Result<String, AuthnError> {
    std::fs::read_to_string(path).map_err(|source| AuthnError::Io {
        path: path.display().to_string(),
        source,
    })
}

impl ClientAuthFlags {
    /// The settings the flags give (files read now).
    ///
    /// # Errors
    /// [`AuthnError::Io`] when a named file cannot be read.
    pub fn source(&self) -> Result<ClientAuthSource, AuthnError> {
        let client_ca_pem = self.client_ca_file.as_ref().map(read).transpose()?;
        let request_header = match &self.requestheader_client_ca_file {
            Some(f) => Some(RequestHeaderSource {
                ca_pem: read(f)?,
                allowed_names: self.requestheader_allowed_names.clone(),
                username_headers: self.requestheader_username_headers.clone(),
                group_headers: self.requestheader_group_headers.clone(),
                extra_headers_prefixes: self.requestheader_extra_headers_prefix.clone(),
                uid_headers: self.requestheader_uid_headers.clone(),
            }),
            None => None,
        };
        Ok(ClientAuthSource {
            client_ca_pem,
            request_header,
        })
    }
}

fn json_list(data: &BTreeMap<String, String>, key: &str) -> Result<Vec<String>, AuthnError> {
    match data.get(key).map(|s| s.trim()) {
        None | Some("") => Ok(Vec::new()),
        Some(v) => serde_json::from_str(v).map_err(|e| AuthnError::ConfigMap {
            key: key.to_owned(),
            message: format!("not a JSON list of strings: {e}"),
        }),
    }
}

/// The settings in the ConfigMap's data (list-valued keys are JSON arrays in strings).
///
/// # Errors
/// [`AuthnError::ConfigMap`] for malformed lists.
pub fn source_from_configmap(
    data: &BTreeMap<String, String>,
) -> Result<ClientAuthSource, AuthnError> {
    let client_ca_pem = data
        .get("client-ca-file")
        .filter(|v| !v.trim().is_empty())
        .cloned();
    let request_header = match data
        .get("requestheader-client-ca-file")
        .filter(|v| !v.trim().is_empty())
    {
        Some(ca) => Some(RequestHeaderSource {
            ca_pem: ca.clone(),
            allowed_names: json_list(data, "requestheader-allowed-names")?,
            username_headers: json_list(data, "requestheader-username-headers")?,
            group_headers: json_list(data, "requestheader-group-headers")?,
            extra_headers_prefixes: json_list(data, "requestheader-extra-headers-prefix")?,
            uid_headers: json_list(data, "requestheader-uid-headers")?,
        }),
        None => None,
    };
    Ok(ClientAuthSource {
        client_ca_pem,
        request_header,
    })
}

/// Flags win, each part on its own: an explicit `--client-ca-file` replaces the ConfigMap's
/// client CA, an explicit `--requestheader-client-ca-file` replaces all its front-proxy keys.
pub fn merge(flags: ClientAuthSource, configmap: Option<ClientAuthSource>) -> ClientAuthSource {
    let cm = configmap.unwrap_or_default();
    ClientAuthSource {
        client_ca_pem: flags.client_ca_pem.or(cm.client_ca_pem),
        request_header: flags.request_header.or(cm.request_header),
    }
}

/// Warnings Go logs about a front-proxy configuration the aggregator cannot use.
pub fn warnings(source: &ClientAuthSource) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(rh) = &source.request_header {
        if !rh
            .username_headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case("x-remote-user"))
        {
            out.push(
                "requestheader username headers do not include X-Remote-User: API aggregation will not work"
                    .to_owned(),
            );
        }
    } else {
        out.push(
            "no requestheader client CA: requests through the aggregator will be anonymous"
                .to_owned(),
        );
    }
    out
}

/// Parses the CAs.
///
/// # Errors
/// [`AuthnError::CaBundle`] when a bundle is unusable.
pub fn build(source: &ClientAuthSource) -> Result<ClientAuthConfig, AuthnError> {
    let client_ca = source
        .client_ca_pem
        .as_deref()
        .map(|p| CaBundle::from_pem("client CA", p))
        .transpose()?;
    let request_header = match &source.request_header {
        Some(rh) => Some(RequestHeaderConfig {
            ca: CaBundle::from_pem("requestheader client CA", &rh.ca_pem)?,
            allowed_names: rh.allowed_names.clone(),
            username_headers: rh.username_headers.clone(),
            group_headers: rh.group_headers.clone(),
            extra_headers_prefixes: rh.extra_headers_prefixes.clone(),
            uid_headers: rh.uid_headers.clone(),
        }),
        None => None,
    };
    Ok(ClientAuthConfig {
        client_ca,
        request_header,
    })
}

/// Reads the ConfigMap's data.
///
/// # Errors
/// [`AuthnError::Kube`] when it cannot be read.
pub async fn fetch(client: &kube::Client) -> Result<BTreeMap<String, String>, AuthnError> {
    let api: kube::Api<ConfigMap> = kube::Api::namespaced(client.clone(), NAMESPACE);
    let cm = tokio::time::timeout(Duration::from_secs(10), api.get(NAME))
        .await
        .map_err(|_| AuthnError::Kube(format!("reading ConfigMap {NAMESPACE}/{NAME}: timed out")))?
        .map_err(|e| AuthnError::Kube(format!("reading ConfigMap {NAMESPACE}/{NAME}: {e}")))?;
    Ok(cm.data.unwrap_or_default())
}

/// Loads flags and (with a client) the ConfigMap once.
///
/// # Errors
/// [`AuthnError`] when a file, the ConfigMap or a CA cannot be used.
pub async fn load(
    flags: &ClientAuthFlags,
    client: Option<&kube::Client>,
) -> Result<ClientAuthConfig, AuthnError> {
    let from_flags = flags.source()?;
    let from_cm = match client {
        Some(c) => Some(source_from_configmap(&fetch(c).await?)?),
        None => None,
    };
    let source = merge(from_flags, from_cm);
    if client.is_none() || flags.requestheader_client_ca_file.is_none() {
        for w in warnings(&source) {
            tracing::debug!("{w}");
        }
    }
    build(&source)
}

/// Rereads flags' files and the ConfigMap every `interval`, swapping the configuration when it
/// changed; failures are logged and the previous configuration kept.
pub fn spawn_refresh(
    flags: ClientAuthFlags,
    client: Option<kube::Client>,
    target: Arc<DynamicClientAuth>,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            match load(&flags, client.as_ref()).await {
                Ok(config) => {
                    if target.set(config) {
                        tracing::info!("client CA / front-proxy configuration updated");
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "client CA / front-proxy configuration not refreshed")
                }
            }
        }
    })
}
