//! Who this pilot is, from the downward API: the pod's name, namespace and IP, and the
//! container's memory limit. A pure parser over a variable lookup, and a thin reader of the
//! process environment.

use navigator_api::pilot_contract::{ENV_POD_NAME, ENV_POD_NAMESPACE};

use crate::adapter::Identity;

/// Environment variable carrying the pod's IP (`fieldRef: status.podIP`).
pub const ENV_POD_IP: &str = "POD_IP";
/// Environment variable carrying the container's memory limit in bytes
/// (`resourceFieldRef: limits.memory`); a Kubernetes quantity such as `2Gi` is accepted too.
pub const ENV_MEMORY_LIMIT: &str = "MEMORY_LIMIT";

/// The downward API did not say who this pilot is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// A required variable is unset or empty.
    #[error("{0} is not set: give the pilot container this variable from the downward API")]
    Missing(&'static str),
    /// `POD_IP` is not an IP address.
    #[error("{ENV_POD_IP}={0:?} is not an IP address")]
    BadPodIp(String),
    /// `MEMORY_LIMIT` is neither a byte count nor a quantity.
    #[error("{ENV_MEMORY_LIMIT}={0:?} is not a byte count or a Kubernetes quantity")]
    BadMemoryLimit(String),
}

/// Reads the identity through `var` (a lookup such as the process environment).
pub fn identity_from(var: impl Fn(&str) -> Option<String>) -> Result<Identity, IdentityError> {
    let required = |name: &'static str| {
        var(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .ok_or(IdentityError::Missing(name))
    };
    let pod_name = required(ENV_POD_NAME)?;
    let namespace = required(ENV_POD_NAMESPACE)?;
    let ip = required(ENV_POD_IP)?;
    let pod_ip = ip.parse().map_err(|_| IdentityError::BadPodIp(ip))?;
    let memory_limit_bytes = match var(ENV_MEMORY_LIMIT).map(|v| v.trim().to_owned()) {
        None => None,
        Some(v) if v.is_empty() => None,
        Some(v) => parse_memory_limit(&v).ok_or(IdentityError::BadMemoryLimit(v))?,
    };
    Ok(Identity {
        pod_name,
        namespace,
        pod_ip,
        memory_limit_bytes,
    })
}

/// Reads the identity from the process environment.
pub fn identity_from_env() -> Result<Identity, IdentityError> {
    identity_from(|name| std::env::var(name).ok())
}

/// A memory limit: a byte count, or a quantity (`512Mi`, `2Gi`). Zero means "no limit".
/// `None` when the text is neither; `Some(None)` for zero.
fn parse_memory_limit(text: &str) -> Option<Option<u64>> {
    let bytes = match text.parse::<u64>() {
        Ok(bytes) => bytes,
        Err(_) => {
            let q = navigator_api::quantity::parse_quantity(text).ok()?;
            if q.negative || !q.approx.is_finite() {
                return None;
            }
            // Quantities below a byte round down; the float is exact for every realistic limit.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let bytes = q.approx.floor() as u64;
            bytes
        }
    };
    Some((bytes > 0).then_some(bytes))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    const BASE: [(&str, &str); 3] = [
        ("POD_NAME", "cass-demo-a-0"),
        ("POD_NAMESPACE", "db"),
        ("POD_IP", "10.4.0.7"),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut pairs: Vec<_> = BASE
            .iter()
            .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
            .copied()
            .collect();
        pairs.extend(extra.iter().filter(|(_, v)| *v != "<unset>").copied());
        pairs
    }

    #[test]
    fn table() {
        let ok = |limit: Option<u64>| {
            Ok(Identity {
                pod_name: "cass-demo-a-0".into(),
                namespace: "db".into(),
                pod_ip: "10.4.0.7".parse().unwrap(),
                memory_limit_bytes: limit,
            })
        };
        type Case = (
            &'static str,
            Vec<(&'static str, &'static str)>,
            Result<Identity, IdentityError>,
        );
        let cases: Vec<Case> = vec![
            ("no memory limit", with(&[]), ok(None)),
            (
                "bytes",
                with(&[("MEMORY_LIMIT", "2147483648")]),
                ok(Some(2 << 30)),
            ),
            (
                "quantity",
                with(&[("MEMORY_LIMIT", "512Mi")]),
                ok(Some(512 << 20)),
            ),
            ("zero is no limit", with(&[("MEMORY_LIMIT", "0")]), ok(None)),
            (
                "empty is no limit",
                with(&[("MEMORY_LIMIT", " ")]),
                ok(None),
            ),
            (
                "bad limit",
                with(&[("MEMORY_LIMIT", "lots")]),
                Err(IdentityError::BadMemoryLimit("lots".into())),
            ),
            (
                "no name",
                with(&[("POD_NAME", "<unset>")]),
                Err(IdentityError::Missing("POD_NAME")),
            ),
            (
                "empty namespace",
                with(&[("POD_NAMESPACE", "")]),
                Err(IdentityError::Missing("POD_NAMESPACE")),
            ),
            (
                "no ip",
                with(&[("POD_IP", "<unset>")]),
                Err(IdentityError::Missing("POD_IP")),
            ),
            (
                "bad ip",
                with(&[("POD_IP", "10.4.0")]),
                Err(IdentityError::BadPodIp("10.4.0".into())),
            ),
        ];
        for (name, pairs, want) in cases {
            assert_eq!(identity_from(env(&pairs)), want, "{name}");
        }
        let v6 = identity_from(env(&with(&[("POD_IP", "fd00::7")]))).unwrap();
        assert!(v6.pod_ip.is_ipv6());
    }
}
