//! The data-directory marker: a small JSON file the pilot writes into the database's data
//! directory saying which cluster and node the data belongs to and whether the node was
//! decommissioned. Before starting the database the pilot checks it, so a volume never joins
//! another cluster, another node's identity, or — after a decommission — the ring again.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use navigator_api::v1beta1::Pilot;
use serde::{Deserialize, Serialize};

/// The marker's file name inside the data directory.
pub const MARKER_FILE: &str = ".navigator-pilot.json";

/// What the marker records.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataMarker {
    /// The namespace of the cluster.
    pub namespace: String,
    /// The cluster's kind and name (`CassandraCluster/demo`), when the Pilot names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// The cluster's UID, when the Pilot's owner references carry it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_uid: Option<String>,
    /// The node (pod and Pilot) name.
    pub node: String,
    /// The node left its cluster for good; its data must never rejoin.
    #[serde(default)]
    pub decommissioned: bool,
}

impl DataMarker {
    /// The marker this pilot's identity and Pilot call for (not decommissioned).
    pub fn expected(namespace: &str, node: &str, pilot: Option<&Pilot>) -> Self {
        let cluster_ref = pilot.and_then(|p| p.spec.cluster.as_ref());
        let cluster = cluster_ref.map(|c| format!("{}/{}", c.kind, c.name));
        let cluster_uid = pilot.zip(cluster_ref).and_then(|(p, c)| {
            p.metadata
                .owner_references
                .iter()
                .flatten()
                .find(|o| o.kind == c.kind && o.name == c.name)
                .map(|o| o.uid.clone())
        });
        Self {
            namespace: namespace.to_owned(),
            cluster,
            cluster_uid,
            node: node.to_owned(),
            decommissioned: false,
        }
    }
}

/// Whether the database may start on the data it finds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MarkerCheck {
    /// Start, then write this marker (new data, or known facts added to the old marker).
    Allowed(DataMarker),
    /// Do not start; the message says why.
    Refused(String),
}

/// Checks the marker found (if any) against the expected one. A fact counts only when both
/// sides know it (a Pilot without a cluster reference does not contradict a marker that has one).
pub fn check(found: Option<&DataMarker>, expected: &DataMarker) -> MarkerCheck {
    let Some(found) = found else {
        return MarkerCheck::Allowed(expected.clone());
    };
    let both = |a: &Option<String>, b: &Option<String>| match (a, b) {
        (Some(a), Some(b)) if a != b => Some((a.clone(), b.clone())),
        _ => None,
    };
    if found.decommissioned {
        return MarkerCheck::Refused(format!(
            "the data directory belongs to node {} which was decommissioned; it must not rejoin \
             the cluster (delete the volume to start a fresh node)",
            found.node
        ));
    }
    if found.namespace != expected.namespace {
        return MarkerCheck::Refused(format!(
            "the data directory belongs to namespace {}, not {}",
            found.namespace, expected.namespace
        ));
    }
    if let Some((was, now)) = both(&found.cluster, &expected.cluster) {
        return MarkerCheck::Refused(format!(
            "the data directory belongs to cluster {was}, not {now}"
        ));
    }
    if let Some((was, now)) = both(&found.cluster_uid, &expected.cluster_uid) {
        return MarkerCheck::Refused(format!(
            "the data directory belongs to an earlier cluster of the same name (uid {was}, now \
             {now})"
        ));
    }
    if found.node != expected.node {
        return MarkerCheck::Refused(format!(
            "the data directory belongs to node {}, not {}",
            found.node, expected.node
        ));
    }
    MarkerCheck::Allowed(DataMarker {
        cluster: found.cluster.clone().or_else(|| expected.cluster.clone()),
        cluster_uid: found
            .cluster_uid
            .clone()
            .or_else(|| expected.cluster_uid.clone()),
        ..expected.clone()
    })
}

/// Reading or writing the marker failed.
#[derive(Debug, thiserror::Error)]
pub enum MarkerError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a marker.
    #[error("{path} is not a pilot data marker: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
}

/// The marker's path in `data_dir`.
pub fn marker_path(data_dir: &Path) -> PathBuf {
    data_dir.join(MARKER_FILE)
}

/// Reads the marker in `data_dir`; `None` when there is none.
pub fn read(data_dir: &Path) -> Result<Option<DataMarker>, MarkerError> {
    let path = marker_path(data_dir);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| MarkerError::Parse { path, source }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(MarkerError::Io { path, source }),
    }
}

/// Writes the marker into `data_dir` atomically (temporary file, fsync, rename, fsync of the
/// directory), creating the directory when missing.
pub fn write(data_dir: &Path, marker: &DataMarker) -> Result<(), MarkerError> {
    let path = marker_path(data_dir);
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| MarkerError::Io { path, source }
    };
    std::fs::create_dir_all(data_dir).map_err(io(data_dir))?;
    let tmp = data_dir.join(format!("{MARKER_FILE}.tmp"));
    let mut bytes = serde_json::to_vec_pretty(marker).map_err(|source| MarkerError::Parse {
        path: path.clone(),
        source,
    })?;
    bytes.push(b'\n');
    let mut file = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    file.write_all(&bytes).map_err(io(&tmp))?;
    file.sync_all().map_err(io(&tmp))?;
    drop(file);
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    std::fs::File::open(data_dir)
        .and_then(|dir| dir.sync_all())
        .map_err(io(data_dir))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
    use navigator_api::v1beta1::PilotClusterReference;

    use super::*;

    fn marker(cluster: Option<&str>, uid: Option<&str>, node: &str, decom: bool) -> DataMarker {
        DataMarker {
            namespace: "db".into(),
            cluster: cluster.map(Into::into),
            cluster_uid: uid.map(Into::into),
            node: node.into(),
            decommissioned: decom,
        }
    }

    #[test]
    fn table() {
        let expected = marker(Some("CassandraCluster/demo"), Some("u1"), "demo-a-0", false);
        let refused = |text: &str| text.to_owned();
        let cases: Vec<(&str, Option<DataMarker>, Result<DataMarker, String>)> = vec![
            ("fresh data", None, Ok(expected.clone())),
            ("same node", Some(expected.clone()), Ok(expected.clone())),
            (
                "old marker without cluster facts gains them",
                Some(marker(None, None, "demo-a-0", false)),
                Ok(expected.clone()),
            ),
            (
                "decommissioned",
                Some(marker(
                    Some("CassandraCluster/demo"),
                    Some("u1"),
                    "demo-a-0",
                    true,
                )),
                Err(refused("which was decommissioned")),
            ),
            (
                "other cluster",
                Some(marker(
                    Some("CassandraCluster/other"),
                    None,
                    "demo-a-0",
                    false,
                )),
                Err(refused("belongs to cluster CassandraCluster/other, not")),
            ),
            (
                "recreated cluster of the same name",
                Some(marker(
                    Some("CassandraCluster/demo"),
                    Some("u0"),
                    "demo-a-0",
                    false,
                )),
                Err(refused("earlier cluster of the same name (uid u0, now u1)")),
            ),
            (
                "other node",
                Some(marker(
                    Some("CassandraCluster/demo"),
                    Some("u1"),
                    "demo-a-1",
                    false,
                )),
                Err(refused("belongs to node demo-a-1, not demo-a-0")),
            ),
            (
                "other namespace",
                Some(DataMarker {
                    namespace: "elsewhere".into(),
                    ..expected.clone()
                }),
                Err(refused("namespace elsewhere, not db")),
            ),
        ];
        for (name, found, want) in cases {
            let got = check(found.as_ref(), &expected);
            match (got, want) {
                (MarkerCheck::Allowed(m), Ok(w)) => assert_eq!(m, w, "{name}"),
                (MarkerCheck::Refused(msg), Err(w)) => {
                    assert!(msg.contains(&w), "{name}: {msg:?} lacks {w:?}")
                }
                (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
            }
        }
        // A Pilot without a cluster reference does not contradict a marker that has one.
        let bare = marker(None, None, "demo-a-0", false);
        assert_eq!(
            check(Some(&expected), &bare),
            MarkerCheck::Allowed(expected)
        );
    }

    #[test]
    fn expected_marker_from_the_pilot() {
        let mut pilot = Pilot::default();
        pilot.spec.cluster = Some(PilotClusterReference {
            kind: "CassandraCluster".into(),
            name: "demo".into(),
        });
        pilot.metadata.owner_references = Some(vec![OwnerReference {
            api_version: "navigator.jetstack.io/v1beta1".into(),
            kind: "CassandraCluster".into(),
            name: "demo".into(),
            uid: "u1".into(),
            ..OwnerReference::default()
        }]);
        assert_eq!(
            DataMarker::expected("db", "demo-a-0", Some(&pilot)),
            marker(Some("CassandraCluster/demo"), Some("u1"), "demo-a-0", false)
        );
        assert_eq!(
            DataMarker::expected("db", "demo-a-0", None),
            marker(None, None, "demo-a-0", false)
        );
    }

    #[test]
    fn writes_atomically_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        assert_eq!(read(&data).unwrap(), None);
        let m = marker(Some("CassandraCluster/demo"), None, "demo-a-0", true);
        write(&data, &m).unwrap();
        assert_eq!(read(&data).unwrap(), Some(m));
        assert!(!data.join(format!("{MARKER_FILE}.tmp")).exists());
        std::fs::write(marker_path(&data), b"not json").unwrap();
        assert!(matches!(read(&data), Err(MarkerError::Parse { .. })));
    }
}
