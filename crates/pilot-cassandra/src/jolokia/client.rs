//! An HTTP client for the Jolokia agent on 127.0.0.1.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::protocol::{self, Reply, Request};

/// Why a request to Jolokia failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No answer within the timeout (a frozen JVM gives this).
    #[error("Jolokia on {addr} did not answer within {timeout:?}")]
    Timeout {
        /// The agent's address.
        addr: SocketAddr,
        /// The timeout.
        timeout: Duration,
    },
    /// The connection or the HTTP exchange failed (nothing listens yet, the JVM exited).
    #[error("Jolokia on {addr}: {message}")]
    Http {
        /// The agent's address.
        addr: SocketAddr,
        /// What failed.
        message: String,
    },
    /// An HTTP status other than 200.
    #[error("Jolokia on {addr} answered HTTP {status}")]
    Status {
        /// The agent's address.
        addr: SocketAddr,
        /// The status.
        status: u16,
    },
    /// The body was not a bulk reply.
    #[error(transparent)]
    Protocol(#[from] protocol::Error),
}

/// A client of one Jolokia agent.
#[derive(Clone, Debug)]
pub struct Client {
    addr: SocketAddr,
    uri: String,
    http: HttpClient<HttpConnector, Full<Bytes>>,
}

impl Client {
    /// A client of the agent listening on `addr` (context path `/jolokia`).
    pub fn new(addr: SocketAddr) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(2)));
        let http = HttpClient::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(2)
            .build(connector);
        Self {
            addr,
            uri: format!("http://{addr}/jolokia/"),
            http,
        }
    }

    /// The agent's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends `requests` as one bulk request and returns one reply per request, waiting at most
    /// `timeout` (None: as long as it takes, for operations such as `decommission` that
    /// return only when done).
    pub async fn bulk(
        &self,
        requests: &[Request],
        timeout: Option<Duration>,
    ) -> Result<Vec<Reply>, Error> {
        let exchange = self.exchange(requests);
        match timeout {
            Some(t) => tokio::time::timeout(t, exchange)
                .await
                .map_err(|_| Error::Timeout {
                    addr: self.addr,
                    timeout: t,
                })?,
            None => exchange.await,
        }
    }

    /// Sends one request; see [`Client::bulk`].
    pub async fn one(&self, request: Request, timeout: Option<Duration>) -> Result<Reply, Error> {
        let mut replies = self.bulk(std::slice::from_ref(&request), timeout).await?;
        replies
            .pop()
            .ok_or(Error::Protocol(protocol::Error::Count { sent: 1, got: 0 }))
    }

    async fn exchange(&self, requests: &[Request]) -> Result<Vec<Reply>, Error> {
        let body = self.post(protocol::bulk_body(requests).to_string()).await?;
        Ok(protocol::parse_bulk(&body, requests.len())?)
    }

    /// POSTs a raw JSON body to the agent and returns the raw reply (no timeout); used to
    /// record replies as test fixtures.
    pub async fn post(&self, body: String) -> Result<Bytes, Error> {
        let http_err = |message: String| Error::Http {
            addr: self.addr,
            message,
        };
        let req = http::Request::post(&self.uri)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| http_err(e.to_string()))?;
        let resp = self
            .http
            .request(req)
            .await
            .map_err(|e| http_err(navigator_pilot::error_chain(&e)))?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Err(Error::Status {
                addr: self.addr,
                status,
            });
        }
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| http_err(e.to_string()))?
            .to_bytes();
        Ok(body)
    }
}
