//! A read-only `/api/v1/namespaces[/<name>]` for a server that runs without Kubernetes
//! (standalone): there every namespace exists, so kubectl — which looks a namespace up after a
//! namespaced object was not found — prints Go's `<resource> "<name>" not found` instead of
//! "the server could not find the requested resource". Enabled with
//! [`ApiServerBuilder::serve_namespaces`](crate::ApiServerBuilder::serve_namespaces).

use std::collections::BTreeSet;
use std::sync::Arc;

use apimachinery::registry::{
    FieldValidation, ListOptions, Representation, RequestContext, RestResource, UserInfo,
};
use apimachinery::status::{ApiError, GroupResource};
use serde_json::{Value, json};

/// The namespace every kubeconfig starts in; always listed.
pub const DEFAULT_NAMESPACE: &str = "default";

/// The `Namespace` object for `name`: `Active`, with the `kubernetes.io/metadata.name` label
/// kube-apiserver sets.
///
/// # Errors
/// 404 `namespaces "<name>" not found` when `name` cannot be a namespace (not a DNS-1123
/// label).
pub fn namespace(name: &str) -> Result<Value, ApiError> {
    if !apimachinery::object_meta::dns1123_label_errors(name).is_empty() {
        return Err(ApiError::NotFound {
            resource: GroupResource::new("", "namespaces"),
            name: name.to_owned(),
        });
    }
    Ok(json!({
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {
            "name": name,
            "labels": {"kubernetes.io/metadata.name": name}
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"}
    }))
}

/// A `NamespaceList` of `names` (each valid, else skipped).
pub fn namespace_list(names: &BTreeSet<String>) -> Value {
    let items: Vec<Value> = names.iter().filter_map(|n| namespace(n).ok()).collect();
    json!({
        "kind": "NamespaceList",
        "apiVersion": "v1",
        "metadata": {},
        "items": items
    })
}

/// The namespaces of `objects` (list items), with [`DEFAULT_NAMESPACE`].
pub fn namespaces_of<'a>(objects: impl IntoIterator<Item = &'a Value>) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = objects
        .into_iter()
        .filter_map(|o| o["metadata"]["namespace"].as_str())
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    names.insert(DEFAULT_NAMESPACE.to_owned());
    names
}

/// Every namespace holding an object of a namespaced resource, and `default`, as a
/// `NamespaceList`.
///
/// # Errors
/// The first error a resource's list returns.
pub async fn list<'a>(
    resources: impl IntoIterator<Item = &'a Arc<dyn RestResource>>,
    user: &UserInfo,
) -> Result<Value, ApiError> {
    let mut items = Vec::new();
    for resource in resources {
        let d = resource.descriptor();
        if !d.namespaced {
            continue;
        }
        let ctx = RequestContext {
            namespace: None,
            version: d.storage_version.clone(),
            user: user.clone(),
            field_validation: FieldValidation::Ignore,
            representation: Representation::Object,
            ..RequestContext::default()
        };
        let listed = resource.list(&ctx, &ListOptions::default()).await?;
        if let Some(objects) = listed.body["items"].as_array() {
            items.extend(objects.iter().cloned());
        }
    }
    Ok(namespace_list(&namespaces_of(&items)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_valid_name_is_an_active_namespace() {
        let ns = namespace("team-a").unwrap();
        assert_eq!(ns["kind"], "Namespace");
        assert_eq!(ns["metadata"]["name"], "team-a");
        assert_eq!(ns["status"]["phase"], "Active");
        for bad in ["Team", "a.b", "", "-a"] {
            let e = namespace(bad).unwrap_err();
            assert_eq!(
                (e.code(), e.message()),
                (404, format!("namespaces {bad:?} not found"))
            );
        }
    }

    #[test]
    fn lists_the_namespaces_objects_live_in_and_default() {
        let objects = [
            json!({"metadata": {"name": "a", "namespace": "zeta"}}),
            json!({"metadata": {"name": "b", "namespace": "alpha"}}),
            json!({"metadata": {"name": "c", "namespace": "alpha"}}),
            json!({"metadata": {"name": "cluster-scoped"}}),
        ];
        let list = namespace_list(&namespaces_of(&objects));
        let names: Vec<&str> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["alpha", "default", "zeta"]);
        assert_eq!(list["kind"], "NamespaceList");
    }
}
