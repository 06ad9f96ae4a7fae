//! The little of a kubeconfig the benchmark needs: the current context's server, CA and token.

use base64::Engine as _;
use serde_yaml::Value;

/// Why a kubeconfig could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KubeconfigError {
    /// Not YAML.
    #[error("kubeconfig is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    /// A required entry is missing.
    #[error("kubeconfig has no {0}")]
    Missing(String),
    /// `certificate-authority-data` is not base64.
    #[error("certificate-authority-data is not base64: {0}")]
    Base64(#[from] base64::DecodeError),
}

/// Where the CA certificate of a cluster comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaSource {
    /// Inline PEM (decoded `certificate-authority-data`).
    Pem(String),
    /// A PEM file (`certificate-authority`).
    File(String),
    /// None given.
    None,
}

/// The current context of a kubeconfig, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeTarget {
    /// `https://host:port`.
    pub server: String,
    /// The CA to trust.
    pub ca: CaSource,
    /// Bearer token of the context's user, if any.
    pub token: Option<String>,
}

fn named<'a>(root: &'a Value, list: &str, name: &str, inner: &str) -> Option<&'a Value> {
    root.get(list)?
        .as_sequence()?
        .iter()
        .find(|e| e.get("name").and_then(Value::as_str) == Some(name))?
        .get(inner)
}

/// Resolves the current context of the kubeconfig `text`.
///
/// # Errors
/// [`KubeconfigError`] when the YAML is invalid or the context, cluster or server is missing.
pub fn parse(text: &str) -> Result<KubeTarget, KubeconfigError> {
    let root: Value = serde_yaml::from_str(text)?;
    let current = root
        .get("current-context")
        .and_then(Value::as_str)
        .ok_or_else(|| KubeconfigError::Missing("current-context".into()))?;
    let context = named(&root, "contexts", current, "context")
        .ok_or_else(|| KubeconfigError::Missing(format!("context {current:?}")))?;
    let cluster_name = context
        .get("cluster")
        .and_then(Value::as_str)
        .ok_or_else(|| KubeconfigError::Missing("context.cluster".into()))?;
    let cluster = named(&root, "clusters", cluster_name, "cluster")
        .ok_or_else(|| KubeconfigError::Missing(format!("cluster {cluster_name:?}")))?;
    let server = cluster
        .get("server")
        .and_then(Value::as_str)
        .ok_or_else(|| KubeconfigError::Missing("cluster.server".into()))?
        .to_owned();
    let ca = if let Some(data) = cluster
        .get("certificate-authority-data")
        .and_then(Value::as_str)
    {
        let bytes = base64::engine::general_purpose::STANDARD.decode(data.trim())?;
        CaSource::Pem(String::from_utf8_lossy(&bytes).into_owned())
    } else if let Some(path) = cluster.get("certificate-authority").and_then(Value::as_str) {
        CaSource::File(path.to_owned())
    } else {
        CaSource::None
    };
    let token = context
        .get("user")
        .and_then(Value::as_str)
        .and_then(|user| named(&root, "users", user, "user"))
        .and_then(|u| u.get("token"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(KubeTarget { server, ca, token })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STANDALONE: &str = "apiVersion: v1\nkind: Config\nclusters:\n- name: navigator\n  cluster:\n    server: https://127.0.0.1:40123\n    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==\nusers:\n- name: navigator\n  user:\n    token: navigator-standalone\ncontexts:\n- name: navigator\n  context:\n    cluster: navigator\n    user: navigator\n    namespace: default\ncurrent-context: navigator\n";

    #[test]
    fn reads_the_standalone_kubeconfig() {
        let target = parse(STANDALONE).expect("parses");
        assert_eq!(target.server, "https://127.0.0.1:40123");
        assert_eq!(
            target.ca,
            CaSource::Pem("-----BEGIN CERTIFICATE-----\n".into())
        );
        assert_eq!(target.token.as_deref(), Some("navigator-standalone"));
    }

    #[test]
    fn missing_context_is_an_error() {
        let text = STANDALONE.replace("current-context: navigator", "current-context: other");
        assert!(matches!(parse(&text), Err(KubeconfigError::Missing(_))));
    }
}
