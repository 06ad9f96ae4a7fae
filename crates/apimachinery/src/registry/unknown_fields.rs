//! Unknown-field detection for `fieldValidation`: a field the client sent that the decoded and
//! re-encoded object no longer has was not understood by the decoder.

use serde_json::Value;

use super::rest::FieldValidation;
use crate::status::ApiError;

/// Paths (Go's notation: `spec.foo`, `spec.nodePools[0].bar`) present in `input` but absent from
/// `output`, in document order. Explicit `null`s are not reported (they decode to absent fields),
/// nor are other empty values (`false`, `0`, `""`, `[]`, `{}`) that encoders omit: a valid
/// `"paused": false` must not be rejected as unknown, at the cost of not reporting an unknown
/// field that holds an empty value.
pub fn unknown_fields(input: &Value, output: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(input, output, &mut String::new(), &mut out);
    out
}

fn walk(input: &Value, output: &Value, path: &mut String, out: &mut Vec<String>) {
    match (input, output) {
        (Value::Object(i), Value::Object(o)) => {
            for (k, v) in i {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                match o.get(k) {
                    Some(ov) => walk(v, ov, path, out),
                    // An encoder omits empty values (`false`, `0`, `""`, `[]`, `{}`): a member
                    // holding one is known unless proven otherwise.
                    None if is_empty_value(v) => {}
                    None => out.push(path.clone()),
                }
                path.truncate(len);
            }
        }
        (Value::Array(i), Value::Array(o)) if i.len() == o.len() => {
            for (n, (iv, ov)) in i.iter().zip(o).enumerate() {
                let len = path.len();
                path.push_str(&format!("[{n}]"));
                walk(iv, ov, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Whether `v` is a value encoders omit as empty (`omitempty`, `skip_serializing_if`).
fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// Paths of object members that appear more than once in a JSON document (the last one wins
/// when the document is parsed), in document order. Not JSON, or nothing duplicated: empty.
pub fn duplicate_fields(json: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut de = serde_json::Deserializer::from_slice(json);
    let seed = Duplicates {
        path: String::new(),
        out: &mut out,
    };
    if serde::de::DeserializeSeed::deserialize(seed, &mut de).is_err() {
        return Vec::new();
    }
    out
}

/// Walks a document, recording duplicated members.
struct Duplicates<'a> {
    path: String,
    out: &'a mut Vec<String>,
}

impl<'de> serde::de::DeserializeSeed<'de> for Duplicates<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Duplicates<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.path.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.path)
            };
            if !seen.insert(key) {
                self.out.push(path.clone());
            }
            map.next_value_seed(Duplicates {
                path,
                out: &mut *self.out,
            })?;
        }
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        loop {
            let path = format!("{}[{i}]", self.path);
            if seq
                .next_element_seed(Duplicates {
                    path,
                    out: &mut *self.out,
                })?
                .is_none()
            {
                return Ok(());
            }
            i += 1;
        }
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// What `fieldValidation` makes of the unknown fields of a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    /// POST or PUT: 400 `<Kind> in version "v" cannot be handled as a <Kind>: strict decoding error: …`.
    CreateOrUpdate,
    /// Non-apply PATCH: 422 Invalid (empty kind and name) on field `patch`, whose value is the
    /// patched object's JSON, as Go's patch handler builds it.
    Patch {
        /// The patched object, compact JSON.
        patched: String,
    },
    /// Apply PATCH: 400 `error strict decoding patch: …`.
    Apply,
}

/// Applies `fieldValidation` to the unknown fields found: the warnings to send, or the error.
///
/// # Errors
/// Under `Strict`, the error Go returns for `verb`.
pub fn enforce(
    duplicates: &[String],
    fields: &[String],
    mode: FieldValidation,
    verb: Verb,
    kind: &str,
    version: &str,
) -> Result<Vec<String>, ApiError> {
    if fields.is_empty() && duplicates.is_empty() {
        return Ok(Vec::new());
    }
    let each: Vec<String> = duplicates
        .iter()
        .map(|f| format!("duplicate field {}", crate::status::go_quote(f)))
        .chain(
            fields
                .iter()
                .map(|f| format!("unknown field {}", crate::status::go_quote(f))),
        )
        .collect();
    match mode {
        FieldValidation::Ignore => Ok(Vec::new()),
        FieldValidation::Warn => Ok(each),
        FieldValidation::Strict => {
            let detail = format!("strict decoding error: {}", each.join(", "));
            Err(match verb {
                Verb::CreateOrUpdate => ApiError::bad_request(format!(
                    "{kind} in version {} cannot be handled as a {kind}: {detail}",
                    crate::status::go_quote(version)
                )),
                Verb::Apply => {
                    ApiError::bad_request(format!("error strict decoding patch: {detail}"))
                }
                Verb::Patch { patched } => ApiError::Invalid {
                    kind: crate::status::GroupKind::default(),
                    name: String::new(),
                    errors: vec![crate::status::FieldError::invalid(
                        "patch",
                        Value::String(patched),
                        detail,
                    )],
                },
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn finds_duplicated_members_with_their_paths() {
        let body = br#"{"spec": {"a": 1, "a": 2, "l": [{"x": 1, "x": 2}, {"x": 3}]}, "kind": "K", "kind": "K"}"#;
        assert_eq!(duplicate_fields(body), ["spec.a", "spec.l[0].x", "kind"]);
        assert!(duplicate_fields(br#"{"a": {"b": 1}, "c": {"b": 2}}"#).is_empty());
        assert!(duplicate_fields(b"not json").is_empty());
        let err = enforce(
            &["spec.a".into()],
            &["spec.b".into()],
            FieldValidation::Strict,
            Verb::CreateOrUpdate,
            "K",
            "v1",
        )
        .unwrap_err();
        assert_eq!(
            err.message(),
            "K in version \"v1\" cannot be handled as a K: strict decoding error: duplicate field \"spec.a\", unknown field \"spec.b\""
        );
    }

    #[test]
    fn empty_values_the_encoder_omits_are_not_unknown() {
        let input = json!({"spec": {"paused": false, "plugins": [], "n": 0, "s": "", "m": {}, "bogus": true}});
        assert_eq!(unknown_fields(&input, &json!({"spec": {}})), ["spec.bogus"]);
    }

    #[test]
    fn reports_input_paths_missing_from_output() {
        let input = json!({"spec": {"a": 1, "foo": 2, "list": [{"x": 1, "bar": 2}], "gone": null}, "extra": {"a": 1}});
        let output = json!({"spec": {"a": 1, "list": [{"x": 1}], "defaulted": 3}});
        assert_eq!(
            unknown_fields(&input, &output),
            ["spec.foo", "spec.list[0].bar", "extra"]
        );
    }

    #[test]
    fn strict_messages_match_go() {
        let f = vec!["spec.foo".to_owned(), "spec.bar".to_owned()];
        let e = enforce(
            &[],
            &f,
            FieldValidation::Strict,
            Verb::CreateOrUpdate,
            "Thing",
            "v1",
        )
        .expect_err("strict");
        assert_eq!(
            e.message(),
            "Thing in version \"v1\" cannot be handled as a Thing: strict decoding error: unknown field \"spec.foo\", unknown field \"spec.bar\""
        );
        let patch = || Verb::Patch {
            patched: r#"{"spec":{}}"#.to_owned(),
        };
        let w = enforce(&[], &f, FieldValidation::Warn, patch(), "Thing", "v1").expect("warn");
        assert_eq!(
            w,
            ["unknown field \"spec.foo\"", "unknown field \"spec.bar\""]
        );
        assert!(
            enforce(&[], &f, FieldValidation::Ignore, Verb::Apply, "T", "v")
                .expect("ok")
                .is_empty()
        );
        let e = enforce(&[], &f, FieldValidation::Strict, patch(), "Thing", "v1").expect_err("422");
        assert_eq!(e.code(), 422);
        assert_eq!(
            e.message(),
            " \"\" is invalid: patch: Invalid value: \"{\\\"spec\\\":{}}\": strict decoding error: unknown field \"spec.foo\", unknown field \"spec.bar\""
        );
        let e = enforce(
            &[],
            &f[..1],
            FieldValidation::Strict,
            Verb::Apply,
            "Thing",
            "v1",
        )
        .expect_err("400");
        assert_eq!(
            e.message(),
            "error strict decoding patch: strict decoding error: unknown field \"spec.foo\""
        );
    }

    proptest! {
        /// Whatever the object, comparing it with itself finds nothing.
        #[test]
        fn identical_documents_have_no_unknown_fields(keys in proptest::collection::vec("[a-z]{1,4}", 0..8)) {
            let mut m = serde_json::Map::new();
            for (i, k) in keys.iter().enumerate() {
                m.insert(k.clone(), json!({"n": i, "l": [i]}));
            }
            let v = Value::Object(m);
            prop_assert!(unknown_fields(&v, &v).is_empty());
        }
    }
}
