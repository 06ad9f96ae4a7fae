//! Delegated security (everything but `--standalone`): who is asking is decided by the cluster's
//! front proxy, client CA and TokenReview; what they may do by SubjectAccessReview; writes pass
//! NamespaceLifecycle. Flags carry Kubernetes' names (`k8s.io/apiserver/pkg/server/options`
//! `DelegatingAuthenticationOptions`, `DelegatingAuthorizationOptions`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use apiserver::admission::NamespaceLifecycle;
use apiserver::authn::configmap::{self, ClientAuthFlags};
use apiserver::authn::{DelegatingAuthenticator, DynamicClientAuth, TokenReviewAuthenticator};
use apiserver::authz::SubjectAccessReviewAuthorizer;
use apiserver::query::parse_go_duration;
use apiserver::serve::ClientCaHints;
use apiserver::{AdmissionChain, AlwaysAllow, ApiServerBuilder};
use clap::{ArgAction, Args};

/// How often the client CAs and front-proxy settings are reread (files and ConfigMap).
const CLIENT_AUTH_REFRESH: Duration = Duration::from_secs(30);

/// Errors of delegated security set-up.
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    /// A kubeconfig could not be loaded or a client built.
    #[error("kubernetes client from {source_name}: {message}")]
    Client {
        /// Which kubeconfig (or in-cluster).
        source_name: String,
        /// Why.
        message: String,
    },
    /// The client CA / front-proxy configuration could not be loaded.
    #[error("authentication configuration: {0}")]
    Authn(#[from] apiserver::authn::AuthnError),
}

/// The security flags (ignored with `--standalone`).
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct SecurityOptions {
    /// kubeconfig of the cluster (namespace informer for NamespaceLifecycle, and the default
    /// for the two below); in-cluster credentials or $KUBECONFIG when not given.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,

    /// kubeconfig with permission to create tokenreviews and read the
    /// extension-apiserver-authentication ConfigMap (default: --kubeconfig).
    #[arg(long)]
    pub authentication_kubeconfig: Option<PathBuf>,

    /// kubeconfig with permission to create subjectaccessreviews (default: --kubeconfig).
    #[arg(long)]
    pub authorization_kubeconfig: Option<PathBuf>,

    /// CA bundle verifying client certificates (user = CN, groups = O). Overrides the
    /// ConfigMap's client-ca-file.
    #[arg(long)]
    pub client_ca_file: Option<PathBuf>,

    /// CA bundle verifying the front proxy's client certificate before X-Remote-* headers are
    /// believed. Overrides all the ConfigMap's requestheader keys.
    #[arg(long)]
    pub requestheader_client_ca_file: Option<PathBuf>,

    /// Common names the front proxy's certificate may have (empty: any signed by the CA).
    #[arg(long, value_delimiter = ',')]
    pub requestheader_allowed_names: Vec<String>,

    /// Headers holding the user name.
    #[arg(long, value_delimiter = ',', default_value = "x-remote-user")]
    pub requestheader_username_headers: Vec<String>,

    /// Headers holding the groups.
    #[arg(long, value_delimiter = ',', default_value = "x-remote-group")]
    pub requestheader_group_headers: Vec<String>,

    /// Prefixes of headers holding extra attributes.
    #[arg(long, value_delimiter = ',', default_value = "x-remote-extra-")]
    pub requestheader_extra_headers_prefix: Vec<String>,

    /// Headers holding the user's UID (none by default).
    #[arg(long, value_delimiter = ',')]
    pub requestheader_uid_headers: Vec<String>,

    /// Do not read kube-system/extension-apiserver-authentication; use only the flags.
    #[arg(long)]
    pub authentication_skip_lookup: bool,

    /// Start even if the ConfigMap cannot be read (keep retrying in the background).
    #[arg(long)]
    pub authentication_tolerate_lookup_failure: bool,

    /// How long TokenReview answers are cached (Go duration).
    #[arg(long, default_value = "10s", value_parser = duration)]
    pub authentication_token_webhook_cache_ttl: Duration,

    /// Let requests without credentials in as system:anonymous (then authorized like anyone).
    #[arg(long, default_value_t = true, action = ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true")]
    pub anonymous_auth: bool,

    /// How long allowed SubjectAccessReview answers are cached.
    #[arg(long, default_value = "10s", value_parser = duration)]
    pub authorization_webhook_cache_authorized_ttl: Duration,

    /// How long denied SubjectAccessReview answers are cached.
    #[arg(long, default_value = "10s", value_parser = duration)]
    pub authorization_webhook_cache_unauthorized_ttl: Duration,

    /// Paths allowed without authorization (a trailing `*` matches a prefix).
    #[arg(long, value_delimiter = ',', default_value = "/healthz,/readyz,/livez")]
    pub authorization_always_allow_paths: Vec<String>,
}

fn duration(s: &str) -> Result<Duration, String> {
    parse_go_duration(s).ok_or_else(|| format!("{s:?} is not a duration like 10s or 1m30s"))
}

impl SecurityOptions {
    /// The client CA / front-proxy flags.
    pub fn client_auth_flags(&self) -> ClientAuthFlags {
        ClientAuthFlags {
            client_ca_file: self.client_ca_file.clone(),
            requestheader_client_ca_file: self.requestheader_client_ca_file.clone(),
            requestheader_allowed_names: self.requestheader_allowed_names.clone(),
            requestheader_username_headers: self.requestheader_username_headers.clone(),
            requestheader_group_headers: self.requestheader_group_headers.clone(),
            requestheader_extra_headers_prefix: self.requestheader_extra_headers_prefix.clone(),
            requestheader_uid_headers: self.requestheader_uid_headers.clone(),
        }
    }

    /// Problems with the flags, in words a user can act on.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for p in &self.authorization_always_allow_paths {
            if !p.starts_with('/') {
                problems.push(format!(
                    "--authorization-always-allow-paths: {p:?} must start with '/'"
                ));
            }
        }
        if self.requestheader_client_ca_file.is_none()
            && self.authentication_skip_lookup
            && !self.requestheader_allowed_names.is_empty()
        {
            problems.push(
                "--requestheader-allowed-names needs --requestheader-client-ca-file when --authentication-skip-lookup is set"
                    .to_owned(),
            );
        }
        problems
    }
}

/// What delegated mode adds to the server.
pub struct Delegated {
    /// The authentication chain.
    pub authenticator: Arc<DelegatingAuthenticator>,
    /// The SubjectAccessReview authorizer.
    pub authorizer: Arc<SubjectAccessReviewAuthorizer>,
    /// NamespaceLifecycle.
    pub admission: AdmissionChain,
    /// Paths allowed without authorization.
    pub always_allow: AlwaysAllow,
    /// The client-CA subjects for the TLS listener.
    pub hints: ClientCaHints,
}

impl std::fmt::Debug for Delegated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delegated")
            .field("admission", &self.admission)
            .field("always_allow", &self.always_allow)
            .finish_non_exhaustive()
    }
}

impl Delegated {
    /// Installs the parts into a server builder.
    pub fn apply(&self, builder: ApiServerBuilder) -> ApiServerBuilder {
        builder
            .authenticator(self.authenticator.clone())
            .authorizer(self.authorizer.clone())
            .always_allow(self.always_allow.clone())
            .admission(self.admission.clone())
    }
}

async fn client(path: Option<&PathBuf>) -> Result<kube::Client, SecurityError> {
    let source_name = path.map_or_else(
        || "in-cluster config or $KUBECONFIG".to_owned(),
        |p| p.display().to_string(),
    );
    let err = |message: String| SecurityError::Client {
        source_name: source_name.clone(),
        message,
    };
    let config = match path {
        Some(p) => {
            let kubeconfig =
                kube::config::Kubeconfig::read_from(p).map_err(|e| err(e.to_string()))?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
                .await
                .map_err(|e| err(e.to_string()))?
        }
        None => kube::Config::infer()
            .await
            .map_err(|e| err(e.to_string()))?,
    };
    kube::Client::try_from(config).map_err(|e| err(e.to_string()))
}

/// Builds the delegated authenticator, authorizer and admission, and starts their background
/// work (ConfigMap refresh, namespace informer).
///
/// # Errors
/// [`SecurityError`] when a client cannot be built or the first read of the client CAs fails
/// (unless `--authentication-tolerate-lookup-failure`).
pub async fn delegated(options: &SecurityOptions) -> Result<Delegated, SecurityError> {
    apiserver::tls::install_default_crypto_provider();
    let main = client(options.kubeconfig.as_ref()).await?;
    let authn_client = match &options.authentication_kubeconfig {
        Some(p) => client(Some(p)).await?,
        None => main.clone(),
    };
    let authz_client = match &options.authorization_kubeconfig {
        Some(p) => client(Some(p)).await?,
        None => main.clone(),
    };

    let flags = options.client_auth_flags();
    let lookup = (!options.authentication_skip_lookup).then(|| authn_client.clone());
    let initial = match configmap::load(&flags, lookup.as_ref()).await {
        Ok(c) => c,
        Err(e) if options.authentication_tolerate_lookup_failure => {
            tracing::warn!(error = %e, "starting without the authentication ConfigMap; retrying in the background");
            configmap::load(&flags, None).await?
        }
        Err(e) => return Err(e.into()),
    };
    if initial.request_header.is_none() {
        tracing::warn!(
            "no requestheader client CA: requests through kube-aggregator will not be authenticated"
        );
    }
    let client_auth = Arc::new(DynamicClientAuth::new(initial));
    configmap::spawn_refresh(flags, lookup, client_auth.clone(), CLIENT_AUTH_REFRESH);

    let tokens = TokenReviewAuthenticator::new(
        authn_client,
        Vec::new(),
        options.authentication_token_webhook_cache_ttl,
    );
    let hints = client_auth.hints();
    let authenticator = Arc::new(DelegatingAuthenticator::new(
        client_auth,
        Some(tokens),
        options.anonymous_auth,
    ));
    let authorizer = Arc::new(SubjectAccessReviewAuthorizer::new(
        authz_client,
        options.authorization_webhook_cache_authorized_ttl,
        options.authorization_webhook_cache_unauthorized_ttl,
    ));
    let admission = AdmissionChain::new().with(NamespaceLifecycle::start(main));
    Ok(Delegated {
        authenticator,
        authorizer,
        admission,
        always_allow: AlwaysAllow {
            paths: options.authorization_always_allow_paths.clone(),
        },
        hints,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        security: SecurityOptions,
    }

    fn parse(args: &[&str]) -> SecurityOptions {
        Cli::try_parse_from(std::iter::once("x").chain(args.iter().copied()))
            .unwrap()
            .security
    }

    #[test]
    fn defaults_are_kubernetes_defaults() {
        let o = parse(&[]);
        assert!(o.anonymous_auth);
        assert_eq!(
            o.authentication_token_webhook_cache_ttl,
            Duration::from_secs(10)
        );
        assert_eq!(
            o.authorization_webhook_cache_authorized_ttl,
            Duration::from_secs(10)
        );
        assert_eq!(
            o.authorization_webhook_cache_unauthorized_ttl,
            Duration::from_secs(10)
        );
        assert_eq!(
            o.authorization_always_allow_paths,
            vec!["/healthz", "/readyz", "/livez"]
        );
        assert_eq!(o.requestheader_username_headers, vec!["x-remote-user"]);
        assert!(o.requestheader_uid_headers.is_empty());
        assert!(o.validate().is_empty());
    }

    #[test]
    fn flags_parse_as_go_spells_them() {
        let o = parse(&[
            "--anonymous-auth=false",
            "--authentication-token-webhook-cache-ttl=1m30s",
            "--requestheader-allowed-names=front-proxy-client,aggregator",
            "--authorization-always-allow-paths=/healthz,metrics",
            "--authentication-skip-lookup",
        ]);
        assert!(!o.anonymous_auth);
        assert_eq!(
            o.authentication_token_webhook_cache_ttl,
            Duration::from_secs(90)
        );
        assert_eq!(o.requestheader_allowed_names.len(), 2);
        assert_eq!(o.validate().len(), 2, "{:?}", o.validate());
        assert!(parse(&["--anonymous-auth"]).anonymous_auth);
        assert!(
            Cli::try_parse_from(["x", "--authorization-webhook-cache-authorized-ttl=soon"])
                .is_err()
        );
    }
}
