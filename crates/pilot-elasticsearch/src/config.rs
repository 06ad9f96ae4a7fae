//! The node's `elasticsearch.yml` / `opensearch.yml`, pure: the pilot's settings per flavour
//! and major, laid over the image's own configuration (flattened to dotted keys, so a nested
//! image file and the pilot's flat keys never name a setting twice) and the `--setting`
//! extras.

use std::net::IpAddr;
use std::path::PathBuf;

use serde_yaml::{Mapping, Value};

use crate::bootstrap::Bootstrap;
use crate::flavor::Dialect;
use crate::roles::Role;

/// The configuration could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The image's configuration file is not YAML.
    #[error("the image's configuration is not YAML: {0}")]
    ImageYaml(serde_yaml::Error),
    /// The rendered configuration could not be serialised.
    #[error("serialising the configuration: {0}")]
    Serialise(serde_yaml::Error),
}

/// Everything the node's settings depend on.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeConfig {
    /// Flavour and major.
    pub dialect: Dialect,
    /// `cluster.name`.
    pub cluster_name: String,
    /// `node.name`: the pod's name.
    pub node_name: String,
    /// The pod's IP: `network.host` (published; the node binds every address, so the pilot
    /// reaches it on 127.0.0.1).
    pub pod_ip: IpAddr,
    /// The node's roles.
    pub roles: Vec<Role>,
    /// The discovery Service's DNS name.
    pub discovery_service: String,
    /// `path.data`.
    pub data_dir: PathBuf,
    /// `path.logs`.
    pub logs_dir: PathBuf,
    /// `http.port`.
    pub http_port: u16,
    /// `transport.port` (Elasticsearch 6: `transport.tcp.port`).
    pub transport_port: u16,
    /// The node pool: `node.attr.pool`.
    pub node_pool: String,
    /// More node attributes (`node.attr.<key>`).
    pub node_attributes: Vec<(String, String)>,
    /// `cluster.routing.allocation.awareness.attributes`, when not empty.
    pub awareness_attributes: Vec<String>,
    /// Whether the node forms the cluster.
    pub bootstrap: Bootstrap,
    /// Elasticsearch 6: `discovery.zen.minimum_master_nodes`.
    pub minimum_master_nodes: u32,
}

/// A quorum of `n` master-eligible nodes.
pub fn quorum(n: usize) -> u32 {
    u32::try_from(n / 2 + 1).unwrap_or(u32::MAX)
}

fn string(s: impl Into<String>) -> Value {
    Value::String(s.into())
}

fn list<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> Value {
    Value::Sequence(items.into_iter().map(|s| string(s)).collect())
}

/// The pilot's own settings for the node, in order.
pub fn node_settings(c: &NodeConfig) -> Vec<(String, Value)> {
    let d = c.dialect;
    let mut s: Vec<(String, Value)> = vec![
        ("cluster.name".into(), string(&c.cluster_name)),
        ("node.name".into(), string(&c.node_name)),
        ("network.host".into(), string(c.pod_ip.to_string())),
        ("network.bind_host".into(), string("0.0.0.0")),
        ("http.port".into(), Value::from(c.http_port)),
    ];
    let transport_key = if d.is_zen() {
        "transport.tcp.port"
    } else {
        "transport.port"
    };
    s.push((transport_key.into(), Value::from(c.transport_port)));
    s.push(("path.data".into(), string(c.data_dir.display().to_string())));
    s.push(("path.logs".into(), string(c.logs_dir.display().to_string())));
    if d.has_node_roles() {
        let mut roles: Vec<&str> = Vec::new();
        for role in [Role::Master, Role::Data, Role::Ingest] {
            if c.roles.contains(&role) {
                roles.push(match role {
                    Role::Master => d.master_role(),
                    Role::Data => "data",
                    Role::Ingest => "ingest",
                });
            }
        }
        s.push(("node.roles".into(), list(roles)));
    } else {
        for role in [Role::Master, Role::Data, Role::Ingest] {
            s.push((
                format!("node.{}", role.as_str()),
                Value::Bool(c.roles.contains(&role)),
            ));
        }
    }
    if d.is_zen() {
        s.push((
            "discovery.zen.ping.unicast.hosts".into(),
            list([c.discovery_service.clone()]),
        ));
        s.push((
            "discovery.zen.minimum_master_nodes".into(),
            Value::from(c.minimum_master_nodes),
        ));
    } else {
        s.push((
            "discovery.seed_hosts".into(),
            list([c.discovery_service.clone()]),
        ));
        if let (Bootstrap::Form(masters), Some(key)) = (&c.bootstrap, d.initial_masters_setting()) {
            s.push((key.into(), list(masters.clone())));
        }
    }
    s.push(("node.attr.pool".into(), string(&c.node_pool)));
    for (k, v) in &c.node_attributes {
        s.push((format!("node.attr.{k}"), string(v)));
    }
    if !c.awareness_attributes.is_empty() {
        s.push((
            "cluster.routing.allocation.awareness.attributes".into(),
            string(c.awareness_attributes.join(",")),
        ));
    }
    s
}

/// Flattens a YAML mapping into dotted keys (`{a: {b: 1}}` → `a.b: 1`); sequences and
/// scalars are values.
pub fn flatten(value: &Value) -> Vec<(String, Value)> {
    fn walk(prefix: &str, value: &Value, out: &mut Vec<(String, Value)>) {
        match value {
            Value::Mapping(m) => {
                for (k, v) in m {
                    let key = match k {
                        Value::String(s) => s.clone(),
                        other => serde_yaml::to_string(other)
                            .unwrap_or_default()
                            .trim()
                            .to_owned(),
                    };
                    let full = if prefix.is_empty() {
                        key
                    } else {
                        format!("{prefix}.{key}")
                    };
                    walk(&full, v, out);
                }
            }
            other if !prefix.is_empty() => out.push((prefix.to_owned(), other.clone())),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk("", value, &mut out);
    out
}

/// An extra setting's value: a YAML scalar or list when it parses as one, else the text.
pub fn extra_value(text: &str) -> Value {
    match serde_yaml::from_str::<Value>(text) {
        Ok(v @ (Value::Bool(_) | Value::Number(_) | Value::Sequence(_))) => v,
        _ => string(text),
    }
}

/// The whole configuration file: the image's settings, then the extras, then the pilot's;
/// a later layer replaces a key in place.
pub fn render(
    image_yml: Option<&str>,
    extras: &[(String, String)],
    ours: &[(String, Value)],
) -> Result<String, ConfigError> {
    let mut merged = Mapping::new();
    if let Some(text) = image_yml {
        let image: Value = serde_yaml::from_str(text).map_err(ConfigError::ImageYaml)?;
        for (k, v) in flatten(&image) {
            merged.insert(string(k), v);
        }
    }
    for (k, v) in extras {
        merged.insert(string(k.clone()), extra_value(v));
    }
    for (k, v) in ours {
        merged.insert(string(k.clone()), v.clone());
    }
    let body = serde_yaml::to_string(&Value::Mapping(merged)).map_err(ConfigError::Serialise)?;
    Ok(format!(
        "# Rendered by pilot-elasticsearch at every start; edits are lost.\n{body}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flavor::Flavor;
    use pretty_assertions::assert_eq;

    fn config(flavor: Flavor, version: &str, bootstrap: Bootstrap) -> NodeConfig {
        NodeConfig {
            dialect: Dialect::new(flavor, version).expect("dialect"),
            cluster_name: "demo".into(),
            node_name: "demo-data-0".into(),
            pod_ip: "10.0.0.7".parse().expect("ip"),
            roles: vec![Role::Data, Role::Master],
            discovery_service: "demo-discovery.ns.svc.cluster.local".into(),
            data_dir: "/data".into(),
            logs_dir: "/home/logs".into(),
            http_port: 9200,
            transport_port: 9300,
            node_pool: "data".into(),
            node_attributes: vec![("zone".into(), "a".into())],
            awareness_attributes: vec![],
            bootstrap,
            minimum_master_nodes: 2,
        }
    }

    fn rendered(c: &NodeConfig) -> String {
        render(None, &[], &node_settings(c)).expect("render")
    }

    const HEADER: &str = "# Rendered by pilot-elasticsearch at every start; edits are lost.\n";
    const COMMON: &str = "cluster.name: demo
node.name: demo-data-0
network.host: 10.0.0.7
network.bind_host: 0.0.0.0
http.port: 9200
";

    #[test]
    fn per_flavour_and_major() {
        let form = Bootstrap::Form(vec!["demo-data-0".into(), "demo-data-1".into()]);
        let join = Bootstrap::Join("restart".into());
        let cases = [
            (
                Flavor::Elasticsearch,
                "6.8.23",
                form.clone(),
                "transport.tcp.port: 9300
path.data: /data
path.logs: /home/logs
node.master: true
node.data: true
node.ingest: false
discovery.zen.ping.unicast.hosts:
- demo-discovery.ns.svc.cluster.local
discovery.zen.minimum_master_nodes: 2
node.attr.pool: data
node.attr.zone: a
",
            ),
            (
                Flavor::Elasticsearch,
                "7.10.2",
                form.clone(),
                "transport.port: 9300
path.data: /data
path.logs: /home/logs
node.roles:
- master
- data
discovery.seed_hosts:
- demo-discovery.ns.svc.cluster.local
cluster.initial_master_nodes:
- demo-data-0
- demo-data-1
node.attr.pool: data
node.attr.zone: a
",
            ),
            (
                Flavor::Elasticsearch,
                "7.8.0",
                join.clone(),
                "transport.port: 9300
path.data: /data
path.logs: /home/logs
node.master: true
node.data: true
node.ingest: false
discovery.seed_hosts:
- demo-discovery.ns.svc.cluster.local
node.attr.pool: data
node.attr.zone: a
",
            ),
            (
                Flavor::Elasticsearch,
                "8.15.0",
                join.clone(),
                "transport.port: 9300
path.data: /data
path.logs: /home/logs
node.roles:
- master
- data
discovery.seed_hosts:
- demo-discovery.ns.svc.cluster.local
node.attr.pool: data
node.attr.zone: a
",
            ),
            (
                Flavor::Opensearch,
                "1.3.20",
                form.clone(),
                "transport.port: 9300
path.data: /data
path.logs: /home/logs
node.roles:
- master
- data
discovery.seed_hosts:
- demo-discovery.ns.svc.cluster.local
cluster.initial_master_nodes:
- demo-data-0
- demo-data-1
node.attr.pool: data
node.attr.zone: a
",
            ),
            (
                Flavor::Opensearch,
                "2.19.6",
                form.clone(),
                "transport.port: 9300
path.data: /data
path.logs: /home/logs
node.roles:
- cluster_manager
- data
discovery.seed_hosts:
- demo-discovery.ns.svc.cluster.local
cluster.initial_cluster_manager_nodes:
- demo-data-0
- demo-data-1
node.attr.pool: data
node.attr.zone: a
",
            ),
            (
                Flavor::Opensearch,
                "3.1.0",
                join,
                "transport.port: 9300
path.data: /data
path.logs: /home/logs
node.roles:
- cluster_manager
- data
discovery.seed_hosts:
- demo-discovery.ns.svc.cluster.local
node.attr.pool: data
node.attr.zone: a
",
            ),
        ];
        for (flavor, version, bootstrap, tail) in cases {
            let c = config(flavor, version, bootstrap);
            assert_eq!(
                rendered(&c),
                format!("{HEADER}{COMMON}{tail}"),
                "{flavor} {version}"
            );
        }
    }

    #[test]
    fn awareness_and_coordinating_only() {
        let mut c = config(Flavor::Opensearch, "2.19.6", Bootstrap::Join("x".into()));
        c.roles = vec![];
        c.node_attributes = vec![];
        c.awareness_attributes = vec!["pool".into(), "zone".into()];
        let s = node_settings(&c);
        assert!(s.contains(&("node.roles".into(), Value::Sequence(vec![]))));
        assert!(s.contains(&(
            "cluster.routing.allocation.awareness.attributes".into(),
            string("pool,zone")
        )));
    }

    #[test]
    fn image_settings_and_extras_are_kept_unless_the_pilot_sets_them() {
        let image = "cluster.name: docker-cluster
network:
  host: 0.0.0.0
path.logs: /tmp/logs
node.processors: 1
cluster.routing.allocation.disk.threshold_enabled: false
";
        let extras = vec![
            ("node.processors".to_owned(), "2".to_owned()),
            ("action.auto_create_index".to_owned(), "false".to_owned()),
            (
                "thread_pool.write.queue_size".to_owned(),
                "one thousand".to_owned(),
            ),
        ];
        let ours = vec![
            ("cluster.name".to_owned(), string("demo")),
            ("network.host".to_owned(), string("10.0.0.7")),
        ];
        let out = render(Some(image), &extras, &ours).expect("render");
        assert_eq!(
            out,
            format!(
                "{HEADER}cluster.name: demo
network.host: 10.0.0.7
path.logs: /tmp/logs
node.processors: 2
cluster.routing.allocation.disk.threshold_enabled: false
action.auto_create_index: false
thread_pool.write.queue_size: one thousand
"
            )
        );
    }

    #[test]
    fn an_empty_image_file_is_no_settings() {
        let out = render(Some("# only comments\n"), &[], &[]).expect("render");
        assert_eq!(out, format!("{HEADER}{{}}\n"));
    }

    #[test]
    fn quorums() {
        for (n, q) in [(0, 1), (1, 1), (2, 2), (3, 2), (4, 3), (5, 3)] {
            assert_eq!(quorum(n), q, "{n}");
        }
    }
}
