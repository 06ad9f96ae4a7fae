use apimachinery_core::object_meta::{self, NameRule};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::field::ErrorList;

pub use apimachinery_core::object_meta::TOTAL_ANNOTATION_SIZE_LIMIT;

/// Validates the metadata of a new navigator object with Go's `ValidateObjectMetaAccessor` for a
/// namespaced kind whose names are DNS-1123 subdomains: name, namespace, generation, labels,
/// annotations, owner references and finalizers.
pub fn validate_object_meta(meta: &ObjectMeta) -> ErrorList {
    object_meta::validate_object_meta(meta, true, NameRule::Dns1123Subdomain)
}
