//! Leader election through a `coordination.k8s.io/v1` Lease: only the holder acts.
//!
//! The decision — create, renew, take over or follow, given the Lease as observed, our
//! identity and the time — is the pure [`decide`]; [`Elector`] is the thin loop that reads the
//! Lease and writes it back with optimistic concurrency (`resourceVersion` on replace, so of
//! two candidates writing at once exactly one wins). A leader that cannot renew within the
//! renew deadline stops: the caller exits the process, and a restarted process starts as a
//! candidate again.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::Api;
use kube::api::PostParams;

/// A Lease could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    /// Reading the Lease failed.
    #[error("reading Lease {name}: {source}")]
    Get {
        /// The Lease.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Writing the Lease failed (other than losing a race).
    #[error("writing Lease {name}: {source}")]
    Write {
        /// The Lease.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// The API did not answer within the renew period.
    #[error("the API did not answer within {0:?}")]
    Timeout(Duration),
}

/// What to do with the Lease as observed.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// There is no Lease: create it, held by us.
    Create(LeaseSpec),
    /// We hold it: write a new renew time.
    Renew(LeaseSpec),
    /// Nobody holds it, or the holder let it expire: take it over.
    TakeOver(LeaseSpec),
    /// Another candidate holds a valid Lease.
    Follow {
        /// The holder's identity.
        holder: String,
        /// When the Lease expires unless renewed.
        expires: Timestamp,
    },
}

/// The decision for candidate `identity` at `now`, given the Lease's spec as observed (`None`
/// when there is no Lease). A Lease without a duration counts as lasting `lease_duration`.
pub fn decide(
    observed: Option<&LeaseSpec>,
    identity: &str,
    now: Timestamp,
    lease_duration: Duration,
) -> Decision {
    let seconds = i32::try_from(lease_duration.as_secs()).unwrap_or(i32::MAX);
    let ours = |acquire: Timestamp, transitions: i32| LeaseSpec {
        holder_identity: Some(identity.to_owned()),
        lease_duration_seconds: Some(seconds),
        acquire_time: Some(MicroTime(acquire)),
        renew_time: Some(MicroTime(now)),
        lease_transitions: Some(transitions),
        ..LeaseSpec::default()
    };
    let Some(spec) = observed else {
        return Decision::Create(ours(now, 0));
    };
    let transitions = spec.lease_transitions.unwrap_or(0);
    let holder = spec.holder_identity.clone().unwrap_or_default();
    if holder == identity {
        let acquired = spec.acquire_time.as_ref().map_or(now, |t| t.0);
        return Decision::Renew(ours(acquired, transitions));
    }
    let duration = spec
        .lease_duration_seconds
        .filter(|s| *s > 0)
        .unwrap_or(seconds);
    let renewed = spec
        .renew_time
        .as_ref()
        .or(spec.acquire_time.as_ref())
        .map(|t| t.0);
    let expires = renewed.map(|t| t + SignedDuration::from_secs(i64::from(duration)));
    match expires {
        Some(expires) if !holder.is_empty() && expires > now => {
            Decision::Follow { holder, expires }
        }
        _ => Decision::TakeOver(ours(now, transitions.saturating_add(1))),
    }
}

/// The spec that gives the Lease up (empty holder, 1 s duration) if `identity` holds it, so a
/// follower takes over at its next attempt instead of waiting out the duration.
pub fn release(observed: &LeaseSpec, identity: &str, now: Timestamp) -> Option<LeaseSpec> {
    (observed.holder_identity.as_deref() == Some(identity)).then(|| LeaseSpec {
        holder_identity: None,
        lease_duration_seconds: Some(1),
        renew_time: Some(MicroTime(now)),
        ..observed.clone()
    })
}

/// A unique identity for this process: the host name plus a random suffix.
pub fn default_identity() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "navigator-controller".to_owned());
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}_{}", &suffix[..8])
}

/// Runs the election for one identity against one Lease.
#[derive(Clone)]
pub struct Elector {
    api: Api<Lease>,
    name: String,
    identity: String,
    lease_duration: Duration,
    renew_period: Duration,
}

/// The result of one attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// We hold the Lease (created, renewed or taken over).
    Leading,
    /// Someone else holds it, or won the race for it.
    Following(String),
}

impl Elector {
    /// An elector for Lease `name` in `api`'s namespace.
    pub fn new(
        api: Api<Lease>,
        name: String,
        identity: String,
        lease_duration: Duration,
        renew_period: Duration,
    ) -> Self {
        Elector {
            api,
            name,
            identity,
            lease_duration,
            renew_period,
        }
    }

    /// This candidate's identity.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// One read-decide-write round, bounded by the renew period (an API that does not answer
    /// in time counts as a failed round).
    pub async fn attempt(&self) -> Result<Attempt, LeaderError> {
        tokio::time::timeout(self.renew_period, self.attempt_unbounded())
            .await
            .unwrap_or(Err(LeaderError::Timeout(self.renew_period)))
    }

    /// The Lease as the API has it now (`None` when it does not exist).
    async fn current(&self) -> Result<Option<Lease>, LeaderError> {
        self.api
            .get_opt(&self.name)
            .await
            .map_err(|source| LeaderError::Get {
                name: self.name.clone(),
                source,
            })
    }

    async fn attempt_unbounded(&self) -> Result<Attempt, LeaderError> {
        let current = self.current().await?;
        let decision = decide(
            current.as_ref().and_then(|l| l.spec.as_ref()),
            &self.identity,
            Timestamp::now(),
            self.lease_duration,
        );
        let written = match decision {
            Decision::Follow { holder, .. } => return Ok(Attempt::Following(holder)),
            Decision::Create(spec) => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.name.clone()),
                        ..ObjectMeta::default()
                    },
                    spec: Some(spec),
                };
                self.api.create(&PostParams::default(), &lease).await
            }
            Decision::Renew(spec) | Decision::TakeOver(spec) => {
                let mut lease = current.unwrap_or_default();
                lease.spec = Some(spec);
                // The resourceVersion read above makes the replace conditional.
                self.api
                    .replace(&self.name, &PostParams::default(), &lease)
                    .await
            }
        };
        match written {
            Ok(_) => Ok(Attempt::Leading),
            Err(kube::Error::Api(e)) if e.code == 409 => {
                Ok(Attempt::Following("(lost the race)".to_owned()))
            }
            Err(source) => Err(LeaderError::Write {
                name: self.name.clone(),
                source,
            }),
        }
    }

    /// Waits until this candidate holds the Lease.
    pub async fn acquire(&self) {
        let mut last_holder = String::new();
        loop {
            match self.attempt().await {
                Ok(Attempt::Leading) => {
                    tracing::info!(lease = %self.name, identity = %self.identity, "acquired the Lease: leading");
                    return;
                }
                Ok(Attempt::Following(holder)) => {
                    if holder != last_holder {
                        tracing::info!(lease = %self.name, %holder, "another controller leads: waiting");
                        last_holder = holder;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "leader election"),
            }
            tokio::time::sleep(self.renew_period).await;
        }
    }

    /// Renews the Lease every renew period; returns (with why) when leadership is lost: another
    /// holder took it, or no renewal succeeded within the renew deadline (lease duration minus
    /// one renew period).
    pub async fn hold(&self) -> String {
        let deadline = self.lease_duration.saturating_sub(self.renew_period);
        let mut last_renewed = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(self.renew_period).await;
            match self.attempt().await {
                Ok(Attempt::Leading) => last_renewed = tokio::time::Instant::now(),
                Ok(Attempt::Following(holder)) => {
                    return format!("the Lease is held by {holder}");
                }
                Err(e) => tracing::warn!(error = %e, "renewing the Lease"),
            }
            if last_renewed.elapsed() > deadline {
                return format!("no renewal succeeded for {deadline:?}");
            }
        }
    }

    /// Gives the Lease up if this candidate holds it (at shutdown).
    pub async fn release(&self) -> Result<(), LeaderError> {
        let current = self.current().await?;
        let Some(mut lease) = current else {
            return Ok(());
        };
        let Some(spec) = lease
            .spec
            .as_ref()
            .and_then(|s| release(s, &self.identity, Timestamp::now()))
        else {
            return Ok(());
        };
        lease.spec = Some(spec);
        self.api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
            .map_err(|source| LeaderError::Write {
                name: self.name.clone(),
                source,
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).unwrap()
    }

    fn held(
        holder: &str,
        acquired: i64,
        renewed: i64,
        duration: i32,
        transitions: i32,
    ) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.to_owned()),
            lease_duration_seconds: Some(duration),
            acquire_time: Some(MicroTime(at(acquired))),
            renew_time: Some(MicroTime(at(renewed))),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    const D: Duration = Duration::from_secs(15);

    #[test]
    fn lease_decisions() {
        let cases: Vec<(&str, Option<LeaseSpec>, i64, Decision)> = vec![
            (
                "no lease: create",
                None,
                0,
                Decision::Create(held("me", 0, 0, 15, 0)),
            ),
            (
                "ours: renew, keeping acquire time and transitions",
                Some(held("me", -100, -5, 15, 3)),
                0,
                Decision::Renew(held("me", -100, 0, 15, 3)),
            ),
            (
                "ours even if expired: renew",
                Some(held("me", -100, -60, 15, 3)),
                0,
                Decision::Renew(held("me", -100, 0, 15, 3)),
            ),
            (
                "other holder, valid: follow",
                Some(held("other", -100, -5, 15, 1)),
                0,
                Decision::Follow {
                    holder: "other".into(),
                    expires: at(10),
                },
            ),
            (
                "other holder, expires exactly now: take over",
                Some(held("other", -100, -15, 15, 1)),
                0,
                Decision::TakeOver(held("me", 0, 0, 15, 2)),
            ),
            (
                "other holder, expired: take over",
                Some(held("other", -100, -16, 15, 1)),
                0,
                Decision::TakeOver(held("me", 0, 0, 15, 2)),
            ),
            (
                "other holder with a longer duration of its own: follow",
                Some(held("other", -100, -20, 60, 1)),
                0,
                Decision::Follow {
                    holder: "other".into(),
                    expires: at(40),
                },
            ),
            (
                "released (no holder): take over",
                Some(LeaseSpec {
                    holder_identity: None,
                    ..held("x", -100, -1, 1, 4)
                }),
                0,
                Decision::TakeOver(held("me", 0, 0, 15, 5)),
            ),
            (
                "empty holder string: take over",
                Some(held("", -100, -1, 15, 0)),
                0,
                Decision::TakeOver(held("me", 0, 0, 15, 1)),
            ),
            (
                "no times at all: take over",
                Some(LeaseSpec {
                    holder_identity: Some("other".into()),
                    ..LeaseSpec::default()
                }),
                0,
                Decision::TakeOver(held("me", 0, 0, 15, 1)),
            ),
            (
                "only an acquire time, recent: follow",
                Some(LeaseSpec {
                    holder_identity: Some("other".into()),
                    acquire_time: Some(MicroTime(at(-3))),
                    lease_duration_seconds: Some(15),
                    ..LeaseSpec::default()
                }),
                0,
                Decision::Follow {
                    holder: "other".into(),
                    expires: at(12),
                },
            ),
        ];
        for (name, observed, now, want) in cases {
            assert_eq!(decide(observed.as_ref(), "me", at(now), D), want, "{name}");
        }
    }

    #[test]
    fn release_only_gives_up_our_own_lease() {
        let ours = held("me", -100, -1, 15, 2);
        let released = release(&ours, "me", at(0)).unwrap();
        assert_eq!(released.holder_identity, None);
        assert_eq!(released.lease_duration_seconds, Some(1));
        assert_eq!(released.lease_transitions, Some(2));
        // After a release, another candidate takes over at once.
        assert!(matches!(
            decide(Some(&released), "other", at(2), D),
            Decision::TakeOver(_)
        ));
        assert_eq!(release(&held("other", 0, 0, 15, 0), "me", at(0)), None);
    }

    #[test]
    fn identities_are_unique() {
        let a = default_identity();
        let b = default_identity();
        assert_ne!(a, b);
        assert!(a.contains('_'), "{a}");
    }
}
