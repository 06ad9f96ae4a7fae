//! OpenAPI documents (Go's `kube-openapi` `handler` / `handler3` with the paths
//! `apiserver/pkg/endpoints/openapi` builds): the caller gives the schemas (`definitions` of a
//! v2 document, `components.schemas` of one v3 document per group-version); this module adds
//! the path and operation of every route served, with `operationId`, `x-kubernetes-action`,
//! `x-kubernetes-group-version-kind`, parameters and media types — what `kubectl explain`,
//! `kubectl apply` (patch type, `fieldValidation`) and kube-aggregator read.

use std::collections::BTreeMap;

use apimachinery::registry::ResourceDescriptor;
use serde_json::{Map, Value, json};

use crate::discovery::etag;
use crate::negotiation::PATCH_MEDIA_TYPES;

/// The schemas to serve, as the API group generated them (paths are ignored and replaced).
#[derive(Debug, Clone, Default)]
pub struct OpenApiInput {
    /// A Swagger 2.0 document whose `definitions` cover every served kind.
    pub v2: Option<Value>,
    /// One OpenAPI 3 document per `"<group>/<version>"`, whose `components.schemas` cover the
    /// kinds of that group-version.
    pub v3: BTreeMap<String, Value>,
}

/// A rendered document and its ETag.
#[derive(Debug, Clone)]
pub struct Document {
    /// JSON body.
    pub body: Vec<u8>,
    /// Quoted ETag.
    pub etag: String,
}

impl Document {
    fn new(v: &Value) -> Self {
        let body = serde_json::to_vec(v).unwrap_or_default();
        let etag = etag(&body);
        Self { body, etag }
    }

    /// The ETag without quotes, as used in `?hash=`.
    pub fn hash(&self) -> &str {
        self.etag.trim_matches('"')
    }
}

/// Every OpenAPI document a server serves, computed once.
#[derive(Debug, Clone)]
pub struct OpenApi {
    v2: Document,
    v2_protobuf: Document,
    v3: BTreeMap<String, Document>,
    v3_index: Document,
}

impl OpenApi {
    /// Builds `/openapi/v2`, each `/openapi/v3/apis/<group>/<version>` and the v3 index.
    pub fn new(input: &OpenApiInput, resources: &[ResourceDescriptor]) -> Self {
        // v2: one document, every group-version.
        let mut v2 = input.v2.clone().unwrap_or_else(
            || json!({"swagger": "2.0", "info": {"title": "Kubernetes", "version": "unversioned"}}),
        );
        let mut v2_defs = v2
            .get("definitions")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        add_builtin_definitions(&mut v2_defs);
        let mut v2_paths = Paths::new();
        let mut gvs: Vec<(String, String)> = Vec::new();
        for d in resources {
            for v in &d.versions {
                if !gvs.contains(&(d.group.clone(), v.clone())) {
                    gvs.push((d.group.clone(), v.clone()));
                }
                let refs = Refs::find(&v2_defs, "#/definitions/", d, v);
                for op in operations(d, v) {
                    insert_v2(&mut v2_paths, &op, &refs);
                }
            }
        }
        if let Value::Object(obj) = &mut v2 {
            obj.insert("paths".into(), into_value(v2_paths));
            obj.insert("definitions".into(), Value::Object(v2_defs));
        }

        // v3: one document per group-version.
        let mut v3 = BTreeMap::new();
        for (group, version) in &gvs {
            let key = format!("{group}/{version}");
            let mut doc = input.v3.get(&key).cloned().unwrap_or_else(|| {
                json!({"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "unversioned"}})
            });
            let mut schemas = doc
                .pointer("/components/schemas")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            add_builtin_definitions(&mut schemas);
            let mut paths = Paths::new();
            for d in resources
                .iter()
                .filter(|d| &d.group == group && d.versions.contains(version))
            {
                let refs = Refs::find(&schemas, "#/components/schemas/", d, version);
                for op in operations(d, version) {
                    insert_v3(&mut paths, &op, &refs);
                }
            }
            if let Value::Object(obj) = &mut doc {
                obj.insert("paths".into(), into_value(paths));
                let mut components = obj
                    .get("components")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                components.insert("schemas".into(), Value::Object(schemas));
                obj.insert("components".into(), Value::Object(components));
            }
            v3.insert(key, Document::new(&doc));
        }
        let mut index_paths = Map::new();
        for (key, doc) in &v3 {
            index_paths.insert(
                format!("apis/{key}"),
                json!({"serverRelativeURL": format!("/openapi/v3/apis/{key}?hash={}", doc.hash())}),
            );
        }
        let v3_index = Document::new(&json!({"paths": index_paths}));
        let proto = crate::openapi_proto::encode_v2(&v2);
        Self {
            v2_protobuf: Document {
                etag: etag(&proto),
                body: proto,
            },
            v2: Document::new(&v2),
            v3,
            v3_index,
        }
    }

    /// `/openapi/v2`.
    pub fn v2(&self) -> &Document {
        &self.v2
    }

    /// `/openapi/v2` as gnostic protobuf.
    pub fn v2_protobuf(&self) -> &Document {
        &self.v2_protobuf
    }

    /// `/openapi/v3`.
    pub fn v3_index(&self) -> &Document {
        &self.v3_index
    }

    /// `/openapi/v3/apis/<group>/<version>` by `"<group>/<version>"`.
    pub fn v3(&self, group_version: &str) -> Option<&Document> {
        self.v3.get(group_version)
    }
}

/// Definitions every document references; added when the input lacks them.
fn add_builtin_definitions(defs: &mut Map<String, Value>) {
    let meta = "io.k8s.apimachinery.pkg.apis.meta.v1";
    let mut add = |name: &str, schema: Value| {
        defs.entry(format!("{meta}.{name}")).or_insert(schema);
    };
    add(
        "Status",
        json!({
            "description": "Status is a return value for calls that don't return other objects.",
            "type": "object",
            "properties": {
                "apiVersion": {"type": "string"},
                "code": {"type": "integer", "format": "int32"},
                "details": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "kind": {"type": "string"},
                "message": {"type": "string"},
                "metadata": {"type": "object"},
                "reason": {"type": "string"},
                "status": {"type": "string"}
            },
            "x-kubernetes-group-version-kind": [{"group": "", "kind": "Status", "version": "v1"}]
        }),
    );
    add(
        "DeleteOptions",
        json!({
            "description": "DeleteOptions may be provided when deleting an API object.",
            "type": "object",
            "properties": {
                "apiVersion": {"type": "string"},
                "dryRun": {"type": "array", "items": {"type": "string", "default": ""}, "x-kubernetes-list-type": "atomic"},
                "gracePeriodSeconds": {"type": "integer", "format": "int64"},
                "kind": {"type": "string"},
                "orphanDependents": {"type": "boolean"},
                "preconditions": {"type": "object", "properties": {
                    "resourceVersion": {"type": "string"}, "uid": {"type": "string"}}},
                "propagationPolicy": {"type": "string"}
            },
            "x-kubernetes-group-version-kind": [{"group": "", "kind": "DeleteOptions", "version": "v1"}]
        }),
    );
    add(
        "WatchEvent",
        json!({
            "description": "Event represents a single event to a watched resource.",
            "type": "object",
            "required": ["type", "object"],
            "properties": {
                "object": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "type": {"type": "string"}
            }
        }),
    );
    add(
        "Patch",
        json!({"description": "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.", "type": "object"}),
    );
}

/// The references one resource's operations use.
struct Refs {
    object: Value,
    list: Value,
    status: Value,
    delete_options: Value,
    watch_event: Value,
    patch: Value,
}

impl Refs {
    fn find(
        defs: &Map<String, Value>,
        prefix: &str,
        d: &ResourceDescriptor,
        version: &str,
    ) -> Self {
        let by_kind = |kind: &str| {
            defs.iter()
                .find(|(_, schema)| has_gvk(schema, &d.group, version, kind))
                .map(|(name, _)| json!({"$ref": format!("{prefix}{name}")}))
                .unwrap_or_else(|| json!({"type": "object"}))
        };
        let meta = |name: &str| json!({"$ref": format!("{prefix}io.k8s.apimachinery.pkg.apis.meta.v1.{name}")});
        Self {
            object: by_kind(&d.kind),
            list: by_kind(&d.list_kind),
            status: meta("Status"),
            delete_options: meta("DeleteOptions"),
            watch_event: meta("WatchEvent"),
            patch: meta("Patch"),
        }
    }
}

fn has_gvk(schema: &Value, group: &str, version: &str, kind: &str) -> bool {
    schema
        .get("x-kubernetes-group-version-kind")
        .and_then(Value::as_array)
        .is_some_and(|l| {
            l.iter().any(|g| {
                g.get("group").and_then(Value::as_str) == Some(group)
                    && g.get("version").and_then(Value::as_str) == Some(version)
                    && g.get("kind").and_then(Value::as_str) == Some(kind)
            })
        })
}

/// What an operation returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    Object,
    List,
    Status,
    WatchEvent,
}

/// What an operation takes as body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Input {
    None,
    Object,
    Patch,
    DeleteOptions,
}

/// One route of one resource, independent of the OpenAPI version.
#[derive(Debug, Clone)]
struct Operation {
    path: String,
    method: &'static str,
    action: &'static str,
    operation_id: String,
    description: String,
    path_params: Vec<&'static str>,
    query: Vec<&'static str>,
    input: Input,
    responses: Vec<(&'static str, Body)>,
    group: String,
    version: String,
    kind: String,
}

const LIST_PARAMS: [&str; 10] = [
    "allowWatchBookmarks",
    "continue",
    "fieldSelector",
    "labelSelector",
    "limit",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
    "watch",
];
const WRITE_PARAMS: [&str; 3] = ["dryRun", "fieldManager", "fieldValidation"];
const PATCH_PARAMS: [&str; 4] = ["dryRun", "fieldManager", "fieldValidation", "force"];
const DELETE_PARAMS: [&str; 5] = [
    "dryRun",
    "gracePeriodSeconds",
    "ignoreStoreReadErrorWithClusterBreakingPotential",
    "orphanDependents",
    "propagationPolicy",
];

fn param_type(name: &str) -> (&'static str, &'static str) {
    match name {
        "allowWatchBookmarks"
        | "sendInitialEvents"
        | "watch"
        | "force"
        | "orphanDependents"
        | "ignoreStoreReadErrorWithClusterBreakingPotential" => ("boolean", ""),
        "limit" | "timeoutSeconds" | "gracePeriodSeconds" => ("integer", ""),
        _ => ("string", ""),
    }
}

fn param_description(name: &str) -> &'static str {
    match name {
        "namespace" => "object name and auth scope, such as for teams and projects",
        "name" => "name of the resource",
        "pretty" => "If 'true', then the output is pretty printed.",
        "dryRun" => {
            "When present, indicates that modifications should not be persisted. Valid values are: - All: all dry run stages will be processed"
        }
        "fieldManager" => {
            "fieldManager is a name associated with the actor or entity that is making these changes."
        }
        "fieldValidation" => {
            "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: - Ignore - Warn - Strict"
        }
        "force" => {
            "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests."
        }
        "labelSelector" => {
            "A selector to restrict the list of returned objects by their labels. Defaults to everything."
        }
        "fieldSelector" => {
            "A selector to restrict the list of returned objects by their fields. Defaults to everything."
        }
        "limit" => "limit is a maximum number of responses to return for a list call.",
        "continue" => {
            "The continue option should be set when retrieving more results from the server."
        }
        "resourceVersion" => {
            "resourceVersion sets a constraint on what resource versions a request may be served from."
        }
        "resourceVersionMatch" => {
            "resourceVersionMatch determines how resourceVersion is applied to list calls."
        }
        "sendInitialEvents" => "`sendInitialEvents=true` may be set together with `watch=true`.",
        "timeoutSeconds" => "Timeout for the list/watch call.",
        "watch" => {
            "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications."
        }
        "allowWatchBookmarks" => {
            "allowWatchBookmarks requests watch events with type \"BOOKMARK\"."
        }
        "gracePeriodSeconds" => "The duration in seconds before the object should be deleted.",
        "orphanDependents" => "Deprecated: please use the PropagationPolicy.",
        "propagationPolicy" => {
            "Whether and how garbage collection will be performed. Acceptable values are: 'Orphan', 'Background', 'Foreground'."
        }
        _ => "",
    }
}

/// `navigator.jetstack.io` + `v1alpha1` → `NavigatorJetstackIoV1alpha1`.
fn gv_camel(group: &str, version: &str) -> String {
    let mut s = String::new();
    for part in group.split('.').chain(std::iter::once(version)) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            s.extend(first.to_uppercase());
            s.push_str(chars.as_str());
        }
    }
    s
}

fn operations(d: &ResourceDescriptor, version: &str) -> Vec<Operation> {
    let gv = gv_camel(&d.group, version);
    let kind = d.kind.as_str();
    let base = format!("/apis/{}/{version}", d.group);
    let (scope_path, ns, scope_params): (String, &str, Vec<&'static str>) = if d.namespaced {
        (
            format!("{base}/namespaces/{{namespace}}/{}", d.plural),
            "Namespaced",
            vec!["namespace"],
        )
    } else {
        (format!("{base}/{}", d.plural), "", vec![])
    };
    let watch_scope_path = if d.namespaced {
        format!("{base}/watch/namespaces/{{namespace}}/{}", d.plural)
    } else {
        format!("{base}/watch/{}", d.plural)
    };
    let item_params = {
        let mut p = scope_params.clone();
        p.insert(0, "name");
        p
    };
    let op = |path: String,
              method: &'static str,
              action: &'static str,
              id: String,
              description: String,
              path_params: Vec<&'static str>,
              query: Vec<&'static str>,
              input: Input,
              responses: Vec<(&'static str, Body)>| Operation {
        path,
        method,
        action,
        operation_id: id,
        description,
        path_params,
        query,
        input,
        responses,
        group: d.group.clone(),
        version: version.to_owned(),
        kind: kind.to_owned(),
    };
    let mut ops = vec![
        op(
            scope_path.clone(),
            "get",
            "list",
            format!("list{gv}{ns}{kind}"),
            format!("list or watch objects of kind {kind}"),
            scope_params.clone(),
            LIST_PARAMS.to_vec(),
            Input::None,
            vec![("200", Body::List)],
        ),
        op(
            scope_path.clone(),
            "post",
            "post",
            format!("create{gv}{ns}{kind}"),
            format!("create a {kind}"),
            scope_params.clone(),
            WRITE_PARAMS.to_vec(),
            Input::Object,
            vec![
                ("200", Body::Object),
                ("201", Body::Object),
                ("202", Body::Object),
            ],
        ),
        op(
            scope_path.clone(),
            "delete",
            "deletecollection",
            format!("delete{gv}Collection{ns}{kind}"),
            format!("delete collection of {kind}"),
            scope_params.clone(),
            [DELETE_PARAMS.as_slice(), LIST_PARAMS.as_slice()].concat(),
            Input::DeleteOptions,
            vec![("200", Body::Status)],
        ),
        op(
            format!("{scope_path}/{{name}}"),
            "get",
            "get",
            format!("read{gv}{ns}{kind}"),
            format!("read the specified {kind}"),
            item_params.clone(),
            vec!["resourceVersion"],
            Input::None,
            vec![("200", Body::Object)],
        ),
        op(
            format!("{scope_path}/{{name}}"),
            "put",
            "put",
            format!("replace{gv}{ns}{kind}"),
            format!("replace the specified {kind}"),
            item_params.clone(),
            WRITE_PARAMS.to_vec(),
            Input::Object,
            vec![("200", Body::Object), ("201", Body::Object)],
        ),
        op(
            format!("{scope_path}/{{name}}"),
            "patch",
            "patch",
            format!("patch{gv}{ns}{kind}"),
            format!("partially update the specified {kind}"),
            item_params.clone(),
            PATCH_PARAMS.to_vec(),
            Input::Patch,
            vec![("200", Body::Object), ("201", Body::Object)],
        ),
        op(
            format!("{scope_path}/{{name}}"),
            "delete",
            "delete",
            format!("delete{gv}{ns}{kind}"),
            format!("delete a {kind}"),
            item_params.clone(),
            DELETE_PARAMS.to_vec(),
            Input::DeleteOptions,
            vec![("200", Body::Status), ("202", Body::Status)],
        ),
    ];
    for sub in &d.subresources {
        let camel = gv_camel(sub, "");
        let path = format!("{scope_path}/{{name}}/{sub}");
        ops.push(op(
            path.clone(),
            "get",
            "get",
            format!("read{gv}{ns}{kind}{camel}"),
            format!("read {sub} of the specified {kind}"),
            item_params.clone(),
            vec!["resourceVersion"],
            Input::None,
            vec![("200", Body::Object)],
        ));
        ops.push(op(
            path.clone(),
            "put",
            "put",
            format!("replace{gv}{ns}{kind}{camel}"),
            format!("replace {sub} of the specified {kind}"),
            item_params.clone(),
            WRITE_PARAMS.to_vec(),
            Input::Object,
            vec![("200", Body::Object), ("201", Body::Object)],
        ));
        ops.push(op(
            path,
            "patch",
            "patch",
            format!("patch{gv}{ns}{kind}{camel}"),
            format!("partially update {sub} of the specified {kind}"),
            item_params.clone(),
            PATCH_PARAMS.to_vec(),
            Input::Patch,
            vec![("200", Body::Object), ("201", Body::Object)],
        ));
    }
    ops.push(op(
        watch_scope_path.clone(),
        "get",
        "watchlist",
        format!("watch{gv}{ns}{kind}List"),
        format!("watch individual changes to a list of {kind}. deprecated: use the 'watch' parameter with a list operation instead."),
        scope_params.clone(),
        LIST_PARAMS.to_vec(),
        Input::None,
        vec![("200", Body::WatchEvent)],
    ));
    ops.push(op(
        format!("{watch_scope_path}/{{name}}"),
        "get",
        "watch",
        format!("watch{gv}{ns}{kind}"),
        format!("watch changes to an object of kind {kind}. deprecated: use the 'watch' parameter with a list operation instead, filtered to a single item with the 'fieldSelector' parameter."),
        item_params,
        LIST_PARAMS.to_vec(),
        Input::None,
        vec![("200", Body::WatchEvent)],
    ));
    if d.namespaced {
        ops.push(op(
            format!("{base}/{}", d.plural),
            "get",
            "list",
            format!("list{gv}{kind}ForAllNamespaces"),
            format!("list or watch objects of kind {kind}"),
            vec![],
            LIST_PARAMS.to_vec(),
            Input::None,
            vec![("200", Body::List)],
        ));
        ops.push(op(
            format!("{base}/watch/{}", d.plural),
            "get",
            "watchlist",
            format!("watch{gv}{kind}ListForAllNamespaces"),
            format!("watch individual changes to a list of {kind}. deprecated: use the 'watch' parameter with a list operation instead."),
            vec![],
            LIST_PARAMS.to_vec(),
            Input::None,
            vec![("200", Body::WatchEvent)],
        ));
    }
    ops
}

fn response_schema(refs: &Refs, body: Body) -> &Value {
    match body {
        Body::Object => &refs.object,
        Body::List => &refs.list,
        Body::Status => &refs.status,
        Body::WatchEvent => &refs.watch_event,
    }
}

fn produces(op: &Operation) -> Vec<&'static str> {
    if op.action.starts_with("watch") || op.action == "list" {
        vec![
            "application/json",
            "application/yaml",
            "application/json;stream=watch",
        ]
    } else {
        vec!["application/json", "application/yaml"]
    }
}

fn gvk(op: &Operation) -> Value {
    json!({"group": op.group, "kind": op.kind, "version": op.version})
}

/// Paths under construction: path → method/`parameters` → value (sorted, as Go emits them).
type Paths = BTreeMap<String, Map<String, Value>>;

fn into_value(paths: Paths) -> Value {
    Value::Object(
        paths
            .into_iter()
            .map(|(k, v)| (k, Value::Object(v)))
            .collect(),
    )
}

fn insert_v2(paths: &mut Paths, op: &Operation, refs: &Refs) {
    let item = paths.entry(op.path.clone()).or_default();
    let mut shared = Vec::new();
    for p in &op.path_params {
        shared.push(json!({"uniqueItems": true, "type": "string",
            "description": param_description(p), "name": p, "in": "path", "required": true}));
    }
    shared.push(json!({"uniqueItems": true, "type": "string",
        "description": param_description("pretty"), "name": "pretty", "in": "query"}));
    item.insert("parameters".into(), Value::Array(shared));
    let mut parameters: Vec<Value> = Vec::new();
    match op.input {
        Input::None => {}
        Input::Object => parameters
            .push(json!({"name": "body", "in": "body", "required": true, "schema": refs.object})),
        Input::Patch => parameters
            .push(json!({"name": "body", "in": "body", "required": true, "schema": refs.patch})),
        Input::DeleteOptions => {
            parameters.push(json!({"name": "body", "in": "body", "schema": refs.delete_options}))
        }
    }
    for q in &op.query {
        let (ty, _) = param_type(q);
        parameters.push(json!({"uniqueItems": true, "type": ty,
            "description": param_description(q), "name": q, "in": "query"}));
    }
    let mut responses = Map::new();
    for (code, body) in &op.responses {
        let text = match *code {
            "201" => "Created",
            "202" => "Accepted",
            _ => "OK",
        };
        responses.insert(
            (*code).to_owned(),
            json!({"description": text, "schema": response_schema(refs, *body)}),
        );
    }
    responses.insert("401".into(), json!({"description": "Unauthorized"}));
    let consumes: Vec<&str> = if op.input == Input::Patch {
        PATCH_MEDIA_TYPES.to_vec()
    } else {
        vec!["*/*"]
    };
    let tag = format!("{}_{}", lower_camel(&op.group), op.version);
    item.insert(
        op.method.to_owned(),
        json!({
            "description": op.description,
            "consumes": consumes,
            "produces": produces(op),
            "schemes": ["https"],
            "tags": [tag],
            "operationId": op.operation_id,
            "parameters": parameters,
            "responses": responses,
            "x-kubernetes-action": op.action,
            "x-kubernetes-group-version-kind": gvk(op),
        }),
    );
}

fn insert_v3(paths: &mut Paths, op: &Operation, refs: &Refs) {
    let item = paths.entry(op.path.clone()).or_default();
    let mut shared = Vec::new();
    for p in &op.path_params {
        shared.push(
            json!({"name": p, "in": "path", "description": param_description(p),
            "required": true, "schema": {"type": "string", "uniqueItems": true}}),
        );
    }
    shared.push(
        json!({"name": "pretty", "in": "query", "description": param_description("pretty"),
        "schema": {"type": "string", "uniqueItems": true}}),
    );
    item.insert("parameters".into(), Value::Array(shared));
    let parameters: Vec<Value> = op
        .query
        .iter()
        .map(|q| {
            let (ty, _) = param_type(q);
            json!({"name": q, "in": "query", "description": param_description(q),
                "schema": {"type": ty, "uniqueItems": true}})
        })
        .collect();
    let media = |schema: &Value, types: &[&str]| {
        let mut m = Map::new();
        for t in types {
            m.insert((*t).to_owned(), json!({"schema": schema}));
        }
        Value::Object(m)
    };
    let mut responses = Map::new();
    for (code, body) in &op.responses {
        let text = match *code {
            "201" => "Created",
            "202" => "Accepted",
            _ => "OK",
        };
        responses.insert(
            (*code).to_owned(),
            json!({"description": text, "content": media(response_schema(refs, *body), &produces(op))}),
        );
    }
    responses.insert("401".into(), json!({"description": "Unauthorized"}));
    let mut operation = Map::new();
    operation.insert(
        "tags".into(),
        json!([format!("{}_{}", lower_camel(&op.group), op.version)]),
    );
    operation.insert("description".into(), json!(op.description));
    operation.insert("operationId".into(), json!(op.operation_id));
    operation.insert("parameters".into(), json!(parameters));
    match op.input {
        Input::None => {}
        Input::Object => {
            operation.insert(
                "requestBody".into(),
                json!({"content": media(&refs.object, &["*/*"]), "required": true}),
            );
        }
        Input::Patch => {
            operation.insert(
                "requestBody".into(),
                json!({"content": media(&refs.patch, &PATCH_MEDIA_TYPES), "required": true}),
            );
        }
        Input::DeleteOptions => {
            operation.insert(
                "requestBody".into(),
                json!({"content": media(&refs.delete_options, &["*/*"])}),
            );
        }
    }
    operation.insert("responses".into(), Value::Object(responses));
    operation.insert("x-kubernetes-action".into(), json!(op.action));
    operation.insert("x-kubernetes-group-version-kind".into(), gvk(op));
    item.insert(op.method.to_owned(), Value::Object(operation));
}

fn lower_camel(group: &str) -> String {
    let camel = gv_camel(group, "");
    let mut chars = camel.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn descriptor() -> ResourceDescriptor {
        ResourceDescriptor {
            group: "navigator.jetstack.io".into(),
            plural: "cassandraclusters".into(),
            singular: "cassandracluster".into(),
            kind: "CassandraCluster".into(),
            list_kind: "CassandraClusterList".into(),
            namespaced: true,
            short_names: vec!["cassandra".into()],
            categories: vec![],
            versions: vec!["v1alpha1".into()],
            storage_version: "v1alpha1".into(),
            subresources: vec!["status".into()],
        }
    }

    fn input() -> OpenApiInput {
        let gvk = json!([{"group": "navigator.jetstack.io", "version": "v1alpha1", "kind": "CassandraCluster"}]);
        let def = json!({"type": "object", "properties": {"spec": {"type": "object"}},
            "x-kubernetes-group-version-kind": gvk});
        OpenApiInput {
            v2: Some(
                json!({"swagger": "2.0", "info": {"title": "t", "version": "1"}, "paths": {},
                "definitions": {"io.jetstack.navigator.v1alpha1.CassandraCluster": def}}),
            ),
            v3: BTreeMap::from([(
                "navigator.jetstack.io/v1alpha1".to_owned(),
                json!({"openapi": "3.0.0", "info": {"title": "t", "version": "1"}, "paths": {},
                    "components": {"schemas": {"io.jetstack.navigator.v1alpha1.CassandraCluster": def}}}),
            )]),
        }
    }

    #[test]
    fn v2_paths_carry_kubernetes_extensions() {
        let api = OpenApi::new(&input(), &[descriptor()]);
        let v2: Value = serde_json::from_slice(&api.v2().body).unwrap();
        let base = "/apis/navigator.jetstack.io/v1alpha1";
        let patch = &v2["paths"]
            [format!("{base}/namespaces/{{namespace}}/cassandraclusters/{{name}}")]["patch"];
        assert_eq!(
            patch["operationId"],
            "patchNavigatorJetstackIoV1alpha1NamespacedCassandraCluster"
        );
        assert_eq!(patch["x-kubernetes-action"], "patch");
        assert_eq!(
            patch["x-kubernetes-group-version-kind"]["kind"],
            "CassandraCluster"
        );
        assert_eq!(
            patch["consumes"][2],
            "application/strategic-merge-patch+json"
        );
        let list = &v2["paths"][format!("{base}/cassandraclusters")]["get"];
        assert_eq!(
            list["operationId"],
            "listNavigatorJetstackIoV1alpha1CassandraClusterForAllNamespaces"
        );
        let status = &v2["paths"]
            [format!("{base}/namespaces/{{namespace}}/cassandraclusters/{{name}}/status")];
        assert_eq!(
            status["put"]["operationId"],
            "replaceNavigatorJetstackIoV1alpha1NamespacedCassandraClusterStatus"
        );
        assert_eq!(
            status["get"]["responses"]["200"]["schema"]["$ref"],
            "#/definitions/io.jetstack.navigator.v1alpha1.CassandraCluster"
        );
        assert!(v2["definitions"]["io.k8s.apimachinery.pkg.apis.meta.v1.Status"].is_object());
        assert!(api.v2().etag.starts_with('"'));
    }

    #[test]
    fn v3_index_and_documents() {
        let api = OpenApi::new(&input(), &[descriptor()]);
        let index: Value = serde_json::from_slice(&api.v3_index().body).unwrap();
        let doc = api.v3("navigator.jetstack.io/v1alpha1").unwrap();
        assert_eq!(
            index["paths"]["apis/navigator.jetstack.io/v1alpha1"]["serverRelativeURL"],
            format!(
                "/openapi/v3/apis/navigator.jetstack.io/v1alpha1?hash={}",
                doc.hash()
            )
        );
        let v3: Value = serde_json::from_slice(&doc.body).unwrap();
        let patch = &v3["paths"]["/apis/navigator.jetstack.io/v1alpha1/namespaces/{namespace}/cassandraclusters/{name}"]
            ["patch"];
        assert!(
            patch["requestBody"]["content"]["application/strategic-merge-patch+json"].is_object()
        );
        assert!(
            patch["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "fieldValidation")
        );
        assert_eq!(
            patch["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/io.jetstack.navigator.v1alpha1.CassandraCluster"
        );
        assert!(api.v3("other/v1").is_none());
    }
}
