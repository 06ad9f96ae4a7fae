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

/// Reads the identity from the process environment. A memory limit above the machine's memory
/// (no limit set and a broken downward API, or a limit larger than the node) is taken as the
/// machine's memory, so a database is never sized for memory that does not exist.
pub fn identity_from_env() -> Result<Identity, IdentityError> {
    let mut identity = identity_from(|name| std::env::var(name).ok())?;
    let host = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| mem_total_bytes(&t));
    let limit = effective_memory_limit(identity.memory_limit_bytes, host);
    if limit != identity.memory_limit_bytes {
        tracing::warn!(
            given = ?identity.memory_limit_bytes,
            host = ?host,
            "the memory limit exceeds the machine's memory: using the machine's"
        );
    }
    identity.memory_limit_bytes = limit;
    Ok(identity)
}

/// The memory limit to size the database by: `limit`, but never above the machine's memory
/// `host` (when known). Pure.
pub fn effective_memory_limit(limit: Option<u64>, host: Option<u64>) -> Option<u64> {
    match (limit, host) {
        (Some(limit), Some(host)) => Some(limit.min(host)),
        (limit, _) => limit,
    }
}

/// `MemTotal` of `/proc/meminfo`'s text, in bytes. Pure.
pub fn mem_total_bytes(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
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

    #[test]
    fn memory_limits_never_exceed_the_machine() {
        let gib = 1u64 << 30;
        let cases = [
            (Some(2 * gib), Some(24 * gib), Some(2 * gib)),
            (Some(i64::MAX as u64), Some(24 * gib), Some(24 * gib)),
            (Some(2 * gib), None, Some(2 * gib)),
            (None, Some(24 * gib), None),
        ];
        for (limit, host, want) in cases {
            assert_eq!(
                effective_memory_limit(limit, host),
                want,
                "{limit:?} {host:?}"
            );
        }
        let meminfo = "MemTotal:       24576000 kB\nMemFree:         1000 kB\n";
        assert_eq!(mem_total_bytes(meminfo), Some(24_576_000 * 1024));
        assert_eq!(mem_total_bytes("MemFree: 1 kB\n"), None);
    }
}
