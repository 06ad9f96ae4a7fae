//! JSON merge patches (RFC 7386) between two documents, as the controller and the pilots send to
//! status subresources: only the differences travel, and what is gone is deleted.

use serde_json::{Map, Value};

/// The JSON merge patch (RFC 7386) that turns `old` into `new`, `None` when they are equal.
///
/// Two objects are compared member by member: changed members carry their own (recursive)
/// patch, members only in `new` are added whole, and members `new` lacks become `null` (a
/// deletion). Anything but two objects — arrays, scalars, a change of type — is replaced whole
/// by `new`. A `null` inside `new` reads as a deletion when the patch is applied, so documents
/// holding nulls (statuses hold none) do not round-trip.
pub fn merge_diff(old: &Value, new: &Value) -> Option<Value> {
    match (old, new) {
        (Value::Object(old), Value::Object(new)) => {
            let mut patch = Map::new();
            for (key, old_value) in old {
                match new.get(key) {
                    None => {
                        patch.insert(key.clone(), Value::Null);
                    }
                    Some(new_value) => {
                        if let Some(p) = merge_diff(old_value, new_value) {
                            patch.insert(key.clone(), p);
                        }
                    }
                }
            }
            for (key, new_value) in new {
                if !old.contains_key(key) {
                    patch.insert(key.clone(), new_value.clone());
                }
            }
            (!patch.is_empty()).then_some(Value::Object(patch))
        }
        (old, new) if old == new => None,
        (_, new) => Some(new.clone()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn merge_diff_table() {
        let cases = [
            ("equal", json!({"a": 1}), json!({"a": 1}), None),
            ("equal scalars", json!(1), json!(1), None),
            (
                "changed",
                json!({"a": 1}),
                json!({"a": 2}),
                Some(json!({"a": 2})),
            ),
            (
                "removed member becomes null",
                json!({"a": 1, "b": 2}),
                json!({"a": 1}),
                Some(json!({"b": null})),
            ),
            (
                "added object whole",
                json!({}),
                json!({"a": {"b": 1}}),
                Some(json!({"a": {"b": 1}})),
            ),
            (
                "changed and added",
                json!({"a": 1, "b": {"c": 1, "d": 2}}),
                json!({"a": 2, "b": {"c": 1, "d": 3}, "e": [1]}),
                Some(json!({"a": 2, "b": {"d": 3}, "e": [1]})),
            ),
            (
                "a map key that is gone becomes null",
                json!({"m": {"x": {"r": 1}, "y": {"r": 1}}}),
                json!({"m": {"x": {"r": 2}}}),
                Some(json!({"m": {"x": {"r": 2}, "y": null}})),
            ),
            (
                "removed members become null at every depth",
                json!({"cassandra": {"peers": {"live": ["a"], "unreachable": ["b"]}}, "x": 1}),
                json!({"cassandra": {"peers": {"live": ["a", "b"]}}}),
                Some(
                    json!({"cassandra": {"peers": {"live": ["a", "b"], "unreachable": null}}, "x": null}),
                ),
            ),
            (
                "arrays replace whole",
                json!({"l": [1, 2]}),
                json!({"l": [2]}),
                Some(json!({"l": [2]})),
            ),
            (
                "arrays of objects replace whole",
                json!({"conditions": [{"type": "Ready"}]}),
                json!({"conditions": [{"type": "Ready", "status": "True"}]}),
                Some(json!({"conditions": [{"type": "Ready", "status": "True"}]})),
            ),
            (
                "a change of type replaces whole",
                json!({"a": {"b": 1}}),
                json!({"a": 1}),
                Some(json!({"a": 1})),
            ),
            (
                "a value that became null is sent as null",
                json!({"a": 1}),
                json!({"a": null}),
                Some(json!({"a": null})),
            ),
        ];
        for (name, old, new, want) in cases {
            assert_eq!(merge_diff(&old, &new), want, "{name}");
        }
    }
}
