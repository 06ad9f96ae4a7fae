//! ElasticsearchCluster (Elasticsearch and OpenSearch): names, desired children, the planner
//! and status. Observations are the shared [`crate::observe::Observed`]; actions the shared
//! [`crate::plan::Action`].

pub mod children;
pub mod names;
pub mod plan;
pub mod settings;
pub mod status;
