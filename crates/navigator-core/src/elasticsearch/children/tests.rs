//! Table tests of an ElasticsearchCluster's desired children and serde round trips.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Container, ResourceRequirements, Service};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use navigator_api::v1beta1::{
    ElasticsearchCluster, ElasticsearchClusterNodePool, ElasticsearchClusterSpec, ImageSpec,
    NavigatorSecurityContext, PersistenceConfig, Pilot, PodDisruptionBudgetConfig,
};
use navigator_api::version::ElasticsearchVersion;
use pretty_assertions::assert_eq;

use super::*;
use crate::children::test_support::{check_hash, from, hash_of, pod_spec};
use crate::elasticsearch::names;
use crate::hash::{SPEC_HASH_ANNOTATION, spec_hash};
use crate::observe::ChildKind;

fn roles(r: &[&str]) -> Vec<String> {
    r.iter().map(|r| (*r).to_owned()).collect()
}

fn version(v: &str) -> Option<ElasticsearchVersion> {
    Some(ElasticsearchVersion::parse(v).expect("version"))
}

/// Three dedicated masters, then two data nodes with persistence and a memory limit.
fn cluster() -> ElasticsearchCluster {
    ElasticsearchCluster {
        metadata: ObjectMeta {
            name: Some("demo".to_owned()),
            namespace: Some("db".to_owned()),
            uid: Some("uid-1".to_owned()),
            ..ObjectMeta::default()
        },
        spec: ElasticsearchClusterSpec {
            flavor: Some("opensearch".to_owned()),
            version: version("2.19.6"),
            node_pools: vec![masters(), data()],
            ..ElasticsearchClusterSpec::default()
        },
        status: Default::default(),
    }
}

fn masters() -> ElasticsearchClusterNodePool {
    ElasticsearchClusterNodePool {
        name: "masters".to_owned(),
        replicas: Some(3),
        roles: roles(&["master"]),
        ..ElasticsearchClusterNodePool::default()
    }
}

fn data() -> ElasticsearchClusterNodePool {
    ElasticsearchClusterNodePool {
        name: "data".to_owned(),
        replicas: Some(2),
        roles: roles(&["data", "ingest"]),
        persistence: Some(PersistenceConfig {
            size: Quantity("10Gi".to_owned()),
            storage_class: Some("fast".to_owned()),
        }),
        resources: Some(ResourceRequirements {
            limits: Some(BTreeMap::from([(
                "memory".to_owned(),
                Quantity("2Gi".to_owned()),
            )])),
            ..ResourceRequirements::default()
        }),
        ..ElasticsearchClusterNodePool::default()
    }
}

fn owner_ref() -> OwnerReference {
    OwnerReference {
        api_version: "navigator.jetstack.io/v1beta1".to_owned(),
        kind: "ElasticsearchCluster".to_owned(),
        name: "demo".to_owned(),
        uid: "uid-1".to_owned(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

fn sts(cluster: &ElasticsearchCluster, pool: &ElasticsearchClusterNodePool) -> StatefulSet {
    statefulset(cluster, pool, 2, 1, &Settings::default()).expect("statefulset")
}

fn container<'a>(s: &'a StatefulSet, name: &str) -> &'a Container {
    let spec = pod_spec(s);
    spec.containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no container {name}"))
}

fn children(cluster: &ElasticsearchCluster) -> Vec<DesiredChild> {
    shared_children(cluster, &Settings::default()).expect("children")
}

fn services(cluster: &ElasticsearchCluster) -> BTreeMap<String, Service> {
    children(cluster)
        .into_iter()
        .filter_map(|c| match c {
            DesiredChild::Service(s) => Some((s.metadata.name.clone().unwrap_or_default(), s)),
            _ => None,
        })
        .collect()
}

fn config_maps(cluster: &ElasticsearchCluster) -> BTreeMap<String, ConfigMap> {
    children(cluster)
        .into_iter()
        .filter_map(|c| match c {
            DesiredChild::ConfigMap(m) => Some((m.metadata.name.clone().unwrap_or_default(), m)),
            _ => None,
        })
        .collect()
}

fn config_data(cluster: &ElasticsearchCluster, pool: &str) -> BTreeMap<String, String> {
    config_maps(cluster)[&names::pool_config("demo", pool)]
        .data
        .clone()
        .expect("data")
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn shared_children_come_in_creation_order_with_names_labels_owner_and_hash() {
    use ChildKind as K;
    let children = children(&cluster());
    let refs: Vec<(K, String)> = children
        .iter()
        .map(|c| {
            let r = c.child_ref();
            (r.kind, r.name)
        })
        .collect();
    assert_eq!(
        refs,
        vec![
            (K::ServiceAccount, "es-demo".to_owned()),
            (K::Role, "es-demo-pilot".to_owned()),
            (K::RoleBinding, "es-demo-pilot".to_owned()),
            (K::Service, "es-demo-discovery".to_owned()),
            (K::Service, "es-demo".to_owned()),
            (K::PodDisruptionBudget, "es-demo".to_owned()),
            (K::ConfigMap, "es-demo-masters-config".to_owned()),
            (K::ConfigMap, "es-demo-data-config".to_owned()),
        ]
    );
    for child in &children {
        let meta = child.metadata();
        let want_labels = match child {
            DesiredChild::ConfigMap(m) => {
                let pool = m.data.as_ref().expect("data")[CONFIG_NODE_POOL].clone();
                names::pool_labels("demo", &pool)
            }
            _ => names::cluster_labels("demo"),
        };
        assert_eq!(meta.namespace.as_deref(), Some("db"), "{meta:?}");
        assert_eq!(meta.labels, Some(want_labels), "{meta:?}");
        assert_eq!(meta.owner_references, Some(vec![owner_ref()]), "{meta:?}");
        assert_eq!(child.spec_hash().map(str::len), Some(16), "{meta:?}");
        match child {
            DesiredChild::ServiceAccount(o) => check_hash(o, |o| &mut o.metadata),
            DesiredChild::Role(o) => check_hash(o, |o| &mut o.metadata),
            DesiredChild::RoleBinding(o) => check_hash(o, |o| &mut o.metadata),
            DesiredChild::Service(o) => check_hash(o, |o| &mut o.metadata),
            DesiredChild::PodDisruptionBudget(o) => check_hash(o, |o| &mut o.metadata),
            DesiredChild::ConfigMap(o) => check_hash(o, |o| &mut o.metadata),
        }
    }
}

#[test]
fn specs_that_cannot_become_children_are_errors() {
    let settings = Settings::default();
    let mut no_uid = cluster();
    no_uid.metadata.uid = None;
    let mut empty_uid = cluster();
    empty_uid.metadata.uid = Some(String::new());
    let mut no_name = cluster();
    no_name.metadata.name = None;
    let mut no_version = cluster();
    no_version.spec.version = None;
    let mut bad_flavor = cluster();
    bad_flavor.spec.flavor = Some("solr".to_owned());
    let mut no_master = cluster();
    no_master.spec.node_pools = vec![data()];
    let mut zero_masters = cluster();
    zero_masters.spec.node_pools[0].replicas = Some(0);
    // (what, cluster, shared_children, statefulset, pilot)
    type Want = Result<(), ChildrenError>;
    let table: Vec<(&str, ElasticsearchCluster, Want, Want, Want)> = vec![
        ("complete", cluster(), Ok(()), Ok(()), Ok(())),
        (
            "no uid",
            no_uid,
            Err(ChildrenError::NoUid),
            Err(ChildrenError::NoUid),
            Err(ChildrenError::NoUid),
        ),
        (
            "empty uid",
            empty_uid,
            Err(ChildrenError::NoUid),
            Err(ChildrenError::NoUid),
            Err(ChildrenError::NoUid),
        ),
        (
            "no name",
            no_name,
            Err(ChildrenError::NoName),
            Err(ChildrenError::NoName),
            Err(ChildrenError::NoName),
        ),
        (
            "no version",
            no_version,
            Ok(()),
            Err(ChildrenError::NoVersion),
            Ok(()),
        ),
        (
            "unknown flavour",
            bad_flavor,
            Ok(()),
            Err(ChildrenError::UnknownFlavor("solr".to_owned())),
            Ok(()),
        ),
        (
            "no master-eligible pool",
            no_master,
            Err(ChildrenError::NoMasterEligibleNode),
            Ok(()),
            Ok(()),
        ),
        (
            "master pool without replicas",
            zero_masters,
            Err(ChildrenError::NoMasterEligibleNode),
            Ok(()),
            Ok(()),
        ),
    ];
    for (what, c, want_shared, want_sts, want_pilot) in table {
        assert_eq!(
            shared_children(&c, &settings).map(|_| ()),
            want_shared,
            "{what}"
        );
        assert_eq!(
            statefulset(&c, &data(), 1, 0, &settings).map(|_| ()),
            want_sts,
            "{what}"
        );
        assert_eq!(pilot(&c, &data(), 0).map(|_| ()), want_pilot, "{what}");
    }
}

#[test]
fn role_grants_what_the_pilot_needs_and_binding_names_the_service_account() {
    let children = children(&cluster());
    let DesiredChild::Role(role) = &children[1] else {
        panic!("not a role")
    };
    let rules: Vec<(String, String, String)> = role
        .rules
        .iter()
        .flatten()
        .map(|r| {
            (
                r.api_groups.clone().unwrap_or_default().join(","),
                r.resources.clone().unwrap_or_default().join(","),
                r.verbs.join(","),
            )
        })
        .collect();
    let row = |g: &str, r: &str, v: &str| (g.to_owned(), r.to_owned(), v.to_owned());
    // test-support's pilot_rbac, the set known to work on devenv.
    assert_eq!(
        rules,
        vec![
            row(
                "navigator.jetstack.io",
                "pilots",
                "get,list,watch,patch,update"
            ),
            row("navigator.jetstack.io", "pilots/status", "get,patch,update"),
            row(
                "navigator.jetstack.io",
                "elasticsearchclusters",
                "get,list,watch"
            ),
            row(
                "coordination.k8s.io",
                "leases",
                "get,list,watch,create,update,patch"
            ),
            row("", "pods,endpoints,services", "get,list,watch"),
            row("", "events", "create,update,patch"),
        ]
    );
    let DesiredChild::RoleBinding(binding) = &children[2] else {
        panic!("not a binding")
    };
    assert_eq!(binding.role_ref.kind, "Role");
    assert_eq!(binding.role_ref.api_group, "rbac.authorization.k8s.io");
    assert_eq!(binding.role_ref.name, "es-demo-pilot");
    let subjects = binding.subjects.clone().unwrap_or_default();
    assert_eq!(subjects.len(), 1);
    assert_eq!(subjects[0].kind, "ServiceAccount");
    assert_eq!(subjects[0].name, "es-demo");
    assert_eq!(subjects[0].namespace.as_deref(), Some("db"));
}

#[test]
fn discovery_service_is_headless_publishes_unready_masters() {
    let svcs = services(&cluster());
    let svc = &svcs["es-demo-discovery"];
    let spec = svc.spec.as_ref().expect("spec");
    assert_eq!(spec.cluster_ip.as_deref(), Some("None"));
    assert_eq!(spec.publish_not_ready_addresses, Some(true));
    assert_eq!(
        spec.selector,
        Some(labels(&[
            ("app", "elasticsearchcluster"),
            ("navigator.jetstack.io/elasticsearch-cluster-name", "demo"),
            ("navigator.jetstack.io/elasticsearch-role-master", "true"),
        ]))
    );
    let ports: Vec<(&str, i32)> = spec
        .ports
        .iter()
        .flatten()
        .map(|p| (p.name.as_deref().unwrap_or_default(), p.port))
        .collect();
    assert_eq!(ports, vec![("transport", 9300), ("http", 9200)]);
}

#[test]
fn client_service_selects_ingest_nodes_else_data_nodes() {
    // (roles of the pools, the role the client Service selects)
    let table: Vec<(Vec<&[&str]>, &str)> = vec![
        (vec![&["master"], &["data", "ingest"]], "ingest"),
        (vec![&["master"], &["data"], &["ingest"]], "ingest"),
        (vec![&["master", "ingest"], &["data"]], "ingest"),
        (vec![&["master"], &["data"]], "data"),
        (vec![&["master", "data"]], "data"),
    ];
    for (pools, role) in table {
        let mut c = cluster();
        c.spec.node_pools = pools
            .iter()
            .enumerate()
            .map(|(i, r)| ElasticsearchClusterNodePool {
                name: format!("p{i}"),
                roles: roles(r),
                ..ElasticsearchClusterNodePool::default()
            })
            .collect();
        let svcs = services(&c);
        let spec = svcs["es-demo"].spec.clone().expect("spec");
        let mut want = names::cluster_labels("demo");
        want.insert(
            format!("navigator.jetstack.io/elasticsearch-role-{role}"),
            "true".to_owned(),
        );
        assert_eq!(spec.selector, Some(want), "{pools:?}");
        assert_eq!(spec.type_.as_deref(), Some("ClusterIP"));
        assert_eq!(spec.cluster_ip, None);
        assert_eq!(spec.publish_not_ready_addresses, None);
        let ports: Vec<(&str, i32)> = spec
            .ports
            .iter()
            .flatten()
            .map(|p| (p.name.as_deref().unwrap_or_default(), p.port))
            .collect();
        assert_eq!(ports, vec![("http", 9200)]);
    }
}

#[test]
fn pdb_defaults_to_max_unavailable_one_and_follows_the_spec() {
    let i = IntOrString::Int;
    let s = |v: &str| IntOrString::String(v.to_owned());
    // (spec.podDisruptionBudget, minAvailable, maxUnavailable)
    let table = vec![
        (None, None, Some(i(1))),
        (Some(PodDisruptionBudgetConfig::default()), None, Some(i(1))),
        (
            Some(PodDisruptionBudgetConfig {
                max_unavailable: Some(i(2)),
                min_available: None,
            }),
            None,
            Some(i(2)),
        ),
        (
            Some(PodDisruptionBudgetConfig {
                max_unavailable: None,
                min_available: Some(s("60%")),
            }),
            Some(s("60%")),
            None,
        ),
    ];
    for (config, min, max) in table {
        let mut c = cluster();
        c.spec.pod_disruption_budget = config.clone();
        let pdb = children(&c)
            .into_iter()
            .find_map(|c| match c {
                DesiredChild::PodDisruptionBudget(p) => Some(p),
                _ => None,
            })
            .expect("pdb");
        let spec = pdb.spec.as_ref().expect("spec");
        assert_eq!(spec.min_available, min, "{config:?}");
        assert_eq!(spec.max_unavailable, max, "{config:?}");
        assert_eq!(
            spec.selector.as_ref().and_then(|s| s.match_labels.clone()),
            Some(labels(&[
                ("app", "elasticsearchcluster"),
                ("navigator.jetstack.io/elasticsearch-cluster-name", "demo"),
                ("navigator.jetstack.io/has-pilot", ""),
            ]))
        );
    }
}

#[test]
fn pool_config_names_the_pool_the_discovery_service_and_the_masters() {
    let want = |pool: &str, roles: &str| {
        labels(&[
            ("ELASTICSEARCH_CLUSTER_NAME", "demo"),
            ("ELASTICSEARCH_NODE_POOL", pool),
            ("ELASTICSEARCH_ROLES", roles),
            (
                "ELASTICSEARCH_DISCOVERY_SERVICE",
                "es-demo-discovery.db.svc.cluster.local",
            ),
            ("ELASTICSEARCH_INITIAL_MASTER_NODES", "es-demo-masters-0"),
            ("ELASTICSEARCH_MINIMUM_MASTER_NODES", "2"),
        ])
    };
    assert_eq!(
        config_data(&cluster(), "masters"),
        want("masters", "master")
    );
    assert_eq!(config_data(&cluster(), "data"), want("data", "data,ingest"));
}

#[test]
fn minimum_masters_is_the_spec_or_a_majority_of_the_desired_masters() {
    // (pools as (roles, replicas), spec.minimumMasters, master-eligible, minimum)
    type Row = (
        Vec<(&'static [&'static str], Option<i32>)>,
        Option<i32>,
        i32,
        i32,
    );
    let table: Vec<Row> = vec![
        (vec![(&["master"], Some(1))], None, 1, 1),
        (vec![(&["master"], None)], None, 1, 1),
        (vec![(&["master"], Some(2))], None, 2, 2),
        (
            vec![(&["master"], Some(3)), (&["data"], Some(5))],
            None,
            3,
            2,
        ),
        (vec![(&["master"], Some(4))], None, 4, 3),
        (vec![(&["master"], Some(5))], None, 5, 3),
        (
            vec![(&["master", "data"], Some(2)), (&["master"], Some(3))],
            None,
            5,
            3,
        ),
        (vec![(&["master"], Some(3))], Some(3), 3, 3),
        (
            vec![(&["master"], Some(0)), (&["data"], Some(3))],
            None,
            0,
            0,
        ),
    ];
    for (pools, spec_minimum, eligible, minimum) in table {
        let mut c = cluster();
        c.spec.minimum_masters = spec_minimum;
        c.spec.node_pools = pools
            .iter()
            .enumerate()
            .map(|(i, (r, n))| ElasticsearchClusterNodePool {
                name: format!("p{i}"),
                roles: roles(r),
                replicas: *n,
                ..ElasticsearchClusterNodePool::default()
            })
            .collect();
        assert_eq!(master_eligible_replicas(&c), eligible, "{pools:?}");
        assert_eq!(minimum_master_nodes(&c), minimum, "{pools:?}");
        if eligible > 0 {
            assert_eq!(
                config_data(&c, "p0")[CONFIG_MINIMUM_MASTER_NODES],
                minimum.to_string(),
                "{pools:?}"
            );
        }
    }
}

#[test]
fn the_initial_master_is_pod_0_of_the_first_master_pool_with_a_replica() {
    let pool = |name: &str, r: &[&str], replicas: Option<i32>| ElasticsearchClusterNodePool {
        name: name.to_owned(),
        roles: roles(r),
        replicas,
        ..ElasticsearchClusterNodePool::default()
    };
    let table: Vec<(
        Vec<ElasticsearchClusterNodePool>,
        Result<&str, ChildrenError>,
    )> = vec![
        (
            vec![
                pool("a", &["data"], Some(3)),
                pool("b", &["master"], Some(3)),
            ],
            Ok("es-demo-b-0"),
        ),
        (
            vec![
                pool("a", &["master", "data"], None),
                pool("b", &["master"], Some(3)),
            ],
            Ok("es-demo-a-0"),
        ),
        (
            vec![
                pool("a", &["master"], Some(0)),
                pool("b", &["master"], Some(1)),
            ],
            Ok("es-demo-b-0"),
        ),
        (
            vec![pool("a", &["data", "ingest"], Some(3))],
            Err(ChildrenError::NoMasterEligibleNode),
        ),
        (vec![], Err(ChildrenError::NoMasterEligibleNode)),
    ];
    for (pools, want) in table {
        let mut c = cluster();
        c.spec.node_pools = pools;
        assert_eq!(
            initial_master_node(&c),
            want.clone().map(str::to_owned),
            "{:?}",
            c.spec.node_pools
        );
        if let Ok(node) = want {
            for m in config_maps(&c).values() {
                assert_eq!(
                    m.data.as_ref().expect("data")[CONFIG_INITIAL_MASTER_NODES],
                    node
                );
            }
        }
    }
}

#[test]
fn a_change_of_the_masters_changes_the_config_maps_not_the_statefulsets() {
    let before = cluster();
    let mut after = cluster();
    after.spec.node_pools[0].replicas = Some(5);
    for pool in ["masters", "data"] {
        let name = names::pool_config("demo", pool);
        let (b, a) = (&config_maps(&before)[&name], &config_maps(&after)[&name]);
        assert_eq!(
            a.data.as_ref().expect("data")[CONFIG_MINIMUM_MASTER_NODES],
            "3"
        );
        assert_ne!(hash_of(&b.metadata), hash_of(&a.metadata), "{pool}");
    }
    for (pool_before, pool_after) in before.spec.node_pools.iter().zip(&after.spec.node_pools) {
        assert_eq!(
            hash_of(&sts(&before, pool_before).metadata),
            hash_of(&sts(&after, pool_after).metadata),
            "{}",
            pool_before.name
        );
    }
    // A minimumMasters set by hand is a ConfigMap change too.
    let mut pinned = cluster();
    pinned.spec.minimum_masters = Some(3);
    let name = names::pool_config("demo", "data");
    assert_ne!(
        hash_of(&config_maps(&pinned)[&name].metadata),
        hash_of(&config_maps(&before)[&name].metadata)
    );
    assert_eq!(
        hash_of(&sts(&pinned, &data()).metadata),
        hash_of(&sts(&before, &data()).metadata)
    );
}

#[test]
fn statefulset_names_labels_selector_and_scaling() {
    let s = sts(&cluster(), &data());
    assert_eq!(s.metadata.name.as_deref(), Some("es-demo-data"));
    assert_eq!(s.metadata.namespace.as_deref(), Some("db"));
    assert_eq!(s.metadata.labels, Some(names::pool_labels("demo", "data")));
    assert_eq!(s.metadata.owner_references, Some(vec![owner_ref()]));
    let spec = s.spec.as_ref().expect("spec");
    assert_eq!(spec.replicas, Some(2));
    assert_eq!(spec.service_name.as_deref(), Some("es-demo-discovery"));
    assert_eq!(spec.pod_management_policy.as_deref(), Some("OrderedReady"));
    let strategy = spec.update_strategy.as_ref().expect("strategy");
    assert_eq!(strategy.type_.as_deref(), Some("RollingUpdate"));
    assert_eq!(
        strategy.rolling_update.as_ref().and_then(|r| r.partition),
        Some(1)
    );
    let retention = spec
        .persistent_volume_claim_retention_policy
        .as_ref()
        .expect("retention");
    assert_eq!(retention.when_deleted.as_deref(), Some("Retain"));
    assert_eq!(retention.when_scaled.as_deref(), Some("Delete"));
    let pod_labels = labels(&[
        ("app", "elasticsearchcluster"),
        ("navigator.jetstack.io/elasticsearch-cluster-name", "demo"),
        ("navigator.jetstack.io/elasticsearch-node-pool-name", "data"),
        ("navigator.jetstack.io/elasticsearch-role-data", "true"),
        ("navigator.jetstack.io/elasticsearch-role-ingest", "true"),
        ("navigator.jetstack.io/has-pilot", ""),
    ]);
    assert_eq!(spec.selector.match_labels, Some(pod_labels.clone()));
    let template_meta = spec.template.metadata.as_ref().expect("template metadata");
    assert_eq!(template_meta.labels, Some(pod_labels));
    assert_eq!(
        template_meta.annotations,
        Some(labels(&[(
            "navigator.jetstack.io/elasticsearch-version",
            "2.19.6"
        )]))
    );
    let pod = pod_spec(&s);
    assert_eq!(pod.service_account_name.as_deref(), Some("es-demo"));
    assert_eq!(
        pod.termination_grace_period_seconds,
        Some(Settings::default().termination_grace_period_seconds)
    );
    let longer = statefulset(
        &cluster(),
        &data(),
        2,
        1,
        &Settings {
            termination_grace_period_seconds: 300,
            ..Settings::default()
        },
    )
    .expect("statefulset");
    assert_eq!(
        pod_spec(&longer).termination_grace_period_seconds,
        Some(300)
    );
}

#[test]
fn args_and_container_follow_the_flavour_and_plugins() {
    let settings = Settings {
        pilot_extra_args: vec!["--leader-interval-ms=500".to_owned()],
        ..Settings::default()
    };
    // (flavor, version, plugins, container, args)
    type Row = (
        Option<&'static str>,
        &'static str,
        Vec<&'static str>,
        &'static str,
        Vec<&'static str>,
    );
    let table: Vec<Row> = vec![
        (
            Some("opensearch"),
            "2.19.6",
            vec![],
            "opensearch",
            vec![
                "--flavor=opensearch",
                "--version=2.19.6",
                "--home=/usr/share/opensearch",
                "--config-dir=/shared/config",
                "--data-dir=/var/lib/navigator/data",
                "--leader-interval-ms=500",
            ],
        ),
        (
            Some("elasticsearch"),
            "7.10.2",
            vec!["analysis-icu", "https://example.com/p.zip"],
            "elasticsearch",
            vec![
                "--flavor=elasticsearch",
                "--version=7.10.2",
                "--home=/usr/share/elasticsearch",
                "--config-dir=/shared/config",
                "--data-dir=/var/lib/navigator/data",
                "--plugin=analysis-icu",
                "--plugin=https://example.com/p.zip",
                "--leader-interval-ms=500",
            ],
        ),
        (
            None,
            "8.15.0",
            vec!["analysis-icu"],
            "elasticsearch",
            vec![
                "--flavor=elasticsearch",
                "--version=8.15.0",
                "--home=/usr/share/elasticsearch",
                "--config-dir=/shared/config",
                "--data-dir=/var/lib/navigator/data",
                "--plugin=analysis-icu",
                "--leader-interval-ms=500",
            ],
        ),
    ];
    for (flavor, v, plugins, name, args) in table {
        let mut c = cluster();
        c.spec.flavor = flavor.map(str::to_owned);
        c.spec.version = version(v);
        c.spec.plugins = plugins.iter().map(|p| (*p).to_owned()).collect();
        let s = statefulset(&c, &data(), 1, 0, &settings).expect("statefulset");
        assert_eq!(pod_spec(&s).containers.len(), 1);
        let db = container(&s, name);
        assert_eq!(db.command, Some(vec!["/shared/pilot".to_owned()]));
        assert_eq!(
            db.args,
            Some(args.iter().map(|a| (*a).to_owned()).collect()),
            "{flavor:?}"
        );
        // The memory limit is the database container's.
        let memory = db
            .env
            .iter()
            .flatten()
            .find(|e| e.name == "MEMORY_LIMIT")
            .and_then(|e| e.value_from.as_ref())
            .and_then(|f| f.resource_field_ref.as_ref())
            .and_then(|r| r.container_name.clone());
        assert_eq!(memory.as_deref(), Some(name));
    }
}

#[test]
fn images_default_per_flavour_and_follow_the_spec() {
    let image = |repository: &str, tag: &str, pull_policy: &str| ImageSpec {
        repository: repository.to_owned(),
        tag: tag.to_owned(),
        pull_policy: pull_policy.to_owned(),
    };
    // (flavor, version, spec.image, image, pull policy)
    let table: Vec<(&str, &str, Option<ImageSpec>, &str, &str)> = vec![
        (
            "opensearch",
            "2.19.6",
            None,
            "opensearchproject/opensearch:2.19.6",
            "IfNotPresent",
        ),
        (
            "elasticsearch",
            "7.10.2",
            None,
            "docker.elastic.co/elasticsearch/elasticsearch:7.10.2",
            "IfNotPresent",
        ),
        (
            "opensearch",
            "2.19.6",
            Some(image("mirror/opensearch", "", "Always")),
            "mirror/opensearch:2.19.6",
            "Always",
        ),
        (
            "opensearch",
            "2.19.6",
            Some(image("mirror/opensearch", "2.19.6-patched", "")),
            "mirror/opensearch:2.19.6-patched",
            "IfNotPresent",
        ),
        (
            "elasticsearch",
            "7.10.2",
            Some(image("", "", "")),
            "docker.elastic.co/elasticsearch/elasticsearch:7.10.2",
            "IfNotPresent",
        ),
    ];
    for (flavor, v, spec_image, want, policy) in table {
        let mut c = cluster();
        c.spec.flavor = Some(flavor.to_owned());
        c.spec.version = version(v);
        c.spec.image = spec_image.clone();
        let s = sts(&c, &data());
        let db = container(&s, flavor);
        assert_eq!(db.image.as_deref(), Some(want), "{spec_image:?}");
        assert_eq!(
            db.image_pull_policy.as_deref(),
            Some(policy),
            "{spec_image:?}"
        );
    }
    let custom = Settings {
        default_opensearch_repository: "registry.local/opensearch".to_owned(),
        ..Settings::default()
    };
    let s = statefulset(&cluster(), &data(), 1, 0, &custom).expect("statefulset");
    assert_eq!(
        container(&s, "opensearch").image.as_deref(),
        Some("registry.local/opensearch:2.19.6")
    );
}

#[test]
fn the_pilot_is_installed_by_an_init_container_from_the_pilot_image() {
    let s = sts(&cluster(), &data());
    let init = container(&s, "install-pilot");
    assert_eq!(init.image.as_deref(), Some("navigator-pilot:dev"));
    assert_eq!(init.image_pull_policy.as_deref(), Some("IfNotPresent"));
    assert_eq!(
        init.command,
        Some(vec![
            "cp".to_owned(),
            "/usr/local/bin/pilot-elasticsearch".to_owned(),
            "/shared/pilot".to_owned()
        ])
    );
    let mounts: Vec<(&str, &str)> = init
        .volume_mounts
        .iter()
        .flatten()
        .map(|m| (m.name.as_str(), m.mount_path.as_str()))
        .collect();
    assert_eq!(mounts, vec![("shared", "/shared")]);

    let mut c = cluster();
    c.spec.pilot_image = ImageSpec {
        repository: "registry.local/navigator-pilot".to_owned(),
        tag: "v2".to_owned(),
        pull_policy: "Always".to_owned(),
    };
    let s = sts(&c, &data());
    let init = container(&s, "install-pilot");
    assert_eq!(
        init.image.as_deref(),
        Some("registry.local/navigator-pilot:v2")
    );
    assert_eq!(init.image_pull_policy.as_deref(), Some("Always"));
}

#[test]
fn database_container_reads_its_pool_config_and_has_env_probes_ports_and_mounts() {
    let s = sts(&cluster(), &data());
    let db = container(&s, "opensearch");
    let env_from: Vec<(String, Option<bool>)> = db
        .env_from
        .iter()
        .flatten()
        .map(|e| {
            let m = e.config_map_ref.as_ref().expect("configMapRef");
            (m.name.clone(), m.optional)
        })
        .collect();
    assert_eq!(env_from, vec![("es-demo-data-config".to_owned(), None)]);
    let env: Vec<String> = db
        .env
        .iter()
        .flatten()
        .map(|e| {
            let from = e.value_from.as_ref().expect("valueFrom");
            match (&from.field_ref, &from.resource_field_ref) {
                (Some(f), None) => format!("{}={}", e.name, f.field_path),
                (None, Some(r)) => format!(
                    "{}={}/{}/{}",
                    e.name,
                    r.container_name.clone().unwrap_or_default(),
                    r.resource,
                    r.divisor.as_ref().map(|d| d.0.clone()).unwrap_or_default()
                ),
                other => panic!("unexpected source {other:?}"),
            }
        })
        .collect();
    assert_eq!(
        env,
        vec![
            "POD_NAME=metadata.name",
            "POD_NAMESPACE=metadata.namespace",
            "POD_IP=status.podIP",
            "MEMORY_LIMIT=opensearch/limits.memory/1",
        ]
    );
    // test-support's pilot_probes: (port, path, period, timeout, failures).
    let probe = |p: &Option<k8s_openapi::api::core::v1::Probe>| {
        let p = p.as_ref().expect("probe");
        let get = p.http_get.as_ref().expect("httpGet");
        (
            get.port.clone(),
            get.path.clone().unwrap_or_default(),
            p.period_seconds,
            p.timeout_seconds,
            p.failure_threshold,
        )
    };
    let live = IntOrString::Int(12000);
    let ready = IntOrString::Int(12001);
    let root = "/".to_owned();
    assert_eq!(
        probe(&db.startup_probe),
        (live.clone(), root.clone(), Some(2), Some(1), Some(90))
    );
    assert_eq!(
        probe(&db.liveness_probe),
        (live, root.clone(), Some(5), Some(3), Some(3))
    );
    assert_eq!(
        probe(&db.readiness_probe),
        (ready, root, Some(2), Some(2), Some(2))
    );
    let ports: Vec<(&str, i32)> = db
        .ports
        .iter()
        .flatten()
        .map(|p| (p.name.as_deref().unwrap_or_default(), p.container_port))
        .collect();
    assert_eq!(
        ports,
        vec![
            ("http", 9200),
            ("transport", 9300),
            ("pilot-live", 12000),
            ("pilot-ready", 12001)
        ]
    );
    assert_eq!(db.resources, data().resources);
    assert_eq!(db.lifecycle, None);
    let mounts: Vec<(&str, &str, Option<bool>)> = db
        .volume_mounts
        .iter()
        .flatten()
        .map(|m| (m.name.as_str(), m.mount_path.as_str(), m.read_only))
        .collect();
    // The pilot writes its home (--config-dir) into the shared volume.
    assert_eq!(
        mounts,
        vec![
            ("shared", "/shared", None),
            ("data", "/var/lib/navigator", None)
        ]
    );
}

#[test]
fn persistence_gives_a_claim_template_and_none_an_empty_dir() {
    let with = sts(&cluster(), &data());
    let templates = with
        .spec
        .as_ref()
        .and_then(|s| s.volume_claim_templates.clone())
        .expect("claim templates");
    assert_eq!(templates.len(), 1);
    let t = &templates[0];
    assert_eq!(t.metadata.name.as_deref(), Some("data"));
    assert_eq!(t.metadata.labels, Some(names::pool_labels("demo", "data")));
    let spec = t.spec.as_ref().expect("claim spec");
    assert_eq!(spec.access_modes, Some(vec!["ReadWriteOnce".to_owned()]));
    assert_eq!(spec.storage_class_name.as_deref(), Some("fast"));
    assert_eq!(
        spec.resources
            .as_ref()
            .and_then(|r| r.requests.as_ref())
            .and_then(|r| r.get("storage")),
        Some(&Quantity("10Gi".to_owned()))
    );
    let volumes: Vec<&str> = pod_spec(&with)
        .volumes
        .iter()
        .flatten()
        .map(|v| v.name.as_str())
        .collect();
    assert_eq!(volumes, vec!["shared"]);

    let without = sts(&cluster(), &masters());
    assert_eq!(
        without
            .spec
            .as_ref()
            .and_then(|s| s.volume_claim_templates.clone()),
        None
    );
    let volumes: Vec<(&str, bool)> = pod_spec(&without)
        .volumes
        .iter()
        .flatten()
        .map(|v| (v.name.as_str(), v.empty_dir.is_some()))
        .collect();
    assert_eq!(volumes, vec![("shared", true), ("data", true)]);
}

#[test]
fn scheduling_and_security_come_from_the_pool_and_spec() {
    let plain = sts(&cluster(), &data());
    let spec = pod_spec(&plain);
    assert_eq!(spec.node_selector, None);
    assert_eq!(spec.scheduler_name, None);
    assert_eq!(spec.security_context, None);
    let preferred = spec
        .affinity
        .as_ref()
        .and_then(|a| a.pod_anti_affinity.as_ref())
        .expect("anti-affinity");
    assert!(
        preferred
            .required_during_scheduling_ignored_during_execution
            .is_none()
    );
    let terms: Vec<(i32, String)> = preferred
        .preferred_during_scheduling_ignored_during_execution
        .iter()
        .flatten()
        .map(|t| (t.weight, t.pod_affinity_term.topology_key.clone()))
        .collect();
    assert_eq!(
        terms,
        vec![
            (100, "kubernetes.io/hostname".to_owned()),
            (50, "topology.kubernetes.io/zone".to_owned())
        ]
    );

    let mut c = cluster();
    c.spec.security_context = NavigatorSecurityContext {
        run_as_user: Some(1000),
    };
    let mut p = data();
    p.node_selector = Some(BTreeMap::from([("disk".to_owned(), "ssd".to_owned())]));
    p.scheduler_name = "custom".to_owned();
    let placed = sts(&c, &p);
    let spec = pod_spec(&placed);
    assert_eq!(spec.node_selector, p.node_selector);
    assert_eq!(spec.scheduler_name.as_deref(), Some("custom"));
    let sc = spec.security_context.as_ref().expect("security context");
    assert_eq!((sc.run_as_user, sc.fs_group), (Some(1000), Some(1000)));

    // An empty node selector (the API's default) is no selector.
    let mut defaulted = data();
    defaulted.node_selector = Some(BTreeMap::new());
    assert_eq!(pod_spec(&sts(&cluster(), &defaulted)).node_selector, None);
}

#[test]
fn statefulset_hash_ignores_replicas_and_partition_only() {
    let settings = Settings::default();
    let base = hash_of(&sts(&cluster(), &data()).metadata);
    for (replicas, partition) in [(0, 0), (1, 0), (5, 3), (2, 1)] {
        let s =
            statefulset(&cluster(), &data(), replicas, partition, &settings).expect("statefulset");
        assert_eq!(hash_of(&s.metadata), base, "{replicas} {partition}");
        let spec = s.spec.as_ref().expect("spec");
        assert_eq!(spec.replicas, Some(replicas));
        assert_eq!(
            spec.update_strategy
                .as_ref()
                .and_then(|u| u.rolling_update.as_ref())
                .and_then(|r| r.partition),
            Some(partition)
        );
    }
    // The annotation is the hash of the object with replicas and partition 0, without it.
    let mut unscaled = statefulset(&cluster(), &data(), 0, 0, &settings).expect("statefulset");
    check_hash(&unscaled, |o| &mut o.metadata);
    if let Some(a) = unscaled.metadata.annotations.as_mut() {
        a.remove(SPEC_HASH_ANNOTATION);
        if a.is_empty() {
            unscaled.metadata.annotations = None;
        }
    }
    assert_eq!(spec_hash(&unscaled), base);

    let mut newer = cluster();
    newer.spec.version = version("2.19.7");
    let mut same_image_newer = newer.clone();
    same_image_newer.spec.image = Some(ImageSpec {
        repository: "opensearchproject/opensearch".to_owned(),
        tag: "2.19.6".to_owned(),
        pull_policy: String::new(),
    });
    let mut other_image = cluster();
    other_image.spec.image = Some(ImageSpec {
        repository: "mirror/opensearch".to_owned(),
        tag: String::new(),
        pull_policy: String::new(),
    });
    let mut other_pilot = cluster();
    other_pilot.spec.pilot_image = ImageSpec {
        repository: "navigator-pilot".to_owned(),
        tag: "v2".to_owned(),
        pull_policy: String::new(),
    };
    let mut plugins = cluster();
    plugins.spec.plugins = vec!["analysis-icu".to_owned()];
    let mut bigger = data();
    bigger.resources = Some(ResourceRequirements {
        limits: Some(BTreeMap::from([(
            "memory".to_owned(),
            Quantity("4Gi".to_owned()),
        )])),
        ..ResourceRequirements::default()
    });
    let changed = [
        ("version", sts(&newer, &data())),
        ("version, same image", sts(&same_image_newer, &data())),
        ("image", sts(&other_image, &data())),
        ("pilot image", sts(&other_pilot, &data())),
        ("plugins", sts(&plugins, &data())),
        ("resources", sts(&cluster(), &bigger)),
        (
            "extra args",
            statefulset(
                &cluster(),
                &data(),
                2,
                1,
                &Settings {
                    pilot_extra_args: vec!["--x".to_owned()],
                    ..Settings::default()
                },
            )
            .expect("statefulset"),
        ),
    ];
    for (what, s) in changed {
        assert_ne!(hash_of(&s.metadata), base, "{what}");
    }
}

#[test]
fn pilot_is_named_and_labelled_like_its_pod_and_leaves_the_requested_state_to_the_planner() {
    let p = pilot(&cluster(), &data(), 1).expect("pilot");
    assert_eq!(p.metadata.name.as_deref(), Some("es-demo-data-1"));
    assert_eq!(p.metadata.namespace.as_deref(), Some("db"));
    let s = sts(&cluster(), &data());
    let pod_labels = s
        .spec
        .as_ref()
        .and_then(|s| s.template.metadata.as_ref())
        .and_then(|m| m.labels.clone());
    assert_eq!(p.metadata.labels, pod_labels);
    assert_eq!(
        p.metadata.labels,
        Some(names::pod_labels(
            "demo",
            "data",
            &roles(&["data", "ingest"])
        ))
    );
    assert_eq!(p.metadata.owner_references, Some(vec![owner_ref()]));
    let cluster_ref = p.spec.cluster.as_ref().expect("cluster ref");
    assert_eq!(
        (cluster_ref.kind.as_str(), cluster_ref.name.as_str()),
        ("ElasticsearchCluster", "demo")
    );
    assert_eq!(p.spec.node_pool.as_deref(), Some("data"));
    assert_eq!(p.spec.requested_state, None);
    check_hash(&p, |o| &mut o.metadata);
    let json = serde_json::to_value(&p).expect("json");
    assert_eq!(json["apiVersion"], "navigator.jetstack.io/v1beta1");
    assert_eq!(json["kind"], "Pilot");
    let back: Pilot = serde_json::from_value(json).expect("deserialise");
    assert_eq!(back, p);
}

#[test]
fn flavours_parse_and_say_where_things_are() {
    // (spec.flavor, flavour, home, container)
    let table = [
        (
            None,
            Ok((Flavor::Elasticsearch, "/usr/share/elasticsearch")),
        ),
        (
            Some("elasticsearch"),
            Ok((Flavor::Elasticsearch, "/usr/share/elasticsearch")),
        ),
        (
            Some("opensearch"),
            Ok((Flavor::OpenSearch, "/usr/share/opensearch")),
        ),
        (
            Some("OpenSearch"),
            Err(ChildrenError::UnknownFlavor("OpenSearch".to_owned())),
        ),
        (Some(""), Err(ChildrenError::UnknownFlavor(String::new()))),
    ];
    for (spec, want) in table {
        let mut c = cluster();
        c.spec.flavor = spec.map(str::to_owned);
        let got = flavor(&c).map(|f| (f, f.home()));
        assert_eq!(got, want, "{spec:?}");
        if let Ok(f) = flavor(&c) {
            assert_eq!(f.container_name(), f.as_str());
        }
    }
}

#[test]
fn children_round_trip_through_json_with_api_version_and_kind() {
    for child in children(&cluster()) {
        let (json, back) = match &child {
            DesiredChild::ServiceAccount(o) => {
                let j = serde_json::to_value(o).expect("json");
                (j.clone(), DesiredChild::ServiceAccount(from(j)))
            }
            DesiredChild::Role(o) => {
                let j = serde_json::to_value(o).expect("json");
                (j.clone(), DesiredChild::Role(from(j)))
            }
            DesiredChild::RoleBinding(o) => {
                let j = serde_json::to_value(o).expect("json");
                (j.clone(), DesiredChild::RoleBinding(from(j)))
            }
            DesiredChild::Service(o) => {
                let j = serde_json::to_value(o).expect("json");
                (j.clone(), DesiredChild::Service(from(j)))
            }
            DesiredChild::PodDisruptionBudget(o) => {
                let j = serde_json::to_value(o).expect("json");
                (j.clone(), DesiredChild::PodDisruptionBudget(from(j)))
            }
            DesiredChild::ConfigMap(o) => {
                let j = serde_json::to_value(o).expect("json");
                (j.clone(), DesiredChild::ConfigMap(from(j)))
            }
        };
        assert!(json["apiVersion"].is_string(), "{json}");
        assert!(json["kind"].is_string(), "{json}");
        assert_eq!(back, child);
    }
    for p in [masters(), data(), ElasticsearchClusterNodePool::default()] {
        let s = sts(&cluster(), &p);
        let json = serde_json::to_value(&s).expect("json");
        assert_eq!(json["apiVersion"], "apps/v1");
        assert_eq!(json["kind"], "StatefulSet");
        let back: StatefulSet = from(json);
        assert_eq!(back, s);
    }
}

proptest::proptest! {
    /// Scaling and partitioning never change the StatefulSet's spec-hash, and the object
    /// carries exactly the replicas and partition asked for.
    #[test]
    fn replicas_and_partition_never_change_the_hash(replicas in 0..1000i32, partition in 0..1000i32) {
        let base = hash_of(&sts(&cluster(), &data()).metadata);
        let s = statefulset(&cluster(), &data(), replicas, partition, &Settings::default())
            .expect("statefulset");
        proptest::prop_assert_eq!(hash_of(&s.metadata), base);
        let spec = s.spec.as_ref().expect("spec");
        proptest::prop_assert_eq!(spec.replicas, Some(replicas));
        proptest::prop_assert_eq!(
            spec.update_strategy
                .as_ref()
                .and_then(|u| u.rolling_update.as_ref())
                .and_then(|r| r.partition),
            Some(partition)
        );
    }
}
