//! Property-based fuzzing of the decoders: arbitrary JSON — random shapes built from the API's
//! own field names and hostile values — never panics `scheme::decode`, and whatever decodes also
//! validates, prints and encodes in every served version without panicking.
#![allow(clippy::unwrap_used)]

use navigator_api::scheme::{self, ApiVersion, Kind};
use navigator_api::{printer, validation};
use proptest::prelude::*;
use serde_json::{Map, Value};

const KEYS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "namespace",
    "annotations",
    "labels",
    "spec",
    "status",
    "version",
    "flavor",
    "nodePools",
    "replicas",
    "roles",
    "persistence",
    "size",
    "enabled",
    "storageClass",
    "pilotImage",
    "image",
    "repository",
    "tag",
    "pullPolicy",
    "securityContext",
    "runAsUser",
    "minimumMasters",
    "plugins",
    "rack",
    "datacenter",
    "resources",
    "requests",
    "limits",
    "nodeSelector",
    "conditions",
    "type",
    "health",
    "cluster",
    "nodePool",
    "requestedState",
    "operation",
    "phase",
    "cassandra",
    "elasticsearch",
    "documents",
    "peers",
    "live",
    "creationTimestamp",
    "lastTransitionTime",
    "podDisruptionBudget",
    "maxUnavailable",
    "navigator.jetstack.io/v1beta1-fields",
    "x",
];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop_oneof![
            Just("5.0.2".to_owned()),
            Just("3.9".to_owned()),
            Just("8.15.0".to_owned()),
            Just("-1Gi".to_owned()),
            Just("2026-01-01T00:00:00Z".to_owned()),
            Just("{\"flavor\":1}".to_owned()),
            "\\PC{0,12}",
        ]
        .prop_map(Value::String),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|members| {
                Value::Object(
                    members
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decoding_arbitrary_json_never_panics(value in json()) {
        for version in [ApiVersion::V1alpha1, ApiVersion::V1beta1] {
            for kind in Kind::ALL {
                if let Ok(obj) = scheme::decode(version, kind, value.clone()) {
                    let _ = validation::validate_create(&obj);
                    let _ = validation::validate_update(&obj, &obj);
                    let _ = validation::validate_status_update(&obj, &obj);
                    let _ = validation::warnings(&obj);
                    let _ = printer::cells(&obj, "2026-01-01T00:00:00Z".parse().unwrap());
                    for out in [ApiVersion::V1alpha1, ApiVersion::V1beta1] {
                        prop_assert!(scheme::encode(obj.clone(), out).is_ok());
                    }
                }
            }
        }
    }

    #[test]
    fn decoding_object_shaped_json_never_panics(spec in json(), status in json(), meta in json()) {
        let value = serde_json::json!({"metadata": meta, "spec": spec, "status": status});
        for version in [ApiVersion::V1alpha1, ApiVersion::V1beta1] {
            for kind in Kind::ALL {
                if let Ok(obj) = scheme::decode(version, kind, value.clone()) {
                    let _ = validation::validate_create(&obj);
                    prop_assert!(scheme::encode(obj, version).is_ok());
                }
            }
        }
    }
}
