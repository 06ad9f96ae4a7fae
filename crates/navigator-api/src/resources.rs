//! What the API server publishes about each navigator resource: names, short names, categories,
//! scope, subresources and the versions it serves.

use crate::scheme::{ApiVersion, Kind};

/// The description of one resource of the group, as discovery publishes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResourceInfo {
    /// The kind.
    pub kind: Kind,
    /// The plural resource name used in URLs, e.g. `cassandraclusters`.
    pub plural: &'static str,
    /// The singular name, e.g. `cassandracluster`.
    pub singular: &'static str,
    /// Short names for kubectl, e.g. `cass`.
    pub short_names: &'static [&'static str],
    /// Categories for `kubectl get <category>`.
    pub categories: &'static [&'static str],
    /// Whether objects live in a namespace (all navigator resources do).
    pub namespaced: bool,
    /// Subresources, e.g. `status`.
    pub subresources: &'static [&'static str],
}

impl ResourceInfo {
    /// The list kind, e.g. `CassandraClusterList`.
    pub fn list_kind(&self) -> &'static str {
        self.kind.list_kind()
    }
}

/// The category every navigator resource belongs to: `kubectl get navigator`.
pub const CATEGORY: &str = "navigator";

/// Every resource of the group.
pub const RESOURCES: &[ResourceInfo] = &[
    ResourceInfo {
        kind: Kind::CassandraCluster,
        plural: "cassandraclusters",
        singular: "cassandracluster",
        short_names: &["cassandra", "cass"],
        categories: &[CATEGORY],
        namespaced: true,
        subresources: &["status"],
    },
    ResourceInfo {
        kind: Kind::ElasticsearchCluster,
        plural: "elasticsearchclusters",
        singular: "elasticsearchcluster",
        short_names: &["esc", "elasticsearch"],
        categories: &[CATEGORY],
        namespaced: true,
        subresources: &["status"],
    },
    ResourceInfo {
        kind: Kind::Pilot,
        plural: "pilots",
        singular: "pilot",
        short_names: &[],
        categories: &[CATEGORY],
        namespaced: true,
        subresources: &["status"],
    },
];

/// The served versions, preferred first.
pub const SERVED_VERSIONS: &[ApiVersion] = &[ApiVersion::V1beta1, ApiVersion::V1alpha1];

/// The version objects are stored in.
pub const STORAGE_VERSION: ApiVersion = ApiVersion::V1beta1;

/// Looks a resource up by its plural name.
pub fn by_plural(plural: &str) -> Option<&'static ResourceInfo> {
    RESOURCES.iter().find(|r| r.plural == plural)
}

/// Looks a resource up by its kind.
pub fn by_kind(kind: Kind) -> &'static ResourceInfo {
    match kind {
        Kind::CassandraCluster => &RESOURCES[0],
        Kind::ElasticsearchCluster => &RESOURCES[1],
        Kind::Pilot => &RESOURCES[2],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_agree() {
        for r in RESOURCES {
            assert_eq!(by_kind(r.kind), r);
            assert_eq!(by_plural(r.plural), Some(r));
            assert_eq!(r.singular, r.kind.as_str().to_lowercase());
        }
        assert_eq!(
            by_plural("cassandraclusters").map(|r| r.short_names),
            Some(&["cassandra", "cass"][..])
        );
        assert_eq!(by_plural("nope"), None);
    }
}
