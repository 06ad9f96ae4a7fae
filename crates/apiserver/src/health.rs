//! `/healthz`, `/livez`, `/readyz` and `/<endpoint>/<check>` (Go's `apiserver/pkg/server/healthz`):
//! named checks from a pluggable list, `?verbose`, `?exclude=`, Go's exact text output.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::query::Query;

/// One named health check.
#[async_trait::async_trait]
pub trait HealthCheck: Send + Sync {
    /// The check's name, e.g. `etcd`, `poststarthook/start-informers`.
    fn name(&self) -> &str;

    /// Runs the check.
    ///
    /// # Errors
    /// A reason, logged by the server (clients see `reason withheld`, as in Go).
    async fn check(&self) -> Result<(), String>;
}

/// Which endpoints a check belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckScope {
    /// `/healthz`, `/livez` and `/readyz`.
    All,
    /// `/readyz` only (e.g. informer sync, shutdown).
    ReadyOnly,
}

/// The health endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/healthz`.
    Healthz,
    /// `/livez`.
    Livez,
    /// `/readyz`.
    Readyz,
}

impl Endpoint {
    /// The endpoint for a top-level path segment.
    pub fn from_segment(s: &str) -> Option<Self> {
        match s {
            "healthz" => Some(Self::Healthz),
            "livez" => Some(Self::Livez),
            "readyz" => Some(Self::Readyz),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Healthz => "healthz",
            Self::Livez => "livez",
            Self::Readyz => "readyz",
        }
    }
}

/// Always healthy (`[+]ping ok`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Ping;

#[async_trait::async_trait]
impl HealthCheck for Ping {
    fn name(&self) -> &str {
        "ping"
    }

    async fn check(&self) -> Result<(), String> {
        Ok(())
    }
}

/// `/readyz` `shutdown`: fails once the server has begun shutting down, so load balancers
/// stop sending new requests.
#[derive(Debug, Clone, Default)]
pub struct ShutdownCheck {
    shutting_down: Arc<AtomicBool>,
}

impl ShutdownCheck {
    /// Marks the server as shutting down.
    pub fn begin(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl HealthCheck for ShutdownCheck {
    fn name(&self) -> &str {
        "shutdown"
    }

    async fn check(&self) -> Result<(), String> {
        if self.shutting_down.load(Ordering::SeqCst) {
            Err("process is shutting down".to_owned())
        } else {
            Ok(())
        }
    }
}

/// The registered checks.
#[derive(Clone, Default)]
pub struct HealthChecks {
    checks: Vec<(Arc<dyn HealthCheck>, CheckScope)>,
}

impl std::fmt::Debug for HealthChecks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.checks.iter().map(|(c, s)| (c.name().to_owned(), *s)))
            .finish()
    }
}

/// A rendered health answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthResponse {
    /// 200, 404 (unknown check) or 500.
    pub code: u16,
    /// `text/plain` body.
    pub body: String,
}

impl HealthChecks {
    /// Adds a check.
    pub fn add(&mut self, check: Arc<dyn HealthCheck>, scope: CheckScope) {
        self.checks.push((check, scope));
    }

    /// The checks and their scopes, in registration order.
    pub fn into_checks(self) -> Vec<(Arc<dyn HealthCheck>, CheckScope)> {
        self.checks
    }

    fn for_endpoint(&self, endpoint: Endpoint) -> impl Iterator<Item = &Arc<dyn HealthCheck>> {
        self.checks
            .iter()
            .filter(move |(_, scope)| endpoint == Endpoint::Readyz || *scope == CheckScope::All)
            .map(|(c, _)| c)
    }

    /// Answers `/<endpoint>` or, with `check`, `/<endpoint>/<check>`.
    pub async fn respond(
        &self,
        endpoint: Endpoint,
        check: Option<&str>,
        query: &Query,
    ) -> HealthResponse {
        if let Some(name) = check {
            let Some(c) = self.for_endpoint(endpoint).find(|c| c.name() == name) else {
                return HealthResponse {
                    code: 404,
                    body: "404 page not found\n".to_owned(),
                };
            };
            return match c.check().await {
                Ok(()) => HealthResponse {
                    code: 200,
                    body: "ok".to_owned(),
                },
                Err(reason) => {
                    tracing::warn!(check = name, %reason, "health check failed");
                    HealthResponse {
                        code: 500,
                        body: format!("internal server error: {reason}\n"),
                    }
                }
            };
        }
        let excluded: Vec<&str> = query
            .get_all("exclude")
            .flat_map(|v| v.split(','))
            .filter(|v| !v.is_empty())
            .collect();
        let verbose = query.get("verbose").is_some();
        let mut lines = String::new();
        let mut failed = false;
        let mut matched = Vec::new();
        for c in self.for_endpoint(endpoint) {
            let name = c.name();
            if excluded.contains(&name) {
                matched.push(name.to_owned());
                lines.push_str(&format!("[+]{name} excluded: ok\n"));
                continue;
            }
            match c.check().await {
                Ok(()) => lines.push_str(&format!("[+]{name} ok\n")),
                Err(reason) => {
                    tracing::warn!(check = name, %reason, "health check failed");
                    failed = true;
                    lines.push_str(&format!("[-]{name} failed: reason withheld\n"));
                }
            }
        }
        let unmatched: Vec<String> = excluded
            .iter()
            .filter(|e| !matched.iter().any(|m| m == *e))
            .map(|e| apimachinery::status::go_quote(e))
            .collect();
        if !unmatched.is_empty() {
            lines.push_str(&format!(
                "warn: some health checks cannot be excluded: no matches for {}\n",
                unmatched.join(",")
            ));
        }
        let name = endpoint.name();
        if failed {
            HealthResponse {
                code: 500,
                body: format!("{lines}{name} check failed\n"),
            }
        } else if verbose {
            HealthResponse {
                code: 200,
                body: format!("{lines}{name} check passed\n"),
            }
        } else {
            HealthResponse {
                code: 200,
                body: "ok".to_owned(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Failing;

    #[async_trait::async_trait]
    impl HealthCheck for Failing {
        fn name(&self) -> &str {
            "etcd"
        }

        async fn check(&self) -> Result<(), String> {
            Err("connection refused".into())
        }
    }

    fn checks(fail: bool) -> HealthChecks {
        let mut c = HealthChecks::default();
        c.add(Arc::new(Ping), CheckScope::All);
        if fail {
            c.add(Arc::new(Failing), CheckScope::All);
        }
        c.add(Arc::new(ShutdownCheck::default()), CheckScope::ReadyOnly);
        c
    }

    #[tokio::test]
    async fn outputs_match_go() {
        let ok = checks(false);
        let r = ok.respond(Endpoint::Healthz, None, &Query::default()).await;
        assert_eq!((r.code, r.body.as_str()), (200, "ok"));
        let r = ok
            .respond(Endpoint::Readyz, None, &Query::parse("verbose"))
            .await;
        assert_eq!(r.body, "[+]ping ok\n[+]shutdown ok\nreadyz check passed\n");
        let r = ok
            .respond(Endpoint::Livez, None, &Query::parse("verbose=1"))
            .await;
        assert_eq!(r.body, "[+]ping ok\nlivez check passed\n");
        let r = ok
            .respond(Endpoint::Livez, Some("shutdown"), &Query::default())
            .await;
        assert_eq!(r.code, 404);
        let r = ok
            .respond(Endpoint::Readyz, Some("ping"), &Query::default())
            .await;
        assert_eq!((r.code, r.body.as_str()), (200, "ok"));

        let bad = checks(true);
        let r = bad
            .respond(Endpoint::Healthz, None, &Query::default())
            .await;
        assert_eq!(r.code, 500);
        assert_eq!(
            r.body,
            "[+]ping ok\n[-]etcd failed: reason withheld\nhealthz check failed\n"
        );
        let r = bad
            .respond(
                Endpoint::Healthz,
                None,
                &Query::parse("exclude=etcd&exclude=nope&verbose"),
            )
            .await;
        assert_eq!(r.code, 200);
        assert_eq!(
            r.body,
            "[+]ping ok\n[+]etcd excluded: ok\nwarn: some health checks cannot be excluded: no matches for \"nope\"\nhealthz check passed\n"
        );
        let r = bad
            .respond(Endpoint::Healthz, Some("etcd"), &Query::default())
            .await;
        assert_eq!(r.code, 500);
    }

    #[tokio::test]
    async fn shutdown_fails_readiness() {
        let s = ShutdownCheck::default();
        let mut c = HealthChecks::default();
        c.add(Arc::new(s.clone()), CheckScope::ReadyOnly);
        s.begin();
        assert_eq!(
            c.respond(Endpoint::Readyz, None, &Query::default())
                .await
                .code,
            500
        );
        assert_eq!(
            c.respond(Endpoint::Livez, None, &Query::default())
                .await
                .code,
            200
        );
    }
}
