//! What differs between the flavours of the family: the name, the installation's home in the
//! official image, the default image repository and the database container's name.

use navigator_api::internal::{FLAVOR_ELASTICSEARCH, FLAVOR_OPENSEARCH};
use navigator_api::v1beta1::ElasticsearchCluster;

use super::ChildrenError;
use crate::elasticsearch::settings::Settings;

/// The database an ElasticsearchCluster runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Flavor {
    /// Elasticsearch (versions 6 to 8).
    Elasticsearch,
    /// OpenSearch (versions 1 to 3).
    OpenSearch,
}

impl Flavor {
    /// The flavour as the API and the pilot's `--flavor` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Flavor::Elasticsearch => FLAVOR_ELASTICSEARCH,
            Flavor::OpenSearch => FLAVOR_OPENSEARCH,
        }
    }

    /// Where the official image keeps the installation (the pilot's `--home`).
    pub fn home(self) -> &'static str {
        match self {
            Flavor::Elasticsearch => "/usr/share/elasticsearch",
            Flavor::OpenSearch => "/usr/share/opensearch",
        }
    }

    /// The name of the database container in the pods (also the `MEMORY_LIMIT` resource
    /// reference's): the flavour's name.
    pub fn container_name(self) -> &'static str {
        self.as_str()
    }

    /// The image repository of the flavour when a cluster names no image.
    pub fn default_repository(self, settings: &Settings) -> &str {
        match self {
            Flavor::Elasticsearch => &settings.default_elasticsearch_repository,
            Flavor::OpenSearch => &settings.default_opensearch_repository,
        }
    }
}

/// The cluster's flavour: `spec.flavor`, `elasticsearch` when unset (the API's default), or
/// [`ChildrenError::UnknownFlavor`].
pub fn flavor(cluster: &ElasticsearchCluster) -> Result<Flavor, ChildrenError> {
    match cluster.spec.flavor.as_deref() {
        None | Some(FLAVOR_ELASTICSEARCH) => Ok(Flavor::Elasticsearch),
        Some(FLAVOR_OPENSEARCH) => Ok(Flavor::OpenSearch),
        Some(other) => Err(ChildrenError::UnknownFlavor(other.to_owned())),
    }
}
