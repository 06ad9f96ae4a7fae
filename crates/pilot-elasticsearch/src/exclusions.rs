//! The leader's allocation exclusions, pure: `cluster.routing.allocation.exclude._name` is
//! exactly the node names whose Pilots request `Drained` or `Decommissioned`. One writer (the
//! leader), idempotent, written only when it differs; other exclusion attributes (`_ip`,
//! `_host`, custom attributes) are never touched.

use std::collections::BTreeSet;

use navigator_pilot::RequestedState;
use serde_json::{Value, json};

use crate::replies::{EXCLUDE_NAME, SettingLayers};

/// The names in an exclusion value (`"a, b,,c"` → `{a, b, c}`).
pub fn parse_names(value: Option<&str>) -> BTreeSet<String> {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The node names that must be excluded: every Pilot (`name`, `spec.requestedState`) asking
/// for `Drained` or `Decommissioned`. An unknown request excludes nothing.
pub fn desired<'a>(
    pilots: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> BTreeSet<String> {
    pilots
        .into_iter()
        .filter(|(_, requested)| {
            matches!(
                requested.and_then(|r| r.parse::<RequestedState>().ok()),
                Some(RequestedState::Drained | RequestedState::Decommissioned)
            )
        })
        .map(|(name, _)| name.to_owned())
        .collect()
}

/// The `PUT _cluster/settings` body that makes the exclusion `desired`, or `None` when it is
/// already in effect. The persistent setting holds it (`null` when empty); a transient value,
/// which would win over it, is removed.
pub fn change(current: &SettingLayers, desired: &BTreeSet<String>) -> Option<Value> {
    let persistent = parse_names(current.persistent.as_deref());
    let transient_set = current.transient.is_some();
    if persistent == *desired && !transient_set {
        return None;
    }
    let value = if desired.is_empty() {
        Value::Null
    } else {
        Value::String(desired.iter().cloned().collect::<Vec<_>>().join(","))
    };
    let mut body = json!({ "persistent": { EXCLUDE_NAME: value } });
    if transient_set {
        body["transient"] = json!({ EXCLUDE_NAME: null });
    }
    Some(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    fn layers(p: Option<&str>, t: Option<&str>) -> SettingLayers {
        SettingLayers {
            persistent: p.map(str::to_owned),
            transient: t.map(str::to_owned),
        }
    }

    #[test]
    fn desired_names() {
        let pilots = [
            ("a", None),
            ("b", Some("Running")),
            ("c", Some("Drained")),
            ("d", Some("Decommissioned")),
            ("e", Some("drained")),
        ];
        assert_eq!(desired(pilots), set(&["c", "d"]));
        // A withdrawn request (back to Running, or unset) drops the name.
        let withdrawn = [("c", Some("Drained")), ("d", Some("Running"))];
        assert_eq!(desired(withdrawn), set(&["c"]));
        assert_eq!(
            change(&layers(Some("c,d"), None), &desired(withdrawn)),
            Some(json!({"persistent": {EXCLUDE_NAME: "c"}}))
        );
    }

    #[test]
    fn changes() {
        let cases = [
            (
                "nothing wanted, nothing set",
                layers(None, None),
                set(&[]),
                None,
            ),
            (
                "already set",
                layers(Some("c,d"), None),
                set(&["c", "d"]),
                None,
            ),
            (
                "set in another order and spacing",
                layers(Some("d, c"), None),
                set(&["c", "d"]),
                None,
            ),
            (
                "add one (two drains at once)",
                layers(Some("c"), None),
                set(&["c", "d"]),
                Some(json!({"persistent": {EXCLUDE_NAME: "c,d"}})),
            ),
            (
                "remove the last",
                layers(Some("c"), None),
                set(&[]),
                Some(json!({"persistent": {EXCLUDE_NAME: null}})),
            ),
            (
                "a transient value is cleared",
                layers(None, Some("x")),
                set(&["c"]),
                Some(json!({"persistent": {EXCLUDE_NAME: "c"}, "transient": {EXCLUDE_NAME: null}})),
            ),
            (
                "a name someone else added is removed",
                layers(Some("c,manual"), None),
                set(&["c"]),
                Some(json!({"persistent": {EXCLUDE_NAME: "c"}})),
            ),
        ];
        for (name, current, want_set, want) in cases {
            assert_eq!(change(&current, &want_set), want, "{name}");
        }
    }
}
