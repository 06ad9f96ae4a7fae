use super::*;
use pretty_assertions::assert_eq;
use proptest::prelude::*;

fn out(format: Format, conversion: Option<(Conversion, &str)>) -> Output {
    Output {
        format,
        conversion: conversion.map(|(c, v)| (c, v.to_owned())),
        pretty: false,
    }
}

#[test]
fn output_negotiation_like_go() {
    let kubectl_get = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
    let gc = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";
    let cases: Vec<(Option<&str>, bool, Option<Output>)> = vec![
        (None, true, Some(out(Format::Json, None))),
        (Some(""), true, Some(out(Format::Json, None))),
        (
            Some("application/json"),
            true,
            Some(out(Format::Json, None)),
        ),
        (
            Some("application/yaml"),
            true,
            Some(out(Format::Yaml, None)),
        ),
        (Some("*/*"), true, Some(out(Format::Json, None))),
        (Some("application/*"), true, Some(out(Format::Json, None))),
        (Some("*"), true, Some(out(Format::Json, None))),
        (
            Some(kubectl_get),
            true,
            Some(out(Format::Json, Some((Conversion::Table, "v1")))),
        ),
        (Some(kubectl_get), false, Some(out(Format::Json, None))),
        (
            Some(gc),
            true,
            Some(out(
                Format::Json,
                Some((Conversion::PartialObjectMetadataList, "v1")),
            )),
        ),
        (
            Some("application/yaml;as=Table;g=meta.k8s.io;v=v1beta1"),
            true,
            Some(out(Format::Yaml, Some((Conversion::Table, "v1beta1")))),
        ),
        (
            Some("application/json;q=0.5, application/yaml"),
            true,
            Some(out(Format::Yaml, None)),
        ),
        (
            Some("*/*;q=0.9, application/yaml;q=0.8"),
            true,
            Some(out(Format::Json, None)),
        ),
        (
            Some("*/*, application/yaml"),
            true,
            Some(out(Format::Yaml, None)),
        ),
        (
            Some("application/json;stream=watch"),
            true,
            Some(out(Format::Json, None)),
        ),
        (Some("application/json;as=Table;g=apps;v=v1"), true, None),
        (
            Some("application/json;as=Deployment;g=meta.k8s.io;v=v1"),
            true,
            None,
        ),
        (
            Some("application/json;as=Table;g=meta.k8s.io;v=v2"),
            true,
            None,
        ),
        (Some("application/json;sv=v1"), true, None),
        (Some("application/yaml;stream=watch"), true, None),
        (Some("application/vnd.kubernetes.protobuf"), true, None),
        (Some("text/html"), true, None),
        (Some("Application/JSON"), true, None),
    ];
    for (accept, table, want) in cases {
        let got = negotiate_output(accept, table);
        match want {
            Some(w) => assert_eq!(got, Ok(w), "{accept:?}"),
            None => {
                let err = got.expect_err("406");
                assert_eq!(err.code(), 406, "{accept:?}");
                assert_eq!(
                    err.message(),
                    "only the following media types are accepted: application/json, application/yaml"
                );
            }
        }
    }
    let pretty = negotiate_output(Some("application/json;pretty=1"), true).expect("ok");
    assert!(pretty.pretty);
}

#[test]
fn watch_negotiation_requires_a_stream_format() {
    assert_eq!(
        negotiate_watch_output(None, true).map(|o| o.format),
        Ok(Format::Json)
    );
    let table = negotiate_watch_output(Some("application/json;as=Table;g=meta.k8s.io;v=v1"), true)
        .expect("table watch");
    assert_eq!(table.conversion, Some((Conversion::Table, "v1".to_owned())));
    let err = negotiate_watch_output(Some("application/yaml, application/json"), true)
        .expect_err("yaml first");
    assert_eq!(
        err.message(),
        "only the following media types are accepted: application/json;stream=watch"
    );
    assert_eq!(err.code(), 406);
}

#[test]
fn input_and_patch_types_like_go() {
    assert_eq!(negotiate_input(None), Ok(Format::Json));
    assert_eq!(negotiate_input(Some("")), Ok(Format::Json));
    assert_eq!(
        negotiate_input(Some("application/json; charset=utf-8")),
        Ok(Format::Json)
    );
    assert_eq!(negotiate_input(Some("Application/YAML")), Ok(Format::Yaml));
    for bad in [
        "text/plain",
        "application/vnd.kubernetes.protobuf",
        "garbage",
        "application/",
    ] {
        let err = negotiate_input(Some(bad)).expect_err(bad);
        assert_eq!(err.code(), 415);
        assert_eq!(
            err.message(),
            "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml"
        );
    }
    assert_eq!(
        patch_type(Some("application/json-patch+json")),
        Ok(PatchType::Json)
    );
    assert_eq!(
        patch_type(Some("application/merge-patch+json; charset=utf-8")),
        Ok(PatchType::Merge)
    );
    assert_eq!(
        patch_type(Some("application/strategic-merge-patch+json")),
        Ok(PatchType::StrategicMerge)
    );
    assert_eq!(
        patch_type(Some("application/apply-patch+yaml")),
        Ok(PatchType::Apply)
    );
    let err = patch_type(Some("application/json")).expect_err("plain json is not a patch type");
    assert_eq!(err.code(), 415);
    assert_eq!(
        err.message(),
        "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml"
    );
    assert!(patch_type(None).is_err());
}

#[test]
fn pretty_printing_like_go() {
    assert!(is_pretty(Some("true"), None));
    assert!(is_pretty(Some("1"), Some("kubectl")));
    assert!(!is_pretty(Some("false"), Some("curl/8.0")));
    assert!(!is_pretty(Some("yes"), None), "not a Go bool");
    assert!(is_pretty(None, Some("curl/8.5.0")));
    assert!(is_pretty(Some(""), Some("Mozilla/5.0 (X11)")));
    assert!(!is_pretty(None, Some("kubectl/v1.33.0")));
}

proptest! {
    #[test]
    fn negotiation_never_panics(accept in "\\PC{0,60}", ct in "\\PC{0,30}") {
        let _ = negotiate_output(Some(&accept), true);
        let _ = negotiate_watch_output(Some(&accept), true);
        let _ = negotiate_input(Some(&ct));
        let _ = patch_type(Some(&ct));
    }
}
