//! Content negotiation: which representation a response uses (`Accept`), how a request body
//! is encoded (`Content-Type`), and which patch format a `PATCH` carries.
//!
//! Follows Go's `apiserver/pkg/endpoints/handlers/negotiation` with `munnerz/goautoneg`'s
//! `Accept` parsing, restricted to what this server serves: JSON and YAML (no protobuf, no
//! CBOR), JSON-only watch streams, and the `as=Table` / `as=PartialObjectMetadata[List]`
//! conversions of `meta.k8s.io/v1` and `v1beta1`.

use crate::status::ApiError;

/// A wire format this server reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/json`
    Json,
    /// `application/yaml`
    Yaml,
}

impl Format {
    /// The media type.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Yaml => "application/yaml",
        }
    }

    fn from_subtype(sub: &str) -> Option<Self> {
        match sub {
            "json" => Some(Self::Json),
            "yaml" => Some(Self::Yaml),
            _ => None,
        }
    }
}

/// Response media types, in preference order (the first is the default).
pub const SUPPORTED: [Format; 2] = [Format::Json, Format::Yaml];

/// A server-side conversion requested with `;as=<Kind>;g=meta.k8s.io;v=<version>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conversion {
    /// `as=Table`: the printer-column view.
    Table,
    /// `as=PartialObjectMetadata`: metadata only.
    PartialObjectMetadata,
    /// `as=PartialObjectMetadataList`: metadata only, for lists.
    PartialObjectMetadataList,
}

/// The negotiated response representation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The encoding.
    pub format: Format,
    /// The conversion, with the `meta.k8s.io` version asked for (`v1` or `v1beta1`).
    pub conversion: Option<(Conversion, String)>,
    /// `;pretty=1` was given.
    pub pretty: bool,
}

/// One clause of an `Accept` header (goautoneg's `Accept`).
#[derive(Debug, Clone, PartialEq)]
struct Clause {
    kind: String,
    subtype: String,
    q: f64,
    params: Vec<(String, String)>,
}

/// goautoneg's `ParseAccept`: clauses sorted by quality, specific before wildcard (stably).
fn parse_accept(header: &str) -> Vec<Clause> {
    let trim = |s: &str| s.trim_matches(' ').to_owned();
    let mut out = Vec::new();
    for part in header.split(',') {
        let part = part.trim_matches(' ');
        let mut pieces = part.split(';');
        let range = pieces.next().unwrap_or("");
        let mut type_parts = range.split('/');
        let kind = trim(type_parts.next().unwrap_or(""));
        let subtype = match (type_parts.next(), type_parts.next()) {
            (None, _) if kind == "*" => "*".to_owned(),
            (Some(sub), None) => trim(sub),
            _ => continue,
        };
        let mut clause = Clause {
            kind,
            subtype,
            q: 1.0,
            params: Vec::new(),
        };
        for param in pieces {
            let mut kv = param.split('=');
            let (Some(k), Some(v), None) = (kv.next(), kv.next(), kv.next()) else {
                continue;
            };
            let k = trim(k);
            if k == "q" {
                // Go parses with 32-bit precision and ignores errors (leaving 0).
                clause.q = v.parse::<f32>().map_or(0.0, f64::from);
            } else {
                clause.params.push((k, trim(v)));
            }
        }
        out.push(clause);
    }
    out.sort_by(|a, b| {
        b.q.partial_cmp(&a.q)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then((a.kind == "*").cmp(&(b.kind == "*")))
            .then((a.subtype == "*").cmp(&(b.subtype == "*")))
    });
    out
}

/// Go's `acceptMediaTypeOptions` with a `RequestScope`'s restrictions: `None` if the clause's
/// parameters cannot be honoured for `format`.
fn accept_options(clause: &Clause, format: Format, table_supported: bool) -> Option<Output> {
    let (mut kind, mut group, mut version) = (None, None, None);
    let mut pretty = false;
    for (k, v) in &clause.params {
        match k.as_str() {
            "as" => kind = Some(v.as_str()),
            "g" => group = Some(v.as_str()),
            "v" => version = Some(v.as_str()),
            // Only JSON has a stream serializer, and only `watch` streams exist.
            "stream" if !v.is_empty() && (format != Format::Json || v != "watch") => return None,
            // Server-version selection is not supported.
            "sv" if !v.is_empty() => return None,
            "pretty" => pretty = v == "1",
            _ => {}
        }
    }
    let conversion = if kind.is_none() && group.is_none() && version.is_none() {
        None
    } else {
        let version = version.unwrap_or("");
        if group.unwrap_or("") != "meta.k8s.io" || !matches!(version, "v1" | "v1beta1") {
            return None;
        }
        let c = match kind.unwrap_or("") {
            "Table" if table_supported => Conversion::Table,
            "PartialObjectMetadata" => Conversion::PartialObjectMetadata,
            "PartialObjectMetadataList" => Conversion::PartialObjectMetadataList,
            _ => return None,
        };
        Some((c, version.to_owned()))
    };
    Some(Output {
        format,
        conversion,
        pretty,
    })
}

fn negotiate(accept: Option<&str>, table_supported: bool) -> Option<Output> {
    let header = accept.unwrap_or("");
    if header.is_empty() {
        return Some(Output {
            format: SUPPORTED[0],
            conversion: None,
            pretty: false,
        });
    }
    for clause in parse_accept(header) {
        for format in SUPPORTED {
            let sub = format.media_type().trim_start_matches("application/");
            let matches = (clause.kind == "application"
                && (clause.subtype == sub || clause.subtype == "*"))
                || (clause.kind == "*" && clause.subtype == "*");
            if matches && let Some(out) = accept_options(&clause, format, table_supported) {
                return Some(out);
            }
        }
    }
    None
}

/// The representation of a response (Go's `NegotiateOutputMediaType`). `table_supported` is
/// whether the resource has a table convertor.
///
/// # Errors
/// 406 `NotAcceptable` listing the media types this server produces.
pub fn negotiate_output(accept: Option<&str>, table_supported: bool) -> Result<Output, ApiError> {
    negotiate(accept, table_supported)
        .ok_or_else(|| ApiError::not_acceptable(&SUPPORTED.map(Format::media_type)))
}

/// The representation of a watch stream (Go's `NegotiateOutputMediaTypeStream`): the first
/// acceptable clause must be streamable, i.e. JSON.
///
/// # Errors
/// 406 `NotAcceptable` listing `application/json;stream=watch`.
pub fn negotiate_watch_output(
    accept: Option<&str>,
    table_supported: bool,
) -> Result<Output, ApiError> {
    match negotiate(accept, table_supported) {
        Some(out) if out.format == Format::Json => Ok(out),
        _ => Err(ApiError::not_acceptable(&["application/json;stream=watch"])),
    }
}

/// The media type without parameters, lower-cased, if it is well-formed (`type/subtype`).
fn essence(content_type: &str) -> Option<String> {
    let base = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let (t, s) = base.split_once('/')?;
    let token = |x: &str| {
        !x.is_empty()
            && x.bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b))
    };
    (token(t) && token(s)).then_some(base)
}

/// The encoding of a request body (Go's `NegotiateInputSerializer`); no `Content-Type` means
/// JSON.
///
/// # Errors
/// 415 `UnsupportedMediaType` listing JSON and YAML.
pub fn negotiate_input(content_type: Option<&str>) -> Result<Format, ApiError> {
    let ct = content_type
        .filter(|c| !c.is_empty())
        .unwrap_or("application/json");
    essence(ct)
        .and_then(|e| {
            e.strip_prefix("application/")
                .and_then(Format::from_subtype)
        })
        .ok_or_else(|| ApiError::UnsupportedMediaType {
            accepted: SUPPORTED
                .iter()
                .map(|f| f.media_type().to_owned())
                .collect(),
        })
}

/// A `PATCH` body format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// `application/json-patch+json` (RFC 6902).
    Json,
    /// `application/merge-patch+json` (RFC 7386).
    Merge,
    /// `application/strategic-merge-patch+json`.
    StrategicMerge,
    /// `application/apply-patch+yaml` (server-side apply).
    Apply,
}

/// The patch media types, in the order Go lists them.
pub const PATCH_TYPES: [&str; 4] = [
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
];

/// The patch format from a `PATCH`'s `Content-Type` (anything after `;` ignored, as in Go).
///
/// # Errors
/// 415 `UnsupportedMediaType` listing [`PATCH_TYPES`].
pub fn patch_type(content_type: Option<&str>) -> Result<PatchType, ApiError> {
    let ct = content_type.unwrap_or("");
    let base = match ct.find(';') {
        Some(i) if i > 0 => &ct[..i],
        _ => ct,
    };
    match base {
        "application/json-patch+json" => Ok(PatchType::Json),
        "application/merge-patch+json" => Ok(PatchType::Merge),
        "application/strategic-merge-patch+json" => Ok(PatchType::StrategicMerge),
        "application/apply-patch+yaml" => Ok(PatchType::Apply),
        _ => Err(ApiError::UnsupportedMediaType {
            accepted: PATCH_TYPES.iter().map(|s| (*s).to_owned()).collect(),
        }),
    }
}

/// Go's `isPrettyPrint`: `?pretty=<bool>` when given, else pretty for curl, Wget and browsers.
pub fn is_pretty(pretty_query: Option<&str>, user_agent: Option<&str>) -> bool {
    if let Some(p) = pretty_query.filter(|p| !p.is_empty()) {
        return matches!(p, "1" | "t" | "T" | "true" | "TRUE" | "True");
    }
    let ua = user_agent.unwrap_or("");
    ua.starts_with("curl") || ua.starts_with("Wget") || ua.starts_with("Mozilla/5.0")
}

#[cfg(test)]
mod tests;
