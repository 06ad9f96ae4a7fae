//! Writes a cluster's status, only when it changed: a JSON merge patch of the `status`
//! subresource carrying exactly the differences (removed fields and map keys as `null`, so a
//! pool that is gone leaves the status too).

use kube::Api;
use kube::api::{Patch, PatchParams};
use navigator_client::merge_patch::merge_diff;
use serde::Serialize;
use serde_json::Value;

use crate::kind::ClusterKind;

/// The status could not be written.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// A status could not be turned into JSON.
    #[error("serialising the status: {0}")]
    Serialize(#[from] serde_json::Error),
    /// The API refused the patch.
    #[error("patching {plural}/{name}/status: {source}")]
    Patch {
        /// The cluster's resource (plural).
        plural: String,
        /// The cluster.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// The body of the status patch turning `current` into `desired`, `None` when nothing changed.
pub fn status_patch<S: PartialEq + Serialize>(
    current: &S,
    desired: &S,
) -> Result<Option<Value>, StatusError> {
    if current == desired {
        return Ok(None);
    }
    let old = serde_json::to_value(current)?;
    let new = serde_json::to_value(desired)?;
    Ok(merge_diff(&old, &new).map(|d| serde_json::json!({ "status": d })))
}

/// Writes `desired` as the status of `cluster` (in `api`'s namespace) if it differs from the
/// cluster's current status. Returns whether it wrote.
pub async fn write<C: ClusterKind>(
    api: &Api<C>,
    cluster: &C,
    desired: &C::Status,
) -> Result<bool, StatusError> {
    let Some(patch) = status_patch(cluster.current_status(), desired)? else {
        return Ok(false);
    };
    let name = cluster.meta().name.clone().unwrap_or_default();
    api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|source| StatusError::Patch {
            plural: C::plural(&()).into_owned(),
            name,
            source,
        })?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use navigator_api::v1beta1::{Condition, NodePoolStatus};
    use pretty_assertions::assert_eq;
    use serde_json::json;

    use navigator_api::v1beta1::CassandraClusterStatus;

    use super::*;

    fn status(generation: i64, pools: &[(&str, i32)]) -> CassandraClusterStatus {
        CassandraClusterStatus {
            conditions: vec![Condition {
                type_: "Progressing".into(),
                status: "True".into(),
                reason: "WaitingForRing".into(),
                ..Condition::default()
            }],
            observed_generation: Some(generation),
            node_pools: pools
                .iter()
                .map(|(name, ready)| {
                    (
                        (*name).to_owned(),
                        NodePoolStatus {
                            ready_replicas: *ready,
                            replicas: Some(*ready),
                            updated_replicas: None,
                        },
                    )
                })
                .collect::<BTreeMap<_, _>>(),
        }
    }

    #[test]
    fn an_unchanged_status_is_not_written() {
        let s = status(2, &[("a", 1)]);
        assert_eq!(status_patch(&s, &s.clone()).unwrap(), None);
    }

    #[test]
    fn a_changed_status_is_patched_with_its_differences() {
        let patch = status_patch(&status(1, &[("a", 1), ("b", 1)]), &status(2, &[("a", 2)]))
            .unwrap()
            .unwrap();
        assert_eq!(
            patch,
            json!({"status": {
                "observedGeneration": 2,
                "nodePools": {"a": {"readyReplicas": 2, "replicas": 2}, "b": null},
            }})
        );
        let first = status_patch(&CassandraClusterStatus::default(), &status(1, &[]))
            .unwrap()
            .unwrap();
        assert_eq!(first["status"]["observedGeneration"], json!(1));
        assert_eq!(
            first["status"]["conditions"][0]["type"],
            json!("Progressing")
        );
    }
}
