//! Impersonation (Go's `endpoints/filters/impersonation.go`): a request carrying
//! `Impersonate-User` (and optionally `Impersonate-Group`, repeated, `Impersonate-Uid` and
//! `Impersonate-Extra-<key>`) is served as that user once the authorizer allows the
//! authenticated user the verb `impersonate` on every requested attribute.
//!
//! [`wanted`] reads the headers and [`plan`] decides which checks to make and who the request
//! then is; both are pure. [`impersonate`] asks the authorizer (the only I/O) and strips the
//! headers so nothing later sees them.

use std::collections::BTreeMap;

use apimachinery::registry::UserInfo;
use apimachinery::status::{ApiError, GroupResource};
use http::HeaderMap;

use crate::auth::{AlwaysAllow, Attributes, Authorizer, Decision};
use crate::authn::{ANONYMOUS, AUTHENTICATED, UNAUTHENTICATED};

/// The user to act as.
pub const IMPERSONATE_USER: &str = "impersonate-user";
/// A UID to act with.
pub const IMPERSONATE_UID: &str = "impersonate-uid";
/// A group to act in (repeated for several).
pub const IMPERSONATE_GROUP: &str = "impersonate-group";
/// Prefix of the headers naming extra attributes; the rest of the name is the key,
/// percent-encoded.
pub const IMPERSONATE_EXTRA_PREFIX: &str = "impersonate-extra-";

/// Service-account user names: `system:serviceaccount:<namespace>:<name>`.
const SERVICE_ACCOUNT_PREFIX: &str = "system:serviceaccount:";
/// The API group of impersonated extras and UIDs.
const AUTHENTICATION_GROUP: &str = "authentication.k8s.io";

/// Why a request may not impersonate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImpersonationError {
    /// Groups, a UID or extras without `Impersonate-User`; carries Go's rendering of what was
    /// requested.
    #[error("requested {0} without impersonating a user")]
    WithoutUser(String),
    /// The authorizer did not allow one of the impersonated attributes.
    #[error("{}", forbidden_message(.attributes, .reason))]
    Forbidden {
        /// The check that failed.
        attributes: Box<Attributes>,
        /// The authorizer's reason (may be empty).
        reason: String,
    },
}

fn forbidden_message(attributes: &Attributes, reason: &str) -> String {
    let message = attributes.forbidden_message();
    if reason.is_empty() {
        message
    } else {
        format!("{message}: {reason}")
    }
}

impl ImpersonationError {
    /// The response: 400 for a request without a user, 403 with Go's message otherwise
    /// (`users "alice" is forbidden: User "bob" cannot impersonate resource "users" in API
    /// group "" at the cluster scope`).
    pub fn to_api_error(&self) -> ApiError {
        match self {
            Self::WithoutUser(_) => ApiError::bad_request(self.to_string()),
            Self::Forbidden { attributes, reason } => ApiError::Forbidden {
                resource: GroupResource::new(&attributes.group, &attributes.resource),
                name: attributes.name.clone(),
                reason: forbidden_message(attributes, reason),
            },
        }
    }
}

/// What a request asks to act as, read from its headers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Wanted {
    /// `Impersonate-User` (non-empty).
    pub user: String,
    /// `Impersonate-Uid`, when given and non-empty.
    pub uid: Option<String>,
    /// Every `Impersonate-Group` value, in order.
    pub groups: Vec<String>,
    /// `Impersonate-Extra-<key>` values by decoded key.
    pub extra: BTreeMap<String, Vec<String>>,
}

fn value_text(v: &http::HeaderValue) -> String {
    String::from_utf8_lossy(v.as_bytes()).into_owned()
}

/// Go's `url.PathUnescape`: `%XX` decoded, anything else kept; `None` when a `%` is not
/// followed by two hex digits or the result is not UTF-8.
fn path_unescape(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The extra key of an `Impersonate-Extra-` header name (already lower-case): percent-decoded,
/// or kept as sent when it does not decode (Go records malformed keys unchanged).
pub fn extra_key(encoded: &str) -> String {
    path_unescape(encoded).unwrap_or_else(|| encoded.to_owned())
}

/// Go's `%v` of one `ObjectReference` (Kind, Namespace, Name, UID, APIVersion,
/// ResourceVersion, FieldPath), as its error message prints the requests.
fn object_reference(kind: &str, name: &str, api_version: &str, field_path: &str) -> String {
    format!("{{{kind}  {name}  {api_version}  {field_path}}}")
}

/// The impersonation the headers ask for: `Ok(None)` when there is none.
///
/// # Errors
/// [`ImpersonationError::WithoutUser`] when groups, a UID or extras come without a user.
pub fn wanted(headers: &HeaderMap) -> Result<Option<Wanted>, ImpersonationError> {
    let user = headers
        .get(IMPERSONATE_USER)
        .map(value_text)
        .unwrap_or_default();
    let uid = headers
        .get(IMPERSONATE_UID)
        .map(value_text)
        .filter(|u| !u.is_empty());
    let groups: Vec<String> = headers
        .get_all(IMPERSONATE_GROUP)
        .iter()
        .map(value_text)
        .collect();
    let mut extra: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for name in headers.keys() {
        if let Some(encoded) = name.as_str().strip_prefix(IMPERSONATE_EXTRA_PREFIX) {
            let values = headers.get_all(name).iter().map(value_text);
            extra.entry(extra_key(encoded)).or_default().extend(values);
        }
    }
    if !user.is_empty() {
        return Ok(Some(Wanted {
            user,
            uid,
            groups,
            extra,
        }));
    }
    if groups.is_empty() && extra.is_empty() && uid.is_none() {
        return Ok(None);
    }
    let mut requested: Vec<String> = groups
        .iter()
        .map(|g| object_reference("Group", g, "", ""))
        .collect();
    for (key, values) in &extra {
        for v in values {
            requested.push(object_reference(
                "UserExtra",
                v,
                "authentication.k8s.io/v1",
                key,
            ));
        }
    }
    if let Some(u) = &uid {
        requested.push(object_reference("UID", u, "authentication.k8s.io/v1", ""));
    }
    Err(ImpersonationError::WithoutUser(format!(
        "[{}]",
        requested.join(" ")
    )))
}

/// Go's `serviceaccount.SplitUsername`: namespace and name of a service-account user name,
/// when both are valid.
pub fn split_service_account(user: &str) -> Option<(&str, &str)> {
    let rest = user.strip_prefix(SERVICE_ACCOUNT_PREFIX)?;
    let mut parts = rest.split(':');
    let (namespace, name) = (parts.next()?, parts.next()?);
    if parts.next().is_some()
        || !apimachinery::object_meta::dns1123_label_errors(namespace).is_empty()
        || !apimachinery::object_meta::dns1123_subdomain_errors(name).is_empty()
    {
        return None;
    }
    Some((namespace, name))
}

/// The checks to make and the user the request becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// One `impersonate` check per requested attribute, in Go's order: the user (or service
    /// account), each group, each extra value, the UID.
    pub checks: Vec<Attributes>,
    /// Who the request acts as when every check passes.
    pub user: UserInfo,
}

fn check(
    requestor: &UserInfo,
    group: &str,
    resource: &str,
    subresource: &str,
    namespace: &str,
    name: &str,
) -> Attributes {
    Attributes {
        user: requestor.clone(),
        verb: "impersonate".to_owned(),
        resource_request: true,
        group: group.to_owned(),
        version: "v1".to_owned(),
        resource: resource.to_owned(),
        subresource: subresource.to_owned(),
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        path: String::new(),
    }
}

/// What `requestor` must be allowed, and who it then acts as (Go's `WithImpersonation`):
/// a service account's groups when no group is given, `system:authenticated` added unless the
/// groups already say authenticated or unauthenticated, and `system:unauthenticated` for
/// `system:anonymous`.
pub fn plan(requestor: &UserInfo, wanted: &Wanted) -> Plan {
    let mut checks = Vec::new();
    let mut groups = Vec::new();
    match split_service_account(&wanted.user) {
        Some((namespace, name)) => {
            checks.push(check(requestor, "", "serviceaccounts", "", namespace, name));
            if wanted.groups.is_empty() {
                groups = vec![
                    "system:serviceaccounts".to_owned(),
                    format!("system:serviceaccounts:{namespace}"),
                ];
            }
        }
        None => checks.push(check(requestor, "", "users", "", "", &wanted.user)),
    }
    for g in &wanted.groups {
        checks.push(check(requestor, "", "groups", "", "", g));
        groups.push(g.clone());
    }
    for (key, values) in &wanted.extra {
        for v in values {
            checks.push(check(
                requestor,
                AUTHENTICATION_GROUP,
                "userextras",
                key,
                "",
                v,
            ));
        }
    }
    if let Some(uid) = &wanted.uid {
        checks.push(check(requestor, AUTHENTICATION_GROUP, "uids", "", "", uid));
    }
    if wanted.user == ANONYMOUS {
        if !groups.iter().any(|g| g == UNAUTHENTICATED) {
            groups.push(UNAUTHENTICATED.to_owned());
        }
    } else if !groups
        .iter()
        .any(|g| g == AUTHENTICATED || g == UNAUTHENTICATED)
    {
        groups.push(AUTHENTICATED.to_owned());
    }
    Plan {
        checks,
        user: UserInfo {
            name: wanted.user.clone(),
            groups,
            uid: wanted.uid.clone(),
            extra: wanted.extra.clone(),
        },
    }
}

/// Removes every impersonation header.
pub fn strip_headers(headers: &mut HeaderMap) {
    let names: Vec<http::header::HeaderName> = headers
        .keys()
        .filter(|n| {
            let n = n.as_str();
            n == IMPERSONATE_USER
                || n == IMPERSONATE_UID
                || n == IMPERSONATE_GROUP
                || n.starts_with(IMPERSONATE_EXTRA_PREFIX)
        })
        .cloned()
        .collect();
    for n in names {
        headers.remove(n);
    }
}

/// Applies the impersonation `headers` ask for: `Ok(None)` when they ask for none, else the
/// user to act as, once the authorizer allowed every check (`system:masters` and the
/// always-allowed rules pass without asking, as Go's authorizer union does). The headers are
/// removed either way.
///
/// # Errors
/// [`ImpersonationError`] when the request is malformed or a check is not allowed.
pub async fn impersonate(
    authorizer: &dyn Authorizer,
    always_allow: &AlwaysAllow,
    requestor: &UserInfo,
    headers: &mut HeaderMap,
) -> Result<Option<UserInfo>, ImpersonationError> {
    let Some(wanted) = wanted(headers)? else {
        return Ok(None);
    };
    strip_headers(headers);
    let plan = plan(requestor, &wanted);
    for attributes in plan.checks {
        if always_allow.allows(&attributes) {
            continue;
        }
        let reason = match authorizer.authorize(&attributes).await {
            Decision::Allow => continue,
            Decision::Deny { reason } => reason,
            Decision::Error { message } => {
                tracing::warn!(error = %message, user = %requestor.name, "impersonation check failed");
                message
            }
        };
        return Err(ImpersonationError::Forbidden {
            attributes: Box::new(attributes),
            reason,
        });
    }
    Ok(Some(plan.user))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                http::HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn bob() -> UserInfo {
        UserInfo {
            name: "bob".into(),
            groups: vec![AUTHENTICATED.into()],
            ..UserInfo::default()
        }
    }

    /// (what, headers, expected user name, groups, uid, extra)
    #[test]
    fn headers_become_the_wanted_user() {
        type Case<'a> = (
            &'a str,
            &'a [(&'a str, &'a str)],
            Option<(
                &'a str,
                &'a [&'a str],
                Option<&'a str>,
                &'a [(&'a str, &'a [&'a str])],
            )>,
        );
        let cases: &[Case<'_>] = &[
            ("none", &[("authorization", "Bearer x")], None),
            ("empty user alone", &[("Impersonate-User", "")], None),
            (
                "user",
                &[("Impersonate-User", "alice")],
                Some(("alice", &[], None, &[])),
            ),
            (
                "everything",
                &[
                    ("Impersonate-User", "alice"),
                    ("Impersonate-Group", "devs"),
                    ("Impersonate-Group", "ops"),
                    ("Impersonate-Uid", "u-1"),
                    ("Impersonate-Extra-Scopes", "view"),
                    ("Impersonate-Extra-Scopes", "edit"),
                    ("Impersonate-Extra-example.org%2fteam", "a"),
                    ("Impersonate-Extra-bad%zz", "b"),
                ],
                Some((
                    "alice",
                    &["devs", "ops"],
                    Some("u-1"),
                    &[
                        ("bad%zz", &["b"]),
                        ("example.org/team", &["a"]),
                        ("scopes", &["view", "edit"]),
                    ],
                )),
            ),
        ];
        for &(what, pairs, want) in cases {
            let got = wanted(&headers(pairs)).unwrap();
            let want = want.map(|(user, groups, uid, extra)| Wanted {
                user: user.to_owned(),
                uid: uid.map(str::to_owned),
                groups: groups.iter().map(|g| (*g).to_owned()).collect(),
                extra: extra
                    .iter()
                    .map(|(k, vs)| {
                        (
                            (*k).to_owned(),
                            vs.iter().map(|v| (*v).to_owned()).collect(),
                        )
                    })
                    .collect(),
            });
            assert_eq!(got, want, "{what}");
        }
    }

    #[test]
    fn attributes_without_a_user_are_refused_as_go_words_it() {
        let e = wanted(&headers(&[
            ("Impersonate-Group", "devs"),
            ("Impersonate-Extra-scopes", "view"),
            ("Impersonate-Uid", "u-1"),
        ]))
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "requested [{Group  devs    } {UserExtra  view  authentication.k8s.io/v1  scopes} {UID  u-1  authentication.k8s.io/v1  }] without impersonating a user"
        );
        let api = e.to_api_error();
        assert_eq!((api.code(), api.reason()), (400, "BadRequest"));
    }

    #[test]
    fn service_account_names_split_as_go() {
        let cases = [
            ("system:serviceaccount:ns:sa", Some(("ns", "sa"))),
            (
                "system:serviceaccount:ns:sa.with.dots",
                Some(("ns", "sa.with.dots")),
            ),
            ("system:serviceaccount:ns", None),
            ("system:serviceaccount:ns:sa:x", None),
            ("system:serviceaccount:Bad:sa", None),
            ("system:serviceaccount::sa", None),
            ("system:serviceaccounts:ns:sa", None),
            ("alice", None),
        ];
        for (user, want) in cases {
            assert_eq!(split_service_account(user), want, "{user}");
        }
    }

    /// (what, wanted, checks as (group, resource, subresource, namespace, name), groups after)
    #[test]
    fn plans_check_each_attribute_and_build_the_user() {
        type Check<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str);
        let w =
            |user: &str, groups: &[&str], uid: Option<&str>, extra: &[(&str, &[&str])]| Wanted {
                user: user.into(),
                uid: uid.map(Into::into),
                groups: groups.iter().map(|g| (*g).to_owned()).collect(),
                extra: extra
                    .iter()
                    .map(|(k, vs)| {
                        (
                            (*k).to_owned(),
                            vs.iter().map(|v| (*v).to_owned()).collect(),
                        )
                    })
                    .collect(),
            };
        let cases: Vec<(&str, Wanted, Vec<Check<'_>>, Vec<&str>)> = vec![
            (
                "plain user",
                w("alice", &[], None, &[]),
                vec![("", "users", "", "", "alice")],
                vec![AUTHENTICATED],
            ),
            (
                "user with groups, extra and uid",
                w("alice", &["devs"], Some("u-1"), &[("scopes", &["a", "b"])]),
                vec![
                    ("", "users", "", "", "alice"),
                    ("", "groups", "", "", "devs"),
                    (AUTHENTICATION_GROUP, "userextras", "scopes", "", "a"),
                    (AUTHENTICATION_GROUP, "userextras", "scopes", "", "b"),
                    (AUTHENTICATION_GROUP, "uids", "", "", "u-1"),
                ],
                vec!["devs", AUTHENTICATED],
            ),
            (
                "groups saying unauthenticated keep it",
                w("alice", &[UNAUTHENTICATED], None, &[]),
                vec![
                    ("", "users", "", "", "alice"),
                    ("", "groups", "", "", UNAUTHENTICATED),
                ],
                vec![UNAUTHENTICATED],
            ),
            (
                "service account gets its groups",
                w("system:serviceaccount:team:robot", &[], None, &[]),
                vec![("", "serviceaccounts", "", "team", "robot")],
                vec![
                    "system:serviceaccounts",
                    "system:serviceaccounts:team",
                    AUTHENTICATED,
                ],
            ),
            (
                "service account with explicit groups gets only those",
                w("system:serviceaccount:team:robot", &["devs"], None, &[]),
                vec![
                    ("", "serviceaccounts", "", "team", "robot"),
                    ("", "groups", "", "", "devs"),
                ],
                vec!["devs", AUTHENTICATED],
            ),
            (
                "anonymous is unauthenticated",
                w(ANONYMOUS, &[], None, &[]),
                vec![("", "users", "", "", ANONYMOUS)],
                vec![UNAUTHENTICATED],
            ),
        ];
        for (what, wanted, checks, groups) in cases {
            let p = plan(&bob(), &wanted);
            let got: Vec<Check<'_>> = p
                .checks
                .iter()
                .map(|a| {
                    assert_eq!(a.verb, "impersonate", "{what}");
                    assert_eq!(a.user, bob(), "{what}");
                    assert!(a.resource_request, "{what}");
                    (
                        a.group.as_str(),
                        a.resource.as_str(),
                        a.subresource.as_str(),
                        a.namespace.as_str(),
                        a.name.as_str(),
                    )
                })
                .collect();
            assert_eq!(got, checks, "{what}");
            assert_eq!(p.user.groups, groups, "{what}");
            assert_eq!(p.user.name, wanted.user, "{what}");
            assert_eq!(p.user.uid, wanted.uid, "{what}");
            assert_eq!(p.user.extra, wanted.extra, "{what}");
        }
    }

    #[test]
    fn refusals_carry_go_messages() {
        let p = plan(
            &bob(),
            &Wanted {
                user: "alice".into(),
                extra: [("scopes".to_owned(), vec!["view".to_owned()])].into(),
                ..Wanted::default()
            },
        );
        let cases = [
            (
                0,
                "",
                r#"users "alice" is forbidden: User "bob" cannot impersonate resource "users" in API group "" at the cluster scope"#,
            ),
            (
                1,
                "no RBAC policy matched",
                r#"userextras.authentication.k8s.io "view" is forbidden: User "bob" cannot impersonate resource "userextras/scopes" in API group "authentication.k8s.io" at the cluster scope: no RBAC policy matched"#,
            ),
        ];
        for (i, reason, message) in cases {
            let e = ImpersonationError::Forbidden {
                attributes: Box::new(p.checks[i].clone()),
                reason: reason.into(),
            }
            .to_api_error();
            assert_eq!((e.code(), e.message()), (403, message.to_owned()));
        }
        let sa = plan(
            &bob(),
            &Wanted {
                user: "system:serviceaccount:team:robot".into(),
                ..Wanted::default()
            },
        );
        let e = ImpersonationError::Forbidden {
            attributes: Box::new(sa.checks[0].clone()),
            reason: String::new(),
        }
        .to_api_error();
        assert_eq!(
            e.message(),
            r#"serviceaccounts "robot" is forbidden: User "bob" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "team""#
        );
    }

    #[test]
    fn every_impersonation_header_is_stripped() {
        let mut h = headers(&[
            ("Impersonate-User", "alice"),
            ("Impersonate-Group", "devs"),
            ("Impersonate-Uid", "u"),
            ("Impersonate-Extra-a", "1"),
            ("Impersonate-Extra-b", "2"),
            ("Accept", "application/json"),
        ]);
        strip_headers(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("accept"));
    }
}
