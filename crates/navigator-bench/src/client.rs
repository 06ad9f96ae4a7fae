//! The HTTP client over TLS (hyper's connection API with tokio-rustls): one connection per
//! worker, HTTP/1.1 or HTTP/2, and the endpoint of a server given by URL or kubeconfig.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use navigator_bench::kubeconfig::{self, CaSource};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};

use crate::cli::{Args, Protocol};

/// Where and how to connect.
#[derive(Clone)]
pub(crate) struct Endpoint {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) base: String,
    pub(crate) server_name: ServerName<'static>,
    pub(crate) tls: Arc<rustls::ClientConfig>,
    pub(crate) protocol: Protocol,
    pub(crate) token: Option<String>,
    pub(crate) timeout: Duration,
}

pub(crate) enum Sender {
    H1(hyper::client::conn::http1::SendRequest<Full<Bytes>>),
    H2(hyper::client::conn::http2::SendRequest<Full<Bytes>>),
}

/// A response with its whole body.
pub(crate) struct Resp {
    pub(crate) status: StatusCode,
    pub(crate) body: Bytes,
}

impl Resp {
    pub(crate) fn describe(&self, method: &Method, path: &str) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let snippet: String = text.chars().take(300).collect();
        format!("{method} {path}: {} {snippet}", self.status)
    }
}

/// One connection (HTTP/2: possibly shared by clones).
pub(crate) struct Client {
    pub(crate) ep: Endpoint,
    pub(crate) sender: Sender,
}

impl Endpoint {
    pub(crate) fn new(
        server: &str,
        ca_pem: &str,
        protocol: Protocol,
        token: Option<String>,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let uri: http::Uri = server
            .parse()
            .with_context(|| format!("server URL {server:?}"))?;
        if uri.scheme_str() != Some("https") {
            bail!("server URL {server:?} is not https");
        }
        let host = uri
            .host()
            .ok_or_else(|| anyhow!("server URL {server:?} has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(443);
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots.add(cert.context("CA certificate PEM")?)?;
        }
        if roots.is_empty() {
            bail!("no certificate in the CA PEM");
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        tls.alpn_protocols = match protocol {
            Protocol::Http1 => vec![b"http/1.1".to_vec()],
            Protocol::Http2 => vec![b"h2".to_vec()],
        };
        let server_name =
            ServerName::try_from(host.clone()).with_context(|| format!("server name {host:?}"))?;
        Ok(Self {
            base: format!("https://{}", uri.authority().map_or("", |a| a.as_str())),
            host,
            port,
            server_name,
            tls: Arc::new(tls),
            protocol,
            token,
            timeout,
        })
    }
}

impl Client {
    pub(crate) async fn connect(ep: &Endpoint) -> anyhow::Result<Self> {
        let connect = async {
            let tcp = tokio::net::TcpStream::connect((ep.host.as_str(), ep.port)).await?;
            tcp.set_nodelay(true)?;
            let tls = tokio_rustls::TlsConnector::from(Arc::clone(&ep.tls))
                .connect(ep.server_name.clone(), tcp)
                .await?;
            let io = TokioIo::new(tls);
            let sender = match ep.protocol {
                Protocol::Http1 => {
                    let (sender, conn) = hyper::client::conn::http1::handshake(io).await?;
                    tokio::spawn(async move {
                        let _ = conn.await;
                    });
                    Sender::H1(sender)
                }
                Protocol::Http2 => {
                    let (sender, conn) =
                        hyper::client::conn::http2::handshake(TokioExecutor::new(), io).await?;
                    tokio::spawn(async move {
                        let _ = conn.await;
                    });
                    Sender::H2(sender)
                }
            };
            anyhow::Ok(sender)
        };
        let sender = tokio::time::timeout(ep.timeout, connect)
            .await
            .map_err(|_| anyhow!("connecting to {} timed out", ep.base))?
            .with_context(|| format!("connecting to {}", ep.base))?;
        Ok(Self {
            ep: ep.clone(),
            sender,
        })
    }

    /// Another handle on the same HTTP/2 connection, or a new HTTP/1.1 connection.
    pub(crate) async fn another(&self) -> anyhow::Result<Self> {
        match &self.sender {
            Sender::H2(s) => Ok(Self {
                ep: self.ep.clone(),
                sender: Sender::H2(s.clone()),
            }),
            Sender::H1(_) => Self::connect(&self.ep).await,
        }
    }

    pub(crate) fn closed(&self) -> bool {
        match &self.sender {
            Sender::H1(s) => s.is_closed(),
            Sender::H2(s) => s.is_closed(),
        }
    }

    pub(crate) fn request(
        &self,
        method: &Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> anyhow::Result<Request<Full<Bytes>>> {
        let uri = match self.sender {
            Sender::H1(_) => path.to_owned(),
            Sender::H2(_) => format!("{}{path}", self.ep.base),
        };
        let mut builder = Request::builder()
            .method(method.clone())
            .uri(uri)
            .header(http::header::ACCEPT, "application/json");
        if matches!(self.sender, Sender::H1(_)) {
            builder = builder.header(
                http::header::HOST,
                self.ep.base.trim_start_matches("https://"),
            );
        }
        if let Some(token) = &self.ep.token {
            builder = builder.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if body.is_some() {
            builder = builder.header(http::header::CONTENT_TYPE, "application/json");
        }
        Ok(builder.body(Full::new(Bytes::from(body.unwrap_or_default())))?)
    }

    /// Sends a request and returns the response with its body still streaming.
    pub(crate) async fn send(
        &mut self,
        req: Request<Full<Bytes>>,
    ) -> anyhow::Result<http::Response<Incoming>> {
        if self.closed() {
            // HTTP/1.1 connections the server closed are replaced; an HTTP/2 one is fatal.
            if matches!(self.sender, Sender::H2(_)) {
                bail!("the HTTP/2 connection was closed");
            }
            *self = Self::connect(&self.ep).await?;
        }
        let resp = match &mut self.sender {
            Sender::H1(s) => {
                s.ready().await?;
                s.send_request(req).await?
            }
            Sender::H2(s) => {
                s.ready().await?;
                s.send_request(req).await?
            }
        };
        Ok(resp)
    }

    /// One request and its whole response, bounded by the request timeout.
    pub(crate) async fn call(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> anyhow::Result<Resp> {
        let timeout = self.ep.timeout;
        let req = self.request(&method, path, body)?;
        let work = async {
            let resp = self.send(req).await?;
            let status = resp.status();
            let body = resp.into_body().collect().await?.to_bytes();
            anyhow::Ok(Resp { status, body })
        };
        tokio::time::timeout(timeout, work)
            .await
            .map_err(|_| anyhow!("{method} {path}: no complete response within {timeout:?}"))?
            .with_context(|| format!("{method} {path}"))
    }
}

pub(crate) async fn external_endpoint(url: &str, args: &Args) -> anyhow::Result<Endpoint> {
    let from_kubeconfig = match &args.kubeconfig {
        Some(path) => Some(kubeconfig::parse(
            &std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?,
        )?),
        None => None,
    };
    let ca = match (&args.ca, from_kubeconfig.as_ref().map(|k| &k.ca)) {
        (Some(path), _) => {
            std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?
        }
        (None, Some(CaSource::File(path))) => {
            std::fs::read_to_string(path).with_context(|| path.clone())?
        }
        (None, Some(CaSource::Pem(pem))) => pem.clone(),
        _ => bail!("--url needs --ca or a --kubeconfig with a certificate authority"),
    };
    let token = args
        .token
        .clone()
        .or_else(|| from_kubeconfig.and_then(|k| k.token));
    Endpoint::new(
        url,
        &ca,
        args.protocol,
        token,
        Duration::from_secs(args.request_timeout),
    )
}
