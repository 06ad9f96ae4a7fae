//! devenv's kubelet API: what kube-apiserver asks a kubelet for `kubectl logs`, `kubectl exec`
//! and `kubectl port-forward`, served for every devenv node by one HTTPS server on the address
//! the nodes advertise (`10.244.0.1:10250`).
//!
//! ```text
//!  kubectl ─(WebSocket v5 or SPDY)─► kube-apiserver ─(HTTPS, client cert; SPDY/3.1 upgrade)─►
//!      this server: /containerLogs/… → logs   (the runner's log file)
//!                   /exec/…          → exec   (nsenter into the container, pty with -t)
//!                   /portForward/…   → portforward (127.0.0.1:<port> in the pod's netns)
//! ```
//!
//! kube-apiserver turns kubectl's WebSocket streams into SPDY toward a kubelet unless the Node
//! declares the `ExtendWebSocketsToKubelet` feature (ours do not), and passes a SPDY client's
//! upgrade through, so one protocol — [`spdy`] — serves both kubectl paths.
//! TLS: a serving certificate from the cluster CA; the client must present exactly
//! kube-apiserver's kubelet client certificate (anything else is refused).

pub mod exec;
pub mod http;
pub mod logs;
pub mod portforward;
pub mod spdy;
pub mod target;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite};
use tokio::net::TcpListener;

use self::http::{Request, Route};

/// The kubelet port the nodes advertise.
pub const PORT: u16 = 10250;

/// Where the server listens and what it trusts.
#[derive(Debug, Clone)]
pub struct KubeletConfig {
    /// Listen address.
    pub addr: SocketAddr,
    /// The cluster CA (`ca.crt`).
    pub ca: PathBuf,
    /// The serving certificate.
    pub cert: PathBuf,
    /// Its key.
    pub key: PathBuf,
    /// The only client certificate accepted (kube-apiserver's kubelet client certificate).
    pub client_cert: PathBuf,
    /// The environment's state directory (pods' specs and logs).
    pub root: PathBuf,
}

/// An error starting the server.
#[derive(Debug, thiserror::Error)]
pub enum KubeletError {
    /// A certificate or key is unreadable.
    #[error("cannot read {path}: {message}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Tls(String),
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

fn pem_err(path: &std::path::Path, e: impl std::fmt::Display) -> KubeletError {
    KubeletError::Pem {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// The TLS acceptor of `cfg`, and the DER of the one accepted client certificate.
///
/// # Errors
/// [`KubeletError`].
pub fn tls(cfg: &KubeletConfig) -> Result<(tokio_rustls::TlsAcceptor, Vec<u8>), KubeletError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(&cfg.ca).map_err(|e| pem_err(&cfg.ca, e))? {
        roots
            .add(c.map_err(|e| pem_err(&cfg.ca, e))?)
            .map_err(|e| pem_err(&cfg.ca, e))?;
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .map_err(|e| KubeletError::Tls(e.to_string()))?;
    let chain = CertificateDer::pem_file_iter(&cfg.cert)
        .map_err(|e| pem_err(&cfg.cert, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_err(&cfg.cert, e))?;
    let key = PrivateKeyDer::from_pem_file(&cfg.key).map_err(|e| pem_err(&cfg.key, e))?;
    let client = CertificateDer::from_pem_file(&cfg.client_cert)
        .map_err(|e| pem_err(&cfg.client_cert, e))?;
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| KubeletError::Tls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| KubeletError::Tls(e.to_string()))?;
    Ok((
        tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        client.as_ref().to_vec(),
    ))
}

/// Binds the server (so the caller knows it listens) and returns the task that serves until
/// `stop` completes.
///
/// # Errors
/// [`KubeletError`].
pub async fn bind(
    client: kube::Client,
    cfg: KubeletConfig,
) -> Result<impl Future<Output = ()> + Send + use<>, KubeletError> {
    let (acceptor, allowed) = tls(&cfg)?;
    let listener = TcpListener::bind(cfg.addr)
        .await
        .map_err(|source| KubeletError::Bind {
            addr: cfg.addr,
            source,
        })?;
    let ctx = Arc::new(Ctx {
        client,
        root: cfg.root,
        allowed,
    });
    Ok(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let ctx = ctx.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(tcp).await {
                    let presented = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|c| c.first())
                        .map(|c| c.as_ref().to_vec());
                    connection(tls, presented == Some(ctx.allowed.clone()), &ctx).await;
                }
            });
        }
    })
}

struct Ctx {
    client: kube::Client,
    root: PathBuf,
    allowed: Vec<u8>,
}

async fn read_head<S: AsyncRead + Unpin>(io: &mut S) -> Option<(Request, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some((req, n)) = http::parse_head(&buf).ok()? {
            return Some((req, buf.split_off(n)));
        }
        let n = io.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn offered(req: &Request, protocol: &str) -> bool {
    req.header_values("x-stream-protocol-version")
        .iter()
        .any(|p| p == protocol)
}

fn is_spdy_upgrade(req: &Request) -> bool {
    req.header("upgrade")
        .is_some_and(|u| u.eq_ignore_ascii_case("spdy/3.1"))
}

async fn connection<S>(mut io: S, authorized: bool, ctx: &Ctx)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Some((req, early)) = read_head(&mut io).await else {
        return;
    };
    if !authorized {
        let _ = http::respond(
            &mut io,
            403,
            "Forbidden: only kube-apiserver may call this kubelet\n",
        )
        .await;
        return;
    }
    match http::route(&req.path) {
        Route::Healthz => {
            let _ = http::respond(&mut io, 200, "ok").await;
        }
        Route::NotFound => {
            let _ = http::respond(&mut io, 404, "404 page not found\n").await;
        }
        Route::Logs {
            namespace,
            pod,
            container,
        } => {
            let file = crate::pods::container_log(&ctx.root, &namespace, &pod, &container);
            let opts = logs::options(&req);
            let uid = match target::pod_uid(&ctx.client, &namespace, &pod).await {
                Ok(uid) => uid,
                Err(e) => {
                    let _ = http::respond(&mut io, 404, &e.to_string()).await;
                    return;
                }
            };
            let spec = target::spec_file(&ctx.root, &uid, &container);
            let running = move || target::find_init(&spec).is_some();
            if let Err(e) =
                logs::serve(&mut io, &file, opts, &uid, (&pod, &container), running).await
            {
                let code = match e {
                    logs::LogError::NoLog(_) => 404,
                    logs::LogError::NoPrevious { .. } => 400,
                };
                let _ = http::respond(&mut io, code, &e.to_string()).await;
            }
        }
        Route::Exec {
            namespace,
            pod,
            container,
        } => {
            if !is_spdy_upgrade(&req) {
                let _ = http::respond(&mut io, 400, "unable to upgrade: missing upgrade headers in request (this kubelet speaks SPDY/3.1)\n").await;
                return;
            }
            if !offered(&req, exec::PROTOCOL) {
                let _ = http::respond(&mut io, 403, &format!("unable to upgrade: none of the offered stream protocols is supported (want {})\n", exec::PROTOCOL)).await;
                return;
            }
            let t = match target::exec_target(&ctx.client, &ctx.root, &namespace, &pod, &container)
                .await
            {
                Ok(t) => t,
                Err(e) => {
                    let code = match e {
                        target::TargetError::NotRunning { .. } => 400,
                        _ => 404,
                    };
                    let _ = http::respond(&mut io, code, &e.to_string()).await;
                    return;
                }
            };
            if http::upgrade(&mut io, exec::PROTOCOL).await.is_err() {
                return;
            }
            let session = spdy::session::start(io, early);
            exec::serve(session, t, exec::ExecOptions::from_request(&req)).await;
        }
        Route::PortForward { namespace, pod } => {
            if !is_spdy_upgrade(&req) || !offered(&req, portforward::PROTOCOL) {
                let _ = http::respond(
                    &mut io,
                    400,
                    "unable to upgrade: this kubelet speaks SPDY/3.1 portforward.k8s.io\n",
                )
                .await;
                return;
            }
            let uid = match target::pod_uid(&ctx.client, &namespace, &pod).await {
                Ok(u) => u,
                Err(e) => {
                    let _ = http::respond(&mut io, 404, &e.to_string()).await;
                    return;
                }
            };
            if http::upgrade(&mut io, portforward::PROTOCOL).await.is_err() {
                return;
            }
            let session = spdy::session::start(io, early);
            portforward::serve(session, target::netns_file(&uid)).await;
        }
    }
}
