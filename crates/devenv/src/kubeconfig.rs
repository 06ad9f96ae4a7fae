//! Kubeconfig files with embedded certificate data, so each file works on its own (copied to
//! another directory, given to a test, or read by kube-rs/client-go/kubectl).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

/// What one kubeconfig contains: one cluster, one user, one context, all named `devenv`/user.
#[derive(Debug, Clone)]
pub struct Kubeconfig<'a> {
    /// kube-apiserver's URL, e.g. `https://127.0.0.1:6443`.
    pub server: &'a str,
    /// PEM of the CA that signed kube-apiserver's serving certificate.
    pub ca_pem: &'a str,
    /// The user entry's name (the client certificate's CN, for readability).
    pub user: &'a str,
    /// PEM of the client certificate.
    pub client_cert_pem: &'a str,
    /// PEM of the client key.
    pub client_key_pem: &'a str,
}

/// Renders `k` as kubeconfig YAML. Pure.
///
/// # Errors
/// Only if YAML serialization fails, which it does not for these string values.
pub fn render(k: &Kubeconfig<'_>) -> Result<String, serde_yaml::Error> {
    let b64 = |s: &str| STANDARD.encode(s.as_bytes());
    let doc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": "devenv",
            "cluster": {
                "server": k.server,
                "certificate-authority-data": b64(k.ca_pem),
            },
        }],
        "users": [{
            "name": k.user,
            "user": {
                "client-certificate-data": b64(k.client_cert_pem),
                "client-key-data": b64(k.client_key_pem),
            },
        }],
        "contexts": [{
            "name": "devenv",
            "context": { "cluster": "devenv", "user": k.user, "namespace": "default" },
        }],
        "current-context": "devenv",
        "preferences": {},
    });
    serde_yaml::to_string(&doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_one_self_contained_context() {
        let y = render(&Kubeconfig {
            server: "https://127.0.0.1:6443",
            ca_pem: "CA",
            user: "kubernetes-admin",
            client_cert_pem: "CERT",
            client_key_pem: "KEY",
        })
        .expect("render");
        let v: serde_json::Value = serde_yaml::from_str(&y).expect("parse");
        assert_eq!(v["current-context"], "devenv");
        assert_eq!(
            v["clusters"][0]["cluster"]["server"],
            "https://127.0.0.1:6443"
        );
        assert_eq!(
            v["clusters"][0]["cluster"]["certificate-authority-data"],
            STANDARD.encode("CA")
        );
        assert_eq!(v["users"][0]["name"], "kubernetes-admin");
        assert_eq!(
            v["users"][0]["user"]["client-key-data"],
            STANDARD.encode("KEY")
        );
        assert_eq!(v["contexts"][0]["context"]["user"], "kubernetes-admin");
    }
}
