//! Proptest strategies for arbitrary *valid, defaulted* navigator objects of every kind in both
//! served versions.
//!
//! "Defaulted" means what `v1alpha1::default_*` / `v1beta1::default_*` leave behind: pull
//! policies set, pool `replicas` and `nodeSelector` set, Cassandra `rack` and `datacenter` set,
//! the `v1beta1` Elasticsearch `flavor` and Pilot `requestedState` set. "Valid" means the hub
//! object passes `validation::validate_create` and `validation::validate_status_update`; the
//! round-trip tests check that too, so a generator that drifts from the rules is noticed.
//!
//! Every field of every type is generated, with these deliberate limits:
//! * label and annotation maps are `None` or non-empty (Kubernetes' encoding omits empty maps, so
//!   `Some({})` is not a state a stored object can be in), and generated annotations never use the
//!   conversion annotation key, which belongs to the conversion;
//! * `v1alpha1` `persistence.enabled` is `None`: it is deprecated and dropped by conversion
//!   (`tests/original_manifests.rs` shows it accepted and dropped);
//! * times are whole seconds, the precision of Kubernetes' `Time` encoding.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ResourceClaim, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    FieldsV1, ManagedFieldsEntry, ObjectMeta, OwnerReference, Time,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;
use navigator_api::internal::{
    CONDITION_STATUSES, FLAVOR_ELASTICSEARCH, FLAVOR_OPENSEARCH, HEALTHS, OPERATION_PHASES,
    PILOT_CLUSTER_KINDS, PULL_POLICIES, REQUESTED_STATES, ROLE_MASTER, ROLES,
};
use navigator_api::v1alpha1::V1BETA1_FIELDS_ANNOTATION;
use navigator_api::version::{CassandraVersion, ElasticsearchVersion};
use navigator_api::{v1alpha1, v1beta1};
use proptest::collection::{btree_map, btree_set, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::sample::{select, subsequence};

// ---- names and small values ----

/// A cluster name: a DNS-1123 label short enough that `cass-<cluster>-<pool>` and
/// `es-<cluster>-<pool>` stay within the StatefulSet name limit.
fn cluster_name() -> impl Strategy<Value = String> {
    "[a-z]([-a-z0-9]{0,12}[a-z0-9])?"
}

/// A pool name (a short DNS-1123 label).
fn pool_name() -> impl Strategy<Value = String> {
    "[a-z]([-a-z0-9]{0,8}[a-z0-9])?"
}

/// A DNS-1123 subdomain, e.g. a pod (and so Pilot) name or a storage class.
fn dns_subdomain() -> impl Strategy<Value = String> {
    "[a-z0-9]([-a-z0-9]{0,15}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,6}[a-z0-9])?){0,2}"
}

fn namespace() -> impl Strategy<Value = String> {
    "[a-z0-9]([-a-z0-9]{0,18}[a-z0-9])?"
}

/// A label key, annotation key or resource name: `[prefix/]name`.
fn qualified_name() -> impl Strategy<Value = String> {
    "([a-z0-9]([-a-z0-9]{0,6}[a-z0-9])?(\\.[a-z]{2,4}){0,2}/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,10}[A-Za-z0-9])?"
}

fn label_value() -> impl Strategy<Value = String> {
    "([A-Za-z0-9]([-A-Za-z0-9_.]{0,10}[A-Za-z0-9])?)?"
}

/// A Cassandra rack or datacenter name.
fn topology_name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][-A-Za-z0-9_.]{0,12}"
}

fn uid() -> impl Strategy<Value = String> {
    "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
}

/// Any text, including non-ASCII and JSON-looking strings.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,24}",
        "\\{\"[a-z]{1,6}\": ?\\[?[0-9]{1,3}\\]?\\}",
        Just(String::new()),
    ]
}

fn camel_case() -> impl Strategy<Value = String> {
    "[A-Z][a-z]{1,8}([A-Z][a-z]{1,8}){0,2}"
}

fn pick(values: &'static [&'static str]) -> impl Strategy<Value = String> {
    select(values).prop_map(str::to_owned)
}

fn string_map(
    key: impl Strategy<Value = String>,
    value: impl Strategy<Value = String>,
) -> impl Strategy<Value = Option<BTreeMap<String, String>>> {
    option::of(btree_map(key, value, 1..4))
}

/// A `Time` at whole seconds, 1970–2099.
fn time() -> impl Strategy<Value = Time> {
    (0i64..4_102_444_800).prop_map(|s| Time(Timestamp::from_second(s).unwrap()))
}

/// A non-empty list of distinct strings, in any order.
fn distinct(item: impl Strategy<Value = String>, max: usize) -> impl Strategy<Value = Vec<String>> {
    btree_set(item, 1..=max)
        .prop_map(|s| s.into_iter().collect::<Vec<_>>())
        .prop_shuffle()
}

// ---- metadata ----

fn owner_reference() -> impl Strategy<Value = OwnerReference> {
    (
        pick(&[
            "navigator.jetstack.io/v1alpha1",
            "navigator.jetstack.io/v1beta1",
            "v1",
            "apps/v1",
        ]),
        pick(&[
            "CassandraCluster",
            "ElasticsearchCluster",
            "Pod",
            "StatefulSet",
        ]),
        dns_subdomain(),
        uid(),
        option::of(any::<bool>()),
        option::of(any::<bool>()),
    )
        .prop_map(
            |(api_version, kind, name, uid, controller, block_owner_deletion)| OwnerReference {
                api_version,
                block_owner_deletion,
                controller,
                kind,
                name,
                uid,
            },
        )
}

fn managed_fields_entry() -> impl Strategy<Value = ManagedFieldsEntry> {
    (
        option::of(pick(&[
            "navigator.jetstack.io/v1alpha1",
            "navigator.jetstack.io/v1beta1",
        ])),
        option::of(Just("FieldsV1".to_owned())),
        option::of(
            "[a-z]{1,8}".prop_map(|f| FieldsV1(serde_json::json!({ format!("f:{f}"): {} }))),
        ),
        option::of("[a-z][-a-z]{0,15}"),
        option::of(pick(&["Apply", "Update"])),
        option::of(pick(&["status", "scale"])),
        option::of(time()),
    )
        .prop_map(
            |(api_version, fields_type, fields_v1, manager, operation, subresource, time)| {
                ManagedFieldsEntry {
                    api_version,
                    fields_type,
                    fields_v1,
                    manager,
                    operation,
                    subresource,
                    time,
                }
            },
        )
}

/// Annotations without the conversion annotation.
fn annotations() -> impl Strategy<Value = Option<BTreeMap<String, String>>> {
    string_map(
        qualified_name().prop_filter("the conversion annotation is not user data", |k| {
            k != V1BETA1_FIELDS_ANNOTATION
        }),
        text(),
    )
}

/// Full object metadata with the given name.
fn object_meta(name: impl Strategy<Value = String>) -> impl Strategy<Value = ObjectMeta> {
    (
        (
            name,
            namespace(),
            option::of("[a-z]{1,8}-"),
            string_map(qualified_name(), label_value()),
            annotations(),
            option::of("/apis/navigator\\.jetstack\\.io/v1beta1/[a-z]{1,8}"),
        ),
        (
            option::of(uid()),
            option::of("[1-9][0-9]{0,8}"),
            option::of(1i64..1_000_000),
            option::of(time()),
            option::of(time()),
            option::of(0i64..3600),
        ),
        (
            // At most one controller reference, as Go's ValidateOwnerReferences requires.
            option::of(vec(owner_reference(), 1..3).prop_map(|mut refs| {
                for r in refs.iter_mut().skip(1) {
                    r.controller = r.controller.map(|_| false);
                }
                refs
            })),
            option::of(vec("[a-z]{1,8}\\.io/[a-z]([-a-z]{0,9}[a-z])?", 1..3)),
            option::of(vec(managed_fields_entry(), 1..3)),
        ),
    )
        .prop_map(
            |(
                (name, namespace, generate_name, labels, annotations, self_link),
                (
                    uid,
                    resource_version,
                    generation,
                    creation_timestamp,
                    deletion_timestamp,
                    deletion_grace_period_seconds,
                ),
                (owner_references, finalizers, managed_fields),
            )| ObjectMeta {
                annotations,
                creation_timestamp,
                deletion_grace_period_seconds,
                deletion_timestamp,
                finalizers,
                generate_name,
                generation,
                labels,
                managed_fields,
                name: Some(name),
                namespace: Some(namespace),
                owner_references,
                resource_version,
                self_link,
                uid,
            },
        )
}

// ---- versions ----

/// A Cassandra version string in any of its forms (`"3"`, `"3.11"`, `"4.0.1"`,
/// `"5.0-beta1+dev"`), supported or not.
pub fn cassandra_version_any() -> impl Strategy<Value = CassandraVersion> {
    prop_oneof![
        pick(&[
            "3",
            "3.9",
            "3.11",
            "3.11.1",
            "4.0.1",
            "5.0-beta1+dev",
            "3.9-alpha1+dev2",
            "4.0-rc2",
            "5.0.2",
        ]),
        (
            0u64..12,
            option::of((0u64..30, option::of(0u64..30))),
            option::of("(alpha|beta|rc)[1-9]"),
            option::of("(dev|build\\.[0-9]{1,3}|[a-f0-9]{7})"),
        )
            .prop_map(|(major, rest, pre, build)| {
                let mut s = major.to_string();
                if let Some((minor, patch)) = rest {
                    s += &format!(".{minor}");
                    if let Some(patch) = patch {
                        s += &format!(".{patch}");
                    }
                }
                if let Some(pre) = pre {
                    s += &format!("-{pre}");
                }
                if let Some(build) = build {
                    s += &format!("+{build}");
                }
                s
            }),
    ]
    .prop_map(|s| CassandraVersion::parse(&s).unwrap())
}

/// A Cassandra version Navigator runs (3.11 to 5.0, no pre-release) in its varied forms:
/// `"4"`, `"3.11"`, `"4.0.1"`, `"5.0.2+dev"`.
fn cassandra_version_supported() -> impl Strategy<Value = CassandraVersion> {
    (
        select(vec![(3u64, 11u64), (4, 0), (4, 1), (5, 0)]),
        0u8..3,
        0u64..25,
        option::of("(dev|build\\.[0-9]{1,3})"),
    )
        .prop_map(|((major, minor), form, patch, build)| {
            let mut s = match form {
                0 if minor == 0 => major.to_string(),
                1 => format!("{major}.{minor}.{patch}"),
                _ => format!("{major}.{minor}"),
            };
            if let Some(build) = build {
                s += &format!("+{build}");
            }
            CassandraVersion::parse(&s).unwrap()
        })
}

/// A strict semantic version with its major in `majors`.
fn semver(
    majors: std::ops::RangeInclusive<u64>,
    prerelease: bool,
) -> impl Strategy<Value = ElasticsearchVersion> {
    let pre = if prerelease {
        option::of("(alpha|beta|rc)[1-9]").boxed()
    } else {
        Just(None).boxed()
    };
    (
        majors,
        0u64..30,
        0u64..30,
        pre,
        option::of("(build\\.[0-9]{1,3}|[a-f0-9]{7})"),
    )
        .prop_map(|(major, minor, patch, pre, build)| {
            let mut s = format!("{major}.{minor}.{patch}");
            if let Some(pre) = pre {
                s += &format!("-{pre}");
            }
            if let Some(build) = build {
                s += &format!("+{build}");
            }
            ElasticsearchVersion::parse(&s).unwrap()
        })
}

/// A supported flavour with a supported version of it.
fn flavor_and_version() -> impl Strategy<Value = (String, ElasticsearchVersion)> {
    prop_oneof![
        semver(6..=8, false).prop_map(|v| (FLAVOR_ELASTICSEARCH.to_owned(), v)),
        semver(1..=3, false).prop_map(|v| (FLAVOR_OPENSEARCH.to_owned(), v)),
    ]
}

// ---- spec pieces (shapes shared by both versions are built from tuples) ----

type ImageParts = (String, String, String);

fn image_parts() -> impl Strategy<Value = ImageParts> {
    (
        "[a-z0-9]{1,8}(\\.[a-z]{2,3})?(/[a-z0-9][-a-z0-9]{0,9}){0,2}",
        "[A-Za-z0-9_][A-Za-z0-9_.-]{0,12}",
        pick(PULL_POLICIES),
    )
}

/// A positive size, in the forms people write.
fn size() -> impl Strategy<Value = Quantity> {
    prop_oneof![
        (1u32..2000, select(vec!["Gi", "Mi", "Ti", "G", "M", ""]))
            .prop_map(|(n, suffix)| format!("{n}{suffix}")),
        pick(&["1.5Gi", "500M", "0.5Ti", "1e9"]),
    ]
    .prop_map(Quantity)
}

/// A request and a limit no smaller than it.
fn quantity_pair() -> impl Strategy<Value = (String, String)> {
    prop_oneof![
        (
            1u32..4000,
            1u32..4,
            select(vec!["", "m", "k", "Ki", "Mi", "Gi", "M", "G"])
        )
            .prop_map(|(n, k, s)| (format!("{n}{s}"), format!("{}{s}", n * k))),
        select(vec![
            ("500m", "1"),
            ("0.5", "1"),
            ("1.5Gi", "2Gi"),
            ("1e3", "2k"),
            ("250m", "0.5"),
            ("0", "100m"),
            ("2Gi", "3Gi"),
        ])
        .prop_map(|(a, b)| (a.to_owned(), b.to_owned())),
    ]
}

fn resources() -> impl Strategy<Value = ResourceRequirements> {
    let name = prop_oneof![
        pick(&[
            "cpu",
            "memory",
            "ephemeral-storage",
            "nvidia.com/gpu",
            "hugepages-2Mi"
        ]),
        qualified_name(),
    ];
    let claim = ("[a-z][-a-z0-9]{0,10}", option::of("[a-z][-a-z0-9]{0,10}"))
        .prop_map(|(name, request)| ResourceClaim { name, request });
    (
        btree_map(name, (quantity_pair(), 0u8..3), 0..4),
        option::of(vec(claim, 1..3)),
    )
        .prop_map(|(pairs, claims)| {
            let mut requests = BTreeMap::new();
            let mut limits = BTreeMap::new();
            for (name, ((request, limit), which)) in pairs {
                // 0: request only, 1: limit only, 2: both.
                if which != 1 {
                    requests.insert(name.clone(), Quantity(request));
                }
                if which != 0 {
                    limits.insert(name, Quantity(limit));
                }
            }
            ResourceRequirements {
                claims,
                limits: (!limits.is_empty()).then_some(limits),
                requests: (!requests.is_empty()).then_some(requests),
            }
        })
}

/// A defaulted node selector: present, possibly empty.
fn node_selector() -> impl Strategy<Value = BTreeMap<String, String>> {
    btree_map(qualified_name(), label_value(), 0..3)
}

fn scheduler_name() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), dns_subdomain()]
}

fn persistence_parts() -> impl Strategy<Value = (Quantity, Option<String>)> {
    (size(), option::of(dns_subdomain()))
}

fn pdb() -> impl Strategy<Value = v1beta1::PodDisruptionBudgetConfig> {
    let value = prop_oneof![
        (0i32..10).prop_map(IntOrString::Int),
        (0u32..=100).prop_map(|p| IntOrString::String(format!("{p}%"))),
    ];
    (0u8..3, value).prop_map(|(which, value)| match which {
        0 => v1beta1::PodDisruptionBudgetConfig {
            max_unavailable: Some(value),
            min_available: None,
        },
        1 => v1beta1::PodDisruptionBudgetConfig {
            max_unavailable: None,
            min_available: Some(value),
        },
        _ => v1beta1::PodDisruptionBudgetConfig::default(),
    })
}

/// Parts of a Cassandra pool: name, replicas, persistence, node selector, rack, datacenter,
/// resources, scheduler.
type CassandraPoolParts = (
    String,
    i32,
    Option<(Quantity, Option<String>)>,
    BTreeMap<String, String>,
    String,
    String,
    Option<ResourceRequirements>,
    String,
);

fn cassandra_pools() -> impl Strategy<Value = Vec<CassandraPoolParts>> {
    btree_set(pool_name(), 0..4)
        .prop_flat_map(|names| {
            names
                .into_iter()
                .map(|name| {
                    (
                        Just(name.clone()),
                        0i32..7,
                        option::of(persistence_parts()),
                        node_selector(),
                        // The default rack is the pool name.
                        prop_oneof![Just(name), topology_name()],
                        prop_oneof![
                            Just(navigator_api::internal::DEFAULT_DATACENTER.to_owned()),
                            topology_name()
                        ],
                        option::of(resources()),
                        scheduler_name(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .prop_shuffle()
}

/// Parts of an Elasticsearch pool: name, replicas, roles, node selector, resources,
/// persistence, scheduler.
type ElasticsearchPoolParts = (
    String,
    i32,
    Vec<String>,
    BTreeMap<String, String>,
    Option<ResourceRequirements>,
    Option<(Quantity, Option<String>)>,
    String,
);

/// One to three pools with at least one master node, and a `minimumMasters` that is unset or
/// between the quorum and the number of masters.
fn elasticsearch_pools() -> impl Strategy<Value = (Vec<ElasticsearchPoolParts>, Option<i32>)> {
    btree_set(pool_name(), 1..4)
        .prop_flat_map(|names| {
            names
                .into_iter()
                .map(|name| {
                    (
                        Just(name),
                        0i32..6,
                        subsequence(ROLES, 1..=ROLES.len())
                            .prop_map(|r| r.into_iter().map(str::to_owned).collect::<Vec<_>>())
                            .prop_shuffle(),
                        node_selector(),
                        option::of(resources()),
                        option::of(persistence_parts()),
                        scheduler_name(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .prop_shuffle()
        .prop_map(|mut pools| {
            let is_master = |p: &ElasticsearchPoolParts| p.2.iter().any(|r| r == ROLE_MASTER);
            let masters: i32 = pools.iter().filter(|p| is_master(p)).map(|p| p.1).sum();
            if masters < 1 {
                let first = &mut pools[0];
                if !is_master(first) {
                    first.2.push(ROLE_MASTER.to_owned());
                }
                first.1 = first.1.max(1);
            }
            pools
        })
        .prop_flat_map(|pools| {
            let masters: i32 = pools
                .iter()
                .filter(|p| p.2.iter().any(|r| r == ROLE_MASTER))
                .map(|p| p.1)
                .sum();
            let quorum = if masters == 1 { 1 } else { masters / 2 + 1 };
            (Just(pools), option::of(quorum..=masters))
        })
}

/// Conditions with distinct types, in any order: (type, status, observedGeneration,
/// lastTransitionTime, reason, message).
type ConditionParts = (String, String, Option<i64>, Option<Time>, String, String);

fn conditions(well_known: &'static [&'static str]) -> impl Strategy<Value = Vec<ConditionParts>> {
    btree_map(
        prop_oneof![pick(well_known), camel_case()],
        (
            pick(CONDITION_STATUSES),
            option::of(0i64..1_000_000),
            option::of(time()),
            prop_oneof![Just(String::new()), camel_case()],
            text(),
        ),
        0..4,
    )
    .prop_map(|m| {
        m.into_iter()
            .map(|(t, (status, generation, time, reason, message))| {
                (t, status, generation, time, reason, message)
            })
            .collect::<Vec<_>>()
    })
    .prop_shuffle()
}

const CLUSTER_CONDITIONS: &[&str] = &["Available", "Progressing", "Degraded"];
const PILOT_CONDITIONS: &[&str] = &["Started", "Ready", "Stopped"];

/// Pool statuses by name: (readyReplicas, replicas, updatedReplicas).
fn pool_statuses() -> impl Strategy<Value = BTreeMap<String, (i32, Option<i32>, Option<i32>)>> {
    btree_map(
        pool_name(),
        (0i32..10, option::of(0i32..10), option::of(0i32..10)),
        0..4,
    )
}

// ---- v1beta1 ----

fn image_b(p: ImageParts) -> v1beta1::ImageSpec {
    v1beta1::ImageSpec {
        repository: p.0,
        tag: p.1,
        pull_policy: p.2,
    }
}

fn persistence_b(p: (Quantity, Option<String>)) -> v1beta1::PersistenceConfig {
    v1beta1::PersistenceConfig {
        size: p.0,
        storage_class: p.1,
    }
}

fn condition_b(c: ConditionParts) -> v1beta1::Condition {
    v1beta1::Condition {
        type_: c.0,
        status: c.1,
        observed_generation: c.2,
        last_transition_time: c.3,
        reason: c.4,
        message: c.5,
    }
}

fn pool_statuses_b(
    m: BTreeMap<String, (i32, Option<i32>, Option<i32>)>,
) -> BTreeMap<String, v1beta1::NodePoolStatus> {
    m.into_iter()
        .map(|(name, (ready_replicas, replicas, updated_replicas))| {
            let status = v1beta1::NodePoolStatus {
                ready_replicas,
                replicas,
                updated_replicas,
            };
            (name, status)
        })
        .collect()
}

/// Shared cluster settings: pilot image, runAsUser, paused, image.
type ClusterParts = (ImageParts, Option<i64>, bool, Option<ImageParts>);

fn cluster_parts() -> impl Strategy<Value = ClusterParts> {
    (
        image_parts(),
        option::of(0i64..70_000),
        any::<bool>(),
        option::of(image_parts()),
    )
}

/// A valid, defaulted `v1beta1` CassandraCluster.
pub fn v1beta1_cassandra_cluster() -> impl Strategy<Value = v1beta1::CassandraCluster> {
    (
        object_meta(cluster_name()),
        (
            cluster_parts(),
            option::of(pdb()),
            cassandra_version_supported(),
            cassandra_pools(),
        ),
        (
            conditions(CLUSTER_CONDITIONS),
            option::of(0i64..1_000_000),
            pool_statuses(),
        ),
    )
        .prop_map(
            |(
                metadata,
                ((pilot_image, run_as_user, paused, image), pdb, version, pools),
                (conditions, observed_generation, node_pools),
            )| v1beta1::CassandraCluster {
                metadata,
                spec: v1beta1::CassandraClusterSpec {
                    pilot_image: image_b(pilot_image),
                    security_context: v1beta1::NavigatorSecurityContext { run_as_user },
                    paused,
                    pod_disruption_budget: pdb,
                    version: Some(version),
                    node_pools: pools
                        .into_iter()
                        .map(|p| v1beta1::CassandraClusterNodePool {
                            name: p.0,
                            replicas: Some(p.1),
                            persistence: p.2.map(persistence_b),
                            node_selector: Some(p.3),
                            rack: Some(p.4),
                            datacenter: Some(p.5),
                            resources: p.6,
                            scheduler_name: p.7,
                        })
                        .collect(),
                    image: image.map(image_b),
                },
                status: v1beta1::CassandraClusterStatus {
                    conditions: conditions.into_iter().map(condition_b).collect(),
                    observed_generation,
                    node_pools: pool_statuses_b(node_pools),
                },
            },
        )
}

/// A valid, defaulted `v1beta1` ElasticsearchCluster, of either flavour.
pub fn v1beta1_elasticsearch_cluster() -> impl Strategy<Value = v1beta1::ElasticsearchCluster> {
    (
        object_meta(cluster_name()),
        (
            cluster_parts(),
            option::of(pdb()),
            flavor_and_version(),
            prop_oneof![Just(Vec::new()), distinct("[a-z][-a-z0-9]{1,15}", 3)],
            elasticsearch_pools(),
        ),
        (
            conditions(CLUSTER_CONDITIONS),
            option::of(0i64..1_000_000),
            pool_statuses(),
            option::of(pick(HEALTHS)),
        ),
    )
        .prop_map(
            |(
                metadata,
                (
                    (pilot_image, run_as_user, paused, image),
                    pdb,
                    (flavor, version),
                    plugins,
                    (pools, minimum_masters),
                ),
                (conditions, observed_generation, node_pools, health),
            )| v1beta1::ElasticsearchCluster {
                metadata,
                spec: v1beta1::ElasticsearchClusterSpec {
                    pilot_image: image_b(pilot_image),
                    security_context: v1beta1::NavigatorSecurityContext { run_as_user },
                    paused,
                    pod_disruption_budget: pdb,
                    flavor: Some(flavor),
                    version: Some(version),
                    plugins,
                    node_pools: pools
                        .into_iter()
                        .map(|p| v1beta1::ElasticsearchClusterNodePool {
                            name: p.0,
                            replicas: Some(p.1),
                            roles: p.2,
                            node_selector: Some(p.3),
                            resources: p.4,
                            persistence: p.5.map(persistence_b),
                            scheduler_name: p.6,
                        })
                        .collect(),
                    image: image.map(image_b),
                    minimum_masters,
                },
                status: v1beta1::ElasticsearchClusterStatus {
                    conditions: conditions.into_iter().map(condition_b).collect(),
                    observed_generation,
                    node_pools: pool_statuses_b(node_pools),
                    health,
                },
            },
        )
}

fn operation_b() -> impl Strategy<Value = v1beta1::PilotOperationStatus> {
    (
        pick(REQUESTED_STATES),
        pick(OPERATION_PHASES),
        option::of(time()),
        option::of(time()),
        text(),
    )
        .prop_map(|(state, phase, start_time, completion_time, message)| {
            v1beta1::PilotOperationStatus {
                state,
                phase,
                start_time,
                completion_time,
                message,
            }
        })
}

fn elasticsearch_pilot_b() -> impl Strategy<Value = v1beta1::ElasticsearchPilotStatus> {
    (
        option::of(0i64..10_000_000_000),
        option::of(semver(0..=9, true)),
        option::of("[A-Za-z0-9_-]{22}"),
        prop_oneof![
            Just(Vec::new()),
            distinct(
                pick(&["data", "ingest", "master", "ml", "remote_cluster_client"]),
                3
            )
        ],
        option::of(0i64..5000),
        option::of(pick(HEALTHS)),
        (
            option::of(0i32..100),
            option::of(0i32..100),
            option::of(0i32..100),
        ),
    )
        .prop_map(
            |(
                documents,
                version,
                node_id,
                roles,
                shards,
                cluster_health,
                (relocating_shards, initializing_shards, unassigned_shards),
            )| v1beta1::ElasticsearchPilotStatus {
                documents,
                version,
                node_id,
                roles,
                shards,
                cluster_health,
                relocating_shards,
                initializing_shards,
                unassigned_shards,
            },
        )
}

fn peers_b() -> impl Strategy<Value = v1beta1::CassandraPeers> {
    let addresses = || {
        prop_oneof![
            Just(Vec::new()),
            distinct("10\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}", 4)
        ]
    };
    (
        addresses(),
        addresses(),
        addresses(),
        addresses(),
        addresses(),
    )
        .prop_map(
            |(live, unreachable, joining, leaving, moving)| v1beta1::CassandraPeers {
                live,
                unreachable,
                joining,
                leaving,
                moving,
            },
        )
}

fn cassandra_pilot_b() -> impl Strategy<Value = v1beta1::CassandraPilotStatus> {
    (
        option::of(cassandra_version_any()),
        option::of(uid()),
        option::of(topology_name()),
        option::of(topology_name()),
        option::of(pick(&[
            "STARTING",
            "JOINING",
            "NORMAL",
            "LEAVING",
            "DECOMMISSIONED",
            "DRAINING",
            "DRAINED",
        ])),
        option::of(0i32..1024),
        option::of(0i64..1_000_000_000_000),
        option::of(peers_b()),
    )
        .prop_map(
            |(version, host_id, datacenter, rack, operation_mode, tokens, load_bytes, peers)| {
                v1beta1::CassandraPilotStatus {
                    version,
                    host_id,
                    datacenter,
                    rack,
                    operation_mode,
                    tokens,
                    load_bytes,
                    peers,
                }
            },
        )
}

/// A valid, defaulted `v1beta1` Pilot.
pub fn v1beta1_pilot() -> impl Strategy<Value = v1beta1::Pilot> {
    (
        object_meta(dns_subdomain()),
        (
            option::of((pick(PILOT_CLUSTER_KINDS), cluster_name())),
            option::of(pool_name()),
            pick(REQUESTED_STATES),
        ),
        (
            conditions(PILOT_CONDITIONS),
            option::of(0i64..1_000_000),
            option::of(time()),
            option::of(operation_b()),
            option::of(elasticsearch_pilot_b()),
            option::of(cassandra_pilot_b()),
        ),
    )
        .prop_map(
            |(
                metadata,
                (cluster, node_pool, requested_state),
                (conditions, observed_generation, last_heartbeat_time, operation, es, cass),
            )| v1beta1::Pilot {
                metadata,
                spec: v1beta1::PilotSpec {
                    cluster: cluster
                        .map(|(kind, name)| v1beta1::PilotClusterReference { kind, name }),
                    node_pool,
                    requested_state: Some(requested_state),
                },
                status: v1beta1::PilotStatus {
                    conditions: conditions.into_iter().map(condition_b).collect(),
                    observed_generation,
                    last_heartbeat_time,
                    operation,
                    elasticsearch: es,
                    cassandra: cass,
                },
            },
        )
}

// ---- v1alpha1 ----

fn image_a(p: ImageParts) -> v1alpha1::ImageSpec {
    v1alpha1::ImageSpec {
        repository: p.0,
        tag: p.1,
        pull_policy: p.2,
    }
}

fn persistence_a(p: (Quantity, Option<String>)) -> v1alpha1::PersistenceConfig {
    v1alpha1::PersistenceConfig {
        enabled: None,
        size: p.0,
        storage_class: p.1,
    }
}

fn cluster_condition_a(c: ConditionParts) -> v1alpha1::ClusterCondition {
    v1alpha1::ClusterCondition {
        type_: c.0,
        status: c.1,
        last_transition_time: c.3,
        reason: c.4,
        message: c.5,
    }
}

fn pool_statuses_a(
    m: BTreeMap<String, (i32, Option<i32>, Option<i32>)>,
) -> BTreeMap<String, v1alpha1::NodePoolStatus> {
    m.into_iter()
        .map(|(name, (ready_replicas, _, _))| (name, v1alpha1::NodePoolStatus { ready_replicas }))
        .collect()
}

/// A valid, defaulted `v1alpha1` CassandraCluster (no conversion annotation).
pub fn v1alpha1_cassandra_cluster() -> impl Strategy<Value = v1alpha1::CassandraCluster> {
    (
        object_meta(cluster_name()),
        (
            cluster_parts(),
            cassandra_version_supported(),
            cassandra_pools(),
        ),
        (conditions(CLUSTER_CONDITIONS), pool_statuses()),
    )
        .prop_map(
            |(
                metadata,
                ((pilot_image, run_as_user, paused, image), version, pools),
                (conditions, node_pools),
            )| v1alpha1::CassandraCluster {
                metadata,
                spec: v1alpha1::CassandraClusterSpec {
                    pilot_image: image_a(pilot_image),
                    security_context: v1alpha1::NavigatorSecurityContext { run_as_user },
                    paused,
                    node_pools: pools
                        .into_iter()
                        .map(|p| v1alpha1::CassandraClusterNodePool {
                            name: p.0,
                            replicas: Some(p.1),
                            persistence: p.2.map(persistence_a),
                            node_selector: Some(p.3),
                            rack: Some(p.4),
                            datacenter: Some(p.5),
                            resources: p.6,
                            scheduler_name: p.7,
                        })
                        .collect(),
                    image: image.map(image_a),
                    version: Some(version),
                },
                status: v1alpha1::CassandraClusterStatus {
                    conditions: conditions.into_iter().map(cluster_condition_a).collect(),
                    node_pools: pool_statuses_a(node_pools),
                },
            },
        )
}

/// A valid, defaulted `v1alpha1` ElasticsearchCluster (always the `elasticsearch` flavour, so
/// versions 6 to 8).
pub fn v1alpha1_elasticsearch_cluster() -> impl Strategy<Value = v1alpha1::ElasticsearchCluster> {
    (
        object_meta(cluster_name()),
        (
            cluster_parts(),
            semver(6..=8, false),
            prop_oneof![Just(Vec::new()), distinct("[a-z][-a-z0-9]{1,15}", 3)],
            elasticsearch_pools(),
        ),
        (
            conditions(CLUSTER_CONDITIONS),
            pool_statuses(),
            option::of(pick(HEALTHS)),
        ),
    )
        .prop_map(
            |(
                metadata,
                (
                    (pilot_image, run_as_user, paused, image),
                    version,
                    plugins,
                    (pools, minimum_masters),
                ),
                (conditions, node_pools, health),
            )| v1alpha1::ElasticsearchCluster {
                metadata,
                spec: v1alpha1::ElasticsearchClusterSpec {
                    pilot_image: image_a(pilot_image),
                    security_context: v1alpha1::NavigatorSecurityContext { run_as_user },
                    paused,
                    version: Some(version),
                    plugins,
                    node_pools: pools
                        .into_iter()
                        .map(|p| v1alpha1::ElasticsearchClusterNodePool {
                            name: p.0,
                            replicas: Some(p.1),
                            roles: p.2,
                            node_selector: Some(p.3),
                            resources: p.4,
                            persistence: p.5.map(persistence_a),
                            scheduler_name: p.6,
                        })
                        .collect(),
                    image: image.map(image_a),
                    minimum_masters,
                },
                status: v1alpha1::ElasticsearchClusterStatus {
                    conditions: conditions.into_iter().map(cluster_condition_a).collect(),
                    node_pools: pool_statuses_a(node_pools),
                    health,
                },
            },
        )
}

/// A `v1alpha1` Pilot (which has no defaults and an empty spec).
pub fn v1alpha1_pilot() -> impl Strategy<Value = v1alpha1::Pilot> {
    (
        object_meta(dns_subdomain()),
        conditions(PILOT_CONDITIONS),
        option::of(
            (
                option::of(0i64..10_000_000_000),
                option::of(semver(0..=9, true)),
            )
                .prop_map(|(documents, version)| v1alpha1::ElasticsearchPilotStatus {
                    documents,
                    version,
                }),
        ),
        option::of(
            option::of(cassandra_version_any())
                .prop_map(|version| v1alpha1::CassandraPilotStatus { version }),
        ),
    )
        .prop_map(
            |(metadata, conditions, elasticsearch, cassandra)| v1alpha1::Pilot {
                metadata,
                spec: v1alpha1::PilotSpec {},
                status: v1alpha1::PilotStatus {
                    conditions: conditions
                        .into_iter()
                        .map(|c| v1alpha1::PilotCondition {
                            type_: c.0,
                            status: c.1,
                            last_transition_time: c.3,
                            reason: c.4,
                            message: c.5,
                        })
                        .collect(),
                    elasticsearch,
                    cassandra,
                },
            },
        )
}
