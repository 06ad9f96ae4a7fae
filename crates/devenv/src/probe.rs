//! Readiness probes: one HTTP/1.1 GET over plain TCP or TLS (rustls), verifying the serving
//! certificate against the cluster CA and presenting the admin client certificate.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::components::Readiness;

/// An error probing a component.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The CA or client credentials could not be parsed into a TLS configuration.
    #[error("bad TLS credentials: {0}")]
    Credentials(String),
    /// The connection or the TLS handshake failed (the component is not listening yet, or is
    /// listening with another certificate).
    #[error("cannot connect to 127.0.0.1:{port}")]
    Connect {
        /// The port.
        port: u16,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The request did not finish within the timeout.
    #[error("no answer from 127.0.0.1:{port} within {timeout:?}")]
    Timeout {
        /// The port.
        port: u16,
        /// The timeout.
        timeout: Duration,
    },
    /// The answer was not HTTP.
    #[error("not an HTTP response from 127.0.0.1:{port}")]
    NotHttp {
        /// The port.
        port: u16,
    },
}

/// The outcome of one probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResponse {
    /// HTTP status code.
    pub status: u16,
    /// Response body (raw, as sent).
    pub body: String,
}

impl ProbeResponse {
    /// 200 means ready.
    #[must_use]
    pub fn is_ready(&self) -> bool {
        self.status == 200
    }
}

/// TLS settings for HTTPS probes.
#[derive(Clone)]
pub struct TlsClient {
    connector: TlsConnector,
}

impl std::fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsClient")
    }
}

impl TlsClient {
    /// A client trusting `ca_pem` and presenting `cert_pem`/`key_pem`.
    ///
    /// # Errors
    /// [`ProbeError::Credentials`] if a PEM does not parse or rustls rejects it.
    pub fn new(ca_pem: &[u8], cert_pem: &[u8], key_pem: &[u8]) -> Result<Self, ProbeError> {
        let bad = |e: &dyn std::fmt::Display| ProbeError::Credentials(e.to_string());
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(ca_pem) {
            roots.add(c.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
        }
        let chain = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(&e))?;
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| bad(&e))?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| bad(&e))?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .map_err(|e| bad(&e))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            connector: TlsConnector::from(Arc::new(config)),
        })
    }
}

/// Performs the readiness check once.
///
/// # Errors
/// [`ProbeError`] if the component cannot be reached or does not answer HTTP in time. A non-200
/// answer is not an error: it is returned for the caller to show.
pub async fn probe(
    readiness: &Readiness,
    tls: &TlsClient,
    timeout: Duration,
) -> Result<ProbeResponse, ProbeError> {
    let (port, path, https) = match readiness {
        Readiness::Http { port, path } => (*port, *path, false),
        Readiness::Https { port, path } => (*port, *path, true),
    };
    let work = async {
        let tcp = TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|source| ProbeError::Connect { port, source })?;
        if https {
            let name = ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
            let stream = tls
                .connector
                .connect(name, tcp)
                .await
                .map_err(|source| ProbeError::Connect { port, source })?;
            get(stream, port, path).await
        } else {
            get(tcp, port, path).await
        }
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| ProbeError::Timeout { port, timeout })?
}

async fn get<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    port: u16,
    path: &str,
) -> Result<ProbeResponse, ProbeError> {
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: devenv\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(req.as_bytes())
        .await
        .map_err(|source| ProbeError::Connect { port, source })?;
    let mut buf = Vec::new();
    // Servers may close without a TLS close_notify; what was read until then counts.
    let _ = stream.read_to_end(&mut buf).await;
    parse_response(&buf).ok_or(ProbeError::NotHttp { port })
}

/// Parses a raw HTTP/1.x response into status and body. Pure.
#[must_use]
pub fn parse_response(raw: &[u8]) -> Option<ProbeResponse> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status_line = head.lines().next()?;
    let mut parts = status_line.split_whitespace();
    if !parts.next()?.starts_with("HTTP/1.") {
        return None;
    }
    let status = parts.next()?.parse().ok()?;
    Some(ProbeResponse {
        status,
        body: body.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_and_body() {
        let r = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").expect("parse");
        assert_eq!(r.status, 200);
        assert_eq!(r.body, "ok");
        assert!(r.is_ready());
        let r = parse_response(b"HTTP/1.1 500 Internal Server Error\r\n\r\n[-]etcd failed")
            .expect("parse");
        assert!(!r.is_ready());
        assert!(parse_response(b"garbage").is_none());
        assert!(parse_response(b"SSH-2.0-x\r\n\r\n").is_none());
    }
}
