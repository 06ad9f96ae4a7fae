//! The Kubernetes API client of the navigator binaries (controller and pilots): from a kubeconfig
//! when given, else inferred (`$KUBECONFIG`, `~/.kube/config`, then the in-cluster ServiceAccount).

pub mod leader;
pub mod merge_patch;

use std::path::Path;

use kube::config::{KubeConfigOptions, Kubeconfig};

/// The API could not be reached or configured.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The kubeconfig could not be read.
    #[error("reading kubeconfig {path}: {source}")]
    Kubeconfig {
        /// The file.
        path: String,
        /// The underlying error.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// Neither a kubeconfig nor the in-cluster configuration was found.
    #[error("no API configuration (no kubeconfig, not in a pod): {0}")]
    Infer(#[from] kube::config::InferConfigError),
    /// The client could not be built.
    #[error("building the API client: {0}")]
    Build(#[from] kube::Error),
}

/// Selects rustls' aws-lc-rs provider for the process (the workspace's dependency graph enables
/// more than one, so rustls cannot choose by itself). Idempotent.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// A client from `kubeconfig` when given, else inferred (`$KUBECONFIG`, `~/.kube/config`, then
/// the in-cluster ServiceAccount).
pub async fn client(kubeconfig: Option<&Path>) -> Result<kube::Client, ClientError> {
    install_crypto_provider();
    let config = match kubeconfig {
        Some(path) => {
            let err = |source| ClientError::Kubeconfig {
                path: path.display().to_string(),
                source,
            };
            let file = Kubeconfig::read_from(path).map_err(err)?;
            kube::Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
                .await
                .map_err(err)?
        }
        None => kube::Config::infer().await?,
    };
    Ok(kube::Client::try_from(config)?)
}
