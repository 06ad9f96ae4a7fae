//! `ObjectMeta` validation on create and update, as Go's
//! `apimachinery/pkg/api/validation/objectmeta.go` (`ValidateObjectMetaAccessor`,
//! `ValidateObjectMetaAccessorUpdate`) does it: the same checks, order, field paths and messages.
//!
//! Errors are collected, never short-circuited; paths start at `metadata`.

use crate::field::{FieldError, FieldErrorKind};
use crate::names::{
    dns1123_label_errors, dns1123_subdomain_errors, label_key_errors, label_value_errors,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use serde_json::Value;
use std::collections::BTreeSet;

/// Go's `FieldImmutableErrorMsg`.
pub const FIELD_IMMUTABLE: &str = "field is immutable";
/// Go's `TotalAnnotationSizeLimitB`: 256 KiB of keys and values together.
pub const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

/// How object names of a kind are validated (Go's `ValidateNameFunc`s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// `NameIsDNSSubdomain`: most kinds, custom resources included.
    Dns1123Subdomain,
    /// `NameIsDNSLabel`: namespaces, services.
    Dns1123Label,
    /// `path.ValidatePathSegmentName`: only `.`, `..`, `/` and `%` are refused.
    PathSegment,
}

impl NameRule {
    /// The problems with `name`; with `prefix`, `name` is a `generateName` (a trailing `-` is
    /// allowed, as Go's `maskTrailingDash`).
    pub fn errors(self, name: &str, prefix: bool) -> Vec<String> {
        let masked;
        let name = if prefix && name.len() > 1 && name.ends_with('-') {
            // Go replaces the last two bytes with "a"; names are ASCII when they are valid.
            masked = format!("{}a", name.get(..name.len() - 2).unwrap_or(""));
            masked.as_str()
        } else {
            name
        };
        match self {
            Self::Dns1123Subdomain => dns1123_subdomain_errors(name),
            Self::Dns1123Label => dns1123_label_errors(name),
            Self::PathSegment => {
                let mut errs = Vec::new();
                if !prefix {
                    for bad in [".", ".."] {
                        if name == bad {
                            return vec![format!("may not be '{bad}'")];
                        }
                    }
                }
                for bad in ["/", "%"] {
                    if name.contains(bad) {
                        errs.push(format!("may not contain '{bad}'"));
                    }
                }
                errs
            }
        }
    }
}

fn invalid_each(errs: &mut Vec<FieldError>, path: &str, value: &str, msgs: Vec<String>) {
    for m in msgs {
        errs.push(FieldError::invalid(path, value, m));
    }
}

/// Go's `ValidateLabels` at `path`.
pub fn validate_labels(
    labels: Option<&std::collections::BTreeMap<String, String>>,
    path: &str,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (k, v) in labels.into_iter().flatten() {
        invalid_each(&mut errs, path, k, label_key_errors(k));
        invalid_each(&mut errs, path, v, label_value_errors(v));
    }
    errs
}

/// Go's `ValidateAnnotations` at `path`: keys are qualified names (case-insensitively), and
/// keys plus values fit in [`TOTAL_ANNOTATION_SIZE_LIMIT`].
pub fn validate_annotations(
    annotations: Option<&std::collections::BTreeMap<String, String>>,
    path: &str,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut total = 0usize;
    for (k, v) in annotations.into_iter().flatten() {
        invalid_each(&mut errs, path, k, label_key_errors(&k.to_lowercase()));
        total += k.len() + v.len();
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.push(FieldError::too_long(
            path,
            i64::try_from(TOTAL_ANNOTATION_SIZE_LIMIT).unwrap_or(i64::MAX),
        ));
    }
    errs
}

fn owner_reference_json(r: &OwnerReference) -> Value {
    serde_json::to_value(r).unwrap_or(Value::Null)
}

/// Go's `ValidateOwnerReferences` at `path`.
pub fn validate_owner_references(
    refs: Option<&Vec<OwnerReference>>,
    path: &str,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let refs = refs.map(Vec::as_slice).unwrap_or(&[]);
    let mut first_controller: Option<String> = None;
    for (i, r) in refs.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let version = r
            .api_version
            .rsplit_once('/')
            .map_or(r.api_version.as_str(), |(_, v)| v);
        if r.api_version.is_empty() {
            errs.push(FieldError::required(
                format!("{p}.apiVersion"),
                "must not be empty",
            ));
        } else if version.is_empty() || r.api_version.matches('/').count() > 1 {
            errs.push(FieldError::invalid(
                format!("{p}.apiVersion"),
                r.api_version.as_str(),
                "must be <group>/<version> or <version>",
            ));
        }
        if r.kind.is_empty() {
            errs.push(FieldError::required(
                format!("{p}.kind"),
                "must not be empty",
            ));
        }
        if r.name.is_empty() {
            errs.push(FieldError::required(
                format!("{p}.name"),
                "must not be empty",
            ));
        }
        if r.uid.is_empty() {
            errs.push(FieldError::required(
                format!("{p}.uid"),
                "must not be empty",
            ));
        }
        if r.api_version == "v1" && r.kind == "Event" {
            errs.push(FieldError::invalid(
                p.as_str(),
                owner_reference_json(r),
                "/v1, Kind=Event is disallowed from being an owner",
            ));
        }
        if r.controller == Some(true) {
            let current = format!("{}/{}", r.kind, r.name);
            match &first_controller {
                Some(first) => errs.push(FieldError::invalid(
                    path,
                    Value::Array(refs.iter().map(owner_reference_json).collect()),
                    format!("Only one reference can have Controller set to true. Found \"true\" in references for {first} and {current}"),
                )),
                None => first_controller = Some(current),
            }
        }
    }
    errs
}

/// Go's `ValidateFinalizers` at `path`: qualified names, and not both `orphan` and
/// `foregroundDeletion`.
pub fn validate_finalizers(finalizers: Option<&Vec<String>>, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let finalizers = finalizers.map(Vec::as_slice).unwrap_or(&[]);
    for f in finalizers {
        invalid_each(&mut errs, path, f, label_key_errors(f));
    }
    let has = |n: &str| finalizers.iter().any(|f| f == n);
    if has("orphan") && has("foregroundDeletion") {
        errs.push(FieldError::invalid(
            path,
            Value::from(finalizers.to_vec()),
            "finalizer orphan and foregroundDeletion cannot be both set",
        ));
    }
    errs
}

fn nonnegative(errs: &mut Vec<FieldError>, value: Option<i64>, path: &str) {
    if let Some(v) = value.filter(|v| *v < 0) {
        errs.push(FieldError::invalid(
            path,
            v,
            "must be greater than or equal to 0",
        ));
    }
}

/// Go's `ValidateObjectMetaAccessor`: metadata of an object being created (after name
/// generation). `namespaced` is whether the kind is namespace-scoped.
pub fn validate_object_meta(
    meta: &ObjectMeta,
    namespaced: bool,
    names: NameRule,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(g) = meta.generate_name.as_deref().filter(|g| !g.is_empty()) {
        invalid_each(&mut errs, "metadata.generateName", g, names.errors(g, true));
    }
    match meta.name.as_deref().filter(|n| !n.is_empty()) {
        None => errs.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        )),
        Some(n) => invalid_each(&mut errs, "metadata.name", n, names.errors(n, false)),
    }
    let namespace = meta.namespace.as_deref().filter(|n| !n.is_empty());
    match (namespaced, namespace) {
        (true, None) => errs.push(FieldError::required("metadata.namespace", "")),
        (true, Some(ns)) => invalid_each(
            &mut errs,
            "metadata.namespace",
            ns,
            dns1123_label_errors(ns),
        ),
        (false, Some(_)) => errs.push(FieldError::forbidden(
            "metadata.namespace",
            "not allowed on this type",
        )),
        (false, None) => {}
    }
    nonnegative(&mut errs, meta.generation, "metadata.generation");
    errs.extend(validate_labels(meta.labels.as_ref(), "metadata.labels"));
    errs.extend(validate_annotations(
        meta.annotations.as_ref(),
        "metadata.annotations",
    ));
    errs.extend(validate_owner_references(
        meta.owner_references.as_ref(),
        "metadata.ownerReferences",
    ));
    errs.extend(validate_finalizers(
        meta.finalizers.as_ref(),
        "metadata.finalizers",
    ));
    errs
}

fn immutable<T: PartialEq + serde::Serialize>(
    errs: &mut Vec<FieldError>,
    new: &T,
    old: &T,
    path: &str,
) {
    if new != old {
        let value = serde_json::to_value(new).unwrap_or(Value::Null);
        errs.push(FieldError::new(
            path,
            FieldErrorKind::Invalid {
                value: Some(value),
                detail: FIELD_IMMUTABLE.to_owned(),
            },
        ));
    }
}

/// Go's `ValidateObjectMetaAccessorUpdate`: what an update may not change (name, namespace,
/// uid, creation and deletion timestamps, deletion grace period), finalizers that may not be
/// added while deleting, a required resourceVersion and a generation that never decreases,
/// plus the create-time checks of labels, annotations and owner references.
pub fn validate_object_meta_update(new: &ObjectMeta, old: &ObjectMeta) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if old.deletion_timestamp.is_some() {
        let old_f: BTreeSet<&String> = old.finalizers.iter().flatten().collect();
        let extra: BTreeSet<&String> = new
            .finalizers
            .iter()
            .flatten()
            .filter(|f| !old_f.contains(f))
            .collect();
        if !extra.is_empty() {
            let quoted: Vec<String> = extra.iter().map(|f| format!("{f:?}")).collect();
            errs.push(FieldError::forbidden(
                "metadata.finalizers",
                format!("no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}", quoted.join(", ")),
            ));
        }
    }
    if new.resource_version.as_deref().unwrap_or("").is_empty() {
        errs.push(FieldError::invalid(
            "metadata.resourceVersion",
            "",
            "must be specified for an update",
        ));
    }
    nonnegative(&mut errs, new.generation, "metadata.generation");
    if new.generation.unwrap_or(0) < old.generation.unwrap_or(0) {
        errs.push(FieldError::invalid(
            "metadata.generation",
            new.generation.unwrap_or(0),
            "must not be decremented",
        ));
    }
    let s = |o: &Option<String>| o.clone().unwrap_or_default();
    immutable(&mut errs, &s(&new.name), &s(&old.name), "metadata.name");
    immutable(
        &mut errs,
        &s(&new.namespace),
        &s(&old.namespace),
        "metadata.namespace",
    );
    immutable(&mut errs, &s(&new.uid), &s(&old.uid), "metadata.uid");
    immutable(
        &mut errs,
        &new.creation_timestamp,
        &old.creation_timestamp,
        "metadata.creationTimestamp",
    );
    immutable(
        &mut errs,
        &new.deletion_timestamp,
        &old.deletion_timestamp,
        "metadata.deletionTimestamp",
    );
    immutable(
        &mut errs,
        &new.deletion_grace_period_seconds,
        &old.deletion_grace_period_seconds,
        "metadata.deletionGracePeriodSeconds",
    );
    errs.extend(validate_labels(new.labels.as_ref(), "metadata.labels"));
    errs.extend(validate_annotations(
        new.annotations.as_ref(),
        "metadata.annotations",
    ));
    errs.extend(validate_owner_references(
        new.owner_references.as_ref(),
        "metadata.ownerReferences",
    ));
    errs
}

#[cfg(test)]
mod tests;
