//! The objects the benchmark writes (v1beta1 JSON) and the URLs it uses.

use serde_json::{Value, json};

/// The group/version every request uses.
pub const GROUP_VERSION: &str = "navigator.jetstack.io/v1beta1";

/// Which kind the benchmark creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A small `Pilot` (about 300 bytes stored).
    Pilot,
    /// A `CassandraCluster` like `examples/cassandra-cluster.yaml`.
    Cassandra,
}

impl Kind {
    /// The plural resource name in URLs.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Pilot => "pilots",
            Kind::Cassandra => "cassandraclusters",
        }
    }

    /// The `kind` field.
    pub fn kind(self) -> &'static str {
        match self {
            Kind::Pilot => "Pilot",
            Kind::Cassandra => "CassandraCluster",
        }
    }
}

/// `/apis/navigator.jetstack.io/v1beta1/namespaces/<ns>/<plural>`.
pub fn collection_path(kind: Kind, namespace: &str) -> String {
    format!(
        "/apis/{GROUP_VERSION}/namespaces/{namespace}/{}",
        kind.plural()
    )
}

/// The path of one object.
pub fn object_path(kind: Kind, namespace: &str, name: &str) -> String {
    format!("{}/{name}", collection_path(kind, namespace))
}

/// The name of the `i`-th benchmark object.
pub fn name(i: usize) -> String {
    format!("bench-{i:06}")
}

/// The `i`-th benchmark object of `kind` in `namespace`.
pub fn object(kind: Kind, namespace: &str, i: usize) -> Value {
    let metadata = json!({
        "name": name(i),
        "namespace": namespace,
        "labels": {"app.kubernetes.io/part-of": "navigator-bench", "bench/shard": (i % 16).to_string()},
    });
    match kind {
        Kind::Pilot => json!({
            "apiVersion": GROUP_VERSION,
            "kind": "Pilot",
            "metadata": metadata,
            "spec": {
                "cluster": {"kind": "CassandraCluster", "name": "demo"},
                "nodePool": "region-1-zone-a",
                "requestedState": "Running",
            },
        }),
        Kind::Cassandra => json!({
            "apiVersion": GROUP_VERSION,
            "kind": "CassandraCluster",
            "metadata": metadata,
            "spec": {
                "version": "5.0.2",
                "pilotImage": {"repository": "quay.io/jetstack/navigator-pilot-cassandra", "tag": "v0.2.0"},
                "podDisruptionBudget": {"maxUnavailable": 1},
                "nodePools": [{
                    "name": "region-1-zone-a",
                    "replicas": 3,
                    "datacenter": "region-1",
                    "rack": "zone-a",
                    "persistence": {"size": "5Gi"},
                    "resources": {
                        "requests": {"cpu": "500m", "memory": "2Gi"},
                        "limits": {"cpu": "1", "memory": "3Gi"},
                    },
                }],
            },
        }),
    }
}

/// The read-modify-write change of an update: sets the annotation `bench/seq` to `seq`, which
/// differs on every update so that no update is a no-op.
pub fn touch(object: &mut Value, seq: &str) -> bool {
    let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
        return false;
    };
    let annotations = metadata
        .entry("annotations")
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    if annotations.is_null() {
        *annotations = Value::Object(serde_json::Map::new());
    }
    match annotations.as_object_mut() {
        Some(map) => {
            map.insert("bench/seq".to_owned(), Value::String(seq.to_owned()));
            true
        }
        None => false,
    }
}

/// `metadata.resourceVersion` of an object or list.
pub fn resource_version(value: &Value) -> Option<&str> {
    value.pointer("/metadata/resourceVersion")?.as_str()
}

/// Percent-encodes `s` for a URL query value (everything but unreserved characters).
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_names() {
        assert_eq!(
            collection_path(Kind::Pilot, "bench"),
            "/apis/navigator.jetstack.io/v1beta1/namespaces/bench/pilots"
        );
        assert_eq!(
            object_path(Kind::Cassandra, "b", &name(7)),
            "/apis/navigator.jetstack.io/v1beta1/namespaces/b/cassandraclusters/bench-000007"
        );
    }

    #[test]
    fn objects_carry_kind_name_and_namespace() {
        for kind in [Kind::Pilot, Kind::Cassandra] {
            let o = object(kind, "bench", 3);
            assert_eq!(o["kind"], kind.kind());
            assert_eq!(o["apiVersion"], GROUP_VERSION);
            assert_eq!(o["metadata"]["name"], "bench-000003");
            assert_eq!(o["metadata"]["namespace"], "bench");
        }
    }

    #[test]
    fn touch_sets_the_annotation() {
        let mut o = object(Kind::Pilot, "bench", 1);
        assert!(touch(&mut o, "u-1"));
        assert_eq!(o["metadata"]["annotations"]["bench/seq"], "u-1");
        o["metadata"]["annotations"] = Value::Null;
        assert!(touch(&mut o, "u-2"));
        assert_eq!(o["metadata"]["annotations"]["bench/seq"], "u-2");
        assert!(!touch(&mut json!({}), "x"));
    }

    #[test]
    fn escapes_continue_tokens() {
        assert_eq!(query_escape("eyJ2Ijo+/=="), "eyJ2Ijo%2B%2F%3D%3D");
        assert_eq!(query_escape("a-b_c.d~"), "a-b_c.d~");
    }

    #[test]
    fn reads_resource_versions() {
        let o = json!({"metadata": {"resourceVersion": "42"}});
        assert_eq!(resource_version(&o), Some("42"));
        assert_eq!(resource_version(&json!({})), None);
    }
}
