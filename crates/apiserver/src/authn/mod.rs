//! Delegated authentication (Go's `authentication/authenticatorfactory/delegating.go`), in
//! Kubernetes' order: front-proxy request headers ([`requestheader`]), client certificates
//! ([`x509`]), bearer tokens through TokenReview ([`token`]), then anonymous. The first
//! authenticator that names a user wins; if none does and any failed the request is 401; if
//! nobody presented anything the user is `system:anonymous` (when allowed).
//!
//! The CA bundles and header names ([`ClientAuthConfig`]) come from flags or from the
//! `kube-system/extension-apiserver-authentication` ConfigMap ([`configmap`]) and can be
//! swapped while the server runs ([`DynamicClientAuth`]).

pub mod configmap;
pub mod requestheader;
pub mod token;
pub mod x509;

use std::sync::{Arc, RwLock};

use apimachinery::registry::UserInfo;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::server::danger::ClientCertVerifier;

use crate::auth::{AuthRequest, Authenticator, Unauthenticated};
use crate::tls::crypto_provider;
pub use requestheader::RequestHeaderConfig;
pub use token::TokenReviewAuthenticator;

/// The anonymous user's name.
pub const ANONYMOUS: &str = "system:anonymous";
/// The anonymous user's group.
pub const UNAUTHENTICATED: &str = "system:unauthenticated";
/// The group every authenticated user gets.
pub const AUTHENTICATED: &str = "system:authenticated";

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
pub enum AuthnError {
    /// A CA bundle could not be used.
    #[error("{what}: {message}")]
    CaBundle {
        /// Which bundle.
        what: String,
        /// Why.
        message: String,
    },
    /// A ConfigMap value is not what kube-apiserver writes.
    #[error("ConfigMap key {key}: {message}")]
    ConfigMap {
        /// The key.
        key: String,
        /// Why.
        message: String,
    },
    /// A file named by a flag could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Talking to kube-apiserver failed.
    #[error("{0}")]
    Kube(String),
}

/// What one authenticator concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// This is the user.
    User(UserInfo),
    /// The request carries nothing this authenticator looks at.
    Abstain,
    /// The request carries credentials of this kind, and they are not valid.
    Failed(String),
}

/// A CA pool client certificate chains are verified against (clientAuth usage).
#[derive(Clone)]
pub struct CaBundle {
    pem: String,
    verifier: Option<Arc<dyn ClientCertVerifier>>,
    subjects: Vec<rustls::DistinguishedName>,
}

impl std::fmt::Debug for CaBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaBundle")
            .field("certificates", &self.subjects.len())
            .finish_non_exhaustive()
    }
}

impl PartialEq for CaBundle {
    fn eq(&self, other: &Self) -> bool {
        self.pem == other.pem
    }
}

impl CaBundle {
    /// A pool from a PEM bundle.
    ///
    /// # Errors
    /// [`AuthnError::CaBundle`] when the bundle holds no usable CA certificate.
    pub fn from_pem(what: &str, pem: &str) -> Result<Self, AuthnError> {
        let err = |message: String| AuthnError::CaBundle {
            what: what.to_owned(),
            message,
        };
        let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| err(e.to_string()))?;
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(certs);
        if roots.is_empty() {
            return Err(err("no usable CA certificate".to_owned()));
        }
        let subjects = roots.subjects();
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            crypto_provider(),
        )
        .build()
        .map_err(|e| err(e.to_string()))?;
        Ok(Self {
            pem: pem.to_owned(),
            verifier: Some(verifier),
            subjects,
        })
    }

    #[cfg(test)]
    pub(crate) fn empty_for_tests() -> Self {
        Self {
            pem: String::new(),
            verifier: None,
            subjects: Vec::new(),
        }
    }

    /// The CA subjects (TLS client-certificate hints).
    pub fn subjects(&self) -> &[rustls::DistinguishedName] {
        &self.subjects
    }

    /// Verifies `chain` (leaf first) for client authentication.
    ///
    /// # Errors
    /// Why the chain is not trusted.
    pub fn verify(&self, chain: &[CertificateDer<'static>]) -> Result<(), String> {
        let Some(verifier) = &self.verifier else {
            return Err("no CA".to_owned());
        };
        let Some((leaf, intermediates)) = chain.split_first() else {
            return Err("no certificate".to_owned());
        };
        verifier
            .verify_client_cert(leaf, intermediates, rustls::pki_types::UnixTime::now())
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// Where client certificates are checked: the client CA and the front proxy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientAuthConfig {
    /// `client-ca-file`.
    pub client_ca: Option<CaBundle>,
    /// The front-proxy settings.
    pub request_header: Option<RequestHeaderConfig>,
}

impl PartialEq for RequestHeaderConfig {
    fn eq(&self, other: &Self) -> bool {
        self.ca == other.ca
            && self.allowed_names == other.allowed_names
            && self.username_headers == other.username_headers
            && self.group_headers == other.group_headers
            && self.extra_headers_prefixes == other.extra_headers_prefixes
            && self.uid_headers == other.uid_headers
    }
}

impl ClientAuthConfig {
    /// The union of both CAs' subjects, offered to clients in the TLS handshake.
    pub fn hints(&self) -> Vec<rustls::DistinguishedName> {
        let mut out: Vec<rustls::DistinguishedName> = Vec::new();
        let client = self.client_ca.iter().flat_map(|c| c.subjects());
        let proxy = self.request_header.iter().flat_map(|r| r.ca.subjects());
        for s in client.chain(proxy) {
            if !out.iter().any(|o| o.as_ref() == s.as_ref()) {
                out.push(s.clone());
            }
        }
        out
    }
}

/// A [`ClientAuthConfig`] that can be replaced while the server runs; the TLS listener follows
/// its hints through [`DynamicClientAuth::hints`].
#[derive(Debug)]
pub struct DynamicClientAuth {
    current: RwLock<Arc<ClientAuthConfig>>,
    hints: tokio::sync::watch::Sender<Vec<rustls::DistinguishedName>>,
}

impl DynamicClientAuth {
    /// Starts with `config`.
    pub fn new(config: ClientAuthConfig) -> Self {
        let (hints, _) = tokio::sync::watch::channel(config.hints());
        Self {
            current: RwLock::new(Arc::new(config)),
            hints,
        }
    }

    /// The configuration in force.
    pub fn current(&self) -> Arc<ClientAuthConfig> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Replaces the configuration; returns whether it changed.
    pub fn set(&self, config: ClientAuthConfig) -> bool {
        let mut g = match self.current.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if **g == config {
            return false;
        }
        let hints = config.hints();
        *g = Arc::new(config);
        self.hints.send_replace(hints);
        true
    }

    /// The CA subjects for the TLS listener
    /// ([`crate::serve::ServingOptions::client_ca_hints`]).
    pub fn hints(&self) -> crate::serve::ClientCaHints {
        self.hints.subscribe()
    }
}

/// Adds `system:authenticated` to an authenticated user (Go's `AuthenticatedGroupAdder`).
pub fn with_authenticated_group(mut user: UserInfo) -> UserInfo {
    if !user
        .groups
        .iter()
        .any(|g| g == AUTHENTICATED || g == UNAUTHENTICATED)
    {
        user.groups.push(AUTHENTICATED.to_owned());
    }
    user
}

/// The anonymous user.
pub fn anonymous() -> UserInfo {
    UserInfo {
        name: ANONYMOUS.to_owned(),
        groups: vec![UNAUTHENTICATED.to_owned()],
        uid: None,
        extra: Default::default(),
    }
}

/// Combines the outcomes in order (Go's union authenticator wrapped by `NewFailOnError` with
/// anonymous): the first user wins; else any failure is 401; else anonymous if allowed.
///
/// # Errors
/// [`Unauthenticated`] with the failures joined.
pub fn decide(
    outcomes: Vec<Outcome>,
    anonymous_allowed: bool,
) -> Result<UserInfo, Unauthenticated> {
    let mut failures = Vec::new();
    for o in outcomes {
        match o {
            Outcome::User(u) => return Ok(with_authenticated_group(u)),
            Outcome::Abstain => {}
            Outcome::Failed(e) => failures.push(e),
        }
    }
    if !failures.is_empty() {
        return Err(Unauthenticated {
            message: failures.join("; "),
        });
    }
    if anonymous_allowed {
        Ok(anonymous())
    } else {
        Err(Unauthenticated {
            message: "no credentials and anonymous access is disabled".to_owned(),
        })
    }
}

/// The delegated authenticator chain.
pub struct DelegatingAuthenticator {
    client_auth: Arc<DynamicClientAuth>,
    tokens: Option<TokenReviewAuthenticator>,
    anonymous: bool,
}

impl std::fmt::Debug for DelegatingAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DelegatingAuthenticator")
            .field("tokens", &self.tokens)
            .field("anonymous", &self.anonymous)
            .finish_non_exhaustive()
    }
}

impl DelegatingAuthenticator {
    /// The chain over `client_auth` (front proxy and client CA), `tokens` (TokenReview, if
    /// any) and anonymous access when `anonymous` is true (`--anonymous-auth`).
    pub fn new(
        client_auth: Arc<DynamicClientAuth>,
        tokens: Option<TokenReviewAuthenticator>,
        anonymous: bool,
    ) -> Self {
        Self {
            client_auth,
            tokens,
            anonymous,
        }
    }
}

#[async_trait::async_trait]
impl Authenticator for DelegatingAuthenticator {
    async fn authenticate(&self, req: &AuthRequest<'_>) -> Result<UserInfo, Unauthenticated> {
        let config = self.client_auth.current();
        let chain = req.peer_certificates;
        let mut outcomes = Vec::with_capacity(3);
        if let Some(rh) = &config.request_header {
            let o = requestheader::authenticate(rh, req.headers, chain);
            if matches!(o, Outcome::User(_)) {
                return decide(vec![o], self.anonymous);
            }
            outcomes.push(o);
        }
        if let Some(ca) = &config.client_ca {
            let o = x509::authenticate(ca, chain);
            if matches!(o, Outcome::User(_)) {
                return decide(vec![o], self.anonymous);
            }
            outcomes.push(o);
        }
        if let Some(tokens) = &self.tokens
            && let Some(t) = token::bearer_token(req.headers)
        {
            outcomes.push(tokens.authenticate_token(t).await);
        }
        decide(outcomes, self.anonymous)
    }
}

#[cfg(test)]
mod tests;
