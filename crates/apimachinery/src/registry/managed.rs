//! Managed fields and server-side apply over [`crate::managed_fields`]: who owns which field,
//! how a non-apply write moves ownership (SMD's `Updater.Update`), and how an applied
//! configuration merges into the live object with conflicts and pruning (`Updater.Apply`).
//! Pure: objects are JSON values encoded in the request's version; the caller passes `now`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry, Time};
use serde_json::{Map, Value};

use crate::managed_fields::{FieldSchema, FieldSet, PathElement, Shape, to_field_set};
use crate::status::{ApiError, go_quote};

/// Why managed-field bookkeeping failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManagedError {
    /// An object that cannot be turned into a field set (e.g. a keyed list item without keys).
    #[error("failed to create typed new object: {0}")]
    FieldSet(#[from] crate::managed_fields::FieldSetError),
}

impl ManagedError {
    /// Go reports these as 500 for updates; for applied configurations they are the client's
    /// fault, so they are 400 here.
    pub fn into_api_error(self) -> ApiError {
        ApiError::bad_request(self.to_string())
    }
}

/// `Apply` or `Update`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    /// Server-side apply.
    Apply,
    /// Any other write.
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Self::Apply => "Apply",
            Self::Update => "Update",
        }
    }
}

/// One manager's ownership (an entry of `metadata.managedFields`).
#[derive(Debug, Clone, PartialEq)]
pub struct Manager {
    /// Manager name.
    pub manager: String,
    /// Operation.
    pub operation: Operation,
    /// The version its fields are expressed in.
    pub api_version: String,
    /// When it last changed something.
    pub time: Option<Time>,
    /// `status` or empty.
    pub subresource: String,
    /// The fields it owns.
    pub set: FieldSet,
}

impl Manager {
    /// Whether `self` is the entry of `(manager, op, api_version, subresource)`; appliers are
    /// one entry whatever their version (Go's `BuildManagerIdentifier`).
    fn is(&self, manager: &str, op: Operation, api_version: &str, subresource: &str) -> bool {
        self.manager == manager
            && self.operation == op
            && self.subresource == subresource
            && (op == Operation::Apply || self.api_version == api_version)
    }

    /// Go's `printManager`.
    fn describe(&self) -> String {
        let mut s = go_quote(&self.manager);
        if !self.subresource.is_empty() {
            s.push_str(&format!(
                " with subresource {}",
                go_quote(&self.subresource)
            ));
        }
        if self.operation == Operation::Update {
            s.push_str(&format!(" using {}", self.api_version));
            if let Some(t) = &self.time {
                s.push_str(&format!(" at {}", t.0.strftime("%Y-%m-%dT%H:%M:%SZ")));
            }
        }
        s
    }
}

/// Parses `metadata.managedFields`; entries that do not parse are dropped.
pub fn decode_managers(entries: &[ManagedFieldsEntry]) -> Vec<Manager> {
    entries
        .iter()
        .filter_map(|e| {
            let operation = match e.operation.as_deref()? {
                "Apply" => Operation::Apply,
                "Update" => Operation::Update,
                _ => return None,
            };
            let set = match &e.fields_v1 {
                Some(FieldsV1(v)) => FieldSet::from_fields_v1(v).ok()?,
                None => FieldSet::new(),
            };
            Some(Manager {
                manager: e.manager.clone().unwrap_or_default(),
                operation,
                api_version: e.api_version.clone().unwrap_or_default(),
                time: e.time.clone(),
                subresource: e.subresource.clone().unwrap_or_default(),
                set,
            })
        })
        .collect()
}

/// Renders managers as `metadata.managedFields`, in Go's order (operation, time, manager,
/// apiVersion, subresource).
pub fn encode_managers(managers: &[Manager]) -> Vec<ManagedFieldsEntry> {
    let mut ms: Vec<&Manager> = managers.iter().filter(|m| !m.set.is_empty()).collect();
    ms.sort_by(|a, b| {
        let secs = |m: &Manager| m.time.as_ref().map_or(0, |t| t.0.as_second());
        a.operation
            .cmp(&b.operation)
            .then_with(|| secs(a).cmp(&secs(b)))
            .then_with(|| a.manager.cmp(&b.manager))
            .then_with(|| a.api_version.cmp(&b.api_version))
            .then_with(|| a.subresource.cmp(&b.subresource))
    });
    ms.into_iter()
        .map(|m| ManagedFieldsEntry {
            manager: Some(m.manager.clone()),
            operation: Some(m.operation.as_str().to_owned()),
            api_version: Some(m.api_version.clone()),
            time: m.time.clone(),
            fields_type: Some("FieldsV1".to_owned()),
            fields_v1: Some(FieldsV1(m.set.to_fields_v1())),
            subresource: (!m.subresource.is_empty()).then(|| m.subresource.clone()),
        })
        .collect()
}

/// The schema of a resource with `ObjectMeta`'s list and map types added.
pub struct WithMeta<'a>(pub &'a dyn FieldSchema);

impl FieldSchema for WithMeta<'_> {
    fn shape(&self, path: &[&str]) -> Option<Shape> {
        match path {
            ["metadata", "labels" | "annotations"] => Some(Shape::Map),
            ["metadata", "finalizers"] => Some(Shape::SetList),
            ["metadata", "ownerReferences"] => Some(Shape::MapList(vec!["uid".to_owned()])),
            ["metadata", ..] => None,
            _ => self.0.shape(path),
        }
    }
}

/// Which part of the object a write's manager can own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The main resource: everything but `status`.
    Main,
    /// `/status`: only `status`.
    Status,
}

/// The object as managed fields see it: without the server-owned metadata Go strips
/// (`stripMetaManager`) and without the fields the write's scope resets.
pub fn managed_view(obj: &Value, scope: Scope) -> Value {
    let mut v = obj.clone();
    if let Value::Object(m) = &mut v {
        m.remove("apiVersion");
        m.remove("kind");
        match scope {
            Scope::Main => {
                m.remove("status");
            }
            Scope::Status => m.retain(|k, _| k == "status" || k == "metadata"),
        }
        let drop_meta = scope == Scope::Status;
        if let Some(Value::Object(meta)) = m.get_mut("metadata") {
            for k in [
                "name",
                "namespace",
                "creationTimestamp",
                "selfLink",
                "uid",
                "clusterName",
                "generation",
                "managedFields",
                "resourceVersion",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
            ] {
                meta.remove(k);
            }
            if drop_meta {
                meta.clear();
            }
        }
        if m.get("metadata")
            .is_some_and(|x| x.as_object().is_some_and(Map::is_empty))
        {
            m.remove("metadata");
        }
    }
    v
}

/// The fields a (viewed) object sets.
///
/// # Errors
/// [`ManagedError::FieldSet`].
pub fn fields_of(view: &Value, schema: &dyn FieldSchema) -> Result<FieldSet, ManagedError> {
    Ok(to_field_set(view, &WithMeta(schema))?)
}

/// SMD's `Comparison` of two objects.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Comparison {
    /// Fields only in the new object.
    pub added: FieldSet,
    /// Fields only in the old object.
    pub removed: FieldSet,
    /// Leaves in both whose values differ.
    pub modified: FieldSet,
}

impl Comparison {
    /// Compares two viewed objects.
    ///
    /// # Errors
    /// [`ManagedError::FieldSet`].
    pub fn of(old: &Value, new: &Value, schema: &dyn FieldSchema) -> Result<Self, ManagedError> {
        let old_set = fields_of(old, schema)?;
        let new_set = fields_of(new, schema)?;
        let added = new_set.difference(&old_set);
        let removed = old_set.difference(&new_set);
        // Paths are listed depth first, parents before children: a member is a parent exactly
        // when the next path lies below it.
        fn parents(set: &FieldSet) -> FieldSet {
            let paths = set.paths();
            let mut out = FieldSet::new();
            for (i, p) in paths.iter().enumerate() {
                if paths.get(i + 1).is_some_and(|q| q.starts_with(p)) {
                    out.insert(p);
                }
            }
            out
        }
        let not_leaves = parents(&old_set).union(&parents(&new_set));
        let mut modified = FieldSet::new();
        for p in old_set.intersection(&new_set).paths() {
            if !not_leaves.contains(&p) && get_path(old, &p) != get_path(new, &p) {
                modified.insert(&p);
            }
        }
        Ok(Self {
            added,
            removed,
            modified,
        })
    }

    /// Whether nothing changed.
    pub fn is_same(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.modified.is_empty()
    }
}

/// The value at a field path.
pub fn get_path<'a>(v: &'a Value, path: &[PathElement]) -> Option<&'a Value> {
    let mut cur = v;
    for pe in path {
        cur = step(cur, pe)?;
    }
    Some(cur)
}

fn item_matches(item: &Value, pe: &PathElement) -> bool {
    match pe {
        PathElement::Key(fields) => fields.iter().all(|(k, v)| item.get(k) == Some(v)),
        PathElement::Value(v) => item == v,
        PathElement::Field(_) | PathElement::Index(_) => false,
    }
}

fn step<'a>(v: &'a Value, pe: &PathElement) -> Option<&'a Value> {
    match pe {
        PathElement::Field(k) => v.as_object()?.get(k),
        PathElement::Index(i) => v.as_array()?.get(*i),
        PathElement::Key(_) | PathElement::Value(_) => {
            v.as_array()?.iter().find(|item| item_matches(item, pe))
        }
    }
}

fn step_mut<'a>(v: &'a mut Value, pe: &PathElement) -> Option<&'a mut Value> {
    match pe {
        PathElement::Field(k) => v.as_object_mut()?.get_mut(k),
        PathElement::Index(i) => v.as_array_mut()?.get_mut(*i),
        PathElement::Key(_) | PathElement::Value(_) => v
            .as_array_mut()?
            .iter_mut()
            .find(|item| item_matches(item, pe)),
    }
}

/// Removes the field (or list item) at `path`, if present.
pub fn remove_path(v: &mut Value, path: &[PathElement]) {
    match path {
        [] => {}
        [last] => match last {
            PathElement::Field(k) => {
                if let Some(m) = v.as_object_mut() {
                    m.remove(k);
                }
            }
            PathElement::Index(i) => {
                if let Some(a) = v.as_array_mut().filter(|a| *i < a.len()) {
                    a.remove(*i);
                }
            }
            PathElement::Key(_) | PathElement::Value(_) => {
                if let Some(a) = v.as_array_mut() {
                    a.retain(|item| !item_matches(item, last));
                }
            }
        },
        [first, rest @ ..] => {
            if let Some(child) = step_mut(v, first) {
                remove_path(child, rest);
            }
        }
    }
}

/// SMD's `Path.String`: `.spec.nodePools[name="a"].replicas`.
pub fn path_to_string(path: &[PathElement]) -> String {
    fn value(v: &Value) -> String {
        match v {
            Value::String(s) => go_quote(s),
            Value::Null => "null".to_owned(),
            Value::Array(a) => format!("[{}]", a.iter().map(value).collect::<Vec<_>>().join(", ")),
            Value::Object(m) => format!(
                "{{{}}}",
                m.iter()
                    .map(|(k, v)| format!("{k}={}", value(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            other => other.to_string(),
        }
    }
    let mut s = String::new();
    for pe in path {
        match pe {
            PathElement::Field(f) => {
                s.push('.');
                s.push_str(f);
            }
            PathElement::Key(fields) => {
                let parts: Vec<String> = fields
                    .iter()
                    .map(|(k, v)| format!("{k}={}", value(v)))
                    .collect();
                s.push_str(&format!("[{}]", parts.join(",")));
            }
            PathElement::Value(v) => s.push_str(&format!("[={}]", value(v))),
            PathElement::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// A non-apply write by `manager`: the changed fields move to it (Go's `Update` with the
/// `managedFieldsUpdater` timestamp rule: its time is refreshed only if it took any field).
///
/// # Errors
/// [`ManagedError::FieldSet`].
#[allow(clippy::too_many_arguments)]
pub fn update(
    managers: Vec<Manager>,
    old_view: &Value,
    new_view: &Value,
    schema: &dyn FieldSchema,
    manager: &str,
    api_version: &str,
    subresource: &str,
    now: Time,
) -> Result<Vec<Manager>, ManagedError> {
    let cmp = Comparison::of(old_view, new_view, schema)?;
    let taken = cmp.modified.union(&cmp.added);
    let mut out: Vec<Manager> = Vec::with_capacity(managers.len() + 1);
    let mut mine: Option<Manager> = None;
    for mut m in managers {
        m.set = m.set.difference(&taken).difference(&cmp.removed);
        if m.is(manager, Operation::Update, api_version, subresource) {
            mine = Some(m);
        } else if !m.set.is_empty() {
            out.push(m);
        }
    }
    let mut mine = mine.unwrap_or_else(|| Manager {
        manager: manager.to_owned(),
        operation: Operation::Update,
        api_version: api_version.to_owned(),
        time: None,
        subresource: subresource.to_owned(),
        set: FieldSet::new(),
    });
    if !taken.is_empty() {
        mine.set = mine.set.union(&taken);
        mine.time = Some(now);
    }
    if !mine.set.is_empty() {
        out.push(mine);
    }
    Ok(cap_update_managers(out))
}

/// Go's `DefaultMaxUpdateManagers`.
pub const MAX_UPDATE_MANAGERS: usize = 10;
/// Go's bucket for merged old update entries.
pub const ANCIENT_CHANGES: &str = "ancient-changes";

/// Go's `capManagersManager`: with more than [`MAX_UPDATE_MANAGERS`] `Update` entries, the
/// oldest are merged, per API version, into an `ancient-changes` entry.
pub fn cap_update_managers(mut managers: Vec<Manager>) -> Vec<Manager> {
    let updaters = || {
        managers
            .iter()
            .filter(|m| m.operation == Operation::Update)
            .count()
    };
    let mut count = updaters();
    if count <= MAX_UPDATE_MANAGERS {
        return managers;
    }
    let secs = |m: &Manager| m.time.as_ref().map_or(0, |t| t.0.as_second());
    managers.sort_by(|a, b| {
        (a.operation != Operation::Update)
            .cmp(&(b.operation != Operation::Update))
            .then_with(|| secs(a).cmp(&secs(b)))
            .then_with(|| a.manager.cmp(&b.manager))
    });
    let mut out: Vec<Manager> = Vec::with_capacity(managers.len());
    let mut first_of_version: std::collections::BTreeMap<String, usize> = Default::default();
    for m in managers {
        if m.operation != Operation::Update || count <= MAX_UPDATE_MANAGERS {
            out.push(m);
            continue;
        }
        match first_of_version.get(&m.api_version) {
            Some(&i) => {
                let bucket = &mut out[i];
                bucket.manager = ANCIENT_CHANGES.to_owned();
                bucket.set = bucket.set.union(&m.set);
                bucket.time = m.time;
                count -= 1;
            }
            None => {
                first_of_version.insert(m.api_version.clone(), out.len());
                out.push(m);
            }
        }
    }
    out
}

/// The result of an apply.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The merged (and pruned) object, still a managed view plus whatever the live object had
    /// outside it.
    pub object: Value,
    /// The managers afterwards.
    pub managers: Vec<Manager>,
}

/// Server-side apply of `config` (the applied configuration) onto `live` by `manager`
/// (SMD's `Updater.Apply`): merge by the schema's structure, prune what this manager applied
/// before and no longer applies unless someone else owns it, then move ownership; fields
/// owned by others with different values conflict unless `force`.
///
/// `live` and `config` are full encoded objects; ownership is computed on their
/// [`managed_view`] for `scope`.
///
/// # Errors
/// 409 [`ApiError::ApplyConflict`] with Go's message and causes; 400 for configurations that
/// do not form a field set.
#[allow(clippy::too_many_arguments)]
pub fn apply(
    managers: Vec<Manager>,
    live: &Value,
    config: &Value,
    schema: &dyn FieldSchema,
    manager: &str,
    api_version: &str,
    scope: Scope,
    force: bool,
    now: Time,
) -> Result<Applied, ApiError> {
    let subresource = match scope {
        Scope::Main => "",
        Scope::Status => "status",
    };
    let schema = &WithMeta(schema);
    let config_view = managed_view(config, scope);
    let config_set = fields_of(&config_view, schema).map_err(ManagedError::into_api_error)?;
    let mut merged = merge_as(live, &config_view, schema, &mut Vec::new(), None);
    let previous = managers
        .iter()
        .find(|m| m.is(manager, Operation::Apply, api_version, subresource))
        .map(|m| m.set.clone());
    // Prune: what this manager applied last time and not now, unless someone else owns it (or
    // anything below it).
    if let Some(last) = previous {
        let others = managers
            .iter()
            .filter(|m| !m.is(manager, Operation::Apply, api_version, subresource))
            .fold(FieldSet::new(), |acc, m| acc.union(&m.set));
        let others_paths = others.paths();
        let config_paths = config_set.paths();
        let kept = |p: &[PathElement]| {
            others_paths.iter().any(|q| q.starts_with(p))
                || config_paths.iter().any(|q| q.starts_with(p))
        };
        let last_paths = last.difference(&config_set).paths();
        for p in &last_paths {
            if !kept(p) {
                remove_path(&mut merged, p);
            }
        }
        // Containers emptied by the pruning go too (SMD makes named fields members first).
        let mut parents: Vec<&[PathElement]> = last_paths
            .iter()
            .flat_map(|p| (1..p.len()).map(move |n| &p[..n]))
            .collect();
        parents.sort_by_key(|p| std::cmp::Reverse(p.len()));
        parents.dedup();
        for p in parents {
            let empty = get_path(&merged, p).is_some_and(|v| {
                v.as_object().is_some_and(Map::is_empty) || v.as_array().is_some_and(Vec::is_empty)
            });
            if empty && !kept(p) {
                remove_path(&mut merged, p);
            }
        }
    }
    let live_view = managed_view(live, scope);
    let merged_view = managed_view(&merged, scope);
    let cmp =
        Comparison::of(&live_view, &merged_view, schema).map_err(ManagedError::into_api_error)?;
    let changed = cmp.modified.union(&cmp.added);
    let mut conflicts: Vec<(String, Vec<Vec<PathElement>>, String)> = Vec::new();
    let mut out = Vec::with_capacity(managers.len() + 1);
    let mut mine_time = None;
    for mut m in managers {
        if m.is(manager, Operation::Apply, api_version, subresource) {
            mine_time = m.time.clone();
            continue;
        }
        let conflict = m.set.intersection(&changed);
        if !conflict.is_empty() {
            conflicts.push((m.manager.clone(), conflict.paths(), m.describe()));
        }
        m.set = m.set.difference(&conflict).difference(&cmp.removed);
        if !m.set.is_empty() {
            out.push(m);
        }
    }
    if !force && !conflicts.is_empty() {
        return Err(conflict_error(conflicts));
    }
    let time = if cmp.is_same() {
        mine_time.or(Some(now))
    } else {
        Some(now)
    };
    out.push(Manager {
        manager: manager.to_owned(),
        operation: Operation::Apply,
        api_version: api_version.to_owned(),
        time,
        subresource: subresource.to_owned(),
        set: config_set,
    });
    Ok(Applied {
        object: merged,
        managers: out,
    })
}

/// Go's `internal.NewConflictError` / `getConflictMessage`.
fn conflict_error(mut conflicts: Vec<(String, Vec<Vec<PathElement>>, String)>) -> ApiError {
    conflicts.sort_by(|a, b| a.0.cmp(&b.0));
    let mut causes = Vec::new();
    for (_, paths, who) in &conflicts {
        for p in paths {
            causes.push((path_to_string(p), format!("conflict with {who}")));
        }
    }
    let message = if causes.len() == 1 {
        format!(
            "Apply failed with 1 conflict: {}: {}",
            causes[0].1, causes[0].0
        )
    } else {
        let mut lines = Vec::new();
        for (_, paths, who) in &conflicts {
            lines.push(format!("conflicts with {who}:"));
            for p in paths {
                lines.push(format!("- {}", path_to_string(p)));
            }
        }
        format!(
            "Apply failed with {} conflicts: {}",
            causes.len(),
            lines.join("\n")
        )
    };
    ApiError::ApplyConflict {
        message,
        conflicts: causes,
    }
}

fn infer(v: &Value) -> Shape {
    match v {
        Value::Object(_) => Shape::Struct,
        Value::Array(_) => Shape::AtomicList,
        _ => Shape::Scalar,
    }
}

/// SMD's merge of a configuration into a live value, by the schema's structure. `shape`
/// overrides the schema (for list items, whose shape is their own, not the list's).
fn merge_as(
    live: &Value,
    config: &Value,
    schema: &dyn FieldSchema,
    names: &mut Vec<String>,
    shape: Option<Shape>,
) -> Value {
    let shape = shape.unwrap_or_else(|| {
        let ns: Vec<&str> = names.iter().map(String::as_str).collect();
        schema.shape(&ns).unwrap_or_else(|| infer(config))
    });
    match (shape, live, config) {
        (Shape::Struct | Shape::Map, Value::Object(l), Value::Object(c)) => {
            let mut out = l.clone();
            for (k, cv) in c {
                if cv.is_null() {
                    out.remove(k);
                    continue;
                }
                names.push(k.clone());
                let lv = l.get(k).unwrap_or(&Value::Null);
                let merged = merge_as(lv, cv, schema, names, None);
                names.pop();
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Shape::MapList(keys), Value::Array(l), Value::Array(c)) => {
            let mut out = l.clone();
            for ci in c {
                let same = |li: &Value| {
                    keys.iter()
                        .filter(|k| ci.get(k.as_str()).is_some())
                        .all(|k| li.get(k.as_str()) == ci.get(k.as_str()))
                };
                match out.iter_mut().find(|li| same(li)) {
                    Some(li) => {
                        let merged = merge_as(li, ci, schema, names, Some(infer(ci)));
                        *li = merged;
                    }
                    None => out.push(ci.clone()),
                }
            }
            Value::Array(out)
        }
        (Shape::SetList, Value::Array(l), Value::Array(c)) => {
            let mut out = l.clone();
            for ci in c {
                if !out.contains(ci) {
                    out.push(ci.clone());
                }
            }
            Value::Array(out)
        }
        _ => config.clone(),
    }
}

#[cfg(test)]
mod tests;
