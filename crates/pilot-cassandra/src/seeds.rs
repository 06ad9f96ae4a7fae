//! The node's seeds: the addresses behind the cluster's seeds Service (DNS), or, for the
//! cluster's first pod when nothing resolves yet, the pod's own address, so that the first
//! node can form the ring on its own. Any other pod waits for the Service instead of
//! starting a second ring.

use std::net::IpAddr;

/// What to do about the seeds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SeedDecision {
    /// Start with these seeds (sorted, no duplicates, never empty).
    Use(Vec<IpAddr>),
    /// Nothing resolved and this pod may not seed itself: look again later.
    Wait(String),
}

/// Decides the seeds from what the seeds Service name resolved to.
///
/// `pod_name` decides whether this pod is the cluster's first (a StatefulSet ordinal of 0).
pub fn decide(service: &str, resolved: &[IpAddr], pod_name: &str, own: IpAddr) -> SeedDecision {
    if !resolved.is_empty() {
        let mut seeds = resolved.to_vec();
        seeds.sort();
        seeds.dedup();
        return SeedDecision::Use(seeds);
    }
    if is_first_pod(pod_name) {
        return SeedDecision::Use(vec![own]);
    }
    SeedDecision::Wait(format!(
        "the seeds Service {service} has no addresses yet, and {pod_name} is not the \
         cluster's first pod, so it does not seed itself"
    ))
}

/// Whether a StatefulSet pod name has the ordinal 0 (`cass-dc1-0`).
pub fn is_first_pod(pod_name: &str) -> bool {
    pod_name
        .rsplit_once('-')
        .is_some_and(|(_, ordinal)| ordinal == "0")
}

/// The addresses `service` resolves to now (empty when it does not resolve).
pub async fn resolve(service: &str) -> Vec<IpAddr> {
    match tokio::net::lookup_host((service, 0)).await {
        Ok(addrs) => addrs.map(|a| a.ip()).collect(),
        Err(err) => {
            tracing::debug!(%service, %err, "seeds Service does not resolve yet");
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        [10, 0, 0, last].into()
    }

    #[test]
    fn seeds_come_from_the_service_then_the_first_pod_itself() {
        let svc = "demo-seeds.ns.svc.cluster.local";
        let cases = [
            (
                vec![ip(7), ip(3), ip(7)],
                "demo-dc1-2",
                SeedDecision::Use(vec![ip(3), ip(7)]),
            ),
            (vec![ip(3)], "demo-dc1-0", SeedDecision::Use(vec![ip(3)])),
            (vec![], "demo-dc1-0", SeedDecision::Use(vec![ip(9)])),
            (
                vec![],
                "demo-dc1-1",
                SeedDecision::Wait(
                    "the seeds Service demo-seeds.ns.svc.cluster.local has no addresses yet, \
                     and demo-dc1-1 is not the cluster's first pod, so it does not seed itself"
                        .into(),
                ),
            ),
        ];
        for (resolved, pod, want) in cases {
            assert_eq!(
                decide(svc, &resolved, pod, ip(9)),
                want,
                "{pod} {resolved:?}"
            );
        }
    }

    #[test]
    fn first_pod_is_ordinal_zero() {
        for (name, first) in [
            ("cass-0", true),
            ("cass-dc1-0", true),
            ("cass-10", false),
            ("cass-1", false),
            ("cass", false),
            ("cass-00", false),
        ] {
            assert_eq!(is_first_pod(name), first, "{name}");
        }
    }

    #[tokio::test]
    async fn localhost_resolves_and_a_bogus_name_does_not() {
        assert!(!resolve("localhost").await.is_empty());
        assert!(resolve("no-such-seeds.invalid").await.is_empty());
    }
}
