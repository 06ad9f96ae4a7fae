//! A small HTTP/JSON client of one node's REST API (the pilot's own node on 127.0.0.1, or a
//! peer behind the discovery Service before the first start). Every request is bounded by the
//! client's timeout; replies are parsed by [`crate::replies`].

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// Why a REST request failed.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    /// No answer within the timeout.
    #[error("{method} {path} on {addr}: no answer within {timeout:?}")]
    Timeout {
        /// The method.
        method: http::Method,
        /// The path.
        path: String,
        /// The node.
        addr: SocketAddr,
        /// The timeout.
        timeout: Duration,
    },
    /// The connection or the HTTP exchange failed.
    #[error("{method} {path} on {addr}: {message}")]
    Http {
        /// The method.
        method: http::Method,
        /// The path.
        path: String,
        /// The node.
        addr: SocketAddr,
        /// What failed.
        message: String,
    },
    /// An HTTP status other than 2xx, with the body.
    #[error("{method} {path} on {addr}: HTTP {status}: {body}")]
    Status {
        /// The method.
        method: http::Method,
        /// The path.
        path: String,
        /// The node.
        addr: SocketAddr,
        /// The status.
        status: u16,
        /// The reply's body (at most 500 characters).
        body: String,
    },
    /// The body was not JSON.
    #[error("{path} on {addr}: the reply is not JSON: {message}")]
    Json {
        /// The path.
        path: String,
        /// The node.
        addr: SocketAddr,
        /// The parser's message.
        message: String,
    },
}

/// A client of one node's REST API.
#[derive(Clone, Debug)]
pub struct RestClient {
    addr: SocketAddr,
    timeout: Duration,
    http: HttpClient<HttpConnector, Full<Bytes>>,
}

impl RestClient {
    /// A client of the node at `addr`, with `timeout` per request.
    pub fn new(addr: SocketAddr, timeout: Duration) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(timeout));
        let http = HttpClient::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(4)
            .build(connector);
        Self {
            addr,
            timeout,
            http,
        }
    }

    /// The node's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The same client with another timeout (long calls such as adding voting exclusions).
    pub fn with_timeout(&self, timeout: Duration) -> Self {
        Self {
            timeout,
            ..self.clone()
        }
    }

    /// `GET path` as JSON.
    pub async fn get(&self, path: &str) -> Result<Value, RestError> {
        self.call(http::Method::GET, path, None).await
    }

    /// `PUT path` with a JSON body.
    pub async fn put(&self, path: &str, body: &Value) -> Result<Value, RestError> {
        self.call(http::Method::PUT, path, Some(body)).await
    }

    /// `POST path` with an optional JSON body.
    pub async fn post(&self, path: &str, body: Option<&Value>) -> Result<Value, RestError> {
        self.call(http::Method::POST, path, body).await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> Result<Value, RestError> {
        self.call(http::Method::DELETE, path, None).await
    }

    /// One request, bounded by the timeout; an empty 2xx body is JSON `null`.
    pub async fn call(
        &self,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, RestError> {
        let exchange = self.exchange(method.clone(), path, body);
        let bytes = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| RestError::Timeout {
                method,
                path: path.to_owned(),
                addr: self.addr,
                timeout: self.timeout,
            })??;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| RestError::Json {
            path: path.to_owned(),
            addr: self.addr,
            message: e.to_string(),
        })
    }

    async fn exchange(
        &self,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Bytes, RestError> {
        let http_err = |message: String| RestError::Http {
            method: method.clone(),
            path: path.to_owned(),
            addr: self.addr,
            message,
        };
        let uri = format!("http://{}{}", self.addr, path);
        let payload = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let req = http::Request::builder()
            .method(method.clone())
            .uri(uri)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(payload))
            .map_err(|e| http_err(e.to_string()))?;
        let resp = self
            .http
            .request(req)
            .await
            .map_err(|e| http_err(navigator_pilot::error_chain(&e)))?;
        let status = resp.status();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| http_err(e.to_string()))?
            .to_bytes();
        if !status.is_success() {
            let text = String::from_utf8_lossy(&bytes);
            return Err(RestError::Status {
                method: method.clone(),
                path: path.to_owned(),
                addr: self.addr,
                status: status.as_u16(),
                body: text.chars().take(500).collect(),
            });
        }
        Ok(bytes)
    }
}
