//! Navigator's Elasticsearch and OpenSearch pilot: the Elasticsearch adapter of the pilot
//! runtime (`navigator-pilot`). See docs/pilot.md, section "pilot-elasticsearch".

pub mod adapter;
pub mod flavor;
pub mod options;
pub mod roles;

pub use adapter::ElasticsearchAdapter;
pub use options::ElasticsearchOptions;
