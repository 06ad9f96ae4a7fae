//! The filters between authentication and authorization, over HTTPS against a real server:
//! impersonation (allowed: the request runs as the impersonated user and is authorized as
//! them; refused: 403 with Go's message; groups without a user: 400) and the in-flight limit
//! (a burst beyond it gets 429 with `Retry-After: 1` and a Status body while a watch keeps
//! delivering events; `system:masters` is never refused).
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use apimachinery::registry::UserInfo;
use apiserver::auth::Unauthenticated;
use apiserver::{Attributes, AuthRequest, Authenticator, Authorizer, Decision};
use bytes::Bytes;
use common::{Conn, Proto};
use http::StatusCode;
use http_body_util::BodyExt as _;
use serde_json::{Value, json};

const NS_WIDGETS: &str = "/apis/test.example.io/v1/namespaces/default/widgets";

/// `Authorization: Bearer <name>` is user `<name>`; `masters` is in `system:masters`.
struct ByToken;

#[async_trait::async_trait]
impl Authenticator for ByToken {
    async fn authenticate(&self, req: &AuthRequest<'_>) -> Result<UserInfo, Unauthenticated> {
        let name = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("nobody")
            .to_owned();
        let mut groups = vec!["system:authenticated".to_owned()];
        if name == "masters" {
            groups.insert(0, "system:masters".to_owned());
        }
        Ok(UserInfo {
            name,
            groups,
            uid: None,
            extra: Default::default(),
        })
    }
}

/// RBAC in miniature: bob may impersonate user alice, group devs and extra `scopes=view`;
/// alice may do anything else; everything is recorded.
#[derive(Default)]
struct Rules {
    seen: Mutex<Vec<Attributes>>,
}

#[async_trait::async_trait]
impl Authorizer for Rules {
    async fn authorize(&self, a: &Attributes) -> Decision {
        self.seen.lock().unwrap().push(a.clone());
        let allowed = if a.verb == "impersonate" {
            a.user.name == "bob"
                && matches!(
                    (
                        a.group.as_str(),
                        a.resource.as_str(),
                        a.subresource.as_str(),
                        a.name.as_str()
                    ),
                    ("", "users", "", "alice")
                        | ("", "groups", "", "devs")
                        | ("authentication.k8s.io", "userextras", "scopes", "view")
                )
        } else {
            a.user.name == "alice" || a.user.name == "carol"
        };
        if allowed {
            Decision::Allow
        } else {
            Decision::Deny {
                reason: String::new(),
            }
        }
    }
}

fn widget(name: &str) -> String {
    json!({"apiVersion": "test.example.io/v1", "kind": "Widget",
           "metadata": {"name": name}, "spec": {"size": 1}})
    .to_string()
}

async fn call(
    c: &mut Conn,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, http::HeaderMap, Value) {
    let (code, h, body) = c.call(method, path, headers, Bytes::new()).await;
    (
        code,
        h,
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned())),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn impersonation_is_authorized_per_attribute_and_acts_as_the_user() {
    let rules = Arc::new(Rules::default());
    let s =
        common::start_with(|b| b.authenticator(Arc::new(ByToken)).authorizer(rules.clone())).await;
    let mut c = Conn::tls(s.addr, &s.ca_pem, Proto::H2).await;
    let created = c
        .call(
            "POST",
            NS_WIDGETS,
            &[
                ("authorization", "Bearer alice"),
                ("content-type", "application/json"),
            ],
            widget("w"),
        )
        .await;
    assert_eq!(created.0, StatusCode::CREATED);

    // Allowed: bob acts as alice, with groups, extra and the authenticated group added.
    rules.seen.lock().unwrap().clear();
    let (code, _, body) = call(
        &mut c,
        "GET",
        &format!("{NS_WIDGETS}/w"),
        &[
            ("authorization", "Bearer bob"),
            ("impersonate-user", "alice"),
            ("impersonate-group", "devs"),
            ("impersonate-extra-scopes", "view"),
        ],
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let (ctx, _, _) = s.widgets.last.lock().unwrap().clone().unwrap();
    assert_eq!(ctx.user.name, "alice");
    assert_eq!(ctx.user.groups, ["devs", "system:authenticated"]);
    assert_eq!(ctx.user.extra["scopes"], ["view"]);
    let seen: Vec<(String, String, String, String)> = rules
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a.user.name.clone(),
                a.verb.clone(),
                a.resource.clone(),
                a.name.clone(),
            )
        })
        .collect();
    let want = [
        ("bob", "impersonate", "users", "alice"),
        ("bob", "impersonate", "groups", "devs"),
        ("bob", "impersonate", "userextras", "view"),
        ("alice", "get", "widgets", "w"),
    ]
    .map(|(a, b, c, d)| (a.to_owned(), b.to_owned(), c.to_owned(), d.to_owned()));
    assert_eq!(seen, want);

    // Refused: another user, another group, another extra value; each names the attribute.
    let cases: [(&[(&str, &str)], &str); 3] = [
        (
            &[("impersonate-user", "carol")],
            r#"users "carol" is forbidden: User "bob" cannot impersonate resource "users" in API group "" at the cluster scope"#,
        ),
        (
            &[
                ("impersonate-user", "alice"),
                ("impersonate-group", "system:masters"),
            ],
            r#"groups "system:masters" is forbidden: User "bob" cannot impersonate resource "groups" in API group "" at the cluster scope"#,
        ),
        (
            &[
                ("impersonate-user", "alice"),
                ("impersonate-extra-scopes", "edit"),
            ],
            r#"userextras.authentication.k8s.io "edit" is forbidden: User "bob" cannot impersonate resource "userextras/scopes" in API group "authentication.k8s.io" at the cluster scope"#,
        ),
    ];
    for (headers, message) in cases {
        let mut h = vec![("authorization", "Bearer bob")];
        h.extend_from_slice(headers);
        let (code, _, body) = call(&mut c, "GET", &format!("{NS_WIDGETS}/w"), &h).await;
        assert_eq!(code, StatusCode::FORBIDDEN, "{headers:?}: {body}");
        assert_eq!(body["reason"], "Forbidden");
        assert_eq!(body["message"], message, "{headers:?}");
    }
    // The impersonated user is then authorized as itself: dave may not read widgets.
    let (code, _, body) = call(
        &mut c,
        "GET",
        &format!("{NS_WIDGETS}/w"),
        &[
            ("authorization", "Bearer masters"),
            ("impersonate-user", "dave"),
        ],
    )
    .await;
    assert_eq!(code, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        body["message"],
        r#"widgets.test.example.io "w" is forbidden: User "dave" cannot get resource "widgets" in API group "test.example.io" in the namespace "default""#
    );
    // Groups without a user: 400.
    let (code, _, body) = call(
        &mut c,
        "GET",
        &format!("{NS_WIDGETS}/w"),
        &[
            ("authorization", "Bearer bob"),
            ("impersonate-group", "devs"),
        ],
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["message"],
        "requested [{Group  devs    }] without impersonating a user"
    );
    s.shutdown.shutdown();
    s.task.await.unwrap();
}

/// Reads one watch event line, waiting at most `wait`.
async fn next_event(
    body: &mut hyper::body::Incoming,
    buf: &mut Vec<u8>,
    wait: Duration,
) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        if let Some(pos) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=pos).collect();
            return Some(serde_json::from_slice(&line).unwrap());
        }
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(Ok(f))) => {
                if let Ok(d) = f.into_data() {
                    buf.extend_from_slice(&d);
                }
            }
            _ => return None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_beyond_the_limit_gets_429_while_a_watch_goes_on() {
    let s = common::start_with(|b| {
        b.authenticator(Arc::new(ByToken))
            .max_requests_inflight(2, 1)
            .request_timeout(Duration::from_secs(10))
    })
    .await;
    // A watch is long-running: it holds no slot, and keeps delivering during the burst.
    let mut watcher = Conn::tls(s.addr, &s.ca_pem, Proto::H2).await;
    let req = http::Request::get(format!("{NS_WIDGETS}?watch=true&timeoutSeconds=20"))
        .header("host", "localhost")
        .header("authorization", "Bearer alice")
        .body(http_body_util::Full::new(Bytes::new()))
        .unwrap();
    let resp = watcher.send(req).await;
    assert_eq!(resp.status(), 200);
    let mut events = resp.into_body();
    let mut buf = Vec::new();

    // 30 concurrent reads that each hold a slot for three seconds.
    let mut burst = Vec::new();
    for i in 0..30 {
        let (addr, ca) = (s.addr, s.ca_pem.clone());
        burst.push(tokio::spawn(async move {
            let mut c = Conn::tls(addr, &ca, if i % 2 == 0 { Proto::H1 } else { Proto::H2 }).await;
            call(
                &mut c,
                "GET",
                &format!("{NS_WIDGETS}/slow-3000"),
                &[("authorization", "Bearer alice")],
            )
            .await
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Meanwhile: a write (its own pool) and its watch event; a super-user read.
    let mut c = Conn::tls(s.addr, &s.ca_pem, Proto::H2).await;
    let (code, _, _) = c
        .call(
            "POST",
            NS_WIDGETS,
            &[
                ("authorization", "Bearer alice"),
                ("content-type", "application/json"),
            ],
            widget("during-burst"),
        )
        .await;
    assert_eq!(code, StatusCode::CREATED);
    let ev = next_event(&mut events, &mut buf, Duration::from_secs(2))
        .await
        .expect("the watch delivers during the burst");
    assert_eq!(
        (
            ev["type"].as_str(),
            ev["object"]["metadata"]["name"].as_str()
        ),
        (Some("ADDED"), Some("during-burst"))
    );
    let (code, _, body) = call(
        &mut c,
        "GET",
        &format!("{NS_WIDGETS}/slow-10"),
        &[("authorization", "Bearer masters")],
    )
    .await;
    assert_eq!(code, StatusCode::OK, "system:masters is exempt: {body}");

    let mut ok = 0;
    let mut refused = 0;
    for t in burst {
        let (code, headers, body) = t.await.unwrap();
        match code {
            StatusCode::OK => ok += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                refused += 1;
                assert_eq!(headers["retry-after"], "1");
                assert_eq!(
                    body,
                    json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
                        "status": "Failure",
                        "message": "Too many requests, please try again later.",
                        "reason": "TooManyRequests",
                        "details": {"retryAfterSeconds": 1}, "code": 429})
                );
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(ok >= 2, "{ok} served, {refused} refused");
    assert!(refused >= 20, "{ok} served, {refused} refused");

    // The slots came back; the refusals are counted.
    let (code, _, _) = call(
        &mut c,
        "GET",
        &format!("{NS_WIDGETS}/slow-10"),
        &[("authorization", "Bearer alice")],
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    let (_, _, metrics) = c
        .call(
            "GET",
            "/metrics",
            &[("authorization", "Bearer masters")],
            Bytes::new(),
        )
        .await;
    let metrics = String::from_utf8_lossy(&metrics);
    assert!(
        metrics.contains(&format!(
            r#"apiserver_dropped_requests_total{{request_kind="readOnly"}} {refused}"#
        )),
        "{metrics}"
    );
    s.shutdown.shutdown();
    s.task.await.unwrap();
}
