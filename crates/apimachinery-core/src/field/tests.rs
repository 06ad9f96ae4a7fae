use super::*;
use pretty_assertions::assert_eq;
use serde_json::json;

#[test]
fn field_error_bodies_render_values_like_go() {
    let cases = [
        (
            FieldError::invalid("f", true, "x"),
            "Invalid value: true: x",
        ),
        (FieldError::invalid("f", 1.5, ""), "Invalid value: 1.5"),
        (
            FieldError::invalid("f", json!({"a": [1]}), "d"),
            "Invalid value: {\"a\":[1]}: d",
        ),
        (
            FieldError::invalid("f", "a\"b\n", "d"),
            "Invalid value: \"a\\\"b\\n\": d",
        ),
        (
            FieldError::new(
                "f",
                FieldErrorKind::Invalid {
                    value: None,
                    detail: "d".into(),
                },
            ),
            "Invalid value: d",
        ),
        (
            FieldError::too_long("f", 1),
            "Too long: may not be more than 1 byte",
        ),
        (FieldError::too_long("f", -1), "Too long: value is too long"),
        (
            FieldError::new(
                "f",
                FieldErrorKind::TooMany {
                    actual: Some(3),
                    max: 2,
                },
            ),
            "Too many: 3: must have at most 2 items",
        ),
        (
            FieldError::new(
                "f",
                FieldErrorKind::TooMany {
                    actual: None,
                    max: 1,
                },
            ),
            "Too many: must have at most 1 item",
        ),
        (
            FieldError::not_supported("f", "x", Vec::<String>::new()),
            "Unsupported value: \"x\"",
        ),
        (
            FieldError::new(
                "f",
                FieldErrorKind::NotFound {
                    value: Some(json!("cm")),
                },
            ),
            "Not found: \"cm\"",
        ),
        (
            FieldError::new(
                "f",
                FieldErrorKind::Internal {
                    detail: "boom".into(),
                },
            ),
            "Internal error: boom",
        ),
    ];
    for (e, want) in cases {
        assert_eq!(e.body(), want, "{e:?}");
    }
}

#[test]
fn paths_render_like_kubernetes() {
    let p = FieldPath::new("spec")
        .child("nodePools")
        .index(2)
        .child("name");
    assert_eq!(p.as_str(), "spec.nodePools[2].name");
    assert_eq!(
        FieldPath::new("metadata")
            .child("labels")
            .key("app")
            .as_str(),
        "metadata.labels[app]"
    );
    assert_eq!(FieldPath::default().child("kind").as_str(), "kind");
    assert_eq!(String::from(&p), "spec.nodePools[2].name");
}

#[test]
fn messages_and_causes_render_like_kubernetes() {
    let p = FieldPath::new("spec").child("version");
    assert_eq!(
        FieldError::required(&p, "").to_string(),
        "spec.version: Required value"
    );
    assert_eq!(
        FieldError::invalid(&p, -1, "must be greater than or equal to 0").to_cause(),
        StatusCause {
            reason: "FieldValueInvalid".into(),
            message: "Invalid value: -1: must be greater than or equal to 0".into(),
            field: "spec.version".into(),
        }
    );
    assert_eq!(
        FieldError::not_supported(&p, "x", ["a", "b"]).body(),
        "Unsupported value: \"x\": supported values: \"a\", \"b\""
    );
    assert_eq!(
        FieldError::duplicate(&p, "n").body(),
        "Duplicate value: \"n\""
    );
    assert_eq!(
        FieldError::forbidden(&p, "may not change").error_type(),
        ErrorType::Forbidden
    );
}

#[test]
fn every_error_type_has_go_cause_type_and_label() {
    let cases = [
        (ErrorType::NotFound, "FieldValueNotFound", "Not found"),
        (ErrorType::Required, "FieldValueRequired", "Required value"),
        (
            ErrorType::Duplicate,
            "FieldValueDuplicate",
            "Duplicate value",
        ),
        (ErrorType::Invalid, "FieldValueInvalid", "Invalid value"),
        (
            ErrorType::NotSupported,
            "FieldValueNotSupported",
            "Unsupported value",
        ),
        (ErrorType::Forbidden, "FieldValueForbidden", "Forbidden"),
        (ErrorType::TooLong, "FieldValueTooLong", "Too long"),
        (ErrorType::TooMany, "FieldValueTooMany", "Too many"),
        (ErrorType::Internal, "InternalError", "Internal error"),
        (
            ErrorType::TypeInvalid,
            "FieldValueTypeInvalid",
            "Invalid value",
        ),
    ];
    for (t, cause, label) in cases {
        assert_eq!((t.cause_type(), t.label()), (cause, label), "{t:?}");
    }
}

/// Where navigator-api's own field errors (before this crate) differed from Go: its values were
/// quoted with Rust's `{:?}`, its aggregate kept duplicates and bracketed an empty list, and its
/// too-many errors lost their limit. Each row is Go's rendering.
#[test]
fn differences_from_the_old_navigator_api_field_errors_follow_go() {
    let cases = [
        (
            FieldError::invalid("f", "a\u{8}b\u{c}", "d"),
            r#"f: Invalid value: "a\bb\f": d"#,
        ),
        (
            FieldError::invalid("f", "\u{0}\u{1}", "d"),
            r#"f: Invalid value: "\x00\x01": d"#,
        ),
        (
            FieldError::not_supported("f", "x", ["tab\there", "\u{7}"]),
            r#"f: Unsupported value: "x": supported values: "tab\there", "\a""#,
        ),
        (
            FieldError::duplicate("f", "soft\u{ad}hyphen"),
            r#"f: Duplicate value: "soft\u00adhyphen""#,
        ),
        (
            FieldError::invalid("f", json!(["<a>", "b&c"]), "d"),
            r#"f: Invalid value: ["\u003ca\u003e","b\u0026c"]: d"#,
        ),
        (
            FieldError::new(
                "f",
                FieldErrorKind::TooMany {
                    actual: Some(5),
                    max: 4,
                },
            ),
            "f: Too many: 5: must have at most 4 items",
        ),
    ];
    for (e, want) in cases {
        assert_eq!(e.to_string(), want, "{e:?}");
    }
    let a = FieldError::required("spec", "");
    assert_eq!(
        aggregate_message(std::slice::from_ref(&a)),
        "spec: Required value"
    );
    assert_eq!(
        aggregate_message(&[a.clone(), a.clone()]),
        "spec: Required value",
        "Go's ToAggregate drops repeated messages"
    );
    assert_eq!(
        aggregate_message(&[a.clone(), FieldError::required("metadata", ""), a]),
        "[spec: Required value, metadata: Required value]"
    );
    assert_eq!(aggregate_message(&[]), "");
}
