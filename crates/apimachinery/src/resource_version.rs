//! `resourceVersion` semantics for get, list and watch, decided purely from the query.
//!
//! [`plan_get`], [`plan_list`] and [`plan_watch`] turn the query parameters into what the
//! storage read must do, or the exact error a Go API server returns, in Go's order: option
//! validation first (422 `Invalid` on kind `ListOptions.meta.k8s.io`, every problem collected,
//! from `apis/meta/internalversion/validation`), then continue-token and resourceVersion
//! checks (400, from `apiserver/pkg/storage.ValidateListOptions`).
//!
//! | resourceVersion | match          | limit | read                                  |
//! |-----------------|----------------|-------|---------------------------------------|
//! | unset           | unset          | any   | [`Read::Latest`]                      |
//! | `0`             | unset / NOT    | any   | [`Read::Any`]                         |
//! | `N`             | unset          | unset | [`Read::NotOlderThan`]                |
//! | `N`             | unset          | > 0   | [`Read::Exact`] (legacy quirk)        |
//! | `N`             | `NotOlderThan` | any   | [`Read::NotOlderThan`]                |
//! | `N`             | `Exact`        | any   | [`Read::Exact`]                       |

use crate::status::{ApiError, FieldError, GroupKind, GroupResource};
use crate::store::{Continue, decode_continue};

/// What revision a read must be served at. Serving [`Read::Any`] from the latest state is
/// always correct; the variants exist so a cache can be used where Go uses one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// The latest state, read consistently.
    Latest,
    /// Any state (`resourceVersion=0`); may be stale.
    Any,
    /// A state at least as new as this revision (504 `Too large resource version` if the
    /// store is behind it).
    NotOlderThan(u64),
    /// Exactly this revision (410 if compacted, 504 if in the future).
    Exact(u64),
}

/// A list read: at what revision, and from which key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPlan {
    /// The revision to read at.
    pub read: Read,
    /// Resume from this key (inclusive) when paging with a continue token.
    pub start: Option<String>,
}

/// How a watch starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchStart {
    /// Send the state read with this consistency as `ADDED` events, then the changes after it;
    /// with `initial_events_end_bookmark` (watch-list, `sendInitialEvents=true`) a `BOOKMARK`
    /// annotated `k8s.io/initial-events-end: "true"` follows the initial events.
    InitialState {
        /// The state to send first.
        read: Read,
        /// Whether to mark the end of the initial events.
        initial_events_end_bookmark: bool,
    },
    /// Send only changes after the latest revision.
    Now,
    /// Send only changes after this revision (410 if it has been compacted).
    After(u64),
}

/// The `resourceVersionMatch` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match {
    Unset,
    Exact,
    NotOlderThan,
    Other,
}

fn parse_match(s: Option<&str>) -> Match {
    match s.unwrap_or("") {
        "" => Match::Unset,
        "Exact" => Match::Exact,
        "NotOlderThan" => Match::NotOlderThan,
        _ => Match::Other,
    }
}

/// Why a resourceVersion string is not a revision (Go's `strconv.ParseUint` messages).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResourceVersionError {
    /// Not a decimal unsigned integer.
    #[error("strconv.ParseUint: parsing {0:?}: invalid syntax")]
    Syntax(String),
    /// Larger than `u64::MAX`.
    #[error("strconv.ParseUint: parsing {0:?}: value out of range")]
    Range(String),
}

impl ResourceVersionError {
    fn value(&self) -> &str {
        match self {
            Self::Syntax(v) | Self::Range(v) => v,
        }
    }

    fn field_error(&self) -> FieldError {
        FieldError::invalid("resourceVersion", self.value(), self.to_string())
    }

    /// 400 as the (uncached) etcd3 store returns it for get and list.
    pub fn into_bad_request(self) -> ApiError {
        ApiError::bad_request(format!("invalid resource version: {}", self.field_error()))
    }

    /// 422 as Go's `InterpretWatchError` returns it for watch.
    pub fn into_watch_error(self, resource: &GroupResource) -> ApiError {
        ApiError::Invalid {
            kind: GroupKind::new(resource.group.clone(), resource.resource.clone()),
            name: String::new(),
            errors: vec![self.field_error()],
        }
    }
}

/// Parses a resourceVersion as Go's `APIObjectVersioner.ParseResourceVersion`: `""` and `"0"`
/// are 0, anything else must be a decimal `u64`.
///
/// # Errors
/// [`ResourceVersionError`] with Go's message.
pub fn parse_resource_version(s: &str) -> Result<u64, ResourceVersionError> {
    if s.is_empty() || s == "0" {
        return Ok(0);
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ResourceVersionError::Syntax(s.to_owned()));
    }
    s.parse::<u64>()
        .map_err(|_| ResourceVersionError::Range(s.to_owned()))
}

fn list_options_invalid(errors: Vec<FieldError>) -> ApiError {
    ApiError::Invalid {
        kind: GroupKind::new("meta.k8s.io", "ListOptions"),
        name: String::new(),
        errors,
    }
}

/// The read a `get` does for its `resourceVersion` parameter.
///
/// # Errors
/// 400 for an unparsable resourceVersion.
pub fn plan_get(resource_version: Option<&str>) -> Result<Read, ApiError> {
    match resource_version.unwrap_or("") {
        "" => Ok(Read::Latest),
        "0" => Ok(Read::Any),
        rv => parse_resource_version(rv)
            .map(Read::NotOlderThan)
            .map_err(ResourceVersionError::into_bad_request),
    }
}

/// The query parameters of a list or watch that concern revisions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListQuery<'a> {
    /// `resourceVersion`.
    pub resource_version: Option<&'a str>,
    /// `resourceVersionMatch`.
    pub resource_version_match: Option<&'a str>,
    /// `limit` (0 or absent: no limit).
    pub limit: Option<i64>,
    /// `continue`.
    pub continue_token: Option<&'a str>,
    /// `sendInitialEvents`.
    pub send_initial_events: Option<bool>,
}

/// The read a `list` does (Go's `ValidateListOptions` in both places).
///
/// `key_prefix` is the list's key prefix with its trailing `/`, which continue tokens are
/// relative to.
///
/// # Errors
/// 422 for invalid option combinations (all collected), 400 for a bad continue token, a
/// resourceVersion together with `continue`, or an unparsable resourceVersion.
pub fn plan_list(q: &ListQuery<'_>, key_prefix: &str) -> Result<ListPlan, ApiError> {
    let rv = q.resource_version.unwrap_or("");
    let m = parse_match(q.resource_version_match);
    let cont = q.continue_token.filter(|c| !c.is_empty());
    let mut errs = Vec::new();
    if m != Match::Unset {
        let path = "resourceVersionMatch";
        if rv.is_empty() {
            errs.push(FieldError::forbidden(
                path,
                "resourceVersionMatch is forbidden unless resourceVersion is provided",
            ));
        }
        if cont.is_some() {
            errs.push(FieldError::forbidden(
                path,
                "resourceVersionMatch is forbidden when continue is provided",
            ));
        }
        if m == Match::Other {
            errs.push(FieldError::not_supported(
                path,
                q.resource_version_match.unwrap_or(""),
                ["Exact", "NotOlderThan", ""],
            ));
        }
        if m == Match::Exact && rv == "0" {
            errs.push(FieldError::forbidden(
                path,
                "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
            ));
        }
    }
    if q.send_initial_events.is_some() {
        errs.push(FieldError::forbidden(
            "sendInitialEvents",
            "sendInitialEvents is forbidden for list",
        ));
    }
    if !errs.is_empty() {
        return Err(list_options_invalid(errs));
    }

    if let Some(token) = cont {
        let Continue { start, revision } = decode_continue(token, key_prefix)
            .map_err(|e| ApiError::bad_request(format!("invalid continue token: {e}")))?;
        if !rv.is_empty() && rv != "0" {
            return Err(ApiError::bad_request(
                "specifying resource version is not allowed when using continue",
            ));
        }
        let read = revision.map_or(Read::Latest, Read::Exact);
        return Ok(ListPlan {
            read,
            start: Some(start),
        });
    }
    if rv.is_empty() {
        return Ok(ListPlan {
            read: Read::Latest,
            start: None,
        });
    }
    let n = parse_resource_version(rv).map_err(ResourceVersionError::into_bad_request)?;
    let paging = q.limit.is_some_and(|l| l > 0);
    let read = match (m, n) {
        (_, 0) => Read::Any,
        (Match::Exact, n) => Read::Exact(n),
        (Match::Unset, n) if paging => Read::Exact(n),
        (Match::Unset | Match::NotOlderThan | Match::Other, n) => Read::NotOlderThan(n),
    };
    Ok(ListPlan { read, start: None })
}

/// How a `watch` starts (Go's `validateWatchOptions` plus the documented start semantics).
/// `watch_list_enabled` is the `WatchList` feature (allowing `sendInitialEvents`).
///
/// # Errors
/// 422 for invalid option combinations (all collected); 422 on the resource for an
/// unparsable resourceVersion, as Go's `InterpretWatchError`.
pub fn plan_watch(
    q: &ListQuery<'_>,
    resource: &GroupResource,
    watch_list_enabled: bool,
) -> Result<WatchStart, ApiError> {
    let m = parse_match(q.resource_version_match);
    let cont = q.continue_token.filter(|c| !c.is_empty());
    let mut errs = Vec::new();
    let path = "resourceVersionMatch";
    if q.send_initial_events.is_some() {
        if m != Match::NotOlderThan {
            errs.push(FieldError::forbidden(
                path,
                "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            ));
        }
        if !watch_list_enabled {
            errs.push(FieldError::forbidden(
                "sendInitialEvents",
                "sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled",
            ));
        }
    }
    if m != Match::Unset {
        if q.send_initial_events.is_none() {
            errs.push(FieldError::forbidden(
                path,
                "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
            ));
        }
        if m != Match::NotOlderThan {
            errs.push(FieldError::not_supported(
                path,
                q.resource_version_match.unwrap_or(""),
                ["NotOlderThan"],
            ));
        }
        if cont.is_some() {
            errs.push(FieldError::forbidden(
                path,
                "resourceVersionMatch is forbidden when continue is provided",
            ));
        }
    }
    if !errs.is_empty() {
        return Err(list_options_invalid(errs));
    }
    let rv = q.resource_version.unwrap_or("");
    let n = parse_resource_version(rv).map_err(|e| e.into_watch_error(resource))?;
    Ok(match (q.send_initial_events, rv, n) {
        (Some(true), "", _) => WatchStart::InitialState {
            read: Read::Latest,
            initial_events_end_bookmark: true,
        },
        (Some(true), _, 0) => WatchStart::InitialState {
            read: Read::Any,
            initial_events_end_bookmark: true,
        },
        (Some(true), _, n) => WatchStart::InitialState {
            read: Read::NotOlderThan(n),
            initial_events_end_bookmark: true,
        },
        (Some(false), _, 0) => WatchStart::Now,
        (None, "", _) => WatchStart::InitialState {
            read: Read::Latest,
            initial_events_end_bookmark: false,
        },
        (None, _, 0) => WatchStart::InitialState {
            read: Read::Any,
            initial_events_end_bookmark: false,
        },
        (Some(false) | None, _, n) => WatchStart::After(n),
    })
}

/// Checks a revision the store is at against what the read requires (after reading at the
/// latest revision for [`Read::NotOlderThan`]): Go's `validateMinimumResourceVersion`.
///
/// # Errors
/// 504 `Too large resource version` if `current` is behind the minimum.
pub fn check_not_older_than(read: Read, current: u64) -> Result<(), ApiError> {
    match read {
        Read::NotOlderThan(min) | Read::Exact(min) if min > current => {
            Err(ApiError::TooLargeResourceVersion {
                requested: min,
                current,
                retry_after_seconds: 1,
            })
        }
        Read::Latest | Read::Any | Read::NotOlderThan(_) | Read::Exact(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests;
