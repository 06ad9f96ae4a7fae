//! Query strings → the registry's option structs (Go's query parameter codec and
//! `apimachinery/pkg/apis/meta/{v1,internalversion}/validation`). Pure and table-tested.

use apimachinery::registry::{DeleteOptions, FieldValidation, GetOptions, ListOptions};
use apimachinery::status::{ApiError, FieldError, GroupKind};
use serde_json::Value;

/// A decoded query string; repeated keys keep every value, [`Query::get`] returns the first
/// (Go's `url.Values.Get`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Decodes `a=b&c=d` (`application/x-www-form-urlencoded`: `+` is a space, `%XX` escapes).
    pub fn parse(raw: &str) -> Self {
        let pairs = raw
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect();
        Self { pairs }
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`.
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The first non-empty value of `key`.
    fn non_empty(&self, key: &str) -> Option<String> {
        self.get(key).filter(|v| !v.is_empty()).map(str::to_owned)
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Go's `strconv.ParseBool`.
fn parse_bool(key: &str, value: &str) -> Result<bool, ApiError> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(ApiError::bad_request(format!(
            "failed to parse query parameter {key}: strconv.ParseBool: parsing {}: invalid syntax",
            apimachinery::status::go_quote(value)
        ))),
    }
}

fn bool_param(q: &Query, key: &str) -> Result<Option<bool>, ApiError> {
    q.get(key)
        .filter(|v| !v.is_empty())
        .map(|v| parse_bool(key, v))
        .transpose()
}

fn int_param<T: std::str::FromStr>(q: &Query, key: &str) -> Result<Option<T>, ApiError> {
    q.get(key)
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.parse::<T>().map_err(|_| {
                ApiError::bad_request(format!(
                    "failed to parse query parameter {key}: strconv.ParseInt: parsing {}: invalid syntax",
                    apimachinery::status::go_quote(v)
                ))
            })
        })
        .transpose()
}

/// Which options kind a write validates against (the `kind` of a 422 on bad options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOptionsKind {
    /// `CreateOptions`.
    Create,
    /// `UpdateOptions`.
    Update,
    /// `PatchOptions`.
    Patch,
    /// `DeleteOptions`.
    Delete,
}

impl WriteOptionsKind {
    fn kind(self) -> GroupKind {
        let k = match self {
            Self::Create => "CreateOptions",
            Self::Update => "UpdateOptions",
            Self::Patch => "PatchOptions",
            Self::Delete => "DeleteOptions",
        };
        GroupKind::new("meta.k8s.io", k)
    }

    fn invalid(self, errors: Vec<FieldError>) -> ApiError {
        ApiError::Invalid {
            kind: self.kind(),
            name: String::new(),
            errors,
        }
    }
}

/// The write options shared by create, update and patch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOptions {
    /// `dryRun=All`.
    pub dry_run: bool,
    /// `fieldManager`.
    pub field_manager: Option<String>,
    /// `fieldValidation`; absent means `Warn`, as in Go's handlers.
    pub field_validation: FieldValidation,
    /// `force` (patch only).
    pub force: Option<bool>,
}

fn dry_run_errors(q: &Query) -> Vec<FieldError> {
    q.get_all("dryRun")
        .filter(|v| *v != "All")
        .map(|v| FieldError::not_supported("dryRun", v, ["All"]))
        .collect()
}

/// Parses and validates `dryRun`, `fieldManager`, `fieldValidation` and `force` (Go's
/// `ValidateCreateOptions` / `ValidateUpdateOptions` / `ValidatePatchOptions`).
///
/// # Errors
/// 422 `Invalid` on the options kind (`CreateOptions.meta.k8s.io "" is invalid: …`); 400 for
/// an unparsable `force`.
pub fn write_options(q: &Query, kind: WriteOptionsKind) -> Result<WriteOptions, ApiError> {
    let mut errors = dry_run_errors(q);
    let field_manager = q.non_empty("fieldManager");
    if let Some(m) = &field_manager {
        if m.len() > 128 {
            errors.push(FieldError::too_long("fieldManager", 128));
        }
        if m.chars().any(|c| c.is_control()) {
            errors.push(FieldError::invalid(
                "fieldManager",
                Value::String(m.clone()),
                "must only contain printable characters",
            ));
        }
    }
    let field_validation = match q.get("fieldValidation").unwrap_or("") {
        "" | "Warn" => FieldValidation::Warn,
        "Strict" => FieldValidation::Strict,
        "Ignore" => FieldValidation::Ignore,
        other => {
            errors.push(FieldError::not_supported(
                "fieldValidation",
                other,
                ["", "Ignore", "Strict", "Warn"],
            ));
            FieldValidation::Warn
        }
    };
    let force = bool_param(q, "force")?;
    if !errors.is_empty() {
        return Err(kind.invalid(errors));
    }
    Ok(WriteOptions {
        dry_run: q.get_all("dryRun").next().is_some(),
        field_manager,
        field_validation,
        force: if kind == WriteOptionsKind::Patch {
            force
        } else {
            None
        },
    })
}

/// Validates the patch-only rules: `force` only with apply, `fieldManager` required for apply.
///
/// # Errors
/// 422 on `PatchOptions`.
pub fn validate_patch_options(opts: &WriteOptions, is_apply: bool) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    if is_apply {
        if opts.field_manager.is_none() {
            errors.push(FieldError::required(
                "fieldManager",
                "is required for apply patch",
            ));
        }
    } else if opts.force.is_some() {
        errors.push(FieldError::forbidden(
            "force",
            "may not be specified for non-apply patch",
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(WriteOptionsKind::Patch.invalid(errors))
    }
}

/// Go's `time.ParseDuration` for the forms clients send as `?timeout=` (`32s`, `1m30s`,
/// `500ms`, `1h`); `None` for anything else (Go then ignores the parameter too).
pub fn parse_go_duration(s: &str) -> Option<std::time::Duration> {
    let mut total = 0.0_f64;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += value * factor;
        rest = &rest[unit_end..];
    }
    std::time::Duration::try_from_secs_f64(total).ok()
}

/// `GetOptions` from the query.
pub fn get_options(q: &Query) -> GetOptions {
    GetOptions {
        resource_version: q.non_empty("resourceVersion"),
    }
}

/// `ListOptions` from the query; `watch` is set by the caller from the verb.
///
/// # Errors
/// 400 for unparsable numbers and booleans.
pub fn list_options(q: &Query, watch: bool) -> Result<ListOptions, ApiError> {
    Ok(ListOptions {
        label_selector: q.non_empty("labelSelector"),
        field_selector: q.non_empty("fieldSelector"),
        limit: int_param::<i64>(q, "limit")?.filter(|l| *l > 0),
        continue_token: q.non_empty("continue"),
        resource_version: q.non_empty("resourceVersion"),
        resource_version_match: q.non_empty("resourceVersionMatch"),
        watch,
        allow_watch_bookmarks: bool_param(q, "allowWatchBookmarks")?.unwrap_or(false),
        send_initial_events: bool_param(q, "sendInitialEvents")?,
        timeout_seconds: int_param::<u64>(q, "timeoutSeconds")?,
    })
}

/// Adds `metadata.name=<name>` to a list's field selector (the deprecated
/// `/watch/…/<name>` paths watch one object this way).
pub fn restrict_to_name(opts: &mut ListOptions, name: &str) {
    let term = format!("metadata.name={name}");
    opts.field_selector = Some(match opts.field_selector.take() {
        Some(existing) => format!("{existing},{term}"),
        None => term,
    });
}

/// A `DeleteOptions` body (JSON or YAML, already decoded), merged over the query options.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteOptionsBody {
    kind: Option<String>,
    grace_period_seconds: Option<i64>,
    preconditions: Option<Preconditions>,
    orphan_dependents: Option<bool>,
    propagation_policy: Option<String>,
    dry_run: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Preconditions {
    uid: Option<String>,
    resource_version: Option<String>,
}

/// `DeleteOptions` and `dryRun` from the query and an optional body (the body wins where both
/// set a field, as in Go, where the body is decoded over the query's options).
///
/// # Errors
/// 400 for an undecodable body or one of another kind; 422 on `DeleteOptions` for an unknown
/// `propagationPolicy`, both `orphanDependents` and `propagationPolicy`, or a bad `dryRun`.
pub fn delete_options(q: &Query, body: Option<Value>) -> Result<(DeleteOptions, bool), ApiError> {
    let mut grace = int_param::<i64>(q, "gracePeriodSeconds")?;
    let mut policy = q.non_empty("propagationPolicy");
    let mut orphan = bool_param(q, "orphanDependents")?;
    let mut dry_run: Vec<String> = q.get_all("dryRun").map(str::to_owned).collect();
    let mut precondition_uid = None;
    let mut precondition_rv = None;
    if let Some(body) = body {
        let parsed: DeleteOptionsBody = serde_json::from_value(body)
            .map_err(|e| ApiError::bad_request(format!("unable to decode DeleteOptions: {e}")))?;
        if let Some(kind) = parsed.kind.as_deref()
            && !kind.is_empty()
            && kind != "DeleteOptions"
        {
            return Err(ApiError::bad_request(format!(
                "expected DeleteOptions, got {kind}"
            )));
        }
        grace = parsed.grace_period_seconds.or(grace);
        policy = parsed.propagation_policy.or(policy);
        orphan = parsed.orphan_dependents.or(orphan);
        if let Some(d) = parsed.dry_run {
            dry_run = d;
        }
        if let Some(p) = parsed.preconditions {
            precondition_uid = p.uid;
            precondition_rv = p.resource_version;
        }
    }
    let mut errors: Vec<FieldError> = dry_run
        .iter()
        .filter(|v| *v != "All")
        .map(|v| FieldError::not_supported("dryRun", v.as_str(), ["All"]))
        .collect();
    if let Some(p) = &policy
        && !matches!(p.as_str(), "Orphan" | "Background" | "Foreground")
    {
        errors.push(FieldError::not_supported(
            "propagationPolicy",
            p.as_str(),
            ["Foreground", "Background", "Orphan", "nil"],
        ));
    }
    if orphan.is_some() && policy.is_some() {
        errors.push(FieldError::invalid(
            "propagationPolicy",
            policy.clone().unwrap_or_default(),
            "orphanDependents and deletionPropagation cannot be both set",
        ));
    }
    if !errors.is_empty() {
        return Err(WriteOptionsKind::Delete.invalid(errors));
    }
    let propagation_policy = policy.or(match orphan {
        Some(true) => Some("Orphan".to_owned()),
        Some(false) => Some("Background".to_owned()),
        None => None,
    });
    Ok((
        DeleteOptions {
            precondition_uid,
            precondition_resource_version: precondition_rv,
            grace_period_seconds: grace,
            propagation_policy,
        },
        !dry_run.is_empty(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_escapes() {
        let q = Query::parse("labelSelector=app%3Dx%2Ctier+in+(a)&a=1&a=2&empty");
        assert_eq!(q.get("labelSelector"), Some("app=x,tier in (a)"));
        assert_eq!(q.get("a"), Some("1"));
        assert_eq!(q.get_all("a").collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(q.get("empty"), Some(""));
        assert_eq!(Query::parse("x=%zz%4").get("x"), Some("%zz%4"));
    }

    #[test]
    fn list_options_table() {
        let o = list_options(
            &Query::parse(
                "labelSelector=a%3Db&fieldSelector=metadata.name%3Dx&limit=500&continue=tok&resourceVersion=7&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&sendInitialEvents=true&timeoutSeconds=30",
            ),
            true,
        )
        .unwrap();
        assert_eq!(o.label_selector.as_deref(), Some("a=b"));
        assert_eq!(o.field_selector.as_deref(), Some("metadata.name=x"));
        assert_eq!(o.limit, Some(500));
        assert_eq!(o.continue_token.as_deref(), Some("tok"));
        assert_eq!(o.resource_version.as_deref(), Some("7"));
        assert_eq!(o.resource_version_match.as_deref(), Some("NotOlderThan"));
        assert!(o.watch && o.allow_watch_bookmarks);
        assert_eq!(o.send_initial_events, Some(true));
        assert_eq!(o.timeout_seconds, Some(30));

        let empty = list_options(&Query::parse("limit=0&resourceVersion="), false).unwrap();
        assert_eq!(empty.limit, None);
        assert_eq!(empty.resource_version, None);

        for bad in ["limit=x", "allowWatchBookmarks=yes", "timeoutSeconds=-1"] {
            let err = list_options(&Query::parse(bad), false).unwrap_err();
            assert_eq!(err.code(), 400, "{bad}");
        }
    }

    #[test]
    fn write_options_table() {
        let o = write_options(
            &Query::parse("dryRun=All&fieldManager=kubectl&fieldValidation=Strict"),
            WriteOptionsKind::Create,
        )
        .unwrap();
        assert!(o.dry_run);
        assert_eq!(o.field_manager.as_deref(), Some("kubectl"));
        assert_eq!(o.field_validation, FieldValidation::Strict);

        let d = write_options(&Query::default(), WriteOptionsKind::Update).unwrap();
        assert!(!d.dry_run);
        assert_eq!(d.field_validation, FieldValidation::Warn);
        let i = write_options(
            &Query::parse("fieldValidation=Ignore"),
            WriteOptionsKind::Update,
        )
        .unwrap();
        assert_eq!(i.field_validation, FieldValidation::Ignore);

        let err = write_options(&Query::parse("dryRun=Yes"), WriteOptionsKind::Create).unwrap_err();
        assert_eq!(err.code(), 422);
        assert_eq!(
            err.message(),
            r#"CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: "Yes": supported values: "All""#
        );
        let err =
            write_options(&Query::parse("fieldValidation=x"), WriteOptionsKind::Patch).unwrap_err();
        assert_eq!(err.code(), 422);
        let long = "m".repeat(129);
        let err = write_options(
            &Query::parse(&format!("fieldManager={long}")),
            WriteOptionsKind::Update,
        )
        .unwrap_err();
        assert_eq!(err.code(), 422);
    }

    #[test]
    fn patch_option_rules() {
        let apply = write_options(&Query::parse("force=true"), WriteOptionsKind::Patch).unwrap();
        assert_eq!(apply.force, Some(true));
        let err = validate_patch_options(&apply, true).unwrap_err();
        assert_eq!(
            err.message(),
            r#"PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch"#
        );
        let err = validate_patch_options(&apply, false).unwrap_err();
        assert_eq!(
            err.message(),
            r#"PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch"#
        );
        let ok = write_options(
            &Query::parse("fieldManager=m&force=false"),
            WriteOptionsKind::Patch,
        )
        .unwrap();
        validate_patch_options(&ok, true).unwrap();
    }

    #[test]
    fn delete_options_table() {
        let (o, dry) = delete_options(
            &Query::parse("gracePeriodSeconds=5&propagationPolicy=Foreground&dryRun=All"),
            None,
        )
        .unwrap();
        assert_eq!(o.grace_period_seconds, Some(5));
        assert_eq!(o.propagation_policy.as_deref(), Some("Foreground"));
        assert!(dry);

        let body = json!({"kind": "DeleteOptions", "apiVersion": "v1",
            "propagationPolicy": "Background",
            "preconditions": {"uid": "u1", "resourceVersion": "9"}});
        let (o, dry) =
            delete_options(&Query::parse("propagationPolicy=Orphan"), Some(body)).unwrap();
        assert_eq!(o.propagation_policy.as_deref(), Some("Background"));
        assert_eq!(o.precondition_uid.as_deref(), Some("u1"));
        assert_eq!(o.precondition_resource_version.as_deref(), Some("9"));
        assert!(!dry);

        let (o, _) = delete_options(&Query::parse("orphanDependents=true"), None).unwrap();
        assert_eq!(o.propagation_policy.as_deref(), Some("Orphan"));

        for (q, body) in [
            ("propagationPolicy=Sometimes", None),
            ("propagationPolicy=Orphan&orphanDependents=true", None),
            ("dryRun=Some", None),
            ("", Some(json!({"dryRun": ["x"]}))),
        ] {
            let err = delete_options(&Query::parse(q), body).unwrap_err();
            assert_eq!(err.code(), 422, "{q}");
        }
        let err = delete_options(&Query::default(), Some(json!({"kind": "Pod"}))).unwrap_err();
        assert_eq!(err.code(), 400);
        let err = delete_options(&Query::default(), Some(json!({"gracePeriodSeconds": "x"})))
            .unwrap_err();
        assert_eq!(err.code(), 400);
    }

    #[test]
    fn go_durations() {
        use std::time::Duration;
        assert_eq!(parse_go_duration("32s"), Some(Duration::from_secs(32)));
        assert_eq!(parse_go_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_go_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_go_duration("10"), None);
        assert_eq!(parse_go_duration(""), None);
        assert_eq!(parse_go_duration("x"), None);
    }

    #[test]
    fn restricts_watch_to_a_name() {
        let mut o = ListOptions {
            field_selector: Some("metadata.namespace=a".into()),
            ..ListOptions::default()
        };
        restrict_to_name(&mut o, "x");
        assert_eq!(
            o.field_selector.as_deref(),
            Some("metadata.namespace=a,metadata.name=x")
        );
    }
}
