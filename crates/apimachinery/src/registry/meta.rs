//! Pure metadata rules of the generic registry: type checks of request bodies, system fields on
//! create and update, field manager names, generated names, finalizers on delete. No I/O, no
//! clock (the caller passes `now`).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use serde_json::Value;

use crate::status::{ApiError, FieldError, go_quote};

/// The finalizer the garbage collector uses for foreground deletion.
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";
/// The finalizer the garbage collector uses for orphaning dependents.
pub const ORPHAN_FINALIZER: &str = "orphan";

/// Characters Go's `SimpleNameGenerator` draws generated-name suffixes from.
const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
/// Go's `maxGeneratedNameLength` (63 - 5).
const MAX_GENERATED_PREFIX: usize = 58;

/// Now, truncated to whole seconds (metav1.Time has second precision).
pub fn now() -> Time {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let secs = i64::try_from(secs).unwrap_or(0);
    Time(Timestamp::from_second(secs).unwrap_or(Timestamp::UNIX_EPOCH))
}

/// `generateName` + 5 random characters (Go's `SimpleNameGenerator`), prefix cut to 58 bytes.
pub fn generate_name(prefix: &str, random: [u8; 16]) -> String {
    let mut cut = prefix.len().min(MAX_GENERATED_PREFIX);
    while !prefix.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut name = prefix[..cut].to_owned();
    for b in random.iter().take(5) {
        name.push(char::from(
            NAME_ALPHABET[usize::from(*b) % NAME_ALPHABET.len()],
        ));
    }
    name
}

/// The field manager of a non-apply write: `fieldManager`, else the user agent up to the first
/// `/` with non-printable characters dropped and at most 128 bytes (Go's
/// `prefixFromUserAgent`).
pub fn manager_name(field_manager: Option<&str>, user_agent: Option<&str>) -> String {
    if let Some(m) = field_manager.filter(|m| !m.is_empty()) {
        return m.to_owned();
    }
    let ua = user_agent.unwrap_or("");
    let head = ua.split('/').next().unwrap_or("");
    let mut out: String = head
        .chars()
        .filter(|c| !c.is_control() && *c != '\u{fffd}')
        .collect();
    while out.len() > 128 {
        out.pop();
    }
    out
}

/// What a body's `apiVersion`/`kind` must be.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// API group.
    pub group: &'a str,
    /// Version of the URL.
    pub version: &'a str,
    /// Kind.
    pub kind: &'a str,
}

impl Expected<'_> {
    /// `group/version`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// Checks (and fills in when absent) a body's `apiVersion` and `kind` as Go's create/update
/// handlers do.
///
/// # Errors
/// 400 `BadRequest` for a body that is not an object, or whose `apiVersion`/`kind` differ.
pub fn check_type_meta(body: &mut Value, exp: Expected<'_>) -> Result<(), ApiError> {
    let want_av = exp.api_version();
    let Value::Object(map) = body else {
        return Err(ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): couldn't get version/kind; json parse error: expected an object",
            exp.kind
        )));
    };
    let av = map
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let kind = map
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let av = if av.is_empty() { want_av.clone() } else { av };
    let kind = if kind.is_empty() {
        exp.kind.to_owned()
    } else {
        kind
    };
    if kind != exp.kind {
        let version = av.rsplit('/').next().unwrap_or("");
        return Err(ApiError::bad_request(format!(
            "{kind} in version {} cannot be handled as a {}: no kind {} is registered for version {} in scheme \"pkg/runtime/scheme.go:100\"",
            go_quote(version),
            exp.kind,
            go_quote(&kind),
            go_quote(&av)
        )));
    }
    if av != want_av {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({av}) does not match the expected API version ({want_av})"
        )));
    }
    map.insert("apiVersion".to_owned(), Value::String(av));
    map.insert("kind".to_owned(), Value::String(kind));
    Ok(())
}

/// Fills a body's `metadata.namespace` from the URL, or rejects a different one (Go's
/// `rest.ValidNamespace`); for cluster-scoped resources the namespace is cleared.
///
/// # Errors
/// 400 `BadRequest` on a mismatch.
pub fn check_namespace(meta: &mut ObjectMeta, url_namespace: Option<&str>) -> Result<(), ApiError> {
    match url_namespace {
        Some(ns) => match meta.namespace.as_deref() {
            None | Some("") => {
                meta.namespace = Some(ns.to_owned());
                Ok(())
            }
            Some(n) if n == ns => Ok(()),
            Some(_) => Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            )),
        },
        None => {
            meta.namespace = None;
            Ok(())
        }
    }
}

/// Checks the name of a PUT/apply body against the URL (Go's `checkName`).
///
/// # Errors
/// 400 `BadRequest` on a mismatch.
pub fn check_name(meta: &ObjectMeta, url_name: &str) -> Result<(), ApiError> {
    let name = meta.name.as_deref().unwrap_or("");
    if name == url_name {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "the name of the object ({name}) does not match the name on the URL ({url_name})"
        )))
    }
}

/// Go's `path.IsValidPathSegmentName` messages for `name`.
pub fn path_segment_errors(name: &str) -> Vec<String> {
    if name == "." || name == ".." {
        return vec![format!("may not be '{name}'")];
    }
    let mut out = Vec::new();
    for bad in ["/", "%"] {
        if name.contains(bad) {
            out.push(format!("may not contain '{bad}'"));
        }
    }
    out
}

/// The generic `ObjectMeta` checks Go runs on create after the strategy's own validation.
pub fn validate_meta_create(meta: &ObjectMeta, namespaced: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = meta.name.as_deref().unwrap_or("");
    if name.is_empty() {
        errs.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else {
        for msg in path_segment_errors(name) {
            errs.push(FieldError::invalid("metadata.name", name, msg));
        }
    }
    if namespaced && meta.namespace.as_deref().unwrap_or("").is_empty() {
        errs.push(FieldError::required("metadata.namespace", ""));
    }
    errs.extend(validate_finalizers(meta));
    errs
}

fn validate_finalizers(meta: &ObjectMeta) -> Vec<FieldError> {
    let f = meta.finalizers.as_deref().unwrap_or(&[]);
    if f.iter().any(|x| x == ORPHAN_FINALIZER) && f.iter().any(|x| x == FOREGROUND_FINALIZER) {
        vec![FieldError::invalid(
            "metadata.finalizers",
            Value::Array(f.iter().cloned().map(Value::String).collect()),
            "finalizer orphan and foregroundDeletion cannot be both set",
        )]
    } else {
        Vec::new()
    }
}

/// System fields of a new object: uid, creationTimestamp, generation 1; clears what clients may
/// not set (deletion fields, selfLink). `resourceVersion` must already have been checked.
pub fn fill_create_fields(meta: &mut ObjectMeta, uid: String, now: Time) {
    meta.uid = Some(uid);
    meta.creation_timestamp = Some(now);
    meta.generation = Some(1);
    meta.deletion_timestamp = None;
    meta.deletion_grace_period_seconds = None;
    meta.self_link = None;
    meta.resource_version = None;
}

/// Restores the fields an update may not change (Go's `rest.BeforeUpdate`) and returns the
/// errors of `ValidateObjectMetaUpdate` that cannot be restored silently.
pub fn restore_update_fields(new: &mut ObjectMeta, old: &ObjectMeta) -> Vec<FieldError> {
    let mut errs = Vec::new();
    new.generation = old.generation;
    if new.uid.as_deref().unwrap_or("").is_empty() {
        new.uid.clone_from(&old.uid);
    } else if new.uid != old.uid {
        errs.push(FieldError::invalid(
            "metadata.uid",
            new.uid.clone().unwrap_or_default(),
            "field is immutable",
        ));
    }
    new.creation_timestamp.clone_from(&old.creation_timestamp);
    new.deletion_timestamp.clone_from(&old.deletion_timestamp);
    new.deletion_grace_period_seconds = old.deletion_grace_period_seconds;
    new.self_link = None;
    if old.deletion_timestamp.is_some() {
        let old_f = old.finalizers.as_deref().unwrap_or(&[]);
        let added: Vec<String> = new
            .finalizers
            .as_deref()
            .unwrap_or(&[])
            .iter()
            .filter(|f| !old_f.contains(f))
            .cloned()
            .collect();
        if !added.is_empty() {
            let quoted: Vec<String> = added.iter().map(|f| go_quote(f)).collect();
            errs.push(FieldError::forbidden(
                "metadata.finalizers",
                format!(
                    "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                    quoted.join(", ")
                ),
            ));
        }
    }
    errs.extend(validate_finalizers(new));
    errs
}

/// The generation after an update (the convention CRDs and built-ins follow): unchanged by
/// `/status` writes and metadata-only changes, `+1` when the spec changed.
pub fn next_generation(old: Option<i64>, spec_changed: bool, status_write: bool) -> Option<i64> {
    if spec_changed && !status_write {
        Some(old.unwrap_or(0) + 1)
    } else {
        old
    }
}

/// Go's `metav1.ResetObjectMetaForStatus`: a status write keeps the stored metadata (labels,
/// annotations, finalizers, owner references, deletion timestamp, generation).
pub fn reset_meta_for_status(new: &mut ObjectMeta, old: &ObjectMeta) {
    new.deletion_timestamp.clone_from(&old.deletion_timestamp);
    new.generation = old.generation;
    new.labels.clone_from(&old.labels);
    new.annotations.clone_from(&old.annotations);
    new.finalizers.clone_from(&old.finalizers);
    new.owner_references.clone_from(&old.owner_references);
}

/// Whether an object is being deleted and has no finalizers left: the write that got it there
/// deletes it instead.
pub fn should_delete_now(meta: &ObjectMeta) -> bool {
    meta.deletion_timestamp.is_some() && meta.finalizers.as_deref().unwrap_or(&[]).is_empty()
}

/// `propagationPolicy` of a delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// `Orphan`: add the `orphan` finalizer.
    Orphan,
    /// `Background`: no finalizer.
    Background,
    /// `Foreground`: add the `foregroundDeletion` finalizer.
    Foreground,
    /// Unset: keep what the object has.
    Default,
}

impl Propagation {
    /// Parses the query/body value.
    ///
    /// # Errors
    /// 422 `Invalid` on `DeleteOptions` for an unknown policy.
    pub fn parse(s: Option<&str>) -> Result<Self, ApiError> {
        match s.unwrap_or("") {
            "" => Ok(Self::Default),
            "Orphan" => Ok(Self::Orphan),
            "Background" => Ok(Self::Background),
            "Foreground" => Ok(Self::Foreground),
            other => Err(ApiError::Invalid {
                kind: crate::status::GroupKind::new("meta.k8s.io", "DeleteOptions"),
                name: String::new(),
                errors: vec![FieldError::not_supported(
                    "propagationPolicy",
                    other,
                    ["Foreground", "Background", "Orphan", "nil"],
                )],
            }),
        }
    }
}

/// The finalizers after a delete with `policy` (Go's `deletionFinalizersForGarbageCollection`),
/// or `None` if they do not change.
pub fn deletion_finalizers(current: &[String], policy: Propagation) -> Option<Vec<String>> {
    if policy == Propagation::Default {
        return None;
    }
    let mut out: Vec<String> = current
        .iter()
        .filter(|f| *f != ORPHAN_FINALIZER && *f != FOREGROUND_FINALIZER)
        .cloned()
        .collect();
    match policy {
        Propagation::Orphan => out.push(ORPHAN_FINALIZER.to_owned()),
        Propagation::Foreground => out.push(FOREGROUND_FINALIZER.to_owned()),
        Propagation::Background | Propagation::Default => {}
    }
    (out != current).then_some(out)
}

/// Marks an object as being deleted (Go's `markAsDeleting`): deletionTimestamp now, grace 0,
/// generation bumped. Returns whether anything changed (a second delete changes nothing).
pub fn mark_deleting(meta: &mut ObjectMeta, now: Time) -> bool {
    if meta.deletion_timestamp.is_some() {
        return false;
    }
    meta.deletion_timestamp = Some(now);
    meta.deletion_grace_period_seconds = Some(0);
    if let Some(g) = meta.generation.filter(|g| *g > 0) {
        meta.generation = Some(g + 1);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn manager_from_user_agent_is_the_part_before_the_slash() {
        let cases = [
            (
                None,
                Some("kubectl-client-side-apply/v1.33.0 (linux/amd64)"),
                "kubectl-client-side-apply",
            ),
            (Some("mine"), Some("kubectl/v1"), "mine"),
            (Some(""), Some("curl/8.0"), "curl"),
            (None, None, ""),
            (None, Some("a\u{7}b/x"), "ab"),
        ];
        for (fm, ua, want) in cases {
            assert_eq!(manager_name(fm, ua), want, "{fm:?} {ua:?}");
        }
    }

    #[test]
    fn generated_names_use_go_alphabet_and_cut_prefix() {
        let n = generate_name("demo-", [0; 16]);
        assert_eq!(n, "demo-bbbbb");
        let long = "x".repeat(70);
        assert_eq!(generate_name(&long, [1; 16]).len(), 63);
    }

    #[test]
    fn type_meta_checks_match_go_messages() {
        let exp = Expected {
            group: "g.io",
            version: "v1",
            kind: "Thing",
        };
        let mut ok = json!({"metadata": {}});
        check_type_meta(&mut ok, exp).expect("defaults");
        assert_eq!(ok["apiVersion"], "g.io/v1");
        let mut bad = json!({"apiVersion": "g.io/v2", "kind": "Thing"});
        assert_eq!(
            check_type_meta(&mut bad, exp).expect_err("bad").message(),
            "the API version in the data (g.io/v2) does not match the expected API version (g.io/v1)"
        );
        let mut bad = json!({"apiVersion": "g.io/v1", "kind": "Other"});
        let e = check_type_meta(&mut bad, exp).expect_err("bad");
        assert_eq!(e.code(), 400);
        assert!(
            e.message()
                .starts_with("Other in version \"v1\" cannot be handled as a Thing")
        );
    }

    #[test]
    fn generation_rules() {
        let cases = [
            (Some(1), true, false, Some(2)),
            (Some(1), false, false, Some(1)),
            (Some(4), true, true, Some(4)),
            (None, true, false, Some(1)),
            (None, false, true, None),
        ];
        for (old, spec, status, want) in cases {
            assert_eq!(
                next_generation(old, spec, status),
                want,
                "{old:?} {spec} {status}"
            );
        }
    }

    #[test]
    fn deletion_finalizers_follow_the_gc_contract() {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(deletion_finalizers(&s(&["a"]), Propagation::Default), None);
        assert_eq!(
            deletion_finalizers(&s(&["a"]), Propagation::Foreground),
            Some(s(&["a", "foregroundDeletion"]))
        );
        assert_eq!(
            deletion_finalizers(&s(&["orphan"]), Propagation::Background),
            Some(vec![])
        );
        assert_eq!(
            deletion_finalizers(&s(&["orphan"]), Propagation::Orphan),
            None
        );
    }

    #[test]
    fn new_finalizers_are_forbidden_while_deleting() {
        let old = ObjectMeta {
            deletion_timestamp: Some(now()),
            finalizers: Some(vec!["a".into()]),
            ..ObjectMeta::default()
        };
        let mut new = ObjectMeta {
            finalizers: Some(vec!["a".into(), "b".into()]),
            ..ObjectMeta::default()
        };
        let errs = restore_update_fields(&mut new, &old);
        assert_eq!(
            errs[0].to_string(),
            "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"b\"}"
        );
        assert!(new.deletion_timestamp.is_some());
    }
}
