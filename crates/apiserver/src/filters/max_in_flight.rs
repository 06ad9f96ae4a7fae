//! Limits on requests in flight (Go's `server/filters/maxinflight.go`, kube-apiserver's
//! `--max-requests-inflight` and `--max-mutating-requests-inflight`): read-only and mutating
//! requests each take a slot from their own pool while they are served; long-running requests
//! (watches, and the subresources Go counts as long-running) take none. A request finding its
//! pool full is answered 429 with `Retry-After: 1` at once, not queued, unless its user is in
//! `system:masters` (Go lets the super-user through so it can always repair a server).
//!
//! [`request_kind`] and [`exempt`] are the pure decisions; [`MaxInFlight::admit`] holds the
//! pools.

use std::sync::Arc;

use apimachinery::registry::UserInfo;
use apimachinery::status::ApiError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::auth::SYSTEM_MASTERS;
use crate::request_info::{ParsedRequest, RequestInfo, Verb};

/// kube-apiserver's default `--max-requests-inflight`.
pub const DEFAULT_MAX_REQUESTS_INFLIGHT: usize = 400;
/// kube-apiserver's default `--max-mutating-requests-inflight`.
pub const DEFAULT_MAX_MUTATING_REQUESTS_INFLIGHT: usize = 200;
/// Seconds a refused client is asked to wait (Go's constant).
pub const RETRY_AFTER_SECONDS: i32 = 1;
/// Go's message for a refused request.
pub const TOO_MANY_REQUESTS: &str = "Too many requests, please try again later.";

/// Subresources Go's `BasicLongRunningRequestCheck` counts as long-running.
const LONG_RUNNING_SUBRESOURCES: [&str; 5] = ["attach", "exec", "proxy", "log", "portforward"];

/// Which pool a request draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// Watches and streaming subresources: never limited.
    LongRunning,
    /// `get`, `list` (and non-resource GETs).
    ReadOnly,
    /// Everything else, including non-resource requests with other methods, as in Go.
    Mutating,
}

impl RequestKind {
    /// The `request_kind` label Go's metrics use.
    pub fn label(self) -> &'static str {
        match self {
            Self::LongRunning => "longRunning",
            Self::ReadOnly => "readOnly",
            Self::Mutating => "mutating",
        }
    }
}

/// The pool of a request (Go: long-running by verb `watch`/`proxy` or subresource; read-only
/// for the verbs `get`, `list`, `watch`; mutating otherwise).
pub fn request_kind(parsed: &ParsedRequest) -> RequestKind {
    match parsed {
        ParsedRequest::MethodNotSupported(_) => RequestKind::Mutating,
        ParsedRequest::Ok(RequestInfo::Resource(r)) => {
            if r.verb == Verb::Watch
                || r.subresource
                    .as_deref()
                    .is_some_and(|s| LONG_RUNNING_SUBRESOURCES.contains(&s))
            {
                RequestKind::LongRunning
            } else if r.verb.is_mutating() {
                RequestKind::Mutating
            } else {
                RequestKind::ReadOnly
            }
        }
        ParsedRequest::Ok(RequestInfo::NonResource { verb, .. }) => match verb.as_str() {
            "get" | "list" | "watch" => RequestKind::ReadOnly,
            _ => RequestKind::Mutating,
        },
    }
}

/// Whether `user` is served even when its pool is full (`system:masters`).
pub fn exempt(user: &UserInfo) -> bool {
    user.groups.iter().any(|g| g == SYSTEM_MASTERS)
}

/// A request refused because its pool is full.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{TOO_MANY_REQUESTS}")]
pub struct TooManyRequests {
    /// The full pool.
    pub kind: RequestKind,
}

impl TooManyRequests {
    /// 429 `TooManyRequests` with `retryAfterSeconds: 1` (and so a `Retry-After: 1` header).
    pub fn to_api_error(&self) -> ApiError {
        ApiError::TooManyRequests {
            message: TOO_MANY_REQUESTS.to_owned(),
            retry_after_seconds: RETRY_AFTER_SECONDS,
        }
    }
}

/// Held while a request is served; frees its slot when dropped.
#[derive(Debug)]
pub enum Slot {
    /// The request is not counted (long-running, or its pool is unlimited).
    Untracked,
    /// The pool was full, but the user is exempt.
    Exempt,
    /// One slot of a pool.
    Held(OwnedSemaphorePermit),
}

/// The two pools; a limit of 0 leaves that kind unlimited.
#[derive(Debug, Clone)]
pub struct MaxInFlight {
    read_only: Option<Arc<Semaphore>>,
    mutating: Option<Arc<Semaphore>>,
}

impl Default for MaxInFlight {
    /// kube-apiserver's defaults: 400 read-only, 200 mutating.
    fn default() -> Self {
        Self::new(
            DEFAULT_MAX_REQUESTS_INFLIGHT,
            DEFAULT_MAX_MUTATING_REQUESTS_INFLIGHT,
        )
    }
}

impl MaxInFlight {
    /// Pools of `read_only` and `mutating` slots (0 = unlimited).
    pub fn new(read_only: usize, mutating: usize) -> Self {
        let pool = |n: usize| (n > 0).then(|| Arc::new(Semaphore::new(n)));
        Self {
            read_only: pool(read_only),
            mutating: pool(mutating),
        }
    }

    /// Takes a slot for a request of `kind` by `user`, without waiting.
    ///
    /// # Errors
    /// [`TooManyRequests`] when the pool is full and the user is not exempt.
    pub fn admit(&self, kind: RequestKind, user: &UserInfo) -> Result<Slot, TooManyRequests> {
        let pool = match kind {
            RequestKind::LongRunning => None,
            RequestKind::ReadOnly => self.read_only.as_ref(),
            RequestKind::Mutating => self.mutating.as_ref(),
        };
        let Some(pool) = pool else {
            return Ok(Slot::Untracked);
        };
        match Arc::clone(pool).try_acquire_owned() {
            Ok(permit) => Ok(Slot::Held(permit)),
            Err(_) if exempt(user) => Ok(Slot::Exempt),
            Err(_) => Err(TooManyRequests { kind }),
        }
    }
}

#[cfg(test)]
mod tests {
    use http::Method;

    use super::*;
    use crate::query::Query;
    use crate::request_info::parse_request_info;

    #[test]
    fn kinds_follow_go() {
        let b = "/apis/g.io/v1/namespaces/ns/things";
        let cases = [
            ("GET", format!("{b}/a"), "", RequestKind::ReadOnly),
            ("HEAD", format!("{b}/a"), "", RequestKind::ReadOnly),
            ("GET", b.to_owned(), "", RequestKind::ReadOnly),
            ("GET", b.to_owned(), "watch=true", RequestKind::LongRunning),
            (
                "GET",
                "/apis/g.io/v1/watch/things".to_owned(),
                "",
                RequestKind::LongRunning,
            ),
            ("POST", b.to_owned(), "", RequestKind::Mutating),
            ("PUT", format!("{b}/a/status"), "", RequestKind::Mutating),
            ("PATCH", format!("{b}/a"), "", RequestKind::Mutating),
            ("DELETE", b.to_owned(), "", RequestKind::Mutating),
            ("GET", format!("{b}/a/log"), "", RequestKind::LongRunning),
            ("POST", format!("{b}/a/exec"), "", RequestKind::LongRunning),
            ("OPTIONS", b.to_owned(), "", RequestKind::Mutating),
            ("GET", "/apis".to_owned(), "", RequestKind::ReadOnly),
            ("GET", "/healthz".to_owned(), "", RequestKind::ReadOnly),
            ("HEAD", "/healthz".to_owned(), "", RequestKind::Mutating),
            ("POST", "/metrics".to_owned(), "", RequestKind::Mutating),
        ];
        for (method, path, query, want) in cases {
            let m = Method::from_bytes(method.as_bytes()).unwrap();
            let parsed = parse_request_info(&m, &path, &Query::parse(query));
            assert_eq!(request_kind(&parsed), want, "{method} {path}?{query}");
        }
    }

    fn user(groups: &[&str]) -> UserInfo {
        UserInfo {
            name: "u".into(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            ..UserInfo::default()
        }
    }

    #[test]
    fn full_pools_refuse_all_but_masters_and_slots_come_back() {
        let limits = MaxInFlight::new(1, 2);
        let alice = user(&["system:authenticated"]);
        let read = limits.admit(RequestKind::ReadOnly, &alice).unwrap();
        assert!(matches!(read, Slot::Held(_)));
        let e = limits.admit(RequestKind::ReadOnly, &alice).unwrap_err();
        assert_eq!(e.kind, RequestKind::ReadOnly);
        let api = e.to_api_error();
        assert_eq!(
            (api.code(), api.reason(), api.message()),
            (429, "TooManyRequests", TOO_MANY_REQUESTS.to_owned())
        );
        let status = serde_json::to_value(api.to_status()).unwrap();
        assert_eq!(status["details"]["retryAfterSeconds"], 1);
        assert!(matches!(
            limits.admit(RequestKind::ReadOnly, &user(&[SYSTEM_MASTERS])),
            Ok(Slot::Exempt)
        ));
        // The mutating pool is separate; watches are never counted.
        let m1 = limits.admit(RequestKind::Mutating, &alice).unwrap();
        let _m2 = limits.admit(RequestKind::Mutating, &alice).unwrap();
        assert!(limits.admit(RequestKind::Mutating, &alice).is_err());
        assert!(matches!(
            limits.admit(RequestKind::LongRunning, &alice),
            Ok(Slot::Untracked)
        ));
        drop(read);
        drop(m1);
        assert!(limits.admit(RequestKind::ReadOnly, &alice).is_ok());
        assert!(limits.admit(RequestKind::Mutating, &alice).is_ok());
    }

    #[test]
    fn zero_is_unlimited() {
        let limits = MaxInFlight::new(0, 0);
        let alice = user(&[]);
        let slots: Vec<Slot> = (0..1000)
            .map(|_| limits.admit(RequestKind::Mutating, &alice).unwrap())
            .collect();
        assert!(slots.iter().all(|s| matches!(s, Slot::Untracked)));
        assert_eq!(RequestKind::ReadOnly.label(), "readOnly");
    }
}
