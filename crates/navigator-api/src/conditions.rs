//! Condition helpers on hub objects. Unlike the original's helper, setting a condition whose type
//! is not in a non-empty list appends it (the original silently dropped it).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::internal::Condition;

/// Sets `new` in `conditions`, matched by type: a new type is appended; an existing entry is
/// replaced, keeping its `lastTransitionTime` when the status did not change and taking `now`
/// when it did (or when the new condition names no time).
pub fn set_condition(conditions: &mut Vec<Condition>, mut new: Condition, now: Time) {
    match conditions.iter_mut().find(|c| c.type_ == new.type_) {
        Some(existing) => {
            new.last_transition_time = if existing.status == new.status {
                existing.last_transition_time.clone().or(Some(now))
            } else {
                new.last_transition_time.or(Some(now))
            };
            *existing = new;
        }
        None => {
            new.last_transition_time = new.last_transition_time.or(Some(now));
            conditions.push(new);
        }
    }
}

/// The condition of `type_`, if present.
pub fn find_condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Whether the condition of `type_` is present with status `True`.
pub fn is_condition_true(conditions: &[Condition], type_: &str) -> bool {
    find_condition(conditions, type_).is_some_and(|c| c.status == "True")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(s: &str) -> Time {
        serde_json::from_value(serde_json::json!(s)).unwrap()
    }

    fn cond(type_: &str, status: &str) -> Condition {
        Condition {
            type_: type_.into(),
            status: status.into(),
            ..Condition::default()
        }
    }

    #[test]
    fn appends_a_new_type_to_a_non_empty_list() {
        let t0 = time("2026-01-01T00:00:00Z");
        let mut list = vec![];
        set_condition(&mut list, cond("Progressing", "True"), t0.clone());
        set_condition(&mut list, cond("Available", "False"), t0.clone());
        assert_eq!(
            list.iter().map(|c| c.type_.as_str()).collect::<Vec<_>>(),
            ["Progressing", "Available"]
        );
        assert_eq!(list[1].last_transition_time, Some(t0));
    }

    #[test]
    fn keeps_the_transition_time_when_status_is_unchanged() {
        let t0 = time("2026-01-01T00:00:00Z");
        let t1 = time("2026-01-02T00:00:00Z");
        let mut list = vec![];
        set_condition(&mut list, cond("Available", "True"), t0.clone());
        let mut again = cond("Available", "True");
        again.message = "still fine".into();
        set_condition(&mut list, again, t1.clone());
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].last_transition_time, Some(t0));
        assert_eq!(list[0].message, "still fine");
        set_condition(&mut list, cond("Available", "False"), t1.clone());
        assert_eq!(list[0].last_transition_time, Some(t1));
        assert!(!is_condition_true(&list, "Available"));
    }
}
