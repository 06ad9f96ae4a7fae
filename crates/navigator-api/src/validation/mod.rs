//! Validation of hub objects on create, update and status update.
//!
//! Every function returns *all* errors it finds, each with its JSON field path and reason, in
//! the shape the API server puts into a `422 Invalid` status's `details.causes`. Validation runs
//! on defaulted objects (defaulting happens on decode), so "missing" means "missing after
//! defaults". Warnings (deprecated or ignored fields) are separate: they never reject a request.

mod cassandra;
mod common;
mod elasticsearch;
mod metadata;
use apimachinery_core::names;
mod pilot;

pub use cassandra::*;
pub use elasticsearch::*;
pub use metadata::{
    TOTAL_ANNOTATION_SIZE_LIMIT, validate_object_meta, validate_object_meta_update,
};
pub use pilot::*;

use crate::field::ErrorList;
use crate::scheme::HubObject;

/// Validates a new object (metadata and spec; status is reset on create).
pub fn validate_create(obj: &HubObject) -> ErrorList {
    match obj {
        HubObject::CassandraCluster(o) => validate_cassandra_cluster(o),
        HubObject::ElasticsearchCluster(o) => validate_elasticsearch_cluster(o),
        HubObject::Pilot(o) => validate_pilot(o),
    }
}

/// Validates an update of the main resource: the new spec in full, the update rules, and only
/// those metadata checks the generic registry's `ValidateObjectMetaAccessorUpdate` does not run
/// (see [`validate_object_meta_update`]), so each cause is reported once.
/// Objects of different kinds are never an update of each other; that is reported as an error
/// on `kind`.
pub fn validate_update(new: &HubObject, old: &HubObject) -> ErrorList {
    match (new, old) {
        (HubObject::CassandraCluster(n), HubObject::CassandraCluster(o)) => {
            validate_cassandra_cluster_update(n, o)
        }
        (HubObject::ElasticsearchCluster(n), HubObject::ElasticsearchCluster(o)) => {
            validate_elasticsearch_cluster_update(n, o)
        }
        (HubObject::Pilot(n), HubObject::Pilot(o)) => validate_pilot_update(n, o),
        (n, _) => vec![kind_mismatch(n)],
    }
}

/// Validates an update through the `/status` subresource: the new status only.
pub fn validate_status_update(new: &HubObject, old: &HubObject) -> ErrorList {
    match (new, old) {
        (HubObject::CassandraCluster(n), HubObject::CassandraCluster(_)) => {
            validate_cassandra_cluster_status(n)
        }
        (HubObject::ElasticsearchCluster(n), HubObject::ElasticsearchCluster(_)) => {
            validate_elasticsearch_cluster_status(n)
        }
        (HubObject::Pilot(n), HubObject::Pilot(_)) => validate_pilot_status(n),
        (n, _) => vec![kind_mismatch(n)],
    }
}

/// Warnings for a request that writes `obj`: deprecated or ignored fields. They go into
/// `Warning` headers and never reject the request.
pub fn warnings(obj: &HubObject) -> Vec<String> {
    match obj {
        HubObject::ElasticsearchCluster(o) => elasticsearch_cluster_warnings(o),
        HubObject::CassandraCluster(_) | HubObject::Pilot(_) => Vec::new(),
    }
}

fn kind_mismatch(new: &HubObject) -> crate::field::FieldError {
    crate::field::FieldError::forbidden(
        crate::field::FieldPath::new("kind"),
        format!("may not change to {}", new.kind()),
    )
}

#[cfg(test)]
mod tests;
