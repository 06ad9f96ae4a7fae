//! Serving over the network (Go's `apiserver/pkg/server/secure_serving.go` and
//! `genericapiserver.go` shutdown): HTTPS with rustls (HTTP/1.1 and HTTP/2 by ALPN), an
//! optional plain-HTTP listener on loopback, and graceful shutdown — stop accepting, fail
//! `/readyz`, end watches, let in-flight requests finish until a deadline.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::handler::{ConnInfo, handle};
use crate::server::{ApiServer, State};
use crate::tls::{
    Reload, ServingCertResolver, ServingCerts, TlsError, TlsSource, load_or_generate,
    server_config_with,
};

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The serving certificate could not be loaded or generated.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// A listener could not be bound.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The insecure listener must be bound to a loopback address.
    #[error("the insecure (plain HTTP) listener must bind a loopback address, not {0}")]
    InsecureNotLoopback(SocketAddr),
    /// Waiting for a shutdown signal failed.
    #[error("installing the signal handler: {0}")]
    Signal(#[source] std::io::Error),
}

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServingOptions {
    /// HTTPS address (`--bind-address` + `--secure-port`); port 0 picks a free port.
    pub secure_addr: SocketAddr,
    /// The serving certificate.
    pub tls: TlsSource,
    /// Optional plain-HTTP address for development; must be loopback.
    pub insecure_addr: Option<SocketAddr>,
    /// How long in-flight requests may run after shutdown begins (Go's
    /// `--shutdown-send-retry-after`/`ShutdownTimeout`, 60 s by default).
    pub shutdown_timeout: Duration,
    /// HTTP/2 streams per connection (kube-apiserver uses 1000; the aggregator multiplexes
    /// many watches over few connections).
    pub http2_max_streams: u32,
    /// TLS handshake timeout.
    pub handshake_timeout: Duration,
    /// How often certificate files ([`TlsSource::Files`]) are checked for changes.
    pub cert_reload_interval: Duration,
    /// The subjects of the CAs client certificates are verified against (client CA and
    /// front-proxy CA), sent as hints in the TLS `CertificateRequest`; they may change while the
    /// server runs (e.g. [`crate::authn::DynamicClientAuth::hints`]).
    pub client_ca_hints: Option<ClientCaHints>,
}

/// The CA subjects offered to clients, kept current by whoever owns the CA bundles.
pub type ClientCaHints = tokio::sync::watch::Receiver<Vec<rustls::DistinguishedName>>;

impl ServingOptions {
    /// HTTPS on `addr` with a self-signed certificate in `cert_dir`, no plain-HTTP listener.
    pub fn self_signed(addr: SocketAddr, cert_dir: impl Into<std::path::PathBuf>) -> Self {
        Self {
            secure_addr: addr,
            tls: TlsSource::SelfSigned {
                cert_dir: cert_dir.into(),
                extra_sans: Vec::new(),
            },
            insecure_addr: None,
            shutdown_timeout: Duration::from_secs(60),
            http2_max_streams: 1000,
            handshake_timeout: Duration::from_secs(10),
            cert_reload_interval: Duration::from_secs(5),
            client_ca_hints: None,
        }
    }
}

/// A server whose listeners are bound; [`BoundServer::run`] serves until shutdown.
pub struct BoundServer {
    server: ApiServer,
    secure: TcpListener,
    secure_addr: SocketAddr,
    insecure: Option<(TcpListener, SocketAddr)>,
    tls: Arc<DynamicTls>,
    certs: ServingCerts,
    options: ServingOptions,
    stop: CancellationToken,
}

impl ApiServer {
    /// Loads or generates the certificate and binds the listeners.
    ///
    /// # Errors
    /// [`ServeError`] for certificate, bind or option errors.
    pub async fn bind(self, options: ServingOptions) -> Result<BoundServer, ServeError> {
        if let Some(addr) = options.insecure_addr
            && !addr.ip().is_loopback()
        {
            return Err(ServeError::InsecureNotLoopback(addr));
        }
        let certs = load_or_generate(&options.tls)?;
        let resolver = Arc::new(ServingCertResolver::new(&options.tls, certs.clone())?);
        let hints = options
            .client_ca_hints
            .as_ref()
            .map(|h| h.borrow().clone())
            .unwrap_or_default();
        let config = server_config_with(resolver.clone(), hints.clone())?;
        let tls = Arc::new(DynamicTls {
            resolver,
            hints: options.client_ca_hints.clone(),
            config: std::sync::Mutex::new((hints, config)),
        });
        let bind = |addr: SocketAddr| async move {
            TcpListener::bind(addr)
                .await
                .map_err(|source| ServeError::Bind { addr, source })
        };
        let secure = bind(options.secure_addr).await?;
        let secure_addr = secure.local_addr().map_err(|source| ServeError::Bind {
            addr: options.secure_addr,
            source,
        })?;
        let insecure = match options.insecure_addr {
            Some(addr) => {
                let l = bind(addr).await?;
                let a = l
                    .local_addr()
                    .map_err(|source| ServeError::Bind { addr, source })?;
                Some((l, a))
            }
            None => None,
        };
        Ok(BoundServer {
            server: self,
            secure,
            secure_addr,
            insecure,
            tls,
            certs,
            options,
            stop: CancellationToken::new(),
        })
    }
}

/// Stops a running server from another task.
#[derive(Debug, Clone)]
pub struct ShutdownHandle(CancellationToken);

impl ShutdownHandle {
    /// Begins graceful shutdown.
    pub fn shutdown(&self) {
        self.0.cancel();
    }
}

impl std::fmt::Debug for BoundServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundServer")
            .field("secure_addr", &self.secure_addr)
            .field("insecure_addr", &self.insecure_addr())
            .finish_non_exhaustive()
    }
}

impl BoundServer {
    /// The HTTPS address actually bound.
    pub fn secure_addr(&self) -> SocketAddr {
        self.secure_addr
    }

    /// The plain-HTTP address actually bound, if any.
    pub fn insecure_addr(&self) -> Option<SocketAddr> {
        self.insecure.as_ref().map(|(_, a)| *a)
    }

    /// The serving certificate at start (with the generated CA, for clients).
    pub fn certs(&self) -> &ServingCerts {
        &self.certs
    }

    /// The serving certificate, swappable while the server runs.
    pub fn cert_resolver(&self) -> Arc<ServingCertResolver> {
        self.tls.resolver.clone()
    }

    /// A handle that begins graceful shutdown.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(self.stop.clone())
    }

    /// Serves until SIGTERM or Ctrl-C, then shuts down gracefully.
    ///
    /// # Errors
    /// [`ServeError::Signal`] if the signal handlers cannot be installed.
    pub async fn run_until_signal(self) -> Result<(), ServeError> {
        let handle = self.shutdown_handle();
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(ServeError::Signal)?;
        tokio::spawn(async move {
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM received, shutting down"),
                _ = tokio::signal::ctrl_c() => tracing::info!("interrupt received, shutting down"),
            }
            handle.shutdown();
        });
        self.run().await;
        Ok(())
    }

    /// Serves until [`ShutdownHandle::shutdown`], then: `/readyz` fails, listeners close,
    /// watches end, and in-flight requests get `shutdown_timeout` to finish.
    pub async fn run(self) {
        let state = self.server.state.clone();
        let graceful = Arc::new(GracefulShutdown::new());
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http2()
            .max_concurrent_streams(self.options.http2_max_streams);
        let builder = Arc::new(builder);
        tracing::info!(addr = %self.secure_addr, "serving securely");
        let reloader = tokio::spawn(reload_loop(
            self.tls.resolver.clone(),
            self.options.cert_reload_interval,
            self.stop.clone(),
        ));
        let mut tasks: Vec<JoinHandle<()>> = vec![tokio::spawn(accept_loop(
            self.secure,
            Some((self.tls.clone(), self.options.handshake_timeout)),
            state.clone(),
            builder.clone(),
            graceful.clone(),
            self.stop.clone(),
        ))];
        if let Some((listener, addr)) = self.insecure {
            tracing::info!(%addr, "serving plain HTTP on loopback");
            tasks.push(tokio::spawn(accept_loop(
                listener,
                None,
                state.clone(),
                builder.clone(),
                graceful.clone(),
                self.stop.clone(),
            )));
        }
        self.stop.cancelled().await;
        tracing::info!("shutting down: no new connections, ending watches");
        self.server.begin_shutdown();
        reloader.abort();
        for t in tasks {
            let _ = t.await;
        }
        let graceful = Arc::try_unwrap(graceful).unwrap_or_else(|_| GracefulShutdown::new());
        if tokio::time::timeout(self.options.shutdown_timeout, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("in-flight requests did not finish before the shutdown deadline");
        }
        tracing::info!("shut down");
    }
}

/// The TLS side of the listener: the serving certificate (reloadable) and the client-CA hints
/// (which may change, so the rustls configuration is rebuilt when they do).
struct DynamicTls {
    resolver: Arc<ServingCertResolver>,
    hints: Option<ClientCaHints>,
    config: std::sync::Mutex<(Vec<rustls::DistinguishedName>, Arc<rustls::ServerConfig>)>,
}

impl DynamicTls {
    /// An acceptor with the current configuration.
    fn acceptor(&self) -> TlsAcceptor {
        let mut guard = match self.config.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if let Some(h) = &self.hints {
            let now = h.borrow().clone();
            if !same_names(&now, &guard.0) {
                match server_config_with(self.resolver.clone(), now.clone()) {
                    Ok(c) => *guard = (now, c),
                    Err(e) => tracing::warn!(error = %e, "client CA hints not updated"),
                }
            }
        }
        TlsAcceptor::from(guard.1.clone())
    }
}

fn same_names(a: &[rustls::DistinguishedName], b: &[rustls::DistinguishedName]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.as_ref() == y.as_ref())
}

/// Rereads the certificate files every `interval`; a bad pair is logged and the old
/// certificate kept.
async fn reload_loop(
    resolver: Arc<ServingCertResolver>,
    interval: Duration,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
        match resolver.reload() {
            Ok(Reload::Unchanged) => {}
            Ok(Reload::Swapped) => tracing::info!("serving certificate reloaded from its files"),
            Err(e) => {
                tracing::warn!(error = %e, "serving certificate files not reloaded; keeping the previous certificate")
            }
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<(Arc<DynamicTls>, Duration)>,
    state: Arc<State>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    graceful: Arc<GracefulShutdown>,
    stop: CancellationToken,
) {
    loop {
        let (tcp, peer) = tokio::select! {
            () = stop.cancelled() => return,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let watcher = graceful.watcher();
        let state = state.clone();
        let builder = builder.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                Some((tls, timeout)) => {
                    let acceptor = tls.acceptor();
                    let stream = match tokio::time::timeout(timeout, acceptor.accept(tcp)).await {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake timed out");
                            return;
                        }
                    };
                    let certs = stream
                        .get_ref()
                        .1
                        .peer_certificates()
                        .map(|c| Arc::new(c.iter().map(|c| c.clone().into_owned()).collect()));
                    let info = ConnInfo {
                        remote_addr: Some(peer),
                        peer_certificates: certs,
                    };
                    let svc = service(state, info);
                    let conn = builder
                        .serve_connection(TokioIo::new(stream), svc)
                        .into_owned();
                    if let Err(e) = watcher.watch(conn).await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                }
                None => {
                    let info = ConnInfo {
                        remote_addr: Some(peer),
                        peer_certificates: None,
                    };
                    let svc = service(state, info);
                    let conn = builder
                        .serve_connection(TokioIo::new(tcp), svc)
                        .into_owned();
                    if let Err(e) = watcher.watch(conn).await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                }
            }
        });
    }
}

/// The per-connection hyper service.
#[derive(Clone)]
struct Service {
    state: Arc<State>,
    info: ConnInfo,
}

impl hyper::service::Service<http::Request<Incoming>> for Service {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, req: http::Request<Incoming>) -> Self::Future {
        let state = self.state.clone();
        let info = self.info.clone();
        Box::pin(async move {
            let unread = UnreadBody::default();
            let req = req.map(|inner| {
                Body::new(RequestBody {
                    inner: Some(inner),
                    unread: unread.clone(),
                })
            });
            let resp = handle(state, req, info).await;
            Ok(resp.map(|inner| Body::new(ResponseBody { inner, unread })))
        })
    }
}

/// A request body the handler stopped reading (e.g. over the size limit), kept until the
/// response has been sent and then drained for a while. Dropped earlier, h2 would reset the
/// stream with `CANCEL` before the answer went out; dropped right after it, the reset
/// (`NO_ERROR`) reaches a client that is still sending — blocked by flow control on the body
/// nobody reads — before it has looked at the answer, and curl gives up (exit 92). Discarding
/// what it still sends lets it finish and read the 413.
type UnreadBody = Arc<std::sync::Mutex<Option<Incoming>>>;

/// At most this much of an unread body is discarded after the response (Go's HTTP/1 server
/// discards 256 KiB; a body over the 3 MiB limit may be a few MiB more).
const DRAIN_BYTES: usize = 4 << 20;
/// ... and for at most this long.
const DRAIN_TIME: Duration = Duration::from_secs(5);

/// The request body as the handler sees it: hands itself to the [`UnreadBody`] slot when
/// dropped before its end.
struct RequestBody {
    inner: Option<Incoming>,
    unread: UnreadBody,
}

impl hyper::body::Body for RequestBody {
    type Data = bytes::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        match self.inner.as_mut() {
            Some(b) => Pin::new(b).poll_frame(cx),
            None => std::task::Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner
            .as_ref()
            .is_none_or(hyper::body::Body::is_end_stream)
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.as_ref().map_or_else(
            || hyper::body::SizeHint::with_exact(0),
            hyper::body::Body::size_hint,
        )
    }
}

impl Drop for RequestBody {
    fn drop(&mut self) {
        if let Some(body) = self.inner.take()
            && !hyper::body::Body::is_end_stream(&body)
            && let Ok(mut slot) = self.unread.lock()
        {
            *slot = Some(body);
        }
    }
}

/// The response body; when hyper drops it (its end has been sent), an unread request body
/// left in the [`UnreadBody`] slot is drained in the background.
struct ResponseBody {
    inner: Body,
    unread: UnreadBody,
}

impl hyper::body::Body for ResponseBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for ResponseBody {
    fn drop(&mut self) {
        let unread = self.unread.lock().ok().and_then(|mut slot| slot.take());
        if let Some(body) = unread
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(drain(body));
        }
    }
}

/// Discards up to [`DRAIN_BYTES`] of `body` for up to [`DRAIN_TIME`], then drops it (a body
/// still unfinished then is reset with `NO_ERROR`, its response having been sent).
async fn drain(mut body: Incoming) {
    use http_body_util::BodyExt as _;
    let mut left = DRAIN_BYTES;
    let discard = async {
        while let Some(Ok(frame)) = body.frame().await {
            if let Some(data) = frame.data_ref() {
                if data.len() >= left {
                    return;
                }
                left -= data.len();
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, discard).await;
}

fn service(state: Arc<State>, info: ConnInfo) -> Service {
    Service { state, info }
}

/// The loopback address for a port (handy for the insecure listener).
pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
}
