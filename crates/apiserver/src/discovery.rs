//! Discovery documents (Go's `apiserver/pkg/endpoints/discovery` and `…/discovery/aggregated`):
//! `/apis` as `APIGroupList` or `APIGroupDiscoveryList` (v2, v2beta1, with an ETag),
//! `/apis/<group>` as `APIGroup`, `/apis/<group>/<version>` as `APIResourceList`, and `/api`.
//! Built once from the served resources' descriptors; pure.

use apimachinery::registry::ResourceDescriptor;
use base64::Engine as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256, Sha512};

/// The verbs every served resource routes (all of [`apimachinery::registry::RestResource`]),
/// sorted as Go's installer publishes them.
pub const RESOURCE_VERBS: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// The verbs of a subresource such as `status`.
pub const SUBRESOURCE_VERBS: [&str; 3] = ["get", "patch", "update"];

/// `storageVersionHash`: standard base64 of the first 8 bytes of
/// `sha256("<group>/<version>/<Kind>")` (Go's `discovery.StorageVersionHash`).
pub fn storage_version_hash(group: &str, version: &str, kind: &str) -> String {
    let digest = Sha256::digest(format!("{group}/{version}/{kind}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(&digest[..8])
}

/// A quoted upper-case hex SHA-512 of `bytes`, the ETag Go's discovery and OpenAPI handlers use.
pub fn etag(bytes: &[u8]) -> String {
    let digest = Sha512::digest(bytes);
    let mut s = String::with_capacity(digest.len() * 2 + 2);
    s.push('"');
    for b in digest {
        s.push_str(&format!("{b:02X}"));
    }
    s.push('"');
    s
}

/// One API group and the versions it serves, preferred first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupVersions {
    /// Group name.
    pub name: String,
    /// Versions, preferred first.
    pub versions: Vec<String>,
}

/// A precomputed aggregated discovery document.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// The JSON body, ending in `\n`.
    pub body: Vec<u8>,
    /// Its ETag.
    pub etag: String,
}

/// Every discovery document of a server, computed once from its resources.
#[derive(Debug, Clone)]
pub struct Discovery {
    groups: Vec<GroupVersions>,
    descriptors: Vec<ResourceDescriptor>,
    aggregated_v2: Encoded,
    aggregated_v2beta1: Encoded,
}

impl Discovery {
    /// Builds the documents. Groups appear in the order their first resource was given;
    /// versions in each descriptor's order (preferred first).
    pub fn new(descriptors: Vec<ResourceDescriptor>) -> Self {
        let mut groups: Vec<GroupVersions> = Vec::new();
        for d in &descriptors {
            let idx = match groups.iter().position(|g| g.name == d.group) {
                Some(i) => i,
                None => {
                    groups.push(GroupVersions {
                        name: d.group.clone(),
                        versions: Vec::new(),
                    });
                    groups.len() - 1
                }
            };
            for v in &d.versions {
                if !groups[idx].versions.contains(v) {
                    groups[idx].versions.push(v.clone());
                }
            }
        }
        let mut this = Self {
            groups,
            descriptors,
            aggregated_v2: Encoded {
                body: Vec::new(),
                etag: String::new(),
            },
            aggregated_v2beta1: Encoded {
                body: Vec::new(),
                etag: String::new(),
            },
        };
        this.aggregated_v2 = encode(&this.aggregated("apidiscovery.k8s.io/v2"));
        this.aggregated_v2beta1 = encode(&this.aggregated("apidiscovery.k8s.io/v2beta1"));
        this
    }

    /// The served groups.
    pub fn groups(&self) -> &[GroupVersions] {
        &self.groups
    }

    /// Whether `group`/`version` is served.
    pub fn serves(&self, group: &str, version: &str) -> bool {
        self.groups
            .iter()
            .any(|g| g.name == group && g.versions.iter().any(|v| v == version))
    }

    fn group_json(g: &GroupVersions, with_type: bool) -> Value {
        let gv = |v: &String| json!({"groupVersion": format!("{}/{v}", g.name), "version": v});
        let versions: Vec<Value> = g.versions.iter().map(gv).collect();
        let preferred = g.versions.first().map(gv).unwrap_or(Value::Null);
        if with_type {
            json!({"kind": "APIGroup", "apiVersion": "v1", "name": g.name,
                   "versions": versions, "preferredVersion": preferred})
        } else {
            json!({"name": g.name, "versions": versions, "preferredVersion": preferred})
        }
    }

    /// `GET /apis` (legacy): `APIGroupList`.
    pub fn group_list(&self) -> Value {
        let groups: Vec<Value> = self
            .groups
            .iter()
            .map(|g| Self::group_json(g, false))
            .collect();
        json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
    }

    /// `GET /apis/<group>`: `APIGroup`, or `None` if the group is not served.
    pub fn group(&self, name: &str) -> Option<Value> {
        self.groups
            .iter()
            .find(|g| g.name == name)
            .map(|g| Self::group_json(g, true))
    }

    /// `GET /apis/<group>/<version>`: `APIResourceList`, or `None` if not served.
    pub fn resource_list(&self, group: &str, version: &str) -> Option<Value> {
        if !self.serves(group, version) {
            return None;
        }
        let mut resources = Vec::new();
        for d in self.served(group, version) {
            let mut main = serde_json::Map::new();
            main.insert("name".into(), json!(d.plural));
            main.insert("singularName".into(), json!(d.singular));
            main.insert("namespaced".into(), json!(d.namespaced));
            main.insert("kind".into(), json!(d.kind));
            main.insert("verbs".into(), json!(RESOURCE_VERBS));
            if !d.short_names.is_empty() {
                main.insert("shortNames".into(), json!(d.short_names));
            }
            if !d.categories.is_empty() {
                main.insert("categories".into(), json!(d.categories));
            }
            main.insert(
                "storageVersionHash".into(),
                json!(storage_version_hash(&d.group, &d.storage_version, &d.kind)),
            );
            resources.push(Value::Object(main));
            for sub in &d.subresources {
                resources.push(json!({
                    "name": format!("{}/{sub}", d.plural),
                    "singularName": "",
                    "namespaced": d.namespaced,
                    "kind": d.kind,
                    "verbs": SUBRESOURCE_VERBS,
                }));
            }
        }
        Some(json!({
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": format!("{group}/{version}"),
            "resources": resources,
        }))
    }

    /// The descriptors serving `group`/`version`, in registration order.
    pub fn served<'a>(
        &'a self,
        group: &'a str,
        version: &'a str,
    ) -> impl Iterator<Item = &'a ResourceDescriptor> + 'a {
        self.descriptors
            .iter()
            .filter(move |d| d.group == group && d.versions.iter().any(|v| v == version))
    }

    fn aggregated(&self, api_version: &str) -> Value {
        let items: Vec<Value> = self
            .groups
            .iter()
            .map(|g| {
                let versions: Vec<Value> = g
                    .versions
                    .iter()
                    .map(|v| {
                        let resources: Vec<Value> = self
                            .served(&g.name, v)
                            .map(|d| aggregated_resource(d, v))
                            .collect();
                        json!({"version": v, "resources": resources, "freshness": "Current"})
                    })
                    .collect();
                json!({"metadata": {"name": g.name, "creationTimestamp": null},
                       "versions": versions})
            })
            .collect();
        json!({"kind": "APIGroupDiscoveryList", "apiVersion": api_version,
               "metadata": {}, "items": items})
    }

    /// The aggregated discovery document (`apidiscovery.k8s.io/v2`) with its ETag.
    pub fn aggregated_v2(&self) -> &Encoded {
        &self.aggregated_v2
    }

    /// The aggregated discovery document (`apidiscovery.k8s.io/v2beta1`) with its ETag.
    pub fn aggregated_v2beta1(&self) -> &Encoded {
        &self.aggregated_v2beta1
    }
}

fn aggregated_resource(d: &ResourceDescriptor, version: &str) -> Value {
    let kind = json!({"group": d.group, "version": version, "kind": d.kind});
    let mut r = serde_json::Map::new();
    r.insert("resource".into(), json!(d.plural));
    r.insert("responseKind".into(), kind.clone());
    r.insert(
        "scope".into(),
        json!(if d.namespaced {
            "Namespaced"
        } else {
            "Cluster"
        }),
    );
    r.insert("singularResource".into(), json!(d.singular));
    r.insert("verbs".into(), json!(RESOURCE_VERBS));
    if !d.short_names.is_empty() {
        r.insert("shortNames".into(), json!(d.short_names));
    }
    if !d.categories.is_empty() {
        r.insert("categories".into(), json!(d.categories));
    }
    if !d.subresources.is_empty() {
        let subs: Vec<Value> = d
            .subresources
            .iter()
            .map(|s| json!({"subresource": s, "responseKind": kind, "verbs": SUBRESOURCE_VERBS}))
            .collect();
        r.insert("subresources".into(), json!(subs));
    }
    Value::Object(r)
}

fn encode(v: &Value) -> Encoded {
    let mut body = serde_json::to_vec(v).unwrap_or_default();
    body.push(b'\n');
    let etag = etag(&body);
    Encoded { body, etag }
}

/// `GET /api` of a server without the core group: an `APIVersions` with no versions. client-go
/// then sees no legacy group; kube-aggregator never asks an aggregated server for it.
pub fn legacy_api_versions() -> Value {
    json!({"kind": "APIVersions", "versions": [], "serverAddressByClientCIDRs": []})
}

/// `GET /api` with the aggregated discovery `Accept`: an empty `APIGroupDiscoveryList`.
pub fn empty_aggregated(api_version: &str) -> Value {
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": api_version, "metadata": {}, "items": []})
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    pub(crate) fn descriptor(plural: &str, kind: &str, short: &[&str]) -> ResourceDescriptor {
        ResourceDescriptor {
            group: "navigator.jetstack.io".into(),
            plural: plural.into(),
            singular: kind.to_ascii_lowercase(),
            kind: kind.into(),
            list_kind: format!("{kind}List"),
            namespaced: true,
            short_names: short.iter().map(|s| (*s).to_owned()).collect(),
            categories: vec![],
            versions: vec!["v1alpha1".into()],
            storage_version: "v1alpha1".into(),
            subresources: vec!["status".into()],
        }
    }

    #[test]
    fn storage_version_hashes_match_go() {
        // Values computed by Go's discovery.StorageVersionHash (conventions §1.2).
        let g = "navigator.jetstack.io";
        assert_eq!(
            storage_version_hash(g, "v1alpha1", "CassandraCluster"),
            "7oHbqdAHjmc="
        );
        assert_eq!(
            storage_version_hash(g, "v1alpha1", "ElasticsearchCluster"),
            "3YDbhNIh0Bs="
        );
        assert_eq!(storage_version_hash(g, "v1alpha1", "Pilot"), "Bw80xq02uwU=");
    }

    #[test]
    fn legacy_documents() {
        let d = Discovery::new(vec![descriptor(
            "cassandraclusters",
            "CassandraCluster",
            &["cassandra"],
        )]);
        assert_eq!(
            serde_json::to_string(&d.group_list()).unwrap(),
            r#"{"kind":"APIGroupList","apiVersion":"v1","groups":[{"name":"navigator.jetstack.io","versions":[{"groupVersion":"navigator.jetstack.io/v1alpha1","version":"v1alpha1"}],"preferredVersion":{"groupVersion":"navigator.jetstack.io/v1alpha1","version":"v1alpha1"}}]}"#
        );
        assert_eq!(
            serde_json::to_string(
                &d.resource_list("navigator.jetstack.io", "v1alpha1")
                    .unwrap()
            )
            .unwrap(),
            r#"{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"navigator.jetstack.io/v1alpha1","resources":[{"name":"cassandraclusters","singularName":"cassandracluster","namespaced":true,"kind":"CassandraCluster","verbs":["create","delete","deletecollection","get","list","patch","update","watch"],"shortNames":["cassandra"],"storageVersionHash":"7oHbqdAHjmc="},{"name":"cassandraclusters/status","singularName":"","namespaced":true,"kind":"CassandraCluster","verbs":["get","patch","update"]}]}"#
        );
        assert!(d.resource_list("navigator.jetstack.io", "v9").is_none());
        assert!(d.group("other.io").is_none());
        assert_eq!(
            d.group("navigator.jetstack.io").unwrap()["kind"],
            "APIGroup"
        );
    }

    #[test]
    fn aggregated_document_and_etag() {
        let d = Discovery::new(vec![descriptor("pilots", "Pilot", &[])]);
        let v2: Value = serde_json::from_slice(&d.aggregated_v2().body).unwrap();
        assert_eq!(v2["apiVersion"], "apidiscovery.k8s.io/v2");
        let r = &v2["items"][0]["versions"][0]["resources"][0];
        assert_eq!(r["resource"], "pilots");
        assert_eq!(r["scope"], "Namespaced");
        assert_eq!(r["responseKind"]["kind"], "Pilot");
        assert_eq!(r["subresources"][0]["subresource"], "status");
        assert!(r.get("shortNames").is_none());
        assert!(d.aggregated_v2().etag.starts_with('"'));
        assert_eq!(d.aggregated_v2().etag.len(), 130);
        assert_ne!(d.aggregated_v2().etag, d.aggregated_v2beta1().etag);
    }
}
