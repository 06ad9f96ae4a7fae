//! Unknown-field detection for `fieldValidation`: a field the client sent that the decoded and
//! re-encoded object no longer has was not understood by the decoder.

use serde_json::Value;

use super::rest::FieldValidation;
use crate::status::ApiError;

/// Paths (Go's notation: `spec.foo`, `spec.nodePools[0].bar`) present in `input` but absent from
/// `output`, in document order. Explicit `null`s are not reported (they decode to absent fields).
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
                    None if v.is_null() => {}
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
    fields: &[String],
    mode: FieldValidation,
    verb: Verb,
    kind: &str,
    version: &str,
) -> Result<Vec<String>, ApiError> {
    if fields.is_empty() {
        return Ok(Vec::new());
    }
    let each: Vec<String> = fields
        .iter()
        .map(|f| format!("unknown field {}", crate::status::go_quote(f)))
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
    fn reports_input_paths_missing_from_output() {
        let input = json!({"spec": {"a": 1, "foo": 2, "list": [{"x": 1, "bar": 2}], "gone": null}, "extra": {}});
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
        let w = enforce(&f, FieldValidation::Warn, patch(), "Thing", "v1").expect("warn");
        assert_eq!(
            w,
            ["unknown field \"spec.foo\"", "unknown field \"spec.bar\""]
        );
        assert!(
            enforce(&f, FieldValidation::Ignore, Verb::Apply, "T", "v")
                .expect("ok")
                .is_empty()
        );
        let e = enforce(&f, FieldValidation::Strict, patch(), "Thing", "v1").expect_err("422");
        assert_eq!(e.code(), 422);
        assert_eq!(
            e.message(),
            " \"\" is invalid: patch: Invalid value: \"{\\\"spec\\\":{}}\": strict decoding error: unknown field \"spec.foo\", unknown field \"spec.bar\""
        );
        let e =
            enforce(&f[..1], FieldValidation::Strict, Verb::Apply, "Thing", "v1").expect_err("400");
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
