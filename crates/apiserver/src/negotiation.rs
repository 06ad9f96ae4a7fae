//! Content negotiation (Go's `apiserver/pkg/endpoints/handlers/negotiation`): `Accept` → the
//! response's format and representation, `Content-Type` → the body's format or patch type, and
//! the body decoders. JSON and YAML only; protobuf and CBOR are never served (like a CRD).

use apimachinery::registry::{IncludeObject, PatchType, Representation};
use apimachinery::status::ApiError;
use serde_json::Value;

/// The largest request body accepted (Go's `MaxRequestBodyBytes`, 3 MiB).
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// A wire format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/json`.
    Json,
    /// `application/yaml`.
    Yaml,
}

impl Format {
    /// The bare media type.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Yaml => "application/yaml",
        }
    }
}

/// What the endpoint returns, which decides which `as=` conversions apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// One object (get, create, update, patch, delete).
    Object,
    /// A list (list, deletecollection).
    List,
    /// A watch stream (each event's object is converted like a single object).
    Watch,
}

/// The `as=` conversion of `meta.k8s.io`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conversion {
    /// `as=Table`.
    Table,
    /// `as=PartialObjectMetadata`.
    PartialObjectMetadata,
    /// `as=PartialObjectMetadataList`.
    PartialObjectMetadataList,
}

impl Conversion {
    fn as_str(self) -> &'static str {
        match self {
            Self::Table => "Table",
            Self::PartialObjectMetadata => "PartialObjectMetadata",
            Self::PartialObjectMetadataList => "PartialObjectMetadataList",
        }
    }
}

/// The negotiated response encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// JSON or YAML.
    pub format: Format,
    /// The conversion asked for, if any (always `meta.k8s.io/v1`).
    pub conversion: Option<Conversion>,
    /// `;pretty=1` on the media type.
    pub pretty: bool,
}

impl Output {
    /// Plain JSON.
    pub const JSON: Self = Self {
        format: Format::Json,
        conversion: None,
        pretty: false,
    };

    /// The response `Content-Type` (Go echoes the conversion parameters).
    pub fn content_type(&self) -> String {
        match self.conversion {
            None => self.format.media_type().to_owned(),
            Some(c) => format!(
                "{};as={};v=v1;g=meta.k8s.io",
                self.format.media_type(),
                c.as_str()
            ),
        }
    }

    /// The registry's [`Representation`], with `includeObject` for tables.
    pub fn representation(&self, include_object: IncludeObject) -> Representation {
        match self.conversion {
            None => Representation::Object,
            Some(Conversion::Table) => Representation::Table { include_object },
            Some(Conversion::PartialObjectMetadata | Conversion::PartialObjectMetadataList) => {
                Representation::PartialObjectMetadata
            }
        }
    }
}

/// One media range of an `Accept` header.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaRange {
    /// Type, lower-cased (`application`, `*`).
    pub type_: String,
    /// Subtype, lower-cased (`json`, `*`).
    pub subtype: String,
    /// Parameters other than `q`, names lower-cased, values as given.
    pub params: Vec<(String, String)>,
    /// Quality, 0–1.
    pub q: f32,
}

impl MediaRange {
    /// A parameter's value.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses an `Accept` header (RFC 7231 with q-values, like `goautoneg`), best first; ranges
/// with `q=0` are dropped and equal qualities keep their order.
pub fn parse_accept(header: &str) -> Vec<MediaRange> {
    let mut ranges: Vec<MediaRange> = header
        .split(',')
        .filter_map(|part| {
            let mut pieces = part.split(';');
            let full = pieces.next()?.trim().to_ascii_lowercase();
            if full.is_empty() {
                return None;
            }
            let (type_, subtype) = match full.split_once('/') {
                Some((t, s)) => (t.to_owned(), s.to_owned()),
                None if full == "*" => ("*".to_owned(), "*".to_owned()),
                None => return None,
            };
            let mut q = 1.0_f32;
            let mut params = Vec::new();
            for p in pieces {
                let Some((k, v)) = p.split_once('=') else {
                    continue;
                };
                let k = k.trim().to_ascii_lowercase();
                let v = v.trim().trim_matches('"').to_owned();
                if k == "q" {
                    q = v.parse().unwrap_or(1.0);
                } else {
                    params.push((k, v));
                }
            }
            Some(MediaRange {
                type_,
                subtype,
                params,
                q,
            })
        })
        .filter(|r| r.q > 0.0)
        .collect();
    ranges.sort_by(|a, b| b.q.partial_cmp(&a.q).unwrap_or(std::cmp::Ordering::Equal));
    ranges
}

/// The media types this server produces, for 406 messages.
pub fn produced_media_types() -> Vec<String> {
    vec!["application/json".to_owned(), "application/yaml".to_owned()]
}

fn not_acceptable() -> ApiError {
    ApiError::not_acceptable(&produced_media_types())
}

fn format_of(range: &MediaRange) -> Option<Format> {
    match (range.type_.as_str(), range.subtype.as_str()) {
        ("*", "*") | ("application", "*" | "json") => Some(Format::Json),
        ("application", "yaml") => Some(Format::Yaml),
        _ => None,
    }
}

fn conversion_of(range: &MediaRange) -> Result<Option<Conversion>, ()> {
    let Some(as_) = range.param("as") else {
        return Ok(None);
    };
    if range.param("g") != Some("meta.k8s.io") || range.param("v") != Some("v1") {
        return Err(());
    }
    match as_ {
        "Table" => Ok(Some(Conversion::Table)),
        "PartialObjectMetadata" => Ok(Some(Conversion::PartialObjectMetadata)),
        "PartialObjectMetadataList" => Ok(Some(Conversion::PartialObjectMetadataList)),
        _ => Err(()),
    }
}

/// Negotiates a resource response: the first acceptable media range wins. `*/*` and an
/// absent header mean JSON. A conversion of the wrong shape for `target` (the single form on
/// a list or the list form on an object) is a 406, as in Go's `transformResponseObject`.
///
/// # Errors
/// 406 `NotAcceptable` when nothing can be served (e.g. protobuf only).
pub fn negotiate_output(accept: Option<&str>, target: Target) -> Result<Output, ApiError> {
    let Some(header) = accept.filter(|h| !h.trim().is_empty()) else {
        return Ok(Output::JSON);
    };
    for range in parse_accept(header) {
        let Some(format) = format_of(&range) else {
            continue;
        };
        let Ok(conversion) = conversion_of(&range) else {
            continue;
        };
        if target == Target::Watch && format == Format::Yaml {
            // Go has no streaming YAML serializer.
            continue;
        }
        match (conversion, target) {
            (Some(Conversion::PartialObjectMetadata), Target::List)
            | (Some(Conversion::PartialObjectMetadataList), Target::Object | Target::Watch) => {
                return Err(not_acceptable());
            }
            _ => {}
        }
        let pretty = matches!(range.param("pretty"), Some("1" | "true"));
        return Ok(Output {
            format,
            conversion,
            pretty,
        });
    }
    Err(not_acceptable())
}

/// Negotiates a non-resource JSON document (discovery, version, OpenAPI JSON): JSON if any
/// range accepts it.
///
/// # Errors
/// 406 when no range accepts JSON.
pub fn negotiate_json(accept: Option<&str>) -> Result<(), ApiError> {
    let Some(header) = accept.filter(|h| !h.trim().is_empty()) else {
        return Ok(());
    };
    let ok = parse_accept(header)
        .iter()
        .any(|r| format_of(r) == Some(Format::Json) && r.param("as").is_none());
    if ok { Ok(()) } else { Err(not_acceptable()) }
}

/// The discovery document `/apis` (and `/api`) answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscoveryFormat {
    /// `APIGroupList` / `APIVersions`.
    Legacy,
    /// `apidiscovery.k8s.io/v2` `APIGroupDiscoveryList`.
    AggregatedV2,
    /// `apidiscovery.k8s.io/v2beta1` `APIGroupDiscoveryList`.
    AggregatedV2Beta1,
}

impl DiscoveryFormat {
    /// The response `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Legacy => "application/json",
            Self::AggregatedV2 => {
                "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
            }
            Self::AggregatedV2Beta1 => {
                "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
            }
        }
    }
}

/// Negotiates `/apis`: aggregated discovery when the first acceptable range asks for it
/// (`application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`, also `v2beta1`),
/// legacy otherwise.
///
/// # Errors
/// 406 when nothing acceptable is asked for.
pub fn negotiate_discovery(accept: Option<&str>) -> Result<DiscoveryFormat, ApiError> {
    let Some(header) = accept.filter(|h| !h.trim().is_empty()) else {
        return Ok(DiscoveryFormat::Legacy);
    };
    for range in parse_accept(header) {
        if format_of(&range) != Some(Format::Json) {
            continue;
        }
        match (range.param("as"), range.param("g"), range.param("v")) {
            (None, _, _) => return Ok(DiscoveryFormat::Legacy),
            (Some("APIGroupDiscoveryList"), Some("apidiscovery.k8s.io"), Some("v2")) => {
                return Ok(DiscoveryFormat::AggregatedV2);
            }
            (Some("APIGroupDiscoveryList"), Some("apidiscovery.k8s.io"), Some("v2beta1")) => {
                return Ok(DiscoveryFormat::AggregatedV2Beta1);
            }
            _ => {}
        }
    }
    Err(not_acceptable())
}

fn bare_media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The format of a create/update body from its `Content-Type` (absent means JSON, as in Go).
///
/// # Errors
/// 415 `UnsupportedMediaType` for anything but JSON and YAML.
pub fn body_format(content_type: Option<&str>) -> Result<Format, ApiError> {
    match content_type.map(bare_media_type).as_deref() {
        None | Some("" | "application/json") => Ok(Format::Json),
        Some("application/yaml") => Ok(Format::Yaml),
        Some(_) => Err(ApiError::UnsupportedMediaType {
            accepted: produced_media_types(),
        }),
    }
}

/// The media types PATCH accepts, in Go's installer order.
pub const PATCH_MEDIA_TYPES: [&str; 4] = [
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
];

/// The patch type of a PATCH from its `Content-Type`; `force` comes from the query.
///
/// # Errors
/// 415 listing [`PATCH_MEDIA_TYPES`] for anything else.
pub fn patch_type(content_type: Option<&str>, force: bool) -> Result<PatchType, ApiError> {
    match content_type.map(bare_media_type).as_deref() {
        Some("application/json-patch+json") => Ok(PatchType::Json),
        Some("application/merge-patch+json") => Ok(PatchType::Merge),
        Some("application/strategic-merge-patch+json") => Ok(PatchType::StrategicMerge),
        Some("application/apply-patch+yaml") => Ok(PatchType::Apply { force }),
        _ => Err(ApiError::UnsupportedMediaType {
            accepted: PATCH_MEDIA_TYPES.iter().map(|s| (*s).to_owned()).collect(),
        }),
    }
}

/// Decodes a body in `format` into JSON.
///
/// # Errors
/// 400 `BadRequest` for malformed input.
pub fn decode_body(bytes: &[u8], format: Format) -> Result<Value, ApiError> {
    match format {
        Format::Json => serde_json::from_slice(bytes).map_err(|e| {
            ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}"))
        }),
        Format::Yaml => {
            let v: Value = serde_yaml::from_slice(bytes).map_err(|e| {
                ApiError::bad_request(format!("error converting YAML to JSON: yaml: {e}"))
            })?;
            Ok(v)
        }
    }
}

/// `includeObject` of a Table request.
///
/// # Errors
/// 400 `unrecognized includeObject value: "x"`.
pub fn include_object(value: Option<&str>) -> Result<IncludeObject, ApiError> {
    match value.unwrap_or("") {
        "" | "Metadata" => Ok(IncludeObject::Metadata),
        "None" => Ok(IncludeObject::None),
        "Object" => Ok(IncludeObject::Object),
        other => Err(ApiError::bad_request(format!(
            "unrecognized includeObject value: {}",
            apimachinery::status::go_quote(other)
        ))),
    }
}

/// Whether JSON output is indented: `?pretty=true|1`, or a browser/curl/wget user agent when
/// `pretty` is absent (Go's `isPrettyPrint`).
pub fn is_pretty(pretty_query: Option<&str>, user_agent: Option<&str>) -> bool {
    match pretty_query {
        Some(v) => matches!(v, "1" | "true" | "True" | "TRUE" | "t" | "T"),
        None => user_agent.is_some_and(|ua| {
            ua.starts_with("curl") || ua.starts_with("Wget") || ua.starts_with("Mozilla/5.0")
        }),
    }
}

/// Encodes a response body: compact JSON ending in `\n` (Go's `json.Encoder`), indented JSON,
/// or YAML.
///
/// # Errors
/// 500 if YAML encoding fails (it cannot for JSON values in practice).
pub fn encode(value: &Value, format: Format, pretty: bool) -> Result<Vec<u8>, ApiError> {
    match format {
        Format::Json => {
            let mut out = if pretty {
                serde_json::to_vec_pretty(value)
            } else {
                serde_json::to_vec(value)
            }
            .map_err(ApiError::internal)?;
            out.push(b'\n');
            Ok(out)
        }
        Format::Yaml => serde_yaml::to_string(value)
            .map(String::into_bytes)
            .map_err(ApiError::internal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
    const POM: &str = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json";
    const POML: &str = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";

    fn out(format: Format, conversion: Option<Conversion>) -> Output {
        Output {
            format,
            conversion,
            pretty: false,
        }
    }

    #[test]
    fn accept_table() {
        use Conversion::*;
        use Format::*;
        let cases: Vec<(Option<&str>, Target, Result<Output, u16>)> = vec![
            (None, Target::Object, Ok(out(Json, None))),
            (Some(""), Target::List, Ok(out(Json, None))),
            (Some("*/*"), Target::List, Ok(out(Json, None))),
            (Some("application/json"), Target::List, Ok(out(Json, None))),
            (
                Some("application/yaml"),
                Target::Object,
                Ok(out(Yaml, None)),
            ),
            (Some("application/yaml"), Target::Watch, Err(406)),
            (
                Some("application/yaml, application/json"),
                Target::Watch,
                Ok(out(Json, None)),
            ),
            (
                Some("application/json;q=0.5, application/yaml"),
                Target::List,
                Ok(out(Yaml, None)),
            ),
            (Some(TABLE), Target::List, Ok(out(Json, Some(Table)))),
            (Some(TABLE), Target::Object, Ok(out(Json, Some(Table)))),
            (Some(TABLE), Target::Watch, Ok(out(Json, Some(Table)))),
            (
                Some("application/json;as=Table;v=v1beta1;g=meta.k8s.io"),
                Target::List,
                Err(406),
            ),
            (
                Some(POM),
                Target::Object,
                Ok(out(Json, Some(PartialObjectMetadata))),
            ),
            (
                Some(POM),
                Target::Watch,
                Ok(out(Json, Some(PartialObjectMetadata))),
            ),
            (Some(POM), Target::List, Err(406)),
            (
                Some(POML),
                Target::List,
                Ok(out(Json, Some(PartialObjectMetadataList))),
            ),
            (Some(POML), Target::Object, Err(406)),
            (
                Some("application/vnd.kubernetes.protobuf"),
                Target::List,
                Err(406),
            ),
            (
                Some("application/vnd.kubernetes.protobuf, application/json"),
                Target::List,
                Ok(out(Json, None)),
            ),
            (Some("text/html"), Target::List, Err(406)),
            (
                Some("application/json;as=Foo;g=meta.k8s.io;v=v1"),
                Target::List,
                Err(406),
            ),
        ];
        for (accept, target, want) in cases {
            let got = negotiate_output(accept, target).map_err(|e| e.code());
            assert_eq!(got, want, "{accept:?} {target:?}");
        }
        let pretty = negotiate_output(Some("application/json;pretty=1"), Target::Object).unwrap();
        assert!(pretty.pretty);
        assert_eq!(
            out(Json, Some(Table)).content_type(),
            "application/json;as=Table;v=v1;g=meta.k8s.io"
        );
        let err = negotiate_output(Some("application/vnd.kubernetes.protobuf"), Target::List)
            .unwrap_err();
        assert_eq!(
            err.message(),
            "only the following media types are accepted: application/json, application/yaml"
        );
    }

    #[test]
    fn discovery_accept() {
        use DiscoveryFormat::*;
        let v2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json;q=0.9";
        let cases = [
            (None, Ok(Legacy)),
            (Some("application/json"), Ok(Legacy)),
            (Some("*/*"), Ok(Legacy)),
            (Some(v2), Ok(AggregatedV2)),
            (
                Some("application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"),
                Ok(AggregatedV2Beta1),
            ),
            (
                Some(
                    "application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json",
                ),
                Ok(Legacy),
            ),
            (Some("application/vnd.kubernetes.protobuf"), Err(406)),
        ];
        for (accept, want) in cases {
            assert_eq!(
                negotiate_discovery(accept).map_err(|e| e.code()),
                want,
                "{accept:?}"
            );
        }
    }

    #[test]
    fn content_types() {
        assert_eq!(body_format(None).unwrap(), Format::Json);
        assert_eq!(
            body_format(Some("application/json; charset=utf-8")).unwrap(),
            Format::Json
        );
        assert_eq!(body_format(Some("application/yaml")).unwrap(), Format::Yaml);
        assert_eq!(
            body_format(Some("application/vnd.kubernetes.protobuf"))
                .unwrap_err()
                .code(),
            415
        );
        let cases = [
            ("application/json-patch+json", Ok(PatchType::Json)),
            ("application/merge-patch+json", Ok(PatchType::Merge)),
            (
                "application/strategic-merge-patch+json",
                Ok(PatchType::StrategicMerge),
            ),
            (
                "application/apply-patch+yaml",
                Ok(PatchType::Apply { force: true }),
            ),
            ("application/json", Err(415)),
            ("application/apply-patch+cbor", Err(415)),
        ];
        for (ct, want) in cases {
            assert_eq!(
                patch_type(Some(ct), true).map_err(|e| e.code()),
                want,
                "{ct}"
            );
        }
        assert_eq!(
            patch_type(None, false).unwrap_err().message(),
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml"
        );
    }

    #[test]
    fn bodies_and_encoding() {
        let v = decode_body(b"kind: Pilot\nmetadata:\n  name: a\n", Format::Yaml).unwrap();
        assert_eq!(v["metadata"]["name"], "a");
        assert_eq!(decode_body(b"{", Format::Json).unwrap_err().code(), 400);
        assert_eq!(decode_body(b"a: [", Format::Yaml).unwrap_err().code(), 400);
        let json = encode(&serde_json::json!({"a": 1}), Format::Json, false).unwrap();
        assert_eq!(json, b"{\"a\":1}\n");
        let yaml = encode(&serde_json::json!({"a": 1}), Format::Yaml, false).unwrap();
        assert_eq!(yaml, b"a: 1\n");
        assert_eq!(include_object(Some("x")).unwrap_err().code(), 400);
        assert_eq!(include_object(None).unwrap(), IncludeObject::Metadata);
        assert!(is_pretty(None, Some("curl/8.0")));
        assert!(!is_pretty(Some("false"), Some("curl/8.0")));
        assert!(!is_pretty(None, Some("kubectl/v1.33")));
    }
}
