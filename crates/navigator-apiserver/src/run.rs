//! Builds the server from a [`Config`] and runs it until SIGTERM/ctrl-c.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use apimachinery::registry::{Registry, RegistryConfig, RestResource, Strategy};
use apimachinery::store::embedded::EmbeddedStore;
use apimachinery::store::watch_cache::{self, WatchCache};
use apimachinery::store::{CompactionSchedule, Storage, StoreError, spawn_compactor};
use apiserver::{
    ApiServer, CheckScope, HealthCheck, Metrics, OpenApiInput, ServingOptions, TlsSource,
};
use etcd_store::{EtcdConfig, EtcdStoreError, EtcdTls};
use navigator_api::scheme::ApiVersion;
use navigator_api::{GROUP, openapi, resources};

use crate::metered::MeteredStore;
use crate::options::{Config, EtcdOptions, StorageConfig, standalone_kubeconfig};
use crate::strategy::{CassandraClusterStrategy, ElasticsearchClusterStrategy, PilotStrategy};

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The data directory could not be created.
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The embedded store could not be opened.
    #[error("cannot open the store {path}: {source}")]
    Store {
        /// The store file.
        path: String,
        /// Why.
        #[source]
        source: StoreError,
    },
    /// etcd could not be reached or its configuration is unusable.
    #[error(transparent)]
    Etcd(#[from] EtcdStoreError),
    /// The server could not be assembled.
    #[error("cannot build the server: {0}")]
    Build(#[from] apiserver::BuildError),
    /// Delegated authentication or authorization could not be set up.
    #[error(transparent)]
    Security(#[from] crate::security::SecurityError),
    /// Binding or serving failed.
    #[error(transparent)]
    Serve(#[from] apiserver::ServeError),
    /// The kubeconfig could not be written.
    #[error("cannot write the kubeconfig {path}: {source}")]
    Kubeconfig {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// The OpenAPI documents the server publishes: v2 for all versions, v3 per group-version.
pub fn openapi_input() -> OpenApiInput {
    let v3: BTreeMap<String, serde_json::Value> = resources::SERVED_VERSIONS
        .iter()
        .map(|v| (format!("{GROUP}/{}", v.as_str()), openapi::v3_document(*v)))
        .collect();
    OpenApiInput {
        v2: Some(openapi::v2_document()),
        v3,
    }
}

/// The registries of the navigator resources over one store, one per kind's strategy.
pub fn registries<St: Storage>(store: &Arc<St>, key_prefix: &str) -> Vec<Arc<dyn RestResource>> {
    vec![
        registry(CassandraClusterStrategy::new(), store, key_prefix),
        registry(ElasticsearchClusterStrategy::new(), store, key_prefix),
        registry(PilotStrategy::new(), store, key_prefix),
    ]
}

fn registry<S: Strategy, St: Storage>(
    strategy: S,
    store: &Arc<St>,
    key_prefix: &str,
) -> Arc<dyn RestResource> {
    let mut config = RegistryConfig::new(key_prefix);
    // Standalone mode runs no garbage collector to remove orphan/foreground finalizers.
    config.garbage_collection = false;
    // Like custom resources: an immediate delete answers with the deleted object.
    config.return_deleted_object = true;
    Arc::new(Registry::new(strategy, Arc::clone(store), config))
}

/// The etcd client configuration of the `--etcd-*` options.
pub fn etcd_config(options: &EtcdOptions) -> EtcdConfig {
    let config = EtcdConfig::new(options.endpoints.iter().cloned());
    let (cert_file, key_file) = options.client_cert.clone().unzip();
    if options.ca_file.is_none() && cert_file.is_none() {
        return config;
    }
    config.with_tls(EtcdTls {
        ca_file: options.ca_file.clone(),
        cert_file,
        key_file,
    })
}

/// `/readyz` check: the store answers.
struct StoreCheck<St>(Arc<St>);

#[async_trait::async_trait]
impl<St: Storage> HealthCheck for StoreCheck<St> {
    fn name(&self) -> &str {
        "storage"
    }

    async fn check(&self) -> Result<(), String> {
        self.0
            .current_revision()
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// Runs the server described by `config` until SIGTERM or ctrl-c, over the store it names.
///
/// # Errors
/// [`RunError`] when the data directory, store, certificates, listeners or kubeconfig fail.
pub async fn run(config: Config) -> Result<(), RunError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|source| RunError::DataDir {
        path: config.data_dir.display().to_string(),
        source,
    })?;
    let metrics = Metrics::new();
    let interval = Duration::from_secs(config.compaction_interval_seconds);
    match &config.storage {
        StorageConfig::Embedded {
            path,
            compaction_history,
        } => {
            let embedded = EmbeddedStore::open(path).map_err(|source| RunError::Store {
                path: path.display().to_string(),
                source,
            })?;
            let store = Arc::new(MeteredStore::new(
                embedded,
                metrics.storage(),
                config.storage_prefix.clone(),
            ));
            let compactor = spawn_compactor(
                Arc::clone(&store),
                CompactionSchedule::KeepRevisions(*compaction_history),
                interval,
            );
            let served = serve(&config, metrics, store).await;
            compactor.abort();
            served
        }
        StorageConfig::Etcd(options) => {
            let etcd =
                crate::etcd_start::connect(etcd_config(options), crate::etcd_start::START_WAIT)
                    .await?;
            // Coordinated through etcd (kube-apiserver's compact_rev_key): servers sharing the
            // etcd compact once per interval between them.
            let compactor = etcd.spawn_compactor(interval);
            tracing::info!(endpoints = ?options.endpoints, prefix = %config.storage_prefix, "storing in etcd");
            let store = Arc::new(MeteredStore::new(
                etcd,
                metrics.storage(),
                config.storage_prefix.clone(),
            ));
            let served = serve(&config, metrics, store).await;
            compactor.abort();
            served
        }
    }
}

/// Serves the navigator resources over `store` until SIGTERM or ctrl-c.
async fn serve<St: Storage>(
    config: &Config,
    metrics: Metrics,
    store: Arc<St>,
) -> Result<(), RunError> {
    // Every watch shares one store watch and an in-memory ring of recent events.
    let store = Arc::new(WatchCache::new(
        store,
        &config.storage_prefix,
        watch_cache::DEFAULT_CAPACITY,
    ));
    if let Err(e) = store.start().await {
        tracing::warn!(error = %e, "watch cache not started yet: the first watch starts it");
    }
    let mut builder = ApiServer::builder()
        .metrics(metrics)
        .max_requests_inflight(
            config.max_requests_inflight,
            config.max_mutating_requests_inflight,
        )
        // Standalone, every namespace exists: kubectl's namespace lookups succeed.
        .serve_namespaces(config.security.is_none())
        .openapi(openapi_input())
        .health_check(
            Arc::new(StoreCheck(Arc::clone(&store))),
            CheckScope::ReadyOnly,
        );
    for resource in registries(&store, &config.storage_prefix) {
        builder = builder.resource(resource);
    }
    let delegated = match &config.security {
        Some(options) => Some(crate::security::delegated(options).await?),
        None => None,
    };
    if let Some(d) = &delegated {
        builder = d.apply(builder);
    }
    let tls = match &config.tls_files {
        Some((cert, key)) => TlsSource::Files {
            cert: cert.clone(),
            key: key.clone(),
        },
        None => TlsSource::SelfSigned {
            cert_dir: config.cert_dir.clone(),
            extra_sans: config.tls_sans.clone(),
        },
    };
    let mut serving = ServingOptions::self_signed(
        SocketAddr::new(config.bind_address, config.secure_port),
        config.cert_dir.clone(),
    );
    serving.tls = tls;
    serving.insecure_addr = config.http_port.map(apiserver::serve::loopback);
    serving.client_ca_hints = delegated.map(|d| d.hints);
    let bound = builder.build()?.bind(serving).await?;

    let secure = bound.secure_addr();
    let host = if secure.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        secure.ip().to_string()
    };
    let server = if secure.is_ipv6() {
        format!("https://[{host}]:{}", secure.port())
    } else {
        format!("https://{host}:{}", secure.port())
    };
    let ca = bound
        .certs()
        .ca_pem
        .clone()
        .unwrap_or_else(|| bound.certs().cert_pem.clone());
    if config.security.is_some() {
        // Delegated: clients come through kube-apiserver with their own credentials; the
        // standalone token would only be refused.
        tracing::info!(%server, versions = ?[ApiVersion::V1beta1, ApiVersion::V1alpha1], "navigator-apiserver ready (delegated)");
        bound.run_until_signal().await?;
        return Ok(());
    }
    std::fs::write(&config.kubeconfig_path, standalone_kubeconfig(&server, &ca)).map_err(
        |source| RunError::Kubeconfig {
            path: config.kubeconfig_path.display().to_string(),
            source,
        },
    )?;
    tracing::info!(
        %server,
        kubeconfig = %config.kubeconfig_path.display(),
        versions = ?[ApiVersion::V1beta1, ApiVersion::V1alpha1],
        "navigator-apiserver ready: kubectl --kubeconfig {} get cassandraclusters",
        config.kubeconfig_path.display()
    );
    bound.run_until_signal().await?;
    Ok(())
}
