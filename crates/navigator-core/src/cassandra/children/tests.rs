//! Table tests of the desired children, a golden StatefulSet and serde round trips.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Container, ResourceRequirements, Service};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use navigator_api::pilot_contract::{
    CASSANDRA_SEED_LABEL, LIVENESS_PORT, PILOT_BINARY_PATH, READINESS_PORT,
};
use navigator_api::v1beta1::{
    CassandraCluster, CassandraClusterNodePool, CassandraClusterSpec, ImageSpec,
    NavigatorSecurityContext, PersistenceConfig, Pilot, PodDisruptionBudgetConfig,
};
use navigator_api::version::CassandraVersion;
use pretty_assertions::assert_eq;

use super::*;
use crate::cassandra::names;
use crate::children::test_support::{check_hash, from, hash_of, pod_spec};
use crate::hash::{SPEC_HASH_ANNOTATION, spec_hash};

fn cluster() -> CassandraCluster {
    CassandraCluster {
        metadata: ObjectMeta {
            name: Some("demo".to_owned()),
            namespace: Some("db".to_owned()),
            uid: Some("uid-1".to_owned()),
            ..ObjectMeta::default()
        },
        spec: CassandraClusterSpec {
            version: Some(CassandraVersion::parse("5.0.2").expect("version")),
            node_pools: vec![pool()],
            ..CassandraClusterSpec::default()
        },
        status: Default::default(),
    }
}

fn pool() -> CassandraClusterNodePool {
    CassandraClusterNodePool {
        name: "a".to_owned(),
        replicas: Some(3),
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
        ..CassandraClusterNodePool::default()
    }
}

fn owner_ref() -> OwnerReference {
    OwnerReference {
        api_version: "navigator.jetstack.io/v1beta1".to_owned(),
        kind: "CassandraCluster".to_owned(),
        name: "demo".to_owned(),
        uid: "uid-1".to_owned(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

fn sts(cluster: &CassandraCluster, pool: &CassandraClusterNodePool) -> StatefulSet {
    statefulset(cluster, pool, 3, 1, &Settings::default()).expect("statefulset")
}

fn container<'a>(s: &'a StatefulSet, name: &str) -> &'a Container {
    let spec = pod_spec(s);
    spec.containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .find(|c| c.name == name)
        .expect("container")
}

fn services(cluster: &CassandraCluster) -> BTreeMap<String, Service> {
    shared_children(cluster, &Settings::default())
        .expect("children")
        .into_iter()
        .filter_map(|c| match c {
            DesiredChild::Service(s) => Some((s.metadata.name.clone().unwrap_or_default(), s)),
            _ => None,
        })
        .collect()
}

#[test]
fn shared_children_come_in_creation_order_with_names_labels_owner_and_hash() {
    use crate::cassandra::observe::ChildKind as K;
    let children = shared_children(&cluster(), &Settings::default()).expect("children");
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
            (K::ServiceAccount, "cass-demo".to_owned()),
            (K::Role, "cass-demo-pilot".to_owned()),
            (K::RoleBinding, "cass-demo-pilot".to_owned()),
            (K::Service, "cass-demo-nodes".to_owned()),
            (K::Service, "cass-demo-seeds".to_owned()),
            (K::Service, "cass-demo".to_owned()),
            (K::PodDisruptionBudget, "cass-demo".to_owned()),
        ]
    );
    for child in &children {
        let meta = child.metadata();
        assert_eq!(meta.namespace.as_deref(), Some("db"), "{meta:?}");
        assert_eq!(meta.labels, Some(names::cluster_labels("demo")), "{meta:?}");
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
fn missing_uid_name_or_version_are_errors() {
    let mut c = cluster();
    c.metadata.uid = None;
    assert_eq!(
        shared_children(&c, &Settings::default()),
        Err(ChildrenError::NoUid)
    );
    assert_eq!(
        statefulset(&c, &pool(), 1, 0, &Settings::default()),
        Err(ChildrenError::NoUid)
    );
    assert_eq!(pilot(&c, "a", 0), Err(ChildrenError::NoUid));
    let mut c = cluster();
    c.metadata.name = None;
    assert_eq!(pilot(&c, "a", 0), Err(ChildrenError::NoName));
    let mut c = cluster();
    c.spec.version = None;
    assert_eq!(
        statefulset(&c, &pool(), 1, 0, &Settings::default()),
        Err(ChildrenError::NoVersion)
    );
}

#[test]
fn role_grants_what_the_pilot_needs_and_binding_names_the_service_account() {
    let children = shared_children(&cluster(), &Settings::default()).expect("children");
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
                "cassandraclusters",
                "get,list,watch"
            ),
            row(
                "coordination.k8s.io",
                "leases",
                "get,list,watch,create,update,patch"
            ),
            row("", "pods,endpoints,services", "get,list,watch"),
            row("", "events", "create,update,patch"),
            row("events.k8s.io", "events", "create,update,patch"),
        ]
    );
    let DesiredChild::RoleBinding(binding) = &children[2] else {
        panic!("not a binding")
    };
    assert_eq!(binding.role_ref.kind, "Role");
    assert_eq!(binding.role_ref.api_group, "rbac.authorization.k8s.io");
    assert_eq!(binding.role_ref.name, "cass-demo-pilot");
    let subjects = binding.subjects.clone().unwrap_or_default();
    assert_eq!(subjects.len(), 1);
    assert_eq!(subjects[0].kind, "ServiceAccount");
    assert_eq!(subjects[0].name, "cass-demo");
    assert_eq!(subjects[0].namespace.as_deref(), Some("db"));
}

/// (name, clusterIP, publishNotReadyAddresses, selector, ports)
type ServiceRow = (
    &'static str,
    Option<&'static str>,
    Option<bool>,
    BTreeMap<String, String>,
    Vec<(&'static str, i32)>,
);

#[test]
fn services_select_the_cluster_and_the_seeds() {
    let svcs = services(&cluster());
    let mut seed_selector = names::cluster_labels("demo");
    seed_selector.insert(CASSANDRA_SEED_LABEL.to_owned(), "true".to_owned());
    let table: Vec<ServiceRow> = vec![
        (
            "cass-demo-nodes",
            Some("None"),
            Some(true),
            names::cluster_labels("demo"),
            vec![("intra-node", 7000), ("cql", 9042)],
        ),
        (
            "cass-demo-seeds",
            Some("None"),
            Some(true),
            seed_selector,
            vec![("intra-node", 7000)],
        ),
        (
            "cass-demo",
            None,
            None,
            names::cluster_labels("demo"),
            vec![("cql", 9042)],
        ),
    ];
    for (name, cluster_ip, not_ready, selector, ports) in table {
        let svc = &svcs[name];
        let spec = svc.spec.as_ref().expect("spec");
        assert_eq!(spec.cluster_ip.as_deref(), cluster_ip, "{name}");
        assert_eq!(spec.publish_not_ready_addresses, not_ready, "{name}");
        assert_eq!(spec.selector.as_ref(), Some(&selector), "{name}");
        let got: Vec<(&str, i32)> = spec
            .ports
            .iter()
            .flatten()
            .map(|p| (p.name.as_deref().unwrap_or_default(), p.port))
            .collect();
        assert_eq!(got, ports, "{name}");
        // The seed label selects pods; it is never on a Service.
        assert!(
            !svc.metadata
                .labels
                .as_ref()
                .is_some_and(|l| l.contains_key(CASSANDRA_SEED_LABEL)),
            "{name}"
        );
    }
    assert_eq!(
        svcs["cass-demo"]
            .spec
            .as_ref()
            .and_then(|s| s.type_.as_deref()),
        Some("ClusterIP")
    );
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
        let children = shared_children(&c, &Settings::default()).expect("children");
        let Some(DesiredChild::PodDisruptionBudget(pdb)) = children.last() else {
            panic!("no pdb last")
        };
        let spec = pdb.spec.as_ref().expect("spec");
        assert_eq!(spec.min_available, min, "{config:?}");
        assert_eq!(spec.max_unavailable, max, "{config:?}");
        assert_eq!(
            spec.selector.as_ref().and_then(|s| s.match_labels.clone()),
            Some(names::cluster_labels("demo"))
        );
    }
}

#[test]
fn statefulset_names_labels_selector_and_scaling() {
    let s = sts(&cluster(), &pool());
    assert_eq!(s.metadata.name.as_deref(), Some("cass-demo-a"));
    assert_eq!(s.metadata.namespace.as_deref(), Some("db"));
    assert_eq!(s.metadata.labels, Some(names::pool_labels("demo", "a")));
    assert_eq!(s.metadata.owner_references, Some(vec![owner_ref()]));
    let spec = s.spec.as_ref().expect("spec");
    assert_eq!(spec.replicas, Some(3));
    assert_eq!(spec.service_name.as_deref(), Some("cass-demo-nodes"));
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
    assert_eq!(
        spec.selector.match_labels,
        Some(names::pod_labels("demo", "a"))
    );
    let template_meta = spec.template.metadata.as_ref().expect("template metadata");
    assert_eq!(template_meta.labels, Some(names::pod_labels("demo", "a")));
    assert_eq!(
        template_meta
            .annotations
            .as_ref()
            .and_then(|a| a.get(CASSANDRA_VERSION_ANNOTATION))
            .map(String::as_str),
        Some("5.0.2")
    );
    let pod = pod_spec(&s);
    assert_eq!(pod.service_account_name.as_deref(), Some("cass-demo"));
    assert_eq!(pod.termination_grace_period_seconds, Some(180));
}

#[test]
fn persistence_gives_a_claim_template_and_none_an_empty_dir() {
    let with = sts(&cluster(), &pool());
    let templates = with
        .spec
        .as_ref()
        .and_then(|s| s.volume_claim_templates.clone())
        .expect("claim templates");
    assert_eq!(templates.len(), 1);
    let t = &templates[0];
    assert_eq!(t.metadata.name.as_deref(), Some("data"));
    assert_eq!(t.metadata.labels, Some(names::pool_labels("demo", "a")));
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

    let mut ephemeral = pool();
    ephemeral.persistence = None;
    let without = sts(&cluster(), &ephemeral);
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
fn images_default_from_settings_and_the_version() {
    let image = |repository: &str, tag: &str, pull_policy: &str| ImageSpec {
        repository: repository.to_owned(),
        tag: tag.to_owned(),
        pull_policy: pull_policy.to_owned(),
    };
    // (spec.image, spec.pilotImage, cassandra image, policy, pilot image, policy)
    let table = vec![
        (
            None,
            ImageSpec::default(),
            "cassandra:5.0.2",
            "IfNotPresent",
            "navigator-pilot:dev",
            "IfNotPresent",
        ),
        (
            Some(image("registry/cass", "5.0.2-custom", "Always")),
            image("registry/pilot", "v1", "Never"),
            "registry/cass:5.0.2-custom",
            "Always",
            "registry/pilot:v1",
            "Never",
        ),
        (
            Some(image("registry/cass", "", "")),
            image("registry/pilot", "", ""),
            "registry/cass:5.0.2",
            "IfNotPresent",
            "registry/pilot",
            "IfNotPresent",
        ),
        (
            Some(ImageSpec::default()),
            ImageSpec::default(),
            "cassandra:5.0.2",
            "IfNotPresent",
            "navigator-pilot:dev",
            "IfNotPresent",
        ),
    ];
    for (db, pilot_image, want_db, want_db_policy, want_pilot, want_pilot_policy) in table {
        let mut c = cluster();
        c.spec.image = db.clone();
        c.spec.pilot_image = pilot_image.clone();
        let s = sts(&c, &pool());
        let cass = container(&s, "cassandra");
        assert_eq!(cass.image.as_deref(), Some(want_db), "{db:?}");
        assert_eq!(
            cass.image_pull_policy.as_deref(),
            Some(want_db_policy),
            "{db:?}"
        );
        let install = container(&s, "install-pilot");
        assert_eq!(
            install.image.as_deref(),
            Some(want_pilot),
            "{pilot_image:?}"
        );
        assert_eq!(
            install.image_pull_policy.as_deref(),
            Some(want_pilot_policy),
            "{pilot_image:?}"
        );
        assert_eq!(
            install.command,
            Some(vec![
                "cp".to_owned(),
                "/usr/local/bin/pilot-cassandra".to_owned(),
                "/shared/pilot".to_owned()
            ])
        );
    }
}

#[test]
fn pilot_args_name_cluster_datacenter_rack_seeds_and_version() {
    let settings = Settings {
        pilot_extra_args: vec!["--ring-delay-ms=5000".to_owned()],
        ..Settings::default()
    };
    let mut placed = pool();
    placed.datacenter = Some("dc1".to_owned());
    placed.rack = Some("r1".to_owned());
    // (pool, datacenter arg, rack arg)
    let table = vec![
        (
            pool(),
            "--datacenter=navigator-default-datacenter",
            "--rack=a",
        ),
        (placed, "--datacenter=dc1", "--rack=r1"),
    ];
    for (p, dc, rack) in table {
        let s = statefulset(&cluster(), &p, 1, 0, &settings).expect("statefulset");
        let cass = container(&s, "cassandra");
        assert_eq!(cass.command, Some(vec![PILOT_BINARY_PATH.to_owned()]));
        assert_eq!(
            cass.args,
            Some(vec![
                "--cluster-name=demo".to_owned(),
                dc.to_owned(),
                rack.to_owned(),
                "--seeds-service=cass-demo-seeds.$(POD_NAMESPACE).svc.cluster.local".to_owned(),
                "--cassandra-version=5.0.2".to_owned(),
                "--storage-compatibility-mode=none".to_owned(),
                "--ring-delay-ms=5000".to_owned(),
            ])
        );
    }
}

#[test]
fn the_database_container_probes_the_pilot_ports_and_gets_its_identity() {
    let s = sts(&cluster(), &pool());
    let cass = container(&s, "cassandra");
    let port = |p: &Option<k8s_openapi::api::core::v1::Probe>| {
        let p = p.as_ref().expect("probe");
        let get = p.http_get.as_ref().expect("httpGet");
        (
            get.port.clone(),
            get.path.clone(),
            p.period_seconds,
            p.failure_threshold,
        )
    };
    let live = IntOrString::Int(i32::from(LIVENESS_PORT));
    let ready = IntOrString::Int(i32::from(READINESS_PORT));
    let root = Some("/".to_owned());
    assert_eq!(
        port(&cass.startup_probe),
        (live.clone(), root.clone(), Some(2), Some(150))
    );
    assert_eq!(
        port(&cass.liveness_probe),
        (live, root.clone(), Some(5), Some(3))
    );
    assert_eq!(port(&cass.readiness_probe), (ready, root, Some(2), Some(2)));
    assert_eq!(
        cass.liveness_probe.as_ref().and_then(|p| p.timeout_seconds),
        Some(3)
    );
    let ports: Vec<(&str, i32)> = cass
        .ports
        .iter()
        .flatten()
        .map(|p| (p.name.as_deref().unwrap_or_default(), p.container_port))
        .collect();
    assert_eq!(
        ports,
        vec![
            ("intra-node", 7000),
            ("cql", 9042),
            ("pilot-live", 12000),
            ("pilot-ready", 12001)
        ]
    );
    let env: Vec<String> = cass
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
            "MEMORY_LIMIT=cassandra/limits.memory/1",
        ]
    );
    assert_eq!(cass.resources, pool().resources);
    let pre_stop = cass
        .lifecycle
        .as_ref()
        .and_then(|l| l.pre_stop.as_ref())
        .and_then(|h| h.exec.as_ref())
        .and_then(|e| e.command.clone());
    assert_eq!(
        pre_stop,
        Some(vec!["/shared/pilot".to_owned(), "pre-stop".to_owned()])
    );
    let mounts: Vec<(&str, &str, Option<bool>)> = cass
        .volume_mounts
        .iter()
        .flatten()
        .map(|m| (m.name.as_str(), m.mount_path.as_str(), m.read_only))
        .collect();
    assert_eq!(
        mounts,
        vec![
            ("shared", "/shared", Some(true)),
            ("data", "/var/lib/cassandra", None)
        ]
    );
}

#[test]
fn scheduling_and_security_come_from_the_pool_and_spec() {
    let plain = sts(&cluster(), &pool());
    let spec = pod_spec(&plain);
    assert_eq!(spec.node_selector, None);
    assert_eq!(spec.scheduler_name, None);
    assert_eq!(spec.security_context, None);
    type Term = (i32, String, Option<BTreeMap<String, String>>);
    let terms: Vec<Term> = spec
        .affinity
        .as_ref()
        .and_then(|a| a.pod_anti_affinity.as_ref())
        .and_then(|a| {
            a.preferred_during_scheduling_ignored_during_execution
                .clone()
        })
        .unwrap_or_default()
        .into_iter()
        .map(|t| {
            (
                t.weight,
                t.pod_affinity_term.topology_key,
                t.pod_affinity_term
                    .label_selector
                    .and_then(|s| s.match_labels),
            )
        })
        .collect();
    let labels = Some(names::cluster_labels("demo"));
    assert_eq!(
        terms,
        vec![
            (100, "kubernetes.io/hostname".to_owned(), labels.clone()),
            (50, "topology.kubernetes.io/zone".to_owned(), labels),
        ]
    );
    assert!(
        spec.affinity
            .as_ref()
            .and_then(|a| a.pod_anti_affinity.as_ref())
            .is_some_and(|a| a
                .required_during_scheduling_ignored_during_execution
                .is_none())
    );

    let mut c = cluster();
    c.spec.security_context = NavigatorSecurityContext {
        run_as_user: Some(999),
    };
    let mut p = pool();
    p.node_selector = Some(BTreeMap::from([("disk".to_owned(), "ssd".to_owned())]));
    p.scheduler_name = "custom".to_owned();
    let placed = sts(&c, &p);
    let spec = pod_spec(&placed);
    assert_eq!(spec.node_selector, p.node_selector);
    assert_eq!(spec.scheduler_name.as_deref(), Some("custom"));
    let sc = spec.security_context.as_ref().expect("security context");
    assert_eq!((sc.run_as_user, sc.fs_group), (Some(999), Some(999)));
}

#[test]
fn statefulset_hash_ignores_replicas_and_partition_only() {
    let settings = Settings::default();
    let base = hash_of(&sts(&cluster(), &pool()).metadata);
    for (replicas, partition) in [(0, 0), (1, 0), (5, 3), (3, 1)] {
        let s =
            statefulset(&cluster(), &pool(), replicas, partition, &settings).expect("statefulset");
        assert_eq!(hash_of(&s.metadata), base, "{replicas} {partition}");
    }
    // The annotation is the hash of the object with replicas and partition 0, without it
    // (the mode's annotation stays: it is part of the desired form).
    let mut unscaled = statefulset(&cluster(), &pool(), 0, 0, &settings).expect("statefulset");
    check_hash(&unscaled, |o| &mut o.metadata);
    if let Some(a) = unscaled.metadata.annotations.as_mut() {
        a.remove(SPEC_HASH_ANNOTATION);
    }
    assert_eq!(spec_hash(&unscaled), base);

    let mut newer = cluster();
    newer.spec.version = Some(CassandraVersion::parse("5.0.3").expect("version"));
    let mut same_image_newer = newer.clone();
    same_image_newer.spec.image = Some(ImageSpec {
        repository: "cassandra".to_owned(),
        tag: "5.0.2".to_owned(),
        pull_policy: String::new(),
    });
    let mut other_image = cluster();
    other_image.spec.image = Some(ImageSpec {
        repository: "mirror/cassandra".to_owned(),
        tag: String::new(),
        pull_policy: String::new(),
    });
    let mut other_pilot = cluster();
    other_pilot.spec.pilot_image = ImageSpec {
        repository: "navigator-pilot".to_owned(),
        tag: "v2".to_owned(),
        pull_policy: String::new(),
    };
    let mut bigger = pool();
    bigger.resources = Some(ResourceRequirements {
        limits: Some(BTreeMap::from([(
            "memory".to_owned(),
            Quantity("4Gi".to_owned()),
        )])),
        ..ResourceRequirements::default()
    });
    let changed = [
        ("version", sts(&newer, &pool())),
        ("version, same image", sts(&same_image_newer, &pool())),
        ("image", sts(&other_image, &pool())),
        ("pilot image", sts(&other_pilot, &pool())),
        ("resources", sts(&cluster(), &bigger)),
        (
            "extra args",
            statefulset(
                &cluster(),
                &pool(),
                3,
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
fn pilot_is_named_like_its_pod_and_leaves_the_requested_state_to_the_planner() {
    let p = pilot(&cluster(), "a", 2).expect("pilot");
    assert_eq!(p.metadata.name.as_deref(), Some("cass-demo-a-2"));
    assert_eq!(p.metadata.namespace.as_deref(), Some("db"));
    assert_eq!(p.metadata.labels, Some(names::pool_labels("demo", "a")));
    assert_eq!(p.metadata.owner_references, Some(vec![owner_ref()]));
    let cluster_ref = p.spec.cluster.as_ref().expect("cluster ref");
    assert_eq!(
        (cluster_ref.kind.as_str(), cluster_ref.name.as_str()),
        ("CassandraCluster", "demo")
    );
    assert_eq!(p.spec.node_pool.as_deref(), Some("a"));
    assert_eq!(p.spec.requested_state, None);
    check_hash(&p, |o| &mut o.metadata);
    let json = serde_json::to_value(&p).expect("json");
    assert_eq!(json["apiVersion"], "navigator.jetstack.io/v1beta1");
    assert_eq!(json["kind"], "Pilot");
    let back: Pilot = serde_json::from_value(json).expect("deserialise");
    assert_eq!(back, p);
}

#[test]
fn children_round_trip_through_json_with_api_version_and_kind() {
    let children = shared_children(&cluster(), &Settings::default()).expect("children");
    for child in children {
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
    for p in [pool(), CassandraClusterNodePool::default()] {
        let s = sts(&cluster(), &p);
        let json = serde_json::to_value(&s).expect("json");
        assert_eq!(json["apiVersion"], "apps/v1");
        assert_eq!(json["kind"], "StatefulSet");
        let back: StatefulSet = from(json);
        assert_eq!(back, s);
    }
}

/// The full StatefulSet of a pool with persistence, as JSON. `UPDATE_GOLDEN=1` rewrites it.
#[test]
fn golden_statefulset() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/cassandra-statefulset.json");
    let mut c = cluster();
    c.spec.security_context.run_as_user = Some(999);
    let got = serde_json::to_string_pretty(&sts(&c, &pool())).expect("json") + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, &got).expect("write golden");
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
    assert_eq!(got, want);
}

proptest::proptest! {
    /// Scaling and partitioning never change the StatefulSet's spec-hash, and the object
    /// carries exactly the replicas and partition asked for.
    #[test]
    fn replicas_and_partition_never_change_the_hash(replicas in 0..1000i32, partition in 0..1000i32) {
        let base = hash_of(&sts(&cluster(), &pool()).metadata);
        let s = statefulset(&cluster(), &pool(), replicas, partition, &Settings::default())
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

#[test]
fn the_storage_compatibility_mode_is_an_argument_and_an_annotation_on_5_only() {
    use crate::cassandra::compatibility::{
        self, STORAGE_COMPATIBILITY_ANNOTATION, StorageCompatibility as S,
    };
    let settings = Settings::default();
    let at = |version: &str| {
        let mut c = cluster();
        c.spec.version = Some(CassandraVersion::parse(version).expect("version"));
        c
    };
    // (version, mode asked for, mode carried)
    let table = [
        ("5.0.2", S::Cassandra4, Some(S::Cassandra4)),
        ("5.0.2", S::Upgrading, Some(S::Upgrading)),
        ("5.0.2", S::None, Some(S::None)),
        ("4.1.10", S::Cassandra4, None),
        ("4.1.10", S::None, None),
    ];
    let mut hashes = BTreeMap::new();
    for (version, mode, want) in table {
        let s =
            statefulset_in_mode(&at(version), &pool(), 3, 3, &settings, mode).expect("statefulset");
        let args = container(&s, "cassandra").args.clone().unwrap_or_default();
        let flags: Vec<&String> = args
            .iter()
            .filter(|a| a.starts_with("--storage-compatibility-mode"))
            .collect();
        let template_annotation = s
            .spec
            .as_ref()
            .and_then(|sp| sp.template.metadata.as_ref())
            .and_then(|m| m.annotations.as_ref())
            .and_then(|a| a.get(STORAGE_COMPATIBILITY_ANNOTATION))
            .cloned();
        match want {
            Some(m) => {
                assert_eq!(
                    flags,
                    vec![&format!("--storage-compatibility-mode={}", m.as_flag())]
                );
                assert_eq!(template_annotation.as_deref(), Some(m.as_str()));
            }
            None => {
                assert!(flags.is_empty(), "{version}: {flags:?}");
                assert_eq!(template_annotation, None);
            }
        }
        assert_eq!(compatibility::of_statefulset(&s), want, "{version} {mode}");
        // Without the annotation, the template's argument says it.
        let mut bare = s.clone();
        if let Some(a) = bare.metadata.annotations.as_mut() {
            a.remove(STORAGE_COMPATIBILITY_ANNOTATION);
        }
        assert_eq!(compatibility::of_statefulset(&bare), want);
        hashes.insert((version, format!("{want:?}")), hash_of(&s.metadata));
    }
    // Every mode is its own template on 5; the plain builder is a new pool's: NONE.
    assert_eq!(hashes.len(), 4);
    let fresh = statefulset(&cluster(), &pool(), 3, 3, &settings).expect("statefulset");
    assert_eq!(compatibility::of_statefulset(&fresh), Some(S::None));
}
