//! Small predicates for `#[serde(skip_serializing_if = …)]`.

use std::collections::BTreeMap;

/// Skip a map that is empty.
pub(crate) fn is_empty_map<K, V>(map: &BTreeMap<K, V>) -> bool {
    map.is_empty()
}

/// Skip `false`.
pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}
