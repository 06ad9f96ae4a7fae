//! A container's environment and command line, as kubelet computes them: image env, then
//! `envFrom`, then `env` (with `fieldRef`, `resourceFieldRef`, `configMapKeyRef`,
//! `secretKeyRef`), `$(VAR)` expansion in env values, command and args. Pure.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod};

/// The ConfigMaps and Secrets (decoded) a pod refers to, fetched by the runner.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sources {
    /// ConfigMap name → data (binaryData included as lossy UTF-8).
    pub config_maps: BTreeMap<String, BTreeMap<String, String>>,
    /// Secret name → decoded data.
    pub secrets: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
}

/// The runtime facts the downward API exposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodFacts {
    /// The pod's IP.
    pub pod_ip: String,
    /// The node's IP.
    pub host_ip: String,
    /// Node CPU (cores) for limits defaults.
    pub node_cpu: i64,
    /// Node memory (bytes) for limits defaults.
    pub node_memory: i64,
}

/// Why an environment cannot be built (kubelet: `CreateContainerConfigError`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    /// A referenced ConfigMap or Secret (or key) does not exist.
    #[error("{kind} {name:?} not found{}", key.as_ref().map(|k| format!(" (key {k:?})")).unwrap_or_default())]
    Missing {
        /// `configmap` or `secret`.
        kind: &'static str,
        /// Its name.
        name: String,
        /// The key, if a key was missing.
        key: Option<String>,
    },
    /// An unsupported downward-API field.
    #[error("unsupported fieldRef {0}")]
    Field(String),
}

/// The value of a downward-API `fieldPath` for `pod`. Pure.
///
/// # Errors
/// [`EnvError::Field`] for an unsupported path.
pub fn field_value(pod: &Pod, facts: &PodFacts, path: &str) -> Result<String, EnvError> {
    let meta = &pod.metadata;
    let spec = pod.spec.as_ref();
    let map_key = |prefix: &str, m: Option<&BTreeMap<String, String>>| {
        path.strip_prefix(prefix)
            .and_then(|r| r.strip_suffix("']"))
            .map(|k| m.and_then(|m| m.get(k)).cloned().unwrap_or_default())
    };
    if let Some(v) = map_key("metadata.labels['", meta.labels.as_ref()) {
        return Ok(v);
    }
    if let Some(v) = map_key("metadata.annotations['", meta.annotations.as_ref()) {
        return Ok(v);
    }
    Ok(match path {
        "metadata.name" => meta.name.clone().unwrap_or_default(),
        "metadata.namespace" => meta.namespace.clone().unwrap_or_default(),
        "metadata.uid" => meta.uid.clone().unwrap_or_default(),
        "metadata.labels" => format_map(meta.labels.as_ref()),
        "metadata.annotations" => format_map(meta.annotations.as_ref()),
        "spec.nodeName" => spec.and_then(|s| s.node_name.clone()).unwrap_or_default(),
        "spec.serviceAccountName" => spec
            .and_then(|s| s.service_account_name.clone())
            .unwrap_or_else(|| "default".to_owned()),
        "status.podIP" | "status.podIPs" => facts.pod_ip.clone(),
        "status.hostIP" | "status.hostIPs" => facts.host_ip.clone(),
        other => return Err(EnvError::Field(other.to_owned())),
    })
}

/// `k="v"` lines, as the downward API writes label and annotation files. Pure.
#[must_use]
pub fn format_map(m: Option<&BTreeMap<String, String>>) -> String {
    m.map(|m| {
        m.iter()
            .map(|(k, v)| {
                format!(
                    "{k}=\"{}\"",
                    v.replace('\\', "\\\\")
                        .replace('"', "\\\"")
                        .replace('\n', "\\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    })
    .unwrap_or_default()
}

/// Kubelet's `$(VAR)` expansion: `$(NAME)` becomes the value when defined, else stays;
/// `$$` becomes `$`. Pure.
#[must_use]
pub fn expand(input: &str, vars: &dyn Fn(&str) -> Option<String>) -> String {
    let b = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut i = 0;
    let mut last = 0;
    while i < b.len() {
        if b[i] == b'$' && i + 1 < b.len() {
            out.push_str(&input[last..i]);
            match b[i + 1] {
                b'$' => {
                    out.push('$');
                    i += 2;
                }
                b'(' => match input[i + 2..].find(')') {
                    Some(end) => {
                        let name = &input[i + 2..i + 2 + end];
                        match vars(name) {
                            Some(v) => out.push_str(&v),
                            None => out.push_str(&input[i..i + 3 + end]),
                        }
                        i += 3 + end;
                    }
                    None => {
                        out.push_str(&input[i..]);
                        i = b.len();
                    }
                },
                _ => {
                    out.push_str(&input[i..i + 2]);
                    i += 2;
                }
            }
            last = i;
        } else {
            i += 1;
        }
    }
    if last < b.len() {
        out.push_str(&input[last..]);
    }
    out
}

fn resource_value(
    c: &Container,
    facts: &PodFacts,
    resource: &str,
    divisor: Option<&str>,
) -> String {
    let res = c.resources.as_ref();
    let (kind, name) = resource.split_once('.').unwrap_or(("limits", resource));
    let q = match kind {
        "requests" => res.and_then(|r| r.requests.as_ref()),
        _ => res.and_then(|r| r.limits.as_ref()),
    }
    .and_then(|m| m.get(name))
    .map(|q| q.0.clone());
    let is_cpu = name == "cpu";
    let value = q.map_or_else(
        || {
            if is_cpu {
                facts.node_cpu as f64
            } else {
                facts.node_memory as f64
            }
        },
        |q| parse_quantity(&q),
    );
    // kube-apiserver stores an unset divisor as "0", which the kubelet reads as 1.
    let div = divisor
        .map(parse_quantity)
        .filter(|d| *d > 0.0)
        .unwrap_or(1.0);
    format!("{}", (value / div).ceil() as i64)
}

/// Parses a Kubernetes quantity (`500m`, `2`, `1Gi`, `1G`, `1e3`) into a number. Pure.
#[must_use]
pub fn parse_quantity(q: &str) -> f64 {
    let q = q.trim();
    let split = q
        .find(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
        .unwrap_or(q.len());
    let (num, suffix) = q.split_at(split);
    let n: f64 = num.parse().unwrap_or(0.0);
    let mult = match suffix {
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024.0f64.powi(4),
        _ => 1.0,
    };
    n * mult
}

/// The container's environment: image env, `KUBERNETES_SERVICE_*`, `envFrom`, `env`; plus
/// `PATH`, `HOSTNAME` and `HOME` when not set. Returned in a stable order. Pure.
///
/// # Errors
/// [`EnvError`] for a missing non-optional reference or an unsupported field.
pub fn container_env(
    pod: &Pod,
    c: &Container,
    image_env: &BTreeMap<String, String>,
    facts: &PodFacts,
    sources: &Sources,
    hostname: &str,
    uid: u32,
) -> Result<Vec<(String, String)>, EnvError> {
    let mut env: Vec<(String, String)> = Vec::new();
    let set = |env: &mut Vec<(String, String)>, k: String, v: String| {
        if let Some(slot) = env.iter_mut().find(|(n, _)| *n == k) {
            slot.1 = v;
        } else {
            env.push((k, v));
        }
    };
    // Kubelet's own variables, then what the container asks for.
    let mut own: Vec<(String, String)> = Vec::new();
    for (k, v) in [
        ("KUBERNETES_SERVICE_HOST", "10.96.0.1"),
        ("KUBERNETES_SERVICE_PORT", "443"),
        ("KUBERNETES_SERVICE_PORT_HTTPS", "443"),
        ("KUBERNETES_PORT", "tcp://10.96.0.1:443"),
        ("KUBERNETES_PORT_443_TCP", "tcp://10.96.0.1:443"),
        ("KUBERNETES_PORT_443_TCP_PROTO", "tcp"),
        ("KUBERNETES_PORT_443_TCP_PORT", "443"),
        ("KUBERNETES_PORT_443_TCP_ADDR", "10.96.0.1"),
    ] {
        own.push((k.to_owned(), v.to_owned()));
    }
    for from in c.env_from.iter().flatten() {
        let prefix = from.prefix.clone().unwrap_or_default();
        if let Some(r) = &from.config_map_ref {
            match sources.config_maps.get(&r.name) {
                Some(data) => {
                    for (k, v) in data {
                        set(&mut own, format!("{prefix}{k}"), v.clone());
                    }
                }
                None if r.optional == Some(true) => {}
                None => {
                    return Err(EnvError::Missing {
                        kind: "configmap",
                        name: r.name.clone(),
                        key: None,
                    });
                }
            }
        }
        if let Some(r) = &from.secret_ref {
            match sources.secrets.get(&r.name) {
                Some(data) => {
                    for (k, v) in data {
                        set(
                            &mut own,
                            format!("{prefix}{k}"),
                            String::from_utf8_lossy(v).into_owned(),
                        );
                    }
                }
                None if r.optional == Some(true) => {}
                None => {
                    return Err(EnvError::Missing {
                        kind: "secret",
                        name: r.name.clone(),
                        key: None,
                    });
                }
            }
        }
    }
    for e in c.env.iter().flatten() {
        let value = if let Some(vf) = &e.value_from {
            if let Some(f) = &vf.field_ref {
                Some(field_value(pod, facts, &f.field_path)?)
            } else if let Some(r) = &vf.resource_field_ref {
                Some(resource_value(
                    c,
                    facts,
                    &r.resource,
                    r.divisor.as_ref().map(|d| d.0.as_str()),
                ))
            } else if let Some(r) = &vf.config_map_key_ref {
                match sources.config_maps.get(&r.name).and_then(|d| d.get(&r.key)) {
                    Some(v) => Some(v.clone()),
                    None if r.optional == Some(true) => None,
                    None => {
                        return Err(EnvError::Missing {
                            kind: "configmap",
                            name: r.name.clone(),
                            key: Some(r.key.clone()),
                        });
                    }
                }
            } else if let Some(r) = &vf.secret_key_ref {
                match sources.secrets.get(&r.name).and_then(|d| d.get(&r.key)) {
                    Some(v) => Some(String::from_utf8_lossy(v).into_owned()),
                    None if r.optional == Some(true) => None,
                    None => {
                        return Err(EnvError::Missing {
                            kind: "secret",
                            name: r.name.clone(),
                            key: Some(r.key.clone()),
                        });
                    }
                }
            } else {
                None
            }
        } else {
            let so_far = own.clone();
            let lookup = move |n: &str| so_far.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
            Some(expand(e.value.as_deref().unwrap_or_default(), &lookup))
        };
        if let Some(v) = value {
            set(&mut own, e.name.clone(), v);
        }
    }
    for (k, v) in image_env {
        set(&mut env, k.clone(), v.clone());
    }
    for (k, v) in own {
        set(&mut env, k, v);
    }
    let defaults = [
        (
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_owned(),
        ),
        ("HOSTNAME", hostname.to_owned()),
        (
            "HOME",
            if uid == 0 {
                "/root".to_owned()
            } else {
                "/".to_owned()
            },
        ),
    ];
    for (k, v) in defaults {
        if !env.iter().any(|(n, _)| n == k) {
            env.insert(0, (k.to_owned(), v));
        }
    }
    Ok(env)
}

/// `command`/`args` with `$(VAR)` expanded against the final environment. Pure.
#[must_use]
pub fn expand_all(items: &[String], env: &[(String, String)]) -> Vec<String> {
    let lookup = |n: &str| env.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    items.iter().map(|s| expand(s, &lookup)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "web-0", "namespace": "ns1", "uid": "u-1",
                         "labels": {"app": "web", "x": "1"}},
            "spec": {"nodeName": "devenv-node-a", "containers": [{
                "name": "c", "image": "busybox",
                "resources": {"limits": {"memory": "1Gi"}},
                "envFrom": [{"configMapRef": {"name": "cm"}, "prefix": "CM_"}],
                "env": [
                    {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                    {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
                    {"name": "GREETING", "value": "hi $(POD_NAME) $$(POD_NAME) $(NOPE)"},
                    {"name": "KEY", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k"}}},
                    {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "s", "key": "pw"}}},
                    {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
                    {"name": "MEM_BYTES", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "0"}}},
                    {"name": "OPT", "valueFrom": {"configMapKeyRef": {"name": "gone", "key": "k", "optional": true}}}
                ]}]}
        }))
        .expect("pod")
    }

    fn facts() -> PodFacts {
        PodFacts {
            pod_ip: "10.244.0.12".into(),
            host_ip: "10.244.0.1".into(),
            node_cpu: 2,
            node_memory: 24 << 30,
        }
    }

    fn sources() -> Sources {
        let mut s = Sources::default();
        s.config_maps
            .insert("cm".into(), [("k".to_owned(), "v".to_owned())].into());
        s.secrets
            .insert("s".into(), [("pw".to_owned(), b"secret".to_vec())].into());
        s
    }

    #[test]
    fn env_follows_kubelet() {
        let p = pod();
        let c = &p.spec.as_ref().expect("spec").containers[0];
        let image_env = [
            ("JAVA_HOME".to_owned(), "/j".to_owned()),
            ("APP".to_owned(), "img".to_owned()),
        ]
        .into();
        let env = container_env(&p, c, &image_env, &facts(), &sources(), "web-0", 0).expect("env");
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("POD_NAME"), Some("web-0"));
        assert_eq!(get("POD_IP"), Some("10.244.0.12"));
        assert_eq!(get("APP"), Some("web"));
        assert_eq!(get("GREETING"), Some("hi web-0 $(POD_NAME) $(NOPE)"));
        assert_eq!(get("KEY"), Some("v"));
        assert_eq!(get("CM_k"), Some("v"));
        assert_eq!(get("PW"), Some("secret"));
        assert_eq!(get("MEM"), Some("1024"));
        // The API server's default divisor "0" means bytes.
        assert_eq!(get("MEM_BYTES"), Some("1073741824"));
        assert_eq!(get("OPT"), None);
        assert_eq!(get("JAVA_HOME"), Some("/j"));
        assert_eq!(get("HOSTNAME"), Some("web-0"));
        assert_eq!(get("HOME"), Some("/root"));
        assert!(get("PATH").is_some_and(|p| p.contains("/usr/bin")));
        assert_eq!(get("KUBERNETES_SERVICE_HOST"), Some("10.96.0.1"));
        assert_eq!(
            expand_all(&["--name=$(POD_NAME)".to_owned()], &env),
            vec!["--name=web-0".to_owned()]
        );
    }

    #[test]
    fn a_missing_reference_is_an_error_unless_optional() {
        let p = pod();
        let c = &p.spec.as_ref().expect("spec").containers[0];
        let err = container_env(
            &p,
            c,
            &BTreeMap::new(),
            &facts(),
            &Sources::default(),
            "h",
            0,
        );
        assert_eq!(
            err,
            Err(EnvError::Missing {
                kind: "configmap",
                name: "cm".into(),
                key: None
            })
        );
    }

    #[test]
    fn expansion_edge_cases() {
        let v = |n: &str| (n == "A").then(|| "1".to_owned());
        for (i, want) in [
            ("$(A)", "1"),
            ("x$(A)y", "x1y"),
            ("$$(A)", "$(A)"),
            ("$(B)", "$(B)"),
            ("$(A", "$(A"),
            ("$", "$"),
            ("a$b", "a$b"),
            ("", ""),
        ] {
            assert_eq!(expand(i, &v), want, "{i}");
        }
    }

    #[test]
    fn quantities() {
        assert!((parse_quantity("500m") - 0.5).abs() < 1e-9);
        assert!((parse_quantity("1Gi") - 1073741824.0).abs() < 1.0);
        assert!((parse_quantity("2") - 2.0).abs() < 1e-9);
        assert!((parse_quantity("1e3") - 1000.0).abs() < 1e-9);
    }
}
