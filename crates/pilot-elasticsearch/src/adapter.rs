//! The runtime's `DatabaseAdapter` for Elasticsearch and OpenSearch.

use std::path::PathBuf;

use async_trait::async_trait;
use navigator_pilot::{
    AdapterError, DatabaseAdapter, Observation, PilotContext, Progress, RequestedState,
    StartCommand,
};

use crate::options::ElasticsearchOptions;

/// The Elasticsearch adapter.
pub struct ElasticsearchAdapter {
    options: ElasticsearchOptions,
    #[allow(dead_code)]
    kubeconfig: Option<PathBuf>,
}

impl ElasticsearchAdapter {
    /// An adapter with `options`; `kubeconfig` is the runtime's (for the leader's API client).
    pub fn new(options: ElasticsearchOptions, kubeconfig: Option<PathBuf>) -> Self {
        Self {
            options,
            kubeconfig,
        }
    }
}

#[async_trait]
impl DatabaseAdapter for ElasticsearchAdapter {
    async fn prepare(&self, _ctx: &PilotContext) -> Result<StartCommand, AdapterError> {
        Err(AdapterError::Other(format!(
            "pilot-elasticsearch for cluster {} is not implemented yet",
            self.options.cluster_name
        )))
    }

    async fn observe(&self, _ctx: &PilotContext) -> Observation {
        Observation::unknown("not implemented yet")
    }

    async fn perform(
        &self,
        _ctx: &PilotContext,
        _requested: RequestedState,
        _last: &Observation,
    ) -> Progress {
        Progress::Pending("not implemented yet".into())
    }

    async fn shutdown(&self, _ctx: &PilotContext) -> Result<(), AdapterError> {
        Ok(())
    }
}
