//! Delegated authorization (Go's `plugin/pkg/authorizer/webhook` in delegated mode, behind
//! `authorizerfactory.NewPrivilegedGroups` and `path.NewAuthorizer`): `system:masters` and the
//! always-allowed paths pass without asking; everything else is a SubjectAccessReview to
//! kube-apiserver, with allowed and denied answers cached for their own TTLs.

use std::time::Duration;

use k8s_openapi::api::authorization::v1::{
    NonResourceAttributes, ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
    SubjectAccessReviewStatus,
};

use crate::auth::{Attributes, Authorizer, Decision};
use crate::cache::TtlCache;

/// The SubjectAccessReview spec for `attrs`: the whole user (name, uid, groups, extra) and
/// either the resource attributes or the non-resource path and verb.
pub fn review_spec(attrs: &Attributes) -> SubjectAccessReviewSpec {
    let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let (resource_attributes, non_resource_attributes) = if attrs.resource_request {
        (
            Some(ResourceAttributes {
                namespace: non_empty(&attrs.namespace),
                verb: non_empty(&attrs.verb),
                group: Some(attrs.group.clone()),
                version: non_empty(&attrs.version),
                resource: non_empty(&attrs.resource),
                subresource: non_empty(&attrs.subresource),
                name: non_empty(&attrs.name),
                ..ResourceAttributes::default()
            }),
            None,
        )
    } else {
        (
            None,
            Some(NonResourceAttributes {
                path: non_empty(&attrs.path),
                verb: non_empty(&attrs.verb),
            }),
        )
    };
    SubjectAccessReviewSpec {
        user: non_empty(&attrs.user.name),
        uid: attrs.user.uid.clone().filter(|u| !u.is_empty()),
        groups: (!attrs.user.groups.is_empty()).then(|| attrs.user.groups.clone()),
        extra: (!attrs.user.extra.is_empty()).then(|| attrs.user.extra.clone()),
        resource_attributes,
        non_resource_attributes,
    }
}

/// The decision a review's status carries: allowed → allow; anything else (denied, or no
/// opinion) → deny with the review's reason (Go answers 403 for both; `evaluationError` is
/// logged by Go, not sent).
pub fn decision_of(status: Option<&SubjectAccessReviewStatus>) -> Decision {
    match status {
        Some(s) if s.allowed => Decision::Allow,
        Some(s) => Decision::Deny {
            reason: s.reason.clone().unwrap_or_default(),
        },
        None => Decision::Deny {
            reason: String::new(),
        },
    }
}

/// Asks kube-apiserver, with a cache keyed by the whole spec.
pub struct SubjectAccessReviewAuthorizer {
    client: kube::Client,
    allowed_ttl: Duration,
    denied_ttl: Duration,
    timeout: Duration,
    cache: TtlCache<String, Decision>,
}

impl std::fmt::Debug for SubjectAccessReviewAuthorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubjectAccessReviewAuthorizer")
            .field("allowed_ttl", &self.allowed_ttl)
            .field("denied_ttl", &self.denied_ttl)
            .finish_non_exhaustive()
    }
}

impl SubjectAccessReviewAuthorizer {
    /// Reviews through `client`; allowed answers cached `allowed_ttl`, denied ones
    /// `denied_ttl` (Go's defaults: 10 s each).
    pub fn new(client: kube::Client, allowed_ttl: Duration, denied_ttl: Duration) -> Self {
        Self {
            client,
            allowed_ttl,
            denied_ttl,
            timeout: Duration::from_secs(10),
            cache: TtlCache::new(8192),
        }
    }
}

#[async_trait::async_trait]
impl Authorizer for SubjectAccessReviewAuthorizer {
    async fn authorize(&self, attrs: &Attributes) -> Decision {
        let spec = review_spec(attrs);
        let key = serde_json::to_string(&spec).unwrap_or_default();
        if let Some(hit) = self.cache.get(&key) {
            return hit;
        }
        let review = SubjectAccessReview {
            spec,
            ..SubjectAccessReview::default()
        };
        let api: kube::Api<SubjectAccessReview> = kube::Api::all(self.client.clone());
        let pp = kube::api::PostParams::default();
        match tokio::time::timeout(self.timeout, api.create(&pp, &review)).await {
            Ok(Ok(r)) => {
                let d = decision_of(r.status.as_ref());
                let ttl = match d {
                    Decision::Allow => self.allowed_ttl,
                    Decision::Deny { .. } | Decision::Error { .. } => self.denied_ttl,
                };
                self.cache.insert(key, d.clone(), ttl);
                d
            }
            Ok(Err(e)) => Decision::Error {
                message: format!("SubjectAccessReview failed: {e}"),
            },
            Err(_) => Decision::Error {
                message: "SubjectAccessReview timed out".to_owned(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apimachinery::registry::UserInfo;

    fn attrs(resource_request: bool) -> Attributes {
        Attributes {
            user: UserInfo {
                name: "alice".into(),
                groups: vec!["dev".into(), "system:authenticated".into()],
                uid: Some("u1".into()),
                extra: [("scopes".to_owned(), vec!["a".to_owned()])].into(),
            },
            verb: if resource_request { "list" } else { "get" }.into(),
            resource_request,
            group: "navigator.jetstack.io".into(),
            version: "v1alpha1".into(),
            resource: "cassandraclusters".into(),
            subresource: String::new(),
            namespace: "team-a".into(),
            name: String::new(),
            path: "/apis/navigator.jetstack.io/v1alpha1".into(),
        }
    }

    #[test]
    fn resource_reviews_carry_the_whole_user_and_the_resource() {
        let v = serde_json::to_value(review_spec(&attrs(true))).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "extra": {"scopes": ["a"]},
                "groups": ["dev", "system:authenticated"],
                "resourceAttributes": {
                    "group": "navigator.jetstack.io",
                    "namespace": "team-a",
                    "resource": "cassandraclusters",
                    "verb": "list",
                    "version": "v1alpha1"
                },
                "uid": "u1",
                "user": "alice"
            })
        );
    }

    #[test]
    fn non_resource_reviews_carry_path_and_verb() {
        let v = serde_json::to_value(review_spec(&attrs(false))).unwrap();
        assert_eq!(
            v["nonResourceAttributes"],
            serde_json::json!({"path": "/apis/navigator.jetstack.io/v1alpha1", "verb": "get"})
        );
        assert!(v.get("resourceAttributes").is_none());
    }

    #[test]
    fn decisions_from_status() {
        let allowed = SubjectAccessReviewStatus {
            allowed: true,
            ..Default::default()
        };
        assert_eq!(decision_of(Some(&allowed)), Decision::Allow);
        let denied = SubjectAccessReviewStatus {
            allowed: false,
            reason: Some("no RBAC policy matched".into()),
            ..Default::default()
        };
        assert_eq!(
            decision_of(Some(&denied)),
            Decision::Deny {
                reason: "no RBAC policy matched".into()
            }
        );
        assert_eq!(
            decision_of(None),
            Decision::Deny {
                reason: String::new()
            }
        );
    }
}
