use super::*;
use pretty_assertions::assert_eq;
use serde_json::json;

fn cc() -> GroupResource {
    GroupResource::new("navigator.jetstack.io", "cassandraclusters")
}

fn wire(err: &ApiError) -> String {
    serde_json::to_string(&err.to_status()).expect("status serialises")
}

/// Every variant against the exact JSON a Go server sends (field order included).
#[test]
fn wire_form_matches_go() {
    let cases: Vec<(ApiError, &str)> = vec![
        (
            ApiError::NotFound { resource: cc(), name: "demo".into() },
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"cassandraclusters.navigator.jetstack.io \"demo\" not found","reason":"NotFound","details":{"name":"demo","group":"navigator.jetstack.io","kind":"cassandraclusters"},"code":404}"#,
        ),
        (
            ApiError::AlreadyExists { resource: cc(), name: "demo".into() },
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"cassandraclusters.navigator.jetstack.io \"demo\" already exists","reason":"AlreadyExists","details":{"name":"demo","group":"navigator.jetstack.io","kind":"cassandraclusters"},"code":409}"#,
        ),
        (
            ApiError::optimistic_lock(cc(), "demo"),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Operation cannot be fulfilled on cassandraclusters.navigator.jetstack.io \"demo\": the object has been modified; please apply your changes to the latest version and try again","reason":"Conflict","details":{"name":"demo","group":"navigator.jetstack.io","kind":"cassandraclusters"},"code":409}"#,
        ),
        (
            ApiError::bad_request("invalid continue token: bad"),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"invalid continue token: bad","reason":"BadRequest","code":400}"#,
        ),
        (
            ApiError::too_old_resource_version(5, 10),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 5 (9)","reason":"Expired","code":410}"#,
        ),
        (
            ApiError::list_resource_version_expired(),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"The resourceVersion for the provided list is too old.","reason":"Expired","code":410}"#,
        ),
        (
            ApiError::Gone { message: "gone".into() },
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"gone","reason":"Gone","code":410}"#,
        ),
        (
            ApiError::body_too_large(3_145_728),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Request entity too large: limit is 3145728","reason":"RequestEntityTooLarge","code":413}"#,
        ),
        (
            ApiError::UnprocessableEntity { detail: "test failed".into() },
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server rejected our request due to an error in our request","reason":"Invalid","details":{},"code":422}"#,
        ),
        (
            ApiError::UnsupportedMediaType {
                accepted: vec!["application/json".into(), "application/yaml".into()],
            },
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the body of the request was in an unknown format - accepted media types include: application/json, application/yaml","reason":"UnsupportedMediaType","code":415}"#,
        ),
        (
            ApiError::not_acceptable(&["application/json"]),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"only the following media types are accepted: application/json","reason":"NotAcceptable","code":406}"#,
        ),
        (
            ApiError::MethodNotAllowed { resource: cc(), action: "watch".into() },
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"watch is not supported on resources of kind \"cassandraclusters.navigator.jetstack.io\"","reason":"MethodNotAllowed","details":{"group":"navigator.jetstack.io","kind":"cassandraclusters"},"code":405}"#,
        ),
        (
            ApiError::Forbidden {
                resource: cc(),
                name: "demo".into(),
                reason: "User \"u\" cannot get resource \"cassandraclusters\" in API group \"navigator.jetstack.io\" in the namespace \"ns\"".into(),
            },
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"cassandraclusters.navigator.jetstack.io \"demo\" is forbidden: User \"u\" cannot get resource \"cassandraclusters\" in API group \"navigator.jetstack.io\" in the namespace \"ns\"","reason":"Forbidden","details":{"name":"demo","group":"navigator.jetstack.io","kind":"cassandraclusters"},"code":403}"#,
        ),
        (
            ApiError::Forbidden {
                resource: GroupResource::default(),
                name: String::new(),
                reason: "User \"u\" cannot get path \"/metrics\"".into(),
            },
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"forbidden: User \"u\" cannot get path \"/metrics\"","reason":"Forbidden","details":{},"code":403}"#,
        ),
        (
            ApiError::Unauthorized { message: "Unauthorized".into() },
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#,
        ),
        (
            ApiError::Unauthorized { message: String::new() },
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"not authorized","reason":"Unauthorized","code":401}"#,
        ),
        (
            ApiError::internal("disk full"),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Internal error occurred: disk full","reason":"InternalError","details":{"causes":[{"message":"disk full"}]},"code":500}"#,
        ),
        (
            ApiError::Timeout {
                message: "request did not complete within requested timeout".into(),
                retry_after_seconds: 0,
            },
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Timeout: request did not complete within requested timeout","reason":"Timeout","details":{},"code":504}"#,
        ),
        (
            ApiError::TooLargeResourceVersion { requested: 100, current: 42, retry_after_seconds: 1 },
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Timeout: Too large resource version: 100, current: 42","reason":"Timeout","details":{"causes":[{"reason":"ResourceVersionTooLarge","message":"Too large resource version"}],"retryAfterSeconds":1},"code":504}"#,
        ),
        (
            ApiError::TooManyRequests { message: "slow down".into(), retry_after_seconds: 1 },
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"slow down","reason":"TooManyRequests","details":{"retryAfterSeconds":1},"code":429}"#,
        ),
        (
            ApiError::GenerateNameConflict { resource: cc(), name: "demo-x7k2".into(), retry_after_seconds: 1 },
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"cassandraclusters.navigator.jetstack.io \"demo-x7k2\" already exists, the server was not able to generate a unique name for the object","reason":"AlreadyExists","details":{"name":"demo-x7k2","group":"navigator.jetstack.io","kind":"cassandraclusters","retryAfterSeconds":1},"code":409}"#,
        ),
    ];
    for (err, want) in cases {
        assert_eq!(wire(&err), want, "{err:?}");
        let status = err.to_status();
        assert_eq!(status.code, i32::from(err.code()));
        assert_eq!(
            err.to_string(),
            status.message,
            "Display is the wire message"
        );
    }
}

#[test]
fn invalid_lists_every_cause_and_aggregates_message() {
    let err = ApiError::Invalid {
        kind: GroupKind::new("navigator.jetstack.io", "CassandraCluster"),
        name: "demo".into(),
        errors: vec![
            FieldError::invalid("spec.replicas", -1, "must be greater than or equal to 0"),
            FieldError::required("metadata.name", "name or generateName is required"),
            FieldError::not_supported("spec.flavour", "redis", ["cassandra", "opensearch"]),
            FieldError::duplicate("spec.nodePools[1].name", "a"),
            FieldError::forbidden("spec.version", "may not be changed"),
            FieldError::too_long("metadata.labels", 63),
        ],
    };
    let got: Value = serde_json::to_value(err.to_status()).expect("serialises");
    let want = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "CassandraCluster.navigator.jetstack.io \"demo\" is invalid: [spec.replicas: Invalid value: -1: must be greater than or equal to 0, metadata.name: Required value: name or generateName is required, spec.flavour: Unsupported value: \"redis\": supported values: \"cassandra\", \"opensearch\", spec.nodePools[1].name: Duplicate value: \"a\", spec.version: Forbidden: may not be changed, metadata.labels: Too long: may not be more than 63 bytes]",
        "reason": "Invalid",
        "details": {
            "name": "demo", "group": "navigator.jetstack.io", "kind": "CassandraCluster",
            "causes": [
                {"reason": "FieldValueInvalid", "message": "Invalid value: -1: must be greater than or equal to 0", "field": "spec.replicas"},
                {"reason": "FieldValueRequired", "message": "Required value: name or generateName is required", "field": "metadata.name"},
                {"reason": "FieldValueNotSupported", "message": "Unsupported value: \"redis\": supported values: \"cassandra\", \"opensearch\"", "field": "spec.flavour"},
                {"reason": "FieldValueDuplicate", "message": "Duplicate value: \"a\"", "field": "spec.nodePools[1].name"},
                {"reason": "FieldValueForbidden", "message": "Forbidden: may not be changed", "field": "spec.version"},
                {"reason": "FieldValueTooLong", "message": "Too long: may not be more than 63 bytes", "field": "metadata.labels"}
            ]
        },
        "code": 422
    });
    assert_eq!(got, want);
}

#[test]
fn invalid_single_error_has_no_brackets_and_duplicates_collapse() {
    let e = FieldError::required("metadata.name", "");
    let err = ApiError::Invalid {
        kind: GroupKind::new("", "Pod"),
        name: "p".into(),
        errors: vec![e.clone(), e],
    };
    assert_eq!(
        err.message(),
        "Pod \"p\" is invalid: metadata.name: Required value"
    );
    // Causes are not de-duplicated (Go keeps one cause per error).
    assert_eq!(err.to_status().details.map(|d| d.causes.len()), Some(2));
    let empty = ApiError::Invalid {
        kind: GroupKind::new("g", "K"),
        name: "n".into(),
        errors: vec![],
    };
    assert_eq!(empty.message(), "K.g \"n\" is invalid");
}

#[test]
fn core_group_resources_have_no_dot() {
    let err = ApiError::NotFound {
        resource: GroupResource::new("", "pods"),
        name: "p".into(),
    };
    assert_eq!(err.message(), "pods \"p\" not found");
}

#[test]
fn status_round_trips_and_converts_to_k8s_openapi() {
    let status = ApiError::optimistic_lock(cc(), "demo").to_status();
    let text = serde_json::to_string(&status).expect("serialises");
    let back: Status = serde_json::from_str(&text).expect("parses");
    assert_eq!(back, status);
    let k: k8s_openapi::apimachinery::pkg::apis::meta::v1::Status = status.into();
    assert_eq!(k.code, Some(409));
    assert_eq!(k.reason.as_deref(), Some("Conflict"));
    assert_eq!(k.details.and_then(|d| d.name), Some("demo".to_owned()));
}

#[test]
fn deleted_status_names_the_object() {
    let status = ApiError::deleted_status(&cc(), "demo", "8d3c");
    assert_eq!(
        serde_json::to_string(&status).expect("json"),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success","details":{"name":"demo","group":"navigator.jetstack.io","kind":"cassandraclusters","uid":"8d3c"}}"#
    );
}
