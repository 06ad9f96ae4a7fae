//! URL and method → what the request addresses (Go's `apiserver/pkg/endpoints/request`
//! `RequestInfoFactory.NewRequestInfo`). Pure: no I/O, table-tested.

use http::Method;

use crate::query::Query;

/// A Kubernetes API verb, as authorization, audit and metrics name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// GET (or HEAD) of one object.
    Get,
    /// GET of a collection.
    List,
    /// GET of a collection with `watch=true`, or a `/watch/` path.
    Watch,
    /// POST to a collection.
    Create,
    /// PUT of one object.
    Update,
    /// PATCH of one object.
    Patch,
    /// DELETE of one object.
    Delete,
    /// DELETE of a collection.
    DeleteCollection,
}

impl Verb {
    /// The lower-case verb name (`deletecollection` …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::List => "list",
            Self::Watch => "watch",
            Self::Create => "create",
            Self::Update => "update",
            Self::Patch => "patch",
            Self::Delete => "delete",
            Self::DeleteCollection => "deletecollection",
        }
    }

    /// Whether the verb changes state (Go's "mutating" request kind).
    pub fn is_mutating(self) -> bool {
        match self {
            Self::Get | Self::List | Self::Watch => false,
            Self::Create | Self::Update | Self::Patch | Self::Delete | Self::DeleteCollection => {
                true
            }
        }
    }
}

/// A request under `/apis/<group>/<version>/…` that addresses a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRequest {
    /// The verb.
    pub verb: Verb,
    /// API group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Namespace from `namespaces/<ns>/`, if any.
    pub namespace: Option<String>,
    /// Plural resource name.
    pub resource: String,
    /// Object name, if any.
    pub name: Option<String>,
    /// Subresource, e.g. `status`.
    pub subresource: Option<String>,
    /// Path segments beyond the subresource (Go's installer answers 404 for them).
    pub extra_segments: usize,
}

/// What a request addresses: a resource, or some other path (discovery, health, OpenAPI …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestInfo {
    /// A resource request.
    Resource(ResourceRequest),
    /// Anything else; `verb` is the lower-case HTTP method, as Go's authorizer sees it.
    NonResource {
        /// The URL path.
        path: String,
        /// Lower-case HTTP method (`get`, `post` …).
        verb: String,
    },
}

/// The verb of a method, given whether a name is present; `None` for methods the API does not
/// route (OPTIONS, CONNECT, TRACE …), which answer 405.
fn verb_for(method: &Method, has_name: bool) -> Option<Verb> {
    Some(match *method {
        Method::GET | Method::HEAD if has_name => Verb::Get,
        Method::GET | Method::HEAD => Verb::List,
        Method::POST => Verb::Create,
        Method::PUT => Verb::Update,
        Method::PATCH => Verb::Patch,
        Method::DELETE if has_name => Verb::Delete,
        Method::DELETE => Verb::DeleteCollection,
        _ => return None,
    })
}

/// Whether a `watch` query value turns a list into a watch (anything but `false`/`0`).
fn watch_requested(query: &Query) -> bool {
    query
        .get("watch")
        .is_some_and(|v| !matches!(v.to_ascii_lowercase().as_str(), "false" | "0"))
}

/// Parses a request the way Go's `RequestInfoFactory` does.
///
/// `/apis/<g>/<v>` and shorter paths are non-resource requests (discovery). Under
/// `/apis/<g>/<v>/`: an optional `watch/` prefix (verb `watch`), an optional
/// `namespaces/<ns>/`, then `<resource>[/<name>[/<subresource>]]`. `GET` of a collection with
/// `watch=true` is `watch`; `DELETE` of a collection is `deletecollection`.
///
/// Methods the API does not route (OPTIONS, CONNECT …) on resource paths yield
/// [`ParsedRequest::MethodNotSupported`].
pub fn parse_request_info(method: &Method, path: &str, query: &Query) -> ParsedRequest {
    let non_resource = || ParsedRequest::Ok(non_resource(method, path));
    let trimmed = path.trim_matches('/');
    let mut parts: Vec<&str> = trimmed.split('/').collect();
    if parts.first() != Some(&"apis") || parts.len() < 4 {
        return non_resource();
    }
    let group = parts[1].to_owned();
    let version = parts[2].to_owned();
    parts.drain(..3);

    let mut forced_watch = false;
    if parts.first() == Some(&"watch") {
        forced_watch = true;
        parts.remove(0);
    }
    let mut namespace = None;
    if parts.first() == Some(&"namespaces") && parts.len() > 1 {
        namespace = Some(parts[1].to_owned());
        if parts.len() > 2 {
            parts.drain(..2);
        } else {
            // `/apis/g/v/namespaces/<name>` addresses the namespace object itself.
            namespace = None;
            parts = vec!["namespaces", parts[1]];
        }
    }
    let Some(resource) = parts.first().map(|s| (*s).to_owned()) else {
        return non_resource();
    };
    if resource.is_empty() {
        return non_resource();
    }
    let name = parts.get(1).map(|s| (*s).to_owned());
    let subresource = parts.get(2).map(|s| (*s).to_owned());
    let extra_segments = parts.len().saturating_sub(3);
    let Some(mut verb) = verb_for(method, name.is_some()) else {
        return ParsedRequest::MethodNotSupported(ResourceRequest {
            verb: Verb::Get,
            group,
            version,
            namespace,
            resource,
            name,
            subresource,
            extra_segments,
        });
    };
    if (forced_watch && matches!(verb, Verb::Get | Verb::List))
        || (verb == Verb::List && watch_requested(query))
    {
        verb = Verb::Watch;
    }
    ParsedRequest::Ok(RequestInfo::Resource(ResourceRequest {
        verb,
        group,
        version,
        namespace,
        resource,
        name,
        subresource,
        extra_segments,
    }))
}

/// The result of [`parse_request_info`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParsedRequest {
    /// A routable request.
    Ok(RequestInfo),
    /// A resource path with a method the API does not route (405).
    MethodNotSupported(ResourceRequest),
}

fn non_resource(method: &Method, path: &str) -> RequestInfo {
    RequestInfo::NonResource {
        path: path.to_owned(),
        verb: method.as_str().to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(
        verb: Verb,
        ns: Option<&str>,
        resource: &str,
        name: Option<&str>,
        sub: Option<&str>,
    ) -> ParsedRequest {
        ParsedRequest::Ok(RequestInfo::Resource(ResourceRequest {
            verb,
            group: "navigator.jetstack.io".into(),
            version: "v1alpha1".into(),
            namespace: ns.map(Into::into),
            resource: resource.into(),
            name: name.map(Into::into),
            subresource: sub.map(Into::into),
            extra_segments: 0,
        }))
    }

    #[test]
    fn table() {
        let b = "/apis/navigator.jetstack.io/v1alpha1";
        let cases: Vec<(Method, String, &str, ParsedRequest)> = vec![
            (
                Method::GET,
                format!("{b}/namespaces/ns/pilots"),
                "",
                res(Verb::List, Some("ns"), "pilots", None, None),
            ),
            (
                Method::GET,
                format!("{b}/pilots"),
                "",
                res(Verb::List, None, "pilots", None, None),
            ),
            (
                Method::GET,
                format!("{b}/pilots"),
                "watch=true",
                res(Verb::Watch, None, "pilots", None, None),
            ),
            (
                Method::GET,
                format!("{b}/pilots"),
                "watch=1",
                res(Verb::Watch, None, "pilots", None, None),
            ),
            (
                Method::GET,
                format!("{b}/pilots"),
                "watch=false",
                res(Verb::List, None, "pilots", None, None),
            ),
            (
                Method::GET,
                format!("{b}/pilots"),
                "watch=0",
                res(Verb::List, None, "pilots", None, None),
            ),
            (
                Method::GET,
                format!("{b}/watch/namespaces/ns/pilots"),
                "",
                res(Verb::Watch, Some("ns"), "pilots", None, None),
            ),
            (
                Method::GET,
                format!("{b}/watch/namespaces/ns/pilots/p1"),
                "",
                res(Verb::Watch, Some("ns"), "pilots", Some("p1"), None),
            ),
            (
                Method::GET,
                format!("{b}/watch/pilots"),
                "",
                res(Verb::Watch, None, "pilots", None, None),
            ),
            (
                Method::GET,
                format!("{b}/namespaces/ns/pilots/p1"),
                "",
                res(Verb::Get, Some("ns"), "pilots", Some("p1"), None),
            ),
            (
                Method::HEAD,
                format!("{b}/namespaces/ns/pilots/p1"),
                "",
                res(Verb::Get, Some("ns"), "pilots", Some("p1"), None),
            ),
            (
                Method::GET,
                format!("{b}/namespaces/ns/pilots/p1/status"),
                "",
                res(Verb::Get, Some("ns"), "pilots", Some("p1"), Some("status")),
            ),
            (
                Method::PUT,
                format!("{b}/namespaces/ns/pilots/p1/status"),
                "",
                res(
                    Verb::Update,
                    Some("ns"),
                    "pilots",
                    Some("p1"),
                    Some("status"),
                ),
            ),
            (
                Method::PATCH,
                format!("{b}/namespaces/ns/pilots/p1"),
                "",
                res(Verb::Patch, Some("ns"), "pilots", Some("p1"), None),
            ),
            (
                Method::POST,
                format!("{b}/namespaces/ns/pilots"),
                "",
                res(Verb::Create, Some("ns"), "pilots", None, None),
            ),
            (
                Method::DELETE,
                format!("{b}/namespaces/ns/pilots/p1"),
                "",
                res(Verb::Delete, Some("ns"), "pilots", Some("p1"), None),
            ),
            (
                Method::DELETE,
                format!("{b}/namespaces/ns/pilots"),
                "",
                res(Verb::DeleteCollection, Some("ns"), "pilots", None, None),
            ),
            (
                Method::GET,
                format!("{b}/namespaces/ns"),
                "",
                res(Verb::Get, None, "namespaces", Some("ns"), None),
            ),
            (
                Method::GET,
                b.to_owned(),
                "",
                ParsedRequest::Ok(RequestInfo::NonResource {
                    path: b.into(),
                    verb: "get".into(),
                }),
            ),
            (
                Method::GET,
                "/apis".into(),
                "",
                ParsedRequest::Ok(RequestInfo::NonResource {
                    path: "/apis".into(),
                    verb: "get".into(),
                }),
            ),
            (
                Method::POST,
                "/healthz".into(),
                "",
                ParsedRequest::Ok(RequestInfo::NonResource {
                    path: "/healthz".into(),
                    verb: "post".into(),
                }),
            ),
        ];
        for (method, path, q, want) in cases {
            let got = parse_request_info(&method, &path, &Query::parse(q));
            assert_eq!(got, want, "{method} {path}?{q}");
        }
    }

    #[test]
    fn extra_segments_and_unsupported_methods() {
        let p = "/apis/g.io/v1/namespaces/ns/things/a/status/extra";
        let ParsedRequest::Ok(RequestInfo::Resource(r)) =
            parse_request_info(&Method::GET, p, &Query::default())
        else {
            panic!("resource request expected");
        };
        assert_eq!(r.extra_segments, 1);
        assert_eq!(r.subresource.as_deref(), Some("status"));
        let got = parse_request_info(&Method::OPTIONS, "/apis/g.io/v1/things", &Query::default());
        assert!(matches!(got, ParsedRequest::MethodNotSupported(_)));
    }
}
