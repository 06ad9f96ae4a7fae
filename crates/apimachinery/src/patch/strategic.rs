//! Strategic merge patch, applied the way Go's API server applies it.
//!
//! The structure follows Go's `strategicpatch.mergeMap` / `mergeSlice` closely (directives,
//! ordering rules, error cases) so behaviour can be checked function by function against it.
//! Go iterates patch maps in random order; this port iterates in document order, which only
//! matters for patches whose outcome in Go is itself order-dependent.

use super::{PatchError, PatchMeta, PatchSchema, PatchStrategy};
use serde_json::{Map, Value};

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";
const SET_ELEMENT_ORDER: &str = "$setElementOrder";

/// Applies a strategic merge patch (JSON bytes) to a JSON object.
///
/// # Errors
/// [`PatchError::Decode`] if the patch is not a JSON object, [`PatchError::BadJsonDoc`] if
/// `doc` is not an object, and the structural errors of Go's implementation.
pub fn apply_strategic_merge_patch(
    doc: &Value,
    patch: &[u8],
    schema: &dyn PatchSchema,
) -> Result<Value, PatchError> {
    let patch = match serde_json::from_slice::<Value>(patch) {
        Ok(Value::Object(m)) => m,
        Ok(Value::Null) => Map::new(),
        Ok(other) => {
            return Err(PatchError::Decode(format!(
                "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                json_kind_name(&other)
            )));
        }
        Err(e) => return Err(PatchError::Decode(e.to_string())),
    };
    let Value::Object(original) = doc else {
        return Err(PatchError::BadJsonDoc);
    };
    let ctx = Ctx { schema };
    let mut path = Vec::new();
    ctx.merge_map(original.clone(), patch, &mut path)
        .map(Value::Object)
}

/// Go's type classes for decoded JSON (`int64` and `float64` are distinct types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Null,
    Bool,
    Int,
    Float,
    String,
    Array,
    Object,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Null => Kind::Null,
        Value::Bool(_) => Kind::Bool,
        Value::Number(n) if n.is_i64() => Kind::Int,
        Value::Number(_) => Kind::Float,
        Value::String(_) => Kind::String,
        Value::Array(_) => Kind::Array,
        Value::Object(_) => Kind::Object,
    }
}

/// Go's `reflect.TypeOf(v)` for a decoded JSON value.
fn go_type_name(v: &Value) -> &'static str {
    match kind(v) {
        Kind::Null => "%!s(<nil>)",
        Kind::Bool => "bool",
        Kind::Int => "int64",
        Kind::Float => "float64",
        Kind::String => "string",
        Kind::Array => "[]interface {}",
        Kind::Object => "map[string]interface {}",
    }
}

fn json_kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn bad_arg_type(expected: &str, actual: &Value) -> PatchError {
    PatchError::Invalid(format!(
        "expected a {expected}, but received a {}",
        go_type_name(actual)
    ))
}

const MAP_TYPE: &str = "map[string]interface {}";
const SLICE_TYPE: &str = "[]interface {}";

fn no_merge_key(m: &Map<String, Value>, key: &str) -> PatchError {
    PatchError::NoMergeKey {
        map: Value::Object(m.clone()).to_string(),
        key: key.to_owned(),
    }
}

fn bad_patch_type(directive: &Value, m: &Map<String, Value>) -> PatchError {
    let directive = directive
        .as_str()
        .map_or_else(|| directive.to_string(), str::to_owned);
    PatchError::BadPatchType {
        directive,
        map: Value::Object(m.clone()).to_string(),
    }
}

/// Go's `extractKey`: `$prefix/field` → `field`.
fn extract_key(s: &str, prefix: &str, err: PatchError) -> Result<String, PatchError> {
    match s.split_once('/') {
        Some((p, rest)) if p == prefix => Ok(rest.to_owned()),
        _ => Err(err),
    }
}

/// Replaces `key`'s value in place (keeping its position) or appends it.
fn set(m: &mut Map<String, Value>, key: String, v: Value) {
    match m.get_mut(&key) {
        Some(slot) => *slot = v,
        None => {
            m.insert(key, v);
        }
    }
}

/// Go's `removeDirectives`: drops every map carrying `$patch`; `None` if `v` itself is one.
fn remove_directives(v: Value) -> Option<Value> {
    match v {
        Value::Object(m) => {
            if m.contains_key(DIRECTIVE) {
                return None;
            }
            Some(Value::Object(
                m.into_iter()
                    .filter_map(|(k, v)| remove_directives(v).map(|v| (k, v)))
                    .collect(),
            ))
        }
        Value::Array(a) => Some(Value::Array(
            a.into_iter().filter_map(remove_directives).collect(),
        )),
        other => Some(other),
    }
}

/// Go's `discardNullValuesFromPatch`: removes null-valued map entries at any depth.
fn discard_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, v| !v.is_null());
            m.values_mut().for_each(discard_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(discard_nulls),
        _ => {}
    }
}

/// Takes the patch value as the new field value (Go's "not in original / different type" path).
fn take_patch_value(original: &mut Map<String, Value>, key: String, mut v: Value) {
    discard_nulls(&mut v);
    match remove_directives(v) {
        Some(v) => set(original, key, v),
        None => {
            original.shift_remove(&key);
        }
    }
}

/// Go's `sliceElementType`: the one kind shared by every element of every list.
fn element_kind(lists: &[&[Value]]) -> Result<Kind, PatchError> {
    let mut prev: Option<Kind> = None;
    for v in lists.iter().flat_map(|l| l.iter()) {
        let k = kind(v);
        match prev {
            None if k == Kind::Array => return Err(PatchError::ListOfLists),
            // Go panics on a leading null element; report it like a type mismatch instead.
            Some(p) if p != k => return Err(not_identical(lists)),
            None if k == Kind::Null => return Err(not_identical(lists)),
            _ => prev = Some(k),
        }
    }
    prev.ok_or_else(|| PatchError::Invalid("no elements in any of the given slices".to_owned()))
}

fn not_identical(lists: &[&[Value]]) -> PatchError {
    let rendered: Vec<String> = lists
        .iter()
        .map(|l| Value::from(l.to_vec()).to_string())
        .collect();
    PatchError::Invalid(format!(
        "list element types are not identical: [{}]",
        rendered.join(" ")
    ))
}

/// The merge-key value of a list item (`None` for non-maps and missing keys, like Go's nil).
fn merge_value<'a>(item: &'a Value, merge_key: &str) -> Option<&'a Value> {
    item.as_object().and_then(|m| m.get(merge_key))
}

/// Go's `index`: position of `v` in `list`, by merge key for maps, by value otherwise.
fn index_of(list: &[Value], v: &Value, merge_key: &str, k: Kind) -> Option<usize> {
    if k == Kind::Object {
        let want = merge_value(v, merge_key);
        list.iter().position(|x| merge_value(x, merge_key) == want)
    } else {
        list.iter().position(|x| x == v)
    }
}

/// Go's `findMapInSliceBasedOnKeyValue`.
fn find_by_key(list: &[Value], key: &str, value: &Value) -> Result<Option<usize>, PatchError> {
    for (i, v) in list.iter().enumerate() {
        let Value::Object(m) = v else {
            return Err(PatchError::Invalid(format!(
                "value for key {i} is not a map"
            )));
        };
        if m.get(key) == Some(value) {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

/// Go's `extractToDeleteItems`: (kept, `$patch: delete` items).
fn split_delete_items(list: Vec<Value>) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut keep = Vec::new();
    let mut delete = Vec::new();
    for v in list {
        let Value::Object(m) = &v else {
            return Err(bad_arg_type(MAP_TYPE, &v));
        };
        if m.get(DIRECTIVE).and_then(Value::as_str) == Some("delete") {
            delete.push(v);
        } else {
            keep.push(v);
        }
    }
    Ok((keep, delete))
}

fn validate_merge_key_in_lists(merge_key: &str, lists: &[&[Value]]) -> Result<(), PatchError> {
    for item in lists.iter().flat_map(|l| l.iter()) {
        let Value::Object(m) = item else {
            return Err(bad_arg_type(MAP_TYPE, item));
        };
        if !m.contains_key(merge_key) {
            return Err(no_merge_key(m, merge_key));
        }
    }
    Ok(())
}

/// Go's `normalizeSliceOrder`: sorts `to_sort` by position in `order` (stable; items absent
/// from `order` go last, where Go's comparator is undefined), delete items at the end.
fn normalize_slice_order(
    to_sort: Vec<Value>,
    order: &[Value],
    merge_key: &str,
    k: Kind,
) -> Result<Vec<Value>, PatchError> {
    let (mut to_sort, to_delete) = if k == Kind::Object {
        validate_merge_key_in_lists(merge_key, &[&to_sort, order])?;
        split_delete_items(to_sort)?
    } else {
        (to_sort, Vec::new())
    };
    to_sort.sort_by_cached_key(|v| index_of(order, v, merge_key, k).unwrap_or(usize::MAX));
    to_sort.extend(to_delete);
    Ok(to_sort)
}

/// Go's `mergeSortedSlice`: interleaves server-only items (`left`) into patch items (`right`)
/// keeping both relative orders, guided by the live order.
fn merge_sorted(
    left: Vec<Value>,
    right: Vec<Value>,
    server_order: &[Value],
    merge_key: &str,
    k: Kind,
) -> Vec<Value> {
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => return out,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => {
                match (
                    index_of(server_order, l, merge_key, k),
                    index_of(server_order, r, merge_key, k),
                ) {
                    (Some(li), Some(ri)) => li < ri,
                    _ => false,
                }
            }
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
}

/// Go's `normalizeElementOrder`.
fn normalize_element_order(
    patch_items: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    merge_key: &str,
    k: Kind,
) -> Result<Vec<Value>, PatchError> {
    let patch_items = normalize_slice_order(patch_items, patch_order, merge_key, k)?;
    let server_only = normalize_slice_order(server_only, server_order, merge_key, k)?;
    Ok(merge_sorted(
        server_only,
        patch_items,
        server_order,
        merge_key,
        k,
    ))
}

/// Splits `merged` into (items present in `by`, the rest), by value or by merge key.
fn partition(
    merged: Vec<Value>,
    by: &[Value],
    merge_key: &str,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut inside = Vec::new();
    let mut outside = Vec::new();
    for v in merged {
        let present = if merge_key.is_empty() {
            by.contains(&v)
        } else {
            let Value::Object(m) = &v else {
                return Err(bad_arg_type(MAP_TYPE, &v));
            };
            let Some(mv) = m.get(merge_key) else {
                return Err(no_merge_key(m, merge_key));
            };
            find_by_key(by, merge_key, mv)?.is_some()
        };
        if present {
            inside.push(v)
        } else {
            outside.push(v)
        }
    }
    Ok((inside, outside))
}

struct Ctx<'a> {
    schema: &'a dyn PatchSchema,
}

impl Ctx<'_> {
    fn meta(&self, path: &[String]) -> PatchMeta {
        let p: Vec<&str> = path.iter().map(String::as_str).collect();
        self.schema.patch_meta(&p)
    }

    /// Go's `mergeMap`.
    fn merge_map(
        &self,
        mut original: Map<String, Value>,
        mut patch: Map<String, Value>,
        path: &mut Vec<String>,
    ) -> Result<Map<String, Value>, PatchError> {
        if let Some(d) = patch.get(DIRECTIVE) {
            return match d.as_str() {
                Some("replace") => {
                    patch.shift_remove(DIRECTIVE);
                    Ok(patch)
                }
                Some("delete") => Ok(Map::new()),
                _ => Err(bad_patch_type(d, &patch)),
            };
        }
        apply_retain_keys(&mut original, &mut patch)?;
        self.merge_set_element_order(&mut original, &mut patch, path)?;

        for (k, patch_v) in patch {
            let (key, is_delete_list) = if k.starts_with(DELETE_FROM_PRIMITIVE_LIST) {
                (
                    extract_key(&k, DELETE_FROM_PRIMITIVE_LIST, PatchError::BadPrimitiveList)?,
                    true,
                )
            } else {
                (k, false)
            };
            if patch_v.is_null() {
                original.shift_remove(&key);
                continue;
            }
            let Some(orig_v) = original.get_mut(&key) else {
                if !is_delete_list {
                    take_patch_value(&mut original, key, patch_v);
                }
                continue;
            };
            if kind(orig_v) != kind(&patch_v) {
                if !is_delete_list {
                    take_patch_value(&mut original, key, patch_v);
                }
                continue;
            }
            match (orig_v.take(), patch_v) {
                (Value::Object(o), Value::Object(p)) => {
                    path.push(key.clone());
                    let merged = if self.meta(path).strategy == PatchStrategy::Replace {
                        Ok(p)
                    } else {
                        self.merge_map(o, p, path)
                    };
                    path.pop();
                    set(&mut original, key, Value::Object(merged?));
                }
                (Value::Array(o), Value::Array(p)) => {
                    path.push(key.clone());
                    let meta = self.meta(path);
                    let merged = self.merge_slice_handler(o, p, path, &meta, is_delete_list);
                    path.pop();
                    set(&mut original, key, Value::Array(merged?));
                }
                (_, p) => match remove_directives(p) {
                    Some(v) => set(&mut original, key, v),
                    None => {
                        original.shift_remove(&key);
                    }
                },
            }
        }
        Ok(original)
    }

    /// Go's `mergeSliceHandler`.
    fn merge_slice_handler(
        &self,
        original: Vec<Value>,
        patch: Vec<Value>,
        path: &mut Vec<String>,
        meta: &PatchMeta,
        is_delete_list: bool,
    ) -> Result<Vec<Value>, PatchError> {
        if meta.strategy == PatchStrategy::Merge || is_delete_list {
            let merge_key = meta.merge_key.as_deref().unwrap_or("");
            self.merge_slice(original, patch, path, merge_key, is_delete_list)
        } else {
            Ok(patch)
        }
    }

    /// Go's `mergeSlice`.
    fn merge_slice(
        &self,
        original: Vec<Value>,
        patch: Vec<Value>,
        path: &mut Vec<String>,
        merge_key: &str,
        is_delete_list: bool,
    ) -> Result<Vec<Value>, PatchError> {
        if original.is_empty() && patch.is_empty() {
            return Ok(original);
        }
        let k = element_kind(&[&original, &patch])?;
        if k != Kind::Object {
            if is_delete_list {
                return Ok(original
                    .into_iter()
                    .filter(|v| !patch.contains(v))
                    .collect());
            }
            let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
            for v in original.iter().chain(&patch) {
                if !merged.contains(v) {
                    merged.push(v.clone());
                }
            }
            let (patch_items, server_only) = partition(merged, &patch, "")?;
            return normalize_element_order(patch_items, server_only, &patch, &original, "", k);
        }
        if merge_key.is_empty() {
            return Err(PatchError::Invalid(format!(
                "cannot merge lists without merge key for {}",
                path.join(".")
            )));
        }
        let (original, patch) = merge_special_elements(original, patch, merge_key)?;
        let mut merged = original.clone();
        for v in &patch {
            let Value::Object(pm) = v else {
                return Err(bad_arg_type(MAP_TYPE, v));
            };
            let Some(mv) = pm.get(merge_key) else {
                return Err(no_merge_key(pm, merge_key));
            };
            match find_by_key(&merged, merge_key, mv)? {
                Some(i) => {
                    let Value::Object(om) = merged[i].take() else {
                        return Err(PatchError::Invalid(format!(
                            "value for key {i} is not a map"
                        )));
                    };
                    merged[i] = Value::Object(self.merge_map(om, pm.clone(), path)?);
                }
                None => merged.push(v.clone()),
            }
        }
        let (patch_items, server_only) = partition(merged, &patch, merge_key)?;
        normalize_element_order(patch_items, server_only, &patch, &original, merge_key, k)
    }

    /// Go's `mergePatchIntoOriginal`: applies every `$setElementOrder/<field>` directive.
    fn merge_set_element_order(
        &self,
        original: &mut Map<String, Value>,
        patch: &mut Map<String, Value>,
        path: &mut Vec<String>,
    ) -> Result<(), PatchError> {
        let keys: Vec<String> = patch
            .keys()
            .filter(|k| k.starts_with(SET_ELEMENT_ORDER))
            .cloned()
            .collect();
        for key in keys {
            let Some(order) = patch.shift_remove(&key) else {
                continue;
            };
            let Value::Array(order) = order else {
                return Err(bad_arg_type(SLICE_TYPE, &order));
            };
            let field = extract_key(&key, SET_ELEMENT_ORDER, PatchError::BadSetElementOrder)?;
            path.push(field.clone());
            let result = self.ordered_list(original, patch, &field, &order, path);
            path.pop();
            if let Some(list) = result? {
                set(original, field.clone(), Value::Array(list));
                patch.shift_remove(&field);
            }
        }
        Ok(())
    }

    /// The list `field` merged and put in `$setElementOrder` order; `None` if neither side has it.
    fn ordered_list(
        &self,
        original: &Map<String, Value>,
        patch: &Map<String, Value>,
        field: &str,
        order: &[Value],
        path: &mut Vec<String>,
    ) -> Result<Option<Vec<Value>>, PatchError> {
        let as_list = |v: Option<&Value>| match v {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a.clone())),
            Some(other) => Err(bad_arg_type(SLICE_TYPE, other)),
        };
        let orig_list = as_list(original.get(field))?;
        let patch_list = as_list(patch.get(field))?;
        let meta = self.meta(path);
        let merge_key = meta.merge_key.as_deref().unwrap_or("");
        validate_set_order(patch_list.as_deref().unwrap_or(&[]), order, merge_key)?;
        let merged = match (&orig_list, &patch_list) {
            (Some(o), None) => o.clone(),
            (None, Some(p)) => match remove_directives(Value::Array(p.clone())) {
                Some(Value::Array(v)) => v,
                _ => return Ok(None),
            },
            (Some(o), Some(p)) => {
                self.merge_slice_handler(o.clone(), p.clone(), path, &meta, false)?
            }
            (None, None) => return Ok(None),
        };
        let (patch_items, server_only) = partition(merged, order, merge_key)?;
        let orig = orig_list.unwrap_or_default();
        let k = element_kind(&[&orig, patch_list.as_deref().unwrap_or(&[])])?;
        let server_order = match (&patch_list, merge_key.is_empty() || k != Kind::Object) {
            (Some(p), false) if meta.strategy == PatchStrategy::Merge => {
                observed_server_order(&orig, p, merge_key)
            }
            _ => orig,
        };
        normalize_element_order(patch_items, server_only, order, &server_order, merge_key, k)
            .map(Some)
    }
}

/// The live order Go's `mergePatchIntoOriginal` actually compares against when a merge list is
/// both patched and reordered. Go's `mergeSlice` deletes `$patch: delete` items and appends
/// new items in place, in the array the caller's copy of the live list still points at, so
/// that copy reads as "live items after deletions, then new items", cut to the live length.
/// Go's own tests depend on this order, so it is reproduced here.
fn observed_server_order(original: &[Value], patch: &[Value], merge_key: &str) -> Vec<Value> {
    let mut seen: Vec<Value> = original
        .iter()
        .filter(|o| {
            !patch.iter().any(|p| {
                p.get(DIRECTIVE).and_then(Value::as_str) == Some("delete")
                    && p.get(merge_key).is_some()
                    && p.get(merge_key) == o.get(merge_key)
            })
        })
        .cloned()
        .collect();
    for p in patch.iter().filter(|p| p.get(DIRECTIVE).is_none()) {
        let key = p.get(merge_key);
        if key.is_some() && !seen.iter().any(|s| s.get(merge_key) == key) {
            seen.push(p.clone());
        }
    }
    seen.truncate(original.len());
    seen
}

/// Go's `mergeSliceWithSpecialElements`: applies `$patch: delete|replace` items of a merge list.
fn merge_special_elements(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    merge_key: &str,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut plain = Vec::new();
    let mut replace = false;
    for v in patch {
        let Value::Object(m) = &v else {
            return Err(bad_arg_type(MAP_TYPE, &v));
        };
        let Some(directive) = m.get(DIRECTIVE) else {
            plain.push(v);
            continue;
        };
        match directive.as_str() {
            Some("delete") => {
                let Some(mv) = m.get(merge_key) else {
                    return Err(no_merge_key(m, merge_key));
                };
                while let Some(i) = find_by_key(&original, merge_key, mv)? {
                    original.remove(i);
                }
            }
            Some("replace") => replace = true,
            Some("merge") => {
                return Err(PatchError::Invalid(
                    "merging lists cannot yet be specified in the patch".to_owned(),
                ));
            }
            _ => return Err(bad_patch_type(directive, m)),
        }
    }
    Ok(if replace {
        (plain, Vec::new())
    } else {
        (original, plain)
    })
}

/// Go's `applyRetainKeysDirective` (with `MergeParallelList`).
fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> Result<(), PatchError> {
    let Some(retain) = patch.shift_remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let Value::Array(retain) = retain else {
        return Err(PatchError::BadRetainKeys);
    };
    let keep = |k: &str| retain.iter().any(|v| v.as_str() == Some(k));
    for (k, v) in patch.iter() {
        if v.is_null()
            || k.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            || k.starts_with(SET_ELEMENT_ORDER)
        {
            continue;
        }
        if !keep(k) {
            return Err(PatchError::BadRetainKeys);
        }
    }
    original.retain(|k, _| keep(k));
    Ok(())
}

/// Go's `validatePatchWithSetOrderList`: patch items must appear in the order list, in order.
fn validate_set_order(patch: &[Value], order: &[Value], merge_key: &str) -> Result<(), PatchError> {
    if order.is_empty() || patch.is_empty() {
        return Ok(());
    }
    let non_delete = if merge_key.is_empty() {
        patch.to_vec()
    } else {
        split_delete_items(patch.to_vec())?.0
    };
    let (mut pi, mut si) = (0, 0);
    while pi < non_delete.len() && si < order.len() {
        if non_delete[pi]
            .as_object()
            .is_some_and(|m| m.contains_key(DIRECTIVE))
        {
            pi += 1;
            continue;
        }
        if merge_key_equal(&non_delete[pi], &order[si], merge_key)? {
            pi += 1;
        }
        si += 1;
    }
    if pi < non_delete.len() && si >= order.len() {
        return Err(PatchError::Invalid(format!(
            "The order in patch list:\n{}\n doesn't match {SET_ELEMENT_ORDER} list:\n{}\n",
            Value::from(patch.to_vec()),
            Value::from(order.to_vec())
        )));
    }
    Ok(())
}

/// Go's `mergeKeyValueEqual`.
fn merge_key_equal(left: &Value, right: &Value, merge_key: &str) -> Result<bool, PatchError> {
    if merge_key.is_empty() {
        return Ok(left == right);
    }
    let (Value::Object(l), Value::Object(r)) = (left, right) else {
        let bad = if left.is_object() { right } else { left };
        return Err(bad_arg_type(MAP_TYPE, bad));
    };
    let lv = l.get(merge_key).ok_or_else(|| no_merge_key(l, merge_key))?;
    let rv = r.get(merge_key).ok_or_else(|| no_merge_key(r, merge_key))?;
    Ok(lv == rv)
}
