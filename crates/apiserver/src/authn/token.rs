//! Bearer tokens checked by the cluster (Go's `plugin/pkg/authenticator/token/webhook` in
//! delegated mode plus `token/cache`): `POST
//! /apis/authentication.k8s.io/v1/tokenreviews` to kube-apiserver, answers cached by a hash of
//! the token (never the token itself) for a TTL.

use std::time::Duration;

use apimachinery::registry::UserInfo;
use http::HeaderMap;
use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec, TokenReviewStatus};
use sha2::{Digest, Sha256};

use super::Outcome;
use crate::cache::TtlCache;

/// The token of `Authorization: Bearer <token>` (Go's `bearertoken.Authenticator`: scheme
/// case-insensitive, empty tokens ignored).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let mut parts = value.trim().splitn(2, ' ');
    let scheme = parts.next()?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = parts.next()?.trim();
    (!token.is_empty()).then_some(token)
}

/// The outcome of a TokenReview's status (Go's `WebhookTokenAuthenticator.AuthenticateToken`):
/// authenticated with an audience intersecting ours (when we asked for audiences) → the user;
/// otherwise failed, with the review's error when it gave one.
pub fn outcome_of(status: Option<&TokenReviewStatus>, audiences: &[String]) -> Outcome {
    let Some(status) = status else {
        return Outcome::Failed("TokenReview without status".to_owned());
    };
    if status.authenticated != Some(true) {
        return Outcome::Failed(match status.error.as_deref() {
            Some(e) if !e.is_empty() => e.to_owned(),
            _ => "invalid bearer token".to_owned(),
        });
    }
    if !audiences.is_empty() {
        let got = status.audiences.as_deref().unwrap_or(&[]);
        if !got.iter().any(|a| audiences.contains(a)) {
            return Outcome::Failed(
                "token audiences do not intersect the server's audiences".to_owned(),
            );
        }
    }
    let Some(user) = &status.user else {
        return Outcome::Failed("TokenReview authenticated without a user".to_owned());
    };
    Outcome::User(UserInfo {
        name: user.username.clone().unwrap_or_default(),
        groups: user.groups.clone().unwrap_or_default(),
        uid: user.uid.clone().filter(|u| !u.is_empty()),
        extra: user.extra.clone().unwrap_or_default(),
    })
}

/// Asks kube-apiserver about bearer tokens, with a cache.
pub struct TokenReviewAuthenticator {
    client: kube::Client,
    audiences: Vec<String>,
    ttl: Duration,
    timeout: Duration,
    cache: TtlCache<[u8; 32], Outcome>,
}

impl std::fmt::Debug for TokenReviewAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenReviewAuthenticator")
            .field("audiences", &self.audiences)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl TokenReviewAuthenticator {
    /// Reviews through `client`; answers cached `ttl` (Go's default 10 s); `audiences` may be
    /// empty (the reviewing server's own audience).
    pub fn new(client: kube::Client, audiences: Vec<String>, ttl: Duration) -> Self {
        Self {
            client,
            audiences,
            ttl,
            timeout: Duration::from_secs(10),
            cache: TtlCache::new(4096),
        }
    }

    fn key(&self, token: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        for a in &self.audiences {
            h.update(a.as_bytes());
            h.update([0]);
        }
        h.update([1]);
        h.update(token.as_bytes());
        h.finalize().into()
    }

    /// The user `token` belongs to. Answers (positive and negative) are cached; failures to
    /// reach kube-apiserver are not.
    pub async fn authenticate_token(&self, token: &str) -> Outcome {
        let key = self.key(token);
        if let Some(hit) = self.cache.get(&key) {
            return hit;
        }
        let review = TokenReview {
            spec: TokenReviewSpec {
                token: Some(token.to_owned()),
                audiences: (!self.audiences.is_empty()).then(|| self.audiences.clone()),
            },
            ..TokenReview::default()
        };
        let api: kube::Api<TokenReview> = kube::Api::all(self.client.clone());
        let pp = kube::api::PostParams::default();
        let answer = tokio::time::timeout(self.timeout, api.create(&pp, &review)).await;
        match answer {
            Ok(Ok(r)) => {
                let outcome = outcome_of(r.status.as_ref(), &self.audiences);
                self.cache.insert(key, outcome.clone(), self.ttl);
                outcome
            }
            Ok(Err(e)) => Outcome::Failed(format!("TokenReview failed: {e}")),
            Err(_) => Outcome::Failed("TokenReview timed out".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::authentication::v1::UserInfo as K8sUser;

    #[test]
    fn bearer_tokens() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer_token(&h), None);
        h.insert("authorization", "Bearer abc".parse().unwrap());
        assert_eq!(bearer_token(&h), Some("abc"));
        h.insert("authorization", "bearer  abc ".parse().unwrap());
        assert_eq!(bearer_token(&h), Some("abc"));
        h.insert("authorization", "Basic abc".parse().unwrap());
        assert_eq!(bearer_token(&h), None);
        h.insert("authorization", "Bearer ".parse().unwrap());
        assert_eq!(bearer_token(&h), None);
    }

    #[test]
    fn review_outcomes() {
        assert!(matches!(outcome_of(None, &[]), Outcome::Failed(_)));
        let denied = TokenReviewStatus {
            authenticated: Some(false),
            error: Some("token expired".into()),
            ..Default::default()
        };
        assert_eq!(
            outcome_of(Some(&denied), &[]),
            Outcome::Failed("token expired".into())
        );
        let ok = TokenReviewStatus {
            authenticated: Some(true),
            audiences: Some(vec!["https://kubernetes.default.svc".into()]),
            user: Some(K8sUser {
                username: Some("system:serviceaccount:ns:sa".into()),
                uid: Some("u-1".into()),
                groups: Some(vec!["system:serviceaccounts".into()]),
                extra: Some(
                    [(
                        "authentication.kubernetes.io/pod-name".to_owned(),
                        vec!["p".to_owned()],
                    )]
                    .into(),
                ),
            }),
            ..Default::default()
        };
        let Outcome::User(u) = outcome_of(Some(&ok), &[]) else {
            panic!("not authenticated")
        };
        assert_eq!(u.name, "system:serviceaccount:ns:sa");
        assert_eq!(u.uid.as_deref(), Some("u-1"));
        assert_eq!(u.extra.len(), 1);
        assert!(matches!(
            outcome_of(Some(&ok), &["other".into()]),
            Outcome::Failed(_)
        ));
        assert!(matches!(
            outcome_of(Some(&ok), &["https://kubernetes.default.svc".into()]),
            Outcome::User(_)
        ));
    }
}
