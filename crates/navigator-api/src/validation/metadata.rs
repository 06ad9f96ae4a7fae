use apimachinery_core::names;
use apimachinery_core::object_meta::{self, NameRule};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::field::{ErrorList, FieldError};

pub use apimachinery_core::object_meta::TOTAL_ANNOTATION_SIZE_LIMIT;

/// Validates the metadata of a new navigator object with Go's `ValidateObjectMetaAccessor` for a
/// namespaced kind whose names are DNS-1123 subdomains: name, namespace, generation, labels,
/// annotations, owner references and finalizers.
pub fn validate_object_meta(meta: &ObjectMeta) -> ErrorList {
    object_meta::validate_object_meta(meta, true, NameRule::Dns1123Subdomain)
}

/// Validates the metadata of an updated navigator object: only the create-time checks that the
/// generic registry's update path does not already run, so that every cause is reported once.
///
/// On an update Go's generic registry (`rest.BeforeUpdate`) runs `ValidateObjectMetaAccessor`
/// with path-segment names and `ValidateObjectMetaAccessorUpdate`, and the custom-resource
/// strategy runs `ValidateObjectMetaUpdate` once more; the registry of this workspace runs
/// `ValidateObjectMetaAccessorUpdate` (labels, annotations, owner references, generation,
/// immutable fields) and the `orphan`/`foregroundDeletion` finalizer conflict. What remains of
/// `ValidateObjectMetaAccessor` is checked here: `generateName` as a path-segment prefix and
/// every finalizer as a qualified name. Name and namespace are immutable, must match the
/// request's URL and were validated on create, so they are not checked again.
pub fn validate_object_meta_update(new: &ObjectMeta) -> ErrorList {
    let mut errs = ErrorList::new();
    if let Some(g) = new.generate_name.as_deref().filter(|g| !g.is_empty()) {
        // Go's `IsPathSegmentPrefix`: no trailing-dash masking, only `/` and `%` refused.
        for bad in ["/", "%"].into_iter().filter(|bad| g.contains(bad)) {
            errs.push(FieldError::invalid(
                "metadata.generateName",
                g,
                format!("may not contain '{bad}'"),
            ));
        }
    }
    for f in new.finalizers.iter().flatten() {
        for msg in names::label_key_errors(f) {
            errs.push(FieldError::invalid("metadata.finalizers", f, msg));
        }
    }
    errs
}
