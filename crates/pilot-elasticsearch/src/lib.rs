//! Navigator's Elasticsearch and OpenSearch pilot: the Elasticsearch adapter of the pilot
//! runtime (`navigator-pilot`). See docs/pilot.md, section "pilot-elasticsearch".

pub mod adapter;
pub mod bootstrap;
pub mod config;
pub mod drain;
pub mod exclusions;
pub mod flavor;
pub mod heap;
pub mod home;
pub mod leader;
pub mod options;
pub mod replies;
pub mod rest;
pub mod roles;
pub mod voting;

pub use adapter::ElasticsearchAdapter;
pub use options::ElasticsearchOptions;
