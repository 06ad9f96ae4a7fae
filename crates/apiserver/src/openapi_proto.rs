//! OpenAPI v2 as protobuf (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`): the
//! `openapi.v2.Document` message of gnostic's `OpenAPIv2.proto`, which is all client-go's
//! `OpenAPISchema()` accepts (kubectl ≤ 1.28 `explain`, the OpenAPI v2 steps of `apply` and
//! client-side validation). A hand-written encoder for the subset of Swagger 2.0 a Kubernetes
//! server emits; vendor extensions travel as YAML (JSON text, which is YAML) in `Any.yaml`.

use serde_json::{Map, Value};

/// The media type of the protobuf document.
pub const PROTOBUF_V2: &str = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";

/// A protobuf message being written.
#[derive(Default)]
struct Msg(Vec<u8>);

impl Msg {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn key(&mut self, field: u32, wire: u8) {
        self.varint((u64::from(field) << 3) | u64::from(wire));
    }

    fn bytes(&mut self, field: u32, b: &[u8]) {
        self.key(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }

    /// A proto3 string: omitted when empty.
    fn string(&mut self, field: u32, s: &str) {
        if !s.is_empty() {
            self.bytes(field, s.as_bytes());
        }
    }

    fn message(&mut self, field: u32, m: Msg) {
        self.bytes(field, &m.0);
    }

    fn boolean(&mut self, field: u32, b: bool) {
        if b {
            self.key(field, 0);
            self.varint(1);
        }
    }

    fn int64(&mut self, field: u32, i: i64) {
        if i != 0 {
            self.key(field, 0);
            self.varint(i as u64);
        }
    }

    fn double(&mut self, field: u32, d: f64) {
        if d != 0.0 {
            self.key(field, 1);
            self.0.extend_from_slice(&d.to_le_bytes());
        }
    }

    fn strings(&mut self, field: u32, v: Option<&Value>) {
        for s in v.and_then(Value::as_array).into_iter().flatten() {
            if let Some(s) = s.as_str() {
                self.bytes(field, s.as_bytes());
            }
        }
    }
}

fn str_of<'a>(o: &'a Map<String, Value>, k: &str) -> &'a str {
    o.get(k).and_then(Value::as_str).unwrap_or("")
}

fn bool_of(o: &Map<String, Value>, k: &str) -> bool {
    o.get(k).and_then(Value::as_bool).unwrap_or(false)
}

fn i64_of(o: &Map<String, Value>, k: &str) -> i64 {
    o.get(k).and_then(Value::as_i64).unwrap_or(0)
}

fn f64_of(o: &Map<String, Value>, k: &str) -> f64 {
    o.get(k).and_then(Value::as_f64).unwrap_or(0.0)
}

/// `Any { yaml }`.
fn any(v: &Value) -> Msg {
    let mut m = Msg::default();
    m.string(2, &serde_json::to_string(v).unwrap_or_default());
    m
}

/// `repeated NamedAny vendor_extension = field` for every `x-` key.
fn vendor_extensions(m: &mut Msg, field: u32, o: &Map<String, Value>) {
    for (k, v) in o.iter().filter(|(k, _)| k.starts_with("x-")) {
        let mut named = Msg::default();
        named.string(1, k);
        named.message(2, any(v));
        m.message(field, named);
    }
}

fn schema(v: &Value) -> Msg {
    let mut m = Msg::default();
    let Some(o) = v.as_object() else {
        return m;
    };
    m.string(1, str_of(o, "$ref"));
    m.string(2, str_of(o, "format"));
    m.string(3, str_of(o, "title"));
    m.string(4, str_of(o, "description"));
    if let Some(d) = o.get("default") {
        m.message(5, any(d));
    }
    m.double(6, f64_of(o, "multipleOf"));
    m.double(7, f64_of(o, "maximum"));
    m.boolean(8, bool_of(o, "exclusiveMaximum"));
    m.double(9, f64_of(o, "minimum"));
    m.boolean(10, bool_of(o, "exclusiveMinimum"));
    m.int64(11, i64_of(o, "maxLength"));
    m.int64(12, i64_of(o, "minLength"));
    m.string(13, str_of(o, "pattern"));
    m.int64(14, i64_of(o, "maxItems"));
    m.int64(15, i64_of(o, "minItems"));
    m.boolean(16, bool_of(o, "uniqueItems"));
    m.int64(17, i64_of(o, "maxProperties"));
    m.int64(18, i64_of(o, "minProperties"));
    m.strings(19, o.get("required"));
    for e in o
        .get("enum")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        m.message(20, any(e));
    }
    match o.get("additionalProperties") {
        Some(Value::Bool(b)) => {
            let mut item = Msg::default();
            item.key(2, 0);
            item.varint(u64::from(*b));
            m.message(21, item);
        }
        Some(s @ Value::Object(_)) => {
            let mut item = Msg::default();
            item.message(1, schema(s));
            m.message(21, item);
        }
        _ => {}
    }
    match o.get("type") {
        Some(Value::String(t)) => {
            let mut item = Msg::default();
            item.string(1, t);
            m.message(22, item);
        }
        Some(t @ Value::Array(_)) => {
            let mut item = Msg::default();
            item.strings(1, Some(t));
            m.message(22, item);
        }
        _ => {}
    }
    match o.get("items") {
        Some(s @ Value::Object(_)) => {
            let mut item = Msg::default();
            item.message(1, schema(s));
            m.message(23, item);
        }
        Some(Value::Array(list)) => {
            let mut item = Msg::default();
            for s in list {
                item.message(1, schema(s));
            }
            m.message(23, item);
        }
        _ => {}
    }
    for s in o
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        m.message(24, schema(s));
    }
    if let Some(props) = o.get("properties").and_then(Value::as_object) {
        let mut p = Msg::default();
        for (name, s) in props {
            let mut named = Msg::default();
            named.string(1, name);
            named.message(2, schema(s));
            p.message(1, named);
        }
        m.message(25, p);
    }
    m.string(26, str_of(o, "discriminator"));
    m.boolean(27, bool_of(o, "readOnly"));
    if let Some(e) = o.get("example") {
        m.message(30, any(e));
    }
    vendor_extensions(&mut m, 31, o);
    m
}

fn parameter(v: &Value) -> Msg {
    let mut item = Msg::default();
    let Some(o) = v.as_object() else {
        return item;
    };
    if let Some(r) = o.get("$ref").and_then(Value::as_str) {
        let mut reference = Msg::default();
        reference.string(1, r);
        item.message(2, reference);
        return item;
    }
    let mut param = Msg::default();
    let location = str_of(o, "in");
    if location == "body" {
        let mut body = Msg::default();
        body.string(1, str_of(o, "description"));
        body.string(2, str_of(o, "name"));
        body.string(3, location);
        body.boolean(4, bool_of(o, "required"));
        if let Some(s) = o.get("schema") {
            body.message(5, schema(s));
        }
        vendor_extensions(&mut body, 6, o);
        param.message(1, body);
    } else {
        // Query and formData share one numbering; path and header another.
        let (which, query_like) = match location {
            "query" => (3, true),
            "formData" => (2, true),
            "header" => (1, false),
            _ => (4, false),
        };
        let mut sub = Msg::default();
        sub.boolean(1, bool_of(o, "required"));
        sub.string(2, location);
        sub.string(3, str_of(o, "description"));
        sub.string(4, str_of(o, "name"));
        if query_like {
            sub.boolean(5, bool_of(o, "allowEmptyValue"));
            sub.string(6, str_of(o, "type"));
            sub.string(7, str_of(o, "format"));
            sub.boolean(20, bool_of(o, "uniqueItems"));
            vendor_extensions(&mut sub, 23, o);
        } else {
            sub.string(5, str_of(o, "type"));
            sub.string(6, str_of(o, "format"));
            sub.boolean(19, bool_of(o, "uniqueItems"));
            vendor_extensions(&mut sub, 22, o);
        }
        let mut non_body = Msg::default();
        non_body.message(which, sub);
        param.message(2, non_body);
    }
    item.message(1, param);
    item
}

fn operation(o: &Map<String, Value>) -> Msg {
    let mut m = Msg::default();
    m.strings(1, o.get("tags"));
    m.string(2, str_of(o, "summary"));
    m.string(3, str_of(o, "description"));
    m.string(5, str_of(o, "operationId"));
    m.strings(6, o.get("produces"));
    m.strings(7, o.get("consumes"));
    for p in o
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        m.message(8, parameter(p));
    }
    if let Some(responses) = o.get("responses").and_then(Value::as_object) {
        let mut rs = Msg::default();
        for (code, r) in responses {
            let Some(ro) = r.as_object() else { continue };
            let mut value = Msg::default();
            if let Some(reference) = ro.get("$ref").and_then(Value::as_str) {
                let mut j = Msg::default();
                j.string(1, reference);
                value.message(2, j);
            } else {
                let mut resp = Msg::default();
                resp.string(1, str_of(ro, "description"));
                if let Some(s) = ro.get("schema") {
                    let mut item = Msg::default();
                    item.message(1, schema(s));
                    resp.message(2, item);
                }
                vendor_extensions(&mut resp, 5, ro);
                value.message(1, resp);
            }
            let mut named = Msg::default();
            named.string(1, code);
            named.message(2, value);
            rs.message(1, named);
        }
        m.message(9, rs);
    }
    m.strings(10, o.get("schemes"));
    m.boolean(11, bool_of(o, "deprecated"));
    vendor_extensions(&mut m, 13, o);
    m
}

/// Encodes a Swagger 2.0 JSON document as an `openapi.v2.Document`.
pub fn encode_v2(doc: &Value) -> Vec<u8> {
    let mut m = Msg::default();
    let Some(o) = doc.as_object() else {
        return m.0;
    };
    m.string(1, str_of(o, "swagger"));
    if let Some(info) = o.get("info").and_then(Value::as_object) {
        let mut i = Msg::default();
        i.string(1, str_of(info, "title"));
        i.string(2, str_of(info, "version"));
        i.string(3, str_of(info, "description"));
        vendor_extensions(&mut i, 7, info);
        m.message(2, i);
    }
    m.string(3, str_of(o, "host"));
    m.string(4, str_of(o, "basePath"));
    m.strings(5, o.get("schemes"));
    m.strings(6, o.get("consumes"));
    m.strings(7, o.get("produces"));
    if let Some(paths) = o.get("paths").and_then(Value::as_object) {
        let mut ps = Msg::default();
        for (path, item) in paths {
            let Some(io) = item.as_object() else { continue };
            let mut pi = Msg::default();
            pi.string(1, str_of(io, "$ref"));
            for (field, method) in [
                (2, "get"),
                (3, "put"),
                (4, "post"),
                (5, "delete"),
                (6, "options"),
                (7, "head"),
                (8, "patch"),
            ] {
                if let Some(op) = io.get(method).and_then(Value::as_object) {
                    pi.message(field, operation(op));
                }
            }
            for p in io
                .get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                pi.message(9, parameter(p));
            }
            vendor_extensions(&mut pi, 10, io);
            let mut named = Msg::default();
            named.string(1, path);
            named.message(2, pi);
            ps.message(2, named);
        }
        m.message(8, ps);
    }
    if let Some(defs) = o.get("definitions").and_then(Value::as_object) {
        let mut ds = Msg::default();
        for (name, s) in defs {
            let mut named = Msg::default();
            named.string(1, name);
            named.message(2, schema(s));
            ds.message(1, named);
        }
        m.message(9, ds);
    }
    vendor_extensions(&mut m, 16, o);
    m.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_format_of_small_documents() {
        let doc = json!({"swagger": "2.0", "info": {"title": "t", "version": "1"}});
        // swagger (1): "2.0"; info (2): {title "t", version "1"}.
        assert_eq!(
            encode_v2(&doc),
            vec![
                0x0a, 3, b'2', b'.', b'0', 0x12, 6, 0x0a, 1, b't', 0x12, 1, b'1'
            ]
        );
        let def = json!({"definitions": {"A": {"type": "object",
            "x-kubernetes-group-version-kind": [{"group": "g", "kind": "A", "version": "v1"}]}}});
        let bytes = encode_v2(&def);
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("x-kubernetes-group-version-kind"));
        assert!(text.contains(r#"[{"group":"g","kind":"A","version":"v1"}]"#));
        let mut m = Msg::default();
        m.varint(300);
        assert_eq!(m.0, vec![0xac, 0x02]);
    }
}
