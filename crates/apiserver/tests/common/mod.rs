//! Test support: an in-memory `RestResource` (a fake of the registries, enough to exercise the
//! HTTP layer), a server started on loopback with a generated CA, and a hyper client over
//! rustls that speaks HTTP/1.1 or HTTP/2.

#![allow(dead_code, clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use apimachinery::registry::{
    DeleteOptions, GetOptions, ListOptions, PatchType, Representation, RequestContext,
    ResourceDescriptor, Response, RestResource, Subresource, WatchStream,
};
use apimachinery::status::{ApiError, GroupResource};
use apiserver::{ApiServer, BoundServer, OpenApiInput, ServingOptions, ShutdownHandle};
use bytes::Bytes;
use futures::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};
use tokio::sync::broadcast;

pub const GROUP: &str = "test.example.io";

pub fn widget_descriptor() -> ResourceDescriptor {
    ResourceDescriptor {
        group: GROUP.into(),
        plural: "widgets".into(),
        singular: "widget".into(),
        kind: "Widget".into(),
        list_kind: "WidgetList".into(),
        namespaced: true,
        short_names: vec!["wd".into()],
        categories: vec![],
        versions: vec!["v1".into(), "v1beta1".into()],
        storage_version: "v1".into(),
        subresources: vec!["status".into()],
    }
}

pub fn gadget_descriptor() -> ResourceDescriptor {
    ResourceDescriptor {
        group: GROUP.into(),
        plural: "gadgets".into(),
        singular: "gadget".into(),
        kind: "Gadget".into(),
        list_kind: "GadgetList".into(),
        namespaced: false,
        short_names: vec![],
        categories: vec!["all".into()],
        versions: vec!["v1".into()],
        storage_version: "v1".into(),
        subresources: vec![],
    }
}

/// What the last call to a [`Fake`] received.
pub type Seen = (RequestContext, Option<ListOptions>, Option<DeleteOptions>);

/// An in-memory resource: enough behaviour to see requests arrive with the right options and
/// responses leave with the right shape.
pub struct Fake {
    desc: ResourceDescriptor,
    objects: Mutex<BTreeMap<(String, String), Value>>,
    rv: AtomicU64,
    events: broadcast::Sender<Value>,
    /// The last context and list options seen, for assertions.
    pub last: Mutex<Option<Seen>>,
}

impl Fake {
    pub fn new(desc: ResourceDescriptor) -> Arc<Self> {
        Arc::new(Self {
            desc,
            objects: Mutex::new(BTreeMap::new()),
            rv: AtomicU64::new(1),
            events: broadcast::channel(64).0,
            last: Mutex::new(None),
        })
    }

    fn gr(&self) -> GroupResource {
        GroupResource::new(&self.desc.group, &self.desc.plural)
    }

    fn key(ctx: &RequestContext, name: &str) -> (String, String) {
        (ctx.namespace.clone().unwrap_or_default(), name.to_owned())
    }

    fn render(&self, ctx: &RequestContext, obj: &Value) -> Value {
        match ctx.representation {
            Representation::Object => obj.clone(),
            Representation::PartialObjectMetadata => json!({
                "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                "metadata": obj["metadata"]}),
            Representation::Table { .. } => json!({
                "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {},
                "columnDefinitions": [
                    {"name": "Name", "type": "string", "format": "name", "description": "", "priority": 0}],
                "rows": [{"cells": [obj["metadata"]["name"]], "object": {
                    "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                    "metadata": obj["metadata"]}}]}),
        }
    }

    fn record(
        &self,
        ctx: &RequestContext,
        list: Option<&ListOptions>,
        del: Option<&DeleteOptions>,
    ) {
        *self.last.lock().unwrap() = Some((ctx.clone(), list.cloned(), del.cloned()));
    }

    fn next_rv(&self) -> String {
        (self.rv.fetch_add(1, Ordering::SeqCst) + 1).to_string()
    }

    fn store(&self, ctx: &RequestContext, mut obj: Value, event: &str) -> Value {
        obj["apiVersion"] = json!(format!("{}/{}", self.desc.group, ctx.version));
        obj["kind"] = json!(self.desc.kind);
        if let Some(ns) = &ctx.namespace {
            obj["metadata"]["namespace"] = json!(ns);
        }
        if ctx.dry_run {
            obj["metadata"]["resourceVersion"] = json!("");
            return obj;
        }
        obj["metadata"]["resourceVersion"] = json!(self.next_rv());
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        self.objects
            .lock()
            .unwrap()
            .insert(Self::key(ctx, &name), obj.clone());
        let _ = self.events.send(json!({"type": event, "object": obj}));
        obj
    }
}

fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

#[async_trait::async_trait]
impl RestResource for Fake {
    fn descriptor(&self) -> &ResourceDescriptor {
        &self.desc
    }

    async fn get(
        &self,
        ctx: &RequestContext,
        name: &str,
        _o: &GetOptions,
    ) -> Result<Response, ApiError> {
        self.record(ctx, None, None);
        if let Some(ms) = name
            .strip_prefix("slow-")
            .and_then(|m| m.parse::<u64>().ok())
        {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            return Ok(Response {
                code: 200,
                body: json!({"kind": "Widget", "metadata": {"name": name}}),
                warnings: vec![],
            });
        }
        let objects = self.objects.lock().unwrap();
        let obj = objects
            .get(&Self::key(ctx, name))
            .ok_or_else(|| ApiError::NotFound {
                resource: self.gr(),
                name: name.to_owned(),
            })?;
        Ok(Response {
            code: 200,
            body: self.render(ctx, obj),
            warnings: vec![],
        })
    }

    async fn list(&self, ctx: &RequestContext, opts: &ListOptions) -> Result<Response, ApiError> {
        self.record(ctx, Some(opts), None);
        if opts.label_selector.as_deref() == Some("bad=(") {
            return Err(ApiError::bad_request(
                "unable to parse requirement: bad selector",
            ));
        }
        let objects = self.objects.lock().unwrap();
        let items: Vec<Value> = objects
            .iter()
            .filter(|((ns, _), _)| ctx.namespace.as_ref().is_none_or(|n| n == ns))
            .map(|(_, o)| o.clone())
            .collect();
        let rv = self.rv.load(Ordering::SeqCst).to_string();
        let body = match ctx.representation {
            Representation::Table { .. } => {
                let rows: Vec<Value> = items
                    .iter()
                    .map(|o| {
                        json!({"cells": [o["metadata"]["name"]], "object": {
                        "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                        "metadata": o["metadata"]}})
                    })
                    .collect();
                json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1",
                    "metadata": {"resourceVersion": rv},
                    "columnDefinitions": [
                        {"name": "Name", "type": "string", "format": "name", "description": "", "priority": 0}],
                    "rows": rows})
            }
            Representation::PartialObjectMetadata => json!({
                "kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                "metadata": {"resourceVersion": rv},
                "items": items.iter().map(|o| json!({"kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]})).collect::<Vec<_>>()}),
            Representation::Object => json!({
                "kind": self.desc.list_kind,
                "apiVersion": format!("{}/{}", self.desc.group, ctx.version),
                "metadata": {"resourceVersion": rv}, "items": items}),
        };
        Ok(Response {
            code: 200,
            body,
            warnings: vec![],
        })
    }

    async fn watch(
        &self,
        ctx: &RequestContext,
        opts: &ListOptions,
    ) -> Result<WatchStream, ApiError> {
        self.record(ctx, Some(opts), None);
        if opts.resource_version.as_deref() == Some("1") {
            let status = ApiError::too_old_resource_version(1, 5).to_status();
            return Ok(Box::pin(futures::stream::iter(vec![
                json!({"type": "ERROR", "object": status}),
            ])));
        }
        let initial: Vec<Value> = if opts.resource_version.is_none() {
            self.objects
                .lock()
                .unwrap()
                .values()
                .map(|o| json!({"type": "ADDED", "object": o}))
                .collect()
        } else {
            vec![]
        };
        let rx = self.events.subscribe();
        let ns = ctx.namespace.clone();
        let live = futures::stream::unfold(rx, |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(ev) => return Some((ev, rx)),
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
        .filter(move |ev| {
            let keep = ns
                .as_ref()
                .is_none_or(|n| ev["object"]["metadata"]["namespace"] == json!(n));
            async move { keep }
        });
        Ok(Box::pin(futures::stream::iter(initial).chain(live)))
    }

    async fn create(&self, ctx: &RequestContext, body: Value) -> Result<Response, ApiError> {
        self.record(ctx, None, None);
        let name = body["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if self
            .objects
            .lock()
            .unwrap()
            .contains_key(&Self::key(ctx, &name))
        {
            return Err(ApiError::AlreadyExists {
                resource: self.gr(),
                name,
            });
        }
        let mut warnings = vec![];
        if body["spec"].get("unknown").is_some() {
            warnings.push(r#"unknown field "spec.unknown""#.to_owned());
        }
        let obj = self.store(ctx, body, "ADDED");
        Ok(Response {
            code: 201,
            body: self.render(ctx, &obj),
            warnings,
        })
    }

    async fn update(
        &self,
        ctx: &RequestContext,
        name: &str,
        _s: Subresource,
        body: Value,
    ) -> Result<Response, ApiError> {
        self.record(ctx, None, None);
        if !self
            .objects
            .lock()
            .unwrap()
            .contains_key(&Self::key(ctx, name))
        {
            return Err(ApiError::NotFound {
                resource: self.gr(),
                name: name.to_owned(),
            });
        }
        let obj = self.store(ctx, body, "MODIFIED");
        Ok(Response {
            code: 200,
            body: self.render(ctx, &obj),
            warnings: vec![],
        })
    }

    async fn patch(
        &self,
        ctx: &RequestContext,
        name: &str,
        _s: Subresource,
        patch_type: PatchType,
        body: &[u8],
    ) -> Result<Response, ApiError> {
        self.record(ctx, None, None);
        let mut current = self
            .objects
            .lock()
            .unwrap()
            .get(&Self::key(ctx, name))
            .cloned()
            .ok_or_else(|| ApiError::NotFound {
                resource: self.gr(),
                name: name.to_owned(),
            })?;
        let patch: Value =
            serde_json::from_slice(body).map_err(|e| ApiError::bad_request(e.to_string()))?;
        match patch_type {
            PatchType::Merge | PatchType::StrategicMerge | PatchType::Apply { .. } => {
                merge(&mut current, &patch)
            }
            PatchType::Json => {
                return Err(ApiError::UnprocessableEntity {
                    detail: "unsupported in fake".into(),
                });
            }
        }
        let obj = self.store(ctx, current, "MODIFIED");
        Ok(Response {
            code: 200,
            body: self.render(ctx, &obj),
            warnings: vec![],
        })
    }

    async fn delete(
        &self,
        ctx: &RequestContext,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<Response, ApiError> {
        self.record(ctx, None, Some(opts));
        let removed = if ctx.dry_run {
            self.objects
                .lock()
                .unwrap()
                .get(&Self::key(ctx, name))
                .cloned()
        } else {
            self.objects.lock().unwrap().remove(&Self::key(ctx, name))
        };
        let obj = removed.ok_or_else(|| ApiError::NotFound {
            resource: self.gr(),
            name: name.to_owned(),
        })?;
        if !ctx.dry_run {
            let _ = self.events.send(json!({"type": "DELETED", "object": obj}));
        }
        Ok(Response {
            code: 200,
            body: json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {"name": name, "group": self.desc.group, "kind": self.desc.plural}}),
            warnings: vec![],
        })
    }

    async fn delete_collection(
        &self,
        ctx: &RequestContext,
        list: &ListOptions,
        opts: &DeleteOptions,
    ) -> Result<Response, ApiError> {
        self.record(ctx, Some(list), Some(opts));
        let mut objects = self.objects.lock().unwrap();
        let keys: Vec<_> = objects
            .keys()
            .filter(|(ns, _)| ctx.namespace.as_ref().is_none_or(|n| n == ns))
            .cloned()
            .collect();
        let items: Vec<Value> = keys.iter().filter_map(|k| objects.remove(k)).collect();
        Ok(Response {
            code: 200,
            body: json!({"kind": self.desc.list_kind, "apiVersion": format!("{}/{}", self.desc.group, ctx.version),
                "metadata": {}, "items": items}),
            warnings: vec![],
        })
    }
}

/// A tiny OpenAPI input for widgets: enough for `kubectl explain`.
pub fn openapi_input() -> OpenApiInput {
    let widget = |version: &str| {
        json!({
            "description": "Widget is a test kind.",
            "type": "object",
            "properties": {
                "apiVersion": {"type": "string", "description": "APIVersion defines the versioned schema."},
                "kind": {"type": "string", "description": "Kind is a string value."},
                "metadata": {"type": "object", "description": "Standard object's metadata."},
                "spec": {"description": "WidgetSpec is what a widget should be.", "type": "object",
                    "properties": {"size": {"type": "integer", "format": "int32",
                        "description": "Size of the widget in sprockets."}}}
            },
            "x-kubernetes-group-version-kind": [{"group": GROUP, "kind": "Widget", "version": version}]
        })
    };
    let mut v3 = BTreeMap::new();
    for v in ["v1", "v1beta1"] {
        v3.insert(
            format!("{GROUP}/{v}"),
            json!({"openapi": "3.0.0", "info": {"title": "test", "version": "1"}, "paths": {},
                "components": {"schemas": {format!("io.example.test.{v}.Widget"): widget(v)}}}),
        );
    }
    OpenApiInput {
        v2: Some(
            json!({"swagger": "2.0", "info": {"title": "test", "version": "1"}, "paths": {},
            "definitions": {"io.example.test.v1.Widget": widget("v1"),
                            "io.example.test.v1beta1.Widget": widget("v1beta1")}}),
        ),
        v3,
    }
}

pub struct TestServer {
    pub addr: std::net::SocketAddr,
    pub insecure: Option<std::net::SocketAddr>,
    pub ca_pem: String,
    pub widgets: Arc<Fake>,
    pub shutdown: ShutdownHandle,
    pub task: tokio::task::JoinHandle<()>,
    pub dir: tempfile::TempDir,
}

pub async fn start() -> TestServer {
    start_with(|b| b).await
}

pub async fn start_with(
    customize: impl FnOnce(apiserver::ApiServerBuilder) -> apiserver::ApiServerBuilder,
) -> TestServer {
    let widgets = Fake::new(widget_descriptor());
    let builder = ApiServer::builder()
        .resource(widgets.clone())
        .resource(Fake::new(gadget_descriptor()))
        .openapi(openapi_input())
        .request_timeout(std::time::Duration::from_secs(5));
    let server = customize(builder).build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut opts =
        ServingOptions::self_signed("127.0.0.1:0".parse().unwrap(), dir.path().join("certs"));
    opts.insecure_addr = Some("127.0.0.1:0".parse().unwrap());
    opts.shutdown_timeout = std::time::Duration::from_secs(5);
    let bound: BoundServer = server.bind(opts).await.unwrap();
    let addr = bound.secure_addr();
    let insecure = bound.insecure_addr();
    let ca_pem = bound.certs().ca_pem.clone().unwrap();
    let shutdown = bound.shutdown_handle();
    let task = tokio::spawn(bound.run());
    TestServer {
        addr,
        insecure,
        ca_pem,
        widgets,
        shutdown,
        task,
        dir,
    }
}

/// An HTTP client connection over TLS (or plain TCP) speaking HTTP/1.1 or HTTP/2.
pub enum Conn {
    H1(hyper::client::conn::http1::SendRequest<Full<Bytes>>),
    H2(hyper::client::conn::http2::SendRequest<Full<Bytes>>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    H1,
    H2,
}

impl Conn {
    pub async fn tls(addr: std::net::SocketAddr, ca_pem: &str, proto: Proto) -> Self {
        Self::tls_with(addr, ca_pem, proto, None).await
    }

    /// Like [`Conn::tls`], presenting a client certificate `(cert_pem, key_pem)`.
    pub async fn tls_with(
        addr: std::net::SocketAddr,
        ca_pem: &str,
        proto: Proto,
        client: Option<(&str, &str)>,
    ) -> Self {
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots.add(c.unwrap()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
        let mut config = match client {
            None => config.with_no_client_auth(),
            Some((cert, key)) => config
                .with_client_auth_cert(
                    CertificateDer::pem_slice_iter(cert.as_bytes())
                        .collect::<Result<Vec<_>, _>>()
                        .unwrap(),
                    rustls::pki_types::PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
                )
                .unwrap(),
        };
        config.alpn_protocols = match proto {
            Proto::H1 => vec![b"http/1.1".to_vec()],
            Proto::H2 => vec![b"h2".to_vec()],
        };
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .unwrap();
        let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
        match proto {
            Proto::H1 => assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..])),
            Proto::H2 => assert_eq!(alpn.as_deref(), Some(&b"h2"[..])),
        }
        Self::handshake(TokioIo::new(tls), proto).await
    }

    pub async fn plain(addr: std::net::SocketAddr) -> Self {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        Self::handshake(TokioIo::new(tcp), Proto::H1).await
    }

    async fn handshake<I>(io: I, proto: Proto) -> Self
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        match proto {
            Proto::H1 => {
                let (send, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
                tokio::spawn(conn);
                Self::H1(send)
            }
            Proto::H2 => {
                let (send, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                    .await
                    .unwrap();
                tokio::spawn(conn);
                Self::H2(send)
            }
        }
    }

    pub async fn send(
        &mut self,
        req: http::Request<Full<Bytes>>,
    ) -> http::Response<hyper::body::Incoming> {
        match self {
            Self::H1(s) => {
                s.ready().await.unwrap();
                s.send_request(req).await.unwrap()
            }
            Self::H2(s) => {
                s.ready().await.unwrap();
                s.send_request(req).await.unwrap()
            }
        }
    }

    /// Sends a request and reads the whole body.
    pub async fn call(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> (http::StatusCode, http::HeaderMap, Bytes) {
        let mut b = http::Request::builder().method(method).uri(path);
        b = b.header("host", "localhost");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let resp = self.send(b.body(Full::new(body.into())).unwrap()).await;
        let (parts, body) = resp.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        (parts.status, parts.headers, bytes)
    }

    pub async fn get_json(&mut self, path: &str) -> (http::StatusCode, Value) {
        let (code, _, body) = self.call("GET", path, &[], Bytes::new()).await;
        (code, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }
}
