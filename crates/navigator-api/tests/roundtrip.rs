//! Round trips of the navigator API, for arbitrary valid, defaulted objects of every kind in both
//! served versions (strategies in `support/mod.rs`):
//!
//! * `v1alpha1 → hub → v1beta1 → hub → v1alpha1` and `v1beta1 → hub → v1alpha1 → hub → v1beta1`
//!   are the identity, so nothing written in either version is lost by storing or serving it in
//!   the other (the `v1beta1`-only fields travel in the `navigator.jetstack.io/v1beta1-fields`
//!   annotation);
//! * JSON encoding then decoding is the identity for every kind in both versions, down to the
//!   exact Cassandra version string (`"3.9"` stays `"3.9"`, it does not become `"3.9.0"`);
//! * `scheme::encode` gives each object's own JSON and `scheme::decode` (which applies defaults)
//!   gives back the same hub object, for every (version, kind) pair and across versions;
//! * the generated objects pass `validate_create` and `validate_status_update`, so the round trips
//!   are about objects the API server would store.
//!
//! Typed equality compares Cassandra versions semantically, so every identity is also checked on
//! the JSON form. A few plain tests show concretely what the conversion annotation holds, that it
//! comes back, and that nothing is written to it when there is nothing to keep.

// Helpers outside `#[test]` functions panic on purpose too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod support;

use std::fmt::Debug;

use navigator_api::field::aggregate_message;
use navigator_api::internal as hub;
use navigator_api::scheme::{self, ApiVersion, HubObject, Kind};
use navigator_api::v1alpha1::V1BETA1_FIELDS_ANNOTATION;
use navigator_api::{ConversionError, v1alpha1, v1beta1, validation};
use proptest::prelude::*;
use serde_json::{Value, json};

// ---- the wire types ----

/// A wire type, with the version strings it holds as written (JSON pointer, string). Typed
/// equality compares Cassandra versions semantically (`"3.9" == "3.9.0"`), so the checks also
/// compare these strings.
trait Wire: Clone + Debug + PartialEq + serde::Serialize + serde::de::DeserializeOwned {
    fn versions(&self) -> Vec<(&'static str, String)>;
}

macro_rules! cluster_wire {
    ($($ty:ty),*) => {$(
        impl Wire for $ty {
            fn versions(&self) -> Vec<(&'static str, String)> {
                self.spec
                    .version
                    .iter()
                    .map(|v| ("/spec/version", v.to_string()))
                    .collect()
            }
        }
    )*};
}

cluster_wire!(
    v1alpha1::CassandraCluster,
    v1beta1::CassandraCluster,
    v1alpha1::ElasticsearchCluster,
    v1beta1::ElasticsearchCluster
);

macro_rules! pilot_wire {
    ($($ty:ty),*) => {$(
        impl Wire for $ty {
            fn versions(&self) -> Vec<(&'static str, String)> {
                let cassandra = self.status.cassandra.iter().flat_map(|c| &c.version);
                let elasticsearch = self.status.elasticsearch.iter().flat_map(|e| &e.version);
                cassandra
                    .map(|v| ("/status/cassandra/version", v.to_string()))
                    .chain(elasticsearch.map(|v| ("/status/elasticsearch/version", v.to_string())))
                    .collect()
            }
        }
    )*};
}

pilot_wire!(v1alpha1::Pilot, v1beta1::Pilot);

// ---- the kinds, as (v1alpha1, hub, v1beta1) triples ----

/// One kind's types in both versions and the hub, with its conversions.
trait KindTypes {
    type Alpha: Wire;
    type Beta: Wire;
    type Hub: Clone + Debug + PartialEq;
    const KIND: Kind;
    fn wrap(h: Self::Hub) -> HubObject;
    fn alpha_to_hub(a: Self::Alpha) -> Result<Self::Hub, ConversionError>;
    fn hub_to_alpha(h: Self::Hub) -> Result<Self::Alpha, ConversionError>;
    fn beta_to_hub(b: Self::Beta) -> Self::Hub;
    fn hub_to_beta(h: Self::Hub) -> Self::Beta;
}

macro_rules! kind_types {
    ($marker:ident, $ty:ident) => {
        struct $marker;
        impl KindTypes for $marker {
            type Alpha = v1alpha1::$ty;
            type Beta = v1beta1::$ty;
            type Hub = hub::$ty;
            const KIND: Kind = Kind::$ty;
            fn wrap(h: hub::$ty) -> HubObject {
                HubObject::$ty(h)
            }
            fn alpha_to_hub(a: v1alpha1::$ty) -> Result<hub::$ty, ConversionError> {
                hub::$ty::try_from(a)
            }
            fn hub_to_alpha(h: hub::$ty) -> Result<v1alpha1::$ty, ConversionError> {
                v1alpha1::$ty::try_from(h)
            }
            fn beta_to_hub(b: v1beta1::$ty) -> hub::$ty {
                hub::$ty::from(b)
            }
            fn hub_to_beta(h: hub::$ty) -> v1beta1::$ty {
                v1beta1::$ty::from(h)
            }
        }
    };
}

kind_types!(Cassandra, CassandraCluster);
kind_types!(Elasticsearch, ElasticsearchCluster);
kind_types!(Pilot, Pilot);

// ---- the checks ----

fn fail(e: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(e.to_string())
}

fn to_json(x: &impl serde::Serialize) -> Value {
    serde_json::to_value(x).unwrap()
}

/// `actual == expected`, typed and on the wire.
fn same<T: Wire>(actual: &T, expected: &T, what: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(actual, expected, "{}", what);
    prop_assert_eq!(
        actual.versions(),
        expected.versions(),
        "{} (version strings)",
        what
    );
    prop_assert_eq!(to_json(actual), to_json(expected), "{} (JSON)", what);
    Ok(())
}

/// JSON encode → decode is the identity, and re-encoding gives the same JSON.
fn json_round_trip<T: Wire>(x: &T) -> Result<(), TestCaseError> {
    let value = to_json(x);
    for (pointer, written) in x.versions() {
        prop_assert_eq!(
            value.pointer(pointer),
            Some(&json!(written)),
            "the version is encoded as written"
        );
    }
    let back: T = serde_json::from_value(value.clone()).map_err(fail)?;
    same(&back, x, "JSON encode → decode")?;
    prop_assert_eq!(to_json(&back), value, "JSON encode → decode → encode");
    Ok(())
}

/// The generated object is one the API server accepts.
fn valid<K: KindTypes>(h: &K::Hub) -> Result<(), TestCaseError> {
    let obj = K::wrap(h.clone());
    let errs = validation::validate_create(&obj);
    prop_assert!(
        errs.is_empty(),
        "generated object fails validate_create: {}",
        aggregate_message(&errs)
    );
    let errs = validation::validate_status_update(&obj, &obj);
    prop_assert!(
        errs.is_empty(),
        "generated object fails validate_status_update: {}",
        aggregate_message(&errs)
    );
    Ok(())
}

fn other(version: ApiVersion) -> ApiVersion {
    match version {
        ApiVersion::V1alpha1 => ApiVersion::V1beta1,
        ApiVersion::V1beta1 => ApiVersion::V1alpha1,
    }
}

/// `x` is the `version` form of `h`: `scheme::encode(h, version)` is `x`'s JSON, decoding that
/// JSON (defaults included) gives `h` back, and so does a trip through the other version.
fn scheme_round_trip<K: KindTypes>(
    x: &impl serde::Serialize,
    version: ApiVersion,
    h: &K::Hub,
) -> Result<(), TestCaseError> {
    let wire = to_json(x);
    let encoded = scheme::encode(K::wrap(h.clone()), version).map_err(fail)?;
    prop_assert_eq!(
        &encoded,
        &wire,
        "scheme::encode({}) is the object's JSON",
        version
    );
    let decoded = scheme::decode(version, K::KIND, wire.clone()).map_err(fail)?;
    prop_assert_eq!(&decoded, &K::wrap(h.clone()), "scheme::decode({})", version);
    prop_assert_eq!(
        scheme::encode(decoded, version).map_err(fail)?,
        wire.clone(),
        "scheme decode → encode ({})",
        version
    );

    let there = scheme::encode(K::wrap(h.clone()), other(version)).map_err(fail)?;
    let back = scheme::decode(other(version), K::KIND, there).map_err(fail)?;
    prop_assert_eq!(
        &back,
        &K::wrap(h.clone()),
        "scheme through {}",
        other(version)
    );
    prop_assert_eq!(
        scheme::encode(back, version).map_err(fail)?,
        wire,
        "scheme {} → {} → {}",
        version,
        other(version),
        version
    );
    Ok(())
}

/// Every property for a `v1alpha1` object; `check_valid` is off only for objects deliberately
/// outside the validation rules (unsupported version strings).
fn check_v1alpha1<K: KindTypes>(a: &K::Alpha, check_valid: bool) -> Result<(), TestCaseError> {
    let h = K::alpha_to_hub(a.clone()).map_err(fail)?;
    if check_valid {
        valid::<K>(&h)?;
    }
    let b = K::hub_to_beta(h.clone());
    json_round_trip(&b)?;
    let h2 = K::beta_to_hub(b);
    prop_assert_eq!(&h2, &h, "v1alpha1 → hub → v1beta1 → hub");
    let a2 = K::hub_to_alpha(h2).map_err(fail)?;
    same(&a2, a, "v1alpha1 → hub → v1beta1 → hub → v1alpha1")?;
    json_round_trip(a)?;
    scheme_round_trip::<K>(a, ApiVersion::V1alpha1, &h)
}

/// Every property for a `v1beta1` object.
fn check_v1beta1<K: KindTypes>(b: &K::Beta, check_valid: bool) -> Result<(), TestCaseError> {
    let h = K::beta_to_hub(b.clone());
    if check_valid {
        valid::<K>(&h)?;
    }
    let a = K::hub_to_alpha(h.clone()).map_err(fail)?;
    json_round_trip(&a)?;
    let h2 = K::alpha_to_hub(a).map_err(fail)?;
    prop_assert_eq!(&h2, &h, "v1beta1 → hub → v1alpha1 → hub");
    let b2 = K::hub_to_beta(h2);
    same(&b2, b, "v1beta1 → hub → v1alpha1 → hub → v1beta1")?;
    json_round_trip(b)?;
    scheme_round_trip::<K>(b, ApiVersion::V1beta1, &h)
}

proptest! {
    #[test]
    fn v1alpha1_cassandra_cluster_round_trips(a in support::v1alpha1_cassandra_cluster()) {
        check_v1alpha1::<Cassandra>(&a, true)?;
    }

    #[test]
    fn v1beta1_cassandra_cluster_round_trips(b in support::v1beta1_cassandra_cluster()) {
        check_v1beta1::<Cassandra>(&b, true)?;
    }

    #[test]
    fn v1alpha1_elasticsearch_cluster_round_trips(
        a in support::v1alpha1_elasticsearch_cluster(),
    ) {
        check_v1alpha1::<Elasticsearch>(&a, true)?;
    }

    #[test]
    fn v1beta1_elasticsearch_cluster_round_trips(b in support::v1beta1_elasticsearch_cluster()) {
        check_v1beta1::<Elasticsearch>(&b, true)?;
    }

    #[test]
    fn v1alpha1_pilot_round_trips(a in support::v1alpha1_pilot()) {
        check_v1alpha1::<Pilot>(&a, true)?;
    }

    #[test]
    fn v1beta1_pilot_round_trips(b in support::v1beta1_pilot()) {
        check_v1beta1::<Pilot>(&b, true)?;
    }

    /// The Cassandra version string survives every trip in any form it parses in, including
    /// forms validation rejects (`"3"`, `"5.0-beta1+dev"`), as objects stored before a rule
    /// changed must still be served.
    #[test]
    fn any_cassandra_version_string_is_kept(
        a in support::v1alpha1_cassandra_cluster(),
        b in support::v1beta1_cassandra_cluster(),
        version in support::cassandra_version_any(),
    ) {
        let text = version.as_str().to_owned();
        let mut a = a;
        a.spec.version = Some(version.clone());
        check_v1alpha1::<Cassandra>(&a, false)?;
        let mut b = b;
        b.spec.version = Some(version);
        check_v1beta1::<Cassandra>(&b, false)?;
        let value = scheme::encode(
            HubObject::CassandraCluster(hub::CassandraCluster::from(b)),
            ApiVersion::V1alpha1,
        )
        .map_err(fail)?;
        prop_assert_eq!(&value["spec"]["version"], &json!(text));
    }
}

// ---- the conversion annotation, concretely ----

fn annotation(value: &Value) -> Option<Value> {
    value["metadata"]["annotations"][V1BETA1_FIELDS_ANNOTATION]
        .as_str()
        .map(|raw| serde_json::from_str(raw).unwrap())
}

/// Decodes `value` as `from`, encodes it as `to`.
fn convert(value: &Value, kind: Kind, from: ApiVersion, to: ApiVersion) -> Value {
    scheme::encode(scheme::decode(from, kind, value.clone()).unwrap(), to).unwrap()
}

#[test]
fn v1beta1_only_cluster_fields_are_kept_in_the_annotation() {
    let beta = json!({
        "apiVersion": "navigator.jetstack.io/v1beta1",
        "kind": "ElasticsearchCluster",
        "metadata": {
            "name": "search",
            "namespace": "prod",
            "generation": 4,
            "annotations": {"team": "search"},
        },
        "spec": {
            "pilotImage": {"repository": "navigator-pilot", "tag": "v1", "pullPolicy": "IfNotPresent"},
            "securityContext": {"runAsUser": 1000},
            "podDisruptionBudget": {"maxUnavailable": "25%"},
            "flavor": "opensearch",
            "version": "2.19.1",
            "nodePools": [
                {"name": "data", "replicas": 3, "roles": ["master", "data"], "nodeSelector": {}},
            ],
        },
        "status": {
            "conditions": [{
                "type": "Available",
                "status": "True",
                "observedGeneration": 4,
                "lastTransitionTime": "2026-01-02T03:04:05Z",
                "reason": "AllNodesReady",
            }],
            "observedGeneration": 4,
            "nodePools": {"data": {"readyReplicas": 2, "replicas": 3, "updatedReplicas": 3}},
            "health": "Green",
        },
    });
    let alpha = convert(
        &beta,
        Kind::ElasticsearchCluster,
        ApiVersion::V1beta1,
        ApiVersion::V1alpha1,
    );
    pretty_assertions::assert_eq!(
        alpha,
        json!({
            "apiVersion": "navigator.jetstack.io/v1alpha1",
            "kind": "ElasticsearchCluster",
            "metadata": {
                "name": "search",
                "namespace": "prod",
                "generation": 4,
                "annotations": {
                    "navigator.jetstack.io/v1beta1-fields": alpha["metadata"]["annotations"][V1BETA1_FIELDS_ANNOTATION],
                    "team": "search",
                },
            },
            "spec": {
                "pilotImage": {"repository": "navigator-pilot", "tag": "v1", "pullPolicy": "IfNotPresent"},
                "securityContext": {"runAsUser": 1000},
                "version": "2.19.1",
                "nodePools": [
                    {"name": "data", "replicas": 3, "roles": ["master", "data"], "nodeSelector": {}},
                ],
            },
            "status": {
                "conditions": [{
                    "type": "Available",
                    "status": "True",
                    "lastTransitionTime": "2026-01-02T03:04:05Z",
                    "reason": "AllNodesReady",
                }],
                "nodePools": {"data": {"readyReplicas": 2}},
                "health": "Green",
            },
        })
    );
    pretty_assertions::assert_eq!(
        annotation(&alpha).unwrap(),
        json!({
            "flavor": "opensearch",
            "podDisruptionBudget": {"maxUnavailable": "25%"},
            "status": {
                "observedGeneration": 4,
                "conditionGenerations": {"Available": 4},
                "nodePools": {"data": {"replicas": 3, "updatedReplicas": 3}},
            },
        })
    );

    // Read back through v1alpha1 (as a v1alpha1 client's update would be), everything returns
    // and the annotation is consumed: the hub keeps only the user's annotations.
    let hub = scheme::decode(ApiVersion::V1alpha1, Kind::ElasticsearchCluster, alpha).unwrap();
    assert_eq!(
        hub.metadata().annotations,
        Some([("team".to_owned(), "search".to_owned())].into())
    );
    pretty_assertions::assert_eq!(scheme::encode(hub, ApiVersion::V1beta1).unwrap(), beta);
}

#[test]
fn v1beta1_only_pilot_fields_are_kept_in_the_annotation() {
    let beta = json!({
        "apiVersion": "navigator.jetstack.io/v1beta1",
        "kind": "Pilot",
        "metadata": {"name": "cass-demo-ring-1", "namespace": "db"},
        "spec": {
            "cluster": {"kind": "CassandraCluster", "name": "demo"},
            "nodePool": "ring",
            "requestedState": "Decommissioned",
        },
        "status": {
            "conditions": [{"type": "Ready", "status": "False", "observedGeneration": 2, "reason": "Leaving"}],
            "observedGeneration": 2,
            "lastHeartbeatTime": "2026-03-04T05:06:07Z",
            "operation": {"state": "Decommissioned", "phase": "InProgress", "startTime": "2026-03-04T05:00:00Z"},
            "cassandra": {
                "version": "3.11",
                "hostId": "5a6e7b1c-0000-4000-8000-000000000001",
                "datacenter": "dc1",
                "rack": "ring",
                "operationMode": "LEAVING",
                "tokens": 256,
                "loadBytes": 1234567,
                "peers": {"live": ["10.0.0.2"], "leaving": ["10.0.0.1"]},
            },
        },
    });
    let alpha = convert(
        &beta,
        Kind::Pilot,
        ApiVersion::V1beta1,
        ApiVersion::V1alpha1,
    );
    assert_eq!(alpha["spec"], json!({}));
    assert_eq!(
        alpha["status"],
        json!({
            "conditions": [{
                "type": "Ready",
                "status": "False",
                "lastTransitionTime": null,
                "reason": "Leaving",
                "message": "",
            }],
            "cassandra": {"version": "3.11"},
        })
    );
    pretty_assertions::assert_eq!(
        annotation(&alpha).unwrap(),
        json!({
            "cluster": {"kind": "CassandraCluster", "name": "demo"},
            "nodePool": "ring",
            "requestedState": "Decommissioned",
            "observedGeneration": 2,
            "lastHeartbeatTime": "2026-03-04T05:06:07Z",
            "operation": {"state": "Decommissioned", "phase": "InProgress", "startTime": "2026-03-04T05:00:00Z"},
            "conditionGenerations": {"Ready": 2},
            "cassandra": {
                "hostId": "5a6e7b1c-0000-4000-8000-000000000001",
                "datacenter": "dc1",
                "rack": "ring",
                "operationMode": "LEAVING",
                "tokens": 256,
                "loadBytes": 1234567,
                "peers": {"live": ["10.0.0.2"], "leaving": ["10.0.0.1"]},
            },
        })
    );
    let back = convert(
        &alpha,
        Kind::Pilot,
        ApiVersion::V1alpha1,
        ApiVersion::V1beta1,
    );
    pretty_assertions::assert_eq!(back, beta);
    assert_eq!(
        back["metadata"].get("annotations"),
        None,
        "the annotation does not leak into v1beta1"
    );
}

#[test]
fn nothing_is_written_when_there_is_nothing_to_keep() {
    // Values v1alpha1 implies (flavour elasticsearch, requested state Running) and absent
    // v1beta1-only fields leave no annotation, and existing annotations are left as they are.
    let cases = [
        (
            Kind::ElasticsearchCluster,
            json!({
                "metadata": {"name": "logs", "namespace": "ns"},
                "spec": {
                    "pilotImage": {"repository": "p", "tag": "t"},
                    "flavor": "elasticsearch",
                    "version": "8.15.0",
                    "nodePools": [{"name": "all", "roles": ["master", "data"]}],
                },
                "status": {
                    "conditions": [{"type": "Available", "status": "True"}],
                    "nodePools": {"all": {"readyReplicas": 1}},
                },
            }),
        ),
        (
            Kind::CassandraCluster,
            json!({
                "metadata": {"name": "ring", "namespace": "ns", "annotations": {"owner": "team-a"}},
                "spec": {
                    "pilotImage": {"repository": "p", "tag": "t"},
                    "version": "4.1",
                    "nodePools": [{"name": "a"}],
                },
            }),
        ),
        (
            Kind::Pilot,
            json!({
                "metadata": {"name": "cass-ring-a-0", "namespace": "ns"},
                "spec": {"requestedState": "Running"},
                "status": {"cassandra": {"version": "4.1.7"}},
            }),
        ),
        (
            Kind::Pilot,
            json!({"metadata": {"name": "es-logs-all-0", "namespace": "ns"}}),
        ),
    ];
    for (kind, beta) in cases {
        let alpha = convert(&beta, kind, ApiVersion::V1beta1, ApiVersion::V1alpha1);
        assert_eq!(
            alpha["metadata"].get("annotations"),
            beta["metadata"].get("annotations"),
            "{kind}: {alpha:#}"
        );
        // And the trip back restores the implied values.
        let back = convert(&alpha, kind, ApiVersion::V1alpha1, ApiVersion::V1beta1);
        let direct = convert(&beta, kind, ApiVersion::V1beta1, ApiVersion::V1beta1);
        pretty_assertions::assert_eq!(back, direct, "{kind}");
    }
}

#[test]
fn v1alpha1_objects_without_the_annotation_get_the_implied_v1beta1_values() {
    let alpha = json!({
        "metadata": {"name": "logs", "namespace": "ns"},
        "spec": {
            "pilotImage": {"repository": "p", "tag": "t"},
            "version": "7.17.0",
            "nodePools": [{"name": "all", "roles": ["master"]}],
        },
    });
    let beta = convert(
        &alpha,
        Kind::ElasticsearchCluster,
        ApiVersion::V1alpha1,
        ApiVersion::V1beta1,
    );
    assert_eq!(beta["spec"]["flavor"], json!("elasticsearch"));
    assert_eq!(beta["metadata"].get("annotations"), None);

    let pilot = json!({"metadata": {"name": "p", "namespace": "ns"}});
    let beta = convert(
        &pilot,
        Kind::Pilot,
        ApiVersion::V1alpha1,
        ApiVersion::V1beta1,
    );
    assert_eq!(beta["spec"], json!({"requestedState": "Running"}));
}
