use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::names;
use crate::field::{ErrorList, FieldError, FieldPath};

/// Most bytes all annotations of one object may hold, as in Kubernetes.
pub const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

/// Validates the metadata of a namespaced object: name (a DNS-1123 subdomain), namespace (a
/// DNS-1123 label), label keys and values, annotation keys and total size.
pub fn validate_object_meta(meta: &ObjectMeta) -> ErrorList {
    let path = FieldPath::new("metadata");
    let mut errs = ErrorList::new();
    match meta.name.as_deref() {
        None | Some("") => {
            errs.push(FieldError::required(
                &path.child("name"),
                "name or generateName is required",
            ));
        }
        Some(name) => {
            for msg in names::dns1123_subdomain(name) {
                errs.push(FieldError::invalid(&path.child("name"), name, &msg));
            }
        }
    }
    match meta.namespace.as_deref() {
        None | Some("") => errs.push(FieldError::required(&path.child("namespace"), "")),
        Some(ns) => {
            for msg in names::dns1123_label(ns) {
                errs.push(FieldError::invalid(&path.child("namespace"), ns, &msg));
            }
        }
    }
    for (key, value) in meta.labels.iter().flatten() {
        for msg in names::qualified_name(key) {
            errs.push(FieldError::invalid(&path.child("labels"), key, &msg));
        }
        for msg in names::label_value(value) {
            errs.push(FieldError::invalid(
                &path.child("labels").key(key),
                value,
                &msg,
            ));
        }
    }
    let mut total = 0;
    for (key, value) in meta.annotations.iter().flatten() {
        for msg in names::qualified_name(&key.to_lowercase()) {
            errs.push(FieldError::invalid(&path.child("annotations"), key, &msg));
        }
        total += key.len() + value.len();
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.push(FieldError::too_long(
            &path.child("annotations"),
            TOTAL_ANNOTATION_SIZE_LIMIT,
        ));
    }
    errs
}
