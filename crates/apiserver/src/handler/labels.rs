//! The labels of a request's metrics (Go's `metrics.CleanVerb` and friends).

use http::header::CONTENT_TYPE;
use http::{HeaderMap, Method};

use super::response::header;
use crate::metrics::RequestKindLabels;
use crate::query::Query;
use crate::request_info::{RequestInfo, Verb};

/// Go's reported verb (`metrics.CleanVerb`): the HTTP method, with `LIST`/`WATCH` for
/// collection reads and `APPLY` for server-side apply.
fn reported_verb(verb: Verb, headers: &HeaderMap) -> &'static str {
    match verb {
        Verb::Get => "GET",
        Verb::List => "LIST",
        Verb::Watch => "WATCH",
        Verb::Create => "POST",
        Verb::Update => "PUT",
        Verb::Patch
            if header(headers, CONTENT_TYPE)
                .is_some_and(|c| c.starts_with("application/apply-patch")) =>
        {
            "APPLY"
        }
        Verb::Patch => "PATCH",
        Verb::Delete | Verb::DeleteCollection => "DELETE",
    }
}

pub(super) fn metric_labels(
    info: &RequestInfo,
    method: &Method,
    query: &Query,
    headers: &HeaderMap,
) -> RequestKindLabels {
    let dry_run = if query.get("dryRun").is_some() {
        "All"
    } else {
        ""
    };
    match info {
        RequestInfo::Resource(r) => RequestKindLabels {
            verb: reported_verb(r.verb, headers).to_owned(),
            dry_run: dry_run.to_owned(),
            group: r.group.clone(),
            version: r.version.clone(),
            resource: r.resource.clone(),
            subresource: r.subresource.clone().unwrap_or_default(),
            scope: if r.name.is_some() {
                "resource"
            } else if r.namespace.is_some() {
                "namespace"
            } else {
                "cluster"
            }
            .to_owned(),
            component: "apiserver".to_owned(),
        },
        RequestInfo::NonResource { .. } => RequestKindLabels {
            verb: method.as_str().to_owned(),
            dry_run: String::new(),
            group: String::new(),
            version: String::new(),
            resource: String::new(),
            subresource: String::new(),
            scope: String::new(),
            component: "apiserver".to_owned(),
        },
    }
}
