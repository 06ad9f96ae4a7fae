//! Groundwork for server-side apply: field sets and their `fieldsV1` wire form.
//!
//! A port of the parts of `sigs.k8s.io/structured-merge-diff` (`fieldpath`, `typed/tofieldset`)
//! that `metadata.managedFields` needs:
//!
//! * [`PathElement`] — `f:<field>`, `k:{<key fields>}`, `v:<value>`, `i:<index>`, with SMD's
//!   total order (which fixes the key order of `fieldsV1`).
//! * [`FieldSet`] — a set of field paths (union, difference, intersection), serialised to and
//!   from `fieldsV1` exactly as SMD does (`"."` marks a path that is both a member and a parent).
//! * [`to_field_set`] — the fields an object sets, given the object's [`FieldSchema`]
//!   (`typed.TypedValue.ToFieldSet`); [`set_from_value`] — SMD's schema-less guess.
//!
//! Managers, apply conflicts and the merge itself are not here yet.

use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

/// Why a field set could not be built or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldSetError {
    /// A `fieldsV1` document that is not a JSON object of objects.
    #[error("managedFields parsing: {0}")]
    Parse(String),
    /// A list item that cannot be addressed under the list's type (SMD's messages).
    #[error("{path}: {message}")]
    ListItem {
        /// Where the list is.
        path: String,
        /// What is wrong with the item.
        message: String,
    },
}

/// One step of a field path.
#[derive(Debug, Clone)]
pub enum PathElement {
    /// `f:<name>`: a field of a struct or a key of a map.
    Field(String),
    /// `k:{...}`: an item of an associative list, by its key fields (sorted by name).
    Key(Vec<(String, Value)>),
    /// `v:<json>`: an item of a set.
    Value(Value),
    /// `i:<n>`: an item of a list by position.
    Index(usize),
}

/// SMD's `value.Compare`: a total order over JSON values (numbers < strings < bools < lists <
/// maps < null; ints and floats compared numerically).
pub fn compare_values(lhs: &Value, rhs: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Number(_) => 0,
            Value::String(_) => 1,
            Value::Bool(_) => 2,
            Value::Array(_) => 3,
            Value::Object(_) => 4,
            Value::Null => 5,
        }
    }
    match (lhs, rhs) {
        (Value::Number(l), Value::Number(r)) => match (l.as_i64(), r.as_i64()) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => {
                let (a, b) = (
                    l.as_f64().unwrap_or(f64::NAN),
                    r.as_f64().unwrap_or(f64::NAN),
                );
                a.partial_cmp(&b).unwrap_or(Ordering::Equal)
            }
        },
        (Value::String(l), Value::String(r)) => l.cmp(r),
        (Value::Bool(l), Value::Bool(r)) => l.cmp(r),
        (Value::Array(l), Value::Array(r)) => {
            for (a, b) in l.iter().zip(r) {
                match compare_values(a, b) {
                    Ordering::Equal => {}
                    other => return other,
                }
            }
            l.len().cmp(&r.len())
        }
        (Value::Object(l), Value::Object(r)) => {
            let keys: BTreeSet<&String> = l.keys().chain(r.keys()).collect();
            for (i, k) in keys.into_iter().enumerate() {
                let c = if i == l.len() {
                    Ordering::Less
                } else if i == r.len() {
                    Ordering::Greater
                } else {
                    match (l.get(k), r.get(k)) {
                        (None, _) => Ordering::Greater,
                        (_, None) => Ordering::Less,
                        (Some(a), Some(b)) => compare_values(a, b),
                    }
                };
                if c != Ordering::Equal {
                    return c;
                }
            }
            Ordering::Equal
        }
        _ => rank(lhs).cmp(&rank(rhs)),
    }
}

impl Ord for PathElement {
    /// SMD's `PathElement.Compare`: fields < keys < values < indexes.
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Self::Field(a), Self::Field(b)) => a.cmp(b),
            (Self::Field(_), _) => Ordering::Less,
            (_, Self::Field(_)) => Ordering::Greater,
            (Self::Key(a), Self::Key(b)) => {
                for ((an, av), (bn, bv)) in a.iter().zip(b) {
                    match an.cmp(bn).then_with(|| compare_values(av, bv)) {
                        Ordering::Equal => {}
                        other => return other,
                    }
                }
                a.len().cmp(&b.len())
            }
            (Self::Key(_), _) => Ordering::Less,
            (_, Self::Key(_)) => Ordering::Greater,
            (Self::Value(a), Self::Value(b)) => compare_values(a, b),
            (Self::Value(_), _) => Ordering::Less,
            (_, Self::Value(_)) => Ordering::Greater,
            (Self::Index(a), Self::Index(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for PathElement {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for PathElement {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for PathElement {}

/// Go's `encoding/json` compact form (sorted object keys, HTML-safe escaping), which SMD uses
/// for `k:` and `v:` elements.
fn go_json(v: &Value) -> String {
    fn string(out: &mut String, s: &str) {
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                    out.push_str(&format!("\\u{:04x}", u32::from(c)));
                }
                c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    fn write(out: &mut String, v: &Value) {
        match v {
            Value::String(s) => string(out, s),
            Value::Array(a) => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(out, x);
                }
                out.push(']');
            }
            Value::Object(m) => {
                out.push('{');
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    string(out, k);
                    out.push(':');
                    write(out, &m[k.as_str()]);
                }
                out.push('}');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(&mut out, v);
    out
}

impl std::fmt::Display for PathElement {
    /// The `fieldsV1` key form (SMD's `SerializePathElement`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Field(name) => write!(f, "f:{name}"),
            Self::Key(fields) => {
                f.write_str("k:{")?;
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(
                        f,
                        "{}:{}",
                        go_json(&Value::String(name.clone())),
                        go_json(value)
                    )?;
                }
                f.write_str("}")
            }
            Self::Value(v) => write!(f, "v:{}", go_json(v)),
            Self::Index(i) => write!(f, "i:{i}"),
        }
    }
}

impl PathElement {
    /// Parses a `fieldsV1` key (SMD's `DeserializePathElement`); `Ok(None)` for an unknown
    /// element type, which readers skip.
    ///
    /// # Errors
    /// [`FieldSetError::Parse`] for a malformed element.
    pub fn parse(s: &str) -> Result<Option<Self>, FieldSetError> {
        let err = |m: String| FieldSetError::Parse(m);
        let mut chars = s.chars();
        let (Some(kind), Some(sep)) = (chars.next(), chars.next()) else {
            return Err(err("key must be 2 characters long:".to_owned()));
        };
        if sep != ':' {
            return Err(err(format!("missing colon: {s}")));
        }
        let rest = chars.as_str();
        Ok(Some(match kind {
            'f' => Self::Field(rest.to_owned()),
            'v' => Self::Value(serde_json::from_str(rest).map_err(|e| err(e.to_string()))?),
            'k' => {
                let map: Map<String, Value> =
                    serde_json::from_str(rest).map_err(|e| err(e.to_string()))?;
                let mut fields: Vec<(String, Value)> = map.into_iter().collect();
                fields.sort_by(|a, b| a.0.cmp(&b.0));
                Self::Key(fields)
            }
            'i' => Self::Index(
                rest.parse()
                    .map_err(|e: std::num::ParseIntError| err(e.to_string()))?,
            ),
            _ => return Ok(None),
        }))
    }
}

/// A set of field paths, as SMD's `fieldpath.Set`: `members` are paths ending here,
/// `children` the sets under each element.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    members: BTreeSet<PathElement>,
    children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the set has no paths.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.children.values().all(Self::is_empty)
    }

    /// Adds a path (a no-op for the empty path).
    pub fn insert(&mut self, path: &[PathElement]) {
        match path {
            [] => {}
            [last] => {
                self.members.insert(last.clone());
            }
            [first, rest @ ..] => self.children.entry(first.clone()).or_default().insert(rest),
        }
    }

    /// Whether the path is in the set.
    pub fn contains(&self, path: &[PathElement]) -> bool {
        match path {
            [] => false,
            [last] => self.members.contains(last),
            [first, rest @ ..] => self.children.get(first).is_some_and(|c| c.contains(rest)),
        }
    }

    /// Every path in the set, in order.
    pub fn paths(&self) -> Vec<Vec<PathElement>> {
        let mut out = Vec::new();
        self.collect(&mut Vec::new(), &mut out);
        out
    }

    fn collect(&self, prefix: &mut Vec<PathElement>, out: &mut Vec<Vec<PathElement>>) {
        let mut keys: BTreeSet<&PathElement> = self.members.iter().collect();
        keys.extend(self.children.keys());
        for pe in keys {
            prefix.push(pe.clone());
            if self.members.contains(pe) {
                out.push(prefix.clone());
            }
            if let Some(c) = self.children.get(pe) {
                c.collect(prefix, out);
            }
            prefix.pop();
        }
    }

    /// Paths in either set.
    #[must_use]
    pub fn union(&self, other: &Self) -> Self {
        let mut out = self.clone();
        out.members.extend(other.members.iter().cloned());
        for (pe, c) in &other.children {
            let merged = match out.children.get(pe) {
                Some(mine) => mine.union(c),
                None => c.clone(),
            };
            out.children.insert(pe.clone(), merged);
        }
        out
    }

    /// Paths in `self` but not in `other`.
    #[must_use]
    pub fn difference(&self, other: &Self) -> Self {
        let members = self.members.difference(&other.members).cloned().collect();
        let children = self
            .children
            .iter()
            .map(|(pe, c)| match other.children.get(pe) {
                Some(o) => (pe.clone(), c.difference(o)),
                None => (pe.clone(), c.clone()),
            })
            .filter(|(_, c)| !c.is_empty())
            .collect();
        Self { members, children }
    }

    /// Paths in both sets.
    #[must_use]
    pub fn intersection(&self, other: &Self) -> Self {
        let members = self.members.intersection(&other.members).cloned().collect();
        let children = self
            .children
            .iter()
            .filter_map(|(pe, c)| {
                other
                    .children
                    .get(pe)
                    .map(|o| (pe.clone(), c.intersection(o)))
            })
            .filter(|(_, c)| !c.is_empty())
            .collect();
        Self { members, children }
    }

    /// The `fieldsV1` JSON (SMD's `Set.ToJSON`): keys in path-element order, `"."` first where
    /// a path is both a member and a parent.
    pub fn to_fields_v1(&self) -> Value {
        Value::Object(self.emit(false))
    }

    fn emit(&self, include_self: bool) -> Map<String, Value> {
        let mut out = Map::new();
        if include_self && !self.is_empty() {
            out.insert(".".to_owned(), Value::Object(Map::new()));
        }
        let mut keys: BTreeSet<&PathElement> = self.members.iter().collect();
        keys.extend(
            self.children
                .keys()
                .filter(|pe| !self.children[*pe].is_empty()),
        );
        for pe in keys {
            let member = self.members.contains(pe);
            let body = match self.children.get(pe).filter(|c| !c.is_empty()) {
                Some(c) => c.emit(member),
                None => Map::new(),
            };
            out.insert(pe.to_string(), Value::Object(body));
        }
        out
    }

    /// Parses `fieldsV1` JSON (SMD's `Set.FromJSON`); elements of unknown type are skipped.
    ///
    /// # Errors
    /// [`FieldSetError::Parse`] if it is not an object of objects or a key is malformed.
    pub fn from_fields_v1(v: &Value) -> Result<Self, FieldSetError> {
        Self::read(v).map(|(set, _)| set)
    }

    /// Returns the set under this node and whether the node itself is a member.
    fn read(v: &Value) -> Result<(Self, bool), FieldSetError> {
        let Value::Object(m) = v else {
            return Err(FieldSetError::Parse(format!(
                "expected an object, found {v}"
            )));
        };
        let mut set = Self::new();
        let mut is_member = false;
        let mut has_children = false;
        for (k, child) in m {
            if k == "." {
                is_member = true;
                continue;
            }
            let Some(pe) = PathElement::parse(k)? else {
                continue;
            };
            has_children = true;
            let (grandchildren, child_is_member) = Self::read(child)?;
            if child_is_member {
                set.members.insert(pe.clone());
            }
            if !grandchildren.is_empty() {
                set.children.insert(pe, grandchildren);
            }
        }
        Ok((set, is_member || !has_children))
    }
}

/// How a field is shaped, from the object's schema (OpenAPI `type`, `x-kubernetes-list-type`,
/// `x-kubernetes-list-map-keys`, `x-kubernetes-map-type`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// A leaf.
    Scalar,
    /// An object with declared fields, each tracked separately.
    Struct,
    /// A `map[string]T` (`additionalProperties`): each key tracked separately.
    Map,
    /// An object owned as a whole (`x-kubernetes-map-type: atomic`).
    AtomicMap,
    /// A list owned as a whole (`x-kubernetes-list-type: atomic`, the default).
    AtomicList,
    /// A list of unique scalars (`x-kubernetes-list-type: set`).
    SetList,
    /// A list of objects identified by key fields (`x-kubernetes-list-type: map`).
    MapList(Vec<String>),
}

/// Where [`to_field_set`] learns each field's [`Shape`]. `path` is the chain of field names
/// from the root, list items transparent (like [`crate::patch::PatchSchema`]).
pub trait FieldSchema {
    /// The shape at `path`; `None` to infer it from the value (objects are structs, lists are
    /// atomic, everything else is a scalar).
    fn shape(&self, path: &[&str]) -> Option<Shape>;
}

fn infer(v: &Value) -> Shape {
    match v {
        Value::Object(_) => Shape::Struct,
        Value::Array(_) => Shape::AtomicList,
        _ => Shape::Scalar,
    }
}

fn path_string(path: &[PathElement]) -> String {
    let parts: Vec<String> = path.iter().map(ToString::to_string).collect();
    format!(".{}", parts.join("."))
}

/// The fields `obj` sets, as SMD's `TypedValue.ToFieldSet`: every scalar leaf, every list item
/// of a granular list, atomic lists and maps as single leaves, and empty or null struct fields
/// and every key of a `map[string]T` as members.
///
/// # Errors
/// [`FieldSetError::ListItem`] for items a set or map list cannot address (nulls, maps in a
/// set, items missing all key fields).
pub fn to_field_set(obj: &Value, schema: &dyn FieldSchema) -> Result<FieldSet, FieldSetError> {
    let mut set = FieldSet::new();
    let mut walker = Walker {
        schema,
        set: &mut set,
        path: Vec::new(),
        names: Vec::new(),
    };
    walker.walk(obj)?;
    Ok(set)
}

struct Walker<'a> {
    schema: &'a dyn FieldSchema,
    set: &'a mut FieldSet,
    path: Vec<PathElement>,
    names: Vec<String>,
}

impl Walker<'_> {
    fn shape(&self, v: &Value) -> Shape {
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        self.schema.shape(&names).unwrap_or_else(|| infer(v))
    }

    fn walk(&mut self, v: &Value) -> Result<(), FieldSetError> {
        let shape = self.shape(v);
        self.walk_as(v, shape)
    }

    fn walk_as(&mut self, v: &Value, shape: Shape) -> Result<(), FieldSetError> {
        match (&shape, v) {
            (Shape::AtomicMap | Shape::AtomicList | Shape::Scalar, _) => {
                self.set.insert(&self.path);
                Ok(())
            }
            (Shape::Struct | Shape::Map, Value::Object(m)) => {
                let declared = shape == Shape::Struct;
                for (k, child) in m {
                    self.path.push(PathElement::Field(k.clone()));
                    self.names.push(k.clone());
                    let r = self.walk(child);
                    let empty = child.is_null() || child.as_object().is_some_and(Map::is_empty);
                    if empty || !declared {
                        self.set.insert(&self.path);
                    }
                    self.path.pop();
                    self.names.pop();
                    r?;
                }
                Ok(())
            }
            (Shape::SetList | Shape::MapList(_), Value::Array(items)) => {
                let pes: Vec<PathElement> = items
                    .iter()
                    .map(|i| self.item_element(&shape, i))
                    .collect::<Result<_, _>>()?;
                // Duplicated items are owned as a whole, once; the others item by item.
                let mut seen = BTreeSet::new();
                let mut duplicates = BTreeSet::new();
                for pe in &pes {
                    if !seen.insert(pe.clone()) {
                        duplicates.insert(pe.clone());
                    }
                }
                for pe in &duplicates {
                    self.path.push(pe.clone());
                    self.set.insert(&self.path);
                    self.path.pop();
                }
                for (pe, item) in pes.into_iter().zip(items) {
                    if duplicates.contains(&pe) {
                        continue;
                    }
                    self.path.push(pe);
                    // An item has its element type (an object or a scalar), not the list's.
                    let r = self.walk_as(item, infer(item));
                    self.set.insert(&self.path);
                    self.path.pop();
                    r?;
                }
                Ok(())
            }
            // A value that does not match its declared shape (null, or a type change) is
            // owned as a leaf.
            _ => {
                self.set.insert(&self.path);
                Ok(())
            }
        }
    }

    fn item_element(&self, shape: &Shape, item: &Value) -> Result<PathElement, FieldSetError> {
        let fail = |m: &str| FieldSetError::ListItem {
            path: path_string(&self.path),
            message: m.to_owned(),
        };
        match (shape, item) {
            (Shape::MapList(_), Value::Null) => Err(fail(
                "associative list with keys may not have a null element",
            )),
            (Shape::MapList(keys), Value::Object(m)) => {
                let mut fields: Vec<(String, Value)> = keys
                    .iter()
                    .filter_map(|k| m.get(k).map(|v| (k.clone(), v.clone())))
                    .collect();
                if !keys.is_empty() && fields.is_empty() {
                    return Err(fail(&format!(
                        "associative list with keys has an element that omits all key fields {keys:?} (and doesn't have default values for any key fields)"
                    )));
                }
                fields.sort_by(|a, b| a.0.cmp(&b.0));
                Ok(PathElement::Key(fields))
            }
            (Shape::MapList(_), _) => Err(fail(
                "associative list with keys may not have non-map elements",
            )),
            (_, Value::Object(_)) => Err(fail(
                "associative list without keys has an element that's a map type",
            )),
            (_, Value::Array(_)) => Err(fail(
                "not supported: associative list with lists as elements",
            )),
            (_, Value::Null) => Err(fail(
                "associative list without keys has an element that's an explicit null",
            )),
            (_, v) => Ok(PathElement::Value(v.clone())),
        }
    }
}

/// SMD's schema-less `SetFromValue`: every scalar leaf, list items addressed by their `key`,
/// `id` or `name` fields when they have any scalar ones, by index otherwise.
pub fn set_from_value(v: &Value) -> FieldSet {
    fn walk(v: &Value, path: &mut Vec<PathElement>, set: &mut FieldSet) {
        match v {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(guess_element(i, item));
                    walk(item, path, set);
                    path.pop();
                }
            }
            Value::Object(m) => {
                for (k, child) in m {
                    path.push(PathElement::Field(k.clone()));
                    walk(child, path, set);
                    path.pop();
                }
            }
            _ => set.insert(path),
        }
    }
    fn guess_element(i: usize, item: &Value) -> PathElement {
        let Value::Object(m) = item else {
            return PathElement::Index(i);
        };
        let mut keys: Vec<(String, Value)> = ["key", "id", "name"]
            .iter()
            .filter_map(|k| m.get(*k).map(|v| ((*k).to_owned(), v.clone())))
            .filter(|(_, v)| !(v.is_null() || v.is_object() || v.is_array()))
            .collect();
        if keys.is_empty() {
            return PathElement::Index(i);
        }
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        PathElement::Key(keys)
    }
    let mut set = FieldSet::new();
    walk(v, &mut Vec::new(), &mut set);
    set
}

#[cfg(test)]
mod tests;
